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
import { KubeObject, ManifestError } from "../../shared";
import { FLUX_NAMESPACE } from "../../validation";
import { VERSION_LABEL } from "../manifests";
import { DEPLOYMENT_SPEC, deploymentProblems } from "./deployments";
import { describe, FREE, keyValueProblems, record, show, unknownFields, yamlTextProblems } from "./fields";
import type { Allowlist, Shape } from "./fields";
import { COMMON_LABELS, CONTROLLER_LABELS, RBAC_GROUP } from "./names";
import { accountProblems, crdProblems, namespaceProblems, networkPolicyProblems, quotaProblems, serviceProblems } from "./objects";
import { bindingProblems, clusterRoleProblems } from "./rbac";

export { RELEASE_CONTROLLERS } from "./names";

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

/** Every object's metadata fields; its labels and annotations are judged by value. */
const METADATA: Shape = { name: FREE, namespace: FREE, labels: FREE, annotations: FREE };

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
 * (`loadFluxManifests` in `../manifests` asks for a pinned hash instead).
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
