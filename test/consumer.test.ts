import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FIXTURE } from "./harness";

const root = path.join(__dirname, "..");
const { peerDependencies: peers, devDependencies: dev } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const SDK = "@pulumi/pulumi";
const PROVIDERS = ["@pulumi/kubernetes", "@pulumi/github", "@pulumi/tls"];

/** The bottom of a peer range: `^3.142.0` -> `3.142.0`. */
function lowest(range: string): string {
  const m = /^\^(\d+\.\d+\.\d+)$/.exec(range);
  if (!m) throw new Error(`peer range ${range} is not ^x.y.z: teach test/consumer.test.ts its lowest version`);
  return m[1]!;
}

/** The version of `name` a program in `dir` loads. */
function loadedVersion(dir: string, name: string): string {
  const manifest = require.resolve(`${name}/package.json`, { paths: [dir] });
  return (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string }).version.replace(/^v/, "");
}

/**
 * The copies of the SDK that the program in `dir`, flux-capsule and the
 * providers load, resolved as Node does (from each package's real path).
 */
function sdkCopiesLoaded(dir: string): Set<string> {
  const importers = [dir, ...["flux-capsule", ...PROVIDERS].map((p) => fs.realpathSync(path.join(dir, "node_modules", p)))];
  return new Set(importers.map((from) => fs.realpathSync(path.dirname(require.resolve(`${SDK}/package.json`, { paths: [from] })))));
}

/** Unpacks the `npm pack` tarball where npm would install it. */
function unpack(tarball: string, dir: string): void {
  const target = path.join(dir, "node_modules", "flux-capsule");
  fs.mkdirSync(target, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
}

/**
 * Compiles test/consumer/program.ts in `dir` under strict mode against the
 * packages installed there, runs it under mocks, and checks what it registered.
 */
function compileAndRun(dir: string): void {
  for (const f of ["program.ts", "run.js"]) fs.copyFileSync(path.join(__dirname, "consumer", f), path.join(dir, f));
  execFileSync(path.join(root, "node_modules", ".bin", "tsc"), [
    "--strict", "--target", "es2022", "--module", "commonjs", "--moduleResolution", "node",
    "--esModuleInterop", "--skipLibCheck", "--outDir", dir, path.join(dir, "program.ts"),
  ], { cwd: dir, stdio: "pipe" });
  const out = execFileSync("node", [path.join(dir, "run.js"), FIXTURE], { cwd: dir, encoding: "utf8" });
  const { result, registered } = JSON.parse(out.trim().split("\n").pop()!) as { result: { reconciler: string; url: string }; registered: string[] };
  assert.equal(result.reconciler, "system:serviceaccount:payments:payments");
  assert.equal(result.url, "ssh://git@github.com/acme/fleet");
  for (const type of ["flux-capsule:index:FluxBootstrap", "flux-capsule:index:Tenant", "flux-capsule:index:Capsule", "flux-capsule:index:DeployKey",
    "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "github:index/repositoryDeployKey:RepositoryDeployKey"]) {
    assert.ok(registered.includes(type), `registered ${type}`);
  }
}

// Proves the package works as another stack would use it: built with tsc,
// packed with `npm pack` (so `files`, `main`, `types`, `exports` and the
// peer dependencies are what users get), imported by name from a strict
// TypeScript program, and run.
describe("the packed package in a consumer program", function () {
  this.timeout(240_000);
  let packDir: string;
  let tarball: string;

  before(() => {
    packDir = fs.mkdtempSync(path.join(os.tmpdir(), "flux-capsule-pack-"));
    execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
    const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: root, encoding: "utf8" }).trim().split("\n").pop()!;
    tarball = path.join(packDir, packed);
  });

  after(() => fs.rmSync(packDir, { recursive: true, force: true }));

  it("declares the Pulumi SDK and providers as peers, tested at a version inside each range", () => {
    assert.deepEqual(Object.keys(peers).sort(), [SDK, ...PROVIDERS].sort());
    for (const name of Object.keys(peers)) {
      assert.ok(dev[name], `${name} is a devDependency too (the tested version)`);
      const [tested, bottom] = [loadedVersion(root, name), lowest(peers[name]!)];
      assert.equal(tested.split(".")[0], bottom.split(".")[0], `${name} ${tested} is in ${peers[name]}`);
      assert.ok(tested.localeCompare(bottom, undefined, { numeric: true }) >= 0, `${name} ${tested} is in ${peers[name]}`);
    }
  });

  describe("beside the repository's own packages", () => {
    let dir: string;

    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "flux-capsule-consumer-"));
      unpack(tarball, dir);
      // The consumer's other dependencies: the same installed packages, linked.
      for (const entry of fs.readdirSync(path.join(root, "node_modules"))) {
        if (entry === "flux-capsule" || entry.startsWith(".")) continue;
        fs.symlinkSync(path.join(root, "node_modules", entry), path.join(dir, "node_modules", entry));
      }
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("ships only the built library", () => {
      const pkg = path.join(dir, "node_modules", "flux-capsule");
      assert.ok(fs.existsSync(path.join(pkg, "dist", "index.js")));
      assert.ok(fs.existsSync(path.join(pkg, "dist", "index.d.ts")));
      assert.ok(!fs.existsSync(path.join(pkg, "test")), "tests are not shipped");
      assert.ok(!fs.existsSync(path.join(pkg, "lab")), "the lab is not shipped");
      assert.ok(!fs.existsSync(path.join(pkg, "index.ts")), "the stack program is not shipped");
    });

    it("type-checks under strict mode and runs, registering the components by name", () => {
      compileAndRun(dir);
      assert.equal(sdkCopiesLoaded(dir).size, 1, "flux-capsule loads the consumer's SDK");
    });
  });

  // A stack on another SDK release than the one this repository tests with,
  // installed by npm as a user's would be: the bottom of every peer range.
  describe("installed by npm beside the lowest versions of its peer ranges", () => {
    const want = Object.fromEntries(Object.entries(peers).map(([name, range]) => [name, lowest(range)]));
    let dir: string;

    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "flux-capsule-consumer-"));
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({
        name: "consumer",
        private: true,
        dependencies: { "flux-capsule": `file:${tarball}`, ...want },
      }));
      // No install scripts: @pulumi/kubernetes' would fetch its plugin, which mocks do not need.
      execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--loglevel=error"], { cwd: dir, stdio: "pipe" });
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("holds exactly one copy of the SDK, the consumer's, which every package loads", () => {
      assert.notEqual(want[SDK], loadedVersion(root, SDK), "the consumer's SDK differs from the repository's");
      for (const [name, version] of Object.entries(want)) assert.equal(loadedVersion(dir, name), version, name);
      // Exits non-zero on a missing or unmet peer dependency.
      const copies = execFileSync("npm", ["ls", SDK, "--all", "--parseable"], { cwd: dir, encoding: "utf8" }).trim().split("\n");
      assert.deepEqual(copies, [path.join(fs.realpathSync(dir), "node_modules", SDK)]);
      assert.equal(sdkCopiesLoaded(dir).size, 1);
    });

    it("type-checks under strict mode and runs, registering the components by name", () => {
      compileAndRun(dir);
    });
  });
});
