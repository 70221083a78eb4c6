import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

const root = path.join(__dirname, "..");

/** The parts of a workflow these tests read. */
type Workflow = { jobs: Record<string, { steps: { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }[] }> };
const workflows = path.join(root, ".github", "workflows");

/** actionlint, built from its Go module by the toolchain script (a no-op when cached). */
function actionlint(): string {
  const dir = execFileSync("bash", [path.join(root, "lab/toolchain/actionlint.sh")], { encoding: "utf8" }).trim();
  return path.join(dir, "actionlint");
}

describe("GitHub workflows", function () {
  this.timeout(300_000);
  let bin: string;
  before(() => { bin = actionlint(); });

  it("pass actionlint", () => {
    const files = fs.readdirSync(workflows).filter((f) => f.endsWith(".yml")).map((f) => path.join(workflows, f));
    assert.deepEqual(files.map((f) => path.basename(f)).sort(), ["preview.yml", "up.yml"]);
    const run = spawnSync(bin, ["-no-color", ...files], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it("actionlint really rejects a broken workflow (the check can fail)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-"));
    const bad = path.join(dir, "bad.yml");
    fs.writeFileSync(bad, "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n");
    const run = spawnSync(bin, ["-no-color", bad], { encoding: "utf8" });
    assert.notEqual(run.status, 0);
    assert.match(run.stdout, /matrix/);
  });

  it("preview runs on pull requests with refresh and a PR comment; up runs on main", () => {
    const preview = parse(fs.readFileSync(path.join(workflows, "preview.yml"), "utf8"));
    const up = parse(fs.readFileSync(path.join(workflows, "up.yml"), "utf8"));
    assert.ok(preview.on.pull_request, "preview on pull_request");
    assert.deepEqual(up.on.push.branches, ["main"]);
    const step = (wf: Workflow) => Object.values(wf.jobs)[0]!.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    assert.deepEqual([step(preview).with!.command, step(preview).with!.refresh, step(preview).with!["comment-on-pr"]], ["preview", true, true]);
    assert.equal(step(up).with!.command, "up");
  });

  it("loads the program without a second type check only after npm test has type-checked it", () => {
    for (const file of ["preview.yml", "up.yml"]) {
      const wf = parse(fs.readFileSync(path.join(workflows, file), "utf8")) as Workflow;
      const steps = Object.values(wf.jobs)[0]!.steps;
      const pulumiAt = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
      assert.equal(steps[pulumiAt]!.env?.PULUMI_NODEJS_TRANSPILE_ONLY, "true", `${file}: the pulumi step loads transpile-only`);
      assert.ok(steps.slice(0, pulumiAt).some((s) => s.run === "npm test"), `${file}: npm test (lint, type check, unit tests) runs before it`);
    }
  });
});
