// A stack of this project driven by the Automation API against the lab:
// file backend, the GitHub double as GitHub, the lab cluster as the cluster.
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineEvent, LocalWorkspace, OpMap, Stack } from "@pulumi/pulumi/automation";
import type { PlatformTenant } from "../../components";
import { previewComment } from "../../deploy/preview-comment";
import type { GitHubApi } from "./github";
import { CONTEXT, KUBECONFIG, labFlux, ROOT } from "./lab";

/** A tenant as written in the stack config (a Platform's tenant; the lab gives quotas as numbers). */
export type TenantSpec = Omit<PlatformTenant, "namespaceQuota"> & { namespaceQuota?: number };

/** The platform repository (under the double's owner) and the cluster's path in it, as every lab stack has them. */
export const PLATFORM_REPO = "fleet-infra";
export const CLUSTER_PATH = "clusters/lab";

/** What a lab stack needs. */
export interface LabStackOptions {
  /** Stack name; its settings file is `Pulumi.<name>.yaml` in the project (git-ignored). */
  readonly name: string;
  readonly tenancy: "capsule" | "namespace";
  readonly tenants: TenantSpec[];
  readonly double: GitHubApi;
  readonly token: string;
  /** Directory for the file backend and PULUMI_HOME. */
  readonly stateDir: string;
  /** The install.yaml the program reads. Default: the lab's (real CRDs). */
  readonly manifests?: string;
  /** Project directory whose program runs. Default: this checkout. */
  readonly workDir?: string;
}

/**
 * The engine settings every run uses: offline, file backend, no plugin
 * downloads, and a temporary directory of its own in `stateDir` (made here).
 */
export function engineEnv(stateDir: string): Record<string, string> {
  const tmp = path.join(stateDir, "tmp");
  fs.mkdirSync(tmp, { recursive: true });
  return {
    // The Kubernetes provider writes its kubeconfig to a temporary file at
    // every configure (for Helm) and never removes it: one file per
    // provider per run, kept here (removed with the state) and not in /tmp.
    TMPDIR: tmp,
    PULUMI_HOME: path.join(stateDir, "home"),
    PULUMI_BACKEND_URL: `file://${path.join(stateDir, "backend")}`,
    PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    // The program is loaded transpile-only, as the workflows load it: `npm
    // test` type-checks it (CI's unit stage), and checking it again on every
    // preview, up, refresh and destroy costs about 5 s of CPU each.
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    // The GitHub provider reads GITHUB_TOKEN too; the stack config is the one source here.
    GITHUB_TOKEN: "",
  };
}

/** Printed progress: one line per resource operation, prefixed with the stack. */
function progress(stack: string): (out: string) => void {
  return (out) => {
    for (const line of out.split("\n")) {
      if (/^\s*(\+|-|~|\+-|-\+)\s|error|warning|Resources:|Duration:/.test(line)) process.stdout.write(`      [${stack}] ${line.trim()}\n`);
    }
  };
}

/** The stack plus what the tests read back: the summary of changes per run. */
export class LabStack {
  /** The tenants of the config last written. */
  tenants: TenantSpec[];
  /** The tenancy of the config last written. */
  tenancy: "capsule" | "namespace";
  /** Keys of `flux-capsule:flux` set by {@link setFlux}, over the lab's. */
  private fluxChanges: Record<string, unknown> = {};
  /** `flux-capsule:capsule`, set by {@link setCapsule}: default Capsule is already there (the lab's). */
  private capsule: Record<string, unknown> = { install: false };

  constructor(readonly stack: Stack, readonly options: LabStackOptions) {
    this.tenants = options.tenants;
    this.tenancy = options.tenancy;
  }

  /** Creates (or selects) the stack and writes its whole config. */
  static async create(options: LabStackOptions): Promise<LabStack> {
    fs.mkdirSync(path.join(options.stateDir, "backend"), { recursive: true });
    fs.mkdirSync(path.join(options.stateDir, "home"), { recursive: true });
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: options.name, workDir: options.workDir ?? ROOT },
      { envVars: engineEnv(options.stateDir), pulumiHome: path.join(options.stateDir, "home") },
    );
    const lab = new LabStack(stack, options);
    await lab.setTenants(options.tenants, options.tenancy);
    return lab;
  }

  /** Rewrites the config for these tenants (and tenancy: default the one last written). */
  async setTenants(tenants: TenantSpec[], tenancy = this.tenancy): Promise<void> {
    const d = this.options.double;
    const flux = labFlux(this.options.manifests);
    await this.stack.setAllConfig({
      "github:owner": { value: d.owner },
      "github:token": { value: this.options.token, secret: true },
      "github:baseUrl": { value: d.baseUrl },
      "kubernetes:kubeconfig": { value: KUBECONFIG },
      "kubernetes:context": { value: CONTEXT },
      "flux-capsule:flux": {
        value: JSON.stringify({
          ...flux,
          repository: PLATFORM_REPO,
          path: CLUSTER_PATH,
          sshHost: `127.0.0.1:${d.sshPort}`,
          knownHosts: d.knownHosts,
          ...this.fluxChanges,
        }),
      },
      "flux-capsule:tenancy": { value: tenancy },
      "flux-capsule:capsule": { value: JSON.stringify(this.capsule) },
      "flux-capsule:tenants": { value: JSON.stringify(tenants) },
    });
    this.tenants = tenants;
    this.tenancy = tenancy;
  }

  /**
   * Changes keys of `flux-capsule:flux` (e.g. `{ keyRotation: "2" }`) and
   * rewrites the config; later {@link setTenants} calls keep the change.
   */
  async setFlux(change: Record<string, unknown>): Promise<void> {
    this.fluxChanges = { ...this.fluxChanges, ...change };
    await this.setTenants(this.tenants);
  }

  /** Replaces `flux-capsule:capsule` (e.g. `{ install: true, chart, values }`) and rewrites the config. */
  async setCapsule(capsule: Record<string, unknown>): Promise<void> {
    this.capsule = capsule;
    await this.setTenants(this.tenants);
  }

  async preview(refresh = false): Promise<OpMap> {
    const r = await this.stack.preview({ refresh, diff: false, onOutput: progress(this.options.name) });
    return r.changeSummary;
  }

  /**
   * `pulumi preview` (`--refresh` when asked) as the preview workflow runs
   * it: `comment` is what the workflow posts on the pull request
   * (deploy/preview-comment.ts, from the same engine events); `changed`, the
   * URNs of the resources it would change.
   */
  async previewForReview(refresh = false): Promise<{ plan: OpMap; comment: string; changed: string[] }> {
    const events: EngineEvent[] = [];
    const r = await this.stack.preview({ refresh, onEvent: (e) => events.push(e) });
    const changed = events.map((e) => e.resourcePreEvent?.metadata)
      .filter((m) => m !== undefined && !["same", "refresh", "read"].includes(m.op)).map((m) => m!.urn);
    return { plan: r.changeSummary, comment: previewComment(events, this.options.name), changed };
  }

  /** `pulumi up`; with `refresh`, as the up workflow runs it (drift is repaired). */
  async up(refresh = false): Promise<OpMap> {
    const r = await this.stack.up({ refresh, onOutput: progress(this.options.name) });
    return r.summary.resourceChanges ?? {};
  }

  async refresh(): Promise<OpMap> {
    const r = await this.stack.refresh({ onOutput: progress(this.options.name), clearPendingCreates: true });
    return r.summary.resourceChanges ?? {};
  }

  async destroy(): Promise<OpMap> {
    const r = await this.stack.destroy({ onOutput: progress(this.options.name) });
    return r.summary.resourceChanges ?? {};
  }

  /** The stack's checkpoint as stored by the file backend (what a state leak would expose). */
  checkpointText(): string {
    const dir = path.join(this.options.stateDir, "backend", ".pulumi", "stacks");
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.startsWith(this.options.name)) files.push(p);
      }
    };
    walk(dir);
    if (files.length === 0) throw new Error(`no checkpoint for ${this.options.name} under ${dir}`);
    return files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  }

  /** Removes the stack and its settings file from the project. */
  async remove(): Promise<void> {
    await this.stack.workspace.removeStack(this.options.name, { force: true });
    fs.rmSync(path.join(this.options.workDir ?? ROOT, `Pulumi.${this.options.name}.yaml`), { force: true });
  }
}

/** Changes in a summary: `{create: 3}`; not `same`, nor `read` (the stack program reads its last update's outputs). */
export function changes(summary: OpMap): Record<string, number> {
  return Object.fromEntries(Object.entries(summary).filter(([op, n]) => op !== "same" && op !== "read" && (n ?? 0) > 0)) as Record<string, number>;
}
