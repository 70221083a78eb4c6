import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { CONFIG_KEYS } from "../components/config";
import { baseConfig, runStack } from "./harness";
import { parentType, promiseOf, settle, useMocks } from "./mocks";

const ROOT = path.join(__dirname, "..");
const PROVIDER = path.join(ROOT, "provider");

/** The example stack's config as Platform arguments. */
function platformArgs() {
  const c = baseConfig();
  return { owner: c.owner, flux: c.flux as { version: string; repository: string; path: string }, tenancy: "capsule" as const, capsule: c.capsule, tenants: c.tenants as { name: string; namespaces: string[] }[] };
}

describe("Platform", () => {
  it("names each bad argument by its place in the arguments, before anything registers", async () => {
    const mocks = await useMocks();
    const { Platform } = await import("../components");
    const args = platformArgs();
    args.flux = { ...args.flux, path: "../etc" };
    args.tenants = [{ ...args.tenants[0]!, name: "Dev_Team" }, args.tenants[1]!];
    assert.throws(() => new Platform("prod", args), {
      name: "ArgumentError",
      message: 'Platform "prod": 2 problems:\n' +
        "  - flux.path \"../etc\" must not contain '..'; give the directory from the repository root\n" +
        '  - tenants[0] "Dev_Team": name "Dev_Team" is not a DNS-1123 label (lower-case letters, digits and \'-\', starting and ending with a letter or digit)',
    });
    assert.throws(() => new Platform("prod", { ...platformArgs(), tenancy: "vcluster" as "capsule" }),
      /Platform "prod": tenancy is "vcluster"; use one of "capsule", "namespace"/);
    assert.throws(() => new Platform("prod", { ...platformArgs(), owner: undefined as unknown as string }),
      /Platform "prod": owner is required; give it in the arguments/);
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("makes what the stack program makes, with the same names under one parent", async () => {
    const { mocks: viaStack } = await runStack(baseConfig());
    // Less the stack program's own: its provider and the read of its last update.
    const stackList = viaStack.resources.filter((r) => !["pulumi:providers:kubernetes", "pulumi:pulumi:StackReference"].includes(r.type))
      .map((r) => `${r.type} ${r.name}`).sort();

    const mocks = await useMocks();
    const { Platform } = await import("../components");
    const platform = new Platform("platform", platformArgs());
    const tenants = await promiseOf(platform.tenants);
    await settle(mocks);
    assert.deepEqual(mocks.resources.map((r) => `${r.type} ${r.name}`).sort(), stackList);
    for (const name of ["flux", "capsule", "dev-team", "ops-team"]) {
      const part = mocks.resources.find((r) => r.name === name && r.type.startsWith("flux-capsule:index:"))!;
      assert.equal(parentType(part), "flux-capsule:index:Platform", name);
    }
    assert.deepEqual(Object.keys(tenants).sort(), ["dev-team", "ops-team"]);
    assert.deepEqual(tenants["dev-team"]!.namespaces, ["dev-team-apps", "dev-team-tools"]);
    assert.equal(await promiseOf(platform.syncUrl), "ssh://git@github.com/acme/fleet-infra");
  });

  it("refuses bad manifests in preparePlatform, before the program registers anything", async () => {
    const mocks = await useMocks();
    const { preparePlatform } = await import("../components");
    const args = platformArgs();
    args.flux = { ...args.flux, manifestsSha256: "0".repeat(64) } as typeof args.flux;
    await assert.rejects(preparePlatform("platform", args), /its sha256 is [0-9a-f]{64}, but flux\.manifestsSha256 pins 0{64}/);
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });
});

describe("component provider (provider/)", () => {
  it("is the package: same name and version as package.json", () => {
    const root = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
    const plugin = JSON.parse(fs.readFileSync(path.join(PROVIDER, "package.json"), "utf8")) as { name: string; version: string };
    assert.deepEqual({ name: plugin.name, version: plugin.version }, { name: root.name, version: root.version });
    assert.match(fs.readFileSync(path.join(PROVIDER, "PulumiPlugin.yaml"), "utf8"), /^runtime: nodejs$/m);
  });

  it("derives a schema with Platform's plain arguments, enums and outputs", async function () {
    this.timeout(60_000);
    const { Platform } = await import("../components");
    const provider = new ComponentProvider({ components: [Platform], dirname: PROVIDER, name: "flux-capsule" });
    const text = await provider.getSchema();
    // TSDoc's {@link} reaches the schema as "[object Object]": the docs of what it reads must not use it.
    assert.doesNotMatch(text, /\[object Object\]/);
    const schema = JSON.parse(text) as {
      name: string; version: string;
      resources: Record<string, { isComponent: boolean; description?: string; inputProperties: Record<string, { plain?: boolean }>; requiredInputs: string[]; properties: Record<string, unknown> }>;
      types: Record<string, { enum?: { value: string }[]; properties?: Record<string, unknown> }>;
    };
    assert.equal(schema.name, "flux-capsule");
    const platform = schema.resources["flux-capsule:index:Platform"]!;
    assert.equal(platform.isComponent, true);
    assert.match(platform.description ?? "", /^The whole platform from the stack config's shape/);
    assert.deepEqual(Object.keys(platform.inputProperties).sort(), ["capsule", "flux", "lastUpdate", "owner", "parallelGitHubRequests", "reservedNamespaces", "tenancy", "tenants"]);
    assert.ok(Object.values(platform.inputProperties).every((p) => p.plain === true), "every argument is plain data");
    assert.deepEqual(platform.requiredInputs.sort(), ["flux", "owner"]);
    assert.deepEqual(Object.keys(platform.properties).sort(), ["commits", "fluxNamespace", "platformPublicKey", "syncUrl", "tenants"]);
    assert.deepEqual(schema.types["flux-capsule:index:TenancyMode"]!.enum!.map((e) => e.value), ["capsule", "namespace"]);
    assert.deepEqual(schema.types["flux-capsule:index:KeyAlgorithm"]!.enum!.map((e) => e.value), ["ecdsa-p384", "ed25519"]);
    // Every key of the stack config's flux object is an argument too (the shapes must not drift apart).
    const argumentKeys = (type: string) => Object.keys(schema.types[`flux-capsule:index:${type}`]!.properties!).sort();
    assert.deepEqual(argumentKeys("PlatformFlux"), [...CONFIG_KEYS.flux].sort());
    assert.deepEqual(argumentKeys("PlatformCapsule"), [...CONFIG_KEYS.capsule].sort());
    assert.deepEqual(argumentKeys("PlatformTenant"), [...CONFIG_KEYS.tenant].sort());
  });
});
