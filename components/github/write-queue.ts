import * as pulumi from "@pulumi/pulumi";

/**
 * Puts a stack's GitHub writes (deploy keys, committed files) one after
 * another in the dependency graph, in the order they are queued.
 *
 * The GitHub provider already sends its requests one at a time and, as GitHub
 * asks of bulk writers, waits `github:writeDelayMs` (1 s) after each write, so
 * N registrations take about N seconds however the engine schedules them.
 * Left unordered they are all ready at once, and each waits for the provider
 * while holding one of the engine's resource slots (`--parallel`, 4 per core
 * by default): the slots fill with waiting GitHub steps and the Kubernetes
 * steps queue behind them. Queued, at most one GitHub step waits at a time
 * and the Kubernetes work runs alongside; the GitHub work takes as long as before.
 *
 * Ordering is a plain `dependsOn`: no resource is replaced because the one
 * before it changes, and removing one from the middle only re-links its
 * neighbours. Do not share a queue between stacks, and do not use one when
 * the provider runs requests in parallel (`github:parallelRequests`, GitHub
 * Enterprise Server only): then unordered writes are faster.
 */
export class GitHubWriteQueue {
  private last: pulumi.Resource | undefined;

  /**
   * Creates a GitHub resource after the last one queued and makes it the last.
   * `create` receives the `dependsOn` the resource must have (empty for the
   * first) and must pass it on, merged with any dependencies of its own.
   */
  enqueue<R extends pulumi.Resource>(create: (after: pulumi.Resource[]) => R): R {
    const resource = create(this.last ? [this.last] : []);
    this.last = resource;
    return resource;
  }
}
