import { DEFAULT_SERVICE_ACCOUNT, DEFAULT_SSH_HOST } from "../defaults";
import {
  branchProblem,
  dns1123LabelProblem,
  FieldProblem,
  githubOwnerProblem,
  gitHostProblems,
  Problems,
  quote,
  readyTimeoutProblem,
  repoPathProblem,
  repositoryNameProblem,
  reservedNamespaceProblem,
  RESERVED_ACCOUNTS,
  rotationProblem,
} from "../validation";
import { TenancyMode, TENANCY_MODES, tenantNames, UNLIMITED } from "./render";

/** The plain fields of a tenant that can be checked before anything is created. */
export interface TenantShape {
  readonly name: string;
  readonly namespaces: readonly string[];
  readonly owner?: string;
  readonly repository?: string;
  readonly branch?: string;
  readonly path?: string;
  readonly namespaceQuota?: number | typeof UNLIMITED;
  readonly sshHost?: string;
  readonly knownHosts?: string;
  readonly sharedRepository?: boolean;
  readonly keyRotation?: string;
  readonly readyTimeoutSeconds?: number;
  readonly renamedFrom?: string;
  readonly releaseCapsuleTenant?: string;
}

/** What a tenant is checked against: the platform around it. */
export interface TenantContext {
  /** Tenancy mode. */
  readonly mode: TenancyMode;
  /** Namespaces the cluster keeps for its own add-ons, beyond `kube-*` and the platform's. */
  readonly reservedNamespaces?: readonly string[];
  /** The lockdown's default account; a tenant named like it would lend its rights to every object that names no account. */
  readonly defaultServiceAccount?: string;
}

/**
 * Every problem with one tenant, by field. Cross-tenant checks (duplicates,
 * shared namespaces and repositories) are {@link tenantSetProblems}.
 */
export function tenantProblems(t: TenantShape, ctx: TenantContext): FieldProblem[] {
  const p = new Problems();
  if (!TENANCY_MODES.includes(ctx.mode)) p.add("mode", `${quote(ctx.mode)} is not one of ${TENANCY_MODES.join(", ")}`);
  p.add("name", tenantNameProblem(t.name, ctx.defaultServiceAccount ?? DEFAULT_SERVICE_ACCOUNT));
  if (t.namespaces.length === 0) p.add("namespaces", "must list at least one namespace (the first is the tenant's home)");
  t.namespaces.forEach((ns, i) => p.add(`namespaces[${i}]`, dns1123LabelProblem(ns) ?? reservedNamespaceProblem(ns, ctx.reservedNamespaces)));
  const seen = new Set<string>();
  for (const ns of t.namespaces) {
    if (seen.has(ns)) p.add("namespaces", `lists ${quote(ns)} twice`);
    seen.add(ns);
  }
  p.text("owner", t.owner, githubOwnerProblem)
    .text("repository", t.repository, repositoryNameProblem)
    .text("branch", t.branch, branchProblem)
    .text("path", t.path, repoPathProblem)
    .text("keyRotation", t.keyRotation, rotationProblem)
    .check("readyTimeoutSeconds", t.readyTimeoutSeconds, readyTimeoutProblem)
    .check("namespaceQuota", t.namespaceQuota, (q) => quotaProblem(q, t.namespaces.length, ctx.mode));
  p.text("renamedFrom", t.renamedFrom, (r) => dns1123LabelProblem(r) ?? (r === t.name ? "is the tenant's own name; remove it" : undefined));
  p.text("releaseCapsuleTenant", t.releaseCapsuleTenant, (r) => dns1123LabelProblem(r) ?? (r === t.name && ctx.mode === "capsule"
    ? "names the tenant's own Capsule Tenant, which capsule mode keeps; it releases the Tenant of the name before a rename, or of any name when leaving capsule mode"
    : undefined));
  if (t.sshHost !== undefined || t.knownHosts !== undefined) p.list.push(...gitHostProblems(t.sshHost ?? DEFAULT_SSH_HOST, t.knownHosts));
  return p.list;
}

function tenantNameProblem(name: string, defaultServiceAccount: string): string | undefined {
  const label = dns1123LabelProblem(name);
  if (label) return label;
  // The tenant name is its reconciler's account name.
  if (RESERVED_ACCOUNTS.includes(name)) {
    return `${quote(name)} is the name of a Kubernetes or Flux system account, and the tenant's reconciler would take it; choose another tenant name`;
  }
  if (name === defaultServiceAccount) {
    return `${quote(name)} is the lockdown's default account (flux.defaultServiceAccount): every tenant object without serviceAccountName ` +
      "would run with this tenant's rights; choose another tenant name";
  }
  for (const [role, derived] of Object.entries(tenantNames(name))) {
    const p = dns1123LabelProblem(derived);
    if (p) return `is too long for the ${role} name derived from it (${p}); use a shorter tenant name`;
  }
  return undefined;
}

function quotaProblem(quota: number | typeof UNLIMITED, listed: number, mode: TenancyMode): string | undefined {
  if (mode !== "capsule") return "needs tenancy \"capsule\"; remove it in namespace mode";
  if (quota === UNLIMITED) return undefined;
  if (typeof quota !== "number" || !Number.isInteger(quota) || quota < listed) {
    return `${JSON.stringify(quota)} must be a whole number of at least ${listed} (the namespaces listed), or "${UNLIMITED}"`;
  }
  return undefined;
}

/** A tenant as {@link tenantSetProblems} sees it: the repository resolved. */
export interface TenantClaim {
  readonly name: string;
  readonly renamedFrom?: string;
  readonly namespaces: readonly string[];
  readonly repository: string;
  readonly sharedRepository?: boolean;
}

/**
 * Problems across the tenants of one platform, keyed by tenant index:
 * duplicate names, namespaces claimed twice, and repositories shared with the
 * platform or another tenant without `sharedRepository: true` (a deploy key
 * reads every branch of its repository, so the tenant could read theirs).
 */
export function tenantSetProblems(tenants: readonly TenantClaim[], platformRepository?: string): { index: number; problem: string }[] {
  const problems: { index: number; problem: string }[] = [];
  const names = new Map<string, number>();
  const claims = new Map<string, string>();
  // GitHub repository names are case-insensitive: Fleet-Infra is fleet-infra.
  const repoKey = (r: string) => r.toLowerCase();
  const repoUsers = new Map<string, string[]>();
  for (const t of tenants) repoUsers.set(repoKey(t.repository), [...(repoUsers.get(repoKey(t.repository)) ?? []), t.name]);
  tenants.forEach((t, index) => {
    const first = names.get(t.name);
    if (first !== undefined) problems.push({ index, problem: `name ${quote(t.name)} is already used by tenants[${first}]; tenant names must be unique` });
    else names.set(t.name, index);
    if (t.renamedFrom !== undefined) {
      const other = tenants.findIndex((o, i) => i !== index && (o.name === t.renamedFrom || o.renamedFrom === t.renamedFrom));
      if (other >= 0) {
        problems.push({ index, problem: `renamedFrom ${quote(t.renamedFrom)} is also ${tenants[other]!.name === t.renamedFrom ? "the name" : "the former name"} of tenants[${other}]; one tenant takes over a former name` });
      }
    }
    for (const ns of new Set(t.namespaces)) {
      const owner = claims.get(ns);
      if (owner !== undefined && owner !== t.name) {
        problems.push({ index, problem: `namespace ${quote(ns)} is already claimed by tenant "${owner}"; each namespace belongs to one tenant` });
      } else claims.set(ns, t.name);
    }
    if (t.sharedRepository) return;
    const others = (repoUsers.get(repoKey(t.repository)) ?? []).filter((n) => n !== t.name);
    if (platformRepository !== undefined && repoKey(t.repository) === repoKey(platformRepository)) {
      problems.push({ index, problem: sharedMessage(t.repository, "the platform repository; its deploy key could read every branch of it, the platform's included") });
    } else if (others.length > 0) {
      problems.push({ index, problem: sharedMessage(t.repository, `also the repository of tenant ${others.map((o) => `"${o}"`).join(", ")}; its deploy key could read every branch of it, theirs included`) });
    }
  });
  return problems;
}

function sharedMessage(repository: string, what: string): string {
  return `repository ${quote(repository)} is ${what}. Give the tenant a repository of its own, or set sharedRepository: true to accept that`;
}
