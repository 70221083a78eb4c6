// Day two, live: routine changes to a converged stack (three tenants Ready in
// capsule mode, Flux's controllers run from the applied Deployments, Capsule
// running), each with a watcher sampling every tenant's Kustomization and
// every GitRepository's fetch once a second (lab/client/watch.ts). Each
// scenario prints its preview (what a reviewer sees on the pull request) and
// a row: scenario | preview | up time | tenant seconds not Ready | fetch auth
// errors | result. The preview is printed as the pull request's comment
// (deploy/preview-comment.ts, what the preview workflow posts). Needs
// `npm run lab:up` first.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { OpMap } from "@pulumi/pulumi/automation";
import { renderFlux } from "../components/flux/render";
import { bootstrap } from "../lab/client/bootstrap";
import { labCapsuleValues, StagedChart, stageCapsuleChart, startCapsuleRunner } from "../lab/client/capsule";
import { Branch, controllerCommandLine, controllerRunning, controllers, fetchesNow, fluxStatus, GITREPO, KS, removeCapsuleResidue, requestReconcile, stopRunner, syncTo } from "../lab/client/flux";
import { GitHubDouble, OWNER, startDouble } from "../lab/client/github";
import { canI, getObject, kubectl, kubectlOk, LAB_FLUX_VERSION, labFlux, labInstallYaml, OLDER_FLUX_VERSION, releaseFlux, removeSuiteDir, secretData, sharedTempDir, short, useLab, waitFor } from "../lab/client/lab";
import { changes, LabStack, PLATFORM_REPO, TenantSpec } from "../lab/client/stack";
import { configMap, DEV, kustomization, Mode, printTable, resetDev, Row as ThreatRow, runThreat, sa, seedBranch, threats, yaml } from "../lab/client/threats";
import { assertWatched, TenantWatch, WatchedTenant, WatchReport } from "../lab/client/watch";

const TOKEN = "e2e-token";
const say = (line: string) => process.stdout.write(`      ${line}\n`);

/** Three tenants: two on branches of the platform repository, one with a repository of its own. */
const DATA_REPO = "data-fleet";
/** Where data-team moves (scenario 5): a copy of its repository. */
const DATA_REPO_MOVED = "data-fleet-v2";
const TENANTS: TenantSpec[] = [
  { name: "dev-team", namespaces: ["dev-team-apps"], sharedRepository: true },
  { name: "ops-team", namespaces: ["ops-team-apps"], sharedRepository: true },
  { name: "data-team", namespaces: ["data-team-apps"], repository: DATA_REPO, branch: "main" },
];
const watched = TENANTS.map((t) => ({ name: t.name, home: t.namespaces[0]! }));

/** One printed row of the day-two table. */
interface Row { scenario: string; preview: string; upSeconds: number; notReady: number; authErrors: number; result: string; ok: boolean }

/** The tenants as last configured, with tenant `name` changed by `change`. */
const changed = (lab: LabStack, name: string, change: (t: TenantSpec) => TenantSpec) => lab.tenants.map((t) => (t.name === name ? change(t) : t));

const summary = (m: OpMap) => Object.entries(changes(m)).map(([op, n]) => `${n} ${op}`).join(", ") || "no changes";

/** Longest pull request comment a reviewer should have to read for one routine change. */
const COMMENT_LINES = 60;

/**
 * Prints the pull request's comment for a change (deploy/preview-comment.ts,
 * as the preview workflow posts it) and requires it to be readable: at most
 * {@link COMMENT_LINES} lines.
 */
function printComment(scenario: string, comment: string, maxLines = COMMENT_LINES): void {
  const lines = comment.trimEnd().split("\n");
  say(`--- ${scenario}: the pull request comment, ${lines.length} lines`);
  for (const line of lines) say(`  | ${line}`);
  assert.ok(lines.length <= maxLines, `${scenario}: the preview comment has ${lines.length} lines, more than a reviewer should read (${maxLines})`);
}

/** The keys registered on a repository, as `title` -> key. */
function keysOn(double: GitHubDouble, repo: string): Map<string, string> {
  return new Map(double.listKeys(OWNER, repo).map((k) => [k.title, k.key]));
}

describe("day two: routine changes with Flux running, capsule mode", function () {
  this.timeout(20 * 60_000);
  let double: GitHubDouble;
  let dir: string | undefined;
  let lab: LabStack;
  let booted = false;
  const rows: Row[] = [];

  /**
   * Runs one change under the watcher: its preview printed, then `up`
   * (`refresh` as the up workflow does), then `check`; adds the row.
   */
  async function scenario(name: string, change: () => Promise<void>, check: (report: WatchReport) => Promise<string>,
    o: {
      refresh?: boolean;
      expectPreview?: (plan: Record<string, number>) => void;
      /** Checks the URNs the preview would change. */
      expectChanged?: (urns: string[]) => void;
      /** Runs after `up`, before the no-op `preview --refresh` is required (Flux catching up with a commit). */
      afterUp?: () => Promise<string>;
      /** Why the change itself may cost a tenant its fetch (then the figures are reported, not required to be 0). */
      tenantImpact?: string;
      /** The tenants to watch, when not the usual three (a rename). */
      watch?: WatchedTenant[];
    } = {}): Promise<void> {
    await change();
    const watch = new TenantWatch(o.watch ?? watched).start();
    let row: Row = { scenario: name, preview: "", upSeconds: 0, notReady: 0, authErrors: 0, result: "", ok: false };
    try {
      const { plan, comment, changed } = await lab.previewForReview(o.refresh ?? false);
      row.preview = summary(plan);
      printComment(name, comment);
      o.expectPreview?.(changes(plan));
      o.expectChanged?.(changed);
      const t0 = performance.now();
      await lab.up(o.refresh ?? false);
      row.upSeconds = Math.round((performance.now() - t0) / 1000);
      const settled = await o.afterUp?.();
      const converged = changes(await lab.preview(true));
      assert.deepEqual(converged, {}, `${name}: preview --refresh after up shows changes`);
      const report = await watch.stop();
      row = { ...row, notReady: Object.values(report.notReadySeconds).reduce((a, b) => a + b, 0), authErrors: report.authErrors };
      row.result = (settled ? `${settled}; ` : "") + await check(report);
      if (report.messages.length) say(`${name}: failures seen by the watcher: ${report.messages.join(" | ")}`);
      const reconciling = Object.entries(report.reconcilingSeconds).filter(([, n]) => n > 0);
      if (reconciling.length) row.result += `; reconciling a new revision (Ready=Unknown): ${reconciling.map(([t, n]) => `${t} ${n}s`).join(", ")}`;
      row.ok = o.tenantImpact !== undefined || (row.notReady === 0 && row.authErrors === 0);
      if (o.tenantImpact !== undefined) row.result += ` (not counted against the goal: ${o.tenantImpact})`;
      else {
        assertWatched(report, name);
        assert.equal(row.notReady, 0, `${name}: tenant seconds not Ready ${JSON.stringify(report.notReadySeconds)}`);
        assert.equal(row.authErrors, 0, `${name}: fetch auth errors: ${report.messages.join(" | ")}`);
      }
    } catch (e) {
      row.result = `FAILED: ${short((e as Error).message, 200)}`;
      throw e;
    } finally {
      await watch.stop();
      rows.push(row);
      say(`row: ${name} | ${row.preview} | ${row.upSeconds}s | ${row.notReady} | ${row.authErrors} | ${row.result}`);
    }
  }

  /**
   * Commits the isolation suite's threats `ids` to dev-team's branch (where
   * its config points now), one at a time through Flux, prints their table
   * and requires each to be denied as in a stack born in `mode`; then resets
   * dev-team to its app and waits for it Ready again.
   */
  async function threatsAfterSwitch(mode: Mode, ids: readonly string[]): Promise<void> {
    const t = lab.tenants.find((x) => x.name === DEV.name)!;
    const branch = new Branch(double, TOKEN, OWNER, t.repository ?? PLATFORM_REPO, t.branch ?? t.name);
    const table: ThreatRow[] = [];
    // No remote base among `ids`: threat 3 needs the git-http server the isolation suite starts.
    for (const threat of threats("http://127.0.0.1:9/unused.git").filter((x) => ids.includes(x.id))) table.push(await runThreat(branch, mode, threat));
    const reset = await resetDev(branch);
    printTable(table);
    assert.equal(reset.ready?.status, "True", `dev-team Ready again after the threats: ${reset.ready?.message}`);
    assert.deepEqual(table.filter((r) => !r.ok).map((r) => `${r.id} ${r.title}: ${r.observed}`), [], `threats after the switch to ${mode} mode`);
  }

  before(async () => {
    useLab();
    assert.equal(getObject("namespace", "flux-system"), undefined, "the lab must start without Flux (another stack is up?)");
    assert.ok(!controllerRunning("kustomize-controller") && !controllerRunning("flux-runner"), "Flux controllers already running in the lab");
    dir = sharedTempDir("e2e-day2-");
    double = await startDouble(dir, TOKEN, { [PLATFORM_REPO]: ["dev-team", "ops-team"], [DATA_REPO]: [], [DATA_REPO_MOVED]: [] });
    for (const t of TENANTS) {
      await seedBranch(new Branch(double, TOKEN, OWNER, t.repository ?? PLATFORM_REPO, t.branch ?? t.name), t.namespaces[0]!);
    }
    await seedBranch(new Branch(double, TOKEN, OWNER, DATA_REPO_MOVED, "main"), "data-team-apps");
    controllers("up.sh", ["--only", "capsule", ...TENANTS.flatMap((t) => ["--capsule-user", `ServiceAccount:${sa(t.namespaces[0]!, t.name)}`])]);
    lab = await LabStack.create({ name: "e2e-day2", tenancy: "capsule", tenants: TENANTS, double, token: TOKEN, stateDir: dir });
    // Flux starts at the older release the lab builds (controllers included); scenario 1b upgrades it.
    await lab.setFlux(releaseFlux(OLDER_FLUX_VERSION));
  });

  beforeEach(function () {
    if (!booted && this.currentTest?.title.startsWith("1.") !== true) this.skip();
  });

  after(async function () {
    say("");
    say("scenario | preview | up time | tenant seconds not Ready | fetch auth errors | result");
    for (const r of rows) say(`${r.scenario} | ${r.preview} | ${r.upSeconds}s | ${r.notReady} | ${r.authErrors} | ${r.ok ? "" : "NOT MET: "}${r.result}`);
    try {
      if (getObject("namespace", "flux-system")) await lab?.destroy().catch((e: Error) => say(`cleanup destroy failed: ${short(e.message, 300)}`));
      await lab?.remove().catch(() => undefined);
    } finally {
      try {
        stopRunner();
        controllers("down.sh");
        removeCapsuleResidue();
        await double?.close();
      } finally {
        removeSuiteDir(dir, this.test?.parent);
      }
    }
  });

  it(`1. converged: pulumi up, Flux ${OLDER_FLUX_VERSION} running, three tenants Ready`, async () => {
    // The older release's own CRDs stay: the upgrade is from what it installs.
    await bootstrap(lab, { log: (line) => say(line), keepCrds: true });
    booted = true;
  });

  it(`1b. Flux upgrade ${OLDER_FLUX_VERSION} to ${LAB_FLUX_VERSION}: only Flux's own objects change, the controllers restart at the new version, Flux's own reconcile changes nothing`, async () => {
    const binary = (c: string) => controllerCommandLine(c)?.[0] ?? "(not running)";
    const tagOf = (c: string) => /\/(v[0-9.]+)-[0-9a-f]+\/[a-z-]+$/.exec(binary(c))?.[1];
    const running = () => ({ source: tagOf("source-controller"), kustomize: tagOf("kustomize-controller") });
    const sysHead = async () => (await double.branchSha(OWNER, PLATFORM_REPO, "main"))!;
    const before = running();
    assert.deepEqual(before, { source: "v1.7.3", kustomize: "v1.7.2" }, `${OLDER_FLUX_VERSION}'s controllers run: ${binary("source-controller")}, ${binary("kustomize-controller")}`);
    await scenario(`Flux upgrade ${OLDER_FLUX_VERSION} to ${LAB_FLUX_VERSION}`, () => lab.setFlux(labFlux()), async () => {
      const after = await waitFor("the runner to run the new release's controllers", () => {
        const now = running();
        return now.source === "v1.9.5" && now.kustomize === "v1.9.5" ? now : undefined;
      }, 120_000, 500);
      // Name, stored versions, versions: not the whole CRDs (megabytes of schemas).
      const crds = kubectl(["get", "crd", "-o", "jsonpath={range .items[*]}{.metadata.name};{.status.storedVersions[*]};{.spec.versions[?(@.served==true)].name}{\"\\n\"}{end}"]).stdout
        .split("\n").filter((l) => l.includes(".fluxcd.io;")).map((l) => l.split(";"));
      assert.ok(crds.length >= 10, `Flux's CRDs listed: ${crds.length}`);
      for (const [name, stored, served] of crds) {
        const versions = served!.split(" ");
        for (const v of stored!.split(" ")) assert.ok(versions.includes(v), `${name}: stored version ${v} is still served (served: ${versions.join(", ")})`);
      }
      // Flux's own reconcile of flux-system applies the components the up committed: nothing left to change.
      type Deployment = { metadata: { name: string; generation: number } };
      const generations = () => (JSON.parse(kubectl(["get", "deployments", "-n", "flux-system", "-o", "json"]).stdout) as { items: Deployment[] }).items
        .map((d) => `${d.metadata.name}@${d.metadata.generation}`).sort();
      // Once more, now that Flux has the commit: its own reconcile of flux-system changes nothing Pulumi applied.
      const applied = generations();
      const sys = await syncTo("flux-system", "flux-system", "flux-system", await sysHead());
      assert.equal(sys.ready?.status, "True", `flux-system after the upgrade: ${sys.ready?.message}`);
      assert.deepEqual(generations(), applied, "Flux's reconcile of the committed components changed no Deployment Pulumi applied");
      return `controllers now source-controller ${after.source}, kustomize-controller ${after.kustomize}; Flux's reconcile of flux-system changed no Deployment; ` +
        "every stored CRD version still served";
    }, {
      // Until source-controller has fetched the commit, Flux re-applies the components of the revision it holds
      // (the older release): the up is converged only once flux-system has reconciled the commit.
      afterUp: async () => {
        const t0 = performance.now();
        const head = await sysHead();
        const sys = await syncTo("flux-system", "flux-system", "flux-system", head);
        assert.equal(sys.ready?.status, "True", `flux-system at the upgrade's commit: ${sys.ready?.message}`);
        return `Flux reconciled flux-system at the upgrade's commit ${head.slice(0, 8)} ${Math.round((performance.now() - t0) / 1000)}s after the up`;
      },
      expectChanged: (urns) => {
        assert.deepEqual(urns.filter((u) => !u.includes("flux-capsule:index:FluxBootstrap$") || u.includes("DeployKey")), [],
          "only Flux's own objects and the components commit change (nothing of the tenants', not the platform key)");
        // Every object carries the release in its app.kubernetes.io/version label (as `flux bootstrap`
        // writes it), so every object changes, and the components file: nothing else.
        const objects = renderFlux({ version: LAB_FLUX_VERSION, manifests: fs.readFileSync(labInstallYaml(), "utf8"), manifestsSource: "install.yaml",
          lockdown: true, defaultServiceAccount: "default", sync: { url: "", branch: "main", path: "x", secretName: "flux-system" } }).objects;
        assert.equal(urns.length, objects.length + 1, `the release's changes: ${urns.map((u) => u.split("::").pop()).join(", ")}`);
      },
    });
  });

  it("2. platform key rotation: flux.keyRotation set; the new key registered before the old goes, no failed fetch", async () => {
    const before = keysOn(double, PLATFORM_REPO);
    const oldKey = secretData("flux-system", "flux-system")["identity.pub"];
    await scenario("platform key rotation", () => lab.setFlux({ keyRotation: "2" }), async () => {
      const after = keysOn(double, PLATFORM_REPO);
      const rotated = [...after].find(([title]) => title.startsWith("flux-system ") && title.endsWith("(rotation 2)"));
      assert.ok(rotated, `the new platform key is registered: ${[...after.keys()].join(", ")}`);
      assert.ok(![...after.values()].includes(oldKey!), "the old platform key is gone from GitHub");
      assert.equal(secretData("flux-system", "flux-system")["identity.pub"], rotated[1], "the Secret holds the registered key");
      assert.equal(after.size, before.size, "one key per consumer, as before");
      return `new key "${rotated[0]}", old key removed; flux-system fetches: ${await fetchesNow("flux-system", "flux-system")}`;
    }, { expectPreview: (plan) => assert.deepEqual(plan, { create: 2, update: 1, delete: 2 }, "a key pair and registration made, the Secret updated, the old pair deleted") });
  });

  it("3. tenant key rotation: data-team's keyRotation set; the other tenants untouched", async () => {
    const oldKey = secretData("data-team-deploy-key", "data-team-apps")["identity.pub"];
    const others = keysOn(double, PLATFORM_REPO);
    await scenario("tenant key rotation (data-team)", () => lab.setTenants(changed(lab, "data-team", (t) => ({ ...t, keyRotation: "2026-12-02" }))), async () => {
      const keys = keysOn(double, DATA_REPO);
      assert.deepEqual([...keys.keys()], ["tenant data-team flux-capsule/e2e-day2 (rotation 2026-12-02)"]);
      assert.notEqual([...keys.values()][0], oldKey, "a new key");
      assert.deepEqual(keysOn(double, PLATFORM_REPO), others, "the platform repository's keys untouched");
      return `new key on ${DATA_REPO}, old removed; data-team fetches: ${await fetchesNow("data-team", "data-team-apps")}`;
    }, { expectPreview: (plan) => assert.deepEqual(plan, { create: 2, update: 1, delete: 2 }) });
  });

  it("4. a tenant key deleted on GitHub out of band: preview --refresh shows it, up --refresh restores it", async () => {
    const key = double.listKeys(OWNER, PLATFORM_REPO).find((k) => k.title.startsWith("tenant ops-team "));
    assert.ok(key, "ops-team's key");
    // The scenario's row counts what the tenant saw between the deletion and the repair: the deletion is the change.
    await scenario("tenant key deleted out of band (ops-team)", async () => { await double.deleteKey(OWNER, PLATFORM_REPO, key.id); }, async () => {
      const restored = double.listKeys(OWNER, PLATFORM_REPO).find((k) => k.title === key.title);
      assert.ok(restored, "registered again under its title");
      assert.equal(restored.key, secretData("ops-team-deploy-key", "ops-team-apps")["identity.pub"], "the key the Secret holds");
      return `restored as id ${restored.id}; ops-team fetches: ${await fetchesNow("ops-team", "ops-team-apps")}`;
    }, {
      refresh: true,
      expectPreview: (plan) => assert.deepEqual(plan, { create: 1 }, "only the registration, recreated"),
      tenantImpact: "the deletion itself cuts ops-team's fetch until up registers the key again",
    });
  });

  it("5. tenant moves: data-team to another repository, dev-team to another branch, then gains a namespace and loses it, with Flux reconciling throughout", async () => {
    const oldKey = secretData("data-team-deploy-key", "data-team-apps")["identity.pub"];
    await scenario("repository move (data-team)", () => lab.setTenants(changed(lab, "data-team", (t) => ({ ...t, repository: DATA_REPO_MOVED }))), async () => {
      assert.deepEqual([...keysOn(double, DATA_REPO).keys()], [], `no key left on ${DATA_REPO}`);
      const moved = [...keysOn(double, DATA_REPO_MOVED)];
      assert.equal(moved.length, 1, `one key on ${DATA_REPO_MOVED}`);
      const [title, key] = moved[0]!;
      assert.notEqual(key, oldKey, "a new key: GitHub refuses one key on two repositories, and the new one must exist before the old goes");
      assert.equal(secretData("data-team-deploy-key", "data-team-apps")["identity.pub"], key, "the Secret holds the new key");
      const source = getObject<{ spec: { url: string } }>(GITREPO, "data-team", "data-team-apps");
      assert.match(source?.spec.url ?? "", new RegExp(`/${DATA_REPO_MOVED}(\\.git)?$`), "the GitRepository points at the new repository");
      return `new key "${title}" on ${DATA_REPO_MOVED}, none left on ${DATA_REPO}; data-team fetches: ${await fetchesNow("data-team", "data-team-apps")}`;
    }, { expectPreview: (plan) => assert.deepEqual(plan, { replace: 2, update: 2 }, "the key pair and its registration replaced (new first), the Secret and the GitRepository updated") });

    const dev = TENANTS[0]!;
    const moved = "dev-team-v2";
    await double.createBranch(OWNER, PLATFORM_REPO, moved, dev.name);
    await scenario("branch move (dev-team)", () => lab.setTenants(changed(lab, dev.name, (t) => ({ ...t, branch: moved }))), async () => {
      const source = getObject<{ spec: { ref: { branch: string } } }>(GITREPO, dev.name, dev.namespaces[0]!);
      assert.equal(source?.spec.ref.branch, moved);
      return `GitRepository on ${moved}; dev-team fetches: ${await fetchesNow(dev.name, dev.namespaces[0]!)}`;
    }, { expectPreview: (plan) => assert.deepEqual(plan, { update: 1 }, "only the tenant's GitRepository") });
    await scenario("namespace added (dev-team)", () => lab.setTenants(changed(lab, dev.name, (t) => ({ ...t, namespaces: [...dev.namespaces, "dev-team-tools"] }))), async () => {
      assert.ok(getObject("namespace", "dev-team-tools"), "the new namespace exists");
      return "dev-team-tools created in dev-team's Capsule Tenant";
    });
    await scenario("namespace removed (dev-team)", () => lab.setTenants(changed(lab, dev.name, (t) => ({ ...t, namespaces: dev.namespaces }))), async () => {
      await waitFor("dev-team-tools gone", () => (getObject("namespace", "dev-team-tools") === undefined ? true : undefined), 60_000);
      assert.ok(getObject("configmap", "app", dev.namespaces[0]!), "dev-team's home workload kept");
      return "dev-team-tools deleted; the home namespace and its workload kept";
    });
  });

  it("6. wait for Ready: a tenant that is not Ready fails the up naming it; once Flux can apply it, the up returns with it Ready", async () => {
    const NEW = { name: "new-team", home: "new-team-apps" };
    await double.createBranch(OWNER, PLATFORM_REPO, NEW.name);
    await lab.setFlux({ readyTimeoutSeconds: 20 });
    // ./apps is not on the branch yet: Flux reports the Kustomization Ready=False.
    await lab.setTenants([...lab.tenants, { name: NEW.name, namespaces: [NEW.home], sharedRepository: true, path: "./apps", waitForReady: true }]);
    say("--- wait for Ready (new tenant): the preview a reviewer sees");
    const preview = summary(await lab.preview());
    const t0 = performance.now();
    const failed = await lab.up().then(() => undefined, (e: Error) => e);
    const failedAfter = Math.round((performance.now() - t0) / 1000);
    assert.ok(failed, "pulumi up must fail while new-team is not Ready");
    // The provider's error names the object; Flux's reason comes with it, as a warning relayed from its Event.
    assert.match(failed.message, /Kustomization new-team-sync .*failed/, "the up's output names new-team's Kustomization as what failed");
    const line = failed.message.split("\n").find((l) => /timed out waiting|failed to fully initialize/.test(l));
    assert.ok(line, `the provider's error says what it waited for: ${failed.message.slice(-3000)}`);
    const flux = fluxStatus(KS, NEW.name, NEW.home);
    assert.equal(flux?.ready?.status, "False");
    const reason = failed.message.split("\n").find((l) => /new-team-sync/.test(l) && /warning: \w+: /.test(l) && l.includes(flux!.ready!.message.slice(0, 40)));
    assert.ok(reason, `Flux's message (${flux?.ready?.message}) is in the up's output: ${short(failed.message, 600)}`);
    say(`up failed after ${failedAfter}s: ${short(line, 200)}; with Flux's reason: ${short(reason.replace(/^.*warning: /, ""), 160)}`);
    const branch = new Branch(double, TOKEN, OWNER, PLATFORM_REPO, NEW.name);
    await branch.put("apps/app.yaml", yaml([configMap("app", NEW.home)]));
    await branch.put("apps/kustomization.yaml", kustomization(["app.yaml"]));
    // Flux fetches the new commit at its own interval (1m): give the wait room, and ask for the fetch now, as `flux reconcile source git` would.
    await lab.setFlux({ readyTimeoutSeconds: 120 });
    requestReconcile(GITREPO, NEW.name, NEW.home);
    const t1 = performance.now();
    await lab.up();
    const readyAfter = Math.round((performance.now() - t1) / 1000);
    const ready = fluxStatus(KS, NEW.name, NEW.home);
    assert.equal(ready?.ready?.status, "True", "up returned only once new-team was Ready");
    assert.ok(getObject("configmap", "app", NEW.home), "new-team's app applied");
    rows.push({ scenario: "wait for Ready (new tenant)", preview, upSeconds: readyAfter, notReady: 0, authErrors: 0,
      result: `not Ready: up failed after ${failedAfter}s naming new-team-sync; with ./apps committed: up returned Ready in ${readyAfter}s`, ok: true });
  });

  it("7. mode switch, capsule to namespace and back: the namespaces leave their Capsule Tenants before those go, workloads kept, no power of the old mode left", async () => {
    const tenants = lab.tenants;
    const homes = tenants.map((t) => t.namespaces[0]!);
    const allNamespaces = tenants.flatMap((t) => t.namespaces);
    const apps = () => homes.filter((h) => getObject("configmap", "app", h) !== undefined);
    const capsuleTenants = () => kubectl(["get", "tenants.capsule.clastix.io", "-o", "name"]).stdout.split("\n").filter(Boolean).sort();
    type Ns = { metadata: { labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[]; deletionTimestamp?: string } };
    const capsuleOwned = () => allNamespaces.filter((n) => {
      const ns = getObject<Ns>("namespace", n);
      return ns?.metadata.labels?.["capsule.clastix.io/tenant"] !== undefined || (ns?.metadata.ownerReferences ?? []).some((r) => r.kind === "Tenant");
    });
    assert.deepEqual(apps(), homes, "every tenant's app, before");
    assert.deepEqual(capsuleTenants(), tenants.map((t) => `tenant.capsule.clastix.io/${t.name}`).sort(), "one Capsule Tenant per tenant, before");
    // What each reconciler may do, from a fixed set of probes (kubectl auth
    // can-i as the account). Capsule mode grants creating and patching
    // namespaces (Capsule's provisioner binding; its webhook holds the quota
    // and what may change) and deleting its own (Capsule's deleter role);
    // namespace mode none of these, so none may survive the switch, and the
    // switch back restores exactly what capsule mode granted.
    const powers = () => Object.fromEntries(tenants.map((t) => {
      const user = sa(t.namespaces[0]!, t.name);
      const home = t.namespaces[0]!;
      const other = homes.find((h) => h !== home)!;
      const probes: [string, string, string | undefined][] = [
        ["create", "namespaces", undefined], ["patch", "namespaces", home], ["delete", "namespaces", home],
        ["create", "deployments", home], ["create", "deployments", other], ["get", "secrets", other],
      ];
      return [t.name, probes.filter(([verb, resource, ns]) => canI(user, verb, resource, ns)).map(([verb, resource, ns]) => `${verb} ${resource}${ns ? ` in ${ns === home ? "its home" : ns}` : ""}`)];
    }));
    const capsulePowers = powers();
    for (const [t, granted] of Object.entries(capsulePowers)) {
      assert.ok(granted.includes("create deployments in its home"), `${t}: admin in its home, before`);
      assert.ok(!granted.some((g) => homes.some((h) => g.endsWith(` in ${h}`))), `${t}: nothing in another tenant's namespace, before: ${granted.join(", ")}`);
    }
    say(`reconcilers' powers in capsule mode: ${JSON.stringify(capsulePowers)}`);

    await scenario("mode switch: capsule to namespace", () => lab.setTenants(tenants, "namespace"), async () => {
      assert.deepEqual(apps(), homes, "every tenant's app kept");
      const gone = allNamespaces.filter((n) => { const ns = getObject<Ns>("namespace", n); return !ns || ns.metadata.deletionTimestamp; });
      assert.deepEqual(gone, [], "no tenant namespace deleted or terminating");
      assert.deepEqual(capsuleTenants(), [], "no Capsule Tenant left");
      assert.deepEqual(capsuleOwned(), [], "no namespace still labelled for or owned by a Capsule Tenant");
      assert.deepEqual(powers(), Object.fromEntries(tenants.map((t) => [t.name, ["create deployments in its home"]])),
        "each reconciler: admin in its own namespaces, no power of capsule mode left");
      return `Capsule Tenants released ${allNamespaces.length} namespaces, then went; every app kept; reconcilers: admin in their own namespaces only (can-i)`;
    }, {
      expectChanged: (urns) => {
        const deleted = urns.filter((u) => /capsule-tenant$/.test(u));
        assert.equal(deleted.length, tenants.length, `each Capsule Tenant goes: ${urns.join(" ")}`);
        assert.equal(urns.filter((u) => /capsule-release$/.test(u)).length, tenants.length, "each Tenant releases its namespaces first");
      },
    });

    // The isolation suite's threat rows where the modes differ (namespaces) and
    // where a leftover power would show (RBAC elsewhere), committed by dev-team
    // through Flux, as the isolation suite does on a fresh stack.
    await threatsAfterSwitch("namespace", ["4a", "5b", "6a", "6b", "7a"]);

    // Where namespace mode differs: a namespace comes with its own reconciler and RoleBinding, not a Capsule Tenant's.
    const dev = tenants.find((t) => t.name === DEV.name)!;
    await scenario("namespace added (dev-team), namespace mode", () => lab.setTenants(changed(lab, dev.name, (t) => ({ ...t, namespaces: [...dev.namespaces, "dev-team-tools"] })), "namespace"), async () => {
      assert.ok(getObject("namespace", "dev-team-tools"), "the new namespace exists");
      assert.ok(canI(sa(dev.namespaces[0]!, dev.name), "create", "deployments", "dev-team-tools"), "dev-team's reconciler is admin in it (its RoleBinding)");
      assert.ok(!canI(sa(dev.namespaces[0]!, dev.name), "create", "namespaces"), "and still creates no namespace");
      return "dev-team-tools created with dev-team's RoleBinding and reconciler account; no Capsule object";
    }, {
      expectPreview: (plan) => assert.deepEqual([plan.create, plan.replace], [3, undefined], `the Namespace, its RoleBinding and reconciler account: ${JSON.stringify(plan)}`),
      // The first update after the switch also drops the release patches from the state (retained: nothing is deleted in the cluster).
      expectChanged: (urns) => assert.deepEqual(urns.filter((u) => !u.includes("dev-team-tools") && !/capsule-release$/.test(u)), [], `only dev-team-tools' objects and the release patches: ${urns.join(" ")}`),
    });
    await scenario("namespace removed (dev-team), namespace mode", () => lab.setTenants(changed(lab, dev.name, (t) => ({ ...t, namespaces: dev.namespaces })), "namespace"), async () => {
      await waitFor("dev-team-tools gone", () => (getObject("namespace", "dev-team-tools") === undefined ? true : undefined), 60_000);
      assert.ok(getObject("configmap", "app", dev.namespaces[0]!), "dev-team's home workload kept");
      return "dev-team-tools deleted with its RoleBinding; the home namespace and its workload kept";
    });

    // A rename in namespace mode (no Capsule Tenant to move the namespace into), there and back: data-team to data-crew.
    const data = tenants.find((t) => t.name === "data-team")!;
    const dataHome = data.namespaces[0]!;
    const appUid = () => getObject<{ metadata: { uid: string } }>("configmap", "app", dataHome)?.metadata.uid;
    const rename = async (from: string, to: string) => {
      const before = appUid();
      assert.ok(before, `${from}'s app, before`);
      await scenario(`tenant renamed with renamedFrom (${from} to ${to}), namespace mode`,
        () => lab.setTenants(lab.tenants.map((t) => (t.name === from ? { ...t, name: to, renamedFrom: from } : t)), "namespace"),
        async () => {
          assert.equal(appUid(), before, "the same ConfigMap: never pruned and re-created");
          const ns = getObject<{ metadata: { uid: string; deletionTimestamp?: string } }>("namespace", dataHome);
          assert.ok(ns && !ns.metadata.deletionTimestamp, `${dataHome} kept`);
          assert.equal(getObject(KS, from, dataHome), undefined, "the old Kustomization is gone");
          assert.equal(getObject("serviceaccount", from, dataHome), undefined, "the old reconciler is gone");
          assert.ok(canI(sa(dataHome, to), "create", "deployments", dataHome), "the new reconciler is admin in the namespace (its RoleBinding)");
          assert.ok(!canI(sa(dataHome, from), "create", "deployments", dataHome), "the old reconciler has no rights left");
          return `${dataHome} and its app kept (same uid); the old Kustomization, reconciler and RoleBinding gone`;
        }, { watch: watched.map((t) => (t.name === "data-team" ? { name: to, home: dataHome, formerNames: [from] } : t)) });
    };
    await rename("data-team", "data-crew");
    await rename("data-crew", "data-team");

    await scenario("mode switch: namespace to capsule", () => lab.setTenants(tenants, "capsule"), async () => {
      assert.deepEqual(apps(), homes, "every tenant's app kept");
      assert.deepEqual(capsuleTenants(), tenants.map((t) => `tenant.capsule.clastix.io/${t.name}`).sort(), "one Capsule Tenant per tenant again");
      await waitFor("Capsule to count every tenant's namespaces", () => tenants.every((t) =>
        getObject<{ status?: { size?: number } }>("tenants.capsule.clastix.io", t.name)?.status?.size === t.namespaces.length) ? true : undefined, 60_000);
      assert.deepEqual(capsuleOwned().sort(), [...allNamespaces].sort(), "every namespace in its Capsule Tenant");
      assert.deepEqual(powers(), capsulePowers, "each reconciler: exactly the powers capsule mode granted before the switch");
      return `every namespace back in its Capsule Tenant (status.size as listed); every app kept`;
    });
    await threatsAfterSwitch("capsule", ["4a", "5b", "6a", "6b"]);
  });

  it("7b. refused before anything runs: a tenant renamed (its namespaces would go with the old name), a Flux downgrade", async () => {
    const homes = lab.tenants.map((t) => t.namespaces[0]!);
    const apps = () => homes.filter((h) => getObject("configmap", "app", h) !== undefined);
    const capsuleTenants = () => kubectl(["get", "tenants.capsule.clastix.io", "-o", "name"]).stdout.split("\n").filter(Boolean).sort();
    const deployments = () => kubectl(["get", "deployments", "-n", "flux-system", "-o", "jsonpath={range .items[*]}{.metadata.name}@{.metadata.generation} {end}"]).stdout.trim();
    const state = () => ({ apps: apps(), tenants: capsuleTenants(), keys: double.listKeys(OWNER, PLATFORM_REPO).length, deployments: deployments() });
    const before = state();
    assert.deepEqual(before.apps, homes, "every tenant's app, before");
    const refused = async (what: string, change: () => Promise<void>, pattern: RegExp, field: RegExp) => {
      await change();
      const watch = new TenantWatch(watched).start();
      const t0 = performance.now();
      const error = await lab.preview().then(() => undefined, (e: Error) => e);
      assert.ok(error, `${what}: the preview must fail`);
      const line = error.message.split("\n").find((l) => pattern.test(l));
      assert.ok(line, `${what}: the refusal says why: ${short(error.message, 1500)}`);
      const upError = await lab.up().then(() => undefined, (e: Error) => e);
      assert.ok(upError && pattern.test(upError.message), `${what}: up refuses too`);
      assert.deepEqual(state(), before, `${what}: nothing changed`);
      const seconds = Math.round((performance.now() - t0) / 1000);
      const report = await watch.stop();
      assertWatched(report, what);
      const notReady = Object.values(report.notReadySeconds).reduce((x, y) => x + y, 0);
      assert.equal(notReady + report.authErrors, 0, `${what}: tenants kept reconciling (${JSON.stringify(report.notReadySeconds)}, ${report.authErrors} auth errors)`);
      rows.push({ scenario: what, preview: "refused", upSeconds: seconds, notReady, authErrors: report.authErrors,
        result: `refused before any change: ${short(line.replace(new RegExp(`^.*?(${field.source})`), "$1"), 160)}; every namespace, app, Capsule Tenant, key and controller kept`, ok: true });
      say(`${what}: refused: ${short(line, 300)}`);
    };
    const tenants = lab.tenants;
    await refused("tenant renamed (ops-team to operations)", () => lab.setTenants(changed(lab, "ops-team", (t) => ({ ...t, name: "operations" })), "capsule"),
      /namespace "ops-team-apps" belongs to tenant "ops-team"; listing it under "operations"/, /tenants\[/);
    await lab.setTenants(tenants, "capsule");
    await refused(`Flux downgrade ${LAB_FLUX_VERSION} to ${OLDER_FLUX_VERSION}`, () => lab.setFlux(releaseFlux(OLDER_FLUX_VERSION)),
      new RegExp(`flux\\.version: the stack runs Flux ${LAB_FLUX_VERSION.replace(/\./g, "\\.")}; ${OLDER_FLUX_VERSION.replace(/\./g, "\\.")} is older`), /flux\.version/);
    await lab.setFlux(labFlux());
    assert.deepEqual(changes(await lab.preview(true)), {}, "back to the config of the last update: nothing to do");
  });

  it("7c. a tenant renamed with renamedFrom (ops-team to operations): its namespace and workload kept, the new Kustomization takes over before the old goes", async () => {
    type Obj = { metadata: { uid: string; labels?: Record<string, string> } };
    const app = () => getObject<Obj>("configmap", "app", "ops-team-apps");
    const before = app();
    assert.ok(before, "ops-team's app, before");
    const capsuleTenants = () => kubectl(["get", "tenants.capsule.clastix.io", "-o", "name"]).stdout.split("\n").filter(Boolean).sort();
    const keys = () => [...keysOn(double, PLATFORM_REPO).keys()].filter((title) => title.startsWith("tenant ops-team ") || title.startsWith("tenant operations "));
    assert.deepEqual(keys().map((k) => k.split(" ")[1]), ["ops-team"], "ops-team's key, before");
    await scenario("tenant renamed with renamedFrom (ops-team to operations)",
      () => lab.setTenants(changed(lab, "ops-team", (t) => ({ ...t, name: "operations", renamedFrom: "ops-team", branch: "ops-team" })), "capsule"),
      async () => {
        const after = app();
        assert.equal(after?.metadata.uid, before.metadata.uid, "the same ConfigMap: never pruned and re-created");
        assert.equal(after?.metadata.labels?.["kustomize.toolkit.fluxcd.io/name"], "operations", "now the new Kustomization's");
        const ns = getObject<{ metadata: { labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] } }>("namespace", "ops-team-apps")!;
        assert.equal(ns.metadata.labels?.["capsule.clastix.io/tenant"], "operations");
        assert.deepEqual((ns.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`), ["Tenant/operations"]);
        assert.deepEqual(capsuleTenants(), lab.tenants.map((t) => `tenant.capsule.clastix.io/${t.name}`).sort(), "one Capsule Tenant per tenant, operations for ops-team");
        assert.ok(capsuleTenants().includes("tenant.capsule.clastix.io/operations") && !capsuleTenants().includes("tenant.capsule.clastix.io/ops-team"));
        assert.equal(getObject(KS, "ops-team", "ops-team-apps"), undefined, "the old Kustomization is gone");
        assert.equal(getObject("serviceaccount", "ops-team", "ops-team-apps"), undefined, "the old reconciler is gone");
        assert.deepEqual(keys().map((k) => k.split(" ")[1]), ["operations"], "only the new key on GitHub");
        assert.ok(canI(sa("ops-team-apps", "operations"), "create", "deployments", "ops-team-apps"), "the new reconciler is admin in the namespace");
        return `ops-team-apps kept (its app the same object, now labelled for operations), in Capsule Tenant operations; old Kustomization, reconciler and key gone`;
      }, {
        watch: watched.map((t) => (t.name === "ops-team" ? { name: "operations", home: t.home, formerNames: ["ops-team"] } : t)),
        // Without the aliases the Namespace would be a delete (old name) and a create (new name).
        expectPreview: (plan) => assert.deepEqual([plan.delete ?? 0, plan.create ?? 0], [0, 1], `only replacements, updates and the release patch: ${JSON.stringify(plan)}`),
      });
  });

  /** `pulumi destroy` while Flux runs, then nothing left: `namespaces`, Flux's CRDs, deploy keys, controllers; adds the row. */
  async function destroyWithFlux(scenario: string, namespaces: readonly string[]): Promise<void> {
    assert.ok(controllerRunning("kustomize-controller") && controllerRunning("source-controller"), "Flux runs");
    const t0 = performance.now();
    const destroyed = changes(await lab.destroy());
    const destroySeconds = Math.round((performance.now() - t0) / 1000);
    say(`destroy: ${JSON.stringify(destroyed)} in ${destroySeconds}s, Flux running throughout`);
    await waitFor(`${namespaces.join(", ")} gone`, () => (namespaces.every((n) => getObject("namespace", n) === undefined) ? true : undefined), 120_000);
    const goneSeconds = Math.round((performance.now() - t0) / 1000);
    const crds = kubectl(["get", "crd", "-o", "name"]).stdout.split("\n").filter((n) => n.endsWith(".fluxcd.io"));
    assert.deepEqual(crds, [], "Flux's CRDs gone");
    const keys = [PLATFORM_REPO, DATA_REPO, DATA_REPO_MOVED].flatMap((r) => double.listKeys(OWNER, r));
    assert.deepEqual(keys, [], "no deploy key left on GitHub");
    await waitFor("the runner to stop the deleted controllers", () => (controllerRunning("kustomize-controller") ? undefined : true), 30_000, 250);
    const row: Row = { scenario, preview: JSON.stringify(destroyed), upSeconds: destroySeconds, notReady: 0, authErrors: 0,
      result: `namespaces gone ${goneSeconds}s after destroy began; no Flux CRD, finalizer or deploy key left`, ok: true };
    rows.push(row);
    say(`row: ${row.scenario} | ${row.preview} | ${row.upSeconds}s | - | - | ${row.result}`);
  }

  it("8. destroy with Flux running: finalizers honoured, nothing stuck, no key left on GitHub", async () => {
    await destroyWithFlux("destroy with Flux running", ["flux-system", ...watched.map((t) => t.home), "new-team-apps"]);
  });

  it("9. Capsule from its chart (capsule.install: true): preview on a cluster without Capsule, up with Capsule run from the chart's Deployment, a no-op refresh, destroy", async () => {
    // The lab's own Capsule (up.sh's process) goes, with everything it made: a cluster without Capsule.
    await withoutCapsule();
    const chartDir = sharedTempDir("e2e-day2-chart-");
    try {
      await capsuleFromChart(stageCapsuleChart(chartDir));
    } finally {
      fs.rmSync(chartDir, { recursive: true, force: true });
    }
  });

  /** No stack, no controller and nothing of Capsule in the lab: its CRDs, configuration, RBAC and namespace gone. */
  async function withoutCapsule(): Promise<void> {
    if (getObject("namespace", "flux-system")) await lab.destroy();
    controllers("down.sh");
    removeCapsuleResidue();
    await waitFor("Capsule's CRDs and namespace gone", () => (capsuleCrds().length === 0 && getObject("namespace", "capsule-system") === undefined ? true : undefined), 120_000);
  }

  /** Scenario 9 with the chart staged. */
  async function capsuleFromChart(chart: StagedChart): Promise<void> {
    startCapsuleRunner();
    await lab.setCapsule({ install: true, chart: chart.dir, values: labCapsuleValues() });
    await lab.setTenants(TENANTS, "capsule");

    const { plan, comment, changed: urns } = await lab.previewForReview();
    // A first up: one line per resource created (about 80), not a routine change's few.
    printComment("Capsule from its chart, on a cluster without Capsule", comment, 100);
    assert.deepEqual(Object.keys(changes(plan)), ["create"], `a first up only creates: ${JSON.stringify(plan)}`);
    assert.ok(urns.some((u) => u.includes("kubernetes:helm.sh/v3:Release")), "the preview creates Capsule's Helm release");

    const t0 = performance.now();
    await bootstrap(lab, { log: (line) => say(line) });
    const upSeconds = Math.round((performance.now() - t0) / 1000);
    const manager = "capsule-controller-manager";
    const argv = controllerCommandLine(manager) ?? [];
    assert.match(argv[0] ?? "(not running)", new RegExp(`/capsule/${chart.version.replace(/\./g, "\\.")}-[0-9a-f]+/capsule$`), "Capsule runs from its chart's Deployment, at the chart's version");
    assert.ok(argv.includes("--configuration-name=default") && argv.some((a) => a.startsWith("--webhook-cert-path=") && a.includes("/volumes/")), `the chart's args, the TLS Secret as files: ${argv.join(" ")}`);
    say(`Capsule run by the runner from Deployment capsule-system/${manager}: ${argv.join(" ")}`);
    for (const t of TENANTS) {
      const size = await waitFor(`Capsule Tenant ${t.name} to count its namespace`, () => {
        const n = getObject<{ status?: { size?: number } }>("tenants.capsule.clastix.io", t.name)?.status?.size;
        return n === 1 ? n : undefined;
      }, 60_000);
      assert.equal(size, 1);
    }
    // Capsule's webhook answers: a tenant reconciler may create namespaces (Capsule's provisioner binding), but not into another tenant.
    const intrusion = { apiVersion: "v1", kind: "Namespace", metadata: { name: "dev-team-in-ops", labels: { "capsule.clastix.io/tenant": "ops-team" } } };
    const created = kubectl(["create", "--raw", "/api/v1/namespaces", "-f", "-", `--as=${sa("dev-team-apps", "dev-team")}`], JSON.stringify(intrusion));
    if (created.status === 0) kubectl(["delete", "namespace", "dev-team-in-ops", "--wait=false"]);
    assert.notEqual(created.status, 0, "dev-team's reconciler created a namespace in ops-team's Capsule Tenant");
    assert.match(created.stderr, /admission webhook "[^"]*projectcapsule\.dev" denied the request/, `denied by Capsule's webhook: ${created.stderr}`);
    say(`Capsule's webhook: ${short(created.stderr, 200)}`);
    assert.deepEqual(changes(await lab.preview(true)), {}, "preview --refresh after up: no changes");

    const d0 = performance.now();
    const destroyed = changes(await lab.destroy());
    const destroySeconds = Math.round((performance.now() - d0) / 1000);
    const namespaces = ["flux-system", ...TENANTS.map((t) => t.namespaces[0]!)];
    await waitFor(`${namespaces.join(", ")} gone`, () => (namespaces.every((n) => getObject("namespace", n) === undefined) ? true : undefined), 120_000);
    await waitFor("the runner to stop Capsule once its Deployment is gone", () => (controllerRunning(manager) ? undefined : true), 30_000, 250);
    assert.equal(getObject("deployment", manager, "capsule-system"), undefined, "the chart's Deployment is gone");
    assert.deepEqual(kubectl(["get", "tenants.capsule.clastix.io", "-o", "name"]).stdout.trim(), "", "no Capsule Tenant left");
    // Capsule's webhooks go with its configuration, whose release goes after Capsule's: no namespace change is refused afterwards.
    await waitFor("Capsule's configuration and webhooks gone", () => (getObject("capsuleconfigurations.capsule.clastix.io", "default") === undefined &&
      getObject("validatingwebhookconfiguration", "capsule-dynamic-webhook") === undefined && getObject("mutatingwebhookconfiguration", "capsule-dynamic-webhook") === undefined ? true : undefined), 60_000);
    kubectlOk(["create", "namespace", "after-capsule"]);
    kubectlOk(["delete", "namespace", "after-capsule", "--wait=true", "--timeout=60s"]);
    // What Helm leaves by design (a chart's crds/, the namespace it created, the Secret the chart keeps) and Capsule's
    // own RBAC, which the chart's pre-delete Job removes (it needs the tls.create the component sets; the lab runs no Jobs).
    const left = [`${capsuleCrds().length} CRDs (Helm keeps a chart's crds/)`,
      ...(getObject("secret", "capsule-tls", "capsule-system") ? ["Secret capsule-system/capsule-tls (the chart's keep policy)"] : []),
      ...["capsule-namespace-provisioner", "capsule-namespace-deleter"].filter((n) => getObject("clusterrole", n)).map((n) => `ClusterRole ${n}`),
      ...(getObject("clusterrolebinding", "capsule-namespace-provisioner") ? ["ClusterRoleBinding capsule-namespace-provisioner"] : [])];
    const row: Row = { scenario: "Capsule from its chart", preview: summary(plan), upSeconds, notReady: 0, authErrors: 0,
      result: `Capsule ${chart.version} run from the chart's Deployment, its webhook denying; no-op refresh; destroy ${JSON.stringify(destroyed)} in ${destroySeconds}s: Capsule stopped, its configuration and webhooks gone; left: ${left.join("; ")}`, ok: true };
    rows.push(row);
    say(`row: ${row.scenario} | ${row.preview} | ${row.upSeconds}s | - | - | ${row.result}`);
  }

  it("10. destroy with Flux running, namespace mode: finalizers honoured, nothing stuck, no key left on GitHub", async () => {
    // A namespace-mode cluster has no Capsule: scenario 9 left Capsule's CRDs and RBAC.
    await withoutCapsule();
    await lab.setCapsule({ install: false });
    await lab.setTenants(TENANTS, "namespace");
    await bootstrap(lab, { log: (line) => say(line) });
    await destroyWithFlux("destroy with Flux running, namespace mode", ["flux-system", ...watched.map((t) => t.home)]);
  });
});

/** Capsule's CRDs in the lab. */
function capsuleCrds(): string[] {
  return kubectl(["get", "crd", "-o", "name"]).stdout.split("\n").filter((n) => /capsule\.clastix\.io$|projectcapsule\.dev$/.test(n));
}
