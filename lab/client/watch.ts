// The tenants' view of a day-two change: while a scenario runs, a watcher
// samples every tenant Kustomization's Ready condition and every
// GitRepository's fetch result once a second, and asks source-controller to
// fetch every few seconds, so a key GitHub no longer accepts shows up as an
// error within the scenario rather than at the next interval.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GITREPO, KS } from "./flux";
import { CONTEXT, KUBECONFIG } from "./lab";

const run = promisify(execFile);

/**
 * A tenant as the watcher knows it: its Kustomization and GitRepository are
 * `name` in `home`, or, during a rename, any of `formerNames` (the tenant is
 * served while one of them is Ready).
 */
export interface WatchedTenant { readonly name: string; readonly home: string; readonly formerNames?: readonly string[] }

/** What a watcher saw between start and stop. */
export interface WatchReport {
  /** Samples taken (about one a second). */
  readonly samples: number;
  /**
   * Seconds each tenant's Kustomization was seen failed (Ready=False) or
   * gone, by tenant. Ready=Unknown is Flux reconciling a new revision, which
   * any commit causes while the last one stays applied: counted apart.
   */
  readonly notReadySeconds: Readonly<Record<string, number>>;
  /** Seconds each tenant's Kustomization was seen reconciling (Ready=Unknown), by tenant. */
  readonly reconcilingSeconds: Readonly<Record<string, number>>;
  /** Samples in which a GitRepository (a tenant's or flux-system) failed to fetch for want of authentication. */
  readonly authErrors: number;
  /** The distinct failure messages seen (`<Kind> <namespace>/<name>: <message>`), and why the first unreadable sample failed. */
  readonly messages: readonly string[];
  /** Samples that could not be read (kubectl failed); why the first of them failed is in {@link messages}. */
  readonly unreadable: number;
}

/**
 * Fails unless the watcher saw what it reports on: at least one sample, and
 * at most one in ten that kubectl could not read (a transient API error is
 * not the tenants'; a watcher that mostly read nothing vouches for nothing).
 * Zero seconds not Ready means nothing from a watcher that read nothing.
 */
export function assertWatched(report: WatchReport, what: string): void {
  assert.ok(report.samples > 0, `${what}: the watcher took no sample`);
  assert.ok(report.unreadable * 10 <= report.samples,
    `${what}: ${report.unreadable} of the watcher's samples could not be read, against ${report.samples} read: ${report.messages.join(" | ")}`);
}

interface FluxObject {
  kind: string;
  metadata: { name: string; namespace: string };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/** An SSH or HTTP authentication failure, as source-controller reports it. */
const AUTH_FAILURE = /unable to authenticate|permission denied|publickey|authentication required|handshake failed|authorization failed/i;

/**
 * Samples the tenants' Flux objects every `everyMs` until {@link stop}. One
 * kubectl call per sample (both kinds, all namespaces), never two at once;
 * every `pokeEveryMs` it requests a reconcile of every GitRepository, as
 * `flux reconcile source git` does.
 */
export class TenantWatch {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private lastPoke = 0;
  private samples = 0;
  private unreadable = 0;
  private authErrors = 0;
  private readonly notReady = new Map<string, number>();
  private readonly reconciling = new Map<string, number>();
  private readonly messages = new Set<string>();

  constructor(private readonly tenants: readonly WatchedTenant[], private readonly everyMs = 1000, private readonly pokeEveryMs = 5000) {}

  /** Starts sampling. */
  start(): this {
    this.timer = setInterval(() => void this.sample(), this.everyMs);
    return this;
  }

  /** Stops sampling (after the sample in flight, if any) and reports. */
  async stop(): Promise<WatchReport> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
    return {
      samples: this.samples,
      notReadySeconds: Object.fromEntries(this.tenants.map((t) => [t.name, this.notReady.get(t.name) ?? 0])),
      reconcilingSeconds: Object.fromEntries(this.tenants.map((t) => [t.name, this.reconciling.get(t.name) ?? 0])),
      authErrors: this.authErrors,
      messages: [...this.messages],
      unreadable: this.unreadable,
    };
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const kubectl = (args: string[]) => run("kubectl", ["--context", CONTEXT, ...args], { env: { ...process.env, KUBECONFIG }, maxBuffer: 64 << 20 });
      if (Date.now() - this.lastPoke >= this.pokeEveryMs) {
        this.lastPoke = Date.now();
        await kubectl(["annotate", GITREPO, "--all", "-A", "--overwrite", `reconcile.fluxcd.io/requestedAt=${new Date().toISOString()}`]).catch(() => undefined);
      }
      const out = await kubectl(["get", `${KS},${GITREPO}`, "-A", "-o", "json"]);
      const items = (JSON.parse(out.stdout) as { items: FluxObject[] }).items;
      this.samples++;
      let auth = false;
      for (const o of items) {
        const ready = o.status?.conditions?.find((c) => c.type === "Ready");
        const where = `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
        if (ready?.status === "False" && ready.message) this.messages.add(`${where}: ${ready.message.replace(/\s+/g, " ").slice(0, 200)}`);
        if (o.kind === "GitRepository" && ready?.status === "False" && AUTH_FAILURE.test(ready.message ?? "")) auth = true;
      }
      if (auth) this.authErrors++;
      for (const t of this.tenants) {
        const names = [t.name, ...(t.formerNames ?? [])];
        const states = items.filter((o) => o.kind === "Kustomization" && names.includes(o.metadata.name) && o.metadata.namespace === t.home)
          .map((ks) => ks.status?.conditions?.find((c) => c.type === "Ready")?.status);
        const counter = states.includes("True") ? undefined : states.includes("Unknown") ? this.reconciling : this.notReady;
        counter?.set(t.name, (counter.get(t.name) ?? 0) + this.everyMs / 1000);
      }
    } catch (e) {
      if (this.unreadable++ === 0) this.messages.add(`unreadable sample: ${(e as Error).message.replace(/\s+/g, " ").slice(0, 200)}`);
    } finally {
      this.busy = false;
    }
  }
}
