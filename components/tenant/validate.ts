import { dns1123LabelProblem, repoPathProblem, RESERVED_NAMESPACES } from "../validation";
import { TenancyMode, tenantNames } from "./render";

/** The plain fields of a tenant that can be checked before anything is created. */
export interface TenantShape {
  readonly name: string;
  readonly namespaces: readonly string[];
  readonly branch?: string;
  readonly path?: string;
  readonly namespaceQuota?: number;
}

/**
 * Every problem with one tenant, each naming its field and how to fix it.
 * Cross-tenant checks (duplicates, shared namespaces) are {@link tenantSetProblems}.
 */
export function tenantProblems(t: TenantShape, mode: TenancyMode): string[] {
  const problems: string[] = [];
  const nameProblem = dns1123LabelProblem(t.name);
  if (nameProblem) {
    problems.push(`name ${nameProblem}`);
  } else {
    for (const [role, derived] of Object.entries(tenantNames(t.name))) {
      const p = dns1123LabelProblem(derived);
      if (p) {
        problems.push(`name is too long for the ${role} name derived from it (${p}); use a shorter tenant name`);
        break;
      }
    }
  }
  if (t.namespaces.length === 0) problems.push("namespaces must list at least one namespace (the first is the tenant's home)");
  t.namespaces.forEach((ns, i) => {
    const p = dns1123LabelProblem(ns);
    if (p) problems.push(`namespaces[${i}] ${p}`);
    else if (RESERVED_NAMESPACES.includes(ns)) {
      problems.push(`namespaces[${i}] "${ns}" is reserved for the platform; give the tenant its own namespace`);
    }
  });
  const seen = new Set<string>();
  for (const ns of t.namespaces) {
    if (seen.has(ns)) problems.push(`namespaces lists "${ns}" twice`);
    seen.add(ns);
  }
  if (t.branch !== undefined && t.branch.trim() === "") problems.push("branch must not be empty (omit it to use the tenant name)");
  if (t.path !== undefined) {
    const p = repoPathProblem(t.path);
    if (p) problems.push(`path ${p}`);
  }
  if (t.namespaceQuota !== undefined) {
    if (mode !== "capsule") problems.push("namespaceQuota needs tenancy \"capsule\"; remove it in namespace mode");
    else if (!Number.isInteger(t.namespaceQuota) || t.namespaceQuota < t.namespaces.length) {
      problems.push(`namespaceQuota ${t.namespaceQuota} must be a whole number of at least ${t.namespaces.length} (the namespaces listed)`);
    }
  }
  return problems;
}

/** Problems across tenants: duplicate names and namespaces claimed twice, keyed by tenant index. */
export function tenantSetProblems(tenants: readonly TenantShape[]): { index: number; problem: string }[] {
  const problems: { index: number; problem: string }[] = [];
  const names = new Map<string, number>();
  const claims = new Map<string, string>();
  tenants.forEach((t, index) => {
    const first = names.get(t.name);
    if (first !== undefined) problems.push({ index, problem: `name "${t.name}" is already used by tenants[${first}]; tenant names must be unique` });
    else names.set(t.name, index);
    for (const ns of new Set(t.namespaces)) {
      const owner = claims.get(ns);
      if (owner !== undefined && owner !== t.name) {
        problems.push({ index, problem: `namespace "${ns}" is already claimed by tenant "${owner}"; each namespace belongs to one tenant` });
      } else claims.set(ns, t.name);
    }
  });
  return problems;
}
