import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { FIXTURE } from "./harness";
import { promiseOf, settle, useMocks } from "./mocks";

// The components as a library user meets them: constructed directly, with
// their own validation (no stack config in front of them).
describe("components used directly", () => {
  it("DeployKey: the private key output is secret, the public key is not", async () => {
    const mocks = await useMocks();
    const { DeployKey } = await import("../components");
    const key = new DeployKey("k", { repository: "r", title: "t", secretNamespace: "ns", secretName: "git" });
    assert.equal(await pulumi.isSecret(key.privateKey), true);
    assert.equal(await pulumi.isSecret(key.publicKey), false);
    assert.match(await promiseOf(key.privateKey), /OPENSSH PRIVATE KEY/);
    await settle(mocks);
    assert.equal(mocks.one("github:index/repositoryDeployKey:RepositoryDeployKey", "k-deploy-key").inputs.readOnly, true);
  });

  it("GitHubWriteQueue: each write waits for the one `width` places before it", async () => {
    const { GitHubWriteQueue } = await import("../components");
    const waits = (queue: InstanceType<typeof GitHubWriteQueue>) => Array.from({ length: 7 }, (_, i) => {
      let after: unknown[] = [];
      queue.enqueue((a) => { after = a; return { i } as unknown as pulumi.Resource; });
      return after.map((r) => (r as { i: number }).i);
    });
    assert.deepEqual(waits(new GitHubWriteQueue()), [[], [], [], [], [0], [1], [2]]);
    assert.deepEqual(waits(new GitHubWriteQueue({ width: 1 })), [[], [0], [1], [2], [3], [4], [5]]);
    for (const width of [0, 1.5, NaN]) {
      assert.throws(() => new GitHubWriteQueue({ width }), new RegExp(`GitHubWriteQueue: width must be a whole number of at least 1, got ${width}`));
    }
  });

  it("DeployKey rotation: a key pair and registration of their own, titled apart; the Secret waits for GitHub", async () => {
    const mocks = await useMocks();
    const { DeployKey } = await import("../components");
    new DeployKey("k", { repository: "r", title: "t", secretNamespace: "ns", secretName: "git", rotation: "2026-12-02" });
    await settle(mocks);
    assert.deepEqual(mocks.ofType("tls:index/privateKey:PrivateKey").map((r) => r.name), ["k-key-2026-12-02"]);
    const registered = mocks.one("github:index/repositoryDeployKey:RepositoryDeployKey", "k-deploy-key-2026-12-02");
    assert.equal(registered.inputs.title, "t (rotation 2026-12-02)");
    assert.equal(registered.inputs.readOnly, true);
    const secret = mocks.one("kubernetes:core/v1:Secret", "k-secret");
    assert.ok(secret.dependencies.includes(registered.urn!), `the Secret waits for the registration: ${secret.dependencies.join(", ")}`);
    assert.throws(() => new DeployKey("k2", { repository: "r", title: "t", secretNamespace: "ns", secretName: "git", rotation: "Dec 2" }),
      /DeployKey "k2": rotation "Dec 2" is not a DNS-1123 label .*; use a date \(2026-12-02\) or a counter \(2\)/);
  });

  it("DeployKey adoption: the registration is the adopted one (an import), and the cluster's Secret is left alone until the next update", async () => {
    const mocks = await useMocks();
    const { DeployKey } = await import("../components");
    const key = new DeployKey("k", { repository: "r", title: "t", secretNamespace: "ns", secretName: "git", adoptKeyId: 90000001 });
    await settle(mocks);
    assert.equal(mocks.one("github:index/repositoryDeployKey:RepositoryDeployKey", "k-deploy-key").importId, "r:90000001", "GitHub's import id: <repository>:<key id>");
    assert.deepEqual(mocks.ofType("kubernetes:core/v1:Secret").map((r) => r.name), [], "no Secret while adopting");
    assert.equal(await promiseOf(key.secretName), "git");
    for (const id of [0, -3, 1.5]) {
      assert.throws(() => new DeployKey(`k${id}`, { repository: "r", title: "t", secretNamespace: "ns", secretName: "git", adoptKeyId: id }),
        new RegExp(`adoptKeyId is ${id}; give GitHub's id of the deploy key, a positive whole number`));
    }
  });

  it("DeployKey rejects a secret name that is not a DNS-1123 label", async () => {
    await useMocks();
    const { DeployKey } = await import("../components");
    assert.throws(() => new DeployKey("k", { repository: "r", title: "t", secretNamespace: "ns", secretName: "Git_Key" }),
      /DeployKey "k": secretName "Git_Key" is not a DNS-1123 label/);
  });

  it("FluxBootstrap names each bad argument", async () => {
    await useMocks();
    const { FluxBootstrap } = await import("../components");
    const manifests = fs.readFileSync(FIXTURE, "utf8");
    assert.throws(
      () => new FluxBootstrap("flux", { version: "2.7.5", manifests, owner: "acme", repository: "fleet", path: "../x", componentsExtra: ["bogus"] }),
      {
        message: 'FluxBootstrap "flux": 3 problems:\n' +
          '  - version "2.7.5" is not a Flux release tag; use the form vX.Y.Z, e.g. v2.7.5\n' +
          "  - path \"../x\" must not contain '..'; give the directory from the repository root\n" +
          '  - componentsExtra unknown component "bogus"; the extras are image-reflector-controller, image-automation-controller',
      });
  });

  it("FluxBootstrap reports a manifest without a requested controller", async () => {
    await useMocks();
    const { FluxBootstrap } = await import("../components");
    const manifests = fs.readFileSync(FIXTURE.replace("flux-install.yaml", "flux-install-no-image.yaml"), "utf8");
    assert.throws(
      () => new FluxBootstrap("flux", { version: "v2.7.5", manifests, manifestsSource: "mirror/install.yaml", owner: "acme", repository: "fleet", path: "clusters/x", componentsExtra: ["image-automation-controller"] }),
      /FluxBootstrap "flux": mirror\/install\.yaml: has no Deployment for image-automation-controller/);
  });

  it("Tenant rejects an unknown mode and a reserved namespace", async () => {
    await useMocks();
    const { Tenant } = await import("../components");
    assert.throws(() => new Tenant("t", { mode: "vcluster" as "capsule", namespaces: ["t-apps"], owner: "acme", repository: "fleet" }),
      /Tenant "t": mode "vcluster" is not one of capsule, namespace/);
    assert.throws(() => new Tenant("t", { mode: "namespace", namespaces: ["kube-system"], owner: "acme", repository: "fleet" }),
      /Tenant "t": namespaces\[0\] "kube-system" is reserved for the platform/);
  });

  it("Capsule rejects a reconciler that is not a ServiceAccount user", async () => {
    await useMocks();
    const { Capsule } = await import("../components");
    assert.throws(() => new Capsule("c", { reconcilers: ["alice"] }), /Capsule "c": reconcilers must be system:serviceaccount:<namespace>:<name>, got "alice"/);
  });

  it("Capsule installs from a local chart without a repository", async () => {
    const mocks = await useMocks();
    const { Capsule } = await import("../components");
    new Capsule("c", { install: true, chart: "./charts/capsule", reconcilers: [] });
    await settle(mocks);
    const release = mocks.one("kubernetes:helm.sh/v3:Release", "c-chart");
    const configuration = mocks.one("kubernetes:helm.sh/v3:Release", "c-configuration-chart");
    for (const r of [release, configuration]) {
      assert.equal(r.inputs.chart, "./charts/capsule");
      assert.equal(r.inputs.namespace, "capsule-system");
      assert.equal(r.inputs.repositoryOpts, undefined);
      assert.equal(r.inputs.version, undefined);
    }
    type Values = { fullnameOverride?: string; crds: Record<string, unknown>; manager: { options: Record<string, unknown> } };
    // Named, not auto-named: the chart names its objects for the release.
    assert.equal(release.inputs.name, "capsule");
    assert.equal(configuration.inputs.name, "capsule-configuration");
    const [main, config] = [release, configuration].map((r) => r.inputs.values as Values);
    assert.deepEqual(config!.crds, { exclusive: true, createConfig: true }, "the CRDs and the configuration only");
    assert.equal(config!.fullnameOverride, "capsule", "the configuration names the main release's webhooks and Secret");
    assert.deepEqual([main!.crds, main!.manager.options.createConfiguration], [{ install: false }, false], "the rest: no CRDs, no configuration");
    assert.ok(release.dependencies.includes(configuration.urn!), "Capsule starts once its configuration exists, and stops before it goes");
  });

  it("Capsule's chart values merge as Helm merges values files", async () => {
    const { mergeValues } = await import("../components/capsule/capsule");
    const base = { tls: { create: true, enableController: true }, manager: { options: { users: [1], annotations: { a: "1" } } } };
    assert.deepEqual(mergeValues(base, { tls: { create: false }, manager: { options: { users: [2] }, resources: { limits: {} } }, crds: { install: false } }), {
      tls: { create: false, enableController: true },
      manager: { options: { users: [2], annotations: { a: "1" } }, resources: { limits: {} } },
      crds: { install: false },
    });
    assert.deepEqual(base.manager.options.users, [1], "the base is not changed");
  });
});
