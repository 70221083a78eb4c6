/**
 * The decisions of the flux-capsule policy pack, as pure functions over a
 * resource's type and inputs (or over a stack's resources), so the unit
 * tests call them directly; `policies.ts` wires them to CrossGuard. They read
 * only what a program sends to the engine, so they guard resources from any
 * program, not only from this package's components.
 */
import { lockdownArgPatches } from "../components/flux/lockdown";
import { FLUX_CONTROLLER_ACCOUNTS, FLUX_NAMESPACE } from "../components/validation";

/** A resource as the engine sees it: its type token and its inputs. */
export interface ResourceInput {
  readonly type: string;
  readonly props: Record<string, unknown>;
}

/** A resource of the stack, for stack-level rules; `cluster` (the provider's URN) tells apart objects of different clusters. */
export interface StackResource extends ResourceInput {
  readonly urn: string;
  readonly cluster?: string;
}

/** A problem a stack-level rule found, on one resource. */
export interface StackProblem {
  readonly urn: string;
  readonly message: string;
}

/** The type tokens the rules read. */
export const TYPES = {
  deployKey: "github:index/repositoryDeployKey:RepositoryDeployKey",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  deployment: "kubernetes:apps/v1:Deployment",
  secret: "kubernetes:core/v1:Secret",
  namespace: "kubernetes:core/v1:Namespace",
} as const;

/** Capsule's Tenant, at any API version. */
const CAPSULE_TENANT_TYPE = /^kubernetes:capsule\.clastix\.io\/v[0-9a-z]+:Tenant$/;
/** Flux's Kustomization and HelmRelease, at any API version. */
const FLUX_RECONCILER_TYPE = /^kubernetes:(kustomize\.toolkit\.fluxcd\.io\/v[0-9a-z]+:Kustomization|helm\.toolkit\.fluxcd\.io\/v[0-9a-z]+:HelmRelease)$/;

/** Labels that mark a namespace as a tenant's (Flux's `flux create tenant`, Capsule). */
const TENANT_LABELS: readonly string[] = ["toolkit.fluxcd.io/tenant", "capsule.clastix.io/tenant"];

/**
 * Namespaces whose ServiceAccounts are the platform's, not a tenant's: the
 * Flux and Capsule namespaces and `kube-system` (every other `kube-*` counts
 * as platform too).
 */
const DEFAULT_PLATFORM_NAMESPACES: readonly string[] = [FLUX_NAMESPACE, "capsule-system", "kube-system"];

/** Roles no tenant subject may be bound to, whatever the stack defines: full control of everything. */
const DEFAULT_FORBIDDEN_ROLES: readonly string[] = ["cluster-admin"];

/** Verbs that let a subject grant itself more than it has (RBAC's escalation checks bypassed). */
const ESCALATING_VERBS: readonly string[] = ["escalate", "bind", "impersonate"];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const q = (v: unknown) => JSON.stringify(v ?? null);

// ---- 1. deploy keys ---------------------------------------------------------

/**
 * A GitHub deploy key must be read-only. The provider's default is read-only,
 * so only an explicit `readOnly: false` (or a non-boolean) is refused.
 */
export function deployKeyProblems(r: ResourceInput): string[] {
  if (r.type !== TYPES.deployKey) return [];
  const readOnly = r.props.readOnly;
  if (readOnly === undefined || readOnly === true) return [];
  return [`deploy key on repository ${q(r.props.repository)} is not read-only (readOnly: ${q(readOnly)}): set readOnly: true; a deploy key with write access lets whoever holds the cluster's Secret push to the repository`];
}

// ---- 2. RBAC ----------------------------------------------------------------

/** Configuration of the RBAC rule. */
export interface RbacConfig {
  /** Roles (ClusterRole names; namespaced Roles as `<namespace>/<name>`) no tenant subject may hold. */
  readonly forbiddenRoles: readonly string[];
  /** Namespaces whose ServiceAccounts are the platform's. */
  readonly platformNamespaces: readonly string[];
}

/** The RBAC rule's defaults. */
export const DEFAULT_RBAC_CONFIG: RbacConfig = { forbiddenRoles: DEFAULT_FORBIDDEN_ROLES, platformNamespaces: DEFAULT_PLATFORM_NAMESPACES };

const isPlatformNamespace = (ns: string, platform: readonly string[]) => platform.includes(ns) || ns.startsWith("kube-");

/**
 * Whether a binding subject is a tenant's. Decided from the binding alone: a
 * ServiceAccount (kind ServiceAccount, the user `system:serviceaccount:<ns>:<name>`
 * or the group `system:serviceaccounts:<ns>`) is a tenant's unless its
 * namespace is a platform namespace; groups of every account
 * (`system:serviceaccounts`, `system:authenticated`, `system:unauthenticated`)
 * include every tenant. Other users and groups are people, not tenants.
 * `bindingNamespace` is where a ServiceAccount subject without a namespace lives.
 */
export function isTenantSubject(subject: unknown, platform: readonly string[], bindingNamespace?: string): boolean {
  const s = obj(subject);
  const kind = str(s.kind);
  const name = str(s.name) ?? "";
  if (kind === "ServiceAccount") {
    const ns = str(s.namespace) ?? bindingNamespace ?? "";
    const m = /^system:serviceaccount:([^:]+):[^:]+$/.exec(name);
    return !isPlatformNamespace(m ? m[1]! : ns, platform);
  }
  if (kind === "User") {
    const m = /^system:serviceaccount:([^:]+):[^:]+$/.exec(name);
    return m !== null && !isPlatformNamespace(m[1]!, platform);
  }
  if (kind === "Group") {
    if (["system:serviceaccounts", "system:authenticated", "system:unauthenticated"].includes(name)) return true;
    const m = /^system:serviceaccounts:([^:]+)$/.exec(name);
    return m !== null && !isPlatformNamespace(m[1]!, platform);
  }
  return false;
}

const subjectText = (s: unknown) => {
  const o = obj(s);
  return `${str(o.kind) ?? "?"} ${o.namespace ? `${str(o.namespace)}/` : ""}${str(o.name) ?? "?"}`;
};

/** The key a forbidden-role list uses for a binding's roleRef: the name for a ClusterRole, `<namespace>/<name>` for a Role. */
function roleKey(roleRef: Obj, bindingNamespace: string | undefined): string {
  const name = str(roleRef.name) ?? "";
  return str(roleRef.kind) === "Role" ? `${bindingNamespace ?? "default"}/${name}` : name;
}

/**
 * No RoleBinding, ClusterRoleBinding, Capsule Tenant owner or Capsule
 * `additionalRoleBindings` entry gives a tenant subject a forbidden role.
 * Capsule owners and additionalRoleBindings subjects act in the tenant's
 * namespaces, so each of them counts as a tenant subject.
 */
export function rbacProblems(r: ResourceInput, config: RbacConfig = DEFAULT_RBAC_CONFIG): string[] {
  const forbidden = new Set(config.forbiddenRoles);
  const problems: string[] = [];
  if (r.type === TYPES.roleBinding || r.type === TYPES.clusterRoleBinding) {
    const meta = obj(r.props.metadata);
    const ns = str(meta.namespace);
    const roleRef = obj(r.props.roleRef);
    const key = roleKey(roleRef, ns);
    if (!forbidden.has(key)) return [];
    const kind = r.type === TYPES.roleBinding ? "RoleBinding" : "ClusterRoleBinding";
    const where = `${kind} ${ns ? `${ns}/` : ""}${str(meta.name) ?? "(auto-named)"}`;
    for (const s of arr(r.props.subjects)) {
      if (isTenantSubject(s, config.platformNamespaces, ns)) {
        problems.push(`${where} binds tenant subject ${subjectText(s)} to ${q(key)}, which can take over the cluster: bind tenants to "admin" in their own namespaces`);
      }
    }
    return problems;
  }
  if (CAPSULE_TENANT_TYPE.test(r.type)) {
    const tenant = str(obj(r.props.metadata).name) ?? "(auto-named)";
    const spec = obj(r.props.spec);
    arr(spec.owners).forEach((o, i) => {
      for (const role of arr(obj(o).clusterRoles)) {
        if (typeof role === "string" && forbidden.has(role)) {
          problems.push(`Capsule Tenant ${q(tenant)}: owners[${i}] (${subjectText(o)}) gets ${q(role)}, which can take over the cluster: give owners "admin"`);
        }
      }
    });
    arr(spec.additionalRoleBindings).forEach((b, i) => {
      const role = str(obj(b).clusterRoleName);
      if (role !== undefined && forbidden.has(role)) {
        problems.push(`Capsule Tenant ${q(tenant)}: additionalRoleBindings[${i}] gives ${arr(obj(b).subjects).map(subjectText).join(", ") || "its subjects"} ${q(role)}, which can take over the cluster`);
      }
    });
  }
  return problems;
}

/**
 * The roles among the stack's Roles and ClusterRoles that can escalate, bind
 * or impersonate (a rule with one of those verbs, or `*`), keyed as
 * {@link RbacConfig.forbiddenRoles}. Aggregated ClusterRoles are judged by
 * their own rules only.
 */
export function escalatingRoles(resources: readonly ResourceInput[]): string[] {
  const out: string[] = [];
  for (const r of resources) {
    if (r.type !== TYPES.role && r.type !== TYPES.clusterRole) continue;
    const meta = obj(r.props.metadata);
    const name = str(meta.name);
    if (name === undefined) continue;
    const escalates = arr(r.props.rules).some((rule) => arr(obj(rule).verbs).some((v) => v === "*" || ESCALATING_VERBS.includes(v as string)));
    if (escalates) out.push(r.type === TYPES.role ? `${str(meta.namespace) ?? "default"}/${name}` : name);
  }
  return out;
}

/** The RBAC rule over a whole stack: forbidden roles plus the stack's own escalating roles. */
export function stackRbacProblems(resources: readonly StackResource[], config: RbacConfig = DEFAULT_RBAC_CONFIG): StackProblem[] {
  const escalating = escalatingRoles(resources).filter((r) => !config.forbiddenRoles.includes(r));
  if (escalating.length === 0) return [];
  const extended: RbacConfig = { ...config, forbiddenRoles: escalating };
  return resources.flatMap((r) => rbacProblems(r, extended).map((message) => ({ urn: r.urn, message })));
}

// ---- 3. Flux objects' accounts and sources ---------------------------------

/** Configuration shared by rules that know the Flux namespace. */
export interface FluxConfig {
  /** The Flux namespace (its objects reconcile as the platform). */
  readonly fluxNamespace: string;
}

/** Flux's namespace as the package installs it. */
export const DEFAULT_FLUX_CONFIG: FluxConfig = { fluxNamespace: FLUX_NAMESPACE };

/**
 * A Kustomization or HelmRelease outside the Flux namespace names a
 * `serviceAccountName` (Flux impersonates that account of the object's own
 * namespace), not a Flux controller's account, and takes its source from its
 * own namespace.
 */
export function fluxObjectProblems(r: ResourceInput, config: FluxConfig = DEFAULT_FLUX_CONFIG): string[] {
  const m = FLUX_RECONCILER_TYPE.exec(r.type);
  if (!m) return [];
  const kind = r.type.endsWith(":HelmRelease") ? "HelmRelease" : "Kustomization";
  const meta = obj(r.props.metadata);
  const ns = str(meta.namespace);
  const where = `${kind} ${ns ?? "(no namespace)"}/${str(meta.name) ?? "(auto-named)"}`;
  if (ns === config.fluxNamespace) return [];
  const problems: string[] = [];
  if (ns === undefined || ns === "") {
    problems.push(`${where} has no metadata.namespace: give it the tenant's namespace explicitly`);
  }
  const spec = obj(r.props.spec);
  const sa = spec.serviceAccountName;
  if (typeof sa !== "string" || sa === "") {
    problems.push(`${where} names no serviceAccountName: Flux would apply it as the controller's default account; name the tenant's reconciler account of namespace ${q(ns ?? "")}`);
  } else if (FLUX_CONTROLLER_ACCOUNTS.includes(sa)) {
    problems.push(`${where} names serviceAccountName ${q(sa)}, a Flux controller's account: name the tenant's own reconciler account in ${q(ns ?? "")}`);
  }
  const refs: [string, unknown][] =
    kind === "Kustomization"
      ? [["spec.sourceRef", spec.sourceRef]]
      : [["spec.chart.spec.sourceRef", obj(obj(spec.chart).spec).sourceRef], ["spec.chartRef", spec.chartRef]];
  for (const [field, ref] of refs) {
    const refNs = str(obj(ref).namespace);
    if (refNs !== undefined && refNs !== "" && refNs !== ns) {
      problems.push(`${where}: ${field} points into namespace ${q(refNs)}: a tenant's sources live in its own namespace (${q(ns ?? "")})`);
    }
  }
  return problems;
}

// ---- 4. lockdown flags -------------------------------------------------------

/** Configuration of the lockdown rule. */
export interface LockdownConfig extends FluxConfig {
  /** The account `--default-service-account` must name; any account but a controller's when unset. */
  readonly defaultServiceAccount?: string;
}

/**
 * A Flux controller Deployment in the Flux namespace carries every lockdown
 * argument of {@link lockdownArgPatches} meant for it, on any container.
 */
export function lockdownProblems(r: ResourceInput, config: LockdownConfig = DEFAULT_FLUX_CONFIG): string[] {
  if (r.type !== TYPES.deployment) return [];
  const meta = obj(r.props.metadata);
  const name = str(meta.name);
  if (name === undefined || str(meta.namespace) !== config.fluxNamespace) return [];
  const containers = arr(obj(obj(obj(r.props.spec).template).spec).containers);
  const args = containers.flatMap((c) => arr(obj(c).args)).filter((a): a is string => typeof a === "string");
  const problems: string[] = [];
  for (const patch of lockdownArgPatches(config.defaultServiceAccount ?? "")) {
    if (!patch.controllers.includes(name)) continue;
    const flag = patch.arg.slice(0, patch.arg.indexOf("=") + 1);
    const given = args.filter((a) => a.startsWith(flag)).map((a) => a.slice(flag.length));
    const where = `Deployment ${config.fluxNamespace}/${name}`;
    if (flag === "--default-service-account=") {
      const value = given.at(-1);
      if (value === undefined || value === "") {
        problems.push(`${where} lacks the lockdown argument ${flag}<account>: tenant objects naming no account would run as the controller (cluster-admin)`);
      } else if (config.defaultServiceAccount ? value !== config.defaultServiceAccount : FLUX_CONTROLLER_ACCOUNTS.includes(value)) {
        problems.push(`${where}: ${flag}${value} must name ${config.defaultServiceAccount ? q(config.defaultServiceAccount) : "an account without permissions, not a controller's"}`);
      }
    } else if (given.at(-1) !== patch.arg.slice(flag.length)) {
      problems.push(`${where} lacks the lockdown argument ${patch.arg}`);
    }
  }
  return problems;
}

// ---- 5. private key Secrets --------------------------------------------------

/** Configuration of the private-key Secret rule. */
export interface SecretConfig extends FluxConfig {
  /** Further namespaces where any private key Secret may live. */
  readonly allowedNamespaces: readonly string[];
}

/** The Secret rule's defaults: the Flux namespace and no further namespaces. */
export const DEFAULT_SECRET_CONFIG: SecretConfig = { ...DEFAULT_FLUX_CONFIG, allowedNamespaces: [] };

/** Secret keys that hold an SSH private key: Flux's Git secret and kubernetes.io/ssh-auth. */
const PRIVATE_KEY_FIELDS: readonly string[] = ["identity", "ssh-privatekey"];

/** Whether a Secret's inputs hold a private key (judged by its keys and type, never by the secret values). */
function holdsPrivateKey(props: Record<string, unknown>): boolean {
  if (props.type === "kubernetes.io/ssh-auth") return true;
  return [props.data, props.stringData].some((d) => Object.keys(obj(d)).some((k) => PRIVATE_KEY_FIELDS.includes(k)));
}

/**
 * A Secret holding a private key lives where the package puts one: the Flux
 * namespace, or `<tenant>-deploy-key` in a tenant's namespace (not `default`,
 * a `kube-*` or a platform namespace). With the stack's Namespace objects,
 * {@link stackSecretProblems} also checks that namespace is that tenant's.
 */
export function secretProblems(r: ResourceInput, config: SecretConfig = DEFAULT_SECRET_CONFIG): string[] {
  if (r.type !== TYPES.secret) return [];
  // Where first, contents last: a key Secret's contents are unknown during
  // preview, and one that sits where keys belong needs no look at them.
  const meta = obj(r.props.metadata);
  const ns = str(meta.namespace) ?? "";
  const name = str(meta.name);
  if (ns === config.fluxNamespace || config.allowedNamespaces.includes(ns)) return [];
  const where = `Secret ${ns || "(no namespace)"}/${name ?? "(auto-named)"}`;
  let problem: string | undefined;
  if (ns === "" || ns === "default" || isPlatformNamespace(ns, DEFAULT_PLATFORM_NAMESPACES)) {
    problem = `${where} holds a private key outside the Flux namespace and any tenant's: keep deploy keys in ${q(config.fluxNamespace)} or a tenant's home namespace`;
  } else if (name === undefined || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?-deploy-key$/.test(name)) {
    problem = `${where} holds a private key in namespace ${q(ns)} under another name than "<tenant>-deploy-key": a tenant's key lives only in its home, as <tenant>-deploy-key`;
  }
  return problem !== undefined && holdsPrivateKey(r.props) ? [problem] : [];
}

/**
 * Where the stack holds the Namespace of a tenant's key Secret, it carries a
 * tenant label naming that tenant (the `<tenant>` of `<tenant>-deploy-key`).
 */
export function stackSecretProblems(resources: readonly StackResource[], config: SecretConfig = DEFAULT_SECRET_CONFIG): StackProblem[] {
  const labels = namespaceLabels(resources);
  const problems: StackProblem[] = [];
  for (const r of resources) {
    if (r.type !== TYPES.secret) continue;
    const meta = obj(r.props.metadata);
    const ns = str(meta.namespace) ?? "";
    const name = str(meta.name) ?? "";
    if (ns === config.fluxNamespace || config.allowedNamespaces.includes(ns) || !name.endsWith("-deploy-key")) continue;
    const nsLabels = labels.get(`${r.cluster ?? ""}\n${ns}`);
    if (nsLabels === undefined) continue;
    const tenant = name.slice(0, -"-deploy-key".length);
    const owners = TENANT_LABELS.map((l) => nsLabels[l]).filter((v) => v !== undefined);
    // Contents last, as in secretProblems: unknown during preview.
    if (!owners.includes(tenant) && holdsPrivateKey(r.props)) {
      problems.push({ urn: r.urn, message: `Secret ${ns}/${name} holds tenant ${q(tenant)}'s private key, but namespace ${q(ns)} is ${owners.length ? `tenant ${q(owners[0])}'s` : "no tenant's (no tenant label)"}: a tenant's key lives only in its own home` });
    }
  }
  return problems;
}

// ---- 6. one tenant per namespace --------------------------------------------

/** The labels of each Namespace object of the stack, keyed by cluster and name. */
function namespaceLabels(resources: readonly StackResource[]): Map<string, Record<string, string | undefined>> {
  const out = new Map<string, Record<string, string | undefined>>();
  for (const r of resources) {
    if (r.type !== TYPES.namespace) continue;
    const meta = obj(r.props.metadata);
    const name = str(meta.name);
    if (name === undefined) continue;
    const labels = obj(meta.labels);
    out.set(`${r.cluster ?? ""}\n${name}`, Object.fromEntries(TENANT_LABELS.map((l) => [l, str(labels[l])])));
  }
  return out;
}

/**
 * Every tenant namespace belongs to exactly one tenant: across the stack's
 * Namespace objects of one cluster (tenant labels) and the tenant-labelled
 * RoleBindings in it (namespace mode), a namespace names one tenant.
 */
export function tenantNamespaceProblems(resources: readonly StackResource[]): StackProblem[] {
  const claims = new Map<string, { tenant: string; urn: string; via: string }[]>();
  const claim = (cluster: string | undefined, ns: string, tenant: string, urn: string, via: string) => {
    const key = `${cluster ?? ""}\n${ns}`;
    claims.set(key, [...(claims.get(key) ?? []), { tenant, urn, via }]);
  };
  for (const r of resources) {
    const meta = obj(r.props.metadata);
    const labels = obj(meta.labels);
    let ns: string | undefined;
    let via: string;
    if (r.type === TYPES.namespace) {
      ns = str(meta.name);
      via = "Namespace";
    } else if (r.type === TYPES.roleBinding) {
      ns = str(meta.namespace);
      via = `RoleBinding ${str(meta.name) ?? "(auto-named)"}`;
    } else continue;
    if (ns === undefined) continue;
    for (const l of TENANT_LABELS) {
      const t = str(labels[l]);
      if (t !== undefined) claim(r.cluster, ns, t, r.urn, `${via} label ${l}`);
    }
  }
  const problems: StackProblem[] = [];
  for (const [key, list] of claims) {
    const tenants = [...new Set(list.map((c) => c.tenant))];
    if (tenants.length < 2) continue;
    const ns = key.slice(key.indexOf("\n") + 1);
    const first = list[0]!;
    for (const c of list) {
      if (c.tenant === first.tenant) continue;
      problems.push({ urn: c.urn, message: `namespace ${q(ns)} is claimed by tenant ${q(c.tenant)} (${c.via}) and by tenant ${q(first.tenant)} (${first.via}); each namespace belongs to one tenant` });
    }
  }
  return problems;
}
