// The threat suite with live controllers: `pulumi up` of the stack program,
// then Flux's source-controller and kustomize-controller (v1.9.5, run by
// lab/controllers/runner.ts from the Deployments the program applied) and
// Capsule v0.14.0 as processes against the lab. Each threat is a commit to a
// tenant branch; the table printed at the end is what the controllers did.
// Capsule mode first, then namespace mode. Needs `npm run lab:up` first.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { GitHubDouble, OWNER, startDouble } from "../lab/client/github";
import { bootstrap } from "../lab/client/bootstrap";
import { canI, getObject, kubectl, removeSuiteDir, sharedTempDir, short, useLab, waitFor } from "../lab/client/lab";
import { changes, LabStack, PLATFORM_REPO } from "../lab/client/stack";
import {
  bareRepoWith, Branch, controllerCommandLine, controllerRunning, controllers, dropFluxFinalizers, FLUX_CONTROLLERS, fluxCli, KS,
  readyTrue, removeCapsuleResidue, startGitHttp, stopFlux, stopRunner, syncTo,
} from "../lab/client/flux";
import { lockdownArgPatches } from "../components/flux/lockdown";
import {
  configMap, DEV, exists, kustomization, Mode, OPS, printTable, resetDev, Row, runIsolationOfFailures, runThreat,
  sa, seedBranch, tenantsFor, threats, yaml,
} from "../lab/client/threats";

const TOKEN = "e2e-token";
const say = (line: string) => process.stdout.write(`      ${line}\n`);

// ------------------------------------------------------------------ the run

interface Env {
  dir: string;
  double: GitHubDouble;
  dev: Branch;
  ops: Branch;
  remoteBase: string;
  stopGit: () => void;
}

async function startEnv(dir: string): Promise<Env> {
  const double = await startDouble(dir, TOKEN, { [PLATFORM_REPO]: [DEV.name, OPS.name] });
  const dev = new Branch(double, TOKEN, OWNER, PLATFORM_REPO, DEV.name);
  const ops = new Branch(double, TOKEN, OWNER, PLATFORM_REPO, OPS.name);
  await seedBranch(dev, DEV.home);
  await seedBranch(ops, OPS.home);
  // The remote base: a real git repository on loopback, so only the lockdown can stop it.
  const gitRoot = path.join(dir, "git-http");
  fs.mkdirSync(gitRoot);
  bareRepoWith(gitRoot, "base", { "cm/cm.yaml": yaml([configMap("remote-cm", DEV.home)]), "cm/kustomization.yaml": kustomization(["cm.yaml"]) });
  const git = await startGitHttp(gitRoot, path.join(dir, "git-http.log"));
  return { dir, double, dev, ops, remoteBase: `${git.url}/base.git//cm?ref=main`, stopGit: git.stop };
}

/**
 * Stops Flux (its Deployments scaled to 0: the runner stops the processes),
 * drops its finalizers, destroys the stack, then stops the runner (Capsule,
 * if running, stays up for its Tenants).
 */
async function teardown(lab: LabStack | undefined, mode: Mode): Promise<void> {
  try {
    await stopFlux();
    dropFluxFinalizers();
    for (const n of ["dev-team-extra", "dev-team-extra2"]) kubectl(["delete", "namespace", n, "--ignore-not-found", "--wait=false"]);
    if (lab) {
      const destroyed = changes(await lab.destroy());
      say(`[${mode}] destroy: ${JSON.stringify(destroyed)}`);
      await lab.remove();
    }
    for (const n of ["flux-system", DEV.home, OPS.home, "dev-team-extra"]) {
      await waitFor(`namespace ${n} gone`, () => (getObject("namespace", n) === undefined ? true : undefined), 180_000);
    }
  } finally {
    stopRunner();
  }
}

/** Deployment args the runner replaces with loopback ones or drops (in-cluster only). */
const IN_CLUSTER = /^--(events-addr|storage-path|storage-addr|storage-adv-addr|metrics-addr|health-addr)=|^--enable-leader-election(=|$)/;

/** The first container's args of a Flux Deployment as applied in flux-system. */
function appliedArgs(name: string): string[] {
  const d = getObject<{ spec: { template: { spec: { containers: { args?: string[] }[] } } } }>("deployment", name, "flux-system");
  assert.ok(d, `Deployment flux-system/${name} applied`);
  return d.spec.template.spec.containers[0]!.args ?? [];
}

/**
 * The running controller's command line holds every non-in-cluster arg of its
 * applied Deployment, the lockdown flags among them; returns the lockdown flags seen.
 */
function assertRunsApplied(name: string): string[] {
  const applied = appliedArgs(name);
  const sa = applied.find((a) => a.startsWith("--default-service-account="))?.split("=")[1] ?? "(none)";
  const lockdown = lockdownArgPatches(sa).filter((p) => p.controllers.includes(name)).map((p) => p.arg);
  for (const flag of lockdown) assert.ok(applied.includes(flag), `Deployment ${name} carries ${flag}`);
  const running = controllerCommandLine(name);
  assert.ok(running, `${name} runs`);
  for (const a of applied.filter((x) => !IN_CLUSTER.test(x))) assert.ok(running.includes(a), `${name}'s command line has ${a}: ${running.join(" ")}`);
  return lockdown;
}

function suite(mode: Mode): void {
  describe(`isolation e2e: ${mode} mode, live Flux${mode === "capsule" ? " and Capsule" : ""}`, function () {
    this.timeout(20 * 60_000);
    let env: Env;
    let dir: string | undefined;
    let lab: LabStack | undefined;
    let booted = false;
    /** This mode's threat table, printed after the suite. */
    const rows: Row[] = [];
    beforeEach(function () {
      if (!booted && this.currentTest?.title.startsWith("1.") !== true) this.skip();
    });

    before(async () => {
      useLab();
      assert.equal(getObject("namespace", "flux-system"), undefined, "the lab must start without Flux (another stack is up?)");
      assert.ok(!controllerRunning("kustomize-controller") && !controllerRunning("flux-runner"), "Flux controllers already running in the lab");
      for (const t of [DEV, OPS]) {
        assert.ok(!canI(sa(t.home, t.name), "patch", "namespaces"), `${sa(t.home, t.name)} can already patch namespaces (Capsule residue?)`);
      }
      dir = sharedTempDir(`e2e-iso-${mode}-`);
      env = await startEnv(dir);
      const tenants = tenantsFor(mode);
      if (mode === "capsule") {
        // Capsule first: the program creates Tenant objects, so their CRD and webhooks must exist.
        controllers("up.sh", ["--only", "capsule",
          ...tenants.flatMap((t) => ["--capsule-user", `ServiceAccount:${sa(t.namespaces[0]!, t.name)}`])]);
      } else {
        assert.ok(!controllerRunning("capsule"), "namespace mode runs without Capsule");
      }
      lab = await LabStack.create({ name: `e2e-iso-${mode}`, tenancy: mode, tenants, double: env.double, token: TOKEN, stateDir: env.dir });
    });

    after(async function () {
      printTable(rows);
      try {
        await teardown(lab, mode);
      } finally {
        try {
          if (mode === "capsule") {
            controllers("down.sh");
            // Capsule's binding outlives Capsule: left in place it lets the same tenant SAs patch any namespace later.
            say(`Capsule stopped; its ClusterRoleBinding capsule-namespace-provisioner (namespaces create+patch, cluster-wide) still bound: ${removeCapsuleResidue().join(", ") || "(none)"}; removed with Capsule's CRDs and config`);
          }
          env?.stopGit();
          await env?.double.close();
        } finally {
          removeSuiteDir(dir, this.test?.parent);
        }
      }
    });

    it("1. pulumi up, then Flux from the platform repo: flux-system and every tenant Ready", async () => {
      await bootstrap(lab!, { log: (line) => say(`[${mode}] ${line}`) });
      for (const t of [DEV, OPS]) assert.ok(exists("configmap", "app", t.home), `${t.home}/app applied by Flux`);
      for (const name of FLUX_CONTROLLERS) {
        const lockdown = assertRunsApplied(name);
        say(`[${mode}] ${name} runs with its applied Deployment's args${lockdown.length ? `, lockdown: ${lockdown.join(" ")}` : ""}`);
      }
      assert.ok(controllerCommandLine("kustomize-controller")!.includes("--no-remote-bases=true"));
      booted = true;
    });

    it("2. a commit to a tenant branch appears in the cluster", async () => {
      const sha = await env.dev.put("app.yaml", yaml([configMap("app", DEV.home, { version: "2" })]), "dev-team: version 2");
      const s = await syncTo(DEV.home, DEV.name, DEV.name, sha);
      const cm = getObject<{ data: Record<string, string> }>("configmap", "app", DEV.home);
      say(`commit ${sha.slice(0, 8)} -> Ready ${s.ready?.status} (${short(s.ready?.message, 90)}); ${DEV.home}/app version=${cm?.data.version}`);
      assert.equal(cm?.data.version, "2");
    });

    it("3. Pulumi and Flux do not fight: preview --refresh after Flux reconciled flux-system", async () => {
      await readyTrue(KS, "flux-system", "flux-system");
      const lines: string[] = [];
      const r = await lab!.stack.preview({ refresh: true, diff: true, onOutput: (o) => lines.push(o) });
      const plan = changes(r.changeSummary);
      say(`preview --refresh: ${JSON.stringify(plan)}`);
      if (Object.keys(plan).length > 0) {
        const text = lines.join("").split("\n").filter((l) => /^\s*[~+-]{1,2}\s|^\s*[~+-] |\[diff|:\s/.test(l) && !/^\s*(pulumi:|Resources:|Duration:)/.test(l));
        say("preview --refresh diff (fields Pulumi and Flux disagree on):");
        for (const l of text.slice(0, 80)) say(`  ${l}`);
        fs.writeFileSync(path.join(env.dir, `preview-refresh-${mode}.txt`), lines.join(""));
        say(`full preview output: ${path.join(env.dir, `preview-refresh-${mode}.txt`)}`);
      }
      assert.deepEqual(plan, {}, "pulumi preview --refresh shows changes after Flux reconciled flux-system");
    });

    it("4. the threats: each a commit to dev-team's branch", async () => {
      const list = threats(env.remoteBase);
      // The remote base is reachable: kustomize outside the controller builds it.
      const probe = path.join(env.dir, "remote-probe");
      fs.mkdirSync(probe, { recursive: true });
      fs.writeFileSync(path.join(probe, "kustomization.yaml"), kustomization([env.remoteBase]));
      const built = kubectl(["kustomize", probe]);
      say(`remote base ${env.remoteBase}: kubectl kustomize outside Flux ${/remote-cm/.test(built.stdout) ? "builds it (reachable)" : "FAILED: " + short(built.stderr)}`);
      // Else threat 3's denial would prove only that the base cannot be fetched.
      assert.match(built.stdout, /remote-cm/, `the remote base must be reachable outside Flux: ${short(built.stderr)}`);
      for (const t of list) {
        rows.push(await runThreat(env.dev, mode, t));
        if (t.id === "7b") rows.push(await runIsolationOfFailures(env.dev, env.ops, mode));
      }
      const reset = await resetDev(env.dev);
      say(`reset dev-team's branch: Ready ${reset.ready?.status}; extra namespaces pruned: ${getObject("namespace", "dev-team-extra") === undefined || "terminating"}`);
      assert.equal(reset.ready?.status, "True");
      const bad = rows.filter((r) => !r.ok);
      assert.deepEqual(bad.map((r) => `${r.id}: ${r.observed}`), []);
    });

    it("5. kustomize-controller scaled to 0 stops its process; back to 1 runs it again, as applied", async () => {
      const name = "kustomize-controller";
      const scale = (n: number) => kubectl(["scale", "deployment", name, "-n", "flux-system", `--replicas=${n}`]);
      assert.equal(scale(0).status, 0);
      await waitFor(`${name} stopped`, () => (controllerRunning(name) ? undefined : true), 60_000, 250);
      assert.equal(scale(1).status, 0);
      await waitFor(`${name} running again`, () => (controllerRunning(name) ? true : undefined), 60_000, 250);
      assertRunsApplied(name);
      await readyTrue(KS, "flux-system", "flux-system");
      // The restarted controller reconciles every Kustomization again: settled before the flux CLI reads them (scenario 6).
      for (const t of [DEV, OPS]) await readyTrue(KS, t.name, t.home);
      say(`[${mode}] ${name}: replicas 0 stopped the process, replicas 1 started it again with the applied args; every Kustomization Ready again`);
    });

    it("6. the flux CLI as a client: check, get all -A, tree, reconcile --with-source and events report what the stack made", async () => {
      const run = (args: string[], expect: RegExp[]): string => {
        const r = fluxCli(args);
        say(`[${mode}] $ flux ${args.join(" ")} (exit ${r.status})`);
        for (const l of r.output.trimEnd().split("\n").slice(0, 40)) say(`[${mode}]   ${l}`);
        assert.equal(r.status, 0, `flux ${args.join(" ")} failed:\n${r.output}`);
        for (const e of expect) assert.match(r.output, e, `flux ${args.join(" ")}: no ${e}`);
        return r.output;
      };
      run(["check"], [/source-controller: deployment ready/, /kustomize-controller: deployment ready/, /all checks passed/]);
      const all = run(["get", "all", "-A"], [/gitrepository\/flux-system/, /kustomization\/flux-system/]);
      for (const t of [DEV, OPS]) {
        const line = all.split("\n").find((l) => l.startsWith(t.home) && l.includes(`kustomization/${t.name}`));
        assert.ok(line !== undefined && /\bTrue\b/.test(line), `flux get all -A: kustomization ${t.home}/${t.name} not listed Ready: ${line ?? "(missing)"}`);
      }
      // flux-system's inventory: what Flux applied from the platform repo (the tenants are Pulumi's, not in it).
      run(["tree", "kustomization", "flux-system", "-n", "flux-system"], [/Deployment\/flux-system\/kustomize-controller/, /Deployment\/flux-system\/source-controller/]);
      run(["reconcile", "kustomization", DEV.name, "-n", DEV.home, "--with-source"], [/applied revision/]);
      run(["events", "-n", DEV.home, "--for", `Kustomization/${DEV.name}`], [/Kustomization\/|ReconciliationSucceeded|Progressing/]);
    });
  });
}

suite("capsule");
suite("namespace");
