import * as assert from "node:assert/strict";
import { namespaceLosingChanges } from "../components";
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

  it("refuses capsule to namespace mode, saying Capsule deletes a Tenant's namespaces with it", () => {
    const [problem, ...rest] = namespaceLosingChanges(last("capsule", TENANTS), next("namespace", TENANTS));
    assert.deepEqual(rest, []);
    assert.match(problem!, /^tenancy: .*Capsule deletes a Tenant's namespaces.*set tenancy back to "capsule"$/);
  });

  it("refuses a tenant renamed or a namespace moved to another tenant, naming both and the index", () => {
    const problems = namespaceLosingChanges(last("namespace", TENANTS), next("namespace", [["developers", ["dev-team-apps", "dev-team-tools"]], TENANTS[1]!]));
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^tenants\[0\]: namespace "dev-team-apps" belongs to tenant "dev-team"; listing it under "developers" .* keep the name "dev-team"$/);
    const moved = namespaceLosingChanges(last("capsule", TENANTS), next("capsule", [["dev-team", ["dev-team-apps"]], ["ops-team", ["ops-team-apps", "dev-team-tools"]]]));
    assert.equal(moved.length, 1);
    assert.match(moved[0]!, /^tenants\[1\]: namespace "dev-team-tools" belongs to tenant "dev-team"; listing it under "ops-team"/);
  });

  it("the stack program reads its last update's outputs and refuses before registering its provider or any resource", async () => {
    const mocks = await useMocks();
    mocks.stackOutputs = { tenancy: "capsule", tenants: { "dev-team": { namespaces: ["dev-team-apps"] } } };
    const base = baseConfig();
    const namespaceMode = { ...base, tenancy: "namespace" as const, capsule: { install: false }, tenants: base.tenants.map(({ namespaceQuota: _q, ...t }) => t) };
    const error = await runStack(namespaceMode, mocks).then(() => undefined, (e: Error) => e);
    assert.ok(error, "the program must refuse");
    assert.match(error.message, /^tenancy: the stack runs in capsule mode/);
    assert.deepEqual(mocks.resources.map((r) => r.type), ["pulumi:pulumi:StackReference"], "only the read of the last update");
  });

  it("the stack program exports its tenancy, which the next update reads", async () => {
    const { outputs } = await runStack(baseConfig());
    assert.equal(outputs.tenancy, "capsule");
  });
});
