import { TenancyMode, TENANCY_MODES } from "../tenant/render";
import type { PlatformLastUpdate, PlatformTenantOutputs } from "./platform";

/** What the stack's last update left, read from its outputs (undefined before the first update, or from a version that did not export it). */
export interface LastUpdate {
  /** The tenancy mode the stack ran in. */
  readonly tenancy?: string;
  /** The Flux release the stack installed (`flux.version`). */
  readonly fluxVersion?: string;
  /** Each tenant's outputs, by tenant name. */
  readonly tenants?: Record<string, Pick<PlatformTenantOutputs, "namespaces">>;
}

/** The part of the new configuration the check reads. */
export interface NextUpdate {
  readonly tenancy: TenancyMode;
  readonly flux?: { readonly version: string; readonly adoptDeployKeyId?: number };
  readonly tenants: readonly { readonly name: string; readonly namespaces: readonly string[]; readonly renamedFrom?: string }[];
}

/** Each tenant's namespaces in the last update's outputs (outputs of another version may have another shape: only lists of names count). */
function lastNamespaces(last: LastUpdate): Map<string, string[]> {
  const byTenant = new Map<string, string[]>();
  const tenants = typeof last.tenants === "object" && last.tenants !== null && !Array.isArray(last.tenants) ? last.tenants : {};
  for (const [tenant, outputs] of Object.entries(tenants)) {
    const namespaces: unknown = (outputs as { namespaces?: unknown } | null)?.namespaces;
    byTenant.set(tenant, Array.isArray(namespaces) ? namespaces.filter((ns): ns is string => typeof ns === "string") : []);
  }
  return byTenant;
}

/**
 * The changes from the last update that would delete tenants' namespaces
 * (and every workload in them) although the configuration still lists them,
 * each as a message saying what and why: a namespace listed under another
 * tenant name without `renamedFrom` naming that tenant (a rename not
 * declared, or a move between tenants). Its Namespace resource is named for
 * its tenant, so Pulumi would delete it once the new one is declared (and in
 * capsule mode Capsule deletes it with the old Tenant). The stack program
 * refuses it before anything runs. Empty when the change is safe, or when
 * there was no last update.
 *
 * A declared rename and leaving capsule mode are not among them:
 * {@link capsuleTenantsToRelease} names the Capsule Tenants whose namespaces
 * must be released first.
 */
export function namespaceLosingChanges(last: LastUpdate, next: NextUpdate): string[] {
  const owner = new Map<string, string>();
  for (const [tenant, namespaces] of lastNamespaces(last)) for (const ns of namespaces) owner.set(ns, tenant);
  const problems: string[] = [];
  next.tenants.forEach((t, i) => {
    for (const ns of t.namespaces) {
      const was = owner.get(ns);
      if (was !== undefined && was !== t.name && t.renamedFrom !== was) {
        problems.push(`tenants[${i}]: namespace "${ns}" belongs to tenant "${was}"; listing it under "${t.name}" (a rename, or a move between ` +
          "tenants) would delete it and everything in it, since its resources are named for their tenant. To rename the tenant, set " +
          `tenants[${i}].renamedFrom to "${was}"; to move the namespace, remove it from "${was}" in one update and add it here in the next`);
      }
    }
  });
  return problems;
}

/**
 * The tenant each tenant of the next update was at the last one: its former
 * name while the rename is under way (the last update had that name and not
 * this one), else its name when the last update had it; undefined for a new
 * tenant.
 */
function lastName(had: Map<string, string[]>, t: NextUpdate["tenants"][number]): string | undefined {
  if (t.renamedFrom !== undefined && had.has(t.renamedFrom) && !had.has(t.name)) return t.renamedFrom;
  return had.has(t.name) ? t.name : undefined;
}

/**
 * The Capsule Tenants the last update left that the next one deletes while
 * their namespaces stay: every tenant's on a switch from capsule to
 * namespace mode, and a renamed tenant's former one. Capsule deletes every
 * namespace its Tenant's status still lists when the Tenant goes, so these
 * Tenants must let go of their namespaces first
 * (`Platform` computes them from `PlatformArgs.lastUpdate`). Empty otherwise.
 */
export function capsuleTenantsToRelease(last: LastUpdate, next: NextUpdate): string[] {
  if (last.tenancy !== "capsule") return [];
  const had = lastNamespaces(last);
  return next.tenants.flatMap((t) => {
    const was = lastName(had, t);
    return was !== undefined && (next.tenancy === "namespace" || was !== t.name) ? [was] : [];
  });
}

/** `vX.Y.Z` as numbers, or undefined for anything else. */
function releaseNumbers(tag: unknown): [number, number, number] | undefined {
  const m = typeof tag === "string" ? /^v(\d+)\.(\d+)\.(\d+)$/.exec(tag) : null;
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * Why the next update may not install its Flux release: it is older than the
 * one the last update installed. Flux supports upgrades only: a newer release
 * may have stored objects under an API version the older CRDs do not serve,
 * and its controllers would not read them. Undefined when the release is the
 * same or newer, or when the last update did not record one.
 */
export function fluxDowngrade(last: LastUpdate, next: NextUpdate): string | undefined {
  const was = releaseNumbers(last.fluxVersion);
  const now = releaseNumbers(next.flux?.version);
  if (!was || !now) return undefined;
  const older = now[0] - was[0] || now[1] - was[1] || now[2] - was[2];
  if (older >= 0) return undefined;
  return `flux.version: the stack runs Flux ${last.fluxVersion as string}; ${next.flux!.version} is older, and Flux is upgraded only ` +
    "(a newer release may have stored objects under API versions the older CRDs do not serve). " +
    `Keep ${last.fluxVersion as string} or choose a newer release`;
}

/**
 * Why the next update may not adopt a deploy key: the stack already manages
 * Flux (its last update recorded a release). Adoption is the first update of
 * a new stack; on a managed one the import would take the place of the
 * stack's own key registration and leave the cluster's Secret undeclared, so
 * Pulumi would delete it. Undefined otherwise.
 */
export function adoptionOfManagedStack(last: LastUpdate, next: NextUpdate): string | undefined {
  if (next.flux?.adoptDeployKeyId === undefined || releaseNumbers(last.fluxVersion) === undefined) return undefined;
  return `flux.adoptDeployKeyId: the stack already manages Flux (its last update ran Flux ${last.fluxVersion as string}), ` +
    "and adoption is the first update of a new stack: it would replace the stack's own key registration with the adopted one " +
    "and drop the flux-system Secret. Remove flux.adoptDeployKeyId (to retire a key the stack does not manage, delete it on GitHub)";
}

/** The last update as `Platform` takes it (`PlatformArgs.lastUpdate`): its tenancy, when one, and its tenants' names. */
export function lastUpdateOf(last: LastUpdate): PlatformLastUpdate {
  const tenancy = TENANCY_MODES.find((m) => m === last.tenancy);
  return { ...(tenancy ? { tenancy } : {}), tenants: [...lastNamespaces(last).keys()] };
}
