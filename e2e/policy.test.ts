// The policy pack under the real engine (npm run test:policy): `pulumi preview
// --policy-pack policy` passes for the stack and blocks a stack without
// lockdown and a hand-written program that breaks every rule, each with its
// rule's message. The engine starts the pack through the toolchain's language
// host (RunPlugin). No cluster and no GitHub API are needed: the Kubernetes
// provider previews offline against an unreachable server and the GitHub
// provider makes no request during preview, so this suite runs beside the lab
// without touching it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { POLICY_NAMES } from "../policy/policies";
import { removeSuiteDir, ROOT, useToolchain } from "../lab/client/lab";
import { engineEnv } from "../lab/client/stack";

const UNREACHABLE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
`;

/** GitHub provider config that sends nothing anywhere (preview makes no request; the port is closed). */
const GITHUB_OFFLINE = { "github:owner": "acme", "github:token": "none", "github:baseUrl": "http://127.0.0.1:9/" };

/** The hand-written program: one object breaking each rule (or, with `violate: false`, keeping it). */
const PROGRAM = `import * as fs from "node:fs";
import * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const v = new pulumi.Config().requireBoolean("violate");
const provider = new k8s.Provider("none", { kubeconfig: fs.readFileSync(__dirname + "/kubeconfig", "utf8") });
const opts = { provider };
new github.RepositoryDeployKey("key", { repository: "fleet", title: "t", key: "ssh-ed25519 AAAA", readOnly: !v });
new k8s.rbac.v1.ClusterRoleBinding("crb", {
  metadata: { name: "crb" },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: v ? "cluster-admin" : "view" },
  subjects: [{ kind: "ServiceAccount", name: "dev", namespace: "dev" }],
}, opts);
new k8s.apiextensions.CustomResource("ks", {
  apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "apps", namespace: "dev" },
  spec: { interval: "10m", path: "./", prune: true, sourceRef: { kind: "GitRepository", name: "dev" }, ...(v ? {} : { serviceAccountName: "dev" }) },
}, opts);
new k8s.apps.v1.Deployment("kc", {
  metadata: { name: "kustomize-controller", namespace: "flux-system" },
  spec: {
    selector: { matchLabels: { app: "kc" } },
    template: { metadata: { labels: { app: "kc" } }, spec: { containers: [{ name: "manager", image: "kc",
      args: v ? [] : ["--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=default"] }] } },
  },
}, opts);
new k8s.core.v1.Secret("secret", { metadata: { name: v ? "stolen" : "dev-deploy-key", namespace: "dev" }, stringData: { identity: "x" } }, opts);
new k8s.core.v1.Namespace("ns", {
  metadata: { name: "dev", labels: { "toolkit.fluxcd.io/tenant": "dev", "capsule.clastix.io/tenant": v ? "ops" : "dev" } },
}, opts);
`;

describe("policy pack under the real engine (pulumi preview --policy-pack policy)", function () {
  this.timeout(600_000);
  let dir: string;
  const stacks: Stack[] = [];

  before(() => {
    useToolchain();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flux-capsule-policy-"));
    fs.writeFileSync(path.join(dir, "kubeconfig"), UNREACHABLE_KUBECONFIG);
    fs.mkdirSync(path.join(dir, "state", "backend"), { recursive: true });
    fs.mkdirSync(path.join(dir, "state", "home"), { recursive: true });
  });
  after(async function () {
    try {
      for (const s of stacks) await s.workspace.removeStack(s.name, { force: true }).catch(() => undefined);
    } finally {
      removeSuiteDir(dir, this.test?.parent);
    }
  });

  const stackAt = async (name: string, workDir: string, config: Record<string, string>) => {
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: name, workDir },
      { envVars: engineEnv(path.join(dir, "state")), pulumiHome: path.join(dir, "state", "home") },
    );
    stacks.push(stack);
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
    return stack;
  };
  /** Preview with the pack: its output, and whether the engine refused. */
  const preview = async (stack: Stack) => {
    let out = "";
    try {
      const r = await stack.preview({ policyPacks: [path.join(ROOT, "policy")], onOutput: (s) => { out += s; } });
      return { ok: true, out: out + r.stdout };
    } catch (err) {
      return { ok: false, out: `${out}\n${String(err)}` };
    }
  };

  const platformConfig = (lockdown: boolean) => ({
    ...GITHUB_OFFLINE,
    "kubernetes:kubeconfig": path.join(dir, "kubeconfig"),
    "kubernetes:context": "none",
    "flux-capsule:flux": JSON.stringify({ version: "v2.7.5", repository: "fleet-infra", path: "clusters/dev", manifests: path.join(ROOT, "test/fixtures/flux-install.yaml"), lockdown }),
    "flux-capsule:tenancy": "namespace",
    "flux-capsule:capsule": JSON.stringify({ install: false }),
    "flux-capsule:tenants": JSON.stringify([
      { name: "dev-team", namespaces: ["dev-team-apps", "dev-team-tools"], repository: "dev-fleet" },
      { name: "ops-team", namespaces: ["ops-team-apps"], repository: "ops-fleet" },
    ]),
  });

  it("passes for the stack", async () => {
    const r = await preview(await stackAt("e2e-policy", ROOT, platformConfig(true)));
    assert.ok(r.ok, r.out);
    assert.match(r.out, /flux-capsule@v0\.1\.0/);
    // Nothing left unchecked either: the key Secrets' placement is decided without their (unknown) contents.
    assert.doesNotMatch(r.out, /\[(mandatory|advisory)\]/);
  });

  it("blocks the stack without lockdown, with the rule's message", async () => {
    const r = await preview(await stackAt("e2e-policy", ROOT, platformConfig(false)));
    assert.equal(r.ok, false, r.out);
    assert.match(r.out, /\[mandatory\]\s+controller-lockdown-flags/);
    assert.match(r.out, /Deployment flux-system\/kustomize-controller lacks the lockdown argument --no-remote-bases=true/);
  });

  describe("a hand-written program in another project", () => {
    let program: string;
    before(() => {
      program = path.join(dir, "program");
      fs.mkdirSync(program);
      fs.writeFileSync(path.join(program, "Pulumi.yaml"), "name: hand-written\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
      fs.writeFileSync(path.join(program, "package.json"), JSON.stringify({ name: "hand-written", version: "0.0.0", private: true, main: "index.ts" }));
      fs.writeFileSync(path.join(program, "index.ts"), PROGRAM);
      fs.copyFileSync(path.join(dir, "kubeconfig"), path.join(program, "kubeconfig"));
      fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(program, "node_modules"));
    });

    it("passes when it keeps the rules", async () => {
      const r = await preview(await stackAt("keeps", program, { ...GITHUB_OFFLINE, "hand-written:violate": "false" }));
      assert.ok(r.ok, r.out);
      assert.doesNotMatch(r.out, /\[mandatory\]/);
    });

    it("is blocked for each rule it breaks, with the rule's message", async () => {
      const r = await preview(await stackAt("breaks", program, { ...GITHUB_OFFLINE, "hand-written:violate": "true" }));
      assert.equal(r.ok, false, r.out);
      const expected: [string, RegExp][] = [
        [POLICY_NAMES.deployKey, /deploy key on repository "fleet" is not read-only/],
        [POLICY_NAMES.rbac, /ClusterRoleBinding crb binds tenant subject ServiceAccount dev\/dev to "cluster-admin"/],
        [POLICY_NAMES.flux, /Kustomization dev\/apps names no serviceAccountName/],
        [POLICY_NAMES.lockdown, /Deployment flux-system\/kustomize-controller lacks the lockdown argument --no-cross-namespace-refs=true/],
        [POLICY_NAMES.secret, /Secret dev\/stolen holds a private key in namespace "dev"/],
        [POLICY_NAMES.namespaces, /namespace "dev" is claimed by tenant "ops"/],
      ];
      for (const [policy, message] of expected) {
        assert.match(r.out, new RegExp(`\\[mandatory\\]\\s+${policy}\\b`), `${policy} reported`);
        assert.match(r.out, message);
      }
    });
  });
});
