/**
 * What a Flux release may install: rules over the parsed install manifest,
 * which is untrusted input (a download, a mirror, a file someone handed
 * over). Pulumi applies these objects with the platform's own credentials and
 * commits them for Flux's privileged kustomize-controller to reapply, so an
 * object a release does not ship would be installed twice over.
 *
 * The rules are allowlists of what `kustomize build manifests/install` of
 * fluxcd/flux2 v2.6 to v2.9 produces (the release's `install.yaml`: each
 * controller's `config/manager/deployment.yaml` with flux2's
 * `manifests/bases/<controller>/patch.yaml`, the RBAC, policies and Namespace
 * of `manifests/`), and of what `flux install --export` produces from the same
 * sources (the CLI suffixes the cluster-scoped RBAC and the ResourceQuota with `-flux-system`, adds
 * version labels, a Linux node selector, and spells some controller flags its
 * own way). Anything else is refused, even where it looks harmless: a field
 * no release sets is a field nobody reviewed.
 */
import { KubeObject, ManifestError } from "../shared";
import { FLUX_NAMESPACE } from "../validation";
import { lockdownArgPatches } from "./lockdown";
import { DEFAULT_COMPONENTS, EXTRA_COMPONENTS, VERSION_LABEL } from "./manifests";

/**
 * Every controller a Flux release names: the default and extra components,
 * and source-watcher (its account is a subject of `crd-controller` from v2.7,
 * its Deployment ships from v2.8.7; the package does not deploy it). Each
 * runs as the ServiceAccount of its name.
 */
export const RELEASE_CONTROLLERS: readonly string[] = [...DEFAULT_COMPONENTS, ...EXTRA_COMPONENTS, "source-watcher"];

/** Flux's API groups: `source.toolkit.fluxcd.io` and siblings, and `source.extensions.fluxcd.io` (v2.7+). */
const FLUX_API_GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(toolkit|extensions)\.fluxcd\.io$/;
const FLUX_API_GROUPS_SHOWN = "*.toolkit.fluxcd.io, *.extensions.fluxcd.io";

// Cluster-scoped names are closed lists: a ClusterRole or binding of another
// name could overwrite one the cluster already relies on (`admin`, `view`, a
// tenant's). The CLI's `flux install` appends `-flux-system`.
const CLUSTER_ROLES: readonly string[] = ["crd-controller", "flux-edit", "flux-view"];
const CLUSTER_ROLE_BINDINGS: readonly string[] = ["cluster-reconciler", "crd-controller"];
const CLI_SUFFIX = `-${FLUX_NAMESPACE}`;

// The two reconcilers apply arbitrary objects, so a release makes them
// cluster-admin; the other controllers (source-controller serves artifacts,
// notification-controller receives webhooks) never are.
const CLUSTER_ADMIN = "cluster-admin";
const CLUSTER_ADMINS: readonly string[] = ["kustomize-controller", "helm-controller"];

const RBAC_GROUP = "rbac.authorization.k8s.io";
const AGGREGATE_LABEL_PREFIX = `${RBAC_GROUP}/aggregate-to-`;

/** A release tag (`:v1.7.4`), optionally pinned by digest, or a bare digest. */
const IMAGE_REFERENCE = "(:v\\d+\\.\\d+\\.\\d+(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})";

/** The fix every tampering problem shares. */
const RELEASE_FIX = "use the unmodified install.yaml of a Flux release";

/** At most this many problems are listed; a wholly wrong file would otherwise print thousands. */
const MAX_LISTED = 20;

/** Where the manifests came from and which release they must be. */
export interface ReleaseCheckOptions {
  /** Flux release tag the manifests must belong to, `vX.Y.Z`. */
  readonly version: string;
  /** URL or file the manifests came from, named in the error. */
  readonly source: string;
}

// ---------------------------------------------------------------------------
// Shapes: which fields an object may have at all.

/** Any value: harmless (a port number, a memory limit), or judged by a rule of its own. */
const FREE = null;

/**
 * The fields an object may have: a map from field to the shape of its value,
 * a one-element array for a list whose items have that shape, or
 * {@link FREE}.
 */
type Shape = null | { readonly [field: string]: Shape } | readonly [Shape];

/** Values allowed for a label or annotation; `FREE` for any (the version label has its own rule). */
type Allowed = readonly string[] | typeof FREE;
type Allowlist = Readonly<Record<string, Allowed>>;

const METADATA: Shape = { name: FREE, namespace: FREE, labels: FREE, annotations: FREE };

const PROBE: Shape = { httpGet: { path: FREE, port: FREE } };
const QUANTITIES: Shape = { cpu: FREE, memory: FREE };

/** A controller container's fields; `command`, `args`, `env` and `securityContext` have rules of their own. */
const CONTAINER: Shape = {
  name: FREE,
  image: FREE,
  imagePullPolicy: FREE,
  command: FREE,
  args: FREE,
  env: FREE,
  ports: [{ containerPort: FREE, name: FREE, protocol: FREE, hostPort: FREE }],
  readinessProbe: PROBE,
  livenessProbe: PROBE,
  resources: { limits: QUANTITIES, requests: QUANTITIES },
  securityContext: FREE,
  volumeMounts: [{ name: FREE, mountPath: FREE }],
};

/**
 * A controller pod's fields. The host ones are refused by {@link hostAccess},
 * with its own message; securityContext, nodeSelector, priorityClassName and
 * volumes are judged by value.
 */
const POD: Shape = {
  containers: [CONTAINER],
  serviceAccountName: FREE,
  securityContext: FREE,
  priorityClassName: FREE,
  nodeSelector: FREE,
  terminationGracePeriodSeconds: FREE,
  volumes: [{ name: FREE, emptyDir: FREE, hostPath: FREE }],
  hostNetwork: FREE,
  hostPID: FREE,
  hostIPC: FREE,
};

const DEPLOYMENT_SPEC: Shape = {
  replicas: FREE,
  selector: FREE,
  strategy: FREE,
  template: { metadata: { labels: FREE, annotations: FREE }, spec: POD },
};

// ---------------------------------------------------------------------------
// Labels and annotations a release puts on its objects.

/** Labels any release object may carry, with the values a release gives them. */
const COMMON_LABELS: Allowlist = {
  "app.kubernetes.io/instance": [FLUX_NAMESPACE],
  "app.kubernetes.io/part-of": ["flux"],
  "app.kubernetes.io/component": RELEASE_CONTROLLERS,
  [VERSION_LABEL]: FREE,
};

const CONTROLLER_LABELS: Allowlist = { ...COMMON_LABELS, "control-plane": ["controller"] };

/** Prometheus finds the controllers' metrics by these. */
const POD_ANNOTATIONS: Allowlist = { "prometheus.io/scrape": ["true"], "prometheus.io/port": ["8080"] };

// ---------------------------------------------------------------------------
// The kinds a release ships.

type Rule = (o: KubeObject, roles: ReadonlySet<string>) => string[];

interface KindRule {
  readonly namespaced: boolean;
  /** Fields beside apiVersion, kind and metadata. */
  readonly shape: Readonly<Record<string, Shape>>;
  /** Allowed labels; undefined when the rule checks them itself. */
  readonly labels?: Allowlist;
  readonly annotations: Allowlist;
  readonly rule: Rule;
}

/** The kinds a release ships, by `apiVersion/kind`, each with its own rule. */
const RELEASE_KINDS: Readonly<Record<string, KindRule>> = {
  "v1/Namespace": {
    namespaced: false,
    shape: {},
    // A release labels it with the pod security warning only: `enforce:
    // privileged`, or a Capsule tenant label (which hands the namespace to a
    // tenant), would come from someone else.
    labels: { ...COMMON_LABELS, "pod-security.kubernetes.io/warn": ["restricted"], "pod-security.kubernetes.io/warn-version": ["latest"] },
    annotations: {},
    rule: namespaceProblems,
  },
  "apiextensions.k8s.io/v1/CustomResourceDefinition": {
    namespaced: false,
    shape: { spec: FREE },
    labels: COMMON_LABELS,
    annotations: { "controller-gen.kubebuilder.io/version": FREE, "kustomize.toolkit.fluxcd.io/substitute": ["disabled"] },
    rule: crdProblems,
  },
  [`${RBAC_GROUP}/v1/ClusterRole`]: { namespaced: false, shape: { rules: FREE, aggregationRule: FREE }, annotations: {}, rule: clusterRoleProblems },
  [`${RBAC_GROUP}/v1/ClusterRoleBinding`]: {
    namespaced: false,
    shape: { roleRef: { apiGroup: FREE, kind: FREE, name: FREE }, subjects: [{ kind: FREE, name: FREE, namespace: FREE }] },
    labels: COMMON_LABELS,
    annotations: {},
    rule: bindingProblems,
  },
  // No annotations (a cloud IAM role), no secrets, no imagePullSecrets.
  "v1/ServiceAccount": { namespaced: true, shape: {}, labels: COMMON_LABELS, annotations: {}, rule: accountProblems },
  "v1/Service": {
    namespaced: true,
    shape: { spec: { type: FREE, selector: FREE, ports: [{ name: FREE, port: FREE, protocol: FREE, targetPort: FREE }], externalIPs: FREE } },
    labels: { ...COMMON_LABELS, "control-plane": ["controller", "source-watcher"] },
    annotations: {},
    rule: serviceProblems,
  },
  "apps/v1/Deployment": { namespaced: true, shape: { spec: DEPLOYMENT_SPEC }, labels: CONTROLLER_LABELS, annotations: {}, rule: deploymentProblems },
  "networking.k8s.io/v1/NetworkPolicy": { namespaced: true, shape: { spec: FREE }, labels: COMMON_LABELS, annotations: {}, rule: networkPolicyProblems },
  "v1/ResourceQuota": { namespaced: true, shape: { spec: FREE }, labels: COMMON_LABELS, annotations: {}, rule: quotaProblems },
};

/**
 * Every way `objects` differ from what a Flux release installs, as sentences
 * naming the object; empty when they are a release's. Pure. Each
 * `app.kubernetes.io/version` label present must equal `version`; a release's
 * own install.yaml carries none, so their absence is not a problem here
 * ({@link loadFluxManifests} asks for a pinned hash instead).
 */
export function releaseProblems(objects: readonly KubeObject[], version: string): string[] {
  return [...contentProblems(objects), ...versionProblems(objects, version)];
}

/**
 * Throws one {@link ManifestError} listing every problem
 * {@link releaseProblems} finds, prefixed with the source, or returns.
 */
export function assertFluxRelease(objects: readonly KubeObject[], options: ReleaseCheckOptions): void {
  const content = contentProblems(objects);
  const versions = versionProblems(objects, options.version);
  const problems = [...content, ...versions];
  if (problems.length === 0) return;
  // A version problem carries its own fix; the shared one is about tampering.
  if (content.length === 0 && versions.length === 1) throw new ManifestError(`${options.source}: ${versions[0]}`);
  if (problems.length === 1) throw new ManifestError(`${options.source}: ${problems[0]}; ${RELEASE_FIX}`);
  const listed = problems.slice(0, MAX_LISTED);
  const more = problems.length > MAX_LISTED ? `\n  - and ${problems.length - MAX_LISTED} more` : "";
  throw new ManifestError(`${options.source}: ${problems.length} problems; ${RELEASE_FIX}:\n  - ${listed.join("\n  - ")}${more}`);
}

function contentProblems(objects: readonly KubeObject[]): string[] {
  const roles = new Set(objects.filter((o) => o.kind === "ClusterRole").map((o) => o.metadata.name));
  return [...duplicateProblems(objects), ...objects.flatMap((o) => objectProblems(o, roles))];
}

function objectProblems(o: KubeObject, roles: ReadonlySet<string>): string[] {
  const text = yamlTextProblems(o);
  const known = RELEASE_KINDS[`${o.apiVersion}/${o.kind}`];
  if (!known) return [...text, `${describe(o)} (apiVersion ${show(o.apiVersion)}) is not among the objects a Flux release installs`];
  if (known.namespaced && o.metadata.namespace !== FLUX_NAMESPACE) return [...text, `${describe(o)} is not in the ${FLUX_NAMESPACE} namespace`];
  const shape: Shape = { apiVersion: FREE, kind: FREE, metadata: METADATA, ...known.shape };
  return [
    ...text,
    ...unknownFields(o, shape, "").map((path) => `${describe(o)} sets ${path}, which no Flux release sets`),
    ...(known.labels ? keyValueProblems(o, "label", o.metadata.labels, known.labels) : []),
    ...keyValueProblems(o, "annotation", o.metadata.annotations, known.annotations),
    ...known.rule(o, roles),
  ];
}

function duplicateProblems(objects: readonly KubeObject[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const o of objects) {
    // Applying both would let the second silently win over the one checked first.
    const key = JSON.stringify([o.apiVersion, o.kind, o.metadata.namespace ?? "", o.metadata.name]);
    if (seen.has(key)) problems.push(`${describe(o)} appears twice`);
    seen.add(key);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// YAML text: what the `yaml` package writes to Git must read back the same in
// kustomize-controller (Go, go-yaml v3).

/**
 * Characters the two YAML implementations disagree on: the `yaml` package
 * writes U+2028 and U+2029 unquoted and U+0085 unescaped, and Go reads all
 * three as line breaks (an unquoted one can end the value and start a new
 * key); the other C0 and C1 controls, DEL, U+FEFF, U+FFFE, U+FFFF and lone
 * surrogates Go refuses or reads otherwise. Tab and newline round-trip.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|\p{Cs}/u;

/** Go YAML reads a `<<` key as a merge key, the `yaml` package (YAML 1.2) as a plain one, and writes it bare. */
const MERGE_KEY = "<<";

function yamlTextProblems(o: KubeObject): string[] {
  return unsafeSpots(o, "").map((spot) => `${describe(o)} has ${spot}, which Flux would not read back from Git as written`);
}

/**
 * Where `value` holds a `<<` key or unsafe text, as phrases naming the field
 * path; the text itself is never shown.
 */
function unsafeSpots(value: unknown, path: string): string[] {
  if (typeof value === "string") return UNSAFE_TEXT.test(value) ? [`a line break or control character in ${path || "a value"}`] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => unsafeSpots(item, `${path}[${i}]`));
  if (typeof value !== "object" || value === null) return [];
  const where = path || "its top level";
  return Object.entries(value).flatMap(([key, item]) => {
    if (key === MERGE_KEY) return [`a "<<" (merge) key in ${where}`];
    if (UNSAFE_TEXT.test(key)) return [`a line break or control character in a key of ${where}`];
    return unsafeSpots(item, fieldPath(path, key));
  });
}

/** True when a string in `value`, or a key, holds {@link UNSAFE_TEXT}. */
function hasUnsafeText(value: unknown): boolean {
  if (typeof value === "string") return UNSAFE_TEXT.test(value);
  if (typeof value !== "object" || value === null) return false;
  return Object.entries(value).some(([key, item]) => UNSAFE_TEXT.test(key) || hasUnsafeText(item));
}

// ---------------------------------------------------------------------------
// Fields, labels and annotations.

/** The paths of fields in `value` that `shape` does not allow. */
function unknownFields(value: unknown, shape: Shape, path: string): string[] {
  if (shape === FREE) return [];
  if (isListShape(shape)) return list(value).flatMap((item, i) => unknownFields(item, shape[0], `${path}[${i}]`));
  const fields = record(value);
  return Object.keys(fields).filter(isPlainKey).flatMap((key) => Object.hasOwn(shape, key)
    ? unknownFields(fields[key], shape[key] ?? FREE, fieldPath(path, key))
    : [fieldPath(path, key)]);
}

function isListShape(shape: Shape): shape is readonly [Shape] {
  return Array.isArray(shape);
}

/** False for the keys {@link yamlTextProblems} reports, so no other rule reports them again. */
function isPlainKey(key: string): boolean {
  return key !== MERGE_KEY && !UNSAFE_TEXT.test(key);
}

/**
 * Labels or annotations outside `allowed`, or with a value a release does
 * not give them. `what` names them in messages ("label", "pod annotation").
 */
function keyValueProblems(o: KubeObject, what: string, entries: unknown, allowed: Allowlist): string[] {
  return Object.entries(record(entries)).filter(([key]) => isPlainKey(key)).flatMap(([key, value]) => {
    if (!Object.hasOwn(allowed, key)) return [`${describe(o)} carries ${what} ${show(key)}, which no Flux release puts there`];
    const values = allowed[key];
    if (values === FREE || values === undefined || (typeof value === "string" && values.includes(value))) return [];
    return [`${describe(o)} carries ${what} ${show(key)} ${show(value)}; a release gives it ${alternatives(values)}`];
  });
}

// ---------------------------------------------------------------------------
// Namespace, CRDs, accounts, Services, policies.

function namespaceProblems(o: KubeObject): string[] {
  return o.metadata.name === FLUX_NAMESPACE ? [] : [`${describe(o)} is not the ${FLUX_NAMESPACE} namespace a release creates`];
}

function crdProblems(o: KubeObject): string[] {
  const spec = record(o.spec);
  const group = spec.group;
  if (typeof group !== "string" || !FLUX_API_GROUP.test(group)) {
    return [`${describe(o)} defines API group ${show(group)}, which is not Flux's (${FLUX_API_GROUPS_SHOWN})`];
  }
  // A conversion webhook sees, and may rewrite, every object of the kind.
  const strategy = record(spec.conversion).strategy;
  if (strategy !== undefined && strategy !== "None") {
    return [`${describe(o)} converts its objects with strategy ${show(strategy)}; Flux's CRDs use none`];
  }
  return [];
}

function accountProblems(o: KubeObject): string[] {
  return RELEASE_CONTROLLERS.includes(o.metadata.name) ? [] : [`${describe(o)} is not one of Flux's accounts`];
}

/** Flux's Services, each with the controller (`app` label) it selects. */
const SERVICE_SELECTS: Readonly<Record<string, string>> = {
  "source-controller": "source-controller",
  "notification-controller": "notification-controller",
  "webhook-receiver": "notification-controller",
  "source-watcher": "source-watcher",
};

function serviceProblems(o: KubeObject): string[] {
  const app = SERVICE_SELECTS[o.metadata.name];
  if (app === undefined) return [`${describe(o)} is not one of Flux's Services (${Object.keys(SERVICE_SELECTS).join(", ")})`];
  const spec = record(o.spec);
  // Any other type, or external IPs, would expose a controller (source-controller
  // serves every tenant's artifacts) outside the cluster.
  if (spec.type !== undefined && spec.type !== "ClusterIP") return [`${describe(o)} is of type ${show(spec.type)}; Flux's Services are ClusterIP`];
  if (list(spec.externalIPs).length > 0) return [`${describe(o)} sets externalIPs; Flux's Services have none`];
  // Another selector would route a controller's traffic (artifacts, webhooks) to other pods.
  return exactProblems(o, "spec.selector", spec.selector, [{ app }]);
}

/** The NetworkPolicies a release ships, with each spec it has had (allow-webhooks gained its port in v2.9.4). */
const NETWORK_POLICIES: Readonly<Record<string, readonly unknown[]>> = {
  "allow-egress": [{ policyTypes: ["Ingress", "Egress"], ingress: [{ from: [{ podSelector: {} }] }], egress: [{}], podSelector: {} }],
  "allow-scraping": [{ policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 8080 }] }], podSelector: {} }],
  "allow-webhooks": [
    { policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: {} }] }], podSelector: { matchLabels: { app: "notification-controller" } } },
    {
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 9292 }] }],
      podSelector: { matchLabels: { app: "notification-controller" } },
    },
  ],
};

/** The quota a release ships: room for its system-critical pods. */
const RESOURCE_QUOTAS: Readonly<Record<string, readonly unknown[]>> = {
  "critical-pods": [{
    hard: { pods: "1000" },
    scopeSelector: { matchExpressions: [{ operator: "In", scopeName: "PriorityClass", values: ["system-node-critical", "system-cluster-critical"] }] },
  }],
};

// A policy of one's own could open source-controller's artifacts (every
// tenant's sources) or the controllers' ports to any namespace.
function networkPolicyProblems(o: KubeObject): string[] {
  return specProblems(o, "NetworkPolicies", NETWORK_POLICIES);
}

// `flux install` suffixes its quota too: it ships in the RBAC bundle
// (manifests/rbac), to which the CLI gives `nameSuffix: -flux-system`.
function quotaProblems(o: KubeObject): string[] {
  return specProblems(o, "ResourceQuotas", RESOURCE_QUOTAS, true);
}

function specProblems(o: KubeObject, kinds: string, specs: Readonly<Record<string, readonly unknown[]>>, cliSuffix = false): string[] {
  const name = cliSuffix && o.metadata.name.endsWith(CLI_SUFFIX) ? o.metadata.name.slice(0, -CLI_SUFFIX.length) : o.metadata.name;
  const known = Object.hasOwn(specs, name) ? specs[name] : undefined;
  if (known === undefined) return [`${describe(o)} is not one of Flux's ${kinds} (${Object.keys(specs).join(", ")})`];
  return known.some((spec) => sameValue(spec, o.spec)) ? [] : [`${describe(o)} has another spec than the one a release ships`];
}

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

function clusterRoleProblems(o: KubeObject): string[] {
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

function bindingProblems(o: KubeObject, roles: ReadonlySet<string>): string[] {
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

// ---------------------------------------------------------------------------
// Deployments: each controller runs one container, the release's image with
// the release's flags, environment and hardened security context.

/** The one container of a controller pod. */
const CONTAINER_NAME = "manager";

/** What the pod's securityContext is in every release (the group for AWS IAM roles' token files). */
const POD_SECURITY: unknown = { fsGroup: 1337 };

/** Every controller container's securityContext in every release. */
const HARDENED: Readonly<Record<string, unknown>> = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  seccompProfile: { type: "RuntimeDefault" },
};
const HARDENED_SHOWN = "no privilege escalation, all capabilities dropped, a read-only root filesystem, a non-root user, the RuntimeDefault seccomp profile";

/**
 * The environment a release sets, by name: the namespace (which the
 * storage address expands), sigstore's cache in /tmp (source-controller),
 * and Go's limits from the container's (GOMAXPROCS until v2.6). Anything
 * else could redirect the controllers (HTTPS_PROXY) or change what they load.
 */
const RELEASE_ENV: Readonly<Record<string, unknown>> = {
  RUNTIME_NAMESPACE: { valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
  TUF_ROOT: { value: "/tmp/.sigstore" },
  GOMAXPROCS: { valueFrom: { resourceFieldRef: { containerName: CONTAINER_NAME, resource: "limits.cpu" } } },
  GOMEMLIMIT: { valueFrom: { resourceFieldRef: { containerName: CONTAINER_NAME, resource: "limits.memory" } } },
};

/** The volumes a release mounts, all empty scratch space: each name with its mount path. */
const RELEASE_MOUNTS: Readonly<Record<string, string>> = { data: "/data", tmp: "/tmp", temp: "/tmp" };

/** The controllers that serve artifacts from storage, at an address they advertise. */
const STORAGE_CONTROLLERS: readonly string[] = ["source-controller", "source-watcher"];

/** The log levels `flux install --log-level` accepts. */
const LOG_LEVELS: readonly string[] = ["debug", "info", "error"];

/**
 * notification-controller's address: the release's install.yaml spells the
 * namespace, `flux install` expands it at runtime.
 */
const EVENTS_ADDRESSES: readonly string[] = [FLUX_NAMESPACE, "$(RUNTIME_NAMESPACE)"]
  .map((ns) => `--events-addr=http://notification-controller.${ns}.svc.cluster.local./`);

/**
 * The reconcilers that `flux install --components-extra=source-watcher` lets
 * consume source-watcher's ExternalArtifacts, with the flag it adds.
 */
const EXTERNAL_ARTIFACT_CONSUMERS: readonly string[] = ["kustomize-controller", "helm-controller"];
const EXTERNAL_ARTIFACT_GATE = "--feature-gates=ExternalArtifact=true";

/** The flags the package adds for the lockdown, by name: the manifest must not set them either way. */
const LOCKDOWN_FLAGS: readonly string[] = lockdownArgPatches("default").map((p) => flagName(p.arg));

/**
 * The arguments a release passes to controller `name`: its own
 * deployment.yaml's, flux2's `--events-addr`, and `flux install`'s
 * spellings and its ExternalArtifact gate (with source-watcher). `--storage-adv-addr` is where kustomize-controller fetches
 * artifacts from: another address would serve it an attacker's.
 */
function releaseArgs(name: string): readonly string[] {
  return [
    "--watch-all-namespaces",
    "--watch-all-namespaces=true",
    ...LOG_LEVELS.map((level) => `--log-level=${level}`),
    "--log-encoding=json",
    "--enable-leader-election",
    ...(name === "notification-controller" ? [] : EVENTS_ADDRESSES),
    ...(STORAGE_CONTROLLERS.includes(name) ? ["--storage-path=/data", `--storage-adv-addr=${name}.$(RUNTIME_NAMESPACE).svc.cluster.local.`] : []),
    ...(EXTERNAL_ARTIFACT_CONSUMERS.includes(name) ? [EXTERNAL_ARTIFACT_GATE] : []),
  ];
}

function deploymentProblems(o: KubeObject): string[] {
  const name = o.metadata.name;
  if (!RELEASE_CONTROLLERS.includes(name)) return [`${describe(o)} is not one of Flux's controllers`];
  const template = record(record(o.spec).template);
  const pod = record(template.spec);
  const problems: string[] = [];
  // kustomize-controller's account is cluster-admin: another controller
  // running as it would be too.
  if (pod.serviceAccountName !== name) {
    problems.push(`${describe(o)} runs as ServiceAccount ${show(pod.serviceAccountName)}; a release runs each controller as its own account, ${show(name)}`);
  }
  const containers = list(pod.containers).map(record);
  problems.push(...containerCountProblems(o, containers), ...containers.flatMap((c) => containerProblems(o, c)));
  const host = hostAccess(pod);
  if (host.length > 0) problems.push(`${describe(o)} asks for host access (${host.join(", ")}), which no Flux controller has`);
  const templateMeta = record(template.metadata);
  return [
    ...problems,
    ...volumeProblems(o, pod),
    ...exactProblems(o, "spec.template.spec.securityContext", pod.securityContext, [POD_SECURITY, undefined]),
    // The CLI pins the controllers to Linux nodes; the priority keeps them scheduled.
    ...exactProblems(o, "spec.template.spec.nodeSelector", pod.nodeSelector, [undefined, { "kubernetes.io/os": "linux" }]),
    ...exactProblems(o, "spec.template.spec.priorityClassName", pod.priorityClassName, [undefined, "system-cluster-critical"]),
    ...keyValueProblems(o, "pod label", templateMeta.labels, { ...COMMON_LABELS, app: [name] }),
    ...keyValueProblems(o, "pod annotation", templateMeta.annotations, POD_ANNOTATIONS),
  ];
}

function containerCountProblems(o: KubeObject, containers: readonly Record<string, unknown>[]): string[] {
  if (containers.length === 1 && containers[0]!.name === CONTAINER_NAME) return [];
  const runs = containers.length === 0 ? "no container" : `container${containers.length > 1 ? "s" : ""} ${containers.map((c) => show(c.name)).join(", ")}`;
  return [`${describe(o)} runs ${runs}; a release runs one, ${show(CONTAINER_NAME)}`];
}

function containerProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  const name = o.metadata.name;
  const problems: string[] = [];
  const image = new RegExp(`^ghcr\\.io/fluxcd/${name}${IMAGE_REFERENCE}$`);
  if (typeof c.image !== "string" || !image.test(c.image)) {
    problems.push(`${describe(o)} runs image ${show(c.image)} in container ${show(c.name)}; a release runs ghcr.io/fluxcd/${name}:<tag> ` +
      "(flux.registry rewrites it for a mirror)");
  }
  // Flux's images hold a shell: a command of one's own would run any code
  // with the controller's account (kustomize-controller's is cluster-admin).
  if (c.command !== undefined) problems.push(`${describe(o)} replaces the entrypoint of container ${show(c.name)}; a release runs each image's own`);
  return [...problems, ...argProblems(o, c), ...envProblems(o, c), ...securityContextProblems(o, c), ...mountProblems(o, c)];
}

function argProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  const allowed = releaseArgs(o.metadata.name);
  const inContainer = `to container ${show(c.name)}`;
  return list(c.args).flatMap((arg, i) => {
    if (typeof arg === "string" && allowed.includes(arg)) return [];
    // The controllers' flag parser (pflag) stops at "--": every flag after
    // it, the lockdown's appended ones included, would be ignored. No
    // controller takes positional arguments.
    if (arg === "--") return [`${describe(o)} ends the flags of container ${show(c.name)} with "--" (argument ${i + 1}); a release passes flags only`];
    if (typeof arg !== "string" || !arg.startsWith("--")) return [`${describe(o)} passes argument ${i + 1} ${inContainer}, which is not a flag; a release passes flags only`];
    const flag = flagName(arg);
    if (LOCKDOWN_FLAGS.includes(flag)) return [`${describe(o)} passes the lockdown flag ${show(`--${flag}`)} ${inContainer}; the package adds the lockdown flags itself`];
    if (allowed.some((a) => flagName(a) === flag)) return [`${describe(o)} passes ${show(`--${flag}`)} ${inContainer} with a value no Flux release passes`];
    return [`${describe(o)} passes ${show(`--${flag}`)} ${inContainer}, which no Flux release passes`];
  });
}

/** `no-remote-bases` for `--no-remote-bases=true`. */
function flagName(arg: string): string {
  return arg.replace(/^--?/, "").split("=")[0] ?? "";
}

function envProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  return list(c.env).map(record).flatMap((variable) => {
    const { name, ...source } = variable;
    const what = `environment variable ${show(name)} in container ${show(c.name)}`;
    if (typeof name !== "string" || !Object.hasOwn(RELEASE_ENV, name)) return [`${describe(o)} sets ${what}, which no Flux release sets`];
    return sameValue(source, RELEASE_ENV[name]) ? [] : [`${describe(o)} sets ${what} to another value than a release's`];
  });
}

function securityContextProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  const actual = record(c.securityContext);
  // `privileged: true` is reported as host access.
  const changed = [...new Set([...Object.keys(HARDENED), ...Object.keys(actual)])]
    .filter((field) => !sameValue(actual[field], HARDENED[field]) && !(field === "privileged" && actual[field] === true));
  if (changed.length === 0) return [];
  return [`${describe(o)} changes the securityContext of container ${show(c.name)} (${changed.map((f) => fieldPath("", f)).join(", ")}); ` +
    `a release runs every controller with ${HARDENED_SHOWN}`];
}

function mountProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  return list(c.volumeMounts).map(record).flatMap((m) =>
    typeof m.name === "string" && Object.hasOwn(RELEASE_MOUNTS, m.name) && RELEASE_MOUNTS[m.name] === m.mountPath ? [] :
      [`${describe(o)} mounts ${show(m.name)} at ${show(m.mountPath)} in container ${show(c.name)}; a release mounts only data at /data, and tmp or temp at /tmp`]);
}

/** Volumes other than the release's scratch space; host paths are host access, other sources fields no release sets. */
function volumeProblems(o: KubeObject, pod: Record<string, unknown>): string[] {
  return list(pod.volumes).map(record).flatMap((v) => {
    if (Object.keys(v).some((field) => field !== "name" && field !== "emptyDir")) return [];
    if (typeof v.name === "string" && Object.hasOwn(RELEASE_MOUNTS, v.name) && sameValue(v.emptyDir, {})) return [];
    return [`${describe(o)} has volume ${show(v.name)}; a release's volumes are empty emptyDirs named ${Object.keys(RELEASE_MOUNTS).join(", ")}`];
  });
}

function hostAccess(pod: Record<string, unknown>): string[] {
  const flags = ["hostNetwork", "hostPID", "hostIPC"].filter((f) => pod[f] === true);
  const volumes = list(pod.volumes).map(record).filter((v) => v.hostPath !== undefined).map((v) => `hostPath volume ${show(v.name)}`);
  const containers = list(pod.containers).map(record);
  const privileged = containers.filter((c) => record(c.securityContext).privileged === true).map((c) => `privileged container ${show(c.name)}`);
  const ports = containers.flatMap((c) => list(c.ports).map(record)).filter((p) => p.hostPort !== undefined).map((p) => `hostPort ${show(p.hostPort)}`);
  return [...flags, ...volumes, ...privileged, ...ports];
}

// ---------------------------------------------------------------------------
// Version labels.

function versionProblems(objects: readonly KubeObject[], version: string): string[] {
  const wrong = new Map<string, KubeObject[]>();
  for (const o of objects) {
    const labels = record(o.metadata.labels);
    if (!(VERSION_LABEL in labels) || labels[VERSION_LABEL] === version) continue;
    const value = show(labels[VERSION_LABEL]);
    wrong.set(value, [...(wrong.get(value) ?? []), o]);
  }
  return [...wrong].map(([value, found]) => {
    const more = found.length > 1 ? ` and ${found.length - 1} more object${found.length > 2 ? "s" : ""}` : "";
    return `${describe(found[0]!)}${more} ${found.length > 1 ? "are" : "is"} labelled ${VERSION_LABEL} ${value}, ` +
      `but flux.version is ${show(version)}; set flux.version to the manifests' release, or use the manifests of ${version}`;
  });
}

// ---------------------------------------------------------------------------
// Helpers.

/** A problem when `actual`, at `path`, is none of the values a release has there. */
function exactProblems(o: KubeObject, path: string, actual: unknown, allowed: readonly unknown[]): string[] {
  return allowed.some((value) => sameValue(actual, value)) ? [] :
    [`${describe(o)} sets ${path} to ${show(actual)}; a release has ${alternatives(allowed)}`];
}

/** `"a" or "b"`; an absent value is "none". */
function alternatives(values: readonly unknown[]): string {
  return values.map((v) => v === undefined ? "none" : show(v)).join(" or ");
}

/** Equal as JSON data, whatever the order of object keys. */
function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "undefined";
}

/**
 * `spec.template.spec.containers[0]`, `metadata.labels["app.kubernetes.io/name"]`:
 * a field as messages name it. A key with unsafe text shows as `[?]`, so a
 * message never carries it.
 */
function fieldPath(parent: string, key: string): string {
  if (UNSAFE_TEXT.test(key)) return `${parent}[?]`;
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${show(key)}]`;
}

function isFluxName(name: string, names: readonly string[]): boolean {
  return names.some((n) => name === n || name === n + CLI_SUFFIX);
}

/** `Deployment "flux-system/source-controller"`: the object as messages name it. */
function describe(o: KubeObject): string {
  return named(o.kind, o.metadata.namespace, o.metadata.name);
}

/** `ServiceAccount "default/attacker"`, `User "mallory"`: a binding's subject as messages name it. */
function describeSubject(s: Record<string, unknown>): string {
  return named(s.kind, s.namespace, s.name);
}

function named(kind: unknown, namespace: unknown, name: unknown): string {
  const shownKind = typeof kind === "string" && /^[A-Za-z][A-Za-z0-9]{0,62}$/.test(kind) ? kind : show(kind);
  return `${shownKind} ${show(typeof namespace === "string" ? `${namespace}/${String(name)}` : name)}`;
}

/**
 * A manifest value as quoted in a message: a string in JSON quotes, other
 * values as JSON; long values are cut. A value holding a line break or
 * control character is not shown at all ({@link yamlTextProblems} names
 * where it is): it could forge lines of the message or of a log.
 */
function show(value: unknown): string {
  if (value === undefined) return "(none)";
  if (hasUnsafeText(value)) return "(text with control characters, not shown)";
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  const cut = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return typeof value === "string" ? JSON.stringify(cut) : cut;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function rulesOf(o: KubeObject): Record<string, unknown>[] {
  return list(o.rules).map(record);
}
