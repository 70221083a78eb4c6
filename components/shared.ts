/**
 * What several features share: the shape of a Kubernetes object as data, the
 * names they must agree on (Capsule's API, a Git SSH URL, key algorithms) and
 * the queue their GitHub writes join. Features import this module (and the
 * other modules at the root of components/), never each other's files.
 * Plain values and types only: nothing here loads a provider SDK.
 */
import * as pulumi from "@pulumi/pulumi";

/** A Kubernetes object as plain JSON data: parsed from a manifest or rendered by a feature. */
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

/**
 * A problem with what the user gave (stack config, a component's arguments,
 * Flux manifests), whose message says what, where and how to fix it.
 *
 * Pulumi treats it as a `RunError` (`pulumi.RunError.isInstance` is true: the
 * SDK's own marker, which it checks so that errors from another copy of the
 * SDK count too), so it prints the message without a stack trace; not a
 * subclass (`instanceof pulumi.RunError` is false), so the pure renders that
 * throw it load no SDK. And its `stack` holds no frames, only
 * `<name>: <message>`: Pulumi's runner formats every uncaught error with
 * `util.inspect(err, { colors: true })` for its OpenTelemetry trace
 * (`span.addEvent`), and Node releases whose stack highlighting lacks the
 * fix of nodejs/node#64011 (seen on 20.20.2) loop there for 15-30 s of CPU
 * before failing when a frame's path is `node_modules/@scope/file`, as
 * `@pulumi/pulumi`'s source maps give for its top-level modules
 * (`node_modules/@pulumi/resource.ts`).
 *
 * A subclass sets its own `name`. Do not give one a `cause`: `util.inspect`
 * would format the cause's frames.
 */
export class UserError extends Error {
  override readonly name: string = "UserError";

  constructor(message: string) {
    super(message);
    Object.defineProperty(this, "__pulumiRunError", { value: true });
    // A getter, as a subclass's `name` is set after this constructor returns;
    // assigning a stack replaces it.
    Object.defineProperty(this, "stack", {
      get: () => `${this.name}: ${this.message}`,
      set: (value: unknown) => Object.defineProperty(this, "stack", { value, writable: true, configurable: true }),
      configurable: true,
    });
  }
}

/** A manifest failed to load or does not hold what was asked of it. */
export class ManifestError extends UserError {
  override readonly name = "ManifestError";
}

/** Capsule's API version for Tenant and CapsuleConfiguration. */
export const CAPSULE_API = "capsule.clastix.io/v1beta2";

/** `ssh://git@github.com/acme/fleet` for host `github.com`, owner `acme`, repo `fleet`. */
export function sshRepoUrl(host: string, owner: string, repository: string): string {
  return `ssh://git@${host}/${owner}/${repository}`;
}

/**
 * The values of an `as const` object: how the package declares a choice of
 * strings as a type and an object at once, so that the SDKs generated from
 * `Platform`'s schema get an enum (`KeyAlgorithm.ECDSA_P384` in Python).
 */
export type EnumValue<T> = T[keyof T];

/** Key algorithms Flux can use for SSH: ECDSA P-384 (Flux's default) or ED25519. */
export const KeyAlgorithm = { EcdsaP384: "ecdsa-p384", Ed25519: "ed25519" } as const;
/** A key algorithm Flux can use for SSH. */
export type KeyAlgorithm = EnumValue<typeof KeyAlgorithm>;
/** The key algorithms, for validation. */
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = Object.values(KeyAlgorithm);

/** Options of {@link GitHubWriteQueue}. */
export interface GitHubWriteQueueOptions {
  /**
   * How many queued writes may wait on the provider at once: each waits for
   * the one `width` places before it. Default 4. Fewer than 2 leaves the
   * provider idle between writes while the engine records each one; more
   * than half of the engine's `--parallel` lets GitHub steps crowd out the
   * Kubernetes ones again.
   */
  readonly width?: number;
}

/**
 * Orders a stack's GitHub writes (deploy keys, committed files) in the
 * dependency graph, in the order they are queued, a few at a time.
 *
 * The GitHub provider sends its requests one at a time and, as GitHub asks of
 * bulk writers, waits `github:writeDelayMs` (1 s) after each write, so N
 * registrations take at least N seconds however the engine schedules them.
 * Left unordered they are all ready at once, and each waits for the provider
 * while holding one of the engine's resource slots (`--parallel`, 4 per core
 * by default): the slots fill with waiting GitHub steps and the Kubernetes
 * steps queue behind them. Queued, at most `width` GitHub steps wait at a
 * time, enough to keep the provider busy, and the Kubernetes work runs in the
 * other slots.
 *
 * Ordering is a plain `dependsOn`: no resource is replaced because one before
 * it changes, and removing one from the middle only re-links its neighbours.
 * Do not share a queue between stacks, and do not use one when the provider
 * runs requests in parallel (`github:parallelRequests`, GitHub Enterprise
 * Server only): then unordered writes are faster.
 */
export class GitHubWriteQueue {
  private readonly width: number;
  private readonly queued: pulumi.Resource[] = [];

  constructor(options: GitHubWriteQueueOptions = {}) {
    const width = options.width ?? 4;
    if (!Number.isInteger(width) || width < 1) {
      throw new UserError(`GitHubWriteQueue: width must be a whole number of at least 1, got ${width}`);
    }
    this.width = width;
  }

  /**
   * Creates a GitHub resource in the queue. `create` receives the `dependsOn`
   * the resource must have (the write `width` places before it, or nothing)
   * and must pass it on, merged with any dependencies of its own.
   */
  enqueue<R extends pulumi.Resource>(create: (after: pulumi.Resource[]) => R): R {
    const before = this.queued[this.queued.length - this.width];
    const resource = create(before ? [before] : []);
    this.queued.push(resource);
    return resource;
  }
}
