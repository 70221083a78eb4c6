/**
 * Small, pure checks shared by the stack config parser and the components.
 * Each returns a problem sentence (or undefined) so callers can prefix where
 * the value came from: a config key, a tenant, or a component argument.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL_MAX = 63;

/** Namespaces that no tenant may claim: they hold the platform itself. */
export const RESERVED_NAMESPACES: readonly string[] = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "flux-system",
  "capsule-system",
];

/**
 * Why `value` is not a DNS-1123 label (Kubernetes' rule for namespace names and
 * most object names), or undefined when it is one.
 */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > DNS1123_LABEL_MAX) {
    return `"${value}" is ${value.length} characters; a DNS-1123 label has at most ${DNS1123_LABEL_MAX}`;
  }
  if (!DNS1123_LABEL.test(value)) {
    return `"${value}" is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)`;
  }
  return undefined;
}

/** Why `version` is not a Flux release tag like `v2.7.5`, or undefined. */
export function fluxVersionProblem(version: string): string | undefined {
  return /^v\d+\.\d+\.\d+$/.test(version)
    ? undefined
    : `"${version}" is not a Flux release tag; use the form vX.Y.Z, e.g. v2.7.5`;
}

/**
 * Why `path` cannot be a repository path for Flux files, or undefined.
 * Paths are relative to the repository root, without `..`.
 */
export function repoPathProblem(path: string): string | undefined {
  const trimmed = normaliseRepoPath(path);
  if (trimmed === "") return undefined;
  if (path.startsWith("/")) return `"${path}" must be relative to the repository root (no leading '/')`;
  if (trimmed.split("/").some((part) => part === ".." || part === "")) {
    return `"${path}" must not contain '..' or empty segments`;
  }
  return undefined;
}

/** `./clusters/dev/` -> `clusters/dev`; `./` -> `` (the repository root). */
export function normaliseRepoPath(path: string): string {
  return path.replace(/^\.\//, "").replace(/^\.$/, "").replace(/\/+$/, "");
}

/** Throws an Error listing every problem, or returns when there are none. */
export function assertNoProblems(problems: readonly string[], fail: (message: string) => Error): void {
  if (problems.length === 0) return;
  throw fail(problems.length === 1 ? problems[0]! : `${problems.length} problems:\n  - ${problems.join("\n  - ")}`);
}
