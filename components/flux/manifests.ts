import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { KubeObject, ManifestError } from "../shared";

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

/**
 * The label `flux install` puts on every object it generates, with the Flux
 * release tag. The release's own install.yaml does not carry it.
 */
export const VERSION_LABEL = "app.kubernetes.io/version";

/** What errors call manifests given as text without saying where they came from. */
export const DEFAULT_MANIFESTS_SOURCE = "install.yaml";

/** Where a Flux release publishes its all-in-one manifest. */
export function releaseManifestUrl(version: string): string {
  return `https://github.com/fluxcd/flux2/releases/download/${version}/install.yaml`;
}

const MIB = 1024 * 1024;

/** The largest install manifest accepted by default: 16 MiB (a release's install.yaml is 1-3 MiB). */
export const DEFAULT_MAX_MANIFEST_BYTES = 16 * MIB;

const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000];
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;
const OFFLINE_FIX = "set flux.manifests to a local copy of install.yaml for clusters without internet access";

/** How manifests are read from a URL or a file. Every field has a default. */
export interface ReadOptions {
  /** Directory relative file paths resolve against. Default: the working directory (the stack's). */
  readonly baseDir?: string;
  /** Largest manifest accepted, in bytes, from a URL or a file. Default {@link DEFAULT_MAX_MANIFEST_BYTES}. */
  readonly maxBytes?: number;
  /**
   * Delays before each retry of a download, in milliseconds; a download is
   * tried `retryDelaysMs.length + 1` times. Default `[500, 1000, 2000]`.
   * Retried: HTTP 5xx and 429, network errors, timeouts.
   */
  readonly retryDelaysMs?: readonly number[];
  /** Time one download attempt may take, redirects and body included, in milliseconds. Default 60 000. */
  readonly timeoutMs?: number;
  /** The `fetch` to download with. Default: the global one (tests inject their own). */
  readonly fetch?: typeof fetch;
}

/**
 * Reads the bytes of the Flux install manifest from a local file or a URL.
 * URLs must be `https`, or `http` to a loopback address (127.0.0.0/8, `::1`,
 * `localhost`); redirects are followed only to such URLs, never from https to
 * http. Downloads are retried with backoff; files and downloads are capped
 * in size. Errors name the URL without its query string or user info, which
 * can hold tokens.
 */
export async function readManifestBytes(source: string, options: ReadOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  if (URL_LIKE.test(source)) return download(parseSourceUrl(source), options, maxBytes);
  return readFileCapped(path.resolve(options.baseDir ?? process.cwd(), source), maxBytes);
}

/** A URL as messages show it: scheme, host and path, without user info, query or fragment (tokens live there). */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** True for hosts that never leave the machine: 127.0.0.0/8, `::1`, `localhost`. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function parseSourceUrl(source: string): URL {
  try {
    return new URL(source);
  } catch {
    const shown = source.replace(/[?#].*$/s, "").replace(/\/\/[^/]*@/, "//");
    throw new ManifestError(`flux.manifests ${JSON.stringify(shown)} is not a valid URL; give an https URL or a file path`);
  }
}

/** Why fetching `url` would be unsafe, or undefined. */
function schemeProblem(url: URL): string | undefined {
  // fetch refuses such URLs outright; say so instead of retrying a doomed request.
  if (url.username !== "" || url.password !== "") return "user info in a URL is not supported";
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:") {
    return isLoopbackHost(url.hostname) ? undefined : "plain http is allowed only to a loopback address (127.0.0.0/8, ::1, localhost)";
  }
  return `the ${url.protocol.slice(0, -1)} scheme is not supported`;
}

function downloadError(origin: string, reason: string, fix: string): ManifestError {
  return new ManifestError(`cannot download Flux manifests from ${origin}: ${reason}; ${fix}`);
}

type Attempt = { readonly bytes: Buffer } | { readonly retry: string };

async function download(url: URL, options: ReadOptions, maxBytes: number): Promise<Buffer> {
  const origin = displayUrl(url);
  const problem = schemeProblem(url);
  if (problem) {
    throw downloadError(origin, problem, url.username !== "" || url.password !== ""
      ? "download the file and set flux.manifests to it" : "use an https URL, or set flux.manifests to a local file");
  }
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  let reason = "";
  for (let attempt = 0; attempt <= delays.length; attempt++) {
    if (attempt > 0) await sleep(delays[attempt - 1]!);
    const outcome = await tryDownload(url, origin, options, maxBytes);
    if ("bytes" in outcome) return outcome.bytes;
    reason = outcome.retry;
  }
  throw downloadError(origin, `${reason} (${delays.length + 1} attempts)`, OFFLINE_FIX);
}

/** One attempt: follows redirects itself, so each hop's scheme is checked before it is contacted. */
async function tryDownload(url: URL, origin: string, options: ReadOptions, maxBytes: number): Promise<Attempt> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const get = options.fetch ?? fetch;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let response: Response;
    try {
      response = await get(current, { redirect: "manual", signal });
    } catch (err) {
      return { retry: networkReason(err, timeoutMs) };
    }
    if (REDIRECT_STATUSES.has(response.status)) {
      await response.body?.cancel();
      current = redirectTarget(current, response.headers.get("location"), origin);
      continue;
    }
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel();
      return { retry: `HTTP ${response.status}` };
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw downloadError(origin, `HTTP ${response.status}`, "check flux.version names a published release, or set flux.manifests to a local file");
    }
    try {
      return { bytes: await readCapped(response, maxBytes, origin) };
    } catch (err) {
      if (err instanceof ManifestError) throw err;
      return { retry: networkReason(err, timeoutMs) };
    }
  }
  throw downloadError(origin, `more than ${MAX_REDIRECTS} redirects`, "give the URL the redirects end at, or a local file");
}

function redirectTarget(from: URL, location: string | null, origin: string): URL {
  const fix = "give an https URL that stays on https, or a local file";
  if (!location) throw downloadError(origin, "a redirect without a Location header", fix);
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw downloadError(origin, "a redirect to an invalid URL", fix);
  }
  if (from.protocol === "https:" && to.protocol !== "https:") throw downloadError(origin, `it redirects from https to ${displayUrl(to)}`, fix);
  const problem = schemeProblem(to);
  if (problem) throw downloadError(origin, `it redirects to ${displayUrl(to)}, and ${problem}`, fix);
  return to;
}

/** The body, refused as soon as it (or its declared length) passes `maxBytes`. */
async function readCapped(response: Response, maxBytes: number, origin: string): Promise<Buffer> {
  const tooLarge = () => downloadError(origin, `the response is larger than ${formatBytes(maxBytes)}`,
    "a Flux install.yaml is 1-3 MiB: check that the URL names one");
  if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    total += chunk.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks);
}

/** A network failure as a message shows it: the error code only, never a server's text. */
function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: unknown; cause?: { code?: unknown } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return `no complete answer within ${timeoutMs} ms`;
  const code = e.cause?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? `network error ${code}` : "network error";
}

function readFileCapped(file: string, maxBytes: number): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ManifestError(`cannot read Flux manifests file ${file}` + (code ? ` (${code})` : "") +
      "; set flux.manifests to an existing install.yaml, or remove it to use the release URL");
  }
  // A device or FIFO (/dev/zero) reports no size and never ends.
  if (!stat.isFile()) throw new ManifestError(`Flux manifests file ${file} is not a regular file; set flux.manifests to an install.yaml`);
  if (stat.size > maxBytes) {
    throw new ManifestError(`Flux manifests file ${file} is larger than ${formatBytes(maxBytes)}; ` +
      "a Flux install.yaml is 1-3 MiB: check that flux.manifests names one");
  }
  return fs.readFileSync(file);
}

function formatBytes(n: number): string {
  return n % MIB === 0 ? `${n / MIB} MiB` : `${n} bytes`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Parses multi-document YAML into objects. Empty documents are skipped; a
 * document that is not a Kubernetes object is an error naming its position.
 * Errors give the document, line, column and the parser's error code, never
 * the text: the file may not be what it claims and can hold secrets.
 */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    const error = doc.errors[0];
    if (error) {
      const at = error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : "";
      throw new ManifestError(`${source}: document ${index + 1} is not valid YAML: ${error.code}${at}`);
    }
    const value = documentValue(doc, source, index);
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

/** The document as data; the library's message (which may quote an alias name) is not passed on. */
function documentValue(doc: { toJS(): unknown }, source: string, index: number): unknown {
  try {
    return doc.toJS();
  } catch (err) {
    const why = err instanceof ReferenceError ? "an alias that is unresolved or expands too far" : err instanceof Error ? err.name : "error";
    throw new ManifestError(`${source}: document ${index + 1} cannot be read as data (${why})`);
  }
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
  /** The file path, or the URL without query string or user info, for error messages. */
  readonly source: string;
  /** SHA-256 of the bytes read, lower-case hex: the value to pin with `sha256`. */
  readonly sha256: string;
}

/** What {@link loadFluxManifests} loads, and how. */
export interface LoadFluxManifestsOptions extends ReadOptions {
  /** Flux release tag, `vX.Y.Z`. */
  readonly version: string;
  /** Local file or URL of the install manifest. Default: the release's `install.yaml` URL. */
  readonly manifests?: string;
  /**
   * SHA-256 the manifest's bytes must have, 64 lower-case hex digits (as
   * `sha256sum` prints, and as the release's `flux_<X.Y.Z>_checksums.txt`
   * lists for install.yaml). Required for a file or mirror URL whose
   * objects carry no `app.kubernetes.io/version` label.
   */
  readonly sha256?: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Loads the install manifest of a Flux release: `manifests` (a local file or
 * URL) when given, else the release's `install.yaml`. Async, so call it before
 * constructing {@link FluxBootstrap}: components create resources synchronously.
 *
 * With `sha256` the bytes must hash to it. Without it, manifests from anywhere
 * but the release's own URL must say which release they are (the version
 * labels `flux install --export` writes); the release's install.yaml has
 * none, so a copy of it needs the pin. {@link renderFlux} then checks every
 * object and label against the release rules.
 */
export async function loadFluxManifests(options: LoadFluxManifestsOptions): Promise<LoadedManifests> {
  if (options.sha256 !== undefined) assertSha256Form(options.sha256);
  const releaseUrl = releaseManifestUrl(options.version);
  const given = options.manifests ?? releaseUrl;
  const source = URL_LIKE.test(given) ? displayUrl(parseSourceUrl(given)) : given;
  const bytes = await readManifestBytes(given, options);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (options.sha256 !== undefined) assertPinned(sha256, options.sha256, source);
  const text = decodeUtf8(bytes, source);
  if (options.sha256 === undefined && given !== releaseUrl && !parseManifests(text, source).some(hasVersionLabel)) {
    throw new ManifestError(`${source}: no object carries the ${VERSION_LABEL} label, so nothing says which Flux release it is ` +
      `(a release's install.yaml has none; \`flux install --export\` writes them); check its sha256, ${sha256}, against ` +
      `flux_${options.version.replace(/^v/, "")}_checksums.txt of Flux ${options.version}, then pin it with flux.manifestsSha256`);
  }
  return { text, source, sha256 };
}

/**
 * Throws unless the UTF-8 bytes of `text` hash to `sha256` (64 lower-case hex
 * digits): the pin for manifests handed over as text, as to {@link renderFlux}.
 */
export function assertManifestsPinned(text: string, sha256: string, source: string): void {
  assertSha256Form(sha256);
  assertPinned(createHash("sha256").update(text, "utf8").digest("hex"), sha256, source);
}

function assertSha256Form(sha256: string): void {
  // Not echoed: a mis-pasted value may be a token.
  if (!SHA256_HEX.test(sha256)) {
    throw new ManifestError("flux.manifestsSha256 is not a SHA-256 digest; give the 64 lower-case hex digits `sha256sum install.yaml` prints");
  }
}

function assertPinned(actual: string, expected: string, source: string): void {
  if (actual === expected) return;
  throw new ManifestError(`${source}: its sha256 is ${actual}, but flux.manifestsSha256 pins ${expected}; ` +
    "the manifests are not the ones pinned: find out why before you change the pin");
}

function hasVersionLabel(o: KubeObject): boolean {
  const labels = o.metadata.labels;
  return typeof labels === "object" && labels !== null && VERSION_LABEL in labels;
}

function decodeUtf8(bytes: Buffer, source: string): string {
  try {
    // The BOM stays in the text, so the text's UTF-8 bytes are the bytes pinned.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ManifestError(`${source}: is not UTF-8 text; set flux.manifests to a Flux install.yaml`);
  }
}
