/**
 * The lab's kubelet: runs the controllers the lab builds as local processes,
 * driven by the Deployments of one namespace (the ones `pulumi up` applied
 * and Flux later reconciles), as a kubelet would run their pods. Started by
 * lab/controllers/up.sh (supervised by lab/supervise.sh): `flux-runner` for
 * flux-system, and with --capsule-chart `capsule-runner` for capsule-system
 * (Capsule installed from its chart by `pulumi up`); stopped by
 * lab/controllers/down.sh.
 *
 *   node -r ts-node/register/transpile-only lab/controllers/runner.ts \
 *     --kubectl KUBECTL --tool DIR... [--namespace flux-system] [--fill-tls-secret NAME=DIR]
 *
 * Every second it lists the Deployments. One whose first container's image is
 * ghcr.io/fluxcd/<controller>:<tag> or ghcr.io/projectcapsule/capsule:<tag>
 * for a controller of a --tool dir (.../<controller>/<tag>-<key>:
 * lab/toolchain/flux.sh, which builds Flux v2.9.5's and v2.7.3's controllers
 * for the upgrade scenario, and lab/toolchain/capsule.sh) runs that dir's
 * binary with the container's args and env: fieldRef and resourceFieldRef env
 * resolved and $(VAR) expanded as the kubelet does, Secret volumes written to
 * files under the state dir, the in-cluster-only flags dropped and loopback
 * addresses added (the ports of lab/controllers/lib.sh, from the CTRL_*
 * environment). A changed pod template (or mounted Secret) restarts it;
 * replicas 0 or a deleted Deployment stops it; a tag no --tool dir builds is
 * refused (a log line and a Warning Event, reason ImageNotInLab) rather than
 * run as another version. Each start and stop is logged with its reason and
 * the command line. Pid files and logs are lib.sh's ($CTRL_STATE/run, /logs),
 * named for the Deployment. --fill-tls-secret stands in for a cluster's
 * certificate issuer: it fills that Secret, once it exists without a
 * certificate, with the files of DIR (the lab's, SAN 127.0.0.1).
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

// ------------------------------------------------------------------ pure part

/** The parts of a Deployment the runner reads. */
export interface Deployment {
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { replicas?: number; template?: PodTemplate };
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    serviceAccountName?: string;
    terminationGracePeriodSeconds?: number;
    containers?: Container[];
    volumes?: Volume[];
  };
}

/** A pod volume; the runner gives only Secret volumes a directory. */
export interface Volume {
  name: string;
  secret?: { secretName: string; optional?: boolean };
}

/** Secrets by name: their data (base64, as the API returns it). */
export type Secrets = ReadonlyMap<string, Readonly<Record<string, string>>>;

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
    secretKeyRef?: unknown;
    configMapKeyRef?: unknown;
  };
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  volumeMounts?: { name: string; mountPath: string }[];
}

/**
 * `ghcr.io/fluxcd/<controller>:<tag>[@digest]` (a Flux controller) or
 * `ghcr.io/projectcapsule/capsule:<tag>[@digest]` (Capsule's manager, as its
 * chart names it) -> controller and tag; undefined for any other image.
 */
export function parseImage(image: string | undefined): { controller: string; tag: string } | undefined {
  const m = /^ghcr\.io\/(?:fluxcd\/([a-z0-9-]+)|projectcapsule\/(capsule)):([A-Za-z0-9_.-]+)(@sha256:[a-f0-9]{64})?$/.exec(image ?? "");
  return m ? { controller: (m[1] ?? m[2])!, tag: m[3]! } : undefined;
}

/** Binaries by controller, then by image tag: a tool dir is .../<controller>/<tag>-<key> holding <controller>. */
export type Tools = Map<string, Map<string, string>>;

export function toolsFrom(dirs: readonly string[], exists: (file: string) => boolean = fs.existsSync): Tools {
  const tools: Tools = new Map();
  for (const dir of dirs) {
    const d = dir.replace(/\/+$/, "");
    const controller = path.basename(path.dirname(d));
    const m = /^(v\d+\.\d+\.\d+)-/.exec(path.basename(d));
    const binary = path.join(d, controller);
    if (!m || !exists(binary)) throw new Error(`${dir}: not a tool dir .../<controller>/<tag>-<key> holding <controller>`);
    if (!tools.has(controller)) tools.set(controller, new Map());
    tools.get(controller)!.set(m[1]!, binary);
  }
  return tools;
}

/**
 * The kubelet's $(VAR) expansion (k8s.io/kubernetes third_party expansion):
 * $(NAME) of a known variable is replaced, of an unknown one kept as written;
 * $$ is an escaped $.
 */
export function expand(input: string, vars: Readonly<Record<string, string>>): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== "$" || i + 1 >= input.length) { out += c; continue; }
    const next = input[i + 1]!;
    if (next === "$") { out += "$"; i++; continue; }
    if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) { out += input.slice(i); break; }
      const name = input.slice(i + 2, close);
      out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : `$(${name})`;
      i = close;
      continue;
    }
    out += c + next;
    i++;
  }
  return out;
}

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity (`1Gi`, `500m`, `2`) as a number. */
export function quantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m || !(m[2]! in SUFFIX)) throw new Error(`not a quantity: ${q}`);
  return Number(m[1]) * SUFFIX[m[2]!]!;
}

/** What a fieldRef can read: the pod the Deployment's template would make. */
export interface PodContext {
  namespace: string;
  podName: string;
  nodeName: string;
  ip: string;
}

/**
 * The container's environment as the kubelet gives it: literal values
 * ($(VAR) expanded against the variables before them), fieldRef
 * (metadata.name/namespace/uid, labels and annotations, spec.nodeName,
 * spec.serviceAccountName, status.podIP/hostIP) and resourceFieldRef (the
 * kubelet's ceiling of limit / divisor; no limit is not modelled). Secret and
 * ConfigMap references are refused.
 */
export function resolveEnv(template: PodTemplate, container: Container, pod: PodContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) { env[e.name] = expand(e.value, env); continue; }
    const from = e.valueFrom;
    if (!from) { env[e.name] = ""; continue; }
    if (from.fieldRef) {
      env[e.name] = fieldRef(from.fieldRef.fieldPath, template, pod);
    } else if (from.resourceFieldRef) {
      const { resource, divisor } = from.resourceFieldRef;
      const [kind, res] = resource.split(".") as [string, string];
      const value = (kind === "limits" ? container.resources?.limits : container.resources?.requests)?.[res];
      if (value === undefined) throw new Error(`env ${e.name}: ${resource} is not set on container ${container.name} (the node's allocatable is not modelled)`);
      // The apiserver defaults an absent divisor to "0", which the kubelet reads as 1.
      const d = divisor === undefined || divisor === "" || quantity(divisor) === 0 ? 1 : quantity(divisor);
      env[e.name] = String(Math.ceil(quantity(value) / d - 1e-9));
    } else {
      throw new Error(`env ${e.name}: only value, fieldRef and resourceFieldRef are supported in the lab`);
    }
  }
  return env;
}

function fieldRef(fieldPath: string, template: PodTemplate, pod: PodContext): string {
  const sub = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (sub) return template.metadata?.[sub[1] as "labels" | "annotations"]?.[sub[2]!] ?? "";
  switch (fieldPath) {
    case "metadata.namespace": return pod.namespace;
    case "metadata.name": return pod.podName;
    case "spec.nodeName": return pod.nodeName;
    case "spec.serviceAccountName": return template.spec?.serviceAccountName ?? "default";
    case "status.podIP": case "status.hostIP": return pod.ip;
    default: throw new Error(`fieldRef ${fieldPath} is not supported in the lab`);
  }
}

/** A controller's loopback ports: health has no flag for Capsule (its probe address is fixed). */
export interface Ports { metrics: number; health: number; storage?: number; webhook?: number }

/** Loopback addresses and paths replacing the in-cluster ones (lab/controllers/lib.sh's ports). */
export interface Loopback {
  host: string;
  stateDir: string;
  ports: Record<string, Ports>;
}

/** controller-runtime's default webhook certificate directory (Capsule's --webhook-cert-path default; its chart mounts the TLS Secret there). */
export const WEBHOOK_CERT_DIR = "/tmp/k8s-webhook-server/serving-certs";

/**
 * The container args minus the in-cluster-only flags, plus the loopback ones.
 * notification-controller is not run in the lab (no event receiver); storage,
 * metrics, health and webhook addresses become loopback ones and a state-dir
 * path; one process per controller restarts quickly, so no leader election
 * lease. `mounts` maps a volume's mountPath to the directory the runner
 * wrote it to: an arg naming a path under it is rewritten, and Capsule's
 * webhook certificates (mounted at {@link WEBHOOK_CERT_DIR}) are read from there.
 */
function localArgs(controller: string, args: readonly string[], lb: Loopback, mounts: Readonly<Record<string, string>> = {}): string[] {
  const ports = lb.ports[controller];
  if (!ports) throw new Error(`no loopback ports for ${controller}`);
  const inCluster = /^--(events-addr|storage-path|storage-addr|storage-adv-addr|metrics-addr|health-addr|webhook-port|webhook-cert-path)=/;
  const kept = args.filter((a) => a !== "" && !inCluster.test(a) && !/^--enable-leader-election(=.*)?$/.test(a))
    .map((a) => underMount(a, mounts));
  const extra: string[] = [];
  if (ports.storage !== undefined) {
    extra.push(`--storage-path=${path.join(lb.stateDir, "storage")}`, `--storage-addr=${lb.host}:${ports.storage}`, `--storage-adv-addr=${lb.host}:${ports.storage}`);
  }
  extra.push(`--metrics-addr=${lb.host}:${ports.metrics}`);
  if (ports.webhook === undefined) {
    extra.push(`--health-addr=${lb.host}:${ports.health}`);
  } else {
    const certDir = args.find((a) => a.startsWith("--webhook-cert-path="))?.slice("--webhook-cert-path=".length) ?? WEBHOOK_CERT_DIR;
    const local = mounts[certDir];
    if (local === undefined) throw new Error(`${controller}: no volume is mounted at its webhook certificate directory ${certDir}`);
    extra.push(`--webhook-port=${ports.webhook}`, `--webhook-cert-path=${local}`, "--enable-leader-election=false");
  }
  return [...kept, ...extra];
}

/** `--flag=/mount/path/x` (or a bare path) under a mount -> the same under the directory the runner wrote it to. */
function underMount(arg: string, mounts: Readonly<Record<string, string>>): string {
  const eq = arg.indexOf("=");
  const flag = arg.slice(0, eq + 1);
  const value = arg.slice(eq + 1);
  for (const [at, dir] of Object.entries(mounts)) {
    if (value === at || value.startsWith(`${at}/`)) return flag + dir + value.slice(at.length);
  }
  return arg;
}

/** A Secret volume the runner writes before it starts the process: file name -> base64 content. */
export interface VolumeFiles { dir: string; data: Record<string, string> }

/** What to do with one Deployment. */
export type Plan =
  | { kind: "ignore"; reason: string }
  | { kind: "refuse"; reason: string }
  | { kind: "wait"; reason: string }
  | { kind: "stop"; reason: string }
  | { kind: "run"; controller: string; tag: string; binary: string; args: string[]; env: Record<string, string>; hash: string; graceSeconds: number; volumes: VolumeFiles[] };

/** sha256 of the pod template, the binary chosen for it and the Secrets it mounts, shortened: a change restarts the process. */
export function templateHash(template: PodTemplate | undefined, binary: string, volumes: readonly VolumeFiles[] = []): string {
  const h = createHash("sha256").update(JSON.stringify(template ?? {})).update("\0" + binary);
  if (volumes.length > 0) h.update("\0" + JSON.stringify(volumes));
  return h.digest("hex").slice(0, 16);
}

/** The Secret volumes the container mounts, with where the runner writes each; a missing Secret is named. */
function secretVolumes(d: Deployment, container: Container, secrets: Secrets, lb: Loopback): { mounts: Record<string, string>; files: VolumeFiles[] } | string {
  const mounts: Record<string, string> = {};
  const files: VolumeFiles[] = [];
  for (const m of container.volumeMounts ?? []) {
    const secret = d.spec?.template?.spec?.volumes?.find((v) => v.name === m.name)?.secret;
    if (!secret) continue;
    const data = secrets.get(secret.secretName);
    if (data === undefined && !secret.optional) return `Secret ${secret.secretName} (volume ${m.name}) does not exist yet; the kubelet would keep the pod ContainerCreating`;
    const dir = path.join(lb.stateDir, "volumes", d.metadata.name, m.name);
    mounts[m.mountPath] = dir;
    files.push({ dir, data: { ...(data ?? {}) } });
  }
  return { mounts, files };
}

/** The plan for a Deployment: the command line the kubelet-like runner runs for it, or why not. */
export function planFor(d: Deployment, tools: Tools, lb: Loopback, secrets: Secrets = new Map()): Plan {
  const template = d.spec?.template;
  const container = template?.spec?.containers?.[0];
  const image = parseImage(container?.image);
  if (!container || !image) return { kind: "ignore", reason: `image ${container?.image ?? "(none)"} is not ghcr.io/fluxcd/<controller>:<tag> or ghcr.io/projectcapsule/capsule:<tag>` };
  const built = tools.get(image.controller);
  if (!built) return { kind: "ignore", reason: `the lab does not build ${image.controller}` };
  const binary = built.get(image.tag);
  if (!binary) {
    return { kind: "refuse", reason: `image ${container.image}: the lab's toolchain has no ${image.controller} ${image.tag} (it builds ${[...built.keys()].join(", ")}); not running another version` };
  }
  if (container.command !== undefined) return { kind: "refuse", reason: `container ${container.name} replaces the image's entrypoint (command), which the lab cannot run` };
  const replicas = d.spec?.replicas ?? 1;
  if (replicas === 0) return { kind: "stop", reason: "scaled to 0 replicas" };
  const volumes = secretVolumes(d, container, secrets, lb);
  if (typeof volumes === "string") return { kind: "wait", reason: volumes };
  const namespace = d.metadata.namespace ?? "default";
  const hash = templateHash(template, binary, volumes.files);
  const env = resolveEnv(template!, container, { namespace, podName: `${d.metadata.name}-${hash.slice(0, 10)}`, nodeName: "lab", ip: lb.host });
  const args = localArgs(image.controller, (container.args ?? []).map((a) => expand(a, env)), lb, volumes.mounts);
  const graceSeconds = template?.spec?.terminationGracePeriodSeconds ?? 30;
  return { kind: "run", controller: image.controller, tag: image.tag, binary, args, env, hash, graceSeconds, volumes: volumes.files };
}

/** A command line as a shell would read it back. */
function shellLine(words: readonly string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)).join(" ");
}

// ------------------------------------------------------------------ the runner

interface Proc {
  child: ChildProcess;
  plan: Extract<Plan, { kind: "run" }>;
  exited?: number | string;
  exitedAt?: number;
  restarts: number;
}

const log = (line: string) => process.stdout.write(`[runner ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

class Runner {
  private readonly procs = new Map<string, Proc>();
  /** The last message logged per Deployment for ignore/refuse/errors, so each is said once. */
  private readonly said = new Map<string, string>();
  private stopping = false;

  constructor(
    private readonly kubectl: string,
    private readonly kubeconfig: string,
    private readonly namespace: string,
    private readonly tools: Tools,
    private readonly lb: Loopback,
    private readonly marker: string,
    private readonly fill?: TlsFill,
  ) {}

  private kc(args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const p = execFile(this.kubectl, ["--kubeconfig", this.kubeconfig, ...args], { timeout: 15_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
        else resolve(String(stdout));
      });
      if (input !== undefined) p.stdin!.end(input);
    });
  }

  private sayOnce(key: string, line: string): boolean {
    if (this.said.get(key) === line) return false;
    this.said.set(key, line);
    log(line);
    return true;
  }

  private pidFile(name: string): string { return path.join(this.lb.stateDir, "run", `${name}.pid`); }
  private logFile(name: string): string { return path.join(this.lb.stateDir, "logs", `${name}.log`); }

  async tick(): Promise<void> {
    let items: Deployment[];
    try {
      items = (JSON.parse(await this.kc(["get", "deployments", "-n", this.namespace, "-o", "json"])) as { items: Deployment[] }).items;
    } catch (e) {
      this.sayOnce("(list)", `cannot list Deployments in ${this.namespace}: ${(e as Error).message.split("\n")[0]}`);
      return;
    }
    this.said.delete("(list)");
    if (this.fill) await this.fillTls(this.fill);
    const secrets = await this.secrets(items);
    const seen = new Set<string>();
    for (const d of items) {
      const name = d.metadata.name;
      seen.add(name);
      let plan: Plan;
      try {
        plan = planFor(d, this.tools, this.lb, secrets);
      } catch (e) {
        plan = { kind: "refuse", reason: (e as Error).message };
      }
      const proc = this.procs.get(name);
      if (plan.kind === "ignore") {
        this.sayOnce(name, `Deployment ${name}: not run (${plan.reason})`);
        if (proc) await this.stop(name, plan.reason);
      } else if (plan.kind === "refuse") {
        if (this.sayOnce(name, `Deployment ${name}: REFUSED: ${plan.reason}`)) await this.event(d, "ImageNotInLab", plan.reason);
        if (proc) await this.stop(name, `refused: ${plan.reason}`);
      } else if (plan.kind === "wait") {
        // A running process keeps running, as a pod keeps its mounted Secret.
        this.sayOnce(name, `Deployment ${name}: waiting: ${plan.reason}`);
      } else if (plan.kind === "stop") {
        this.said.delete(name);
        if (proc) await this.stop(name, plan.reason);
      } else {
        this.said.delete(name);
        if (proc && proc.plan.hash !== plan.hash) {
          await this.stop(name, `pod template changed (${proc.plan.hash} -> ${plan.hash})`);
          this.start(name, plan, "pod template changed", 0);
        } else if (!proc) {
          this.start(name, plan, `Deployment ${name}: ${d.spec?.replicas ?? 1} replica(s), image ${plan.controller}:${plan.tag}`, 0);
        } else if (proc.exited !== undefined) {
          // CrashLoopBackOff, shortened: 2 s doubling up to 30 s.
          const backoff = Math.min(30_000, 2000 * 2 ** Math.min(proc.restarts, 4));
          if (Date.now() - proc.exitedAt! >= backoff) this.start(name, plan, `restart ${proc.restarts + 1} after it exited (${proc.exited})`, proc.restarts + 1);
        }
      }
    }
    for (const name of [...this.procs.keys()]) if (!seen.has(name)) await this.stop(name, "Deployment deleted");
  }

  /** The Secrets the Deployments mount (data only), read in one list when any does. */
  private async secrets(items: readonly Deployment[]): Promise<Secrets> {
    const wanted = new Set(items.flatMap((d) => (d.spec?.template?.spec?.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : []))));
    if (wanted.size === 0) return new Map();
    try {
      const list = JSON.parse(await this.kc(["get", "secrets", "-n", this.namespace, "-o", "json"])) as { items: { metadata: { name: string }; data?: Record<string, string> }[] };
      this.said.delete("(secrets)");
      return new Map(list.items.filter((x) => wanted.has(x.metadata.name)).map((x) => [x.metadata.name, x.data ?? {}]));
    } catch (e) {
      this.sayOnce("(secrets)", `cannot list Secrets in ${this.namespace}: ${(e as Error).message.split("\n")[0]}`);
      return new Map();
    }
  }

  /**
   * The lab's stand-in for the certificate issuer a cluster would have
   * (Capsule's TLS controller, cert-manager): once the Secret exists without
   * a certificate (Capsule's chart creates it empty), it gets the lab's, whose
   * SAN is 127.0.0.1, the address the API server calls the webhooks at.
   */
  private async fillTls(fill: TlsFill): Promise<void> {
    let data: Record<string, string> | undefined;
    try {
      data = (JSON.parse(await this.kc(["get", "secret", fill.secret, "-n", this.namespace, "-o", "json"])) as { data?: Record<string, string> }).data ?? {};
    } catch {
      return; // not there (yet)
    }
    if (data["tls.crt"]) return;
    const files = Object.fromEntries(["tls.crt", "tls.key", "ca.crt"].map((f) => [f, fs.readFileSync(path.join(fill.dir, f)).toString("base64")]));
    try {
      await this.kc(["patch", "secret", fill.secret, "-n", this.namespace, "--type", "merge", "-p", JSON.stringify({ data: files })]);
      log(`Secret ${this.namespace}/${fill.secret} was empty: filled with the lab's certificate from ${fill.dir}`);
    } catch (e) {
      this.sayOnce("(fill)", `cannot fill Secret ${fill.secret}: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  /** Each Secret volume as files (0600 in a 0700 dir), replacing what an earlier start wrote. */
  private writeVolumes(volumes: readonly VolumeFiles[]): void {
    for (const v of volumes) {
      fs.rmSync(v.dir, { recursive: true, force: true });
      fs.mkdirSync(v.dir, { recursive: true, mode: 0o700 });
      for (const [file, b64] of Object.entries(v.data)) fs.writeFileSync(path.join(v.dir, file), Buffer.from(b64, "base64"), { mode: 0o600 });
    }
  }

  private start(name: string, plan: Extract<Plan, { kind: "run" }>, reason: string, restarts: number): void {
    // Their temporary files in the state dir, not /tmp (kustomize-controller
    // leaves a refused remote base's clone in $TMPDIR/kustomize-*): a full
    // down.sh (lab:down) removes them; `down.sh --only flux` keeps them, as
    // the runner's capsule-runner may still use that directory.
    const tmp = path.join(this.lb.stateDir, "tmp");
    fs.mkdirSync(tmp, { recursive: true });
    const env = { ...process.env, TMPDIR: tmp, KUBECONFIG: this.kubeconfig, [this.marker.split("=")[0]!]: this.marker.slice(this.marker.indexOf("=") + 1), ...plan.env };
    if (plan.controller === "source-controller") fs.mkdirSync(path.join(this.lb.stateDir, "storage"), { recursive: true });
    this.writeVolumes(plan.volumes);
    const envLine = Object.entries(plan.env).map(([k, v]) => `${k}=${v}`);
    log(`start ${name} (${reason}): ${shellLine([...envLine, plan.binary, ...plan.args])}`);
    const out = fs.openSync(this.logFile(name), "a");
    const child = spawn(plan.binary, plan.args, { env, stdio: ["ignore", out, out], detached: true });
    fs.closeSync(out);
    const proc: Proc = { child, plan, restarts };
    this.procs.set(name, proc);
    if (child.pid !== undefined) fs.writeFileSync(this.pidFile(name), `${child.pid}\n`);
    child.on("error", (e) => { proc.exited = `error: ${e.message}`; proc.exitedAt = Date.now(); });
    child.on("exit", (code, signal) => {
      proc.exited = signal ? `signal ${signal}` : `exit code ${code}`;
      proc.exitedAt = Date.now();
      if (this.procs.get(name) === proc && !this.stopping) log(`${name} (pid ${child.pid}) exited by itself: ${proc.exited}; log: ${this.logFile(name)}`);
      try {
        if (fs.readFileSync(this.pidFile(name), "utf8").trim() === String(child.pid)) fs.rmSync(this.pidFile(name));
      } catch { /* gone already */ }
    });
  }

  /** SIGTERM, then SIGKILL after the pod's grace period (at most 15 s). */
  async stop(name: string, reason: string): Promise<void> {
    const proc = this.procs.get(name);
    if (!proc) return;
    this.procs.delete(name);
    if (proc.exited !== undefined) { log(`stop ${name} (${reason}): had already exited (${proc.exited})`); return; }
    log(`stop ${name} (pid ${proc.child.pid}; ${reason}): ${shellLine([proc.plan.binary, ...proc.plan.args])}`);
    const done = new Promise<void>((r) => proc.child.once("exit", () => r()));
    proc.child.kill("SIGTERM");
    const grace = Math.min(proc.plan.graceSeconds, 15) * 1000;
    const timer = setTimeout(() => { log(`${name} ignored SIGTERM for ${grace / 1000}s: SIGKILL`); proc.child.kill("SIGKILL"); }, grace);
    await done;
    clearTimeout(timer);
    log(`stopped ${name} (${proc.exited})`);
  }

  private async event(d: Deployment, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const ev = {
      apiVersion: "v1", kind: "Event",
      metadata: { generateName: `${d.metadata.name}.`, namespace: this.namespace },
      involvedObject: { apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name, namespace: this.namespace, uid: d.metadata.uid },
      reason, message, type: "Warning", source: { component: "flux-capsule-lab-runner" },
      firstTimestamp: now, lastTimestamp: now, count: 1,
    };
    try {
      await this.kc(["create", "-f", "-"], JSON.stringify(ev));
    } catch (e) {
      log(`could not record Event ${reason} on Deployment ${d.metadata.name}: ${(e as Error).message}`);
    }
  }

  async shutdown(signal: string): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.procs.keys()].map((n) => this.stop(n, `runner stopping (${signal})`)));
  }
}

/** `--fill-tls-secret NAME=DIR`: the Secret to fill, and the directory holding tls.crt, tls.key and ca.crt. */
interface TlsFill { secret: string; dir: string }

function tlsFill(spec: string): TlsFill {
  const [secret, dir] = [spec.slice(0, spec.indexOf("=")), spec.slice(spec.indexOf("=") + 1)];
  if (!/^[a-z0-9.-]+$/.test(secret) || !dir) throw new Error(`--fill-tls-secret ${spec}: want NAME=DIR`);
  return { secret, dir };
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (lab/controllers/up.sh sets it from lib.sh)`);
  return v;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubectl: { type: "string" },
      tool: { type: "string", multiple: true },
      namespace: { type: "string", default: "flux-system" },
      "fill-tls-secret": { type: "string" },
    },
  });
  if (!values.kubectl || !values.tool?.length) throw new Error("usage: runner.ts --kubectl KUBECTL --tool DIR... [--namespace NS]");
  const port = (n: string) => Number(env(n));
  const lb: Loopback = {
    host: env("CTRL_HOST"),
    stateDir: env("CTRL_STATE"),
    ports: {
      "source-controller": { metrics: port("CTRL_SOURCE_METRICS_PORT"), health: port("CTRL_SOURCE_HEALTH_PORT"), storage: port("CTRL_SOURCE_STORAGE_PORT") },
      "kustomize-controller": { metrics: port("CTRL_KUSTOMIZE_METRICS_PORT"), health: port("CTRL_KUSTOMIZE_HEALTH_PORT") },
      ...(process.env.CTRL_CAPSULE_WEBHOOK_PORT
        ? { capsule: { metrics: port("CTRL_CAPSULE_METRICS_PORT"), health: port("CTRL_CAPSULE_HEALTH_PORT"), webhook: port("CTRL_CAPSULE_WEBHOOK_PORT") } }
        : {}),
    },
  };
  const tools = toolsFrom(values.tool);
  const fill = values["fill-tls-secret"] === undefined ? undefined : tlsFill(values["fill-tls-secret"]);
  const runner = new Runner(values.kubectl, env("CTRL_KUBECONFIG"), values.namespace!, tools, lb, `${env("CTRL_MARKER_VAR")}=${lb.stateDir}`, fill);
  log(`watching Deployments in ${values.namespace} every 1 s; binaries: ${[...tools].map(([c, t]) => `${c} ${[...t.keys()].join("/")}`).join(", ")}`);
  let stop: string | undefined;
  for (const s of ["SIGTERM", "SIGINT"] as const) process.on(s, () => { stop = s; });
  while (stop === undefined) {
    await runner.tick();
    for (let i = 0; i < 10 && stop === undefined; i++) await new Promise((r) => setTimeout(r, 100));
  }
  log(`${stop}: stopping the controllers`);
  await runner.shutdown(stop);
  log("runner stopped");
}

if (require.main === module) {
  main().catch((e: unknown) => {
    log(`FAILED: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
