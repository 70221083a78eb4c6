// The trust boundary with the real engine: hostile values are refused by the
// stack program before the engine sends anything anywhere. The GitHub
// double's request log is the witness: a refused `pulumi up` leaves it empty,
// while a valid preview of the same stack (the control) does reach it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { GitHubDouble, startGitHubDouble } from "../lab/github/server";
import { getObject, labInstallYaml, sharedTempDir, useLab } from "./lab";
import { LabStack, TenantSpec } from "./stack";

const TOKEN = "e2e-token";
const OWNER = "acme";
const TENANTS: TenantSpec[] = [{ name: "ops-team", namespaces: ["ops-team-apps"], repository: "ops-fleet", branch: "main" }];

const say = (line: string) => process.stdout.write(`      ${line}\n`);

/** The lab's install.yaml with one object an attacker would add: cluster-admin for an account of theirs. */
function tamperedInstallYaml(dir: string): string {
  const file = path.join(dir, "install-tampered.yaml");
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "flux-support", labels: { "app.kubernetes.io/part-of": "flux" } },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: "attacker", namespace: "default" }],
  };
  fs.writeFileSync(file, fs.readFileSync(labInstallYaml(), "utf8") + "---\n" + stringify(binding));
  return file;
}

describe("trust boundary in the lab: refused values never leave the engine", function () {
  this.timeout(10 * 60_000);
  let dir: string;
  let double: GitHubDouble;
  let lab: LabStack;
  const rows: string[] = [];

  before(async () => {
    useLab();
    dir = sharedTempDir("e2e-trust-");
    double = await startGitHubDouble({ dataDir: path.join(dir, "github"), token: TOKEN, owner: OWNER });
    await double.createRepo(OWNER, "fleet-infra", "main");
    await double.createRepo(OWNER, "ops-fleet", "main");
    lab = await LabStack.create({ name: "e2e-trust", tenancy: "namespace", tenants: TENANTS, double, token: TOKEN, stateDir: dir });
  });

  after(async () => {
    say("value | expected | observed");
    for (const r of rows) say(r);
    await lab?.remove().catch(() => undefined);
    await double?.close();
  });

  /** Rewrites one field of the stack's flux config. */
  async function setFlux(change: Record<string, unknown>): Promise<void> {
    const current = JSON.parse((await lab.stack.getConfig("flux-capsule:flux")).value) as Record<string, unknown>;
    await lab.stack.setConfig("flux-capsule:flux", { value: JSON.stringify({ ...current, ...change }) });
  }

  /** `pulumi up` must fail with `message`, and neither GitHub nor the cluster may have seen anything. */
  async function refused(what: string, message: string): Promise<void> {
    double.requests.length = 0;
    const error = await lab.up().then(() => undefined, (err: Error) => err);
    assert.ok(error, `${what}: pulumi up succeeded`);
    assert.ok(error.message.includes(message), `${what}: expected the refusal\n  ${message}\nin:\n${error.message.slice(-3000)}`);
    const requests = double.requests.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(requests, [], `${what}: requests reached the GitHub double`);
    assert.equal(getObject("namespace", "flux-system"), undefined, `${what}: flux-system was created`);
    const state = await lab.stack.exportStack();
    const resources = ((state.deployment as { resources?: { type: string }[] }).resources ?? []).filter((r) => r.type !== "pulumi:pulumi:Stack");
    assert.deepEqual(resources.map((r) => r.type), [], `${what}: resources in the state`);
    rows.push(`${what} | refused, 0 GitHub requests, nothing applied | ${message.slice(0, 90)}...; ${requests.length} requests; ${resources.length} resources`);
    say(`checked: ${what}: refused with "${message.slice(0, 100)}...", 0 requests to the GitHub double, no flux-system, no resources in the state`);
  }

  it("control: a valid preview does reach the GitHub double (the log is a real witness)", async () => {
    double.requests.length = 0;
    await lab.preview();
    const requests = double.requests.length;
    assert.ok(requests > 0, "a valid preview configures the GitHub provider against the double");
    rows.push(`(control) valid config, preview | reaches GitHub | ${requests} requests`);
    say(`checked: a valid preview sent ${requests} requests to the GitHub double (e.g. ${double.requests[0]!.method} ${double.requests[0]!.path})`);
  });

  it("refuses a platform repository with '..' before any request", async () => {
    await setFlux({ repository: "fleet-infra/../../orgs/acme" });
    await refused("repository \"fleet-infra/../../orgs/acme\"",
      "flux-capsule:flux.repository \"fleet-infra/../../orgs/acme\" is not a GitHub repository name");
    await setFlux({ repository: "fleet-infra" });
  });

  it("refuses a tampered install.yaml before any request", async () => {
    await setFlux({ manifests: tamperedInstallYaml(dir) });
    await refused("install.yaml + ClusterRoleBinding to default/attacker", "ClusterRoleBinding \"flux-support\"");
    await setFlux({ manifests: labInstallYaml() });
  });
});
