import * as pulumi from "@pulumi/pulumi";

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
      throw new Error(`GitHubWriteQueue: width must be a whole number of at least 1, got ${width}`);
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
