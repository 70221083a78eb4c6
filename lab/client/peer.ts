// The way our users run Flux without us, as the lab runs it: `flux bootstrap
// git` over SSH into a repository of the GitHub double, then tenants made
// with `flux create tenant`, `flux create source git` and `flux create
// kustomization`. Shared by the peer suite (e2e/peer.test.ts: byte identity,
// adoption) and the bench (bench/engine.ts, the peer rows: the same tenants, both ways).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { controllers, fluxCliAsync, startFluxCli } from "./flux";
import type { GitHubDouble } from "./github";

/** A key pair on disk, as `flux bootstrap --private-key-file` and `flux create source git --private-key-file` read it. */
export interface KeyFile { readonly privateKeyFile: string; readonly publicKey: string }

/** A new ECDSA P-384 key pair (Flux's default algorithm) in `dir`/`name`, made by ssh-keygen. */
export function newKeyFile(dir: string, name: string): KeyFile {
  const file = path.join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-b", "384", "-N", "", "-C", name, "-f", file]);
  return { privateKeyFile: file, publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
}

/** The SSH URL of a repository of the double, as both `flux bootstrap git` and the stack write it. */
export function doubleSshUrl(double: Pick<GitHubDouble, "owner" | "sshPort">, repo: string): string {
  return `ssh://git@127.0.0.1:${double.sshPort}/${double.owner}/${repo}`;
}

/** What `flux bootstrap git` is given: the repository, the path, and the key it pushes with (and puts in the cluster). */
export interface FluxBootstrapGit {
  readonly url: string;
  readonly path: string;
  readonly branch: string;
  readonly key: KeyFile;
}

/** The `flux bootstrap git` command line (without the kubeconfig flags). */
export function bootstrapArgs(b: FluxBootstrapGit): string[] {
  return ["bootstrap", "git", `--url=${b.url}`, `--branch=${b.branch}`, `--path=${b.path}`, `--private-key-file=${b.key.privateKeyFile}`, "--silent"];
}

/**
 * `flux bootstrap git` on the lab's cluster, with the lab's runner started
 * beside it (the controllers run from the Deployments bootstrap applies, as
 * a kubelet would start their pods). Resolves when bootstrap exits; throws
 * with its output when it fails.
 */
export async function fluxBootstrapGit(b: FluxBootstrapGit): Promise<string> {
  const run = startFluxCli(bootstrapArgs(b));
  // The runner (lab/controllers/up.sh --only flux) waits for the controllers
  // bootstrap installs; bootstrap waits for them to reconcile flux-system.
  // --keep-crds: the CRDs are bootstrap's own.
  try {
    controllers("up.sh", ["--only", "flux", "--keep-crds"]);
  } catch (e) {
    run.kill();
    throw new Error(`${(e as Error).message}; flux bootstrap's output:\n${(await run.done).output}`);
  }
  const r = await run.done;
  if (r.status !== 0) throw new Error(`flux ${bootstrapArgs(b).join(" ")} failed (exit ${r.status}):\n${r.output}`);
  return r.output;
}

/** A tenant made the flux CLI's way. */
export interface FluxCliTenant {
  readonly name: string;
  readonly namespace: string;
  readonly url: string;
  readonly branch: string;
  readonly key: KeyFile;
}

/**
 * The flux CLI's commands for one tenant, in order: its namespace, account
 * and RoleBinding (`flux create tenant`), its source with its own key (the
 * Secret `flux create source git` makes), and its Kustomization reconciled
 * as the tenant's account. Each waits for Ready, as the CLI does by default.
 */
function fluxCreateTenantArgs(t: FluxCliTenant): string[][] {
  return [
    ["create", "tenant", t.name, `--with-namespace=${t.namespace}`],
    ["create", "source", "git", t.name, `--namespace=${t.namespace}`, `--url=${t.url}`, `--branch=${t.branch}`,
      `--private-key-file=${t.key.privateKeyFile}`, "--silent"],
    ["create", "kustomization", t.name, `--namespace=${t.namespace}`, `--source=GitRepository/${t.name}`, "--path=./",
      "--prune=true", `--service-account=${t.name}`, "--interval=10m"],
  ];
}

/** Runs {@link fluxCreateTenantArgs} one after another; throws naming the command that failed. */
export async function fluxCreateTenant(t: FluxCliTenant): Promise<void> {
  for (const args of fluxCreateTenantArgs(t)) {
    const r = await fluxCliAsync(args, 180_000);
    if (r.status !== 0) throw new Error(`flux ${args.join(" ")} failed (exit ${r.status}):\n${r.output}`);
  }
}
