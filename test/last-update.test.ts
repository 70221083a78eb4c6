import * as assert from "node:assert/strict";
import { adoptionOfManagedStack, capsuleTenantsToRelease, fluxDowngrade, lastUpdateOf, namespaceLosingChanges } from "../components";
import { baseConfig, runStack } from "./harness";
import { useMocks } from "./mocks";

const next = (tenancy: "capsule" | "namespace", tenants: [string, string[]][]) => ({ tenancy, tenants: tenants.map(([name, namespaces]) => ({ name, namespaces })) });
const last = (tenancy: string | undefined, tenants: [string, string[]][]) => ({ tenancy, tenants: Object.fromEntries(tenants.map(([n, namespaces]) => [n, { namespaces }])) });

describe("changes that would delete listed namespaces are refused (namespaceLosingChanges)", () => {
  const TENANTS: [string, string[]][] = [["dev-team", ["dev-team-apps", "dev-team-tools"]], ["ops-team", ["ops-team-apps"]]];

  it("allows a first update, an unchanged stack, added or removed tenants and namespace to capsule mode", () => {
    assert.deepEqual(namespaceLosingChanges({}, next("namespace", TENANTS)), []);
    assert.deepEqual(namespaceLosingChanges(last("capsule", TENANTS), next("capsule", TENANTS)), []);
    assert.deepEqual(namespaceLosingChanges(last("capsule", TENANTS), next("capsule", [TENANTS[0]!, ["new-team", ["new-team-apps"]]])), []);
    assert.deepEqual(namespaceLosingChanges(last("namespace", TENANTS), next("capsule", TENANTS)), []);
  });

  it("ignores last outputs of another shape rather than guessing from them", () => {
    for (const tenants of [[{ namespaces: ["dev-team-apps"] }], { "dev-team": null }, { "dev-team": { namespaces: "dev-team-apps" } }, "x"]) {
      assert.deepEqual(namespaceLosingChanges({ tenancy: "namespace", tenants } as never, next("namespace", [["developers", ["dev-team-apps"]]])), [], JSON.stringify(tenants));
    }
  });

  it("capsule to namespace mode is not refused: the tenants kept, and only those, release their Capsule Tenants first", () => {
    assert.deepEqual(namespaceLosingChanges(last("capsule", TENANTS), next("namespace", TENANTS)), []);
    assert.deepEqual(capsuleTenantsToRelease(last("capsule", TENANTS), next("namespace", [TENANTS[1]!, ["new-team", ["new-team-apps"]]])), ["ops-team"]);
    assert.deepEqual(capsuleTenantsToRelease(last("capsule", TENANTS), next("capsule", TENANTS)), []);
    assert.deepEqual(capsuleTenantsToRelease(last("namespace", TENANTS), next("namespace", TENANTS)), []);
    assert.deepEqual(capsuleTenantsToRelease({}, next("namespace", TENANTS)), [], "a first update has no Capsule Tenant to release");
  });

  it("refuses a tenant renamed or a namespace moved to another tenant, naming both and the index", () => {
    const problems = namespaceLosingChanges(last("namespace", TENANTS), next("namespace", [["developers", ["dev-team-apps", "dev-team-tools"]], TENANTS[1]!]));
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^tenants\[0\]: namespace "dev-team-apps" belongs to tenant "dev-team"; listing it under "developers" .* set tenants\[0\]\.renamedFrom to "dev-team"; to move the namespace, .*$/);
    const moved = namespaceLosingChanges(last("capsule", TENANTS), next("capsule", [["dev-team", ["dev-team-apps"]], ["ops-team", ["ops-team-apps", "dev-team-tools"]]]));
    assert.equal(moved.length, 1);
    assert.match(moved[0]!, /^tenants\[1\]: namespace "dev-team-tools" belongs to tenant "dev-team"; listing it under "ops-team"/);
  });

  it("a rename declared with renamedFrom is not refused; its former Capsule Tenant is released (in capsule mode too)", () => {
    const renamed = (tenancy: "capsule" | "namespace") => ({ ...next(tenancy, [["developers", ["dev-team-apps", "dev-team-tools"]], TENANTS[1]!]), tenants: [
      { name: "developers", namespaces: ["dev-team-apps", "dev-team-tools"], renamedFrom: "dev-team" }, { name: "ops-team", namespaces: ["ops-team-apps"] }] });
    assert.deepEqual(namespaceLosingChanges(last("capsule", TENANTS), renamed("capsule")), []);
    assert.deepEqual(capsuleTenantsToRelease(last("capsule", TENANTS), renamed("capsule")), ["dev-team"], "only the renamed tenant's former Tenant");
    assert.deepEqual(capsuleTenantsToRelease(last("capsule", TENANTS), renamed("namespace")), ["dev-team", "ops-team"], "renamed and switching: the former name's");
    assert.deepEqual(capsuleTenantsToRelease(last("namespace", TENANTS), renamed("namespace")), []);
    // Done: the last update has the new name; renamedFrom left in the config changes nothing more.
    const done = last("capsule", [["developers", ["dev-team-apps", "dev-team-tools"]], TENANTS[1]!]);
    assert.deepEqual(capsuleTenantsToRelease(done, renamed("capsule")), []);
    assert.deepEqual(lastUpdateOf(last("capsule", TENANTS)), { tenancy: "capsule", tenants: ["dev-team", "ops-team"] });
    assert.deepEqual(lastUpdateOf({ tenancy: "other", tenants: "x" } as never), { tenants: [] }, "outputs of another shape say nothing");
  });

  it("a renamed tenant keeps its namespaces' resources (aliases), releases its former Capsule Tenant after the namespaces move and waits for the new Kustomization; tenant Kustomizations orphan what they applied", async () => {
    const mocks = await useMocks();
    const base = baseConfig();
    const dev = base.tenants.find((t) => t.name === "dev-team")!;
    mocks.stackOutputs = { tenancy: "capsule", tenants: Object.fromEntries(base.tenants.map((t) => [t.name, { namespaces: t.namespaces }])) };
    const renamed = { ...base, tenants: base.tenants.map((t) => (t === dev ? { ...t, name: "developers", renamedFrom: "dev-team" } : t)) };
    await runStack(renamed, mocks);
    const patch = mocks.one("kubernetes:capsule.clastix.io/v1beta2:TenantPatch", "developers-capsule-release");
    assert.equal((patch.inputs.metadata as { name: string }).name, "dev-team", "the former Capsule Tenant waits to let go");
    for (const ns of dev.namespaces as string[]) {
      const n = mocks.one("kubernetes:core/v1:Namespace", `developers-ns-${ns}`);
      assert.ok(patch.dependencies.includes(n.urn!), `waits for ${ns} to move`);
      assert.deepEqual((n.inputs.metadata as { labels: Record<string, string> }).labels["capsule.clastix.io/tenant"], "developers");
    }
    const sync = mocks.one("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "developers-sync");
    assert.equal((sync.inputs.spec as { deletionPolicy?: string }).deletionPolicy, "Orphan", "the old Kustomization, deleted last, prunes nothing the new one took over");
    assert.equal((sync.inputs.metadata as { annotations?: Record<string, string> }).annotations?.["pulumi.com/waitFor"], "condition=Ready", "the rename waits for the new Kustomization");
    assert.equal(mocks.ofType("kubernetes:capsule.clastix.io/v1beta2:TenantPatch").length, 1, "ops-team is untouched");
  });

  it("the stack program reads its last update's outputs and refuses before registering its provider or any resource", async () => {
    const mocks = await useMocks();
    mocks.stackOutputs = { tenancy: "capsule", tenants: { "dev-team": { namespaces: ["dev-team-apps"] } } };
    const base = baseConfig();
    const renamed = { ...base, tenants: base.tenants.map((t) => (t.name === "dev-team" ? { ...t, name: "developers" } : t)) };
    const error = await runStack(renamed, mocks).then(() => undefined, (e: Error) => e);
    assert.ok(error, "the program must refuse");
    assert.match(error.message, /namespace "dev-team-apps" belongs to tenant "dev-team"; listing it under "developers"/);
    assert.deepEqual(mocks.resources.map((r) => r.type), ["pulumi:pulumi:StackReference"], "only the read of the last update");
  });

  it("leaving capsule mode: each kept tenant's Capsule Tenant waits for Capsule to let go of its namespaces, after they and the new RoleBindings are applied", async () => {
    const mocks = await useMocks();
    const base = baseConfig();
    mocks.stackOutputs = { tenancy: "capsule", tenants: Object.fromEntries(base.tenants.map((t) => [t.name, { namespaces: t.namespaces }])) };
    const namespaceMode = { ...base, tenancy: "namespace" as const, capsule: { install: false }, tenants: base.tenants.map(({ namespaceQuota: _q, ...t }) => t) };
    await runStack(namespaceMode, mocks);
    const patches = mocks.ofType("kubernetes:capsule.clastix.io/v1beta2:TenantPatch");
    assert.deepEqual(patches.map((p) => p.name).sort(), base.tenants.map((t) => `${t.name}-capsule-release`).sort());
    for (const t of base.tenants) {
      const patch = mocks.one("kubernetes:capsule.clastix.io/v1beta2:TenantPatch", `${t.name}-capsule-release`);
      const metadata = patch.inputs.metadata as { name: string; annotations: Record<string, string> };
      assert.equal(metadata.name, t.name);
      assert.equal(metadata.annotations["pulumi.com/waitFor"], "jsonpath={.status.size}=0");
      const waitsFor = (type: string, name: string) => patch.dependencies.includes(mocks.one(type, name).urn!);
      for (const ns of t.namespaces as string[]) {
        assert.ok(waitsFor("kubernetes:core/v1:Namespace", `${t.name}-ns-${ns}`), `${t.name}: waits for namespace ${ns}`);
        assert.ok(waitsFor("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", `${t.name}-rb-${ns}`), `${t.name}: waits for the RoleBinding in ${ns}`);
      }
    }
    assert.deepEqual(mocks.ofType("kubernetes:capsule.clastix.io/v1beta2:Tenant"), [], "the Capsule Tenants leave the program");
  });

  it("refuses a Flux downgrade, saying which release runs; the same release, an upgrade or no record pass", () => {
    const nextFlux = (version: string) => ({ ...next("capsule", TENANTS), flux: { version } });
    assert.match(fluxDowngrade({ fluxVersion: "v2.9.5" }, nextFlux("v2.7.3"))!, /^flux\.version: the stack runs Flux v2\.9\.5; v2\.7\.3 is older.*Keep v2\.9\.5 or choose a newer release$/);
    assert.ok(fluxDowngrade({ fluxVersion: "v2.10.0" }, nextFlux("v2.9.9")), "compared as numbers, not text");
    assert.ok(fluxDowngrade({ fluxVersion: "v3.0.0" }, nextFlux("v2.99.99")));
    for (const [was, now] of [["v2.7.3", "v2.7.3"], ["v2.7.3", "v2.9.5"], ["v2.9.9", "v2.10.0"], [undefined, "v2.7.3"], ["main", "v2.7.3"]] as const) {
      assert.equal(fluxDowngrade({ fluxVersion: was }, nextFlux(now)), undefined, `${was} -> ${now}`);
    }
  });

  it("refuses adopting a deploy key on a stack that already manages Flux; a new stack, or no adoption, passes", () => {
    const adopting = (id?: number) => ({ ...next("capsule", TENANTS), flux: { version: "v2.9.5", adoptDeployKeyId: id } });
    assert.match(adoptionOfManagedStack({ fluxVersion: "v2.9.5" }, adopting(90000001))!,
      /^flux\.adoptDeployKeyId: the stack already manages Flux \(its last update ran Flux v2\.9\.5\), and adoption is the first update of a new stack.*Remove flux\.adoptDeployKeyId/);
    assert.equal(adoptionOfManagedStack({}, adopting(90000001)), undefined, "a new stack adopts");
    assert.equal(adoptionOfManagedStack({ fluxVersion: "v2.9.5" }, adopting()), undefined, "the update after adoption");
  });

  it("the stack program refuses a Flux downgrade before registering anything", async () => {
    const mocks = await useMocks();
    mocks.stackOutputs = { tenancy: "capsule", fluxVersion: "v2.9.5" };
    const error = await runStack(baseConfig(), mocks).then(() => undefined, (e: Error) => e);
    assert.match(error?.message ?? "", /^flux\.version: the stack runs Flux v2\.9\.5; v2\.7\.5 is older/);
    assert.deepEqual(mocks.resources.map((r) => r.type), ["pulumi:pulumi:StackReference"]);
  });

  it("the stack program exports its tenancy and Flux release, which the next update reads", async () => {
    const { outputs } = await runStack(baseConfig());
    assert.equal(outputs.tenancy, "capsule");
    assert.equal(outputs.fluxVersion, "v2.7.5");
  });
});
