import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as util from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigError, parseStackConfig, RawStackConfig } from "../components/config";
import { GitHubWriteQueue, ManifestError, UserError } from "../components/shared";
import { ArgumentError, argumentErrorOf, assertValidArgs } from "../components/validation";
import { baseConfig, stackError } from "./harness";

function raw(change: (c: ReturnType<typeof baseConfig>) => void): RawStackConfig {
  const c = baseConfig();
  change(c);
  return c;
}

function problem(change: (c: ReturnType<typeof baseConfig>) => void): string {
  try {
    parseStackConfig(raw(change));
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail("expected the config to be rejected");
}

describe("stack config", () => {
  it("accepts the example and applies defaults", () => {
    const c = parseStackConfig(baseConfig());
    assert.equal(c.flux.branch, "main");
    assert.equal(c.flux.lockdown, true);
    assert.equal(c.flux.keyAlgorithm, "ecdsa-p384");
    assert.equal(c.flux.sshHost, "github.com");
    assert.deepEqual(c.flux.componentsExtra, []);
    assert.equal(c.flux.waitForReady, false);
    assert.equal(c.flux.readyTimeoutSeconds, 300);
    assert.equal(c.flux.keyRotation, undefined);
    assert.equal(c.tenancy, "capsule");
    assert.deepEqual(c.tenants[0], {
      name: "dev-team", namespaces: ["dev-team-apps", "dev-team-tools"], repository: "fleet-infra", branch: "dev-team", path: "./", namespaceQuota: 3, sharedRepository: true,
      waitForReady: false,
    });
    assert.equal(c.tenants[1]!.repository, "ops-fleet");
  });

  const cases: [string, (c: ReturnType<typeof baseConfig>) => void, string][] = [
    ["a missing flux.version", (c) => { delete c.flux.version; },
      "flux-capsule:flux.version is required; set it with `pulumi config set --path 'flux-capsule:flux.version' <value>`"],
    ["a missing flux block", (c) => { delete (c as Partial<typeof c>).flux; },
      "flux-capsule:flux is required; set it with `pulumi config set --path 'flux-capsule:flux' <value>`"],
    ["a missing github:owner", (c) => { delete (c as Partial<typeof c>).owner; },
      "github:owner is required; set it with `pulumi config set github:owner <org-or-user>`"],
    ["a version that is not vX.Y.Z", (c) => { c.flux.version = "2.7"; },
      "flux-capsule:flux.version \"2.7\" is not a Flux release tag; use the form vX.Y.Z, e.g. v2.7.5"],
    ["an unknown component", (c) => { c.flux.componentsExtra = ["image-automation-controller", "foo-controller"]; },
      "flux-capsule:flux.componentsExtra unknown component \"foo-controller\"; the extras are image-reflector-controller, image-automation-controller"],
    ["a misspelt key", (c) => { c.flux.componentExtra = []; },
      "flux-capsule:flux has unknown key \"componentExtra\"; check the spelling against Pulumi.yaml"],
    ["an unknown key algorithm", (c) => { c.flux.keyAlgorithm = "rsa"; },
      "flux-capsule:flux.keyAlgorithm is \"rsa\"; use one of \"ecdsa-p384\", \"ed25519\""],
    ["a key rotation that cannot name a key", (c) => { c.flux.keyRotation = "Dec 2"; },
      "flux-capsule:flux.keyRotation \"Dec 2\" is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit); use a date (2026-12-02) or a counter (2)"],
    ["a tenant key rotation that cannot name a key", (c) => { (c.tenants[1] as Record<string, unknown>).keyRotation = "2026/12/02"; },
      "flux-capsule:tenants[1] \"ops-team\": keyRotation \"2026/12/02\" is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit); use a date (2026-12-02) or a counter (2)"],
    ["a wait for Ready that is not whole seconds", (c) => { c.flux.readyTimeoutSeconds = 2.5; },
      "flux-capsule:flux.readyTimeoutSeconds is 2.5; give whole seconds from 10 to 7200"],
    ["an unknown tenancy", (c) => { c.tenancy = "vcluster"; },
      "flux-capsule:tenancy is \"vcluster\"; use one of \"capsule\", \"namespace\""],
    ["an absolute path", (c) => { c.flux.path = "/clusters/dev"; },
      "flux-capsule:flux.path \"/clusters/dev\" must be relative to the repository root (no leading '/')"],
    ["a tenant name that is not a DNS-1123 label", (c) => { c.tenants[0]!.name = "Dev_Team"; },
      "flux-capsule:tenants[0] \"Dev_Team\": name \"Dev_Team\" is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)"],
    ["a tenant name too long for its derived names", (c) => { c.tenants[0]!.name = "t".repeat(60); },
      `flux-capsule:tenants[0] "${"t".repeat(60)}": name is too long for the roleBinding name derived from it ("${"t".repeat(60)}-reconciler" is 71 characters; a DNS-1123 label has at most 63); use a shorter tenant name`],
    ["a namespace that is not a DNS-1123 label", (c) => { c.tenants[1]!.namespaces = ["ops.apps"]; },
      "flux-capsule:tenants[1] \"ops-team\": namespaces[0] \"ops.apps\" is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)"],
    ["a namespace longer than 63 characters", (c) => { c.tenants[1]!.namespaces = ["n".repeat(64)]; },
      `flux-capsule:tenants[1] "ops-team": namespaces[0] "${"n".repeat(64)}" is 64 characters; a DNS-1123 label has at most 63`],
    ["a tenant without namespaces", (c) => { c.tenants[1]!.namespaces = []; },
      "flux-capsule:tenants[1] \"ops-team\": namespaces must list at least one namespace (the first is the tenant's home)"],
    ["a former name that is not a DNS-1123 label", (c) => { (c.tenants[0] as { renamedFrom?: string }).renamedFrom = "Dev Team"; },
      "flux-capsule:tenants[0] \"dev-team\": renamedFrom \"Dev Team\" is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)"],
    ["a former name that is the tenant's own", (c) => { (c.tenants[0] as { renamedFrom?: string }).renamedFrom = "dev-team"; },
      "flux-capsule:tenants[0] \"dev-team\": renamedFrom is the tenant's own name; remove it"],
    ["a former name that another tenant still has", (c) => { (c.tenants[0] as { renamedFrom?: string }).renamedFrom = "ops-team"; },
      "flux-capsule:tenants[0] \"dev-team\": renamedFrom \"ops-team\" is also the name of tenants[1]; one tenant takes over a former name"],
    ["duplicate tenant names", (c) => { c.tenants[1]!.name = "dev-team"; c.tenants[1]!.namespaces = ["other"]; },
      "flux-capsule:tenants[1] \"dev-team\": name \"dev-team\" is already used by tenants[0]; tenant names must be unique"],
    ["a namespace claimed by two tenants", (c) => { c.tenants[1]!.namespaces = ["ops-team-apps", "dev-team-tools"]; },
      "flux-capsule:tenants[1] \"ops-team\": namespace \"dev-team-tools\" is already claimed by tenant \"dev-team\"; each namespace belongs to one tenant"],
    ["a namespace quota in namespace mode", (c) => { c.tenancy = "namespace"; c.capsule = { install: false }; },
      "flux-capsule:tenants[0] \"dev-team\": namespaceQuota needs tenancy \"capsule\"; remove it in namespace mode"],
    ["a quota below the namespaces listed", (c) => { c.tenants[0]!.namespaceQuota = 1; },
      "flux-capsule:tenants[0] \"dev-team\": namespaceQuota 1 must be a whole number of at least 2 (the namespaces listed), or \"unlimited\""],
    ["installing Capsule in namespace mode", (c) => { c.tenancy = "namespace"; delete c.tenants[0]!.namespaceQuota; },
      "flux-capsule:capsule.install is true but tenancy is \"namespace\"; set tenancy to capsule or install to false"],
  ];
  for (const ns of ["flux-system", "kube-system", "kube-public", "capsule-system", "default"]) {
    cases.push([`a tenant claiming ${ns}`, (c) => { c.tenants[1]!.namespaces = [ns]; },
      `flux-capsule:tenants[1] "ops-team": namespaces[0] "${ns}" is reserved for the platform; give the tenant its own namespace`]);
  }
  for (const [what, change, message] of cases) {
    it(`rejects ${what}`, () => assert.equal(problem(change), message));
  }

  it("passes Capsule administrators through and rejects an unknown kind", () => {
    const admins = [{ kind: "User", name: "platform-bot" }];
    assert.deepEqual(parseStackConfig(raw((c) => { c.capsule = { install: false, administrators: admins }; })).capsule.administrators, admins);
    assert.equal(problem((c) => { c.capsule = { administrators: [{ kind: "Robot", name: "x" }] }; }),
      "flux-capsule:capsule.administrators[0].kind is \"Robot\"; use one of \"User\", \"Group\", \"ServiceAccount\"");
  });

  it("lists every problem at once", () => {
    const message = problem((c) => { c.flux.version = "latest"; c.tenants[0]!.name = "X"; });
    assert.match(message, /^2 problems in the stack config:\n {2}- flux-capsule:flux\.version "latest"/);
    assert.match(message, /\n {2}- flux-capsule:tenants\[0\] "X": name "X" is not a DNS-1123 label/);
  });
});

describe("the example stack (Pulumi.dev.yaml)", () => {
  it("is a valid config", () => {
    const { config } = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
    const c = parseStackConfig({
      owner: config["github:owner"], flux: config["flux-capsule:flux"], tenancy: config["flux-capsule:tenancy"],
      capsule: config["flux-capsule:capsule"], tenants: config["flux-capsule:tenants"],
    });
    assert.deepEqual(c.tenants.map((t) => `${t.name}: ${t.repository}@${t.branch}`), ["dev-team: dev-fleet@dev-team", "ops-team: ops-fleet@main"]);
  });
});

describe("stack program input errors", () => {
  it("fails before any resource when the config is bad", async () => {
    const err = await stackError({ ...baseConfig(), tenancy: "bogus" });
    assert.equal(err.message, "flux-capsule:tenancy is \"bogus\"; use one of \"capsule\", \"namespace\"");
  });

  it("names a missing manifests file", async () => {
    const c = baseConfig();
    const err = await stackError({ ...c, flux: { ...c.flux, manifests: "./nope/install.yaml" } });
    assert.match(err.message, /^cannot read Flux manifests file .*\/nope\/install\.yaml \(ENOENT\); set flux\.manifests to an existing install\.yaml/);
  });

  it("names an unparsable manifests file", async () => {
    const c = baseConfig();
    const err = await stackError({ ...c, flux: { ...c.flux, manifests: __filename } });
    assert.match(err.message, /config\.test\.ts: document 1 is not (valid YAML|a Kubernetes object)/);
  });

  it("names a controller the manifests lack", async () => {
    const c = baseConfig();
    const err = await stackError({ ...c, flux: { ...c.flux, componentsExtra: ["image-reflector-controller"], manifests: `${__dirname}/fixtures/flux-install-no-image.yaml` } });
    assert.match(err.message, /flux-install-no-image\.yaml: has no Deployment for image-reflector-controller; use the install\.yaml of a Flux release that ships it/);
  });
});

describe("user errors", () => {
  // Pulumi's runner inspects every uncaught error with colours for its trace; on
  // Node 20.20.2 that loops for 15-30 s on frames like node_modules/@pulumi/resource.ts
  // (nodejs/node#64011). The errors users cause carry their message and no frames.
  const refusal = (refuse: () => unknown): UserError => {
    try {
      refuse();
    } catch (e) {
      return e as UserError;
    }
    return assert.fail("not refused");
  };
  const errors: [string, () => UserError][] = [
    ["ConfigError", () => refusal(() => parseStackConfig(raw((c) => { c.tenancy = "none" as never; })))],
    ["ArgumentError", () => refusal(() => assertValidArgs("Capsule", "capsule", [{ field: "version", problem: "is not a version" }]))],
    ["ManifestError", () => new ManifestError("install.yaml: not YAML")],
    ["UserError", () => refusal(() => new GitHubWriteQueue({ width: 0 }))],
  ];
  for (const [name, make] of errors) {
    it(`${name}: a RunError to Pulumi (printed without a stack), whose stack is its message alone`, () => {
      const err = make();
      assert.ok(err instanceof UserError && err instanceof Error);
      assert.equal(err.name, name);
      assert.ok(pulumi.RunError.isInstance(err), "Pulumi prints a RunError's message only");
      assert.equal(err.stack, `${name}: ${err.message}`);
      assert.doesNotMatch(util.inspect(err, { colors: true }), /\n\s+at /, "no stack frames to format");
      err.stack = "assigned";
      assert.equal(err.stack, "assigned", "a stack can still be assigned");
    });
  }

  it("a stack config value that is not JSON: a ConfigError naming the key, not the SDK's error", async () => {
    const err = await stackError({ ...baseConfig(), raw: { "flux-capsule:tenants": "[{not json" } });
    assert.equal(err.name, "ConfigError");
    assert.match(err.message, /^flux-capsule:tenants is not valid JSON; .*pulumi config set --path 'flux-capsule:tenants\.\.\.'/);
    assert.doesNotMatch(err.message, /not json/, "the value is not repeated");
  });

  it("a render's failure: what the user gave becomes an ArgumentError naming the component, a bug is rethrown as it is", () => {
    const bug = new TypeError("a bug");
    assert.equal(argumentErrorOf("FluxBootstrap", "flux", bug), bug);
    const wrapped = argumentErrorOf("FluxBootstrap", "flux", new ManifestError("install.yaml: holds no Kubernetes objects"));
    assert.ok(wrapped instanceof ArgumentError);
    assert.equal(wrapped.message, 'FluxBootstrap "flux": install.yaml: holds no Kubernetes objects');
  });
});

describe("Pulumi.yaml's list of config keys (what a misspelt key's error points to)", () => {
  const text = fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8");
  const HEADER = "# The stack config contract";
  const contract = text.slice(text.indexOf(HEADER));
  /** The lines from the one `from` matches up to the next `to` matches. */
  const block = (from: RegExp, to: RegExp) => {
    const start = contract.search(from);
    assert.ok(start >= 0, `${from} in Pulumi.yaml`);
    const rest = contract.slice(start + 1);
    return contract.slice(start, start + 1 + rest.search(to));
  };

  it("names every key of the schema, each under its object, and no other", () => {
    assert.ok(text.includes(HEADER), "Pulumi.yaml has the contract comment");
    // The stack's keys: owner is github:owner (the provider's), the rest flux-capsule:<key>.
    const stack = [...contract.matchAll(/^# {3}(?:flux-capsule:(\w+)|github:(owner)) /gm)].map((m) => m[1] ?? m[2]);
    assert.deepEqual(stack.sort(), [...CONFIG_KEYS.stack].sort(), "the stack's keys");
    const flux = block(/^# {3}flux-capsule:flux /m, /^# {3}flux-capsule:/m);
    assert.deepEqual([...flux.matchAll(/^# {5}(\w+) /gm)].map((m) => m[1]).sort(), [...CONFIG_KEYS.flux].sort(), "flux's keys");
    const capsule = block(/^# {3}flux-capsule:capsule /m, /^# {3}flux-capsule:(?!capsule)/m);
    assert.deepEqual([...capsule.matchAll(/(\w+) \(/g)].map((m) => m[1]).sort(), [...CONFIG_KEYS.capsule].sort(), "capsule's keys");
    const tenantsAt = contract.search(/^# {3}flux-capsule:tenants /m);
    const tenants = contract.slice(tenantsAt, contract.indexOf("}", tenantsAt) + 1);
    assert.deepEqual([...tenants.matchAll(/(\w+)\??[,}]/g)].map((m) => m[1]).sort(), [...CONFIG_KEYS.tenant].sort(), "a tenant's keys");
  });
});
