// The Platform component under the real engine, from TypeScript and from
// Pulumi YAML (npm run test:languages), on the lab with the GitHub double:
//  1. a stack deployed by the 0.1.0 program (components wired at the stack's
//     root) moves under Platform with nothing replaced or deleted;
//  2. a YAML program using flux-capsule:index:Platform through the component
//     provider (provider/, run by the Node.js language host) makes the same
//     resources, by type, name and parent, as the TypeScript stack for the
//     same config, and its tenants' Flux objects reach the cluster;
//  3. so does a Python program on the SDK `pulumi package gen-sdk` generates
//     (the lab's Python language host: lab/toolchain/go/pulumi-language-python).
// Needs `npm run lab:up` first. Namespace tenancy: Capsule's part is the
// same component either way, and this keeps the suite short.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { stringify } from "yaml";
import { GitHubDouble, OWNER, startDouble } from "../lab/client/github";
import { CONTEXT, getObject, KUBECONFIG, labFlux, LabFlux, removeSuiteDir, ROOT, sharedTempDir, useLab } from "../lab/client/lab";
import { changes, engineEnv, LabStack, TenantSpec } from "../lab/client/stack";

const TOKEN = "e2e-token";
const STACK = "e2e-languages";
const KS = "kustomizations.kustomize.toolkit.fluxcd.io";

const say = (line: string) => process.stdout.write(`      ${line}\n`);

const TENANTS: TenantSpec[] = [
  { name: "dev-team", namespaces: ["dev-team-apps", "dev-team-tools"], repository: "dev-fleet" },
  { name: "ops-team", namespaces: ["ops-team-apps"], repository: "ops-fleet", branch: "main", path: "./clusters/lab" },
];

/** `type name <- parent type` for every resource in a stack's state, providers and the stack itself left out. */
async function resourceList(stack: Stack): Promise<string[]> {
  const state = await stack.exportStack();
  const resources = (state.deployment as { resources?: { urn: string; type: string; parent?: string }[] }).resources ?? [];
  const typeOf = new Map(resources.map((r) => [r.urn, r.type]));
  return resources
    // Not the stack, providers, or the TypeScript program's read of its own last update (index.ts): what the program manages.
    .filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:StackReference")
    .map((r) => {
      const parent = r.parent ? typeOf.get(r.parent) : undefined;
      return `${r.type} ${r.urn.split("::").pop()} <- ${parent === "pulumi:pulumi:Stack" || parent === undefined ? "stack" : parent}`;
    })
    .sort();
}

/**
 * The providers the npm packages ask for, installed into the engine's plugin
 * directory from the toolchain's builds: a component provider's plugin
 * dependencies are installed there, not taken from PATH.
 */
function installProviderPlugins(env: Record<string, string>): void {
  for (const name of ["kubernetes", "github", "tls"]) {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", name, "package.json"), "utf8")) as { version: string; pulumi?: { version?: string } };
    const version = pkg.pulumi?.version ?? pkg.version;
    const binary = execFileSync("bash", ["-c", `command -v pulumi-resource-${name}`], { encoding: "utf8" }).trim();
    execFileSync("pulumi", ["plugin", "install", "resource", name, version, "--file", binary], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
  }
}

/** The Pulumi YAML program: the lab's provider and one Platform with the stack config's values. */
function yamlProgram(double: GitHubDouble, flux: LabFlux): string {
  return stringify({
    name: "flux-capsule-yaml",
    runtime: "yaml",
    description: "The Platform component from Pulumi YAML (e2e/languages.test.ts).",
    packages: { "flux-capsule": path.join(ROOT, "provider") },
    config: { "pulumi:disable-default-providers": { value: ["kubernetes"] } },
    resources: {
      cluster: { type: "pulumi:providers:kubernetes", properties: { kubeconfig: KUBECONFIG, context: CONTEXT } },
      platform: {
        type: "flux-capsule:index:Platform",
        properties: {
          owner: double.owner,
          flux: {
            version: flux.version,
            repository: "fleet-infra",
            path: "clusters/lab",
            manifests: flux.manifests,
            manifestsSha256: flux.manifestsSha256,
            sshHost: `127.0.0.1:${double.sshPort}`,
            knownHosts: double.knownHosts,
          },
          tenancy: "namespace",
          capsule: { install: false },
          tenants: TENANTS,
        },
        options: { providers: ["${cluster}"] },
      },
    },
    outputs: { syncUrl: "${platform.syncUrl}", tenants: "${platform.tenants}" },
  });
}

/** The same program in Python, on the SDK generated from the component provider's schema. */
function pythonProgram(double: GitHubDouble, flux: LabFlux): string {
  const py = (value: unknown) => JSON.stringify(value);
  const tenants = TENANTS.map((t) => `        flux_capsule.PlatformTenantArgs(name=${py(t.name)}, namespaces=${py(t.namespaces)}, repository=${py(t.repository)}` +
    `${t.branch ? `, branch=${py(t.branch)}` : ""}${t.path ? `, path=${py(t.path)}` : ""}),`).join("\n");
  return `import pulumi
import pulumi_flux_capsule as flux_capsule

cluster = pulumi.ProviderResource("kubernetes", "cluster", {"kubeconfig": ${py(KUBECONFIG)}, "context": ${py(CONTEXT)}})
platform = flux_capsule.Platform(
    "platform",
    owner=${py(double.owner)},
    flux=flux_capsule.PlatformFluxArgs(
        version=${py(flux.version)},
        repository="fleet-infra",
        path="clusters/lab",
        manifests=${py(flux.manifests)},
        manifests_sha256=${py(flux.manifestsSha256)},
        ssh_host=${py(`127.0.0.1:${double.sshPort}`)},
        known_hosts=${py(double.knownHosts)},
    ),
    tenancy=flux_capsule.TenancyMode.NAMESPACE,
    capsule=flux_capsule.PlatformCapsuleArgs(install=False),
    tenants=[
${tenants}
    ],
    opts=pulumi.ResourceOptions(providers=[cluster]),
)
pulumi.export("syncUrl", platform.sync_url)
pulumi.export("tenants", platform.tenants)
`;
}

describe("Platform from every language, under the real engine", function () {
  this.timeout(1_200_000);
  let dir: string;
  let double: GitHubDouble;
  let typescript: string[];

  before(async () => {
    useLab();
    dir = sharedTempDir("flux-capsule-languages-");
    double = await startDouble(dir, TOKEN, { "fleet-infra": [], "dev-fleet": ["dev-team"], "ops-fleet": [] });
  });
  after(async function () {
    try {
      await double?.close();
    } finally {
      removeSuiteDir(dir, this.test?.parent);
    }
  });

  it("1. a stack of the 0.1.0 program moves under Platform: nothing replaced, nothing deleted", async () => {
    const legacyDir = path.join(dir, "legacy");
    fs.mkdirSync(legacyDir, { recursive: true });
    // The same project (name, config contract), with the 0.1.0 program as its main.
    fs.writeFileSync(path.join(legacyDir, "Pulumi.yaml"), fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    fs.writeFileSync(path.join(legacyDir, "index.ts"), `import program = require(${JSON.stringify(path.join(ROOT, "e2e/fixtures/stack-0.1.0"))});\nexport = program;\n`);
    fs.writeFileSync(path.join(legacyDir, "tsconfig.json"), JSON.stringify({ extends: path.join(ROOT, "tsconfig.json"), include: ["index.ts"] }));
    fs.writeFileSync(path.join(legacyDir, "package.json"), JSON.stringify({ name: "flux-capsule-0.1.0", private: true }));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(legacyDir, "node_modules"));
    const common = { name: STACK, tenancy: "namespace" as const, tenants: TENANTS, double, token: TOKEN, stateDir: path.join(dir, "state") };

    const legacy = await LabStack.create({ ...common, workDir: legacyDir });
    say(`0.1.0 program, up: ${JSON.stringify(changes(await legacy.up()))}`);
    const before = await resourceList(legacy.stack);
    assert.ok(before.includes("flux-capsule:index:FluxBootstrap flux <- stack"), "0.1.0 has its components at the root");

    const current = await LabStack.create({ ...common });
    const lines: string[] = [];
    const preview = changes((await current.stack.preview({ diff: false, onOutput: (o) => lines.push(o) })).changeSummary);
    const updated = lines.join("").split("\n").filter((l) => /^\s*~\s+[\w.-]+:[\w./-]*:\S+ \S+ update/.test(l)).map((l) => l.trim());
    say(`today's index.ts on the same stack, preview: ${JSON.stringify(preview)}; updated: ${updated.join(" | ")}`);
    // Since 0.1.0 the stack program's provider updates Secrets in place (a key rotation must not delete the key's Secret).
    assert.deepEqual(preview, { create: 1, update: 1 }, "only the Platform component itself is new, and the provider gains enableSecretMutable");
    assert.deepEqual(updated, ["~  pulumi:providers:kubernetes cluster update [diff: +enableSecretMutable]"]);
    const applied = changes(await current.up());
    assert.deepEqual(applied, { create: 1, update: 1 });
    assert.deepEqual(changes(await current.preview(true)), {}, "converged: preview --refresh shows nothing to do");
    typescript = await resourceList(current.stack);
    const moved = before.map((r) => r.replace(/ <- stack$/, " <- flux-capsule:index:Platform"));
    assert.deepEqual(typescript.filter((r) => !r.startsWith("flux-capsule:index:Platform ")), moved, "the same resources, now under Platform");
    say(`${typescript.length} resources, the same URNs by alias; destroy: ${JSON.stringify(changes(await current.destroy()))}`);
    await current.remove();
    fs.rmSync(path.join(legacyDir, `Pulumi.${STACK}.yaml`), { force: true });
  });

  /**
   * Deploys the program in `workDir` on the lab, checks it made the
   * TypeScript stack's resources and that Flux got its tenants, then destroys it.
   */
  async function sameAsTypeScript(language: string, workDir: string): Promise<void> {
    assert.ok(typescript, "needs the TypeScript stack's resources (test 1)");
    const env = engineEnv(path.join(dir, "state"));
    installProviderPlugins(env);
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: `e2e-${language}`, workDir }, { envVars: env, pulumiHome: env.PULUMI_HOME });
    await stack.setAllConfig({
      "github:owner": { value: double.owner },
      "github:token": { value: TOKEN, secret: true },
      "github:baseUrl": { value: double.baseUrl },
    });
    const progress = (out: string) => { for (const l of out.split("\n")) if (/error|Resources:|Duration:/.test(l)) say(`[${language}] ${l.trim()}`); };
    try {
      const up = await stack.up({ onOutput: progress });
      say(`${language} up: ${JSON.stringify(up.summary.resourceChanges)}`);
      const resources = await resourceList(stack);
      assert.deepEqual(resources, typescript, `the ${language} program's resources are the TypeScript stack's (type, name, parent)`);
      say(`same ${resources.length} resources as the TypeScript stack`);
      const again = await stack.preview({ refresh: true, diff: false });
      assert.deepEqual(changes(again.changeSummary), {}, "a second preview --refresh shows nothing to do");
      const outputs = await stack.outputs();
      // Python exports the outputs' fields under its own names (public_key).
      const tenants = outputs.tenants?.value as Record<string, { reconciler: string; publicKey?: string; public_key?: string }>;
      assert.equal(tenants["dev-team"]!.reconciler, "system:serviceaccount:dev-team-apps:dev-team");
      assert.match(tenants["ops-team"]!.publicKey ?? tenants["ops-team"]!.public_key ?? "", /^ecdsa-sha2-nistp384 /);
      const sync = getObject<{ spec: { serviceAccountName?: string } }>(KS, "dev-team", "dev-team-apps");
      assert.equal(sync?.spec.serviceAccountName, "dev-team", "the tenant's Kustomization reconciles as its own account");
      assert.deepEqual(double.listKeys(OWNER, "dev-fleet").map((k) => k.readOnly), [true], "one read-only key on the tenant's repository");
    } finally {
      const destroyed = await stack.destroy({ onOutput: progress });
      say(`${language} destroy: ${JSON.stringify(destroyed.summary.resourceChanges)}`);
      await stack.workspace.removeStack(`e2e-${language}`, { force: true });
    }
    assert.deepEqual(double.listKeys(OWNER, "dev-fleet"), [], "destroy removed the tenant's key");
  }

  it("2. a Pulumi YAML program makes the same resources through the component provider", async () => {
    const yamlDir = path.join(dir, "yaml");
    fs.mkdirSync(yamlDir, { recursive: true });
    fs.writeFileSync(path.join(yamlDir, "Pulumi.yaml"), yamlProgram(double, labFlux()));
    await sameAsTypeScript("yaml", yamlDir);
  });

  it("3. a Python program makes the same resources through the SDK pulumi generates", async function () {
    const pyDir = path.join(dir, "python");
    fs.mkdirSync(pyDir, { recursive: true });
    const env = { ...process.env, ...engineEnv(path.join(dir, "state")) };
    // The SDK as `pulumi package add` generates it (the lab's Python language host runs the engine's code generator).
    const sdks = path.join(dir, "sdks");
    execFileSync("pulumi", ["package", "gen-sdk", path.join(ROOT, "provider"), "--language", "python", "--out", sdks], { env, stdio: ["ignore", "ignore", "inherit"] });
    // A virtualenv with the pulumi package at the SDK's version (PyPI) and the generated SDK.
    const sdkVersion = (JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/pulumi/package.json"), "utf8")) as { version: string }).version;
    const venv = path.join(pyDir, "venv");
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    execFileSync(path.join(venv, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", `pulumi==${sdkVersion}`, path.join(sdks, "python")], { stdio: "inherit" });
    fs.writeFileSync(path.join(pyDir, "Pulumi.yaml"), stringify({
      name: "flux-capsule-python",
      runtime: { name: "python", options: { virtualenv: venv } },
      description: "The Platform component from Python (e2e/languages.test.ts).",
      packages: { "flux-capsule": path.join(ROOT, "provider") },
      config: { "pulumi:disable-default-providers": { value: ["kubernetes"] } },
    }));
    fs.writeFileSync(path.join(pyDir, "__main__.py"), pythonProgram(double, labFlux()));
    await sameAsTypeScript("python", pyDir);
  });

});
