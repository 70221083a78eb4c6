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
 * bytes. Idempotent: the CLI's own output given as `flux.manifests` comes
 * back unchanged. `npm run test:release` holds it to the `flux` CLI's output
 * for both lab releases.
 */
import { Document, isMap, isScalar, isSeq, parseAllDocuments, Scalar, stringify, YAMLMap, YAMLSeq } from "yaml";
import { DEFAULT_NETWORK_POLICY } from "../defaults";
import { KubeObject } from "../shared";
import { FLUX_NAMESPACE } from "../validation";
import { COMPONENT_LABEL, VERSION_LABEL } from "./manifests";

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

/** One replacement in a document's source: [start, end) becomes `text`. */
interface Edit { start: number; end: number; text: string }

/** `name` with the namespace suffix, once. */
function suffixed(name: string): string {
  const suffix = `-${FLUX_NAMESPACE}`;
  return name.endsWith(suffix) ? name : name + suffix;
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
 * Sets `key` of the block map to `block` (a value's YAML text, written after
 * `key:` for a scalar and on the next lines for a collection): its value is
 * replaced when present, or the entry is inserted where its key sorts, as
 * kustomize writes maps.
 */
function upsert(src: string, map: YAMLMap, key: string, value: unknown, edits: Edit[]): void {
  const items = map.items;
  const first = items[0]?.key as Scalar | undefined;
  if (!first?.range) throw new Error(`cannot place ${key}: the map has no entry to align with`);
  const indent = first.range[0] - lineStart(src, first.range[0]);
  const existing = items.find((p) => isScalar(p.key) && p.key.value === key);
  if (existing) {
    if (isScalar(existing.value) && existing.value.range && typeof value === "string") {
      if (existing.value.value !== value) edits.push({ start: existing.value.range[0], end: existing.value.range[1], text: scalarText(value) });
      return;
    }
    if (JSON.stringify((existing.value as { toJSON?: () => unknown })?.toJSON?.()) === JSON.stringify(value)) return;
    throw new Error(`cannot set ${key}: the release already has another value there`);
  }
  const entry = typeof value === "string"
    ? `${" ".repeat(indent)}${key}: ${scalarText(value)}\n`
    : `${" ".repeat(indent)}${key}:\n${indented(stringify(value, GO_YAML_STYLE), Array.isArray(value) ? indent : indent + 2)}`;
  const after = items.find((p) => isScalar(p.key) && String(p.key.value) > key);
  const at = after ? lineStart(src, (after.key as Scalar).range![0]) : nextLine(src, map.range![1]);
  edits.push({ start: at, end: at, text: entry });
}

/** The block map at `path` of the document, or undefined. */
function mapAt(doc: Document, path: readonly string[]): YAMLMap | undefined {
  const node = doc.getIn(path, true);
  return isMap(node) ? node : undefined;
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

/** The edits that make one release document what the CLI writes. */
function documentEdits(src: string, doc: Document, o: KubeObject, options: GenerateOptions, roles: ReadonlySet<string>): Edit[] {
  const edits: Edit[] = [];
  const where = `${o.kind} "${o.metadata.name}"`;
  const metadata = mapAt(doc, ["metadata"]);
  const labels = mapAt(doc, ["metadata", "labels"]);
  if (!metadata || !labels) throw new Error(`${where} has no metadata.labels`);
  upsert(src, labels, VERSION_LABEL, options.version, edits);
  if (SUFFIXED_KINDS.has(o.kind)) upsert(src, metadata, "name", suffixed(o.metadata.name), edits);
  const roleRef = o.roleRef as { kind?: string; name?: string } | undefined;
  if (o.kind === "ClusterRoleBinding" && roleRef?.kind === "ClusterRole" && roleRef.name !== undefined && roles.has(roleRef.name.replace(new RegExp(`-${FLUX_NAMESPACE}$`), ""))) {
    upsert(src, mapAt(doc, ["roleRef"])!, "name", suffixed(roleRef.name), edits);
  }
  if (o.kind !== "Deployment") return edits;
  const templateLabels = mapAt(doc, ["spec", "template", "metadata", "labels"]);
  const podSpec = mapAt(doc, ["spec", "template", "spec"]);
  if (!templateLabels || !podSpec) throw new Error(`${where} has no pod template labels or spec`);
  upsert(src, templateLabels, VERSION_LABEL, options.version, edits);
  const nodeSelector = mapAt(doc, ["spec", "template", "spec", "nodeSelector"]);
  if (nodeSelector) upsert(src, nodeSelector, "kubernetes.io/os", "linux", edits);
  else upsert(src, podSpec, "nodeSelector", { "kubernetes.io/os": "linux" }, edits);
  const args = doc.getIn(["spec", "template", "spec", "containers", 0, "args"], true);
  if (isSeq(args)) {
    for (const [i, value] of argReplacements(o.metadata.name, options.components)) {
      const item = args.items[i];
      if (isScalar(item) && item.range && item.value !== value) edits.push({ start: item.range[0], end: item.range[1], text: scalarText(value) });
    }
  }
  const image = doc.getIn(["spec", "template", "spec", "containers", 0, "image"], true);
  if (options.registry && isScalar(image) && image.range && String(image.value).startsWith(`${UPSTREAM_REGISTRY}/`)) {
    const registry = options.registry.replace(/\/+$/, "");
    edits.push({ start: image.range[0], end: image.range[1], text: scalarText(registry + String(image.value).slice(UPSTREAM_REGISTRY.length)) });
  }
  if (options.tolerations && options.tolerations.length > 0) {
    const existing = doc.getIn(["spec", "template", "spec", "tolerations"], true);
    if (isSeq(existing) && existing.range) {
      const first = (existing as YAMLSeq).items[0] as { range?: [number, number, number] } | undefined;
      const indent = first?.range ? first.range[0] - lineStart(src, first.range[0]) - 2 : 0;
      const at = nextLine(src, existing.range[1]);
      edits.push({ start: at, end: at, text: indented(stringify(options.tolerations, GO_YAML_STYLE), indent) });
    } else {
      upsert(src, podSpec, "tolerations", options.tolerations, edits);
    }
  }
  return edits;
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
  const docs = parseAllDocuments(manifests);
  if (!Array.isArray(docs)) throw new Error("the manifest is not a stream of YAML documents");
  const parsed: { doc: Document.Parsed; o: KubeObject }[] = [];
  for (const doc of docs) {
    const o = doc.toJS() as KubeObject | null;
    if (o !== null && typeof o === "object") parsed.push({ doc, o });
  }
  const wanted = new Set(options.components);
  const keepPolicies = options.networkPolicy ?? DEFAULT_NETWORK_POLICY;
  const rank = (o: KubeObject): number | undefined => {
    const component = o.metadata.labels?.[COMPONENT_LABEL];
    if (component !== undefined) return wanted.has(component) ? 3 + options.components.indexOf(component) : undefined;
    if (o.kind === "Namespace") return 0;
    if (o.kind === "NetworkPolicy") return keepPolicies ? 1 : undefined;
    return 2;
  };
  const roles = new Set(parsed.filter((d) => d.o.kind === "ClusterRole").map((d) => d.o.metadata.name.replace(new RegExp(`-${FLUX_NAMESPACE}$`), "")));
  const kept = parsed
    .map((d, i) => ({ ...d, i, r: rank(d.o) }))
    .filter((d): d is typeof d & { r: number } => d.r !== undefined)
    .sort((a, b) => a.r - b.r || a.i - b.i);
  const texts = kept.map(({ doc, o }) => {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const edits = documentEdits(manifests, doc, o, options, roles).map((e) => ({ ...e, start: e.start - start, end: e.end - start }));
    const body = applyEdits(manifests.slice(start, doc.range[2]), edits);
    return body.endsWith("\n") ? body : body + "\n";
  });
  const text = texts.join("---\n");
  return { text, objects: parseAllDocuments(text).map((d) => d.toJS() as KubeObject) };
}
