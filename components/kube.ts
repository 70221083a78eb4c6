import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubeObject, ManifestError } from "./shared";

// `never` args: every typed class accepts a parsed object at run time; the
// table only needs to know each entry constructs a resource.
type KubeConstructor = new (name: string, args: never, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/**
 * The built-in kinds Flux's manifests use, mapped to their typed Pulumi
 * classes so the engine diffs them with the real schema. Objects of API
 * groups outside Kubernetes' own go through CustomResource.
 */
const BUILT_IN: Record<string, KubeConstructor> = {
  "v1/Namespace": k8s.core.v1.Namespace,
  "v1/ServiceAccount": k8s.core.v1.ServiceAccount,
  "v1/Service": k8s.core.v1.Service,
  "v1/ConfigMap": k8s.core.v1.ConfigMap,
  "v1/Secret": k8s.core.v1.Secret,
  "v1/ResourceQuota": k8s.core.v1.ResourceQuota,
  "v1/LimitRange": k8s.core.v1.LimitRange,
  "apps/v1/Deployment": k8s.apps.v1.Deployment,
  "rbac.authorization.k8s.io/v1/ClusterRole": k8s.rbac.v1.ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": k8s.rbac.v1.Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": k8s.rbac.v1.RoleBinding,
  "networking.k8s.io/v1/NetworkPolicy": k8s.networking.v1.NetworkPolicy,
  "apiextensions.k8s.io/v1/CustomResourceDefinition": k8s.apiextensions.v1.CustomResourceDefinition,
  "policy/v1/PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
};

/**
 * A {@link KubeObject} as registered: its namespace and labels may be outputs
 * of other resources (a Namespace's name, a Tenant's id), so that the object
 * waits for them.
 */
export interface KubeObjectInput {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: pulumi.Input<string>;
    labels?: Record<string, pulumi.Input<string>>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** True for objects of an API group outside Kubernetes' own (they need a CRD first). */
export function isCustomObject(o: Pick<KubeObject, "apiVersion">): boolean {
  const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0]! : "";
  return group.includes(".") && !group.endsWith(".k8s.io");
}

/**
 * Annotation that makes the Kubernetes provider force its server-side apply:
 * an out-of-band edit (`kubectl patch` of a tenant's serviceAccountName) takes
 * the field from Pulumi's field manager, and without force the next
 * `pulumi up` stops on a field conflict instead of repairing the drift.
 */
const FORCE_APPLY: Readonly<Record<string, string>> = { "pulumi.com/patchForce": "true" };

/** `metadata` with {@link FORCE_APPLY} added to its annotations. */
export function forceApply<M extends object>(metadata: M): M & { annotations: Record<string, string> } {
  const existing = (metadata as { annotations?: Record<string, string> }).annotations ?? {};
  return { ...metadata, annotations: { ...existing, ...FORCE_APPLY } };
}

/**
 * Annotations that make the Kubernetes provider wait, on create and update,
 * until the object reports `Ready=True` for its current generation (Flux sets
 * the condition's observedGeneration), for at most `timeoutSeconds`; past it
 * the up fails on that object, named by its resource name.
 */
function untilReady(timeoutSeconds: number): Record<string, string> {
  return { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": String(timeoutSeconds) };
}

/** `object` with {@link untilReady} added to its annotations when `wait` is true. */
export function waitingForReady<O extends KubeObjectInput>(object: O, wait: boolean, timeoutSeconds: number): O {
  if (!wait) return object;
  return { ...object, metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, ...untilReady(timeoutSeconds) } } };
}

/** A stable, readable key for an object: `deployment-flux-system-source-controller`. */
export function objectKey(o: KubeObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}-` : "";
  return `${o.kind.toLowerCase()}-${ns}${o.metadata.name}`;
}

/**
 * Registers `object` with its typed class (built-in kinds) or as a
 * CustomResource, applied with {@link FORCE_APPLY}: Pulumi's state is the
 * source of truth for what it creates.
 */
export function kubeResource(name: string, object: KubeObjectInput, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  object = { ...object, metadata: forceApply(object.metadata) };
  const typed = BUILT_IN[`${object.apiVersion}/${object.kind}`];
  if (typed) return new typed(name, object as never, opts);
  if (!isCustomObject(object)) {
    throw new ManifestError(`${object.apiVersion} ${object.kind} "${object.metadata.name}" is a built-in kind ` +
      "this package does not map yet; add it to BUILT_IN in components/kube.ts");
  }
  return new k8s.apiextensions.CustomResource(name, object, opts);
}
