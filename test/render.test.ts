import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { applyArgPatches, lockdownArgPatches } from "../components/flux/lockdown";
import { DEFAULT_COMPONENTS, loadFluxManifests, parseManifests, selectComponents } from "../components/flux/manifests";
import { KubeObject } from "../components/shared";
import { generateComponents } from "../components/flux/generate";
import { renderFlux } from "../components/flux/render";
import { capsuleTenantObject, reconcilerRoleBinding, renderTenant, tenantSyncObjects } from "../components/tenant/render";
import { capsuleUsers } from "../components/capsule/capsule";
import { FIXTURE } from "./harness";

const manifests = fs.readFileSync(FIXTURE, "utf8");
const sync = { url: "ssh://git@github.com/acme/fleet-infra", branch: "main", path: "clusters/dev", secretName: "flux-system" };

function render(overrides: Partial<Parameters<typeof renderFlux>[0]> = {}) {
  return renderFlux({
    version: "v2.7.5",
    manifests,
    manifestsSource: "fixture",
    lockdown: true,
    defaultServiceAccount: "default",
    sync,
    ...overrides,
  });
}

function deployment(objects: readonly KubeObject[], name: string): KubeObject {
  const d = objects.find((o) => o.kind === "Deployment" && o.metadata.name === name);
  assert.ok(d, `no Deployment ${name}`);
  return d;
}

function argsOf(d: KubeObject): string[] {
  return ((d.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args);
}

describe("Flux manifests", () => {
  it("parses every document of the release manifest", () => {
    const objects = parseManifests(manifests, "fixture");
    assert.equal(objects.length, 39);
    assert.equal(objects[0]!.kind, "Namespace");
  });

  it("names the document that is not valid YAML", () => {
    assert.throws(() => parseManifests("apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\nkey: [unclosed\n", "x.yaml"), /x\.yaml: document 2 is not valid YAML/);
  });

  it("rejects a document that is not a Kubernetes object", () => {
    assert.throws(() => parseManifests("just: data\n", "x.yaml"), /x\.yaml: document 1 is not a Kubernetes object/);
  });

  it("rejects an empty manifest", () => {
    assert.throws(() => parseManifests("---\n", "x.yaml"), /holds no Kubernetes objects/);
  });

  it("keeps shared objects and the default controllers, drops the image controllers", () => {
    const objects = selectComponents(parseManifests(manifests, "f"), ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"], "f");
    const deployments = objects.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name).sort();
    assert.deepEqual(deployments, ["helm-controller", "kustomize-controller", "notification-controller", "source-controller"]);
    assert.ok(objects.some((o) => o.kind === "Namespace"), "shared Namespace kept");
    assert.ok(objects.some((o) => o.kind === "ClusterRoleBinding" && o.metadata.name === "cluster-reconciler"), "shared RBAC kept");
    assert.ok(!objects.some((o) => o.metadata.name.startsWith("image")), "image controller objects dropped");
    assert.ok(!objects.some((o) => o.metadata.name === "imagepolicies.image.toolkit.fluxcd.io"), "their CRDs dropped");
  });

  it("fails when the manifest lacks a requested controller", () => {
    const withoutHelm = parseManifests(manifests, "f").filter((o) => o.metadata.labels?.["app.kubernetes.io/component"] !== "helm-controller");
    assert.throws(() => selectComponents(withoutHelm, ["source-controller", "helm-controller"], "old.yaml"), /old\.yaml: has no Deployment for helm-controller/);
  });

  it("rewrites images to a mirror, adds tolerations and can drop network policies", () => {
    const toleration = { key: "dedicated", operator: "Equal", value: "flux", effect: "NoSchedule" };
    const { objects } = generateComponents(manifests, { version: "v2.7.5", components: DEFAULT_COMPONENTS, registry: "mirror.local/flux/", tolerations: [toleration], networkPolicy: false });
    const d = deployment(objects, "source-controller");
    const pod = (d.spec as { template: { spec: { containers: { image: string }[]; tolerations: unknown[] } } }).template.spec;
    assert.equal(pod.containers[0]!.image, "mirror.local/flux/source-controller:v1.7.4");
    assert.deepEqual(pod.tolerations, [toleration]);
    assert.equal(objects.filter((o) => o.kind === "NetworkPolicy").length, 0);
    const original = deployment(parseManifests(manifests, "f"), "source-controller");
    assert.match(JSON.stringify(original), /ghcr\.io\/fluxcd\/source-controller/, "input untouched");
  });

  it("downloads manifests from a URL and names the URL and status when it fails", async () => {
    const server = http.createServer((req, res) => {
      if (req.url === "/v2.7.5/install.yaml") res.end(manifests);
      else { res.statusCode = 404; res.end("not found"); }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const loaded = await loadFluxManifests({ version: "v2.7.5", manifests: `${base}/v2.7.5/install.yaml` });
      assert.equal(loaded.text, manifests);
      await assert.rejects(loadFluxManifests({ version: "v9.9.9", manifests: `${base}/v9.9.9/install.yaml` }),
        new RegExp(`cannot download Flux manifests from ${base}/v9\\.9\\.9/install\\.yaml: HTTP 404; check flux\\.version`));
    } finally {
      server.close();
    }
  });

  it("reads a local manifests file and reports a missing one with the fix", async () => {
    const loaded = await loadFluxManifests({ version: "v2.7.5", manifests: FIXTURE });
    assert.equal(loaded.source, FIXTURE);
    assert.equal(loaded.text, manifests);
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: "/nonexistent/install.yaml" }),
      /cannot read Flux manifests file \/nonexistent\/install\.yaml \(ENOENT\); set flux\.manifests/);
  });
});

describe("lockdown", () => {
  it("appends the flags to each controller in the documented order", () => {
    const r = render({ componentsExtra: ["image-reflector-controller", "image-automation-controller"] });
    const tail = (name: string, n: number) => argsOf(deployment(r.objects, name)).slice(-n);
    assert.deepEqual(tail("kustomize-controller", 3), ["--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=default"]);
    assert.deepEqual(tail("helm-controller", 2), ["--no-cross-namespace-refs=true", "--default-service-account=default"]);
    assert.deepEqual(tail("notification-controller", 1), ["--no-cross-namespace-refs=true"]);
    assert.deepEqual(tail("image-reflector-controller", 1), ["--no-cross-namespace-refs=true"]);
    assert.deepEqual(tail("image-automation-controller", 1), ["--no-cross-namespace-refs=true"]);
    assert.ok(!argsOf(deployment(r.objects, "source-controller")).some((a) => a.startsWith("--no-")), "source-controller untouched");
  });

  it("leaves the controllers alone without lockdown", () => {
    const r = render({ lockdown: false });
    assert.ok(!argsOf(deployment(r.objects, "kustomize-controller")).some((a) => a.startsWith("--no-")));
    assert.equal((r.sync[1].spec as Record<string, unknown>).serviceAccountName, undefined);
    const k = parse(r.files["kustomization.yaml"]) as { patches: { patch: string; target: unknown }[] };
    assert.deepEqual(k.patches.map((p) => [p.target, parse(p.patch)]), [
      [{ kind: "Kustomization", name: "flux-system" }, [{ op: "add", path: "/spec/deletionPolicy", value: "Orphan" }]],
    ], "only flux-system's deletion policy");
    assert.equal((r.sync[1].spec as Record<string, unknown>).deletionPolicy, "Orphan");
  });

  it("runs the flux-system Kustomization as kustomize-controller", () => {
    assert.equal((render().sync[1].spec as Record<string, unknown>).serviceAccountName, "kustomize-controller");
  });

  it("uses the configured default service account", () => {
    const args = argsOf(deployment(render({ defaultServiceAccount: "nobody" }).objects, "helm-controller"));
    assert.ok(args.includes("--default-service-account=nobody"));
  });

  it("commits patches that reproduce exactly the applied objects", () => {
    // Apply the committed JSON6902 patches the way kustomize does, then
    // compare with what Pulumi applies: they must be identical, or Pulumi and
    // Flux would fight over the controllers' arguments.
    const r = render();
    const committed = parseAllDocuments(r.files["gotk-components.yaml"]).map((d) => d.toJS() as KubeObject);
    const kustomization = parse(r.files["kustomization.yaml"]) as { resources: string[]; patches: { patch: string; target: { kind: string; name: string } }[] };
    assert.deepEqual(kustomization.resources, ["gotk-components.yaml", "gotk-sync.yaml"]);
    const patched = committed.map((o) => {
      const out = structuredClone(o);
      for (const p of kustomization.patches) {
        if (p.target.kind !== o.kind || !new RegExp(`^${p.target.name}$`).test(o.metadata.name)) continue;
        for (const op of parse(p.patch) as { op: string; path: string; value: string }[]) {
          assert.equal(op.op, "add");
          assert.equal(op.path, "/spec/template/spec/containers/0/args/-");
          // What kustomize does with an `add` at `args/-`: append to the first container's list.
          const args = (out.spec as { template: { spec: { containers: { args?: string[] }[] } } }).template.spec.containers[0]!.args;
          assert.ok(Array.isArray(args), `${o.metadata.name}: kustomize cannot append to a missing args list`);
          args.push(op.value);
        }
      }
      return out;
    });
    assert.deepEqual(patched, r.objects);
    const syncPatch = kustomization.patches.find((p) => p.target.kind === "Kustomization");
    assert.deepEqual(syncPatch?.target, { kind: "Kustomization", name: "flux-system" });
    const ops = parse(syncPatch!.patch) as { op: string; path: string; value: string }[];
    assert.deepEqual(ops, [
      { op: "add", path: "/spec/serviceAccountName", value: "kustomize-controller" },
      { op: "add", path: "/spec/deletionPolicy", value: "Orphan" },
    ]);
    // The same for flux-system's Kustomization: gotk-sync.yaml's, patched, is what Pulumi applies.
    const committedSync = parseAllDocuments(r.files["gotk-sync.yaml"]).map((d) => d.toJS() as KubeObject).find((o) => o.kind === "Kustomization")!;
    assert.equal((committedSync.spec as Record<string, unknown>).deletionPolicy, undefined, "gotk-sync.yaml stays as flux bootstrap writes it");
    const spec = structuredClone(committedSync.spec) as Record<string, unknown>;
    for (const op of ops) spec[op.path.replace("/spec/", "")] = op.value;
    assert.deepEqual({ ...committedSync, spec }, r.sync[1]);
  });

  it("targets only controllers that are deployed", () => {
    const k = parse(render().files["kustomization.yaml"]) as { patches: { target: { name: string } }[] };
    const names = k.patches.map((p) => p.target.name);
    assert.deepEqual(names, ["(kustomize-controller|helm-controller|notification-controller)", "kustomize-controller", "(kustomize-controller|helm-controller)", "flux-system"]);
  });

  it("does not mutate its input", () => {
    const objects = parseManifests(manifests, "f");
    const before = JSON.stringify(objects);
    applyArgPatches(objects, lockdownArgPatches("default"));
    assert.equal(JSON.stringify(objects), before);
  });
});

describe("gotk-components as the flux CLI generates it", () => {
  // The v2.9.4 fixture is unlabelled, as a release's install.yaml: every label is inserted.
  const release = fs.readFileSync(path.join(__dirname, "fixtures", "flux-install-v2.9.4.yaml"), "utf8");
  const options = { version: "v2.9.4", components: DEFAULT_COMPONENTS };
  const generated = generateComponents(release, options);
  const find = (kind: string, name: string) => generated.objects.find((o) => o.kind === kind && o.metadata.name === name);

  it("suffixes the shared RBAC with the namespace, and the binding's reference to a suffixed role", () => {
    for (const [kind, name] of [["ResourceQuota", "critical-pods"], ["ClusterRole", "crd-controller"], ["ClusterRole", "flux-edit"], ["ClusterRole", "flux-view"], ["ClusterRoleBinding", "cluster-reconciler"]]) {
      assert.ok(find(kind!, `${name}-flux-system`), `${kind} ${name}-flux-system`);
      assert.equal(find(kind!, name!), undefined, `${kind} ${name} left unsuffixed`);
    }
    assert.deepEqual(find("ClusterRoleBinding", "crd-controller-flux-system")?.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "crd-controller-flux-system" });
    assert.equal((find("ClusterRoleBinding", "cluster-reconciler-flux-system")?.roleRef as { name: string }).name, "cluster-admin", "a role outside the release keeps its name");
  });

  it("labels every object and pod template with the version, pins pods to Linux and sets the first arguments", () => {
    assert.ok(!/app\.kubernetes\.io\/version: v2\.9\.4/.test(release), "the fixture has no version label to keep");
    for (const o of generated.objects) assert.equal(o.metadata.labels?.["app.kubernetes.io/version"], "v2.9.4", `${o.kind} ${o.metadata.name}`);
    const source = deployment(generated.objects, "source-controller");
    const pod = (source.spec as { template: { metadata: { labels: Record<string, string> }; spec: { nodeSelector: unknown; containers: { args: string[] }[] } } }).template;
    assert.equal(pod.metadata.labels["app.kubernetes.io/version"], "v2.9.4");
    assert.deepEqual(pod.spec.nodeSelector, { "kubernetes.io/os": "linux" });
    assert.deepEqual(pod.spec.containers[0]!.args.slice(0, 3), [
      "--events-addr=http://notification-controller.$(RUNTIME_NAMESPACE).svc.cluster.local./", "--watch-all-namespaces=true", "--log-level=info"]);
    assert.equal(pod.spec.containers[0]!.args[6], "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.");
  });

  it("lists the Namespace, the policies, the shared RBAC, then each controller's objects in component order", () => {
    const groups = generated.objects.map((o) => o.metadata.labels?.["app.kubernetes.io/component"] ?? o.kind);
    const order = groups.filter((g, i) => g !== groups[i - 1]);
    assert.deepEqual(order, ["Namespace", "NetworkPolicy", "ResourceQuota", "ClusterRole", "ClusterRoleBinding", ...DEFAULT_COMPONENTS]);
  });

  it("keeps the release's text around what it changes, and is idempotent: its own output comes back unchanged", () => {
    assert.equal(generateComponents(generated.text, options).text, generated.text);
    const crd = release.split(/^---\n/m).find((d) => d.includes("name: gitrepositories.source.toolkit.fluxcd.io"))!;
    assert.ok(generated.text.includes(crd.slice(crd.indexOf("spec:"))), "the CRD's text is the release's, byte for byte");
    assert.equal(generateComponents(release.trimEnd(), options).text, generated.text, "a last line without its newline");
  });

  it("refuses a layout it cannot edit faithfully: flow-style labels, aliases", () => {
    const namespace = (metadata: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n${metadata}`;
    const nsOnly = { version: "v2.9.4", components: [] }; // a Namespace alone: no controller to find
    assert.throws(() => generateComponents(namespace("  labels: {app.kubernetes.io/part-of: flux}\n  name: flux-system\n"), nsOnly),
      /Namespace "flux-system": metadata\.labels is not a block map; use a Flux release's install\.yaml as it is published/);
    assert.throws(() => generateComponents(namespace("  labels: &l\n    app.kubernetes.io/part-of: flux\n  annotations: *l\n  name: flux-system\n"), nsOnly),
      /Namespace "flux-system": it uses a YAML alias, which would carry an edit to every place it is used/);
  });
});

describe("repository files", () => {
  it("gotk-components.yaml carries flux's header and the selected objects", () => {
    const text = render().files["gotk-components.yaml"];
    assert.ok(text.startsWith("---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v2.7.5\n" +
      "# Components: source-controller,kustomize-controller,helm-controller,notification-controller\napiVersion: v1\nkind: Namespace\n"));
    const kinds = parseAllDocuments(text).map((d) => (d.toJS() as KubeObject).kind);
    assert.equal(kinds.filter((k) => k === "Deployment").length, 4);
    assert.ok(!text.includes("--no-remote-bases"), "lockdown lives in kustomization.yaml, not in the components");
  });

  it("gotk-sync.yaml holds the GitRepository and Kustomization flux-system", () => {
    const [source, kustomization] = parseAllDocuments(render().files["gotk-sync.yaml"]).map((d) => d.toJS() as KubeObject);
    assert.deepEqual(source, {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "flux-system", namespace: "flux-system" },
      spec: { interval: "1m0s", ref: { branch: "main" }, secretRef: { name: "flux-system" }, url: "ssh://git@github.com/acme/fleet-infra" },
    });
    assert.deepEqual(kustomization, {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "flux-system", namespace: "flux-system" },
      spec: { interval: "10m0s", path: "./clusters/dev", prune: true, sourceRef: { kind: "GitRepository", name: "flux-system" } },
    });
  });

  it("a root path syncs ./", () => {
    const r = render({ sync: { ...sync, path: "./" } });
    assert.equal((r.sync[1].spec as Record<string, unknown>).path, "./");
  });
});

describe("tenant objects", () => {
  it("the tenant Kustomization impersonates the tenant's reconciler, sourceRef in its namespace", () => {
    const [source, k] = tenantSyncObjects("dev-team", "dev-team-apps", { url: "ssh://git@github.com/acme/fleet-infra", branch: "dev-team", path: "./" });
    assert.equal(source.metadata.namespace, "dev-team-apps");
    assert.deepEqual(source.spec, { interval: "1m0s", ref: { branch: "dev-team" }, secretRef: { name: "dev-team-deploy-key" }, url: "ssh://git@github.com/acme/fleet-infra" });
    assert.equal(k.metadata.namespace, "dev-team-apps");
    assert.deepEqual(k.spec, { interval: "5m0s", path: "./", prune: true, deletionPolicy: "Orphan", serviceAccountName: "dev-team", sourceRef: { kind: "GitRepository", name: "dev-team" } });
  });

  it("the Capsule Tenant is owned by the reconciler with admin, never cluster-admin", () => {
    const t = capsuleTenantObject("dev-team", "dev-team-apps", 3);
    assert.deepEqual(t.spec, {
      owners: [{ kind: "ServiceAccount", name: "system:serviceaccount:dev-team-apps:dev-team", clusterRoles: ["admin", "capsule-namespace-deleter"] }],
      namespaceOptions: { quota: 3 },
    });
    assert.equal((capsuleTenantObject("x", "x-apps").spec as Record<string, unknown>).namespaceOptions, undefined);
  });

  it("namespace-mode bindings give admin to the home and local reconcilers", () => {
    const rb = reconcilerRoleBinding("dev-team", "dev-team-apps", "dev-team-tools");
    assert.deepEqual(rb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" });
    assert.deepEqual(rb.subjects, [
      { kind: "ServiceAccount", name: "dev-team", namespace: "dev-team-apps" },
      { kind: "ServiceAccount", name: "dev-team", namespace: "dev-team-tools" },
    ]);
    assert.equal((reconcilerRoleBinding("dev-team", "dev-team-apps", "dev-team-apps").subjects as unknown[]).length, 1);
  });

  const tenant = { name: "dev-team", namespaces: ["dev-team-apps", "dev-team-tools"], owner: "acme", repository: "dev-fleet" } as const;
  const labelsOf = (objects: readonly KubeObject[]) => objects.map((o) => [o.metadata.name, o.metadata.namespace, o.metadata.labels]);

  it("renderTenant, capsule mode: a Capsule Tenant holding the namespaces listed, one reconciler in the home namespace", () => {
    const r = renderTenant({ ...tenant, mode: "capsule" });
    assert.equal(r.home, "dev-team-apps");
    assert.equal(r.reconciler, "system:serviceaccount:dev-team-apps:dev-team");
    assert.deepEqual(r.capsuleTenant, capsuleTenantObject("dev-team", "dev-team-apps", 2));
    const both = { "toolkit.fluxcd.io/tenant": "dev-team", "capsule.clastix.io/tenant": "dev-team" };
    assert.deepEqual(labelsOf(r.namespaces), [["dev-team-apps", undefined, both], ["dev-team-tools", undefined, both]]);
    assert.deepEqual(labelsOf(r.serviceAccounts), [["dev-team", "dev-team-apps", { "toolkit.fluxcd.io/tenant": "dev-team" }]]);
    assert.deepEqual(r.roleBindings, []);
    assert.deepEqual(r.sync, tenantSyncObjects("dev-team", "dev-team-apps", { url: "ssh://git@github.com/acme/dev-fleet", branch: "dev-team", path: "./" }));
  });

  it("renderTenant, namespace mode: a reconciler and an admin RoleBinding in every namespace, nothing of Capsule", () => {
    const r = renderTenant({ ...tenant, mode: "namespace" });
    assert.equal(r.capsuleTenant, undefined);
    const flux = { "toolkit.fluxcd.io/tenant": "dev-team" };
    assert.deepEqual(labelsOf(r.namespaces), [["dev-team-apps", undefined, flux], ["dev-team-tools", undefined, flux]]);
    assert.deepEqual(labelsOf(r.serviceAccounts), [["dev-team", "dev-team-apps", flux], ["dev-team", "dev-team-tools", flux]]);
    assert.deepEqual(r.roleBindings, [reconcilerRoleBinding("dev-team", "dev-team-apps", "dev-team-apps"), reconcilerRoleBinding("dev-team", "dev-team-apps", "dev-team-tools")]);
  });

  it("renderTenant: the quota, branch, path and Git host given replace the defaults", () => {
    const r = renderTenant({ ...tenant, mode: "capsule", namespaceQuota: "unlimited", branch: "release", path: "clusters/dev", sshHost: "git.example.com:2222" });
    assert.equal((r.capsuleTenant!.spec as Record<string, unknown>).namespaceOptions, undefined);
    assert.deepEqual(r.sync, tenantSyncObjects("dev-team", "dev-team-apps", { url: "ssh://git@git.example.com:2222/acme/dev-fleet", branch: "release", path: "clusters/dev" }));
    assert.deepEqual((renderTenant({ ...tenant, mode: "capsule", namespaceQuota: 5 }).capsuleTenant!.spec as Record<string, unknown>).namespaceOptions, { quota: 5 });
  });

  it("the renders load without the Pulumi SDK or a provider (plain data in, plain data out)", () => {
    const script = "require('./components/tenant/render'); require('./components/flux/render');" +
      "process.stdout.write(Object.keys(require.cache).filter((m) => m.includes('@pulumi')).join(','))";
    const loaded = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: path.join(__dirname, ".."), encoding: "utf8" });
    assert.equal(loaded, "");
  });

  it("Capsule users: the default group plus each reconciler, sorted and unique", () => {
    assert.deepEqual(capsuleUsers(["system:serviceaccount:b:b", "system:serviceaccount:a:a", "system:serviceaccount:a:a"]), [
      { kind: "Group", name: "capsule.clastix.io" },
      { kind: "ServiceAccount", name: "system:serviceaccount:a:a" },
      { kind: "ServiceAccount", name: "system:serviceaccount:b:b" },
    ]);
  });
});
