/** The release rules of ClusterRoles and their bindings. */
import { KubeObject } from "../../shared";
import { FLUX_NAMESPACE } from "../../validation";
import { describe, describeSubject, keyValueProblems, list, named, record, show } from "./fields";
import type { Allowlist } from "./fields";
import { AGGREGATE_LABEL_PREFIX, CLI_SUFFIX, CLUSTER_ADMIN, CLUSTER_ADMINS, CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, COMMON_LABELS, FLUX_API_GROUP, RBAC_GROUP, RELEASE_CONTROLLERS, isFluxName } from "./names";

// ---------------------------------------------------------------------------
// ClusterRoles and their bindings.

/** What a Flux ClusterRole grants in a release. */
interface RoleGrant {
  /** Verbs on Flux's own API groups (any resource of them). */
  readonly fluxVerbs: readonly string[];
  /** Rules outside Flux's groups: a rule may grant any part of one of these. */
  readonly rules: readonly Readonly<Record<string, readonly string[]>>[];
  /** The labels it may carry: the common ones, and its aggregation into the built-in roles. */
  readonly labels: Allowlist;
}

const LEASE_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"];

/** fluxcd/flux2 `manifests/rbac/controller.yaml`, the same from v2.6 to v2.9 outside Flux's groups. */
const CRD_CONTROLLER_RULES: RoleGrant["rules"] = [
  { apiGroups: [""], resources: ["namespaces", "secrets", "configmaps", "serviceaccounts"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  // Leader election.
  { apiGroups: [""], resources: ["configmaps"], verbs: LEASE_VERBS },
  { apiGroups: [""], resources: ["configmaps/status"], verbs: ["get", "update", "patch"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: LEASE_VERBS },
  // Object-level workload identity.
  { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
  // API priority and fairness.
  { nonResourceURLs: ["/livez/ping"], verbs: ["head"] },
];

const AGGREGATE_TO: Readonly<Record<string, readonly string[]>> = { "flux-edit": ["admin", "edit"], "flux-view": ["admin", "edit", "view"] };

// flux-edit and flux-view are aggregated into the admin, edit and view roles
// tenants hold: a verb more there is a verb more for every tenant.
const ROLE_GRANTS: Readonly<Record<string, RoleGrant>> = {
  "crd-controller": { fluxVerbs: ["*"], rules: CRD_CONTROLLER_RULES, labels: COMMON_LABELS },
  "flux-edit": { fluxVerbs: ["create", "delete", "deletecollection", "patch", "update"], rules: [], labels: aggregationLabels("flux-edit") },
  "flux-view": { fluxVerbs: ["get", "list", "watch"], rules: [], labels: aggregationLabels("flux-view") },
};

function aggregationLabels(role: string): Allowlist {
  return Object.fromEntries([...Object.entries(COMMON_LABELS), ...(AGGREGATE_TO[role] ?? []).map((to) => [`${AGGREGATE_LABEL_PREFIX}${to}`, ["true"]])]);
}

export function clusterRoleProblems(o: KubeObject): string[] {
  const base = CLUSTER_ROLES.find((n) => o.metadata.name === n || o.metadata.name === n + CLI_SUFFIX);
  const grant = base === undefined ? undefined : ROLE_GRANTS[base];
  if (base === undefined || grant === undefined) return [`${describe(o)} is not one of Flux's ClusterRoles (${CLUSTER_ROLES.join(", ")})`];
  if (o.aggregationRule !== undefined) return [`${describe(o)} has an aggregationRule; no Flux ClusterRole has one`];
  const aggregated = aggregationProblem(o);
  if (aggregated !== undefined) return [aggregated];
  return [
    ...keyValueProblems(o, "label", o.metadata.labels, grant.labels),
    ...rulesOf(o).flatMap((rule, i) => ruleAllowed(rule, grant) ? [] :
      [`${describe(o)} grants ${describeRule(rule)} in rule ${i + 1}, beyond what a release's ${base} grants`]),
  ];
}

/**
 * Why `o` must not be aggregated as it is, or undefined: aggregated into
 * admin/edit/view, which tenants hold in their namespaces, a grant outside
 * Flux's API groups would be every tenant's.
 */
function aggregationProblem(o: KubeObject): string | undefined {
  const label = aggregationLabel(o);
  if (label === undefined) return undefined;
  const grant = rulesOf(o).map(nonFluxGrant).find((g) => g !== undefined);
  return grant === undefined ? undefined :
    `${describe(o)} is aggregated into other roles (label ${show(label)}), such as the admin, edit and view roles tenants hold, ` +
    `so it may grant only Flux's API groups, but it grants ${grant}`;
}

/**
 * The label by which an aggregationRule could select `o`. Only
 * `app.kubernetes.io/*` labels are inert: the built-in roles select
 * `rbac.authorization.k8s.io/aggregate-to-*`, and a cluster's own
 * aggregated roles may select any other.
 */
function aggregationLabel(o: KubeObject): string | undefined {
  const keys = Object.keys(record(o.metadata.labels)).filter((k) => !k.startsWith("app.kubernetes.io/"));
  return keys.find((k) => k.startsWith(AGGREGATE_LABEL_PREFIX)) ?? keys[0];
}

function nonFluxGrant(rule: Record<string, unknown>, index: number): string | undefined {
  if (rule.nonResourceURLs !== undefined) return `nonResourceURLs in rule ${index + 1}`;
  const groups = list(rule.apiGroups).filter((g) => typeof g !== "string" || !FLUX_API_GROUP.test(g));
  return groups.length === 0 ? undefined : `apiGroups ${groups.map(show).join(", ")} in rule ${index + 1}`;
}

/**
 * True when `rule` grants no more than the release's role: any resource of
 * Flux's groups with the role's verbs, or part of one of its other rules.
 * Fields no release rule has (`resourceNames`) make a rule refused.
 */
function ruleAllowed(rule: Record<string, unknown>, grant: RoleGrant): boolean {
  const fields = Object.keys(rule);
  const groups = list(rule.apiGroups);
  const onFluxGroups = fields.every((f) => ["apiGroups", "resources", "verbs"].includes(f)) &&
    groups.length > 0 && groups.every((g) => typeof g === "string" && FLUX_API_GROUP.test(g));
  if (onFluxGroups) return within(rule.verbs, grant.fluxVerbs);
  return grant.rules.some((allowed) => fields.every((f) => within(rule[f], allowed[f])));
}

/** True when every item of `values` is among `allowed`, or `allowed` holds the wildcard. */
function within(values: unknown, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined || !Array.isArray(values)) return false;
  return allowed.includes("*") || values.every((v) => typeof v === "string" && allowed.includes(v));
}

function describeRule(rule: Record<string, unknown>): string {
  return Object.entries(rule).map(([field, value]) => `${field} ${show(value)}`).join(", ");
}

export function bindingProblems(o: KubeObject, roles: ReadonlySet<string>): string[] {
  if (!isFluxName(o.metadata.name, CLUSTER_ROLE_BINDINGS)) {
    return [`${describe(o)} is not one of Flux's ClusterRoleBindings (${CLUSTER_ROLE_BINDINGS.join(", ")})`, ...subjectProblems(o)];
  }
  return [...roleRefProblems(o, roles), ...subjectProblems(o)];
}

function roleRefProblems(o: KubeObject, roles: ReadonlySet<string>): string[] {
  const ref = record(o.roleRef);
  if (ref.kind !== "ClusterRole" || ref.apiGroup !== RBAC_GROUP) return [`${describe(o)} refers to ${named(ref.kind, undefined, ref.name)}, not a ClusterRole`];
  if (typeof ref.name === "string" && (ref.name === CLUSTER_ADMIN || roles.has(ref.name))) return [];
  return [`${describe(o)} grants ClusterRole ${show(ref.name)}, which is neither in the manifests nor ${CLUSTER_ADMIN}`];
}

function subjectProblems(o: KubeObject): string[] {
  const clusterAdmin = record(o.roleRef).name === CLUSTER_ADMIN;
  return list(o.subjects).map(record).flatMap((s) => {
    const who = describeSubject(s);
    if (!isFluxAccount(s)) return [`${describe(o)} binds ${who}, which is not one of Flux's accounts`];
    if (clusterAdmin && !CLUSTER_ADMINS.includes(String(s.name))) {
      return [`${describe(o)} makes ${who} ${CLUSTER_ADMIN}; a release makes only ${CLUSTER_ADMINS.join(" and ")} ${CLUSTER_ADMIN}`];
    }
    return [];
  });
}

function isFluxAccount(subject: Record<string, unknown>): boolean {
  return subject.kind === "ServiceAccount" && subject.namespace === FLUX_NAMESPACE && RELEASE_CONTROLLERS.includes(String(subject.name));
}

function rulesOf(o: KubeObject): Record<string, unknown>[] {
  return list(o.rules).map(record);
}
