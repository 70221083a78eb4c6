/**
 * The names and labels a Flux release uses: its controllers, API groups,
 * cluster-scoped RBAC names and the labels any release object may carry.
 */
import { FLUX_NAMESPACE } from "../../validation";
import { DEFAULT_COMPONENTS, EXTRA_COMPONENTS, VERSION_LABEL } from "../manifests";
import type { Allowlist } from "./fields";
import { FREE } from "./fields";

/**
 * Every controller a Flux release names: the default and extra components,
 * and source-watcher (its account is a subject of `crd-controller` from v2.7,
 * its Deployment ships from v2.8.7; the package does not deploy it). Each
 * runs as the ServiceAccount of its name.
 */
export const RELEASE_CONTROLLERS: readonly string[] = [...DEFAULT_COMPONENTS, ...EXTRA_COMPONENTS, "source-watcher"];

/** Flux's API groups: `source.toolkit.fluxcd.io` and siblings, and `source.extensions.fluxcd.io` (v2.7+). */
export const FLUX_API_GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(toolkit|extensions)\.fluxcd\.io$/;
export const FLUX_API_GROUPS_SHOWN = "*.toolkit.fluxcd.io, *.extensions.fluxcd.io";

// Cluster-scoped names are closed lists: a ClusterRole or binding of another
// name could overwrite one the cluster already relies on (`admin`, `view`, a
// tenant's). The CLI's `flux install` appends `-flux-system`.
export const CLUSTER_ROLES: readonly string[] = ["crd-controller", "flux-edit", "flux-view"];
export const CLUSTER_ROLE_BINDINGS: readonly string[] = ["cluster-reconciler", "crd-controller"];
export const CLI_SUFFIX = `-${FLUX_NAMESPACE}`;

/** True for a release's name, or the `flux install` spelling of it (suffixed `-flux-system`). */
export function isFluxName(name: string, names: readonly string[]): boolean {
  return names.some((n) => name === n || name === n + CLI_SUFFIX);
}

// The two reconcilers apply arbitrary objects, so a release makes them
// cluster-admin; the other controllers (source-controller serves artifacts,
// notification-controller receives webhooks) never are.
export const CLUSTER_ADMIN = "cluster-admin";
export const CLUSTER_ADMINS: readonly string[] = ["kustomize-controller", "helm-controller"];

export const RBAC_GROUP = "rbac.authorization.k8s.io";
export const AGGREGATE_LABEL_PREFIX = `${RBAC_GROUP}/aggregate-to-`;

/** A release tag (`:v1.7.4`), optionally pinned by digest, or a bare digest. */
export const IMAGE_REFERENCE = "(:v\\d+\\.\\d+\\.\\d+(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})";

// ---------------------------------------------------------------------------
// Labels and annotations a release puts on its objects.

/** Labels any release object may carry, with the values a release gives them. */
export const COMMON_LABELS: Allowlist = {
  "app.kubernetes.io/instance": [FLUX_NAMESPACE],
  "app.kubernetes.io/part-of": ["flux"],
  "app.kubernetes.io/component": RELEASE_CONTROLLERS,
  [VERSION_LABEL]: FREE,
};

export const CONTROLLER_LABELS: Allowlist = { ...COMMON_LABELS, "control-plane": ["controller"] };

/** Prometheus finds the controllers' metrics by these. */
export const POD_ANNOTATIONS: Allowlist = { "prometheus.io/scrape": ["true"], "prometheus.io/port": ["8080"] };

