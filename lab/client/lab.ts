// The lab as its clients see it (the e2e suites, lab/demo.ts, bench/engine.ts):
// the toolchain on PATH, the cluster's kubeconfig, kubectl, and git over SSH
// with a given key.
import { execFileSync, spawnSync, SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The repository root (the Pulumi project). */
export const ROOT = path.resolve(__dirname, "../..");
/** The lab's state directory (lab/cluster/lib.sh). */
export const LAB_DIR = process.env.FLUX_CAPSULE_LAB ?? "/tmp/flux-capsule-lab";
/** The lab's kubeconfig and context. */
export const KUBECONFIG = path.join(LAB_DIR, "kubeconfig");
export const CONTEXT = "flux-capsule-lab";

let toolDirs: string | undefined;

function buildToolchain(): string {
  const out = execFileSync("bash", [path.join(ROOT, "lab/toolchain/build.sh"), "lab"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const match = /^export PATH=(.*):\$PATH$/m.exec(out);
  if (!match) throw new Error(`lab/toolchain/build.sh printed no PATH line: ${out}`);
  return match[1]!;
}

/** Puts the pinned toolchain first on this process's PATH, building what is missing; needs no cluster. */
export function useToolchain(): void {
  if (toolDirs === undefined) {
    // FLUX_CAPSULE_TOOL_PATH: directories of tools built some other way (toolchain work).
    toolDirs = process.env.FLUX_CAPSULE_TOOL_PATH ?? buildToolchain();
    process.env.PATH = `${toolDirs}:${process.env.PATH ?? ""}`;
  }
}

/**
 * Puts the pinned toolchain (pulumi, providers, kubectl, ...) first on this
 * process's PATH, building what is missing (a no-op when cached), and points
 * KUBECONFIG at the lab. Fails with the command to run when the lab is down.
 */
export function useLab(): void {
  useToolchain();
  if (!fs.existsSync(KUBECONFIG)) throw new Error(`no lab at ${LAB_DIR}: start it with \`npm run lab:up\``);
  process.env.KUBECONFIG = KUBECONFIG;
  const ready = kubectl(["get", "--raw", "/readyz"]);
  if (ready.status !== 0) throw new Error(`the lab's apiserver is not ready (${ready.stderr.trim()}); restart it with \`npm run lab:down && npm run lab:up\``);
}

/**
 * The Flux release the lab installs: the one its controllers belong to, which
 * go/flux pins (the flux CLI's version).
 */
export const LAB_FLUX_VERSION = /^\s*github\.com\/fluxcd\/flux2\/v2 (v\S+)/m
  .exec(fs.readFileSync(path.join(ROOT, "lab/toolchain/go/flux/go.mod"), "utf8"))![1]!;

let installYaml: string | undefined;

/**
 * The lab's Flux install.yaml: {@link LAB_FLUX_VERSION}'s, built as the
 * release builds it (lab/toolchain/flux-release.sh; a no-op when cached).
 */
export function labInstallYaml(): string {
  installYaml ??= path.join(execFileSync("bash", [path.join(ROOT, "lab/toolchain/flux-release.sh"), "--dir", LAB_FLUX_VERSION],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim(), "install.yaml");
  return installYaml;
}

export interface LabFlux { [key: string]: unknown; version: string; manifests: string; manifestsSha256: string }

/**
 * The lab's flux settings for the release: version, manifests and their
 * sha256 (a release's install.yaml carries no version label, so the package
 * asks for the pin, as for any copy of a release's file).
 */
export function labFlux(manifests = labInstallYaml()): LabFlux {
  return { version: LAB_FLUX_VERSION, manifests, manifestsSha256: createHash("sha256").update(fs.readFileSync(manifests)).digest("hex") };
}

/** The older Flux release the toolchain builds, with its controllers (lab/toolchain/flux-release.sh, flux.sh): where the upgrade scenario starts. */
export const OLDER_FLUX_VERSION = "v2.7.3";

/** The flux settings for another release the toolchain builds (e.g. {@link OLDER_FLUX_VERSION}). */
export function releaseFlux(version: string): LabFlux {
  const dir = execFileSync("bash", [path.join(ROOT, "lab/toolchain/flux-release.sh"), "--dir", version], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  return { ...labFlux(path.join(dir, "install.yaml")), version };
}

/** Runs the lab's kubectl; never throws, the caller asserts on status and output. */
export function kubectl(args: readonly string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync("kubectl", ["--context", CONTEXT, ...args], { encoding: "utf8", input, env: { ...process.env, KUBECONFIG } });
}

/** kubectl that must succeed; returns stdout. */
export function kubectlOk(args: readonly string[], input?: string): string {
  const r = kubectl(args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** A Kubernetes object as JSON, or undefined when it does not exist. */
export function getObject<T = Record<string, unknown>>(kind: string, name: string, namespace?: string): T | undefined {
  const r = kubectl(["get", kind, name, "-o", "json", ...(namespace ? ["-n", namespace] : [])]);
  if (r.status !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${kind} ${name}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as T;
}

/** `kubectl auth can-i` as a user: true for yes. */
export function canI(user: string, verb: string, resource: string, namespace?: string): boolean {
  const r = kubectl(["auth", "can-i", verb, resource, "--as", user, ...(namespace ? ["-n", namespace] : [])]);
  return r.stdout.trim() === "yes";
}

/** A message on one line, cut at `n` characters (for progress lines and tables). */
export const short = (m: string | undefined, n = 150) => (m ?? "").replace(/\s+/g, " ").slice(0, n);

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 60_000, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Git over SSH with one private key, trusting only `knownHosts`. */
export function gitWithKey(privateKey: string, knownHosts: string, args: readonly string[], cwd?: string): SpawnSyncReturns<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-ssh-"));
  const keyFile = path.join(dir, "id");
  const hostsFile = path.join(dir, "known_hosts");
  fs.writeFileSync(keyFile, privateKey.endsWith("\n") ? privateKey : privateKey + "\n", { mode: 0o600 });
  fs.writeFileSync(hostsFile, knownHosts);
  try {
    return spawnSync("git", args, {
      cwd,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_TERMINAL_PROMPT: "0",
        GIT_SSH_COMMAND: `ssh -i ${keyFile} -o IdentitiesOnly=yes -o UserKnownHostsFile=${hostsFile} -o StrictHostKeyChecking=yes -o BatchMode=yes`,
      },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A Secret's data, decoded. */
export function secretData(name: string, namespace: string): Record<string, string> {
  const s = getObject<{ data: Record<string, string> }>("secret", name, namespace);
  if (!s) throw new Error(`no Secret ${namespace}/${name}`);
  return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

/** A temporary directory that user `git` (the double's sshd) can traverse. */
export function sharedTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** Whether a test or hook of `suite` (or of a suite inside it) has failed so far. */
function suiteFailed(suite: Mocha.Suite): boolean {
  const hooks = suite as unknown as Record<"_beforeAll" | "_beforeEach" | "_afterEach" | "_afterAll", Mocha.Hook[] | undefined>;
  const runnables: Mocha.Runnable[] = [...suite.tests, ...(hooks._beforeAll ?? []), ...(hooks._beforeEach ?? []), ...(hooks._afterEach ?? []), ...(hooks._afterAll ?? [])];
  return runnables.some((r) => r.state === "failed") || suite.suites.some(suiteFailed);
}

/**
 * Removes a suite's temporary directory ({@link sharedTempDir}) with all in
 * it: the double's repositories, the stack's state, and the temporary files
 * of the processes the suite ran with their TMPDIR there (engineEnv). Call it
 * last in the suite's `after` (a `finally`), once nothing uses the directory;
 * `suite` is the hook's `this.test?.parent`. With
 * FLUX_CAPSULE_LAB_KEEP_ON_FAIL=1 a suite where a test or a hook failed
 * keeps its directory for inspection (not the `after` hook calling this one:
 * mocha marks it failed only once it has returned). Never throws: a directory it cannot remove
 * is named, not made a failure of the suite.
 */
export function removeSuiteDir(dir: string | undefined, suite: Mocha.Suite | undefined): void {
  if (dir === undefined || !fs.existsSync(dir)) return;
  if (process.env.FLUX_CAPSULE_LAB_KEEP_ON_FAIL === "1" && suite !== undefined && suiteFailed(suite)) {
    process.stdout.write(`      kept ${dir} (a test or hook failed; FLUX_CAPSULE_LAB_KEEP_ON_FAIL=1)\n`);
    return;
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    process.stdout.write(`      could not remove ${dir}: ${(e as Error).message}\n`);
  }
}

/**
 * Every live descendant of `pid` (children, their children, ...), read from
 * /proc. The engine starts its language host and providers in process groups
 * of their own, so killing the CLI's group does not reach them: a test that
 * kills the CLI collects these first and kills them too.
 */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    parent.set(ppid, [...(parent.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parent.get(p) ?? []) { out.push(c); walk(c); }
  };
  walk(pid);
  return out;
}
