// The lab's scenario, written once for the isolation suite, the demo and the
// bench: `pulumi up` of a lab stack, then the lab's runner (lab/controllers/up.sh
// --only flux, lab/controllers/runner.ts), which runs Flux's source-controller
// and kustomize-controller from the Deployments that up applied, then every
// tenant Ready.
import { performance } from "node:perf_hooks";
import { controllers, fluxStatus, GITREPO, KS, readyTrue } from "./flux";
import { short, waitFor } from "./lab";
import { changes, LabStack } from "./stack";

/** How {@link bootstrap} runs. */
export interface BootstrapOptions {
  /**
   * Progress lines. Without it nothing is printed, `pulumi up`'s resource
   * lines included (the bench, which times the run).
   */
  readonly log?: (line: string) => void;
  /**
   * Only watch every tenant's Kustomization, all together, until Ready=True
   * (Flux at its own pace: the bench's time to Ready). Without it, flux-system's
   * GitRepository and Kustomization, then each tenant's, one at a time, each
   * asked to reconcile every 10 s until Ready=True (readyTrue).
   */
  readonly watch?: { readonly timeoutMs: number; readonly everyMs: number };
  /**
   * Leave Flux's CRDs as the up applied them (lab/controllers/up.sh
   * --keep-crds): a stack on another release than the lab's keeps its own.
   * Default: the lab applies its release's CRDs too.
   */
  readonly keepCrds?: boolean;
}

/** What {@link bootstrap} did. */
export interface Bootstrapped {
  /** The changes of `pulumi up`: `{create: 60}`. */
  readonly applied: Record<string, number>;
  /** `pulumi up`, ms. */
  readonly upMs: number;
  /** From `pulumi up` starting to every tenant Ready, ms. */
  readonly readyMs: number;
}

/**
 * `pulumi up` of `lab`, Flux's controllers run from the Deployments the up
 * applied, then Flux and every tenant of the stack Ready. Leaves the runner
 * and the controllers running (lab/client/flux.ts: stopFlux scales the
 * controllers to 0, stopRunner stops the runner).
 */
export async function bootstrap(lab: LabStack, o: BootstrapOptions): Promise<Bootstrapped> {
  const log = o.log ?? (() => undefined);
  const t0 = performance.now();
  const applied = changes(o.log ? await lab.up() : (await lab.stack.up({})).summary.resourceChanges ?? {});
  const upMs = performance.now() - t0;
  log(`pulumi up: ${JSON.stringify(applied)} in ${(upMs / 1000).toFixed(0)}s`);
  log("Flux controllers run by lab/controllers/runner.ts from the Deployments pulumi applied in flux-system");
  controllers("up.sh", ["--only", "flux", ...(o.keepCrds ? ["--keep-crds"] : [])]);
  const tenants = lab.tenants.map((t) => ({ name: t.name, home: t.namespaces[0]! }));
  if (o.watch) {
    await waitFor(`${tenants.length} tenant Kustomizations Ready`, () => {
      const notReady = tenants.filter((t) => fluxStatus(KS, t.name, t.home)?.ready?.status !== "True");
      return notReady.length === 0 ? true : undefined;
    }, o.watch.timeoutMs, o.watch.everyMs);
  } else {
    const src = await readyTrue(GITREPO, "flux-system", "flux-system");
    log(`GitRepository flux-system Ready (SSH, read-only key): ${short(src.ready?.message)}`);
    const sys = await readyTrue(KS, "flux-system", "flux-system");
    log(`Kustomization flux-system Ready: ${short(sys.ready?.message)}`);
    for (const t of tenants) {
      const s = await readyTrue(GITREPO, t.name, t.home);
      const k = await readyTrue(KS, t.name, t.home);
      log(`tenant ${t.name}: GitRepository ${short(s.ready?.message, 80)}; Kustomization ${short(k.ready?.message, 80)}`);
    }
  }
  const readyMs = performance.now() - t0;
  log(`pulumi up start -> all tenants Ready: ${(readyMs / 1000).toFixed(0)}s`);
  return { applied, upMs, readyMs };
}
