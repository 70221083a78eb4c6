import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";

/** A Kubernetes object as parsed from a manifest: plain JSON data. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** The controllers `flux install` deploys by default. */
export const DEFAULT_COMPONENTS: readonly string[] = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
];

/** The controllers that are only deployed on request (`componentsExtra`). */
export const EXTRA_COMPONENTS: readonly string[] = ["image-reflector-controller", "image-automation-controller"];

/** The label Flux's release manifests put on every controller-specific object. */
export const COMPONENT_LABEL = "app.kubernetes.io/component";

/** The namespace Flux's release manifests install into. */
export const FLUX_NAMESPACE = "flux-system";

/** Where a Flux release publishes its all-in-one manifest. */
export function releaseManifestUrl(version: string): string {
  return `https://github.com/fluxcd/flux2/releases/download/${version}/install.yaml`;
}

/** A manifest failed to load or does not hold what was asked of it. */
export class ManifestError extends Error {
  override readonly name = "ManifestError";
}

/**
 * Reads the Flux install manifest text from a local file or an http(s) URL.
 * Relative file paths resolve against `baseDir` (the stack's directory).
 */
export async function readManifestSource(source: string, baseDir: string = process.cwd()): Promise<string> {
  if (/^https?:\/\//.test(source)) {
    let response: Response;
    try {
      response = await fetch(source, { redirect: "follow", signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      throw new ManifestError(`cannot download Flux manifests from ${source}: ${(err as Error).message}; ` +
        "set flux.manifests to a local copy of install.yaml for clusters without internet access");
    }
    if (!response.ok) {
      throw new ManifestError(`cannot download Flux manifests from ${source}: HTTP ${response.status}; ` +
        "check flux.version names a published release, or set flux.manifests to a local file");
    }
    return response.text();
  }
  const file = path.resolve(baseDir, source);
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ManifestError(`cannot read Flux manifests file ${file}` + (code ? ` (${code})` : "") +
      "; set flux.manifests to an existing install.yaml, or remove it to use the release URL");
  }
}

/**
 * Parses multi-document YAML into objects. Empty documents are skipped; a
 * document that is not a Kubernetes object is an error naming its position.
 */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new ManifestError(`${source}: document ${index + 1} is not valid YAML: ${doc.errors[0]!.message}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isKubeObject(value)) {
      throw new ManifestError(`${source}: document ${index + 1} is not a Kubernetes object ` +
        "(it needs apiVersion, kind and metadata.name)");
    }
    objects.push(value);
  });
  if (objects.length === 0) throw new ManifestError(`${source}: holds no Kubernetes objects`);
  return objects;
}

function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  const metadata = v.metadata as Record<string, unknown> | undefined;
  return typeof v.apiVersion === "string" && typeof v.kind === "string" &&
    typeof metadata === "object" && metadata !== null && typeof metadata.name === "string";
}

/**
 * Keeps the shared objects (no component label) and those of the requested
 * controllers, and fails when a requested controller has no Deployment.
 */
export function selectComponents(objects: readonly KubeObject[], components: readonly string[], source: string): KubeObject[] {
  const wanted = new Set(components);
  const selected = objects.filter((o) => {
    const component = o.metadata.labels?.[COMPONENT_LABEL];
    return component === undefined || wanted.has(component);
  });
  const deployed = new Set(selected.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name));
  const missing = components.filter((c) => !deployed.has(c));
  if (missing.length > 0) {
    throw new ManifestError(`${source}: has no Deployment for ${missing.join(", ")}; ` +
      "use the install.yaml of a Flux release that ships it, or drop it from flux.componentsExtra");
  }
  return selected;
}

/** Options baked into the committed `gotk-components.yaml`, as `flux bootstrap` does. */
export interface ComponentOptions {
  /** Registry that replaces `ghcr.io/fluxcd` in controller images (air-gapped mirrors). */
  readonly registry?: string;
  /** Tolerations added to every controller pod. */
  readonly tolerations?: readonly Record<string, unknown>[];
  /** Keep Flux's NetworkPolicies. Default true. */
  readonly networkPolicy?: boolean;
}

const UPSTREAM_REGISTRY = "ghcr.io/fluxcd";

/** Applies the component options; returns new objects, the input is not changed. */
export function applyComponentOptions(objects: readonly KubeObject[], options: ComponentOptions): KubeObject[] {
  return objects
    .filter((o) => options.networkPolicy !== false || o.kind !== "NetworkPolicy")
    .map((o) => {
      if (o.kind !== "Deployment") return o;
      const copy = structuredClone(o);
      const podSpec = podSpecOf(copy);
      if (options.registry) {
        const registry = options.registry.replace(/\/+$/, "");
        for (const container of containersOf(podSpec)) {
          if (typeof container.image === "string" && container.image.startsWith(`${UPSTREAM_REGISTRY}/`)) {
            container.image = registry + container.image.slice(UPSTREAM_REGISTRY.length);
          }
        }
      }
      if (options.tolerations && options.tolerations.length > 0) {
        const existing = Array.isArray(podSpec.tolerations) ? podSpec.tolerations : [];
        podSpec.tolerations = [...existing, ...structuredClone(options.tolerations)];
      }
      return copy;
    });
}

/** The pod spec of a Deployment, created empty when missing. */
export function podSpecOf(deployment: KubeObject): Record<string, unknown> {
  const spec = (deployment.spec ??= {}) as Record<string, unknown>;
  const template = (spec.template ??= {}) as Record<string, unknown>;
  return (template.spec ??= {}) as Record<string, unknown>;
}

/** The containers of a pod spec (never undefined). */
export function containersOf(podSpec: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(podSpec.containers) ? (podSpec.containers as Record<string, unknown>[]) : [];
}

/** True for CustomResourceDefinitions, which must exist before their objects. */
export function isCrd(o: KubeObject): boolean {
  return o.kind === "CustomResourceDefinition" && o.apiVersion.startsWith("apiextensions.k8s.io/");
}

/** The install manifest text and where it came from. */
export interface LoadedManifests {
  /** The multi-document YAML. */
  readonly text: string;
  /** The URL or file path, for error messages. */
  readonly source: string;
}

/**
 * Loads the install manifest of a Flux release: `manifests` (a local file or
 * URL) when given, else the release's `install.yaml`. Async, so call it before
 * constructing {@link FluxBootstrap}: components create resources synchronously.
 */
export async function loadFluxManifests(options: { version: string; manifests?: string; baseDir?: string }): Promise<LoadedManifests> {
  const source = options.manifests ?? releaseManifestUrl(options.version);
  return { text: await readManifestSource(source, options.baseDir), source };
}
