import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FIXTURE } from "./harness";

const root = path.join(__dirname, "..");

// Proves the package works as another stack would use it: built with tsc,
// packed with `npm pack` (so `files`, `main`, `types` and `exports` are what
// users get), imported by name from a strict TypeScript program, and run.
describe("the packed package in a consumer program", function () {
  this.timeout(240_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flux-capsule-consumer-"));
    execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
    const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: root, encoding: "utf8" }).trim().split("\n").pop()!;
    const modules = path.join(dir, "node_modules");
    fs.mkdirSync(path.join(modules, "flux-capsule"), { recursive: true });
    execFileSync("tar", ["-xzf", path.join(dir, packed), "-C", path.join(modules, "flux-capsule"), "--strip-components=1"]);
    // The consumer's other dependencies: the same installed packages, linked.
    for (const entry of fs.readdirSync(path.join(root, "node_modules"))) {
      if (entry === "flux-capsule" || entry.startsWith(".")) continue;
      fs.symlinkSync(path.join(root, "node_modules", entry), path.join(modules, entry));
    }
    for (const f of ["program.ts", "run.js"]) fs.copyFileSync(path.join(__dirname, "consumer", f), path.join(dir, f));
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
  });
});
