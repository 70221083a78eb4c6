import { KubeObject, ManifestError } from "../shared";
import { containersOf, podSpecOf } from "./manifests";

/**
 * One container argument appended to some controllers' Deployments. The same
 * list drives both the objects Pulumi applies and the JSON6902 patches
 * committed in `kustomization.yaml`, so Flux reconciling itself from Git
 * arrives at exactly the objects Pulumi applied, argument order included.
 */
export interface ControllerArgPatch {
  /** The argument, e.g. `--no-remote-bases=true`. */
  readonly arg: string;
  /** Controllers (Deployment names) that get it. */
  readonly controllers: readonly string[];
}

/** The service account the flux-system Kustomization runs as under lockdown (holds cluster-admin). */
export const PLATFORM_RECONCILER_SA = "kustomize-controller";

/**
 * The multi-tenancy lockdown flags of Flux's documentation:
 * no cross-namespace references, no remote bases, and impersonation of
 * `defaultServiceAccount` for tenant objects that name no account.
 */
export function lockdownArgPatches(defaultServiceAccount: string): ControllerArgPatch[] {
  return [
    {
      arg: "--no-cross-namespace-refs=true",
      controllers: [
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
        "image-reflector-controller",
        "image-automation-controller",
      ],
    },
    { arg: "--no-remote-bases=true", controllers: ["kustomize-controller"] },
    { arg: `--default-service-account=${defaultServiceAccount}`, controllers: ["kustomize-controller", "helm-controller"] },
  ];
}

/**
 * Appends each patch's argument to the first container of the matching
 * Deployments, patch by patch, as kustomize applies the committed patches.
 * Returns new objects; the input is not changed.
 */
export function applyArgPatches(objects: readonly KubeObject[], patches: readonly ControllerArgPatch[]): KubeObject[] {
  return objects.map((o) => {
    if (o.kind !== "Deployment") return o;
    const relevant = patches.filter((p) => p.controllers.includes(o.metadata.name));
    if (relevant.length === 0) return o;
    const copy = structuredClone(o);
    const container = containersOf(podSpecOf(copy))[0];
    if (!container) throw new ManifestError(`Deployment ${o.metadata.name} has no container to add lockdown arguments to`);
    const args = Array.isArray(container.args) ? (container.args as string[]) : [];
    container.args = [...args, ...relevant.map((p) => p.arg)];
    return copy;
  });
}

/** The controllers among `present` that a patch applies to. */
export function patchTargets(patch: ControllerArgPatch, present: readonly string[]): string[] {
  return patch.controllers.filter((c) => present.includes(c));
}
