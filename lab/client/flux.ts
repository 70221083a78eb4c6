// Live Flux and Capsule in the lab, as the isolation suite, the demo and the
// bench drive them: the controllers of lab/controllers (Flux's run by
// lab/controllers/runner.ts from the Deployments in flux-system), commits to tenant
// branches through the GitHub double's contents API, forced reconciles, and
// the Ready conditions that show what Flux did with each commit.
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { GitHubApi } from "./github";
import { CONTEXT, getObject, KUBECONFIG, kubectl, kubectlOk, LAB_DIR, ROOT, short, waitFor } from "./lab";

export const KS = "kustomizations.kustomize.toolkit.fluxcd.io";
export const GITREPO = "gitrepositories.source.toolkit.fluxcd.io";

/** What one run of the `flux` CLI did: its exit status and its output (stdout and stderr, as printed). */
export interface FluxCliRun {
  readonly status: number | null;
  readonly output: string;
}

/** The `flux` binary the toolchain built (lab/toolchain/flux-cli.sh prints its dir; a no-op when cached). */
function fluxBinary(): string {
  const dir = execFileSync("bash", [path.join(ROOT, "lab/toolchain/flux-cli.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  return path.join(dir, "flux");
}

/**
 * Runs the `flux` CLI the toolchain built against the lab's cluster, as a
 * user would: its own client, the lab's kubeconfig and context. Never throws
 * on a failed command: the caller asserts on the status and names what failed.
 */
export function fluxCli(args: readonly string[], timeoutMs = 180_000): FluxCliRun {
  const r = spawnSync(fluxBinary(), onLab(args), { encoding: "utf8", timeout: timeoutMs });
  if (r.error) return { status: null, output: `flux ${args.join(" ")}: ${r.error.message}` };
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** `flux` arguments aimed at the lab's cluster: its kubeconfig and context. */
function onLab(args: readonly string[]): string[] {
  return [...args, "--kubeconfig", KUBECONFIG, "--context", CONTEXT];
}

/** A `flux` command running: its result once it exits, and a way to stop it early. */
export interface FluxCliProcess { readonly done: Promise<FluxCliRun>; kill(): void }

/** Starts {@link fluxCli}'s command without blocking (bootstrap runs while the runner starts). */
export function startFluxCli(args: readonly string[], timeoutMs = 600_000): FluxCliProcess {
  const child = spawn(fluxBinary(), onLab(args), { stdio: ["ignore", "pipe", "pipe"] });
  const done = new Promise<FluxCliRun>((resolve) => {
    let output = "";
    child.stdout.on("data", (d: Buffer) => { output += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { output += d.toString(); });
    // Unref'd: a command left running must not keep the test process alive.
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs).unref();
    child.on("error", (e) => { clearTimeout(timer); resolve({ status: null, output: `${output}\nflux ${args.join(" ")}: ${e.message}` }); });
    child.on("close", (code) => { clearTimeout(timer); resolve({ status: code, output }); });
  });
  return { done, kill: () => { child.kill("SIGTERM"); } };
}

/** {@link fluxCli} without blocking: resolves when the command exits. */
export function fluxCliAsync(args: readonly string[], timeoutMs = 600_000): Promise<FluxCliRun> {
  return startFluxCli(args, timeoutMs).done;
}

/** The controllers' state directory (lab/controllers/lib.sh). */
const CTRL_STATE = path.join(LAB_DIR, "controllers");

/** Runs a lab/controllers script, its output inherited; throws naming the script and the controllers' logs. */
export function controllers(script: "up.sh" | "down.sh", args: readonly string[] = []): void {
  try {
    execFileSync("bash", [path.join(ROOT, "lab/controllers", script), ...args], { stdio: ["ignore", "inherit", "inherit"] });
  } catch (e) {
    throw new Error(`lab/controllers/${script} ${args.join(" ")} failed (${(e as Error).message.split("\n")[0]}); logs in ${CTRL_STATE}/logs`);
  }
}

/**
 * The pid of a component up.sh (or the Flux runner) started, when it still runs and is ours (its
 * marker variable): lab/controllers/lib.sh ctrl_pid's check, read only here.
 */
function controllerPid(name: string): number | undefined {
  const file = path.join(CTRL_STATE, "run", `${name}.pid`);
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return env.includes(`FLUX_CAPSULE_CONTROLLERS_STATE=${CTRL_STATE}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when up.sh's (or the runner's) component runs. */
export function controllerRunning(name: string): boolean {
  return controllerPid(name) !== undefined;
}

/** The running controller's command line (argv, from /proc), or undefined when it does not run. */
export function controllerCommandLine(name: string): string[] | undefined {
  const pid = controllerPid(name);
  if (pid === undefined) return undefined;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a, i, all) => i < all.length - 1 || a !== "");
  } catch {
    return undefined;
  }
}

/** The Flux controllers the runner runs, kustomize-controller first (it would re-apply source-controller's replicas). */
export const FLUX_CONTROLLERS = ["kustomize-controller", "source-controller"] as const;

/**
 * Stops the Flux controllers the way a cluster would: scales their
 * Deployments to 0 and waits until the runner has stopped the processes.
 * The runner keeps running (stopRunner stops it) and Capsule too: used before
 * tearing a stack down, so nothing reconciles while Pulumi deletes, and
 * Capsule still serves its finalizers and webhooks.
 *
 * One controller at a time, kustomize-controller first, and the scale is
 * repeated while waiting: a kustomize-controller still running can re-apply
 * flux-system's committed Deployments (replicas 1) between the scale and the
 * runner's next look, which a single scale would never notice.
 */
export async function stopFlux(): Promise<void> {
  const runner = controllerRunning("flux-runner");
  for (const name of FLUX_CONTROLLERS) {
    /** The Deployment's replicas (1 when unset), undefined when it is gone. */
    const replicas = (): number | undefined => {
      const d = getObject<{ spec?: { replicas?: number } }>("deployment", name, "flux-system");
      return d ? d.spec?.replicas ?? 1 : undefined;
    };
    const scaleToZero = (): void => {
      const r = replicas();
      if (r !== undefined && r !== 0) kubectlOk(["scale", "deployment", name, "-n", "flux-system", "--replicas=0"]);
    };
    scaleToZero();
    if (!runner) continue;
    try {
      await waitFor(`the runner to stop ${name}`, () => { scaleToZero(); return controllerRunning(name) ? undefined : true; }, 60_000, 500);
    } catch (e) {
      throw new Error(`${(e as Error).message} (Deployment ${name} replicas: ${replicas() ?? "gone"}); the runner's last lines:\n${runnerLogTail()}`);
    }
  }
}

/** The last lines of the Flux runner's log, for an error that names what the runner did. */
function runnerLogTail(lines = 20): string {
  try {
    return fs.readFileSync(path.join(CTRL_STATE, "logs", "flux-runner.log"), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch (e) {
    return `(no runner log: ${(e as Error).message})`;
  }
}

/** Stops the Flux runner and whatever it still runs (`lab/controllers/down.sh --only flux`), leaving Capsule running. */
export function stopRunner(): void {
  controllers("down.sh", ["--only", "flux"]);
}

/**
 * With the Flux controllers stopped, drops Flux's finalizers from every
 * GitRepository and Kustomization, so deleting them (pulumi destroy, namespace
 * deletion) neither waits for a controller nor garbage-collects what they applied.
 */
export function dropFluxFinalizers(): void {
  for (const kind of [KS, GITREPO]) {
    const r = kubectl(["get", kind, "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}"]);
    if (r.status !== 0) continue; // CRD gone
    for (const line of r.stdout.split("\n").filter(Boolean)) {
      const [ns, name] = line.split("/");
      kubectl(["patch", kind, name!, "-n", ns!, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    }
  }
}

/** A tenant's Git branch, written through the double's contents API (each write is one commit). */
export class Branch {
  constructor(readonly double: GitHubApi, readonly token: string, readonly owner: string, readonly repo: string, readonly branch: string) {}

  private async api(method: string, file: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const url = `${this.double.apiUrl}/repos/${this.owner}/${this.repo}/contents/${file}${method === "GET" ? `?ref=${encodeURIComponent(this.branch)}` : ""}`;
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json", accept: "application/vnd.github+json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) as Record<string, unknown> : {} };
  }

  private async sha(file: string): Promise<string | undefined> {
    const r = await this.api("GET", file);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET ${file}@${this.branch}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json.sha as string;
  }

  /** Creates or updates `file`; returns the new head commit sha. */
  async put(file: string, content: string, message = `update ${file}`): Promise<string> {
    const sha = await this.sha(file);
    const r = await this.api("PUT", file, { message, branch: this.branch, content: Buffer.from(content).toString("base64"), ...(sha ? { sha } : {}) });
    if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${file}@${this.branch}: ${r.status} ${JSON.stringify(r.json)}`);
    return (r.json.commit as { sha: string }).sha;
  }

  /** Deletes `file` when present; returns the head commit sha. */
  async remove(file: string): Promise<string> {
    const sha = await this.sha(file);
    if (sha) {
      const r = await this.api("DELETE", file, { message: `remove ${file}`, sha, branch: this.branch });
      if (r.status !== 200) throw new Error(`DELETE ${file}@${this.branch}: ${r.status} ${JSON.stringify(r.json)}`);
    }
    return (await this.head())!;
  }

  head(): Promise<string | undefined> {
    return this.double.branchSha(this.owner, this.repo, this.branch);
  }
}

/** The parts of a Flux object's status the suite reads. */
export interface FluxStatus {
  ready: { status: string; reason: string; message: string } | undefined;
  lastHandledReconcileAt?: string;
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  artifactRevision?: string;
  generation: number;
  observedGeneration?: number;
}

export function fluxStatus(kind: string, name: string, namespace: string): FluxStatus | undefined {
  const o = getObject<{
    metadata: { generation: number };
    status?: {
      conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number }[];
      lastHandledReconcileAt?: string; lastAppliedRevision?: string; lastAttemptedRevision?: string;
      artifact?: { revision?: string }; observedGeneration?: number;
    };
  }>(kind, name, namespace);
  if (!o) return undefined;
  const c = o.status?.conditions?.find((x) => x.type === "Ready");
  return {
    ready: c ? { status: c.status, reason: c.reason, message: c.message } : undefined,
    lastHandledReconcileAt: o.status?.lastHandledReconcileAt,
    lastAppliedRevision: o.status?.lastAppliedRevision,
    lastAttemptedRevision: o.status?.lastAttemptedRevision,
    artifactRevision: o.status?.artifact?.revision,
    generation: o.metadata.generation,
    // A failed Kustomization reports status.observedGeneration -1; its Ready condition carries the generation handled.
    observedGeneration: c?.observedGeneration ?? o.status?.observedGeneration,
  };
}

/** Asks the controller to reconcile now (what `flux reconcile` does); returns the token. */
export function requestReconcile(kind: string, name: string, namespace: string): string {
  const token = new Date().toISOString() + Math.random().toString(36).slice(2, 6);
  kubectlOk(["annotate", "--overwrite", kind, name, "-n", namespace, `reconcile.fluxcd.io/requestedAt=${token}`]);
  return token;
}

/**
 * Reconciles a GitRepository until its artifact is at `sha`, then its
 * Kustomization until it has handled that revision (applied or failed);
 * returns the Kustomization's status. Bounded by `timeoutMs`.
 */
export async function syncTo(ns: string, source: string, kustomization: string, sha: string, timeoutMs = 90_000): Promise<FluxStatus> {
  requestReconcile(GITREPO, source, ns);
  let asked = Date.now();
  await waitFor(`GitRepository ${ns}/${source} at ${sha.slice(0, 8)}`, () => {
    const s = fluxStatus(GITREPO, source, ns);
    if (s?.artifactRevision?.endsWith(sha)) return true;
    if (Date.now() - asked > 10_000) { requestReconcile(GITREPO, source, ns); asked = Date.now(); }
    return undefined;
  }, timeoutMs, 500);
  return kustomizationAt(ns, kustomization, sha, timeoutMs);
}

/** Reconciles a Kustomization until it has handled a revision ending in `sha`. */
export async function kustomizationAt(ns: string, name: string, sha: string, timeoutMs = 90_000): Promise<FluxStatus> {
  let token = requestReconcile(KS, name, ns);
  let asked = Date.now();
  return waitFor(`Kustomization ${ns}/${name} to handle ${sha.slice(0, 8)}`, () => {
    const s = fluxStatus(KS, name, ns);
    if (!s?.ready || s.ready.status === "Unknown") return undefined;
    const handled = s.lastHandledReconcileAt === token && s.observedGeneration === s.generation;
    const atRev = s.ready.status === "True" ? s.lastAppliedRevision?.endsWith(sha) : s.lastAttemptedRevision?.endsWith(sha);
    if (handled && atRev) return s;
    if (Date.now() - asked > 15_000) { token = requestReconcile(KS, name, ns); asked = Date.now(); }
    return undefined;
  }, timeoutMs, 500);
}

/** Waits until a Flux object's Ready condition settles (True or False) for its current generation. */
export async function settled(kind: string, name: string, ns: string, timeoutMs = 90_000): Promise<FluxStatus> {
  requestReconcile(kind, name, ns);
  return waitFor(`${kind} ${ns}/${name} to settle`, () => {
    const s = fluxStatus(kind, name, ns);
    if (!s?.ready || s.ready.status === "Unknown" || s.observedGeneration !== s.generation) return undefined;
    return s;
  }, timeoutMs, 500);
}

/** Waits until a Flux object is Ready=True (re-requesting a reconcile every 10 s). */
export async function readyTrue(kind: string, name: string, ns: string, timeoutMs = 120_000): Promise<FluxStatus> {
  let asked = 0;
  let last: FluxStatus | undefined;
  try {
    return await waitFor(`${kind} ${ns}/${name} Ready`, () => {
      if (Date.now() - asked > 10_000) { if (getObject(kind, name, ns)) requestReconcile(kind, name, ns); asked = Date.now(); }
      last = fluxStatus(kind, name, ns);
      return last?.ready?.status === "True" ? last : undefined;
    }, timeoutMs, 500);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last Ready: ${JSON.stringify(last?.ready)}`);
  }
}

/** A read-only smart-HTTP git server on loopback over the bare repositories under `root` (lab/controllers/git-http.ts). */
export async function startGitHttp(root: string, logFile: string): Promise<{ url: string; stop: () => void }> {
  const child: ChildProcess = spawn("node", ["-r", "ts-node/register/transpile-only", path.join(ROOT, "lab/controllers/git-http.ts"), "--root", root],
    { cwd: ROOT, stdio: ["ignore", "pipe", fs.openSync(logFile, "a")] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`git-http.ts did not start (log: ${logFile})`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("http://"));
      if (line) { clearTimeout(timer); resolve(line.trim()); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`git-http.ts exited ${code} (log: ${logFile})`)); });
  });
  return { url, stop: () => { if (child.exitCode === null) child.kill("SIGTERM"); } };
}

/** A bare repository at `root/<name>.git` with `files` committed on main. */
export function bareRepoWith(root: string, name: string, files: Record<string, string>): void {
  const work = fs.mkdtempSync(path.join(root, "work-"));
  for (const [f, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(work, f)), { recursive: true });
    fs.writeFileSync(path.join(work, f), body);
  }
  const git = (args: string[], cwd: string) => execFileSync("git", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  git(["init", "-q", "-b", "main", "."], work);
  git(["add", "-A"], work);
  git(["-c", "user.email=lab@example.invalid", "-c", "user.name=lab", "commit", "-qm", "base"], work);
  git(["init", "-q", "--bare", "-b", "main", path.join(root, `${name}.git`)], root);
  git(["push", "-q", path.join(root, `${name}.git`), "main"], work);
  fs.rmSync(work, { recursive: true, force: true });
}

/**
 * What Capsule leaves behind once stopped: the ClusterRoleBinding it keeps for
 * its users (`capsule-namespace-provisioner`: namespaces create + patch,
 * cluster-wide) and its ClusterRoles, CRDs, configuration and namespace.
 * Returns the subjects the binding still granted, then deletes all of it, so a
 * later namespace-mode run starts from a lab without Capsule.
 */
export function removeCapsuleResidue(): string[] {
  const crb = getObject<{ subjects?: { kind: string; name: string; namespace?: string }[] }>("clusterrolebinding", "capsule-namespace-provisioner");
  const subjects = (crb?.subjects ?? []).map((s) => `${s.kind}:${s.namespace ? s.namespace + ":" : ""}${s.name}`);
  kubectl(["delete", "clusterrolebinding", "capsule-namespace-provisioner", "--ignore-not-found"]);
  kubectl(["delete", "clusterrole", "capsule-namespace-provisioner", "capsule-namespace-deleter", "--ignore-not-found"]);
  kubectl(["delete", "capsuleconfigurations.capsule.clastix.io", "--all", "--ignore-not-found"]);
  const crds = kubectl(["get", "crd", "-o", "name"]).stdout.split("\n").filter((n) => /capsule\.clastix\.io$|projectcapsule\.dev$/.test(n));
  if (crds.length > 0) kubectl(["delete", ...crds, "--ignore-not-found", "--wait=false"]);
  kubectl(["delete", "namespace", "capsule-system", "--ignore-not-found", "--wait=false"]);
  return subjects;
}

/** A reconcile of a GitRepository requested now and handled with Ready=True: it fetched with the key it holds now. */
export async function fetchesNow(name: string, ns: string): Promise<string> {
  const token = requestReconcile(GITREPO, name, ns);
  const s = await waitFor(`GitRepository ${ns}/${name} to fetch`, () => {
    const st = fluxStatus(GITREPO, name, ns);
    return st?.lastHandledReconcileAt === token && st.ready?.status !== "Unknown" ? st : undefined;
  }, 60_000, 500);
  if (s.ready?.status !== "True") throw new Error(`GitRepository ${ns}/${name} fetch after the change: ${s.ready?.message}`);
  return short(s.ready?.message, 90);
}
