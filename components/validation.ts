/**
 * The trust boundary: one pure rule per kind of value, shared by the stack
 * config parser and the components' own argument checks, so a component used
 * from another program gets the same protection and the same messages.
 *
 * Each rule gives a value the rules of the system it reaches (GitHub's API
 * paths, git refs, the repository tree, SSH, an OCI registry, RBAC), not just
 * "non-empty". Each returns a problem sentence, or undefined, so callers can
 * prefix where the value came from: a config key, a tenant, or an argument.
 * No rule echoes more than the value it was given.
 */
import { createHmac } from "node:crypto";
import { isIPv6 } from "node:net";
import { UserError } from "./shared";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL_MAX = 63;

/** Flux's install namespace (also in every release's manifests). */
export const FLUX_NAMESPACE = "flux-system";

/** Capsule's install namespace. */
export const CAPSULE_NAMESPACE = "capsule-system";

/**
 * Namespaces that no tenant may claim: they hold the platform itself. Every
 * `kube-*` namespace is reserved too ({@link reservedNamespaceProblem}), and a
 * stack adds its cluster's own add-ons with `flux-capsule:reservedNamespaces`.
 */
export const RESERVED_NAMESPACES: readonly string[] = ["default", FLUX_NAMESPACE, CAPSULE_NAMESPACE];

/** The ServiceAccounts of Flux's controllers (each Deployment runs as the account of its name). */
export const FLUX_CONTROLLER_ACCOUNTS: readonly string[] = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
  "image-reflector-controller",
  "image-automation-controller",
  "source-watcher",
];

/**
 * Account names a tenant's reconciler must not take: `default` (every pod of
 * a namespace runs as it, and the lockdown impersonates it for objects that
 * name no account) and the accounts of Flux's and Capsule's controllers.
 */
export const RESERVED_ACCOUNTS: readonly string[] = ["default", ...FLUX_CONTROLLER_ACCOUNTS, "capsule"];

/**
 * Control characters (C0, DEL, C1) and the Unicode line and paragraph
 * separators never belong in a name, ref, path, title or host: Go's YAML
 * reader (kustomize, Flux) breaks lines at U+0085, U+2028 and U+2029, which
 * the committed files would carry unquoted.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL = CONTROL_CHARACTER;

/** A value as quoted in a message: JSON escapes make control characters visible and keep the message on one line. */
export function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(shown);
}

/**
 * Why `value` is not a DNS-1123 label (Kubernetes' rule for namespace names and
 * most object names), or undefined when it is one.
 */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > DNS1123_LABEL_MAX) {
    return `${quote(value)} is ${value.length} characters; a DNS-1123 label has at most ${DNS1123_LABEL_MAX}`;
  }
  if (!DNS1123_LABEL.test(value)) {
    return `${quote(value)} is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)`;
  }
  return undefined;
}

/**
 * Why `rotation` cannot name a deploy key's rotation (it becomes part of
 * resource names and of the key's title on GitHub), or undefined.
 */
export function rotationProblem(rotation: string): string | undefined {
  const label = dns1123LabelProblem(rotation);
  return label && `${label}; use a date (2026-12-02) or a counter (2)`;
}

/** Why `id` cannot be GitHub's id of a deploy key (a positive whole number), or undefined. */
export function deployKeyIdProblem(id: number): string | undefined {
  return Number.isSafeInteger(id) && id > 0
    ? undefined : `is ${id}; give GitHub's id of the deploy key, a positive whole number (\`gh api repos/<owner>/<repo>/keys\` lists them)`;
}

/** Why `seconds` cannot bound a wait for Ready: a whole number from 10 to 7200, or undefined. */
export function readyTimeoutProblem(seconds: number): string | undefined {
  return Number.isInteger(seconds) && seconds >= 10 && seconds <= 7200
    ? undefined : `is ${seconds}; give whole seconds from 10 to 7200`;
}

/** Why `version` is not a Flux release tag like `v2.7.5`, or undefined. */
export function fluxVersionProblem(version: string): string | undefined {
  return /^v\d+\.\d+\.\d+$/.test(version)
    ? undefined
    : `${quote(version)} is not a Flux release tag; use the form vX.Y.Z, e.g. v2.7.5`;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Why `version` is not a semantic version (a Helm chart version such as `0.14.0`), or undefined. */
export function semverProblem(version: string): string | undefined {
  return SEMVER.test(version) ? undefined : `${quote(version)} is not a semantic version; use the chart's version, e.g. 0.14.0`;
}

/**
 * Why `owner` is not a GitHub login (user or organisation): letters, digits
 * and single hyphens, not at either end, at most 39 characters. The value
 * becomes a segment of GitHub API paths, so nothing else may pass.
 */
export function githubOwnerProblem(owner: string): string | undefined {
  if (owner.length === 0) return "must not be empty";
  if (owner.length > 39 || !/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$/.test(owner)) {
    return `${quote(owner)} is not a GitHub user or organisation name (letters, digits and single hyphens, not at either end, at most 39 characters)`;
  }
  return undefined;
}

/**
 * Why `name` is not a GitHub repository name: letters, digits, `.`, `-` and
 * `_`, at most 100 characters, not `.` or `..` and not ending in `.git`
 * (GitHub strips it, so the key would land on another name). A `/` or a path
 * segment here would turn a deploy-key call into a call on another path.
 */
export function repositoryNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  const bad = name.length > 100 || !/^[A-Za-z0-9._-]+$/.test(name) || name === "." || name === ".." || /\.git$/i.test(name);
  if (bad) {
    return `${quote(name)} is not a GitHub repository name (letters, digits, '.', '-' and '_', at most 100 characters, ` +
      "not '.' or '..', no '/' and no '.git' suffix); give the name alone, without the owner";
  }
  return undefined;
}

/**
 * Why `branch` is not a branch name git accepts, or undefined: the rules of
 * `git check-ref-format --branch`, in printable ASCII only (no `..`, no component starting with `.` or
 * ending in `.lock`, no space, control character or `~^:?*[\`, no `@{`, no
 * empty component or trailing `/` or `.`, no leading `-`, not `HEAD`).
 */
export function branchProblem(branch: string): string | undefined {
  if (branch.length === 0) return "must not be empty";
  const why = refNameFault(branch);
  return why ? `${quote(branch)} is not a valid git branch name: ${why}` : undefined;
}

function refNameFault(ref: string): string | undefined {
  if (ref.startsWith("-")) return "it starts with '-'";
  if (ref === "HEAD") return "HEAD names the current commit, not a branch";
  if (Buffer.byteLength(ref) > 255) return "it is longer than 255 bytes";
  // eslint-disable-next-line no-control-regex -- git refuses exactly these bytes (C1 characters are valid UTF-8 to it)
  if (/[\u0000-\u001f\u007f]/.test(ref)) return "it contains a control character";
  // Stricter than git, which takes any UTF-8: a look-alike (Cyrillic 'а',
  // a zero-width space) would make an unprotected branch read as `main`.
  if (/[^\x20-\x7e]/.test(ref)) return "it has a character outside printable ASCII (look-alikes of other branch names)";
  if (/[ ~^:?*[\\]/.test(ref)) return "it contains a space or one of ~ ^ : ? * [ \\";
  if (ref.includes("..")) return "it contains '..'";
  if (ref.includes("@{")) return "it contains '@{'";
  if (ref.endsWith("/")) return "it ends with '/'";
  if (ref.endsWith(".")) return "it ends with '.'";
  for (const component of ref.split("/")) {
    if (component === "") return "it has an empty path component ('//' or a leading '/')";
    if (component.startsWith(".")) return "a path component starts with '.'";
    if (component.endsWith(".lock")) return "a path component ends with '.lock'";
  }
  return undefined;
}

/**
 * `path` cleaned exactly as `flux bootstrap` cleans `--path` (surrounding
 * space trimmed, `.` and empty segments dropped, a trailing `/` removed):
 * `./x`, `x/./y/` and `x//y` become `x` and `x/y`; the root is ``.
 * Call it only on a path {@link repoPathProblem} accepts.
 */
export function cleanRepoPath(path: string): string {
  return path.trim().split("/").filter((s) => s !== "" && s !== ".").join("/");
}

/** The `spec.path` Flux writes for a cleaned path: `./clusters/dev`, or `./` for the root. */
export function kustomizationPath(path: string): string {
  return `./${cleanRepoPath(path)}`;
}

/**
 * Why `path` cannot be a directory of the repository, or undefined. Relative
 * to the root, no `..` (Flux clamps it at the root silently; here it is
 * refused, because a path that climbs is a mistake or an attack), no `.git`
 * segment, no control character or backslash.
 */
export function repoPathProblem(path: string): string | undefined {
  if (CONTROL.test(path)) return `${quote(path)} contains a control character`;
  const trimmed = path.trim();
  if (trimmed.startsWith("/")) return `${quote(path)} must be relative to the repository root (no leading '/')`;
  if (trimmed.includes("\\")) return `${quote(path)} must use '/' between directories, not '\\'`;
  const segments = trimmed.split("/");
  if (segments.includes("..")) return `${quote(path)} must not contain '..'; give the directory from the repository root`;
  if (segments.some((s) => s.toLowerCase() === ".git")) return `${quote(path)} must not contain a '.git' segment`;
  return undefined;
}

/** An SSH `host[:port]`, parsed. */
interface SshHost {
  readonly host: string;
  readonly port?: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** `git.example.com:2222` -> `{host, port}`; undefined when it is not `host[:port]` (IPv6 as `[addr]`). */
function parseSshHost(value: string): SshHost | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return undefined;
  const host = m[1]!;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535 || m[2]!.startsWith("0"))) return undefined;
  if (host !== host.toLowerCase()) return undefined;
  const isIpv6 = host.startsWith("[") && isIPv6(host.slice(1, -1));
  // A numeric last label is not a name (`2130706433` is 127.0.0.1 in disguise).
  const isName = HOSTNAME.test(host) && !/(^|\.)\d+$/.test(host);
  if (!isIpv6 && !IPV4.test(host) && !isName) return undefined;
  return { host, port };
}

/** Why `value` is not an SSH `host[:port]`, or undefined. */
export function sshHostProblem(value: string): string | undefined {
  return parseSshHost(value)
    ? undefined
    : `${quote(value)} is not an SSH host: give host[:port] only, in lower case (e.g. github.example.com or 10.0.0.5:2222), no user, scheme or path`;
}

/** Key types OpenSSH writes in known_hosts. */
const HOST_KEY_TYPES: readonly string[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

/** How `ssh` looks a host up in known_hosts: `host`, or `[host]:port` off port 22. */
function knownHostsName(h: SshHost): string {
  return h.port === undefined || h.port === 22 ? h.host : `[${h.host}]:${h.port}`;
}

/**
 * OpenSSH's `*` and `?` patterns, case-insensitive, matched greedily with one
 * backtrack point (linear in practice): a regular expression built from the
 * pattern backtracks exponentially on `*a*a*a...`.
 */
function wildcardMatch(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const s = name.toLowerCase();
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (j < s.length) {
    if (i < p.length && (p[i] === "?" || p[i] === s[j])) {
      i++;
      j++;
    } else if (i < p.length && p[i] === "*") {
      star = i++;
      mark = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++mark;
    } else return false;
  }
  while (p[i] === "*") i++;
  return i === p.length;
}

/** Whether one known_hosts host field (comma-separated patterns, `!` negation, or one `|1|` hash) names `name`. */
function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (!salt || !hash) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    if (pattern.startsWith("!")) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) matched = true;
  }
  return matched;
}

/** How many length-prefixed fields each key type's blob holds (type name included). */
const KEY_BLOB_FIELDS: Readonly<Record<string, number>> = {
  "ssh-ed25519": 2,
  "ecdsa-sha2-nistp256": 3,
  "ecdsa-sha2-nistp384": 3,
  "ecdsa-sha2-nistp521": 3,
  "ssh-rsa": 3,
  "sk-ssh-ed25519@openssh.com": 3,
  "sk-ecdsa-sha2-nistp256@openssh.com": 4,
};

/**
 * The key type of an SSH public key blob when the blob is whole: its
 * length-prefixed fields fill it exactly, as many as the type has (a
 * truncated or padded key is refused). Undefined otherwise.
 */
function blobKeyType(base64: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  const blob = Buffer.from(base64, "base64");
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    if (at + 4 > blob.length) return undefined;
    const n = blob.readUInt32BE(at);
    if (n === 0 || at + 4 + n > blob.length) return undefined;
    fields.push(blob.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  const type = fields[0]?.toString("latin1");
  return type !== undefined && KEY_BLOB_FIELDS[type] === fields.length ? type : undefined;
}

/**
 * Every problem with a `known_hosts` text for `sshHost`: each line must be
 * `[marker] hosts keytype base64 [comment]` with a key whose blob names its
 * type, and some line that is not `@revoked` must cover the host, or Flux
 * would refuse the server later while `pulumi up` succeeded. Problems name
 * line numbers, not the lines.
 */
export function knownHostsProblems(text: string, sshHost?: string): string[] {
  const problems: string[] = [];
  const host = sshHost === undefined ? undefined : parseSshHost(sshHost);
  const name = host ? knownHostsName(host) : undefined;
  let covered = false;
  let entries = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `line ${i + 1}`;
    if (CONTROL.test(line.replace(/\t/g, " "))) {
      problems.push(`${where} contains a control character`);
      return;
    }
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith("@")) {
      marker = fields.shift();
      if (marker !== "@cert-authority" && marker !== "@revoked") {
        problems.push(`${where} has the marker ${quote(marker!)}; only @cert-authority and @revoked exist`);
        return;
      }
    }
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key) {
      problems.push(`${where} is not "hosts keytype base64-key" (as ssh-keyscan prints it)`);
      return;
    }
    if (!HOST_KEY_TYPES.includes(type)) {
      problems.push(`${where} has key type ${quote(type)}; expected one of ${HOST_KEY_TYPES.join(", ")}`);
      return;
    }
    if (blobKeyType(key) !== type) {
      problems.push(`${where} has a key that is not valid base64 of a ${type} public key`);
      return;
    }
    entries++;
    if (name && marker !== "@revoked" && hostFieldMatches(hosts, name)) covered = true;
  });
  if (entries === 0 && problems.length === 0) problems.push("holds no host keys; give the lines `ssh-keyscan <host>` prints, checked against the server's own record");
  else if (name && !covered && problems.length === 0) {
    problems.push(`has no key for ${name}, the host Flux connects to; add that host's keys (for a port other than 22, as [host]:port)`);
  }
  return problems;
}

/**
 * Problems with the Git server's `sshHost` and its `knownHosts` (each a plain
 * string, or it says so). Any host but
 * GitHub's needs its own keys: GitHub's would never verify it, so `pulumi up`
 * would succeed and Flux would fail on its first fetch.
 */
export function gitHostProblems(sshHost: unknown, knownHosts: unknown): FieldProblem[] {
  const given = new Problems().text("sshHost", sshHost, () => undefined).text("knownHosts", knownHosts, () => undefined);
  if (given.list.length > 0 || typeof sshHost !== "string") return given.list;
  if (knownHosts !== undefined && typeof knownHosts !== "string") return given.list;
  const problems = new Problems().add("sshHost", sshHostProblem(sshHost));
  const host = parseSshHost(sshHost);
  if (!host) return problems.list;
  if (knownHosts !== undefined) {
    for (const p of knownHostsProblems(knownHosts, sshHost)) problems.add("knownHosts", p);
  } else if (knownHostsName(host) !== "github.com") {
    problems.add("knownHosts", `is required with sshHost ${quote(sshHost)}: GitHub's host keys would never verify it, so ` +
      "`pulumi up` would succeed and Flux would fail to fetch; give that host's keys (from ssh-keyscan, checked against the server's own record)");
  }
  return problems.list;
}

const OCI_DOMAIN = /^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/;
const OCI_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Why `registry` is not an OCI repository prefix (`registry.example.com/fluxcd`,
 * `mirror.local:5000`): a registry host (with a dot or port, or `localhost`)
 * and lower-case path components, no scheme, tag or digest.
 */
export function registryProblem(registry: string): string | undefined {
  const [domain, ...path] = registry.split("/");
  const ok = OCI_DOMAIN.test(domain ?? "") && (domain!.includes(".") || domain!.includes(":") || domain!.startsWith("localhost")) &&
    path.every((c) => OCI_PATH_COMPONENT.test(c));
  return ok
    ? undefined
    : `${quote(registry)} is not an OCI repository prefix; give registry-host[:port]/path, e.g. registry.example.com/fluxcd, without scheme, tag or trailing '/'`;
}

/**
 * Why a tenant may not claim `namespace`: Kubernetes' own (`kube-*`), the
 * platform's ({@link RESERVED_NAMESPACES}), or one the stack reserves for the
 * cluster's add-ons.
 */
export function reservedNamespaceProblem(namespace: string, extra: readonly string[] = []): string | undefined {
  if (namespace.startsWith("kube-") || RESERVED_NAMESPACES.includes(namespace)) {
    return `${quote(namespace)} is reserved for the platform; give the tenant its own namespace`;
  }
  if (extra.includes(namespace)) {
    return `${quote(namespace)} is reserved by flux-capsule:reservedNamespaces (the cluster's own add-ons); give the tenant its own namespace`;
  }
  return undefined;
}

/** Why `account` may not be the lockdown's default account, given the tenants' reconciler accounts. */
export function defaultServiceAccountProblem(account: string, reconcilers: readonly string[]): string | undefined {
  const label = dns1123LabelProblem(account);
  if (label) return label;
  if (FLUX_CONTROLLER_ACCOUNTS.includes(account)) {
    return `${quote(account)} is a Flux controller's account, which holds cluster-admin: every tenant object without serviceAccountName ` +
      "would run with it; use an account without permissions (default)";
  }
  // A tenant named like a system account is refused as a tenant; saying it twice helps nobody.
  if (reconcilers.includes(account) && !RESERVED_ACCOUNTS.includes(account)) {
    return `${quote(account)} is tenant "${account}"'s reconciler account: every tenant object without serviceAccountName ` +
      "would run with that tenant's rights in its namespaces; use an account without permissions (default)";
  }
  return undefined;
}

const TOLERATION_FIELDS = ["key", "operator", "value", "effect", "tolerationSeconds"];

/**
 * Why `t` is not a Kubernetes toleration (`key`, `operator` Exists|Equal,
 * `value`, `effect` NoSchedule|PreferNoSchedule|NoExecute, whole
 * `tolerationSeconds`), or undefined. It lands in every controller's pod spec,
 * so nothing else may ride along with it.
 */
export function tolerationProblem(t: Readonly<Record<string, unknown>>): string | undefined {
  const unknown = Object.keys(t).filter((k) => !TOLERATION_FIELDS.includes(k));
  if (unknown.length > 0) return `has unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map(quote).join(", ")}; a toleration has ${TOLERATION_FIELDS.join(", ")}`;
  const str = (k: string) => t[k] === undefined || (typeof t[k] === "string" && !CONTROL.test(t[k]));
  if (!str("key") || !str("value")) return "key and value must be strings without control characters";
  if (t.operator !== undefined && t.operator !== "Exists" && t.operator !== "Equal") return `operator ${JSON.stringify(t.operator)} is not Exists or Equal`;
  if (t.effect !== undefined && !["NoSchedule", "PreferNoSchedule", "NoExecute"].includes(t.effect as string)) {
    return `effect ${JSON.stringify(t.effect)} is not NoSchedule, PreferNoSchedule or NoExecute`;
  }
  if (t.tolerationSeconds !== undefined && !Number.isInteger(t.tolerationSeconds)) return "tolerationSeconds must be a whole number";
  return undefined;
}

/** A problem with one field of a component's arguments or of the stack config. */
export interface FieldProblem {
  /** The field, as the argument or config key names it (`branch`, `namespaces[1]`); empty when the problem names its own source. */
  readonly field: string;
  /** What is wrong and how to fix it. */
  readonly problem: string;
}

/** Collects `field problem` pairs, skipping undefined problems. */
export class Problems {
  readonly list: FieldProblem[] = [];

  /** Adds `problem` for `field` when it is defined. */
  add(field: string, problem: string | undefined): this {
    if (problem !== undefined) this.list.push({ field, problem });
    return this;
  }

  /** Runs `rule` on `value` when the value is given. */
  check<T>(field: string, value: T | undefined, rule: (v: T) => string | undefined): this {
    return value === undefined ? this : this.add(field, rule(value));
  }

  /**
   * Runs `rule` on a text value: it must be a plain string, known before
   * anything is created (an Output would be checked only once resources
   * exist, or not at all). Skipped when undefined and not `required`.
   */
  text(field: string, value: unknown, rule: (v: string) => string | undefined, required = false): this {
    if (value === undefined) return required ? this.add(field, "is required") : this;
    if (typeof value !== "string") return this.add(field, "must be a plain string, known before anything is created (not an Output or a promise)");
    return this.add(field, rule(value));
  }
}

/** `field problem`, joined as components report them: `branch "a..b" is not ...`. */
export function describe(problems: readonly FieldProblem[]): string[] {
  return problems.map((p) => (p.field ? `${p.field} ${p.problem}` : p.problem));
}

/**
 * The error a component throws for bad arguments, listing every problem. It is
 * thrown before the component registers, so nothing reaches the engine; as a
 * {@link UserError}, Pulumi prints it without a stack trace.
 */
export class ArgumentError extends UserError {
  override readonly name = "ArgumentError";

  constructor(component: string, name: string, problems: readonly FieldProblem[]) {
    const lines = describe(problems);
    super(lines.length === 1
      ? `${component} "${name}": ${lines[0]}`
      : `${component} "${name}": ${lines.length} problems:\n  - ${lines.join("\n  - ")}`);
  }
}

/**
 * What a component throws when its render fails: a {@link UserError} (what the
 * user gave, e.g. manifests) as an {@link ArgumentError} naming the
 * component; anything else, a bug, unchanged, with its stack.
 */
export function argumentErrorOf(component: string, name: string, err: unknown): unknown {
  return err instanceof UserError ? new ArgumentError(component, name, [{ field: "", problem: err.message }]) : err;
}

/** Throws {@link ArgumentError} when there are problems. */
export function assertValidArgs(component: string, name: string, problems: readonly FieldProblem[]): void {
  if (problems.length > 0) throw new ArgumentError(component, name, problems);
}
