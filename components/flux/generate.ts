/**
 * `gotk-components.yaml` as the `flux` CLI generates it (`flux bootstrap`,
 * `flux install --export`), from a release's `install.yaml`.
 *
 * The release's `install.yaml` and what `flux bootstrap` commits are two
 * kustomize builds of the same bases. The CLI's build (flux2
 * `pkg/manifestgen/install`, unchanged across v2 releases) suffixes the
 * shared RBAC with the namespace, labels every object and pod template with
 * the version, pins the controllers to Linux nodes, sets their first
 * arguments explicitly, and lists its resources in its own order. Committing
 * those bytes is what lets a later `flux bootstrap` over the same repository
 * commit nothing, and a cluster `flux bootstrap` made be adopted without
 * renaming its RBAC.
 *
 * The edit is lossless: the release's text is kept as kustomize wrote it
 * (its quoting and line folding are what the CLI's kustomize writes too) and
 * only the few values above are changed or inserted in place. The objects
 * Pulumi applies are parsed back from the result, so they are the committed
 * bytes, and the text is parsed back and compared with the edits' values
 * object by object: a layout the edit did not foresee is refused, never
 * applied. Idempotent: the CLI's own output given as `flux.manifests` comes
 * back unchanged. `npm run test:release` holds it to the output of the `flux`
 * CLI the lab builds (v2.9.5).
 */
import { isDeepStrictEqual } from "node:util";
import { Document, isMap, isScalar, parseAllDocuments, Scalar, stringify, visit } from "yaml";
import { DEFAULT_NETWORK_POLICY } from "../defaults";
import { KubeObject, ManifestError } from "../shared";
import { FLUX_NAMESPACE } from "../validation";
import { COMPONENT_LABEL, DEFAULT_MANIFESTS_SOURCE, selectComponents, VERSION_LABEL } from "./manifests";

/** The controller that receives events; its address is every other controller's `--events-addr`. */
const NOTIFICATION_CONTROLLER = "notification-controller";

/** The cluster DNS domain the CLI defaults to (`--cluster-domain`). */
const CLUSTER_DOMAIN = "cluster.local";

/** The registry of the release's images; `registry` replaces it. */
const UPSTREAM_REGISTRY = "ghcr.io/fluxcd";

/** The kinds of the shared RBAC (`manifests/rbac`), which the CLI builds with `nameSuffix: -<namespace>`. */
const SUFFIXED_KINDS: ReadonlySet<string> = new Set(["ResourceQuota", "ClusterRole", "ClusterRoleBinding"]);

/** YAML as kustomize and sigs.k8s.io/yaml write it: no wrapping here, sequences not indented under their key. */
export const GO_YAML_STYLE = { lineWidth: 0, indentSeq: false } as const;

/** What the generation depends on: the release, the controllers and the component options. */
export interface GenerateOptions {
  /** Flux release tag, `vX.Y.Z`. */
  readonly version: string;
  /** Controllers, in the order they are listed (the default four, then the extras). */
  readonly components: readonly string[];
  /** Where the manifest came from, for errors. Default `install.yaml`. */
  readonly source?: string;
  /** Registry that replaces `ghcr.io/fluxcd` in controller images (air-gapped mirrors). */
  readonly registry?: string;
  /** Tolerations added to every controller pod. */
  readonly tolerations?: readonly Record<string, unknown>[];
  /** Keep Flux's NetworkPolicies. Default true ({@link DEFAULT_NETWORK_POLICY}). */
  readonly networkPolicy?: boolean;
}

/** The generated components: the documents' text (kustomize's separators, no header) and the objects parsed back from it. */
export interface GeneratedComponents {
  readonly text: string;
  readonly objects: KubeObject[];
}

/**
 * One replacement in a document's source: [start, end) becomes `text`; and
 * what it does to the object as data (`value` set at `path`), which the
 * result is checked against.
 */
interface Edit { start: number; end: number; text: string; path: readonly (string | number)[]; value: unknown }

/** A release the edit cannot rewrite as the CLI would. */
function refuse(where: string, why: string): never {
  throw new ManifestError(`${where}: ${why}; use a Flux release's install.yaml as it is published (kustomize's block style, no anchors)`);
}

/** `name` with the namespace suffix, once. */
function suffixed(name: string): string {
  return name.endsWith(`-${FLUX_NAMESPACE}`) ? name : `${name}-${FLUX_NAMESPACE}`;
}

/** `name` without the namespace suffix. */
function unsuffixed(name: string): string {
  return name.endsWith(`-${FLUX_NAMESPACE}`) ? name.slice(0, -FLUX_NAMESPACE.length - 1) : name;
}

/** A plain value as YAML writes it on one line (quoted only when it must be). */
function scalarText(value: string): string {
  return stringify(value, GO_YAML_STYLE).trimEnd();
}

/** Where the line holding `offset` starts. */
function lineStart(src: string, offset: number): number {
  return src.lastIndexOf("\n", offset - 1) + 1;
}

/** Where the line after the one holding `offset - 1` starts (the end of a node that stops mid-line). */
function nextLine(src: string, offset: number): number {
  if (offset > 0 && src[offset - 1] === "\n") return offset;
  const nl = src.indexOf("\n", offset);
  return nl < 0 ? src.length : nl + 1;
}

/** `lines` (YAML text) indented by `indent` spaces. */
function indented(lines: string, indent: number): string {
  const pad = " ".repeat(indent);
  return lines.trimEnd().split("\n").map((l) => pad + l).join("\n") + "\n";
}

/**
 * Sets `key` of the block map at `path` to `value` (a string, or a
 * collection written on the lines below the key): a scalar is replaced in
 * place, an absent entry is inserted where its key sorts, as kustomize writes
 * maps; a collection already there must hold `value` already.
 */
function upsert(src: string, doc: Document, where: string, path: readonly string[], key: string, value: unknown, edits: Edit[]): void {
  const map = doc.getIn(path, true);
  if (!isMap(map) || map.flow || !map.range) refuse(where, `${path.join(".")} is not a block map`);
  const first = map.items[0]?.key;
  if (!isScalar(first) || !first.range) refuse(where, `${path.join(".")} has no entry to align with`);
  const indent = first.range[0] - lineStart(src, first.range[0]);
  const at = [...path, key];
  const existing = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (existing) {
    if (isScalar(existing.value) && existing.value.range && typeof value === "string") {
      if (existing.value.value !== value) edits.push({ start: existing.value.range[0], end: existing.value.range[1], text: scalarText(value), path: at, value });
      return;
    }
    if (isDeepStrictEqual((existing.value as { toJSON?: () => unknown } | null)?.toJSON?.(), value)) return;
    refuse(where, `${at.join(".")} already holds another value`);
  }
  const entry = typeof value === "string"
    ? `${" ".repeat(indent)}${key}: ${scalarText(value)}\n`
    : `${" ".repeat(indent)}${key}:\n${indented(stringify(value, GO_YAML_STYLE), Array.isArray(value) ? indent : indent + 2)}`;
  const after = map.items.find((p) => isScalar(p.key) && String(p.key.value) > key);
  const offset = after ? lineStart(src, (after.key as Scalar).range![0]) : nextLine(src, map.range[1]);
  edits.push({ start: offset, end: offset, text: entry, path: at, value });
}

/** Replaces the scalar at `path` with `value` (when it is one and differs). */
function replaceScalar(doc: Document, path: readonly (string | number)[], value: string, edits: Edit[]): void {
  const node = doc.getIn(path, true);
  if (isScalar(node) && node.range && node.value !== value) edits.push({ start: node.range[0], end: node.range[1], text: scalarText(value), path, value });
}

/** The arguments the CLI's kustomization replaces, by index, for one controller. */
function argReplacements(component: string, components: readonly string[]): Map<number, string> {
  if (component === NOTIFICATION_CONTROLLER) {
    return new Map([[0, "--watch-all-namespaces=true"], [1, "--log-level=info"]]);
  }
  const eventsAddr = components.includes(NOTIFICATION_CONTROLLER)
    ? `http://${NOTIFICATION_CONTROLLER}.$(RUNTIME_NAMESPACE).svc.${CLUSTER_DOMAIN}./`
    : "";
  const args = new Map([[0, `--events-addr=${eventsAddr}`], [1, "--watch-all-namespaces=true"], [2, "--log-level=info"]]);
  if (component === "source-controller" || component === "source-watcher") {
    args.set(6, `--storage-adv-addr=${component}.$(RUNTIME_NAMESPACE).svc.${CLUSTER_DOMAIN}.`);
  }
  return args;
}

const POD = ["spec", "template", "spec"] as const;
const CONTAINER = [...POD, "containers", 0] as const;

/** The edits that make one release document what the CLI writes. */
function documentEdits(src: string, doc: Document, o: KubeObject, options: GenerateOptions, roles: ReadonlySet<string>): Edit[] {
  const edits: Edit[] = [];
  const where = `${o.kind} "${o.metadata.name}"`;
  let aliased = false;
  visit(doc, { Alias: () => { aliased = true; return visit.BREAK; } });
  if (aliased) refuse(where, "it uses a YAML alias, which would carry an edit to every place it is used");
  upsert(src, doc, where, ["metadata", "labels"], VERSION_LABEL, options.version, edits);
  if (SUFFIXED_KINDS.has(o.kind)) upsert(src, doc, where, ["metadata"], "name", suffixed(o.metadata.name), edits);
  const roleRef = o.roleRef as { kind?: string; name?: string } | undefined;
  if (o.kind === "ClusterRoleBinding" && roleRef?.kind === "ClusterRole" && roleRef.name !== undefined && roles.has(unsuffixed(roleRef.name))) {
    upsert(src, doc, where, ["roleRef"], "name", suffixed(roleRef.name), edits);
  }
  if (o.kind !== "Deployment") return edits;
  upsert(src, doc, where, ["spec", "template", "metadata", "labels"], VERSION_LABEL, options.version, edits);
  if (doc.hasIn([...POD, "nodeSelector"])) upsert(src, doc, where, [...POD, "nodeSelector"], "kubernetes.io/os", "linux", edits);
  else upsert(src, doc, where, [...POD], "nodeSelector", { "kubernetes.io/os": "linux" }, edits);
  for (const [i, value] of argReplacements(o.metadata.name, options.components)) replaceScalar(doc, [...CONTAINER, "args", i], value, edits);
  const image = doc.getIn([...CONTAINER, "image"]);
  if (options.registry && typeof image === "string" && image.startsWith(`${UPSTREAM_REGISTRY}/`)) {
    replaceScalar(doc, [...CONTAINER, "image"], options.registry.replace(/\/+$/, "") + image.slice(UPSTREAM_REGISTRY.length), edits);
  }
  // As the CLI's node-selector patch: the list is the options' (a release sets none).
  if (options.tolerations && options.tolerations.length > 0) upsert(src, doc, where, [...POD], "tolerations", options.tolerations, edits);
  return edits;
}

/** `o` with the edits' values set at their paths, as plain data: what the edited text must parse to. */
function edited(o: KubeObject, edits: readonly Edit[]): unknown {
  const copy = structuredClone(o) as Record<string | number, unknown>;
  for (const e of edits) {
    let at = copy;
    for (const k of e.path.slice(0, -1)) at = (at[k] ??= {}) as Record<string | number, unknown>;
    at[e.path[e.path.length - 1]!] = structuredClone(e.value);
  }
  return copy;
}

/** `src` with the edits applied (none may overlap). */
function applyEdits(src: string, edits: readonly Edit[]): string {
  let out = src;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * The release manifest (already checked: parseManifests, assertFluxRelease)
 * as the CLI generates it for `options.components`: the Namespace, the
 * NetworkPolicies, the shared RBAC, then each controller's objects in
 * component order, each in the release's order within its group.
 */
export function generateComponents(manifests: string, options: GenerateOptions): GeneratedComponents {
  // An insertion at the very end needs the last line to be ended.
  const src = manifests.endsWith("\n") ? manifests : `${manifests}\n`;
  const parsed: { doc: Document.Parsed; o: KubeObject }[] = [];
  for (const doc of parseAllDocuments(src)) {
    const o = doc.toJS() as KubeObject | null;
    if (o !== null && typeof o === "object") parsed.push({ doc, o });
  }
  // The controllers' objects and the shared ones (selectComponents names a controller the release lacks).
  const selected = new Set(selectComponents(parsed.map((d) => d.o), options.components, options.source ?? DEFAULT_MANIFESTS_SOURCE));
  const keepPolicies = options.networkPolicy ?? DEFAULT_NETWORK_POLICY;
  const rank = (o: KubeObject): number | undefined => {
    if (!selected.has(o)) return undefined;
    const component = o.metadata.labels?.[COMPONENT_LABEL];
    if (component !== undefined) return 3 + options.components.indexOf(component);
    if (o.kind === "Namespace") return 0;
    if (o.kind === "NetworkPolicy") return keepPolicies ? 1 : undefined;
    return 2;
  };
  const roles = new Set(parsed.filter((d) => d.o.kind === "ClusterRole").map((d) => unsuffixed(d.o.metadata.name)));
  const kept = parsed
    .map((d, i) => ({ ...d, i, r: rank(d.o) }))
    .filter((d): d is typeof d & { r: number } => d.r !== undefined)
    .sort((a, b) => a.r - b.r || a.i - b.i);
  const texts: string[] = [];
  const expected: unknown[] = [];
  for (const { doc, o } of kept) {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const edits = documentEdits(src, doc, o, options, roles);
    const body = applyEdits(src.slice(start, doc.range[2]), edits.map((e) => ({ ...e, start: e.start - start, end: e.end - start })));
    texts.push(body.endsWith("\n") ? body : body + "\n");
    expected.push(edited(o, edits));
  }
  const text = texts.join("---\n");
  // The text must say exactly what was meant, object by object: a layout
  // the edit did not foresee fails here, not in the cluster.
  const reparsed = parseAllDocuments(text);
  const objects = reparsed.map((d, i) => {
    if (d.errors.length > 0) refuse(`document ${i + 1} of the generated components`, `the edit left invalid YAML (${d.errors[0]!.code})`);
    return d.toJS() as KubeObject;
  });
  if (objects.length !== expected.length) refuse("the generated components", `${objects.length} documents where ${expected.length} were meant`);
  objects.forEach((obj, i) => {
    if (!isDeepStrictEqual(obj, expected[i])) refuse(`${kept[i]!.o.kind} "${kept[i]!.o.metadata.name}"`, "its text could not be edited into the object meant (an unforeseen layout)");
  });
  return { text, objects };
}
