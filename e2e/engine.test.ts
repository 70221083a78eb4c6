// The real engine against the real lab: `pulumi preview/up/refresh/destroy`
// of the stack program, with the GitHub double as GitHub. Each step prints
// what it checked. Needs `npm run lab:up` (the lab) first.
import * as assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { GitHubDouble, keyBody, OWNER, startDouble } from "../lab/client/github";
import { removeCapsuleResidue } from "../lab/client/flux";
import { canI, descendants, getObject, gitWithKey, kubectl, kubectlOk, LAB_FLUX_VERSION, removeSuiteDir, ROOT, secretData, sharedTempDir, useLab, waitFor } from "../lab/client/lab";
import { changes, engineEnv, LabStack, TenantSpec } from "../lab/client/stack";

const TOKEN = "e2e-token";

const say = (line: string) => process.stdout.write(`      ${line}\n`);

/** The platform repository with dev-team's branch, and ops-team's own repository. */
const REPOS = { "fleet-infra": ["dev-team"], "ops-fleet": [] };

const TENANTS: TenantSpec[] = [
  { name: "dev-team", namespaces: ["dev-team-apps", "dev-team-tools"], sharedRepository: true },
  { name: "ops-team", namespaces: ["ops-team-apps"], repository: "ops-fleet", branch: "main", path: "./clusters/lab" },
];

interface Deployment { status?: { conditions?: { type: string; status: string }[] } }
const available = (d: Deployment | undefined) => d?.status?.conditions?.some((c) => c.type === "Available" && c.status === "True") ?? false;

function tenantSpecs(ns: string, name: string): { source: Record<string, unknown>; sync: Record<string, unknown> } {
  const source = getObject<{ spec: Record<string, unknown> }>("gitrepositories.source.toolkit.fluxcd.io", name, ns);
  const sync = getObject<{ spec: Record<string, unknown> }>("kustomizations.kustomize.toolkit.fluxcd.io", name, ns);
  assert.ok(source && sync, `tenant ${name}: GitRepository and Kustomization in ${ns}`);
  return { source: source.spec, sync: sync.spec };
}

/** The RBAC matrix of one tenant reconciler, printed and returned. */
function rbacMatrix(user: string, own: string[], foreign: string[]): Record<string, boolean> {
  const checks: [string, string, string, string | undefined, boolean][] = [];
  for (const ns of own) {
    checks.push(["create", "deployments.apps", ns, ns, true]);
    checks.push(["create", "secrets", ns, ns, true]);
    checks.push(["create", "kustomizations.kustomize.toolkit.fluxcd.io", ns, ns, true]);
  }
  for (const ns of [...foreign, "flux-system", "kube-system"]) {
    checks.push(["create", "deployments.apps", ns, ns, false]);
    checks.push(["get", "secrets", ns, ns, false]);
  }
  checks.push(["create", "clusterrolebindings.rbac.authorization.k8s.io", "(cluster)", undefined, false]);
  checks.push(["create", "clusterroles.rbac.authorization.k8s.io", "(cluster)", undefined, false]);
  const result: Record<string, boolean> = {};
  say(`RBAC matrix for ${user}:`);
  for (const [verb, resource, where, ns, expected] of checks) {
    const actual = canI(user, verb, resource, ns);
    const key = `${verb} ${resource} in ${where}`;
    result[key] = actual;
    say(`  ${actual ? "allowed" : "denied "}  ${key}${actual === expected ? "" : "   <-- UNEXPECTED"}`);
    assert.equal(actual, expected, `${user}: ${key}`);
  }
  return result;
}

/**
 * No deploy key registered twice or left behind: each repository's keys on
 * GitHub are exactly the public keys the cluster's Secrets hold for it
 * (flux-system's, and each tenant's of the stack's config).
 */
function assertKeysAreTheSecrets(double: GitHubDouble, tenants: readonly TenantSpec[]): void {
  const held: Record<string, string[]> = { "fleet-infra": [secretData("flux-system", "flux-system")["identity.pub"]!], "ops-fleet": [] };
  for (const t of tenants) (held[t.repository ?? "fleet-infra"] ??= []).push(secretData(`${t.name}-deploy-key`, t.namespaces[0]!)["identity.pub"]!);
  for (const [repo, keys] of Object.entries(held)) {
    const registered = double.listKeys(OWNER, repo);
    assert.deepEqual(registered.map((k) => keyBody(k.key)).sort(), keys.map(keyBody).sort(),
      `${repo}: the deploy keys on GitHub (${registered.map((k) => k.title).join(", ")}) are not the ${keys.length} the cluster holds`);
  }
}

function readStat(pid: number): string {
  try { return fs.readFileSync(`/proc/${pid}/stat`, "utf8"); } catch { return ""; }
}

/** Runs `pulumi up` as a separate process group and SIGKILLs it once its output matches `when`. */
function killMidway(lab: LabStack, when: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    // Its own process group, killed whole: like a CI job that dies, the engine's
    // language host and providers go down with it instead of lingering.
    const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", lab.options.name], {
      cwd: ROOT, env: { ...process.env, ...engineEnv(lab.options.stateDir) }, detached: true,
    });
    let out = "";
    let killed = "";
    let lingering: number[] = [];
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => when.test(l));
      if (line && !killed) {
        killed = line.trim();
        // The language host and providers run in process groups of their own:
        // collect them before the CLI dies (they are reparented after), then kill all.
        const orphans = descendants(child.pid!);
        process.kill(-child.pid!, "SIGKILL");
        for (const pid of orphans) {
          try { process.kill(pid, "SIGKILL"); } catch { /* gone with the group */ }
        }
        lingering = orphans;
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") {
        // SIGKILL is delivered at once but the processes go a moment later: allow 5 s.
        const alive = () => lingering.filter((pid) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(readStat(pid)));
        waitFor("the killed engine's processes to go", () => (alive().length === 0 ? true : undefined), 5000, 100)
          .then(() => resolve(`${killed} (and its ${lingering.length} child processes: language host, providers)`))
          .catch(() => reject(new Error(`processes of the killed engine still run: ${alive().join(", ")}`)));
      }
      else reject(new Error(`pulumi up ended (code ${code}) before it could be killed:\n${out.slice(-2000)}`));
    });
  });
}

/**
 * A suite's stack: before the suite, a GitHub double with REPOS and stack
 * `name` of TENANTS on the lab, handed to `use`; after it, both removed.
 */
function suiteStack(name: string, tenancy: "namespace" | "capsule", tmpPrefix: string, use: (double: GitHubDouble, lab: LabStack) => void): void {
  let double: GitHubDouble | undefined;
  let lab: LabStack | undefined;
  let dir: string | undefined;
  before(async () => {
    useLab();
    dir = sharedTempDir(tmpPrefix);
    double = await startDouble(dir, TOKEN, REPOS);
    lab = await LabStack.create({ name, tenancy, tenants: TENANTS, double, token: TOKEN, stateDir: dir });
    use(double, lab);
  });
  after(async function () {
    try {
      await lab?.remove().catch(() => undefined);
      await double?.close();
    } finally {
      removeSuiteDir(dir, this.test?.parent);
    }
  });
}

describe("engine e2e: namespace mode", function () {
  this.timeout(20 * 60_000);
  let double: GitHubDouble;
  let lab: LabStack;
  suiteStack("e2e-namespace", "namespace", "e2e-ns-", (d, l) => { double = d; lab = l; });

  it("1. previews the whole program against an empty cluster", async () => {
    assert.equal(getObject("namespace", "flux-system"), undefined, "the cluster starts without Flux");
    const plan = changes(await lab.preview());
    say(`preview: ${JSON.stringify(plan)}`);
    assert.ok((plan.create ?? 0) > 50, "creates the Flux objects, keys, files and tenants");
    assert.deepEqual(Object.keys(plan), ["create"]);
  });

  it("2. up creates the objects, read-only keys and the committed files", async () => {
    const applied = changes(await lab.up());
    say(`up: ${JSON.stringify(applied)}`);
    for (const c of ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"]) {
      assert.ok(available(getObject<Deployment>("deployment", c, "flux-system")), `${c} Available`);
    }
    say("checked: the four controllers are Available on the kwok node");
    const kc = getObject<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>("deployment", "kustomize-controller", "flux-system")!;
    assert.deepEqual(kc.spec.template.spec.containers[0]!.args.slice(-3), ["--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=default"]);
    const sync = getObject<{ spec: Record<string, unknown> }>("kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", "flux-system")!;
    assert.equal(sync.spec.serviceAccountName, "kustomize-controller");
    say("checked: lockdown args on kustomize-controller; flux-system Kustomization runs as kustomize-controller");

    const platformKeys = double.listKeys(OWNER, "fleet-infra");
    assert.equal(platformKeys.length, 2, "platform key + dev-team key on fleet-infra");
    assert.ok(platformKeys.every((k) => k.readOnly), "every key read-only");
    assert.ok(double.listKeys(OWNER, "ops-fleet").every((k) => k.readOnly));
    assert.equal(double.listKeys(OWNER, "ops-fleet").length, 1);
    say(`checked: ${platformKeys.length + 1} deploy keys, all read-only`);

    const log = await double.git(OWNER, "fleet-infra", ["log", "--format=%s", "main"]);
    const messages = log.trim().split("\n");
    assert.deepEqual(messages.slice(0, 3), ["Add Flux sync manifests", "Add Flux sync manifests", `Add Flux ${LAB_FLUX_VERSION} component manifests`]);
    for (const f of ["gotk-components.yaml", "gotk-sync.yaml", "kustomization.yaml"]) {
      assert.ok(await double.readFile(OWNER, "fleet-infra", `clusters/lab/flux-system/${f}`, "main"), `${f} committed`);
    }
    say(`checked: commits on main: ${messages.slice(0, 3).join(" | ")}`);

    const secret = secretData("flux-system", "flux-system");
    const registered = platformKeys.find((k) => k.title.startsWith("flux-system "))!;
    assert.equal(secret["identity.pub"], registered.key);
    say("checked: flux-system Secret identity.pub equals the key registered on GitHub");

    // In the suite's directory: removed with it.
    const work = fs.mkdtempSync(path.join(lab.options.stateDir, "clone-"));
    const clone = gitWithKey(secret.identity!, double.knownHosts, ["clone", double.sshUrl(OWNER, "fleet-infra"), path.join(work, "fleet")]);
    assert.equal(clone.status, 0, clone.stderr);
    assert.ok(fs.existsSync(path.join(work, "fleet/clusters/lab/flux-system/gotk-sync.yaml")));
    fs.writeFileSync(path.join(work, "fleet/evil.txt"), "pushed with a read-only key\n");
    kubectlOk(["version", "--client"]);
    for (const args of [["add", "evil.txt"], ["-c", "user.email=e@x", "-c", "user.name=e", "commit", "-qm", "evil"]]) {
      assert.equal(gitWithKey(secret.identity!, double.knownHosts, args, path.join(work, "fleet")).status, 0);
    }
    const push = gitWithKey(secret.identity!, double.knownHosts, ["push", "origin", "HEAD:main"], path.join(work, "fleet"));
    assert.notEqual(push.status, 0, "push with the read-only key must fail");
    assert.match(push.stderr, /marked as read only/, "the push is refused for the key's access, not for another reason");
    say(`checked: clone over SSH with the platform key works; push is refused (${push.stderr.trim().split("\n")[0]})`);

    for (const t of TENANTS) {
      const home = t.namespaces[0]!;
      const { source, sync: tSync } = tenantSpecs(home, t.name);
      assert.equal(tSync.serviceAccountName, t.name);
      assert.deepEqual(tSync.sourceRef, { kind: "GitRepository", name: t.name });
      assert.equal((source.ref as { branch: string }).branch, t.branch ?? t.name);
      assert.equal(source.url, double.sshUrl(OWNER, t.repository ?? "fleet-infra"));
      for (const ns of t.namespaces) {
        assert.ok(getObject("serviceaccount", t.name, ns), `SA ${ns}/${t.name}`);
        assert.ok(getObject("rolebinding", `${t.name}-reconciler`, ns), `RoleBinding ${ns}/${t.name}-reconciler`);
      }
      const tKey = secretData(`${t.name}-deploy-key`, home);
      const clone2 = gitWithKey(tKey.identity!, double.knownHosts, ["ls-remote", double.sshUrl(OWNER, t.repository ?? "fleet-infra")]);
      assert.equal(clone2.status, 0, clone2.stderr);
    }
    say("checked: each tenant's SA, RoleBindings, GitRepository, Kustomization (serviceAccountName) and its own working key");
  });

  it("3. a second up changes nothing", async () => {
    const second = changes(await lab.up());
    say(`second up: ${JSON.stringify(second)}`);
    assert.deepEqual(second, {});
  });

  it("4. out-of-band drift shows in preview --refresh and up --refresh repairs it", async () => {
    kubectlOk(["delete", "rolebinding", "dev-team-reconciler", "-n", "dev-team-tools"]);
    kubectlOk(["patch", "kustomizations.kustomize.toolkit.fluxcd.io", "ops-team", "-n", "ops-team-apps", "--type=merge", "-p", '{"spec":{"serviceAccountName":"default"}}']);
    const key = double.listKeys(OWNER, "ops-fleet")[0]!;
    assert.ok(await double.deleteKey(OWNER, "ops-fleet", key.id));
    say("drift made: RoleBinding deleted, ops-team Kustomization serviceAccountName=default, ops-team deploy key deleted on GitHub");
    const plan = changes(await lab.preview(true));
    say(`preview --refresh: ${JSON.stringify(plan)}`);
    assert.ok((plan.create ?? 0) >= 2, "re-creates the RoleBinding and the deploy key");
    assert.ok((plan.update ?? 0) >= 1, "updates the Kustomization back");
    const repaired = changes(await lab.up(true));
    say(`up --refresh: ${JSON.stringify(repaired)}`);
    assert.ok(getObject("rolebinding", "dev-team-reconciler", "dev-team-tools"));
    assert.equal(tenantSpecs("ops-team-apps", "ops-team").sync.serviceAccountName, "ops-team");
    assert.equal(double.listKeys(OWNER, "ops-fleet").length, 1);
    assert.ok(double.listKeys(OWNER, "ops-fleet")[0]!.readOnly);
    say("checked: RoleBinding back, serviceAccountName back, one read-only key on ops-fleet");
  });

  it("5. adding a tenant and removing one touch only those tenants", async () => {
    const added: TenantSpec = { name: "qa-team", namespaces: ["qa-team-apps"], sharedRepository: true };
    await double.createBranch(OWNER, "fleet-infra", "qa-team");
    await lab.setTenants([...TENANTS, added]);
    const add = await lab.stack.preview({ diff: false });
    const addPlan = changes(add.changeSummary);
    say(`add qa-team, preview: ${JSON.stringify(addPlan)}`);
    assert.deepEqual(Object.keys(addPlan), ["create"], "only creations");
    changes(await lab.up());
    assert.ok(getObject("namespace", "qa-team-apps"));

    await lab.setTenants([TENANTS[0]!, added]);
    const before = double.listKeys(OWNER, "ops-fleet").length;
    const removal = changes(await lab.up());
    say(`remove ops-team, up: ${JSON.stringify(removal)}`);
    assert.deepEqual(Object.keys(removal).filter((k) => k !== "delete"), [], "only deletions");
    assert.equal(before, 1);
    assert.equal(double.listKeys(OWNER, "ops-fleet").length, 0, "its deploy key is gone from GitHub");
    await waitFor("ops-team-apps to finish terminating", () => (getObject("namespace", "ops-team-apps") === undefined ? true : undefined), 120_000);
    say("checked: ops-team's key deleted on GitHub, its namespace finished terminating");
    await lab.setTenants(TENANTS);
    changes(await lab.up());
    assert.equal(getObject("namespace", "qa-team-apps") === undefined, true);
  });

  it("6. RBAC for real: each reconciler acts in its namespaces only", () => {
    rbacMatrix("system:serviceaccount:dev-team-apps:dev-team", ["dev-team-apps", "dev-team-tools"], ["ops-team-apps"]);
    rbacMatrix("system:serviceaccount:ops-team-apps:ops-team", ["ops-team-apps"], ["dev-team-apps", "dev-team-tools"]);
  });

  it("7. the state file holds no plaintext private key", () => {
    const text = lab.checkpointText();
    assert.ok(text.length > 10_000, "a real checkpoint");
    assert.doesNotMatch(text, /PRIVATE KEY/);
    const identity = secretData("flux-system", "flux-system").identity!;
    const body = identity.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    assert.ok(body.length > 100);
    assert.ok(!text.includes(body.slice(0, 64)), "no private key material");
    assert.match(text, /"ciphertext"/, "secrets are stored encrypted");
    say(`checked: checkpoint (${text.length} bytes) has no key material; secrets are ciphertext`);
  });

  it("8a. GitHub answering 502: retried, or a clear failure that a rerun repairs", async () => {
    const extra: TenantSpec = { name: "retry-team", namespaces: ["retry-team-apps"], sharedRepository: true };
    await double.createBranch(OWNER, "fleet-infra", "retry-team");
    await lab.setTenants([...TENANTS, extra]);
    const seen = double.requests.length;
    double.failNext(2, 502);
    const retried = changes(await lab.up());
    const failed = double.requests.slice(seen).filter((r) => r.status === 502).length;
    say(`two 502s: up ${JSON.stringify(retried)}, ${failed} calls answered 502 and were retried`);
    assert.equal(failed, 2);
    assert.equal(double.listKeys(OWNER, "fleet-infra").filter((k) => k.title.startsWith("tenant retry-team ")).length, 1);

    await lab.setTenants(TENANTS);
    double.failNext(1000, 502);
    const err = await lab.up().then(() => undefined, (e: Error) => e);
    double.failNext(0);
    assert.ok(err, "up must fail while GitHub keeps answering 502");
    const line = err.message.split("\n").find((l) => /502/.test(l)) ?? "";
    say(`GitHub down: up failed: ${line.trim().slice(0, 160)}`);
    assert.match(err.message, /502/);
    const rerun = changes(await lab.up(true));
    say(`rerun: ${JSON.stringify(rerun)}`);
    assert.deepEqual(changes(await lab.up(true)), {}, "converged");
    assert.equal(double.listKeys(OWNER, "fleet-infra").filter((k) => k.title.startsWith("tenant retry-team ")).length, 0);
    assertKeysAreTheSecrets(double, lab.tenants);
  });

  it("8b. pulumi up killed with SIGKILL midway: cancel, refresh and up converge without duplicate keys", async () => {
    const extra: TenantSpec = { name: "kill-team", namespaces: ["kill-team-apps", "kill-team-tools"], sharedRepository: true };
    await double.createBranch(OWNER, "fleet-infra", "kill-team");
    await lab.setTenants([...TENANTS, extra]);
    // Killed as the tenant's deploy key is being created: the worst moment, as GitHub may
    // hold a key that the state does not know about.
    const killedAt = await killMidway(lab, /kill-team-deploy-key-deploy-key creating/);
    say(`killed pulumi up at: ${killedAt}`);
    const cancel = spawnSync("pulumi", ["cancel", "--yes", "--stack", lab.options.name], { cwd: ROOT, env: { ...process.env, ...engineEnv(lab.options.stateDir) }, encoding: "utf8" });
    say(`pulumi cancel: exit ${cancel.status} ${(cancel.stderr || cancel.stdout).trim().split("\n")[0] ?? ""}`);
    const refreshed = changes(await lab.refresh());
    say(`refresh --clear-pending-creates: ${JSON.stringify(refreshed)}`);
    const up = changes(await lab.up(true));
    say(`up --refresh: ${JSON.stringify(up)}`);
    assert.deepEqual(changes(await lab.up(true)), {}, "converged");
    assert.ok(getObject("kustomizations.kustomize.toolkit.fluxcd.io", "kill-team", "kill-team-apps"));
    assertKeysAreTheSecrets(double, lab.tenants);
    say("checked: converged, one deploy key per repository consumer");
    await lab.setTenants(TENANTS);
    await lab.up();
  });

  it("8c. the apiserver restarted mid-run: a rerun converges", async () => {
    const extra: TenantSpec = { name: "restart-team", namespaces: ["restart-team-apps"], sharedRepository: true };
    await double.createBranch(OWNER, "fleet-infra", "restart-team");
    await lab.setTenants([...TENANTS, extra]);
    let settled = false;
    const running = lab.up().then(() => "succeeded", (e: Error) => `failed: ${e.message.split("\n").find((l) => /error/i.test(l))?.trim().slice(0, 140) ?? ""}`)
      .finally(() => { settled = true; });
    // Mid-run: the up has begun creating the new tenant's objects and has the rest still to do.
    await waitFor("the up to create namespace restart-team-apps", () => getObject("namespace", "restart-team-apps") ? true : undefined, 120_000, 250);
    assert.equal(settled, false, "the up was still running when the apiserver restart began");
    execFileSync("bash", [path.join(ROOT, "lab/cluster/restart.sh"), "kube-apiserver", "3"], { stdio: "inherit" });
    say(`up during the restart: ${await running}`);
    const rerun = changes(await lab.up(true));
    say(`rerun up --refresh: ${JSON.stringify(rerun)}`);
    assert.deepEqual(changes(await lab.up(true)), {}, "converged");
    assert.ok(getObject("namespace", "restart-team-apps"));
    await lab.setTenants(TENANTS);
    await lab.up();
    assertKeysAreTheSecrets(double, lab.tenants);
  });

  it("9. destroy removes everything", async () => {
    const destroyed = changes(await lab.destroy());
    say(`destroy: ${JSON.stringify(destroyed)}`);
    for (const ns of ["flux-system", "dev-team-apps", "dev-team-tools", "ops-team-apps"]) {
      await waitFor(`${ns} to be gone`, () => (getObject("namespace", ns) === undefined ? true : undefined), 180_000);
    }
    assert.equal(kubectl(["get", "crd", "kustomizations.kustomize.toolkit.fluxcd.io"]).status, 1, "CRDs gone");
    assert.equal(double.listKeys(OWNER, "fleet-infra").length + double.listKeys(OWNER, "ops-fleet").length, 0, "no deploy keys left");
    assert.equal(await double.readFile(OWNER, "fleet-infra", "clusters/lab/flux-system/gotk-sync.yaml", "main"), undefined, "files removed by commits");
    say("checked: no namespaces, CRDs or deploy keys left; the three files removed from the repository");
  });
});

describe("engine e2e: capsule mode (Capsule v0.14 running)", function () {
  this.timeout(20 * 60_000);
  let double: GitHubDouble;
  let lab: LabStack;
  const reconcilers = TENANTS.map((t) => `system:serviceaccount:${t.namespaces[0]}:${t.name}`);

  before(() => {
    useLab();
    // Capsule first: its CRDs and webhooks must exist before the program's Tenants.
    execFileSync("bash", [path.join(ROOT, "lab/controllers/up.sh"), "--only", "capsule"], { stdio: ["ignore", "inherit", "inherit"] });
  });
  // After hooks run in the order written: the stack goes, then Capsule.
  suiteStack("e2e-capsule", "capsule", "e2e-capsule-", (d, l) => { double = d; lab = l; });
  after(() => {
    spawnSync("bash", [path.join(ROOT, "lab/controllers/down.sh")], { stdio: "inherit" });
    // Capsule's namespace-provisioner binding outlives Capsule; later suites start without it.
    say(`removed Capsule's residue (provisioner binding held: ${removeCapsuleResidue().join(", ") || "none"})`);
  });

  it("1. previews against a cluster with Capsule but without Flux", async () => {
    const plan = changes(await lab.preview());
    say(`preview: ${JSON.stringify(plan)}`);
    assert.deepEqual(Object.keys(plan), ["create"]);
  });

  it("2. up: Tenants owned by the reconcilers, namespaces placed in them, reconcilers admitted as Capsule users", async () => {
    say(`up: ${JSON.stringify(changes(await lab.up()))}`);
    for (const t of TENANTS) {
      const tenant = getObject<{ metadata: { uid: string }; spec: { owners: { kind: string; name: string }[] } }>("tenants.capsule.clastix.io", t.name)!;
      assert.deepEqual(tenant.spec.owners.map((o) => [o.kind, o.name]), [["ServiceAccount", `system:serviceaccount:${t.namespaces[0]}:${t.name}`]]);
      for (const ns of t.namespaces) {
        const n = getObject<{ metadata: { ownerReferences?: { kind: string; uid: string }[] } }>("namespace", ns)!;
        assert.deepEqual(n.metadata.ownerReferences?.map((r) => [r.kind, r.uid]), [["Tenant", tenant.metadata.uid]]);
      }
      const listed = await waitFor(`Capsule to list ${t.name}'s namespaces`, () => {
        const s = getObject<{ status?: { namespaces?: string[] } }>("tenants.capsule.clastix.io", t.name);
        const have = s?.status?.namespaces ?? [];
        return t.namespaces.every((ns) => have.includes(ns)) ? have : undefined;
      }, 60_000);
      say(`checked: Tenant ${t.name} owned by its reconciler; Capsule lists its namespaces: ${listed.join(", ")}`);
    }
    const config = getObject<{ spec: { users: { kind: string; name: string }[] } }>("capsuleconfigurations.capsule.clastix.io", "default")!;
    for (const r of reconcilers) assert.ok(config.spec.users.some((u) => u.kind === "ServiceAccount" && u.name === r), `${r} is a Capsule user`);
    say(`checked: CapsuleConfiguration users: ${config.spec.users.map((u) => `${u.kind}:${u.name}`).join(", ")}`);
  });

  it("3. a second up --refresh changes nothing (Capsule's own writes do not look like drift)", async () => {
    const second = changes(await lab.up(true));
    say(`second up --refresh: ${JSON.stringify(second)}`);
    assert.deepEqual(second, {});
  });

  it("6. RBAC for real: Capsule gives each owner admin in its namespaces, nothing else", async () => {
    for (const [i, t] of TENANTS.entries()) {
      await waitFor(`Capsule's RoleBindings for ${t.name}`, () => (canI(reconcilers[i]!, "create", "deployments.apps", t.namespaces[0]) ? true : undefined), 60_000);
    }
    rbacMatrix(reconcilers[0]!, ["dev-team-apps", "dev-team-tools"], ["ops-team-apps"]);
    rbacMatrix(reconcilers[1]!, ["ops-team-apps"], ["dev-team-apps", "dev-team-tools"]);
  });

  it("9. destroy removes everything, including the Tenants", async () => {
    say(`destroy: ${JSON.stringify(changes(await lab.destroy()))}`);
    for (const ns of ["flux-system", "dev-team-apps", "dev-team-tools", "ops-team-apps"]) {
      await waitFor(`${ns} to be gone`, () => (getObject("namespace", ns) === undefined ? true : undefined), 180_000);
    }
    for (const t of TENANTS) assert.equal(getObject("tenants.capsule.clastix.io", t.name), undefined);
    assert.equal(double.listKeys(OWNER, "fleet-infra").length + double.listKeys(OWNER, "ops-fleet").length, 0);
    say("checked: no Tenants, namespaces or deploy keys left");
  });
});
