import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { parse, parseAllDocuments } from "yaml";
import { GITHUB_KNOWN_HOSTS } from "../components/defaults";
import { baseConfig, runStack } from "./harness";
import { isSecretValue, parentType, promiseOf, RecordingMocks, Registered, reveal } from "./mocks";

const T = {
  deployKey: "github:index/repositoryDeployKey:RepositoryDeployKey",
  file: "github:index/repositoryFile:RepositoryFile",
  privateKey: "tls:index/privateKey:PrivateKey",
  secret: "kubernetes:core/v1:Secret",
  namespace: "kubernetes:core/v1:Namespace",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  crd: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
  gitRepository: "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository",
  kustomization: "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
  capsuleTenant: "kubernetes:capsule.clastix.io/v1beta2:Tenant",
  capsuleConfig: "kubernetes:capsule.clastix.io/v1beta2:CapsuleConfigurationPatch",
  deployment: "kubernetes:apps/v1:Deployment",
  helmRelease: "kubernetes:helm.sh/v3:Release",
};

interface Meta { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string }[] }
/** Metadata as sent, less the force-apply annotation every object carries (asserted on its own). */
const meta = (r: Registered) => {
  const m = reveal<Meta | undefined>(r.inputs.metadata);
  if (!m) return m as unknown as Meta;
  const { "pulumi.com/patchForce": _force, ...rest } = m.annotations ?? {};
  if (Object.keys(rest).length === 0) delete m.annotations;
  else m.annotations = rest;
  return m;
};
const spec = (r: Registered) => reveal<Record<string, unknown>>(r.inputs.spec);
const urnOf = (r: Registered) => { assert.ok(r.urn, `${r.type} ${r.name} has no URN`); return r.urn; };

/** Every Namespace the stack creates waits for every Flux CRD, so a destroy deletes the CRDs once the namespaces are gone. */
function assertNamespacesBeforeCrds(mocks: RecordingMocks): void {
  const crds = mocks.ofType(T.crd).map(urnOf);
  const namespaces = mocks.ofType(T.namespace);
  assert.ok(crds.length > 0, "Flux's CRDs");
  const expected = ["flux-system", ...baseConfig().tenants.flatMap((t) => t.namespaces)];
  assert.deepEqual(namespaces.map((n) => meta(n).name).sort(), expected.sort(), "flux-system and every tenant namespace");
  for (const n of namespaces) {
    const missing = crds.filter((c) => !n.dependencies.includes(c));
    assert.deepEqual(missing, [], `Namespace ${n.name} must wait for every Flux CRD (a CRD deleted while a namespace terminates can hang)`);
  }
}

describe("stack program (capsule mode, two tenants)", function () {
  let mocks: RecordingMocks;
  let outputs: Record<string, unknown>;

  before(async () => {
    ({ mocks, outputs } = await runStack(baseConfig()));
  });

  it("registers every deploy key read-only, one per repository consumer", () => {
    const keys = mocks.ofType(T.deployKey);
    assert.deepEqual(keys.map((k) => k.name).sort(), ["dev-team-deploy-key-deploy-key", "flux-deploy-key-deploy-key", "ops-team-deploy-key-deploy-key"]);
    for (const k of keys) assert.equal(k.inputs.readOnly, true, `${k.name} must be read-only`);
    assert.deepEqual(keys.map((k) => k.inputs.repository).sort(), ["fleet-infra", "fleet-infra", "ops-fleet"]);
    const titles = keys.map((k) => k.inputs.title);
    assert.deepEqual(titles.sort(), ["flux-system flux-capsule/dev clusters/dev", "tenant dev-team flux-capsule/dev", "tenant ops-team flux-capsule/dev"]);
  });

  it("makes ECDSA P-384 keys by default", () => {
    assert.equal(mocks.ofType(T.privateKey).length, 3, "one key per deploy key");
    for (const k of mocks.ofType(T.privateKey)) assert.deepEqual(k.inputs, { algorithm: "ECDSA", ecdsaCurve: "P384" });
  });

  it("puts identity, identity.pub and known_hosts in the flux-system Secret; identity.pub is the registered key", () => {
    const secret = mocks.one(T.secret, "flux-deploy-key-secret");
    assert.deepEqual(meta(secret), { name: "flux-system", namespace: "flux-system" });
    assert.ok(isSecretValue(secret.inputs.stringData), "the key material is sent as a secret");
    const data = reveal<Record<string, unknown>>(secret.inputs.stringData);
    assert.deepEqual(Object.keys(data).sort(), ["identity", "identity.pub", "known_hosts"]);
    assert.match(reveal<string>(data.identity), /BEGIN OPENSSH PRIVATE KEY/);
    const registered = mocks.one(T.deployKey, "flux-deploy-key-deploy-key").inputs.key;
    assert.equal(reveal(data["identity.pub"]), registered);
    assert.match(String(registered), /^ecdsa-sha2-nistp384 \S+$/, "authorized_keys form, no newline");
    assert.equal(reveal(data.known_hosts), GITHUB_KNOWN_HOSTS);
  });

  it("commits the three files under <path>/flux-system with flux's messages, in sequence", () => {
    const files = mocks.ofType(T.file);
    assert.deepEqual(files.map((f) => [f.inputs.file, f.inputs.commitMessage, f.inputs.branch, f.inputs.repository, f.inputs.overwriteOnCreate]), [
      ["clusters/dev/flux-system/gotk-components.yaml", "Add Flux v2.7.5 component manifests", "main", "fleet-infra", true],
      ["clusters/dev/flux-system/gotk-sync.yaml", "Add Flux sync manifests", "main", "fleet-infra", true],
      ["clusters/dev/flux-system/kustomization.yaml", "Add Flux sync manifests", "main", "fleet-infra", true],
    ]);
    assert.ok(files[1]!.dependencies.includes(urnOf(files[0]!)), "sync waits for components");
    assert.ok(files[2]!.dependencies.includes(urnOf(files[1]!)), "kustomization waits for sync");
    const kustomization = parse(String(files[2]!.inputs.content)) as { patches: { patch: string }[] };
    const added = kustomization.patches.flatMap((p) => (parse(p.patch) as { value: string }[]).map((op) => op.value));
    assert.deepEqual(added, ["--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=default", "kustomize-controller", "Orphan"]);
    const sync = parseAllDocuments(String(files[1]!.inputs.content)).map((d) => d.toJS() as { spec: { url?: string } });
    assert.equal(sync[0]!.spec.url, "ssh://git@github.com/acme/fleet-infra");
  });

  it("queues the GitHub writes four at a time: platform key, its commits one by one, then the tenants' keys in config order", () => {
    const writes = mocks.resources.filter((r) => r.type === T.deployKey || r.type === T.file);
    const urns = new Set(writes.map(urnOf));
    const waitsFor = (name: string) => writes.find((w) => w.name === name)!.dependencies.filter((d) => urns.has(d)).map((d) => d.split("::").pop());
    assert.deepEqual(Object.fromEntries(writes.map((w) => [w.name, waitsFor(w.name)])), {
      "flux-deploy-key-deploy-key": [],
      "flux-gotk-components": [],
      "flux-gotk-sync": ["flux-gotk-components"],
      "flux-kustomization": ["flux-gotk-sync"],
      "dev-team-deploy-key-deploy-key": ["flux-deploy-key-deploy-key"],
      "ops-team-deploy-key-deploy-key": ["flux-gotk-components"],
    });
  });

  it("applies the controllers with the lockdown arguments the repository carries", () => {
    const kc = mocks.one(T.deployment, "flux-deployment-flux-system-kustomize-controller");
    const args = reveal<{ template: { spec: { containers: { args: string[] }[] } } }>(kc.inputs.spec).template.spec.containers[0]!.args;
    assert.deepEqual(args.slice(-3), ["--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=default"]);
    const sync = mocks.one(T.kustomization, "flux-sync");
    assert.equal(spec(sync).serviceAccountName, "kustomize-controller");
    assert.deepEqual(meta(sync), { name: "flux-system", namespace: "flux-system" });
  });

  it("orders CRDs before every custom object", () => {
    const fluxCrds = mocks.ofType(T.crd).map(urnOf);
    assert.equal(fluxCrds.length, 11, "the default components' CRDs");
    const customs = [...mocks.ofType(T.gitRepository), ...mocks.ofType(T.kustomization)];
    assert.equal(customs.length, 6);
    for (const r of customs) {
      for (const crd of fluxCrds) assert.ok(r.dependencies.includes(crd), `${r.name} must wait for ${crd}`);
      const registeredAt = mocks.resources.indexOf(r);
      assert.ok(mocks.ofType(T.crd).every((c) => mocks.resources.indexOf(c) < registeredAt), `${r.name} registered after the CRDs`);
    }
    const helm = urnOf(mocks.one(T.helmRelease, "capsule-chart"));
    for (const t of mocks.ofType(T.capsuleTenant)) {
      assert.ok(t.dependencies.includes(helm), `${t.name} waits for the Capsule chart (its CRDs)`);
    }
  });

  it("every Flux custom object waits for the controllers, so a destroy deletes it while Flux runs", () => {
    const controllers = mocks.ofType(T.deployment).filter((d) => meta(d).namespace === "flux-system");
    assert.equal(controllers.length, 4, "the default components");
    const rbac = mocks.resources.filter((r) => r.name.startsWith("flux-") && /ClusterRoleBinding|ServiceAccount/.test(r.type));
    assert.ok(rbac.length > 0);
    for (const r of [...mocks.ofType(T.gitRepository), ...mocks.ofType(T.kustomization)]) {
      for (const c of [...controllers, ...rbac]) assert.ok(r.dependencies.includes(urnOf(c)), `${r.name} must wait for ${c.type} ${c.name}`);
    }
    assert.equal(spec(mocks.one(T.kustomization, "flux-sync")).deletionPolicy, "Orphan", "flux-system keeps what it applied: Pulumi deletes Flux");
  });

  it("deletes the CRDs last: every namespace waits for them", () => {
    assertNamespacesBeforeCrds(mocks);
  });

  it("namespaced Flux objects wait for the flux-system Namespace", () => {
    const ns = urnOf(mocks.one(T.namespace, "flux-namespace-flux-system"));
    for (const r of mocks.resources.filter((x) => x.name.startsWith("flux-") && meta(x)?.namespace === "flux-system" && x.type !== T.secret)) {
      assert.ok(r.dependencies.includes(ns), `${r.type} ${r.name} waits for the namespace`);
    }
    assert.ok(mocks.one(T.secret, "flux-deploy-key-secret").dependencies.includes(ns), "the Secret waits for the namespace");
  });

  it("gives each tenant a Capsule Tenant owned by its reconciler, namespaces labelled into it", () => {
    const tenant = mocks.one(T.capsuleTenant, "dev-team-capsule-tenant");
    assert.deepEqual(meta(tenant), { name: "dev-team" });
    assert.deepEqual(spec(tenant), {
      owners: [{ kind: "ServiceAccount", name: "system:serviceaccount:dev-team-apps:dev-team", clusterRoles: ["admin", "capsule-namespace-deleter"] }],
      namespaceOptions: { quota: 3 },
    });
    for (const ns of ["dev-team-apps", "dev-team-tools"]) {
      const n = mocks.one(T.namespace, `dev-team-ns-${ns}`);
      const m = meta(n);
      assert.equal(m.name, ns);
      assert.deepEqual(m.labels, { "toolkit.fluxcd.io/tenant": "dev-team", "capsule.clastix.io/tenant": "dev-team" });
      // Pulumi (a Capsule administrator) writes the reference the webhook would, so its field manager owns it and leaving capsule mode removes it.
      assert.deepEqual(m.ownerReferences, [{ apiVersion: "capsule.clastix.io/v1beta2", kind: "Tenant", name: "dev-team", uid: "uid-dev-team-capsule-tenant" }]);
      assert.ok(n.dependencies.includes(urnOf(tenant)), "the namespace waits for its Tenant");
    }
    const sa = mocks.one(T.serviceAccount, "dev-team-sa-dev-team-apps");
    assert.deepEqual(meta(sa), { name: "dev-team", namespace: "dev-team-apps", labels: { "toolkit.fluxcd.io/tenant": "dev-team" } });
    assert.equal(mocks.ofType(T.roleBinding).length, 0, "Capsule grants the owner's roles; no RoleBindings of ours");
  });

  it("installs Capsule's configuration, then Capsule, then Flux's namespace; a destroy removes them the other way round", () => {
    const release = mocks.one("kubernetes:helm.sh/v3:Release", "capsule-chart");
    assert.ok(release.dependencies.includes(urnOf(mocks.one("kubernetes:helm.sh/v3:Release", "capsule-configuration-chart"))));
    const capsuleParts = mocks.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("capsule-")).map(urnOf);
    const fluxNamespace = mocks.one("kubernetes:core/v1:Namespace", "flux-namespace-flux-system");
    assert.ok(capsuleParts.length >= 3 && capsuleParts.every((u) => fluxNamespace.dependencies.includes(u)),
      "flux-system is deleted while Capsule's namespace webhook still answers");
  });

  it("admits exactly the reconcilers as Capsule users, and the platform as administrator, in the one CapsuleConfiguration", () => {
    const configs = mocks.ofType(T.capsuleConfig);
    assert.equal(configs.length, 1);
    assert.equal(meta(configs[0]!).name, "default");
    assert.deepEqual(spec(configs[0]!), {
      users: [
        { kind: "Group", name: "capsule.clastix.io" },
        { kind: "ServiceAccount", name: "system:serviceaccount:dev-team-apps:dev-team" },
        { kind: "ServiceAccount", name: "system:serviceaccount:ops-team-apps:ops-team" },
      ],
      administrators: [{ kind: "Group", name: "system:masters" }],
    });
    const release = mocks.one(T.helmRelease, "capsule-chart");
    assert.equal(release.inputs.version, "0.14.0");
    assert.deepEqual(reveal(release.inputs.repositoryOpts), { repo: "https://projectcapsule.github.io/charts" });
  });

  it("syncs each tenant from its own repo/branch, impersonating its reconciler, all in its home namespace", () => {
    const expectations = [
      { t: "dev-team", home: "dev-team-apps", url: "ssh://git@github.com/acme/fleet-infra", branch: "dev-team", path: "./" },
      { t: "ops-team", home: "ops-team-apps", url: "ssh://git@github.com/acme/ops-fleet", branch: "main", path: "./clusters/dev" },
    ];
    for (const e of expectations) {
      const source = mocks.one(T.gitRepository, `${e.t}-source`);
      const sync = mocks.one(T.kustomization, `${e.t}-sync`);
      const secret = mocks.one(T.secret, `${e.t}-deploy-key-secret`);
      assert.deepEqual(meta(source), { name: e.t, namespace: e.home });
      assert.deepEqual(meta(sync), { name: e.t, namespace: e.home });
      assert.deepEqual(meta(secret), { name: `${e.t}-deploy-key`, namespace: e.home });
      assert.deepEqual(spec(source), { interval: "1m0s", ref: { branch: e.branch }, secretRef: { name: `${e.t}-deploy-key` }, url: e.url });
      assert.deepEqual(spec(sync), { interval: "5m0s", path: e.path, prune: true, deletionPolicy: "Orphan", serviceAccountName: e.t, sourceRef: { kind: "GitRepository", name: e.t } });
      assert.ok(isSecretValue(secret.inputs.stringData), "the tenant key is sent as a secret");
      const data = reveal<Record<string, unknown>>(secret.inputs.stringData);
      assert.equal(reveal(data["identity.pub"]), mocks.one(T.deployKey, `${e.t}-deploy-key-deploy-key`).inputs.key);
    }
  });

  it("binds no tenant subject to cluster-admin", () => {
    const bindings = [...mocks.ofType(T.roleBinding), ...mocks.ofType(T.clusterRoleBinding)];
    for (const b of bindings) {
      const subjects = reveal<{ kind: string; name: string; namespace?: string }[]>(b.inputs.subjects ?? []);
      const roleRef = reveal<{ name: string }>(b.inputs.roleRef);
      if (roleRef.name !== "cluster-admin") continue;
      for (const s of subjects) assert.equal(s.namespace, "flux-system", `${b.name} binds ${s.namespace}/${s.name} to cluster-admin`);
    }
    for (const t of mocks.ofType(T.capsuleTenant)) {
      for (const owner of spec(t).owners as { clusterRoles: string[] }[]) assert.ok(!owner.clusterRoles.includes("cluster-admin"));
    }
  });

  it("exports each tenant's public key, not as a secret, and no private key at all", async () => {
    const output = outputs.tenants as pulumi.Output<Record<string, { publicKey: string; reconciler: string }>>;
    assert.equal(await pulumi.isSecret(output), false);
    const tenants = await promiseOf(output);
    assert.deepEqual(Object.keys(tenants).sort(), ["dev-team", "ops-team"]);
    assert.match(tenants["dev-team"]!.publicKey, /^ecdsa-sha2-nistp384 /);
    assert.equal(tenants["dev-team"]!.reconciler, "system:serviceaccount:dev-team-apps:dev-team");
    assert.doesNotMatch(JSON.stringify(Object.keys(outputs)), /private/i);
  });

  it("parents every child under its component", () => {
    for (const r of mocks.resources.filter((x) => x.name.startsWith("dev-team-"))) {
      const expected = r.name.startsWith("dev-team-deploy-key-") ? "flux-capsule:index:DeployKey" : "flux-capsule:index:Tenant";
      assert.equal(parentType(r), expected, `${r.type} ${r.name}`);
    }
    assert.equal(parentType(mocks.one("flux-capsule:index:DeployKey", "flux-deploy-key")), "flux-capsule:index:FluxBootstrap");
    for (const r of mocks.resources.filter((x) => x.type.startsWith("kubernetes:") && x.name.startsWith("flux-") && !x.name.startsWith("flux-deploy-key-"))) {
      assert.equal(parentType(r), "flux-capsule:index:FluxBootstrap", `${r.type} ${r.name}`);
    }
  });

  it("force-applies every Kubernetes object, so out-of-band edits are repaired, not conflicts", () => {
    const objects = mocks.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh"));
    for (const r of objects) {
      assert.equal(reveal<Meta>(r.inputs.metadata).annotations?.["pulumi.com/patchForce"], "true", `${r.type} ${r.name}`);
    }
  });

  it("sends every Kubernetes object through the explicit cluster provider", () => {
    const kube = mocks.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(kube.length > 40, `only ${kube.length} Kubernetes objects`);
    for (const r of kube) assert.match(r.provider ?? "", /::pulumi:providers:kubernetes::cluster::/, `${r.type} ${r.name}`);
    // Secrets updated in place: a key rotation must not delete the deploy key's Secret before creating it again.
    assert.equal(mocks.one("pulumi:providers:kubernetes", "cluster").inputs.enableSecretMutable, "true");
  });
});

describe("stack program (namespace mode)", () => {
  let mocks: RecordingMocks;

  before(async () => {
    const c = baseConfig();
    delete c.tenants[0]!.namespaceQuota;
    ({ mocks } = await runStack({ ...c, tenancy: "namespace", capsule: { install: false }, flux: { ...c.flux, keyAlgorithm: "ed25519" } }));
  });

  it("labels the namespaces for Flux and creates no Capsule objects", () => {
    assert.deepEqual(meta(mocks.one(T.namespace, "dev-team-ns-dev-team-tools")).labels, { "toolkit.fluxcd.io/tenant": "dev-team" });
    assert.equal(meta(mocks.one(T.namespace, "dev-team-ns-dev-team-tools")).ownerReferences, undefined);
    assert.equal(mocks.ofType(T.capsuleTenant).length + mocks.ofType(T.capsuleConfig).length + mocks.ofType(T.helmRelease).length, 0);
  });

  it("creates the reconciler in every tenant namespace and binds admin, never cluster-admin, in each", () => {
    for (const ns of ["dev-team-apps", "dev-team-tools"]) {
      assert.deepEqual(meta(mocks.one(T.serviceAccount, `dev-team-sa-${ns}`)), { name: "dev-team", namespace: ns, labels: { "toolkit.fluxcd.io/tenant": "dev-team" } });
      const rb = mocks.one(T.roleBinding, `dev-team-rb-${ns}`);
      assert.equal(meta(rb).namespace, ns);
      assert.deepEqual(reveal(rb.inputs.roleRef), { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" });
      const subjects = reveal<{ namespace: string }[]>(rb.inputs.subjects);
      assert.ok(subjects.some((s) => s.namespace === "dev-team-apps"), "the home reconciler can act here");
    }
    const sync = mocks.one(T.kustomization, "dev-team-sync");
    const bindings = mocks.ofType(T.roleBinding).filter((r) => r.name.startsWith("dev-team-"));
    assert.equal(bindings.length, 2, "one RoleBinding per dev-team namespace");
    for (const rb of bindings) {
      assert.ok(sync.dependencies.includes(urnOf(rb)), "the tenant sync waits for its RBAC");
    }
  });

  it("deletes the CRDs last: every namespace waits for them", () => {
    assertNamespacesBeforeCrds(mocks);
  });

  it("makes ED25519 keys when asked", () => {
    assert.equal(mocks.ofType(T.privateKey).length, 3, "one key per deploy key");
    for (const k of mocks.ofType(T.privateKey)) assert.deepEqual(k.inputs, { algorithm: "ED25519" });
    for (const k of mocks.ofType(T.deployKey)) assert.match(String(reveal(k.inputs.key)), /^ssh-ed25519 \S+$/, `${k.name}: the registered key is the ED25519 one`);
  });
});

describe("stack program (component options)", () => {
  it("bakes registry, tolerations and network policies into both the cluster and the committed file", async () => {
    const c = baseConfig();
    const toleration = { key: "infra", operator: "Exists", effect: "NoSchedule" };
    const { mocks } = await runStack({ ...c, flux: { ...c.flux, registry: "registry.acme.internal/fluxcd", tolerations: [toleration], networkPolicy: false, lockdown: false } });
    const d = mocks.one(T.deployment, "flux-deployment-flux-system-source-controller");
    const pod = reveal<{ template: { spec: { containers: { image: string; args: string[] }[]; tolerations: unknown[] } } }>(d.inputs.spec).template.spec;
    assert.equal(pod.containers[0]!.image, "registry.acme.internal/fluxcd/source-controller:v1.7.4");
    assert.deepEqual(pod.tolerations, [toleration]);
    assert.equal(mocks.resources.filter((r) => r.type.endsWith(":NetworkPolicy")).length, 0);
    const components = String(mocks.one(T.file, "flux-gotk-components").inputs.content);
    assert.match(components, /image: registry\.acme\.internal\/fluxcd\/source-controller:v1\.7\.4/);
    assert.doesNotMatch(components, /kind: NetworkPolicy/);
    assert.equal(spec(mocks.one(T.kustomization, "flux-sync")).serviceAccountName, undefined, "no lockdown: flux-system runs as the controller itself");
    assert.doesNotMatch(String(mocks.one(T.file, "flux-kustomization").inputs.content), /serviceAccountName|args/);
  });

  it("waits for Ready only where asked: flux-system and the tenants that set waitForReady", async () => {
    const c = baseConfig();
    const plain = await runStack(c);
    for (const k of plain.mocks.ofType(T.kustomization)) assert.equal(meta(k).annotations, undefined, `${k.name}: no wait by default`);
    const tenants = [{ ...c.tenants[0]!, waitForReady: true }, c.tenants[1]!];
    const { mocks } = await runStack({ ...c, flux: { ...c.flux, waitForReady: true, readyTimeoutSeconds: 120 }, tenants });
    const waits = Object.fromEntries(mocks.ofType(T.kustomization).map((k) => [k.name, meta(k).annotations]));
    const wait = { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "120" };
    assert.deepEqual(waits, { "flux-sync": wait, "dev-team-sync": wait, "ops-team-sync": undefined });
  });

  it("rotates the keys whose keyRotation is set, and only those", async () => {
    const c = baseConfig();
    const tenants = [{ ...c.tenants[0]!, keyRotation: "3" }, c.tenants[1]!];
    const { mocks } = await runStack({ ...c, flux: { ...c.flux, keyRotation: "2026-12-02" }, tenants });
    assert.deepEqual(mocks.ofType(T.deployKey).map((k) => [k.name, k.inputs.title]).sort(), [
      ["dev-team-deploy-key-deploy-key-3", "tenant dev-team flux-capsule/dev (rotation 3)"],
      ["flux-deploy-key-deploy-key-2026-12-02", "flux-system flux-capsule/dev clusters/dev (rotation 2026-12-02)"],
      ["ops-team-deploy-key-deploy-key", "tenant ops-team flux-capsule/dev"],
    ]);
    assert.deepEqual(mocks.ofType(T.privateKey).map((k) => k.name).sort(), ["dev-team-deploy-key-key-3", "flux-deploy-key-key-2026-12-02", "ops-team-deploy-key-key"]);
  });

  it("leaves GitHub writes unordered with github:parallelRequests, save the commits to one branch", async () => {
    const { mocks } = await runStack({ ...baseConfig(), raw: { "github:parallelRequests": "true" } });
    const writes = mocks.resources.filter((r) => r.type === T.deployKey || r.type === T.file);
    const urns = new Set(writes.map(urnOf));
    const waits = Object.fromEntries(writes.map((w) => [w.name, w.dependencies.filter((d) => urns.has(d)).length]));
    assert.deepEqual(waits, {
      "flux-deploy-key-deploy-key": 0, "flux-gotk-components": 0, "flux-gotk-sync": 1, "flux-kustomization": 1,
      "dev-team-deploy-key-deploy-key": 0, "ops-team-deploy-key-deploy-key": 0,
    });
    assert.ok(mocks.one(T.file, "flux-gotk-sync").dependencies.includes(urnOf(mocks.one(T.file, "flux-gotk-components"))));
  });
});
