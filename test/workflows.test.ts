import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

const root = path.join(__dirname, "..");

/** The parts of a workflow these tests read. */
type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = {
  if?: string;
  permissions?: Record<string, string> | string;
  environment?: string | { name: string };
  concurrency?: { group: string; "cancel-in-progress": boolean };
  uses?: string;
  steps: Step[];
};
type Workflow = { on: Record<string, unknown>; permissions?: Record<string, string> | string; jobs: Record<string, Job> };

/** The step that runs Pulumi: preview's `pulumi preview` run step, up's pulumi/actions step. */
const pulumiStep = (steps: Step[]) => steps.find((s) => /^pulumi preview /.test(s.run ?? "") || (s.uses?.startsWith("pulumi/actions@") && s.with?.command))!;
const workflows = path.join(root, ".github", "workflows");
const workflowFiles = () => fs.readdirSync(workflows).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));
const read = (file: string) => fs.readFileSync(path.join(workflows, file), "utf8");
const load = (file: string) => parse(read(file)) as Workflow;

/** A toolchain script's binary: the script installs it into the cache (a no-op when cached) and prints its directory. */
function tool(script: string, name: string): string {
  const dir = execFileSync("bash", [path.join(root, "lab/toolchain", script)], { encoding: "utf8" }).trim();
  return path.join(dir, name);
}

/**
 * zizmor, offline (no GitHub API: the online audits are off), with the
 * pedantic persona: everything the default persona reports plus code smells
 * (undocumented permissions, unnamed jobs, computed expressions), without the
 * auditor persona's accepted false positives. No configuration file and no
 * inline ignore comments are honoured: an exception has to be made here.
 */
function zizmor(bin: string, target: string): { status: number | null; findings: { ident: string }[]; output: string } {
  // No token reaches it either: offline it needs none.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(GH_TOKEN|GITHUB_TOKEN|ZIZMOR_GITHUB_TOKEN)$/.test(k)));
  const run = spawnSync(bin, ["--offline", "--no-config", "--no-ignores", "--persona=pedantic", "--format=json", target], { encoding: "utf8", env });
  let findings: { ident: string }[] = [];
  try { findings = JSON.parse(run.stdout) as { ident: string }[]; } catch { /* asserted by the caller */ }
  return { status: run.status, findings, output: run.stdout + run.stderr };
}

describe("GitHub workflows", function () {
  this.timeout(300_000);
  let actionlint: string;
  let zizmorBin: string;
  before(() => {
    actionlint = tool("actionlint.sh", "actionlint");
    zizmorBin = tool("zizmor.sh", "zizmor");
  });

  it("pass actionlint", () => {
    const files = workflowFiles().map((f) => path.join(workflows, f));
    assert.deepEqual(files.map((f) => path.basename(f)).sort(), ["preview.yml", "up.yml"]);
    const run = spawnSync(actionlint, ["-no-color", ...files], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it("actionlint really rejects a broken workflow (the check can fail)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-"));
    const bad = path.join(dir, "bad.yml");
    fs.writeFileSync(bad, "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n");
    const run = spawnSync(actionlint, ["-no-color", bad], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.notEqual(run.status, 0);
    assert.match(run.stdout, /matrix/);
  });

  it("pass zizmor (offline, pedantic persona): no findings", () => {
    const { status, findings, output } = zizmor(zizmorBin, workflows);
    assert.deepEqual(findings.map((f) => f.ident), [], output);
    assert.equal(status, 0, output);
  });

  it("zizmor really rejects an unsafe workflow (the check can fail)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-"));
    const bad = path.join(dir, "bad.yml");
    fs.writeFileSync(bad, [
      "name: bad",
      "on: pull_request_target",
      "permissions: write-all",
      "jobs:",
      "  greet:",
      "    name: greet",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "        with:",
      "          ref: ${{ github.event.pull_request.head.sha }}",
      "      - run: echo \"${{ github.event.pull_request.title }}\"",
      "        env:",
      "          KUBECONFIG_DATA: ${{ secrets[format('KUBECONFIG_{0}', 'dev')] }}",
      "",
    ].join("\n"));
    const { status, findings, output } = zizmor(zizmorBin, bad);
    fs.rmSync(dir, { recursive: true, force: true });
    // 10-14: findings, by highest severity (14: high); 1 and 2 would be zizmor failing to run.
    assert.ok(status !== null && status >= 10, `exit ${status}: ${output}`);
    const idents = new Set(findings.map((f) => f.ident));
    for (const audit of ["unpinned-uses", "template-injection", "excessive-permissions", "dangerous-triggers", "artipacked", "overprovisioned-secrets"]) {
      assert.ok(idents.has(audit), `${audit} not reported: ${[...idents].join(", ")}`);
    }
  });

  it("preview runs on pull requests with refresh and posts the comment rendered from its events; up runs on main", () => {
    const preview = load("preview.yml");
    const up = load("up.yml");
    assert.ok(preview.on.pull_request, "preview on pull_request");
    assert.deepEqual((up.on.push as { branches: string[] }).branches, ["main"]);
    const steps = Object.values(preview.jobs)[0]!.steps;
    const run = pulumiStep(steps).run!;
    for (const flag of ["--refresh", "--diff", "--non-interactive", '--event-log "$RUNNER_TEMP/preview-events.jsonl"']) assert.ok(run.includes(flag), `preview: ${flag} in ${run}`);
    const comment = steps.find((s) => (s.run ?? "").includes("deploy/preview-comment.ts"));
    assert.ok(comment, "a step renders the comment with deploy/preview-comment.ts");
    assert.ok(comment.run!.includes('"$RUNNER_TEMP/preview-events.jsonl"') && comment.run!.includes("gh pr comment"), "from the preview's event log, posted with gh");
    assert.ok(steps.indexOf(comment) > steps.indexOf(pulumiStep(steps)), "after the preview");
    assert.ok(fs.existsSync(path.join(root, "deploy", "preview-comment.ts")));
    assert.equal(pulumiStep(Object.values(up.jobs)[0]!.steps).with!.command, "up");
  });

  it("preview runs the policy pack (README \"Policy pack\")", () => {
    const preview = load("preview.yml");
    assert.ok(pulumiStep(Object.values(preview.jobs)[0]!.steps).run!.includes("--policy-pack policy"));
    assert.ok(fs.existsSync(path.join(root, "policy", "PulumiPolicy.yaml")));
  });

  it("loads the program without a second type check only after npm test has type-checked it", () => {
    for (const file of ["preview.yml", "up.yml"]) {
      const steps = Object.values(load(file).jobs)[0]!.steps;
      const pulumiAt = steps.indexOf(pulumiStep(steps));
      assert.equal(steps[pulumiAt]!.env?.PULUMI_NODEJS_TRANSPILE_ONLY, "true", `${file}: the pulumi step loads transpile-only`);
      assert.ok(steps.slice(0, pulumiAt).some((s) => s.run === "npm test"), `${file}: npm test (lint, type check, unit tests) runs before it`);
    }
  });

  it("set up the Go of lab/toolchain/lib.sh before npm run setup, which builds and checks the Go modules with it", () => {
    const goVersion = /^GO_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(root, "lab/toolchain/lib.sh"), "utf8"))?.[1];
    assert.ok(goVersion, "lib.sh names GO_VERSION");
    for (const file of ["preview.yml", "up.yml"]) {
      const steps = Object.values(load(file).jobs)[0]!.steps;
      const setupGo = steps.findIndex((s) => s.uses?.startsWith("actions/setup-go@"));
      assert.ok(setupGo >= 0, `${file}: a setup-go step`);
      const goMod = String(steps[setupGo]!.with?.["go-version-file"]);
      assert.match(goMod, /^lab\/toolchain\/go\/[^/]+\/go\.mod$/, `${file}: the version from one of the toolchain's go.mod files`);
      assert.equal(steps[setupGo]!.with?.["go-version"], undefined, `${file}: no go-version (setup-go would prefer it to the file)`);
      const goModText = fs.readFileSync(path.join(root, goMod), "utf8");
      assert.match(goModText, new RegExp(`^go ${goVersion.replace(/\./g, "\\.")}$`, "m"), `${file}: ${goMod} names go ${goVersion}`);
      assert.doesNotMatch(goModText, /^toolchain /m, `${file}: ${goMod} has no toolchain line (setup-go would install that version instead)`);
      const checkout = steps.findIndex((s) => s.uses?.startsWith("actions/checkout@"));
      assert.ok(checkout >= 0 && checkout < setupGo, `${file}: after the checkout that holds ${goMod}`);
      assert.equal(steps[setupGo]!.with?.cache, false, `${file}: no Go cache carried between runs`);
      assert.ok(setupGo < steps.findIndex((s) => s.run === "npm run setup"), `${file}: before npm run setup`);
    }
  });

  describe("split by trust (README \"Security model\")", () => {
    /** Every secret a workflow names, read from its text (so no reference escapes the YAML walk). */
    const secretsOf = (file: string) => new Set([...read(file).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]!));
    const previewSecrets = ["KUBECONFIG_PREVIEW", "PLATFORM_GITHUB_TOKEN_READONLY", "PULUMI_ACCESS_TOKEN_PREVIEW"];
    const upSecrets = ["KUBECONFIG_UP", "PLATFORM_GITHUB_TOKEN", "PULUMI_ACCESS_TOKEN"];
    const envName = (job: Job) => (typeof job.environment === "object" ? job.environment.name : job.environment);

    it("pins every action by a full commit SHA, with its release tag as a comment", () => {
      for (const file of workflowFiles()) {
        const wf = load(file);
        const uses = Object.values(wf.jobs).flatMap((j) => [j.uses, ...(j.steps ?? []).map((s) => s.uses)]).filter((u): u is string => !!u);
        assert.ok(uses.length > 0, file);
        for (const ref of uses) {
          if (ref.startsWith("./")) continue; // this repository's own action, at the checked-out commit
          assert.match(ref, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${file}: ${ref} is not pinned by commit SHA`);
        }
        const lines = read(file).split("\n").filter((l) => /^\s*(-\s+)?uses:/.test(l));
        for (const line of lines) {
          if (/uses:\s*\.\//.test(line)) continue;
          assert.match(line, /@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${file}: "${line.trim()}" needs its "# vX.Y.Z" comment`);
        }
      }
    });

    it("no workflow runs on a privileged trigger (pull_request_target, workflow_run)", () => {
      for (const file of workflowFiles()) {
        const triggers = Object.keys(load(file).on);
        for (const t of ["pull_request_target", "workflow_run"]) assert.ok(!triggers.includes(t), `${file}: ${t}`);
      }
    });

    it("grants nothing by default; preview may write only pull-request comments, up only reads", () => {
      const preview = load("preview.yml");
      const up = load("up.yml");
      assert.deepEqual(preview.permissions, {}, "preview: top-level permissions {}");
      assert.deepEqual(up.permissions, {}, "up: top-level permissions {}");
      for (const job of Object.values(preview.jobs)) {
        assert.deepEqual(job.permissions, { contents: "read", "pull-requests": "write" });
      }
      for (const job of Object.values(up.jobs)) assert.deepEqual(job.permissions, { contents: "read" });
    });

    it("preview skips forks and runs in its preview environment with the read-only secrets only", () => {
      const preview = load("preview.yml");
      assert.deepEqual(Object.keys(preview.on), ["pull_request"]);
      for (const job of Object.values(preview.jobs)) {
        assert.equal(job.if, "github.event.pull_request.head.repo.full_name == github.repository");
        assert.equal(envName(job), "preview-${{ matrix.stack }}");
        const pulumi = pulumiStep(job.steps);
        assert.match(pulumi.run!, /^pulumi preview /);
        assert.equal(pulumi.env!.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_ACCESS_TOKEN_PREVIEW }}");
        assert.equal(pulumi.env!.GITHUB_TOKEN, "${{ secrets.PLATFORM_GITHUB_TOKEN_READONLY }}");
        assert.ok(job.steps.some((s) => s.env?.KUBECONFIG_DATA === "${{ secrets.KUBECONFIG_PREVIEW }}"), "kubeconfig from KUBECONFIG_PREVIEW");
      }
      assert.deepEqual([...secretsOf("preview.yml")].sort(), previewSecrets);
    });

    it("up runs only on pushes to main, in the stack's protected environment, one update per stack", () => {
      const up = load("up.yml");
      assert.deepEqual(up.on, { push: { branches: ["main"] } });
      for (const job of Object.values(up.jobs)) {
        assert.equal(envName(job), "${{ matrix.stack }}");
        assert.deepEqual(job.concurrency, { group: "up-${{ matrix.stack }}", "cancel-in-progress": false });
      }
      assert.deepEqual([...secretsOf("up.yml")].sort(), upSecrets);
      for (const s of previewSecrets) assert.ok(!secretsOf("up.yml").has(s), `up uses preview's ${s}`);
    });

    it("checks out without persisting the token, and passes secrets and expressions to scripts only through env", () => {
      for (const file of workflowFiles()) {
        const text = read(file);
        assert.doesNotMatch(text, /secrets\s*\[/, `${file}: a computed secrets[...] index gives the runner every secret`);
        for (const job of Object.values(load(file).jobs)) {
          for (const step of job.steps) {
            if (step.uses?.startsWith("actions/checkout@")) assert.equal(step.with?.["persist-credentials"], false, `${file}: persist-credentials`);
            if (step.run !== undefined) assert.doesNotMatch(step.run, /\$\{\{/, `${file}: "${step.run}" interpolates an expression into a script`);
          }
        }
      }
    });
  });
});
