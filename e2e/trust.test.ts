// The trust boundary with the real engine: hostile values are refused by the
// stack program before the engine sends anything anywhere. The GitHub
// double's request log is the witness: a refused `pulumi up` leaves it empty,
// while a valid preview of the same stack (the control) does reach it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, parseAllDocuments, stringify } from "yaml";
import { GitHubDouble, startDouble } from "../lab/client/github";
import { CONTEXT, getObject, KUBECONFIG, kubectl, kubectlOk, labFlux, labInstallYaml, removeSuiteDir, ROOT, sharedTempDir, useLab } from "../lab/client/lab";
import { changes, LabStack, TenantSpec } from "../lab/client/stack";

const TOKEN = "e2e-token";
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
  this.timeout(20 * 60_000);
  let dir: string;
  let double: GitHubDouble;
  let lab: LabStack;
  const rows: string[] = [];

  before(async () => {
    useLab();
    dir = sharedTempDir("e2e-trust-");
    double = await startDouble(dir, TOKEN, { "fleet-infra": [], "ops-fleet": [] });
    lab = await LabStack.create({ name: "e2e-trust", tenancy: "namespace", tenants: TENANTS, double, token: TOKEN, stateDir: dir });
  });

  after(async function () {
    say("value | expected | observed");
    for (const r of rows) say(r);
    try {
      await lab?.remove().catch(() => undefined);
      await double?.close();
    } finally {
      removeSuiteDir(dir, this.test?.parent);
    }
  });

  /** Rewrites one field of the stack's flux config. */
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
    await lab.setFlux({ repository: "fleet-infra/../../orgs/acme" });
    await refused("repository \"fleet-infra/../../orgs/acme\"",
      "flux-capsule:flux.repository \"fleet-infra/../../orgs/acme\" is not a GitHub repository name");
    await lab.setFlux({ repository: "fleet-infra" });
  });

  it("refuses a tampered install.yaml before any request", async () => {
    // Pinned, as an operator would pin the file handed over: the release rules still refuse it.
    await lab.setFlux({ ...labFlux(tamperedInstallYaml(dir)) });
    await refused("install.yaml + ClusterRoleBinding to default/attacker", "ClusterRoleBinding \"flux-support\"");
    await lab.setFlux({ ...labFlux() });
  });

  it("the pull request's identity (deploy/preview-reader.yaml) previews drift read-only, and cannot apply it", async () => {
    const up = changes(await lab.up());
    say(`up as the platform (admin): ${JSON.stringify(up)}`);
    const roKubeconfig = readOnlyIdentity(dir, [`${TENANTS[0]!.name}-deploy-key`]);
    assert.equal(kubectl(["--kubeconfig", roKubeconfig, "auth", "can-i", "patch", "deployments", "-n", "flux-system"]).stdout.trim(), "no");
    assert.equal(kubectl(["--kubeconfig", roKubeconfig, "auth", "can-i", "get", "secrets/flux-system", "-n", "flux-system"]).stdout.trim(), "yes");
    try {
      // The identity is swapped through the stack's kubernetes:kubeconfig, so
      // the provider itself shows as one update; the workflow gives it by
      // environment instead. Before the edit that is all there is.
      await lab.stack.setConfig("kubernetes:kubeconfig", { value: roKubeconfig });
      const clean = changes(await lab.preview(true));
      say(`preview --refresh as the read-only identity: ${JSON.stringify(clean)} (the provider's kubeconfig)`);
      assert.deepEqual(clean, { update: 1 }, "reading every managed object, the deploy-key Secrets included, needs nothing more");
      kubectlOk(["patch", "kustomizations.kustomize.toolkit.fluxcd.io", "ops-team", "-n", "ops-team-apps", "--type", "merge", "-p", "{\"spec\":{\"interval\":\"7m0s\"}}"]);
      const plan = changes(await lab.preview(true));
      say(`preview --refresh as the read-only identity, after an out-of-band edit: ${JSON.stringify(plan)}`);
      assert.deepEqual(plan, { update: 2 }, "the drifted Kustomization shows too, and nothing failed for want of permissions");
      // As the up workflow runs it: refresh, then repair the drift, which needs a patch.
      const error = await lab.up(true).then(() => undefined, (err: Error) => err);
      assert.ok(error && /forbidden/i.test(error.message), `up as the read-only identity must be refused by the API server:\n${error?.message.slice(-2000)}`);
      rows.push("preview identity: preview --refresh | drift shown, no error | " + JSON.stringify(plan));
      rows.push("preview identity: up | forbidden | forbidden");
      say("checked: up as the read-only identity was refused (forbidden); the Kustomization keeps the out-of-band interval until up runs as the platform");
    } finally {
      // Destroy runs with the provider as the state holds it: an up as the
      // platform puts the platform's kubeconfig (and the edited interval) back first.
      await lab.stack.setConfig("kubernetes:kubeconfig", { value: KUBECONFIG });
      say(`up as the platform again: ${JSON.stringify(changes(await lab.up()))}`);
      const destroyed = changes(await lab.destroy());
      say(`destroy as the platform: ${JSON.stringify(destroyed)}`);
      kubectl(["delete", "clusterrolebinding,clusterrole", "flux-capsule-preview", "--ignore-not-found"]);
      kubectl(["delete", "serviceaccount", "flux-capsule-preview", "-n", "kube-system", "--ignore-not-found"]);
    }
  });
});

/**
 * A kubeconfig for a ServiceAccount bound to deploy/preview-reader.yaml (its
 * Secret rule extended with `secrets`), with the lab's server and CA and the
 * lab's context name, so the stack's `kubernetes:context` still applies.
 */
function readOnlyIdentity(dir: string, secrets: readonly string[]): string {
  const docs = parseAllDocuments(fs.readFileSync(path.join(ROOT, "deploy", "preview-reader.yaml"), "utf8")).map((d) => d.toJS() as Record<string, unknown>);
  const role = docs.find((d) => d.kind === "ClusterRole") as { rules: { resources: string[]; resourceNames?: string[] }[] };
  role.rules.find((r) => r.resources.includes("secrets"))!.resourceNames!.push(...secrets);
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "flux-capsule-preview" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "flux-capsule-preview" },
    subjects: [{ kind: "ServiceAccount", name: "flux-capsule-preview", namespace: "kube-system" }],
  };
  const account = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "flux-capsule-preview", namespace: "kube-system" } };
  kubectlOk(["apply", "-f", "-"], [account, role, binding].map((o) => "---\n" + stringify(o)).join(""));
  const token = kubectlOk(["create", "token", "flux-capsule-preview", "-n", "kube-system", "--duration", "1h"]).trim();
  const admin = parse(fs.readFileSync(KUBECONFIG, "utf8")) as { clusters: { name: string; cluster: Record<string, unknown> }[] };
  const file = path.join(dir, "kubeconfig-preview");
  fs.writeFileSync(file, stringify({
    apiVersion: "v1", kind: "Config", "current-context": CONTEXT,
    clusters: [{ name: "lab", cluster: admin.clusters[0]!.cluster }],
    users: [{ name: "preview", user: { token } }],
    contexts: [{ name: CONTEXT, context: { cluster: "lab", user: "preview" } }],
  }), { mode: 0o600 });
  return file;
}
