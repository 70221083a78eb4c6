/**
 * What a Flux release may install: rules over the parsed install manifest,
 * which is untrusted input (a download, a mirror, a file someone handed
 * over). Pulumi applies these objects with the platform's own credentials and
 * commits them for Flux's privileged kustomize-controller to reapply, so an
 * object a release does not ship would be installed twice over.
 *
 * The allowlist is what `kustomize build manifests/install` of fluxcd/flux2
 * v2.6 to v2.9 produces (the release's `install.yaml`), and what
 * `flux install --export` produces from the same sources (the CLI suffixes the
 * cluster-scoped RBAC with `-flux-system` and adds version labels).
 */
import {
  DEFAULT_COMPONENTS,
  EXTRA_COMPONENTS,
  FLUX_NAMESPACE,
  KubeObject,
  ManifestError,
  VERSION_LABEL,
} from "./manifests";

/**
 * Every controller a Flux release names: the default and extra components,
 * and source-watcher (its account is a subject of `crd-controller` from v2.7,
 * its Deployment ships from v2.9). Each runs as the ServiceAccount of its name.
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
const IMAGE_TAG = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?";

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

type Rule = (o: KubeObject, roles: ReadonlySet<string>) => string[];

/** The kinds a release ships, by `apiVersion/kind`, each with its own rule. */
const RELEASE_KINDS: Readonly<Record<string, { readonly namespaced: boolean; readonly rule: Rule }>> = {
  "v1/Namespace": { namespaced: false, rule: namespaceProblems },
  "apiextensions.k8s.io/v1/CustomResourceDefinition": { namespaced: false, rule: crdProblems },
  [`${RBAC_GROUP}/v1/ClusterRole`]: { namespaced: false, rule: clusterRoleProblems },
  [`${RBAC_GROUP}/v1/ClusterRoleBinding`]: { namespaced: false, rule: bindingProblems },
  "v1/ServiceAccount": { namespaced: true, rule: accountProblems },
  "v1/Service": { namespaced: true, rule: serviceProblems },
  "apps/v1/Deployment": { namespaced: true, rule: deploymentProblems },
  "networking.k8s.io/v1/NetworkPolicy": { namespaced: true, rule: () => [] },
  "v1/ResourceQuota": { namespaced: true, rule: () => [] },
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
  const known = RELEASE_KINDS[`${o.apiVersion}/${o.kind}`];
  if (!known) return [`${describe(o)} (apiVersion ${show(o.apiVersion)}) is not among the objects a Flux release installs`];
  if (known.namespaced && o.metadata.namespace !== FLUX_NAMESPACE) return [`${describe(o)} is not in the ${FLUX_NAMESPACE} namespace`];
  return known.rule(o, roles);
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

function clusterRoleProblems(o: KubeObject): string[] {
  if (!isFluxName(o.metadata.name, CLUSTER_ROLES)) return [`${describe(o)} is not one of Flux's ClusterRoles (${CLUSTER_ROLES.join(", ")})`];
  if (o.aggregationRule !== undefined) return [`${describe(o)} has an aggregationRule; no Flux ClusterRole has one`];
  const label = aggregationLabel(o);
  if (label === undefined) return [];
  // Aggregated into admin/edit/view, which tenants hold in their namespaces:
  // a wider rule here would be granted to every tenant.
  const grant = rulesOf(o).map(nonFluxGrant).find((g) => g !== undefined);
  return grant === undefined ? [] : [
    `${describe(o)} is aggregated into other roles (label ${show(label)}), such as the admin, edit and view roles tenants hold, ` +
    `so it may grant only Flux's API groups, but it grants ${grant}`,
  ];
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

function accountProblems(o: KubeObject): string[] {
  return RELEASE_CONTROLLERS.includes(o.metadata.name) ? [] : [`${describe(o)} is not one of Flux's accounts`];
}

function serviceProblems(o: KubeObject): string[] {
  const spec = record(o.spec);
  // Any other type, or external IPs, would expose a controller (source-controller
  // serves every tenant's artifacts) outside the cluster.
  if (spec.type !== undefined && spec.type !== "ClusterIP") return [`${describe(o)} is of type ${show(spec.type)}; Flux's Services are ClusterIP`];
  if (list(spec.externalIPs).length > 0) return [`${describe(o)} sets externalIPs; Flux's Services have none`];
  return [];
}

function deploymentProblems(o: KubeObject): string[] {
  const name = o.metadata.name;
  if (!RELEASE_CONTROLLERS.includes(name)) return [`${describe(o)} is not one of Flux's controllers`];
  const pod = record(record(record(o.spec).template).spec);
  const problems: string[] = [];
  // kustomize-controller's account is cluster-admin: another controller
  // running as it would be too.
  if (pod.serviceAccountName !== name) {
    problems.push(`${describe(o)} runs as ServiceAccount ${show(pod.serviceAccountName)}; a release runs each controller as its own account, ${show(name)}`);
  }
  const image = new RegExp(`^ghcr\\.io/fluxcd/${name}:${IMAGE_TAG}$`);
  for (const c of containersOf(pod)) {
    if (typeof c.image !== "string" || !image.test(c.image)) {
      problems.push(`${describe(o)} runs image ${show(c.image)} in container ${show(c.name)}; a release runs ghcr.io/fluxcd/${name}:<tag> ` +
        "(flux.registry rewrites it for a mirror)");
    }
    // Flux's images hold a shell: a command of one's own would run any code
    // with the controller's account (kustomize-controller's is cluster-admin).
    if (c.command !== undefined) problems.push(`${describe(o)} replaces the entrypoint of container ${show(c.name)}; a release runs each image's own`);
  }
  const host = hostAccess(pod);
  if (host.length > 0) problems.push(`${describe(o)} asks for host access (${host.join(", ")}), which no Flux controller has`);
  return problems;
}

function hostAccess(pod: Record<string, unknown>): string[] {
  const flags = ["hostNetwork", "hostPID", "hostIPC"].filter((f) => pod[f] === true);
  const volumes = list(pod.volumes).map(record).filter((v) => v.hostPath !== undefined).map((v) => `hostPath volume ${show(v.name)}`);
  const privileged = containersOf(pod)
    .filter((c) => record(c.securityContext).privileged === true).map((c) => `privileged container ${show(c.name)}`);
  return [...flags, ...volumes, ...privileged];
}

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
 * A manifest value as quoted in a message: JSON escapes keep it on one line
 * and make control characters visible; long values are cut.
 */
function show(value: unknown): string {
  if (value === undefined) return "(none)";
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function containersOf(pod: Record<string, unknown>): Record<string, unknown>[] {
  return [...list(pod.initContainers), ...list(pod.containers)].map(record);
}

function rulesOf(o: KubeObject): Record<string, unknown>[] {
  return list(o.rules).map(record);
}
