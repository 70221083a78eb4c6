// The unit fixtures against the install.yaml that lab/toolchain/flux-release.sh
// builds as a Flux release does: per controller the fixture has, the same
// objects (kind and name), the same labels, and the same controller container
// args; and the same objects and labels for what belongs to no controller
// (Namespace, RBAC, policies). Images are not compared (each fixture names its
// own patch release's), nor CRD schemas (the fixtures' are minimal), nor the
// app.kubernetes.io/version label (`flux install --export` adds it).
//
// And the other way a release is installed: `flux install --export` of the
// flux CLI built with flux-release.sh's manifests (flux-cli.sh) must pass the
// package's release rules, and the gotk-components.yaml the package commits
// must be that output byte for byte, for each option the two share.
//
// Needs the built releases (`bash lab/toolchain/build.sh all`), so it is not
// part of `npm test`: `npm run test:release`, a CI stage after the toolchain.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { VERSION_LABEL } from "../../../components/flux/manifests";
import { releaseProblems } from "../../../components/flux/release";
import { FluxRenderInput, renderFlux } from "../../../components/flux/render";
import { KubeObject } from "../../../components/shared";

const ROOT = path.resolve(__dirname, "../../..");
const COMPONENT = "app.kubernetes.io/component";

interface Obj {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: { name: string; args?: string[] }[] } } };
}

/**
 * Each fixture and the release it is checked against: the same minor release
 * (the proxy serves neither source-controller v1.7.4 nor helm-controller
 * v1.4.5, so Flux v2.7.5 itself cannot be built; v2.7.3 can).
 */
const PAIRS = [
  { fixture: "test/fixtures/flux-install.yaml", release: "v2.7.3" },
  { fixture: "test/fixtures/flux-install-v2.9.4.yaml", release: "v2.9.5" },
];

function objects(file: string): Obj[] {
  return parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

function releaseInstallYaml(version: string): string {
  const dir = execFileSync("bash", [path.join(ROOT, "lab/toolchain/flux-release.sh"), "--dir", version], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  return path.join(dir, "install.yaml");
}

const id = (o: Obj) => `${o.kind}/${o.metadata.name}`;
const component = (o: Obj) => o.metadata.labels?.[COMPONENT] ?? "(none)";

function withoutVersion(labels: Record<string, string> | undefined): Record<string, string> {
  const { [VERSION_LABEL]: _, ...rest } = labels ?? {};
  return rest;
}

/** What the test compares of one object. */
function structure(o: Obj): unknown {
  const pod = o.spec?.template;
  return {
    labels: withoutVersion(o.metadata.labels),
    ...(o.kind === "Deployment" ? {
      podLabels: withoutVersion(pod?.metadata?.labels),
      containers: (pod?.spec?.containers ?? []).map((c) => ({ name: c.name, args: c.args ?? [] })),
    } : {}),
  };
}

for (const { fixture, release } of PAIRS) {
  describe(`${fixture} against Flux ${release} as flux-release.sh builds it`, function () {
    this.timeout(20 * 60_000);
    let fx: Obj[];
    let rel: Obj[];

    before(() => {
      fx = objects(path.join(ROOT, fixture));
      rel = objects(releaseInstallYaml(release));
    });

    it("has no object the release lacks", () => {
      const names = new Set(rel.map(id));
      assert.deepEqual(fx.map(id).filter((n) => !names.has(n)), []);
    });

    it("has, per controller it has (and for the rest), the release's objects, labels and container args", () => {
      const groups = [...new Set(fx.map(component))].sort();
      for (const group of groups) {
        const mine = new Map(fx.filter((o) => component(o) === group).map((o) => [id(o), o]));
        const theirs = rel.filter((o) => component(o) === group);
        assert.deepEqual([...mine.keys()].sort(), theirs.map(id).sort(), `${group}: objects`);
        for (const o of theirs) assert.deepEqual(structure(mine.get(id(o))!), structure(o), `${group}: ${id(o)}`);
      }
    });
  });
}

describe("flux install --export of the flux CLI that flux-cli.sh builds", function () {
  this.timeout(40 * 60_000);

  it("passes the package's release rules, extra components included", () => {
    const dir = execFileSync("bash", [path.join(ROOT, "lab/toolchain/flux-cli.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
    const flux = path.join(dir, "flux");
    const version = `v${/flux: v?(\S+)/.exec(execFileSync(flux, ["version", "--client"], { encoding: "utf8" }))![1]!}`;
    for (const extra of [[], ["--components-extra=image-reflector-controller,image-automation-controller,source-watcher"]]) {
      const text = execFileSync(flux, ["install", "--export", ...extra], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      const exported = parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
      assert.ok(exported.some((o) => o.kind === "Deployment"), "flux install --export wrote Deployments");
      assert.deepEqual(releaseProblems(exported, version), [], `flux install --export ${extra.join(" ")}`);
    }
  });
});

describe("gotk-components.yaml as the package commits it, against flux install --export (what flux bootstrap commits)", function () {
  this.timeout(40 * 60_000);
  let flux: string;
  let version: string;
  let installYaml: string;

  before(() => {
    flux = path.join(execFileSync("bash", [path.join(ROOT, "lab/toolchain/flux-cli.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim(), "flux");
    version = `v${/flux: v?(\S+)/.exec(execFileSync(flux, ["version", "--client"], { encoding: "utf8" }))![1]!}`;
    installYaml = fs.readFileSync(releaseInstallYaml(version), "utf8");
  });

  const committed = (manifests: string, options: Partial<FluxRenderInput>): string => renderFlux({
    version, manifests, manifestsSource: "install.yaml", lockdown: true, defaultServiceAccount: "default",
    sync: { url: "ssh://git@127.0.0.1:2222/acme/fleet", branch: "main", path: "clusters/lab", secretName: "flux-system" }, ...options,
  }).files["gotk-components.yaml"];
  const exported = (args: string[]): string => execFileSync(flux, ["install", "--export", ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });

  const cases: { args: string[]; options: Partial<FluxRenderInput> }[] = [
    { args: [], options: {} },
    { args: ["--components-extra=image-reflector-controller,image-automation-controller"], options: { componentsExtra: ["image-reflector-controller", "image-automation-controller"] } },
    { args: ["--network-policy=false"], options: { networkPolicy: false } },
    { args: ["--registry=registry.example.com/fluxcd"], options: { registry: "registry.example.com/fluxcd" } },
    { args: ["--toleration-keys=dedicated,gpu"], options: { tolerations: [{ key: "dedicated", operator: "Exists" }, { key: "gpu", operator: "Exists" }] } },
  ];
  for (const { args, options } of cases) {
    it(`from the release's install.yaml: byte-identical to flux install --export ${args.join(" ")}`, () => {
      const ours = committed(installYaml, options);
      const theirs = exported(args);
      const firstDiff = [...ours].findIndex((c, i) => c !== theirs[i]);
      assert.ok(ours === theirs, `differs at byte ${firstDiff}: ours ${JSON.stringify(ours.slice(firstDiff - 80, firstDiff + 80))}, flux ${JSON.stringify(theirs.slice(firstDiff - 80, firstDiff + 80))}`);
    });
  }

  it("from flux install --export given as flux.manifests (a flux-bootstrapped repository's own file): the same bytes back", () => {
    const theirs = exported(["--components-extra=image-reflector-controller,image-automation-controller"]);
    assert.equal(committed(theirs, { componentsExtra: ["image-reflector-controller", "image-automation-controller"] }), theirs);
  });
});
