import type { TenancyMode } from "../tenant/render";
import type { PlatformTenantOutputs } from "./platform";

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
  readonly flux?: { readonly version: string };
  readonly tenants: readonly { readonly name: string; readonly namespaces: readonly string[] }[];
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
 * tenant name (a rename, or a move between tenants). Its Namespace resource
 * is named for its tenant, so Pulumi would delete it once the new one is
 * declared (and in capsule mode Capsule deletes it with the old Tenant).
 * Not supported yet; the stack program refuses it before anything runs.
 * Empty when the change is safe, or when there was no last update.
 *
 * Leaving capsule mode is not one of them: {@link capsuleTenantsToRelease}
 * names the Tenants whose namespaces must be released first.
 */
export function namespaceLosingChanges(last: LastUpdate, next: NextUpdate): string[] {
  const owner = new Map<string, string>();
  for (const [tenant, namespaces] of lastNamespaces(last)) for (const ns of namespaces) owner.set(ns, tenant);
  const problems: string[] = [];
  next.tenants.forEach((t, i) => {
    for (const ns of t.namespaces) {
      const was = owner.get(ns);
      if (was !== undefined && was !== t.name) {
        problems.push(`tenants[${i}]: namespace "${ns}" belongs to tenant "${was}"; listing it under "${t.name}" (a rename, or a move between ` +
          "tenants) would delete it and everything in it, since its resources are named for their tenant. Renaming tenants is not supported yet: " +
          `keep the name "${was}"`);
      }
    }
  });
  return problems;
}

/**
 * The tenants whose Capsule Tenant the last update left and the next one
 * deletes while keeping the tenant: a switch from capsule to namespace
 * mode. Capsule deletes every namespace its Tenant's status still lists when
 * the Tenant goes, so these Tenants must let go of their namespaces first
 * (`PlatformArgs.releaseCapsuleTenants`). Empty otherwise.
 */
export function capsuleTenantsToRelease(last: LastUpdate, next: NextUpdate): string[] {
  if (last.tenancy !== "capsule" || next.tenancy !== "namespace") return [];
  const had = lastNamespaces(last);
  return next.tenants.map((t) => t.name).filter((name) => had.has(name));
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
