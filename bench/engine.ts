// Engine rows of `npm run bench`: the real `pulumi up` of the stack program
// against the lab, side by side with `kubectl` applying exactly the same
// Kubernetes objects, in the same run, on the same lab.
//
// For each N (BENCH_ENGINE_TENANTS, default 1,10,50; namespace mode, one
// namespace and one repository per tenant), RUNS times, the order of the two
// alternating between runs so both see the same load:
//   pulumi   `pulumi up` from an empty cluster (Automation API, file backend),
//            then a no-op `pulumi preview --refresh`, then `destroy`;
//   kubectl  `kubectl apply --server-side` of the objects Pulumi applied
//            (read from the stack's own state after its first up: the checked
//            inputs of every kubernetes:* resource), CRDs and namespaces
//            first, waiting for the CRDs to be Established and the Flux
//            Deployments Available as the provider does; then a no-op
//            `kubectl diff --server-side`; then delete.
// Pulumi also creates the deploy keys and commits the Flux files on the
// GitHub double: kubectl has no part of that work, so the ratio is against a
// floor that does less. Pulumi runs as the shipped workflows run it: the
// program loaded transpile-only, `npm test` having type-checked it.
//
// Where the time goes (largest N): phases from the engine's events (start-up
// to the first resource, the resource steps, the tail to exit), step time per
// resource type, the GitHub double's own request time, and `up` variants that
// each remove one cost: no checkpoint writes during the update
// (PULUMI_SKIP_CHECKPOINTS), GitHub writes not paced (github:writeDelayMs),
// more operations at once (PULUMI_PARALLEL), or one added back: the program
// type-checked as it loads; and, given BENCH_BEFORE=<commit>,
// the stack program of that commit (a git worktree sharing node_modules) on
// the same stack, for a fix's before and after in one run. Each up is
// followed by a `pulumi destroy` with the default settings, timed: it
// differs between variants only where their programs (so their states'
// dependencies) differ, as with BENCH_BEFORE.
//
// Time to tenants Ready (BENCH_READY_TENANTS, default 10): from `pulumi up`
// starting to every tenant's Kustomization Ready=True with Flux's
// controllers running (started from the manifests the up committed), the
// tenants' repositories each holding one ConfigMap.
//
// The peer (BENCH_PEER_TENANTS, default 1,10,50; one run each): what our
// users do without us, `flux bootstrap git` over SSH into a repository of the
// same double, then for each tenant a key made with ssh-keygen and
// registered read-only, `flux create tenant`, `flux create source git` and
// `flux create kustomization` (each waiting for Ready, as the CLI does),
// against the time to every tenant Ready of `pulumi up` of the same tenants
// (namespace mode, as the CLI's tenants are).
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { GitHubDouble, OWNER, startDouble } from "../lab/client/github";
import { bootstrap } from "../lab/client/bootstrap";
import { Branch, controllerRunning, dropFluxFinalizers, fluxCli, stopFlux, stopRunner } from "../lab/client/flux";
import { doubleSshUrl, fluxBootstrapGit, fluxCreateTenant, newKeyFile } from "../lab/client/peer";
import { getObject, KUBECONFIG, kubectl, ROOT, sharedTempDir, useLab, waitFor } from "../lab/client/lab";
import { changes, engineEnv, LabStack, LabStackOptions, PLATFORM_REPO, TenantSpec } from "../lab/client/stack";

const TOKEN = "bench-token";

/** Median, min and max. */
export type Stats = { median: number; min: number; max: number };

/** What the engine rows measured, ready to print. */
interface EngineReport {
  /** Markdown: the tables, or why the rows were skipped. */
  markdown: string;
  skipped: boolean;
  /** Sections that failed (each also said in the markdown); the rows before them stand. */
  failures: string[];
}

/** Settings of one engine bench run. */
interface EngineOptions {
  sizes: number[];
  runs: number;
  /** Runs for one N, when not `runs` (BENCH_ENGINE_RUNS_<N>). */
  runsFor?: (n: number) => number | undefined;
  /** Tenants for the time to Ready; 0 skips it. */
  readyTenants: number;
  readyRuns: number;
  /** Tenant counts of the peer rows (flux CLI against pulumi up); empty skips them. */
  peerSizes: number[];
  /** Runs of each `up` variant at the largest N; 0 skips them. */
  variantRuns: number;
  /** Which variants besides "as shipped": writeDelay, skipCheckpoints, parallel, typeCheck. */
  variants: string[];
  /** A git commit whose stack program runs as one more variant, "before" (BENCH_BEFORE). */
  before?: string;
  stats: (values: number[]) => Stats;
  log: (line: string) => void;
}

const sec = (ms: number) => (ms / 1000).toFixed(1);
const fmt = (s: Stats) => `${sec(s.median)} (${sec(s.min)}–${sec(s.max)})`;

/** Why the lab cannot be used now, or undefined when it can. */
function labUnavailable(): string | undefined {
  if (!fs.existsSync(KUBECONFIG)) return `no lab (no ${KUBECONFIG}); start it with \`npm run lab:up\``;
  const r = spawnSync("kubectl", ["--kubeconfig", KUBECONFIG, "get", "--raw", "/readyz"], { encoding: "utf8" });
  if (r.error) return `no kubectl on PATH (${r.error.message}); \`npm run lab:up\` builds the toolchain`;
  if (r.status !== 0) return `the lab's apiserver is not ready (${r.stderr.trim()})`;
  return undefined;
}

const tenantName = (i: number) => `bench-t${String(i + 1).padStart(3, "0")}`;

function tenantsOf(n: number): TenantSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: tenantName(i), namespaces: [`${tenantName(i)}-apps`], repository: `${tenantName(i)}-fleet`, branch: "main", path: "./",
  }));
}

/** Every namespace a stack of `n` tenants makes, flux-system included. */
const namespacesOf = (n: number) => ["flux-system", ...tenantsOf(n).map((t) => t.namespaces[0]!)];

/** Throws unless Flux applied each tenant's repository (its one object, the ConfigMap `app`). */
function assertAppliedByFlux(tenants: readonly TenantSpec[]): void {
  for (const t of tenants) {
    if (!getObject("configmap", "app", t.namespaces[0]!)) throw new Error(`${t.namespaces[0]}/app was not applied by Flux`);
  }
}

function mustSucceed(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, KUBECONFIG }, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * Waits until none of the namespaces and none of the stack's CRDs exist
 * (teardown finished). Only the stack's own CRDs: lab/controllers/up.sh
 * applies the controllers' CRDs too, some the install.yaml lacks, and leaves them.
 * `thenDelete`, if given, runs once the namespaces are gone, or their wait
 * has failed (kubectlDelete deletes the CRDs there). Logs `what` (the
 * teardown so far, with its time) and how long each wait took.
 */
async function waitClean(what: string, namespaces: string[], crds: readonly string[], log: (line: string) => void,
  thenDelete?: () => void): Promise<void> {
  const t0 = performance.now();
  let t1 = t0;
  try {
    await waitFor("namespaces gone", () => {
      const r = kubectl(["get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}"]);
      const live = new Set(r.stdout.split(/\s+/));
      return namespaces.some((n) => live.has(n)) ? undefined : true;
    }, 300_000, 500);
  } finally {
    t1 = performance.now();
    thenDelete?.();
  }
  await waitFor("the stack's CRDs gone", () => {
    const live = new Set(kubectl(["get", "crd", "-o", "jsonpath={.items[*].metadata.name}"]).stdout.split(/\s+/));
    return crds.some((c) => live.has(c)) ? undefined : true;
  }, 300_000, 500); // a CRD goes once the API server has deleted all its objects: seen to take over 2 minutes
  // Teardown is not in any row, but it is most of a small run's time: said, so a slow one shows.
  log(`teardown, ${what}; then namespaces gone ${sec(t1 - t0)} s, CRDs gone ${sec(performance.now() - t1)} s more`);
}

// ------------------------------------------------------------- the objects

/** A Kubernetes object as kubectl takes it. */
type KObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>;

/** The export's form of a secret value (`--show-secrets`): a signature key and the value as JSON. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A state value with every secret replaced by its plaintext value. */
function revealed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revealed);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (SECRET_SIG in o) {
    if (typeof o.plaintext !== "string") throw new Error("a secret in the state export has no plaintext (was --show-secrets ignored?)");
    return revealed(JSON.parse(o.plaintext));
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revealed(x)]));
}

/**
 * The objects a stack applied: the checked inputs of its kubernetes:*
 * resources, secrets revealed (`pulumi stack export --show-secrets`).
 */
function appliedObjects(lab: LabStack): KObject[] {
  const out = execFileSync("pulumi", ["stack", "export", "--show-secrets", "--stack", lab.options.name], {
    cwd: ROOT, encoding: "utf8", env: { ...process.env, ...engineEnv(lab.options.stateDir) }, maxBuffer: 256 << 20,
  });
  const resources = (JSON.parse(out) as { deployment: { resources?: { type: string; custom?: boolean; inputs?: Record<string, unknown> }[] } })
    .deployment.resources ?? [];
  const objects: KObject[] = [];
  for (const r of resources) {
    if (!r.custom || !r.type.startsWith("kubernetes:") || r.type.startsWith("pulumi:providers:")) continue;
    const obj = revealed(Object.fromEntries(Object.entries(r.inputs ?? {}).filter(([k]) => !k.startsWith("__")))) as KObject;
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error(`state resource ${r.type} has no apiVersion/kind/name in its inputs`);
    objects.push(obj);
  }
  return objects;
}

/**
 * The objects as two files: CRDs and namespaces, then the rest (after the
 * CRDs are Established); with the CRDs' and the namespaces' names.
 */
function writeManifests(objects: KObject[], dir: string): { first: string; rest: string; crds: string[]; namespaces: string[]; count: number } {
  const isFirst = (o: KObject) => o.kind === "CustomResourceDefinition" || o.kind === "Namespace";
  const yaml = (os: KObject[]) => os.map((o) => JSON.stringify(o)).join("\n---\n") + "\n";
  fs.mkdirSync(dir, { recursive: true });
  const first = path.join(dir, "first.yaml");
  const rest = path.join(dir, "rest.yaml");
  fs.writeFileSync(first, yaml(objects.filter(isFirst)));
  fs.writeFileSync(rest, yaml(objects.filter((o) => !isFirst(o))));
  const names = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
  return { first, rest, crds: names("CustomResourceDefinition"), namespaces: names("Namespace"), count: objects.length };
}

// ---------------------------------------------------------------- the runs

interface Timed { ms: number }
interface UpRun extends Timed { created: number; events: { at: number; event: EngineEvent }[]; github: { calls: number; ms: number } }

async function pulumiUp(lab: LabStack, double: GitHubDouble, expectCreates: number | undefined): Promise<UpRun> {
  const events: { at: number; event: EngineEvent }[] = [];
  const before = double.requests.length;
  const t0 = performance.now();
  const r = await lab.stack.up({ onEvent: (event) => events.push({ at: performance.now() - t0, event }) });
  const ms = performance.now() - t0;
  const created = r.summary.resourceChanges?.create ?? 0;
  if (expectCreates !== undefined && created !== expectCreates) {
    throw new Error(`pulumi up created ${created} resources, expected ${expectCreates}: ${JSON.stringify(r.summary.resourceChanges)}`);
  }
  const calls = double.requests.slice(before);
  return { ms, created, events, github: { calls: calls.length, ms: calls.reduce((s, c) => s + c.ms, 0) } };
}

async function pulumiNoopPreview(lab: LabStack): Promise<Timed> {
  const t0 = performance.now();
  const r = await lab.stack.preview({ refresh: true, diff: false });
  const ms = performance.now() - t0;
  const changed = changes(r.changeSummary);
  if (Object.keys(changed).length > 0) throw new Error(`no-op preview --refresh showed changes: ${JSON.stringify(changed)}`);
  return { ms };
}

/** `pulumi destroy`, then waits until its namespaces and CRDs are gone; the destroy's own time. */
async function pulumiDestroy(lab: LabStack, n: number, crds: readonly string[], log: (line: string) => void): Promise<Timed> {
  const t0 = performance.now();
  await lab.stack.destroy({});
  const ms = performance.now() - t0;
  await waitClean(`N=${n}: pulumi destroy ${sec(ms)} s`, namespacesOf(n), crds, log);
  return { ms };
}

function kubectlApply(m: ReturnType<typeof writeManifests>): Timed {
  const t0 = performance.now();
  mustSucceed("kubectl", ["apply", "--server-side", "--field-manager=bench-kubectl", "-f", m.first]);
  mustSucceed("kubectl", ["wait", "--for=condition=Established", "--timeout=120s", ...m.crds.map((c) => `crd/${c}`)]);
  mustSucceed("kubectl", ["apply", "--server-side", "--field-manager=bench-kubectl", "-f", m.rest]);
  mustSucceed("kubectl", ["wait", "--for=condition=Available", "--timeout=120s", "deployment", "--all", "-n", "flux-system"]);
  return { ms: performance.now() - t0 };
}

function kubectlNoopDiff(m: ReturnType<typeof writeManifests>): Timed {
  const t0 = performance.now();
  const r = spawnSync("kubectl", ["diff", "--server-side", "--field-manager=bench-kubectl", "-f", m.first, "-f", m.rest],
    { encoding: "utf8", env: { ...process.env, KUBECONFIG }, maxBuffer: 256 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`kubectl diff --server-side found differences or failed (${r.status}): ${(r.stdout + r.stderr).slice(0, 2000)}`);
  return { ms };
}

/**
 * Deletes what kubectlApply applied: the objects and the namespaces, and the
 * CRDs only once the namespaces are gone. Deleting the CRDs with the
 * namespaces (one `kubectl delete` of first.yaml) stalled the teardown in
 * about one in six: the API server's CRD cleanup met "storage is
 * (re)initializing" for a CRD whose storage the namespace deletion had just
 * started, and that CRD went about 190-240 s later (README, "Deleting CRDs").
 * If the namespaces do not go, the CRDs are deleted all the same.
 */
async function kubectlDelete(m: ReturnType<typeof writeManifests>, n: number, log: (line: string) => void): Promise<void> {
  const del = (...what: string[]) => mustSucceed("kubectl", ["delete", "--ignore-not-found", "--wait=false", ...what]);
  del("-f", m.rest);
  del(...m.namespaces.map((ns) => `namespace/${ns}`));
  await waitClean(`N=${n}: kubectl delete`, m.namespaces, m.crds, log, () => del(...m.crds.map((c) => `crd/${c}`)));
}

// -------------------------------------------------------- where time goes

interface Breakdown {
  startupMs: number;
  stepsMs: number;
  tailMs: number;
  byType: Map<string, { count: number; totalMs: number; maxMs: number }>;
}

/**
 * Phases and per-type step times of one `up`, from its engine events as
 * received (the Automation API streams them as they happen). Only custom
 * resources have steps of their own: a component lasts as long as its children.
 */
function breakdown(run: UpRun): Breakdown {
  const pre = new Map<string, number>();
  const byType = new Map<string, { count: number; totalMs: number; maxMs: number }>();
  let first = Infinity;
  let last = 0;
  const custom = (type: string) => !type.startsWith("flux-capsule:") && type !== "pulumi:pulumi:Stack";
  for (const { at, event } of run.events) {
    const p = event.resourcePreEvent?.metadata;
    if (p && p.op !== "same" && custom(p.type)) { pre.set(p.urn, at); first = Math.min(first, at); }
    const o = event.resOutputsEvent?.metadata;
    if (o && pre.has(o.urn)) {
      const d = at - pre.get(o.urn)!;
      last = Math.max(last, at);
      const e = byType.get(o.type) ?? { count: 0, totalMs: 0, maxMs: 0 };
      e.count++; e.totalMs += d; e.maxMs = Math.max(e.maxMs, d);
      byType.set(o.type, e);
    }
  }
  if (first === Infinity) return { startupMs: run.ms, stepsMs: 0, tailMs: 0, byType };
  return { startupMs: first, stepsMs: last - first, tailMs: run.ms - last, byType };
}

/**
 * The engine settings the shipped preview workflow gives its Pulumi step
 * (`PULUMI_NODEJS_TRANSPILE_ONLY`: `npm test` type-checked the program
 * before), read from the workflow so the bench cannot drift from it.
 */
function workflowEnv(): Record<string, string> {
  type Workflow = { jobs: Record<string, { steps: { uses?: string; env?: Record<string, string> }[] }> };
  const wf = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "preview.yml"), "utf8")) as Workflow;
  const step = Object.values(wf.jobs).flatMap((j) => j.steps).find((s) => s.uses?.startsWith("pulumi/actions@"));
  const value = step?.env?.PULUMI_NODEJS_TRANSPILE_ONLY;
  return value === undefined ? {} : { PULUMI_NODEJS_TRANSPILE_ONLY: value };
}

/** A lab stack that runs the engine as the preview workflow does. */
async function benchStack(options: LabStackOptions): Promise<LabStack> {
  const lab = await LabStack.create(options);
  Object.assign(lab.stack.workspace.envVars, workflowEnv());
  return lab;
}

// ------------------------------------------------------ a commit's program

/**
 * The same stack (same state, same config) run from the program of `commit`:
 * a detached git worktree in `dir`, sharing this checkout's node_modules,
 * with the stack's settings file copied (it holds the secrets' salt).
 */
async function beforeStack(commit: string, stack: LabStack, dir: string): Promise<{ commit: string; lab: LabStack }> {
  const git = (args: string[], cwd = ROOT) => execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  let described: string;
  try {
    described = git(["log", "-1", "--format=%h (%s)", `${commit}^{commit}`]);
  } catch (e) {
    throw new Error(`BENCH_BEFORE=${commit}: not a commit of this repository (${(e as Error).message.split("\n")[0]})`);
  }
  const workDir = path.join(dir, "before");
  git(["worktree", "add", "--detach", workDir, commit]);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(workDir, "node_modules"));
  const settings = `Pulumi.${stack.options.name}.yaml`;
  fs.copyFileSync(path.join(ROOT, settings), path.join(workDir, settings));
  return { commit: described, lab: await benchStack({ ...stack.options, workDir }) };
}

function removeWorktree(workDir: string, log: (line: string) => void): void {
  const r = spawnSync("git", ["worktree", "remove", "--force", workDir], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) log(`git worktree remove ${workDir} failed: ${r.stderr.trim()}`);
}

// ---------------------------------------------------------- time to Ready

async function timeToReady(dir: string, double: GitHubDouble, n: number, crds: readonly string[], log: (l: string) => void):
  Promise<{ upMs: number; readyMs: number }> {
  const tenants = tenantsOf(n);
  const lab = await benchStack({ name: `bench-ready-${n}`, tenancy: "namespace", tenants, double, token: TOKEN, stateDir: dir });
  try {
    // Quiet (no progress lines), and Flux only watched, at its own pace.
    const { upMs, readyMs } = await bootstrap(lab, { watch: { timeoutMs: 600_000, everyMs: 250 } });
    assertAppliedByFlux(tenants);
    log(`ready N=${n}: up ${sec(upMs)} s, all tenants Ready ${sec(readyMs)} s`);
    return { upMs, readyMs };
  } finally {
    try {
      const t0 = performance.now();
      await stopFlux();
      dropFluxFinalizers();
      await lab.stack.destroy({});
      await lab.remove();
      await waitClean(`the time to Ready, N=${n}: Flux stopped and pulumi destroy ${sec(performance.now() - t0)} s`, namespacesOf(n), crds, log);
    } finally {
      stopRunner();
    }
  }
}

// ---------------------------------------------------------------- the peer

/** The platform repository the flux CLI bootstraps into (not the stacks': their destroy removes files it would keep). */
const PEER_REPO = "peer-fleet";

/**
 * The flux CLI's way to `n` tenants Ready, timed from the start of
 * `flux bootstrap git`: bootstrap, then per tenant a key registered
 * read-only and the three `flux create` commands. Tears it down as
 * `flux uninstall` does.
 */
async function fluxCliToReady(dir: string, double: GitHubDouble, n: number, crds: readonly string[], log: (l: string) => void):
  Promise<{ bootstrapMs: number; readyMs: number }> {
  const tenants = tenantsOf(n);
  const key = newKeyFile(dir, `peer-rw-${n}`);
  const registered: { repo: string; id: number }[] = [];
  registered.push({ repo: PEER_REPO, id: (await double.addKey(OWNER, PEER_REPO, { title: `flux bootstrap n${n}`, key: key.publicKey, readOnly: false })).id });
  const t0 = performance.now();
  try {
    await fluxBootstrapGit({ url: doubleSshUrl(double, PEER_REPO), path: `clusters/peer-${n}`, branch: "main", key });
    const bootstrapMs = performance.now() - t0;
    for (const t of tenants) {
      const tenantKey = newKeyFile(dir, `${t.name}-${n}`);
      registered.push({ repo: t.repository!, id: (await double.addKey(OWNER, t.repository!, { title: `${t.name} flux CLI n${n}`, key: tenantKey.publicKey, readOnly: true })).id });
      await fluxCreateTenant({ name: t.name, namespace: t.namespaces[0]!, url: doubleSshUrl(double, t.repository!), branch: "main", key: tenantKey });
    }
    const readyMs = performance.now() - t0;
    assertAppliedByFlux(tenants);
    log(`peer N=${n}: flux bootstrap git ${sec(bootstrapMs)} s, all tenants Ready ${sec(readyMs)} s`);
    return { bootstrapMs, readyMs };
  } finally {
    try {
      const t0 = performance.now();
      await stopFlux();
      dropFluxFinalizers();
      const r = fluxCli(["uninstall", "--silent"], 300_000);
      if (r.status !== 0) log(`flux uninstall failed: ${r.output.trim().split("\n").pop()}`);
      for (const t of tenants) kubectl(["delete", "namespace", t.namespaces[0]!, "--ignore-not-found", "--wait=false"]);
      await waitClean(`the peer, N=${n}: Flux stopped and flux uninstall ${sec(performance.now() - t0)} s`, namespacesOf(n), crds, log);
    } finally {
      stopRunner();
      for (const k of registered) await double.deleteKey(OWNER, k.repo, k.id).catch(() => undefined);
    }
  }
}

// --------------------------------------------------------------- the bench

/** Runs the engine rows against the lab, or says why they are skipped. */
export async function engineBench(o: EngineOptions): Promise<EngineReport> {
  const why = labUnavailable();
  if (why) return { skipped: true, failures: [], markdown: `Engine rows skipped: ${why}.` };
  useLab();
  if (getObject("namespace", "flux-system")) return { skipped: true, failures: [], markdown: "Engine rows skipped: the lab already has a flux-system namespace (another stack is up); `npm run lab:down && npm run lab:up` gives a clean lab." };
  if (controllerRunning("kustomize-controller") || controllerRunning("flux-runner") || controllerRunning("capsule")) return { skipped: true, failures: [], markdown: "Engine rows skipped: controllers are running in the lab (lab/controllers/down.sh stops them)." };

  const dir = sharedTempDir("bench-engine-");
  const largest = Math.max(...o.sizes);
  const biggest = Math.max(largest, o.readyTenants, ...o.peerSizes);
  const double = await startDouble(dir, TOKEN, {}, { log: () => undefined });
  const started = new Date();
  const stacks: LabStack[] = [];
  /** Worktrees of BENCH_BEFORE; their stack is one of `stacks`, run from another program. */
  const worktrees: string[] = [];
  const applied: { m: ReturnType<typeof writeManifests>; n: number }[] = [];
  try {
    await double.createRepo(OWNER, PLATFORM_REPO, "main");
    await double.createRepo(OWNER, PEER_REPO, "main");
    for (let i = 0; i < biggest; i++) {
      await double.createRepo(OWNER, `${tenantName(i)}-fleet`, "main");
      const b = new Branch(double, TOKEN, OWNER, `${tenantName(i)}-fleet`, "main");
      await b.put("app.yaml", JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app", namespace: `${tenantName(i)}-apps` }, data: { from: "tenant" } }));
      await b.put("kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [app.yaml]\n");
    }

    const rows: string[] = [];
    const noopRows: string[] = [];
    const ratios = new Map<number, { up: number; noop: number }>();
    let lastUp: UpRun | undefined;
    let lastResources = 0;
    let biggestManifests: ReturnType<typeof writeManifests> | undefined;
    let biggestLab: LabStack | undefined;
    let crdNames: string[] = [];
    for (const n of o.sizes) {
      const lab = await benchStack({ name: `bench-n${n}`, tenancy: "namespace", tenants: tenantsOf(n), double, token: TOKEN, stateDir: dir });
      stacks.push(lab);
      const ups: number[] = []; const applies: number[] = []; const previews: number[] = []; const diffs: number[] = [];
      let manifests: ReturnType<typeof writeManifests> | undefined;
      let expect: number | undefined;
      const runs = o.runsFor?.(n) ?? o.runs;
      for (let run = 0; run < runs; run++) {
        const pulumiFirst = run % 2 === 0 || manifests === undefined;
        const doPulumi = async () => {
          const up = await pulumiUp(lab, double, expect);
          expect ??= up.created;
          if (!manifests) {
            manifests = writeManifests(appliedObjects(lab), path.join(dir, `objects-${n}`));
            crdNames = manifests.crds;
          }
          const pv = await pulumiNoopPreview(lab);
          ups.push(up.ms); previews.push(pv.ms);
          if (n === largest) { lastUp = up; lastResources = expect; }
          o.log(`engine N=${n} run ${run + 1}/${runs}: pulumi up ${sec(up.ms)} s (${expect} resources, GitHub ${up.github.calls} calls), preview --refresh ${sec(pv.ms)} s`);
          await pulumiDestroy(lab, n, manifests.crds, o.log);
        };
        const doKubectl = async () => {
          applied.push({ m: manifests!, n });
          const ap = kubectlApply(manifests!);
          const df = kubectlNoopDiff(manifests!);
          applies.push(ap.ms); diffs.push(df.ms);
          o.log(`engine N=${n} run ${run + 1}/${runs}: kubectl apply ${sec(ap.ms)} s (${manifests!.count} objects), diff ${sec(df.ms)} s`);
          await kubectlDelete(manifests!, n, o.log);
          applied.pop();
        };
        if (pulumiFirst) { await doPulumi(); await doKubectl(); } else { await doKubectl(); await doPulumi(); }
      }
      const up = o.stats(ups); const ap = o.stats(applies); const pv = o.stats(previews); const df = o.stats(diffs);
      ratios.set(n, { up: up.median / ap.median, noop: pv.median / df.median });
      rows.push(`| ${n} | ${runs} | ${expect} | ${manifests!.count} | ${fmt(up)} | ${fmt(ap)} | ${(up.median / ap.median).toFixed(2)} |`);
      noopRows.push(`| ${n} | ${runs} | ${fmt(pv)} | ${fmt(df)} | ${(pv.median / df.median).toFixed(2)} |`);
      if (n === largest) { biggestManifests = manifests; biggestLab = lab; }
    }

    const out: string[] = [];
    out.push(`Measured ${started.toISOString().slice(0, 16).replace("T", " ")} UTC; medians (min–max) of the runs given, seconds; ` +
      "pulumi and kubectl alternate which goes first. Namespace mode, one namespace and one repository per tenant.", "");
    out.push("| tenants | runs | Pulumi resources | objects applied | `pulumi up` from empty s | `kubectl apply --server-side` s | ratio |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |", ...rows, "");
    out.push("| tenants | runs | no-op `pulumi preview --refresh` s | no-op `kubectl diff --server-side` s | ratio |",
      "| ---: | ---: | ---: | ---: | ---: |", ...noopRows, "");
    const atLargest = ratios.get(largest);
    if (atLargest) {
      out.push(`Goals at N = ${largest}: pulumi/kubectl at most 2.0 for up: ${atLargest.up.toFixed(2)} (${atLargest.up <= 2 ? "met" : "missed"}); ` +
        `for the no-op: ${atLargest.noop.toFixed(2)} (${atLargest.noop <= 2 ? "met" : "missed"}).`, "");
    }

    if (lastUp) {
      const b = breakdown(lastUp);
      out.push(`Where the time of one \`pulumi up\` goes at N = ${largest} (${lastResources} resources; its last run, ${sec(lastUp.ms)} s), ` +
        "from the engine's events as the Automation API received them:", "");
      out.push("| phase | s |", "| --- | ---: |",
        `| start-up: CLI, plugins, language host, loading the program (and type-checking it, unless transpile-only), to the first custom resource's step | ${sec(b.startupMs)} |`,
        `| custom resource steps, first start to last finish | ${sec(b.stepsMs)} |`,
        `| tail: last step to the CLI's exit (final checkpoint, shutdown) | ${sec(b.tailMs)} |`,
        `| GitHub double: ${lastUp.github.calls} requests, summed time (they overlap) | ${sec(lastUp.github.ms)} |`, "");
      const types = [...b.byType.entries()].sort((x, y) => y[1].totalMs - x[1].totalMs).slice(0, 10);
      out.push("| resource type | steps | summed step s | mean step s | longest step s |", "| --- | ---: | ---: | ---: | ---: |",
        ...types.map(([t, e]) => `| \`${t}\` | ${e.count} | ${sec(e.totalMs)} | ${sec(e.totalMs / e.count)} | ${sec(e.maxMs)} |`), "");
    }

    const failures: string[] = [];
    /** Runs an optional section; a failure is reported in the table text and the rows measured so far stand. */
    const section = async (name: string, body: () => Promise<void>) => {
      try {
        await body();
      } catch (e) {
        const message = (e as Error).message.split("\n")[0]!;
        failures.push(`${name}: ${message}`);
        out.push(`${name}: failed (${message}).`, "");
        o.log(`${name} failed: ${message}`);
      }
    };

    if (o.variantRuns > 0 && biggestLab && biggestManifests) await section("Variants", async () => {
      const n = largest;
      const shipped = biggestLab;
      const before = o.before ? await beforeStack(o.before, shipped, dir) : undefined;
      if (before) worktrees.push(before.lab.options.workDir!);
      // Each variant removes one cost; "as shipped" runs in the same rounds, so all see the same load.
      const all: { key: string; label: string; env?: Record<string, string>; config?: Record<string, string>; lab?: LabStack }[] = [
        { key: "shipped", label: "as shipped" },
        ...(before ? [{ key: "before", label: `before: the program of ${before.commit}`, lab: before.lab }] : []),
        { key: "writeDelay", label: "GitHub writes not paced: `github:writeDelayMs: 1` (the provider's default waits 1 s after each write, as GitHub asks)", config: { "github:writeDelayMs": "1" } },
        { key: "skipCheckpoints", label: "no checkpoint writes during the update (`PULUMI_SKIP_CHECKPOINTS=true`)", env: { PULUMI_SKIP_CHECKPOINTS: "true" } },
        { key: "parallel", label: "32 resource operations at once, not 4 per core (`PULUMI_PARALLEL=32`)", env: { PULUMI_PARALLEL: "32" } },
        { key: "typeCheck", label: "program type-checked as it loads (`PULUMI_NODEJS_TRANSPILE_ONLY=false`, as a plain `pulumi up` does)", env: { PULUMI_NODEJS_TRANSPILE_ONLY: "false" } },
      ];
      const variants = all.filter((v) => v.key === "shipped" || v.key === "before" || o.variants.includes(v.key));
      const times = new Map<string, number[]>(variants.map((v) => [v.label, []]));
      // The destroy after each up, from the state that up wrote: a program's
      // dependencies set the order its destroy deletes in.
      const destroys = new Map<string, number[]>(variants.map((v) => [v.label, []]));
      for (let run = 0; run < o.variantRuns; run++) {
        for (const v of variants) {
          const lab = v.lab ?? shipped;
          const vars = lab.stack.workspace.envVars;
          const saved = Object.fromEntries(Object.keys(v.env ?? {}).map((k) => [k, vars[k]]));
          Object.assign(vars, v.env ?? {});
          for (const [k, value] of Object.entries(v.config ?? {})) await lab.stack.setConfig(k, { value });
          try {
            const up = await pulumiUp(lab, double, lastResources);
            times.get(v.label)!.push(up.ms);
            o.log(`engine variant N=${n} run ${run + 1}/${o.variantRuns}: ${v.label}: ${sec(up.ms)} s`);
          } finally {
            for (const [k, was] of Object.entries(saved)) if (was === undefined) delete vars[k]; else vars[k] = was;
            for (const k of Object.keys(v.config ?? {})) await lab.stack.removeConfig(k);
            const d = await pulumiDestroy(lab, n, biggestManifests.crds, o.log);
            destroys.get(v.label)!.push(d.ms);
          }
        }
      }
      const base = o.stats(times.get(variants[0]!.label)!).median;
      out.push(`\`pulumi up\` at N = ${n} with one cost removed, ${o.variantRuns} runs each, interleaved, and the \`pulumi destroy\` after each (default settings):`, "",
        "| variant | up s | saved s | destroy s |", "| --- | ---: | ---: | ---: |",
        ...variants.map((v) => {
          const s = o.stats(times.get(v.label)!);
          return `| ${v.label} | ${fmt(s)} | ${sec(base - s.median)} | ${fmt(o.stats(destroys.get(v.label)!))} |`;
        }), "");
    });

    if (o.readyTenants > 0 && o.readyRuns > 0) await section("Time to tenants Ready", async () => {
      const ups: number[] = []; const readies: number[] = [];
      for (let run = 0; run < o.readyRuns; run++) {
        const r = await timeToReady(dir, double, o.readyTenants, crdNames, o.log);
        ups.push(r.upMs); readies.push(r.readyMs);
      }
      out.push(`Time to tenants Ready, N = ${o.readyTenants}, ${o.readyRuns} runs: \`pulumi up\` ${fmt(o.stats(ups))} s; ` +
        `from \`pulumi up\` starting to every tenant Kustomization Ready=True ${fmt(o.stats(readies))} s ` +
        "(Flux's source- and kustomize-controller started, as processes, from the manifests the up committed, once it returned).", "");
    });
    if (o.peerSizes.length > 0) await section("The peer: the flux CLI", async () => {
      const rows: string[] = [];
      for (const n of o.peerSizes) {
        const cli = await fluxCliToReady(dir, double, n, crdNames, o.log);
        const pulumi = await timeToReady(dir, double, n, crdNames, o.log);
        rows.push(`| ${n} | ${sec(cli.bootstrapMs)} | ${sec(cli.readyMs - cli.bootstrapMs)} | ${sec(cli.readyMs)} | ${sec(pulumi.upMs)} | ${sec(pulumi.readyMs)} | ${(pulumi.readyMs / cli.readyMs).toFixed(2)} |`);
      }
      out.push("Time to every tenant Ready, the flux CLI against `pulumi up`, one run per N, same lab, same double, same SSH:", "",
        "| N | `flux bootstrap git` s | `flux create` ×3 per tenant, keys registered s | flux CLI total s | `pulumi up` s | `pulumi up` start to all Ready s | pulumi / flux CLI |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |", ...rows, "");
    });
    return { skipped: false, failures, markdown: out.join("\n").trimEnd() };
  } finally {
    // After a failure the lab may still hold objects: delete what kubectl
    // applied, destroy each stack before removing it, so the lab is left clean.
    for (const { m, n } of applied) {
      try { await kubectlDelete(m, n, o.log); } catch (e) { o.log(`kubectl delete failed: ${(e as Error).message.split("\n")[0]}`); }
    }
    for (const lab of stacks) {
      try { await lab.stack.destroy({}); } catch (e) { o.log(`destroy ${lab.options.name} failed: ${(e as Error).message.split("\n")[0]}`); }
      try { await lab.remove(); } catch { /* the directory goes below */ }
    }
    for (const w of worktrees) removeWorktree(w, o.log);
    await double.close();
    if (process.env.BENCH_KEEP === "1") o.log(`kept ${dir} (BENCH_KEEP=1)`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses `BENCH_ENGINE_TENANTS`-style lists: "1,10,50". */
export function sizes(text: string): number[] {
  const out = text.split(",").map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`not a list of tenant counts: ${JSON.stringify(text)}`);
  return out;
}
