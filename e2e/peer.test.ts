// The flux CLI as a peer, live: a cluster bootstrapped by `flux bootstrap
// git` over SSH into a repository of the GitHub double, with a tenant made by
// `flux create tenant / source git / kustomization`, as most of our users'
// clusters are. Then:
//   1. the files the package would commit for the same options are the bytes
//      `flux bootstrap` committed (kustomization.yaml apart: the lockdown
//      patches live there);
//   2. a stack adopts the cluster in two updates (flux.adoptDeployKeyId, then
//      without it): only the controller the lockdown changes restarts, the
//      CLI's tenant never leaves Ready, the read-write key bootstrap pushed
//      with leaves GitHub, and `pulumi preview --refresh` shows no changes;
//   3. a later `flux bootstrap git` over the adopted repository commits
//      nothing; the flux-system Secret it rewrites is the one drift, which
//      the preview shows and the next `pulumi up --refresh` repairs.
// Needs `npm run lab:up` first.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderFlux } from "../components/flux/render";
import { Branch, controllerRunning, controllers, dropFluxFinalizers, fetchesNow, fluxCli, fluxCliAsync, KS, readyTrue, stopFlux, stopRunner } from "../lab/client/flux";
import { GitHubDouble, keyBody, OWNER, startDouble } from "../lab/client/github";
import { getObject, kubectl, LAB_DIR, LAB_FLUX_VERSION, labInstallYaml, removeSuiteDir, secretData, sharedTempDir, short, useLab } from "../lab/client/lab";
import { bootstrapArgs, doubleSshUrl, FluxBootstrapGit, fluxBootstrapGit, fluxCreateTenant, KeyFile, newKeyFile } from "../lab/client/peer";
import { changes, CLUSTER_PATH, LabStack, PLATFORM_REPO } from "../lab/client/stack";
import { seedBranch } from "../lab/client/threats";
import { assertWatched, TenantWatch } from "../lab/client/watch";

const TOKEN = "e2e-token";
const say = (line: string) => process.stdout.write(`      ${line}\n`);
/** The tenant made with the flux CLI (not the stack's: it stays the CLI's, and must stay Ready). */
const TENANT = { name: "dev-team", namespace: "dev-team-apps" };
/** The tenant the adopting stack adds. */
const STACK_TENANT = { name: "ops-team", namespaces: ["ops-team-apps"], sharedRepository: true };
const FILES = ["gotk-components.yaml", "gotk-sync.yaml", "kustomization.yaml"] as const;
const RUNNER_LOG = path.join(LAB_DIR, "controllers", "logs", "flux-runner.log");

/** The runner's `start <controller>` lines written since `from` (a byte offset of its log). */
function startsSince(from: number): string[] {
  const text = fs.readFileSync(RUNNER_LOG, "utf8").slice(from);
  return text.split("\n").filter((l) => / start (source|kustomize)-controller /.test(l)).map((l) => short(l.replace(/^.*? start /, "start "), 60));
}

describe("the flux CLI as a peer: flux bootstrap git, byte identity, adoption by a stack", function () {
  this.timeout(20 * 60_000);
  let double: GitHubDouble;
  let dir: string;
  let bootstrapKey: KeyFile;
  let bootstrapKeyId: number;
  let bootstrap: FluxBootstrapGit;
  let lab: LabStack | undefined;
  const committed = new Map<string, string>();

  before(async () => {
    useLab();
    assert.equal(getObject("namespace", "flux-system"), undefined, "the lab must start without Flux (another stack is up?)");
    assert.ok(!controllerRunning("kustomize-controller") && !controllerRunning("flux-runner"), "Flux controllers already running in the lab");
    dir = sharedTempDir("e2e-peer-");
    double = await startDouble(dir, TOKEN, { [PLATFORM_REPO]: [TENANT.name, STACK_TENANT.name] });
    await seedBranch(new Branch(double, TOKEN, OWNER, PLATFORM_REPO, TENANT.name), TENANT.namespace);
    await seedBranch(new Branch(double, TOKEN, OWNER, PLATFORM_REPO, STACK_TENANT.name), STACK_TENANT.namespaces[0]!);
    // flux bootstrap git pushes with the key it is given and puts the same key
    // in the cluster: one with write access, registered by hand as a user would.
    bootstrapKey = newKeyFile(dir, "bootstrap-rw");
    bootstrapKeyId = (await double.addKey(OWNER, PLATFORM_REPO, { title: "flux bootstrap (read-write)", key: bootstrapKey.publicKey, readOnly: false })).id;
    bootstrap = { url: doubleSshUrl(double, PLATFORM_REPO), path: CLUSTER_PATH, branch: "main", key: bootstrapKey };
  });

  after(async function () {
    try {
      // The CLI's tenant is no object of the stack: with Flux still running,
      // it goes first, or its finalizers would hold Flux's CRDs (and the
      // destroy) once the controllers are gone.
      if (controllerRunning("kustomize-controller")) {
        for (const kind of ["kustomization", "source git"]) fluxCli(["delete", ...kind.split(" "), TENANT.name, "-n", TENANT.namespace, "--silent"], 120_000);
      }
      if (lab && getObject("namespace", "flux-system")) await lab.destroy().catch((e: Error) => say(`cleanup destroy failed: ${short(e.message, 300)}`));
      await lab?.remove().catch(() => undefined);
      if (getObject("namespace", "flux-system")) {
        // Not adopted (an earlier step failed): take Flux out as `flux uninstall` does.
        await stopFlux().catch(() => undefined);
        dropFluxFinalizers();
        fluxCli(["uninstall", "--silent"], 300_000);
      }
      kubectl(["delete", "namespace", TENANT.namespace, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
    } finally {
      try {
        stopRunner();
        controllers("down.sh");
        await double?.close();
      } finally {
        removeSuiteDir(dir, this.test?.parent);
      }
    }
  });

  it(`1. flux bootstrap git over SSH (Flux ${LAB_FLUX_VERSION}), then flux create tenant / source git / kustomization: all Ready`, async () => {
    const out = await fluxBootstrapGit(bootstrap);
    for (const l of out.trimEnd().split("\n").slice(-12)) say(`  | ${l}`);
    assert.match(out, /all components are healthy/);
    for (const f of FILES) {
      const body = await double.readFile(OWNER, PLATFORM_REPO, `${CLUSTER_PATH}/flux-system/${f}`);
      assert.ok(body, `flux bootstrap committed no ${f}`);
      committed.set(f, body.toString("utf8"));
    }
    const tenantKey = newKeyFile(dir, `${TENANT.name}-ro`);
    await double.addKey(OWNER, PLATFORM_REPO, { title: `${TENANT.name} (flux create source git)`, key: tenantKey.publicKey, readOnly: true });
    await fluxCreateTenant({ ...TENANT, url: doubleSshUrl(double, PLATFORM_REPO), branch: TENANT.name, key: tenantKey });
    const ks = await readyTrue(KS, TENANT.name, TENANT.namespace);
    say(`tenant ${TENANT.name}: ${short(ks.ready?.message, 100)}`);
  });

  it("2. the files the package commits for the same options are flux bootstrap's, byte for byte (kustomization.yaml: its resources, plus the lockdown patches)", () => {
    const render = renderFlux({
      version: LAB_FLUX_VERSION, manifests: fs.readFileSync(labInstallYaml(), "utf8"), manifestsSource: "install.yaml",
      lockdown: true, defaultServiceAccount: "default",
      sync: { url: bootstrap.url, branch: bootstrap.branch, path: CLUSTER_PATH, secretName: "flux-system" },
    });
    for (const f of ["gotk-components.yaml", "gotk-sync.yaml"] as const) {
      const ours = render.files[f];
      const theirs = committed.get(f)!;
      const at = [...ours].findIndex((c, i) => c !== theirs[i]);
      assert.ok(ours === theirs, `${f} differs from flux bootstrap's at byte ${at}: ours ${JSON.stringify(ours.slice(at - 60, at + 60))}, bootstrap's ${JSON.stringify(theirs.slice(at - 60, at + 60))}`);
      say(`${f}: ${ours.length} bytes, identical to what flux bootstrap committed`);
    }
    say(`kustomization.yaml (bootstrap's):\n${committed.get("kustomization.yaml")!.trimEnd().split("\n").map((l) => `        | ${l}`).join("\n")}`);
    assert.match(committed.get("kustomization.yaml")!, /resources:\n- gotk-components\.yaml\n- gotk-sync\.yaml\n/);
    assert.match(render.files["kustomization.yaml"], /resources:\n {2}- gotk-components\.yaml\n {2}- gotk-sync\.yaml\n/);
  });

  it("3. adoption: two updates take the cluster over; only what the lockdown changes restarts, every Kustomization stays Ready, the read-write key leaves GitHub", async () => {
    lab = await LabStack.create({ name: "e2e-peer", tenancy: "namespace", double, token: TOKEN, stateDir: dir, tenants: [STACK_TENANT] });
    const logFrom = fs.statSync(RUNNER_LOG).size;
    const watch = new TenantWatch([{ name: TENANT.name, home: TENANT.namespace }]).start();
    const keys = () => double.listKeys(OWNER, PLATFORM_REPO).map((k) => `${k.id} "${k.title}" (${k.readOnly ? "read-only" : "READ-WRITE"})`);
    try {
      // Update 1: flux.adoptDeployKeyId takes bootstrap's key into the state; the cluster's Secret keeps it.
      await lab.setFlux({ adoptDeployKeyId: bootstrapKeyId });
      const plan1 = changes(await lab.preview());
      say(`adoption, update 1 (flux.adoptDeployKeyId ${bootstrapKeyId}): preview ${JSON.stringify(plan1)}`);
      assert.equal(plan1.import, 1, "update 1 imports bootstrap's key registration");
      assert.deepEqual(Object.keys(plan1).sort(), ["create", "import"], "update 1 creates (takes over) and imports, nothing else");
      say(`  up: ${JSON.stringify(changes(await lab.up()))}`);
      await readyTrue(KS, "flux-system", "flux-system");
      await readyTrue(KS, STACK_TENANT.name, STACK_TENANT.namespaces[0]!);
      say(`  deploy keys on ${PLATFORM_REPO}: ${keys().join(", ")}`);
      assert.equal(keyBody(secretData("flux-system", "flux-system")["identity.pub"]!), keyBody(bootstrapKey.publicKey),
        "after update 1 the cluster still holds bootstrap's key");
      // Update 2: without it, the stack's own read-only key replaces the adopted one.
      await lab.setFlux({ adoptDeployKeyId: undefined });
      say(`adoption, update 2: preview ${JSON.stringify(changes(await lab.preview()))}`);
      say(`  up: ${JSON.stringify(changes(await lab.up()))}`);
      say(`  deploy keys on ${PLATFORM_REPO}: ${keys().join(", ")}`);
    } finally {
      await watch.stop();
    }
    const report = await watch.stop();
    // After the watcher stops: its own reconcile requests would replace the one this waits for.
    say(`flux-system fetches with the stack's key: ${await fetchesNow("flux-system", "flux-system")}`);
    const starts = startsSince(logFrom);
    say(`controller starts during adoption: ${starts.length ? starts.join("; ") : "none"}`);
    say(`watcher (${TENANT.name}, the flux CLI's tenant): ${report.samples} samples, seconds not Ready ${JSON.stringify(report.notReadySeconds)}, fetch auth errors ${report.authErrors}${report.messages.length ? `: ${report.messages.join(" | ")}` : ""}`);
    assert.ok(starts.every((s) => s.startsWith("start kustomize-controller")), `only kustomize-controller (lockdown args) may restart: ${starts.join("; ")}`);
    assert.equal(starts.length, 1, `kustomize-controller (its lockdown arguments) must restart once: ${starts.join("; ") || "no start in the runner's log"}`);
    assertWatched(report, "adoption");
    assert.equal(Object.values(report.notReadySeconds).reduce((a, b) => a + b, 0), 0, `tenant seconds not Ready: ${JSON.stringify(report.notReadySeconds)}`);
    assert.equal(report.authErrors, 0, report.messages.join(" | "));
    const left = double.listKeys(OWNER, PLATFORM_REPO);
    assert.ok(!left.some((k) => k.id === bootstrapKeyId), `the adopted read-write key is still on GitHub: ${keys().join(", ")}`);
    assert.ok(left.every((k) => k.readOnly), `a read-write key is left: ${keys().join(", ")}`);
    assert.equal(secretData("flux-system", "flux-system")["identity.pub"]!.trim(), left.find((k) => k.title.startsWith("flux-system "))!.key.trim(), "the cluster holds the stack's key");
    assert.deepEqual(changes(await lab.preview(true)), {}, "preview --refresh after the adoption");
  });

  it("4. a later flux bootstrap git over the adopted repository commits nothing; the flux-system Secret it rewrites is drift the next up repairs", async () => {
    const head = await double.branchSha(OWNER, PLATFORM_REPO, "main");
    // The cluster's own key (read-only, Pulumi's): all bootstrap needs when there is nothing to push.
    const identity = secretData("flux-system", "flux-system").identity!;
    const keyFile = path.join(dir, "cluster-ro");
    fs.writeFileSync(keyFile, identity.endsWith("\n") ? identity : `${identity}\n`, { mode: 0o600 });
    const again = { ...bootstrap, key: { privateKeyFile: keyFile, publicKey: "" } };
    const r = await fluxCliAsync(bootstrapArgs(again));
    for (const l of r.output.trimEnd().split("\n").slice(-8)) say(`  | ${l}`);
    assert.equal(r.status, 0, r.output);
    assert.equal(await double.branchSha(OWNER, PLATFORM_REPO, "main"), head, "flux bootstrap committed");
    // What it did change in the cluster is drift Pulumi shows and repairs.
    const { comment, changed } = await lab!.previewForReview(true);
    say(`preview --refresh after it (the pull request comment):\n${comment.trimEnd().split("\n").map((l) => `        | ${l}`).join("\n")}`);
    assert.deepEqual(changed.map((u) => u.split("::").pop()), ["flux-deploy-key-secret"], "only the Secret bootstrap rewrote may differ");
    // `pulumi up --refresh`, as the up workflow runs it: a plain up trusts the state and would leave the drift.
    await lab!.up(true);
    assert.deepEqual(changes(await lab!.preview(true)), {}, "preview --refresh after the up that repairs it");
    await fetchesNow("flux-system", "flux-system");
  });
});
