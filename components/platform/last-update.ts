import type { TenancyMode } from "../tenant/render";
import type { PlatformTenantOutputs } from "./platform";

/** What the stack's last update left, read from its outputs (undefined before the first update, or from a version that did not export it). */
export interface LastUpdate {
  /** The tenancy mode the stack ran in. */
  readonly tenancy?: string;
  /** Each tenant's outputs, by tenant name. */
  readonly tenants?: Record<string, Pick<PlatformTenantOutputs, "namespaces">>;
}

/** The part of the new configuration the check reads. */
export interface NextUpdate {
  readonly tenancy: TenancyMode;
  readonly tenants: readonly { readonly name: string; readonly namespaces: readonly string[] }[];
}

/**
 * The changes from the last update that would delete tenants' namespaces
 * (and every workload in them) although the configuration still lists them,
 * each as a message saying what and why:
 *
 * - capsule mode to namespace mode: the Capsule Tenants go, and Capsule
 *   deletes a Tenant's namespaces with it (seen in the lab's day-two suite);
 * - a namespace listed under another tenant name (a rename, or a move between
 *   tenants): its Namespace resource is named for its tenant, so Pulumi would
 *   delete it once the new one is declared (and in capsule mode Capsule
 *   deletes it with the old Tenant).
 *
 * Neither is supported yet; the stack program refuses them before anything
 * runs. Empty when the change is safe, or when there was no last update.
 */
export function namespaceLosingChanges(last: LastUpdate, next: NextUpdate): string[] {
  const problems: string[] = [];
  if (last.tenancy === "capsule" && next.tenancy === "namespace") {
    problems.push("tenancy: the stack runs in capsule mode; switching to namespace mode deletes every Capsule Tenant, and Capsule deletes " +
      "a Tenant's namespaces, and everything in them, with it. Switching modes is not supported yet: set tenancy back to \"capsule\"");
  }
  const owner = new Map<string, string>();
  // Outputs of another version may have another shape: only a map of tenants with lists of names counts.
  const tenants = typeof last.tenants === "object" && last.tenants !== null && !Array.isArray(last.tenants) ? last.tenants : {};
  for (const [tenant, outputs] of Object.entries(tenants)) {
    const namespaces: unknown = (outputs as { namespaces?: unknown } | null)?.namespaces;
    if (Array.isArray(namespaces)) for (const ns of namespaces) if (typeof ns === "string") owner.set(ns, tenant);
  }
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
