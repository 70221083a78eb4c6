/**
 * How the release rules read an object and name what they find: field
 * shapes and allowlists, text the two YAML implementations disagree on, and
 * the wording of every message (values quoted, never control characters).
 */
import { KubeObject } from "../../shared";

// ---------------------------------------------------------------------------
// Shapes: which fields an object may have at all.

/** Any value: harmless (a port number, a memory limit), or judged by a rule of its own. */
export const FREE = null;

/**
 * The fields an object may have: a map from field to the shape of its value,
 * a one-element array for a list whose items have that shape, or
 * {@link FREE}.
 */
export type Shape = null | { readonly [field: string]: Shape } | readonly [Shape];

/** Values allowed for a label or annotation; `FREE` for any (the version label has its own rule, `versionProblems` in index.ts). */
type Allowed = readonly string[] | typeof FREE;
export type Allowlist = Readonly<Record<string, Allowed>>;

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

export function yamlTextProblems(o: KubeObject): string[] {
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
export function unknownFields(value: unknown, shape: Shape, path: string): string[] {
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
export function keyValueProblems(o: KubeObject, what: string, entries: unknown, allowed: Allowlist): string[] {
  return Object.entries(record(entries)).filter(([key]) => isPlainKey(key)).flatMap(([key, value]) => {
    if (!Object.hasOwn(allowed, key)) return [`${describe(o)} carries ${what} ${show(key)}, which no Flux release puts there`];
    const values = allowed[key];
    if (values === FREE || values === undefined || (typeof value === "string" && values.includes(value))) return [];
    return [`${describe(o)} carries ${what} ${show(key)} ${show(value)}; a release gives it ${alternatives(values)}`];
  });
}

// ---------------------------------------------------------------------------
// Values compared, and named in messages.

/** A problem when `actual`, at `path`, is none of the values a release has there. */
export function exactProblems(o: KubeObject, path: string, actual: unknown, allowed: readonly unknown[]): string[] {
  return allowed.some((value) => sameValue(actual, value)) ? [] :
    [`${describe(o)} sets ${path} to ${show(actual)}; a release has ${alternatives(allowed)}`];
}

/** `"a" or "b"`; an absent value is "none". */
function alternatives(values: readonly unknown[]): string {
  return values.map((v) => v === undefined ? "none" : show(v)).join(" or ");
}

/** Equal as JSON data, whatever the order of object keys. */
export function sameValue(a: unknown, b: unknown): boolean {
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
export function fieldPath(parent: string, key: string): string {
  if (UNSAFE_TEXT.test(key)) return `${parent}[?]`;
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${show(key)}]`;
}

/** `Deployment "flux-system/source-controller"`: the object as messages name it. */
export function describe(o: KubeObject): string {
  return named(o.kind, o.metadata.namespace, o.metadata.name);
}

/** `ServiceAccount "default/attacker"`, `User "mallory"`: a binding's subject as messages name it. */
export function describeSubject(s: Record<string, unknown>): string {
  return named(s.kind, s.namespace, s.name);
}

/** `Kind "namespace/name"`, or `Kind "name"` without a namespace; a kind that is not a plain word is quoted. */
export function named(kind: unknown, namespace: unknown, name: unknown): string {
  const shownKind = typeof kind === "string" && /^[A-Za-z][A-Za-z0-9]{0,62}$/.test(kind) ? kind : show(kind);
  return `${shownKind} ${show(typeof namespace === "string" ? `${namespace}/${String(name)}` : name)}`;
}

/**
 * A manifest value as quoted in a message: a string in JSON quotes, other
 * values as JSON; long values are cut. A value holding a line break or
 * control character is not shown at all ({@link yamlTextProblems} names
 * where it is): it could forge lines of the message or of a log.
 */
export function show(value: unknown): string {
  if (value === undefined) return "(none)";
  if (hasUnsafeText(value)) return "(text with control characters, not shown)";
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  const cut = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return typeof value === "string" ? JSON.stringify(cut) : cut;
}

/** `value` as an object's fields; {} when it is not an object. */
export function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** `value` as a list; [] when it is not one. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
