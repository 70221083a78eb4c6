import { KubeObject } from "../shared";
import { applyArgPatches, lockdownArgPatches, ControllerArgPatch } from "./lockdown";
import {
  assertManifestsPinned,
  DEFAULT_COMPONENTS,
  EXTRA_COMPONENTS,
  parseManifests,
} from "./manifests";
import { generateComponents, GenerateOptions } from "./generate";
import { assertFluxRelease } from "./release";
import { appliedSyncKustomization, componentsFile, kustomizationFile, syncFile, SyncSpec, syncObjects } from "./repo-files";

/** Everything {@link renderFlux} needs: plain values only. */
export interface FluxRenderInput extends Pick<GenerateOptions, "registry" | "tolerations" | "networkPolicy"> {
  /** Flux release tag, `vX.Y.Z`. */
  readonly version: string;
  /** The release's `install.yaml` text. */
  readonly manifests: string;
  /** Where the manifests came from, for error messages. */
  readonly manifestsSource: string;
  /** SHA-256 the manifests' UTF-8 bytes must have, 64 lower-case hex digits. Default: not pinned. */
  readonly manifestsSha256?: string;
  /** Controllers beyond the default four. */
  readonly componentsExtra?: readonly string[];
  /** Apply the multi-tenancy lockdown. */
  readonly lockdown: boolean;
  /** Account tenant objects without `serviceAccountName` impersonate under lockdown. */
  readonly defaultServiceAccount: string;
  /** The sync source. */
  readonly sync: SyncSpec;
}

/** The rendered bootstrap: what Pulumi applies and what it commits, from one source. */
export interface FluxRender {
  /** Controllers, in the order written to the header. */
  readonly components: readonly string[];
  /** The objects Pulumi applies: the committed components with the lockdown patches applied. */
  readonly objects: readonly KubeObject[];
  /** The GitRepository and Kustomization `flux-system`, as applied (lockdown included). */
  readonly sync: readonly [KubeObject, KubeObject];
  /** The argument patches in force (empty without lockdown). */
  readonly argPatches: readonly ControllerArgPatch[];
  /** Repository files under `<path>/flux-system/`, by file name. */
  readonly files: { readonly "gotk-components.yaml": string; readonly "gotk-sync.yaml": string; readonly "kustomization.yaml": string };
}

/** Why a component list is not acceptable, or undefined. */
export function componentsProblem(extra: readonly string[]): string | undefined {
  const unknown = extra.filter((c) => !EXTRA_COMPONENTS.includes(c));
  if (unknown.length > 0) {
    return `unknown component ${unknown.map((c) => `"${c}"`).join(", ")}; the extras are ${EXTRA_COMPONENTS.join(", ")}`;
  }
  if (new Set(extra).size !== extra.length) return "lists a component twice";
  return undefined;
}

/**
 * Turns the release manifest and options into the objects to apply and the
 * files to commit. Pure: the component only wires the result to resources,
 * so every decision here is covered by plain unit tests. Throws a
 * {@link ManifestError} when the manifest holds anything a Flux release does
 * not ({@link assertFluxRelease}) or labels another release than `version`.
 */
export function renderFlux(input: FluxRenderInput): FluxRender {
  const components = [...DEFAULT_COMPONENTS, ...(input.componentsExtra ?? [])];
  if (input.manifestsSha256 !== undefined) assertManifestsPinned(input.manifests, input.manifestsSha256, input.manifestsSource);
  const parsed = parseManifests(input.manifests, input.manifestsSource);
  // Before selection and options: the whole manifest is untrusted input, and
  // the registry option would hide where the images came from.
  assertFluxRelease(parsed, { version: input.version, source: input.manifestsSource });
  const generated = generateComponents(input.manifests, { ...input, components, source: input.manifestsSource });
  const committed = generated.objects;
  const lockdownPatches = lockdownArgPatches(input.defaultServiceAccount);
  const argPatches = input.lockdown ? lockdownPatches : [];
  const [source, kustomization] = syncObjects(input.sync);
  return {
    components,
    objects: applyArgPatches(committed, argPatches),
    sync: [source, appliedSyncKustomization(kustomization, input.lockdown)],
    argPatches,
    files: {
      "gotk-components.yaml": componentsFile(input.version, components, generated.text),
      "gotk-sync.yaml": syncFile(input.sync),
      "kustomization.yaml": kustomizationFile(lockdownPatches, components, input.lockdown),
    },
  };
}
