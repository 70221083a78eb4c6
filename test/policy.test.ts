import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { POLICY_NAMES, policies } from "../policy/policies";
import {
  deployKeyProblems,
  escalatingRoles,
  fluxObjectProblems,
  isTenantSubject,
  lockdownProblems,
  rbacProblems,
  secretProblems,
  StackResource,
  stackRbacProblems,
  stackSecretProblems,
  tenantNamespaceProblems,
  TYPES,
} from "../policy/rules";
import { baseConfig, runStack } from "./harness";
import { reveal } from "./mocks";

const root = path.join(__dirname, "..");
const KUSTOMIZATION = "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization";
const HELM_RELEASE = "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease";
const CAPSULE_TENANT = "kubernetes:capsule.clastix.io/v1beta2:Tenant";
const CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";

const sa = (namespace: string, name: string) => ({ kind: "ServiceAccount", name, namespace });
const binding = (type: string, role: string, subjects: unknown[], namespace?: string, roleKind = "ClusterRole") => ({
  type,
  props: {
    metadata: { name: "b", ...(namespace ? { namespace } : {}) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name: role },
    subjects,
  },
});
const kustomization = (namespace: string | undefined, spec: Record<string, unknown>) => ({
  type: KUSTOMIZATION,
  props: { metadata: { name: "apps", ...(namespace ? { namespace } : {}) }, spec: { path: "./", prune: true, ...spec } },
});
const deployment = (name: string, args: string[], namespace = "flux-system") => ({
  type: TYPES.deployment,
  props: { metadata: { name, namespace }, spec: { template: { spec: { containers: [{ name: "manager", args }] } } } },
});
const FULL_LOCKDOWN_KUSTOMIZE = ["--events-addr=x", "--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=default"];
const keySecret = (namespace: string | undefined, name: string | undefined, data: Record<string, unknown> = { identity: "k", "identity.pub": "p", known_hosts: "h" }) => ({
  type: TYPES.secret,
  props: { metadata: { ...(name ? { name } : {}), ...(namespace ? { namespace } : {}) }, stringData: data },
});
const ns = (name: string, labels: Record<string, string> = {}, urn = `urn:ns:${name}`, cluster?: string): StackResource => ({
  type: TYPES.namespace,
  urn,
  cluster,
  props: { metadata: { name, labels } },
});
const stackOf = (...rs: { type: string; props: Record<string, unknown> }[]): StackResource[] => rs.map((r, i) => ({ ...r, urn: `urn:${i}` }));

describe("policy pack: rules (pure functions)", () => {
  describe("deploy keys are read-only", () => {
    it("passes readOnly: true and the provider's default (read-only)", () => {
      assert.deepEqual(deployKeyProblems({ type: TYPES.deployKey, props: { repository: "fleet", key: "ssh-ed25519 A", readOnly: true } }), []);
      assert.deepEqual(deployKeyProblems({ type: TYPES.deployKey, props: { repository: "fleet", key: "ssh-ed25519 A" } }), []);
    });
    it("refuses readOnly: false, naming the repository", () => {
      assert.deepEqual(deployKeyProblems({ type: TYPES.deployKey, props: { repository: "fleet", readOnly: false } }), [
        `deploy key on repository "fleet" is not read-only (readOnly: false): set readOnly: true; a deploy key with write access lets whoever holds the cluster's Secret push to the repository`,
      ]);
      assert.equal(deployKeyProblems({ type: TYPES.deployKey, props: { repository: "fleet", readOnly: "false" } }).length, 1);
    });
    it("ignores other types", () => {
      assert.deepEqual(deployKeyProblems({ type: "github:index/repositoryFile:RepositoryFile", props: { readOnly: false } }), []);
    });
  });

  describe("tenant subjects", () => {
    const platform = ["flux-system", "capsule-system", "kube-system"];
    it("are ServiceAccounts (any form) outside platform namespaces, and the everyone-groups", () => {
      assert.equal(isTenantSubject(sa("dev-team-apps", "dev-team"), platform), true);
      assert.equal(isTenantSubject({ kind: "ServiceAccount", name: "x" }, platform, "dev"), true, "namespace from the binding");
      assert.equal(isTenantSubject({ kind: "User", name: "system:serviceaccount:dev:dev" }, platform), true);
      assert.equal(isTenantSubject({ kind: "Group", name: "system:serviceaccounts:dev" }, platform), true);
      assert.equal(isTenantSubject({ kind: "Group", name: "system:serviceaccounts" }, platform), true);
      assert.equal(isTenantSubject({ kind: "Group", name: "system:authenticated" }, platform), true);
    });
    it("are not the platform's accounts nor people", () => {
      assert.equal(isTenantSubject(sa("flux-system", "kustomize-controller"), platform), false);
      assert.equal(isTenantSubject(sa("kube-public", "x"), platform), false, "every kube-* is platform");
      assert.equal(isTenantSubject({ kind: "User", name: "system:serviceaccount:capsule-system:capsule" }, platform), false);
      assert.equal(isTenantSubject({ kind: "User", name: "alice@example.com" }, platform), false);
      assert.equal(isTenantSubject({ kind: "Group", name: "system:masters" }, platform), false);
    });
  });

  describe("no tenant subject gets cluster-admin or an escalating role", () => {
    it("passes Flux's own cluster-admin binding of its controllers and tenants' admin bindings", () => {
      assert.deepEqual(rbacProblems(binding(CLUSTER_ROLE_BINDING, "cluster-admin", [sa("flux-system", "kustomize-controller"), sa("flux-system", "helm-controller")])), []);
      assert.deepEqual(rbacProblems(binding(TYPES.roleBinding, "admin", [sa("dev", "dev")], "dev")), []);
    });
    it("refuses a ClusterRoleBinding or RoleBinding of a tenant account to cluster-admin", () => {
      assert.deepEqual(rbacProblems(binding(CLUSTER_ROLE_BINDING, "cluster-admin", [sa("flux-system", "kustomize-controller"), sa("dev", "dev")])), [
        `ClusterRoleBinding b binds tenant subject ServiceAccount dev/dev to "cluster-admin", which can take over the cluster: bind tenants to "admin" in their own namespaces`,
      ]);
      assert.equal(rbacProblems(binding(TYPES.roleBinding, "cluster-admin", [{ kind: "ServiceAccount", name: "dev" }], "dev")).length, 1);
      assert.equal(rbacProblems(binding(TYPES.roleBinding, "cluster-admin", [{ kind: "Group", name: "system:serviceaccounts" }], "dev")).length, 1);
    });
    it("refuses Capsule owners and additionalRoleBindings with cluster-admin, and passes the package's Tenant", () => {
      const tenant = (spec: Record<string, unknown>) => ({ type: CAPSULE_TENANT, props: { metadata: { name: "dev" }, spec } });
      const owner = { kind: "ServiceAccount", name: "system:serviceaccount:dev:dev", clusterRoles: ["admin", "capsule-namespace-deleter"] };
      assert.deepEqual(rbacProblems(tenant({ owners: [owner] })), []);
      assert.deepEqual(rbacProblems(tenant({ owners: [{ ...owner, clusterRoles: ["cluster-admin"] }] })), [
        `Capsule Tenant "dev": owners[0] (ServiceAccount system:serviceaccount:dev:dev) gets "cluster-admin", which can take over the cluster: give owners "admin"`,
      ]);
      assert.deepEqual(rbacProblems(tenant({ owners: [owner], additionalRoleBindings: [{ clusterRoleName: "cluster-admin", subjects: [{ kind: "Group", name: "devs" }] }] })), [
        `Capsule Tenant "dev": additionalRoleBindings[0] gives Group devs "cluster-admin", which can take over the cluster`,
      ]);
    });
    it("takes further forbidden roles from config, namespaced Roles as <namespace>/<name>", () => {
      const config = { forbiddenRoles: ["cluster-admin", "edit", "dev/root"], platformNamespaces: ["flux-system"] };
      assert.equal(rbacProblems(binding(TYPES.roleBinding, "edit", [sa("dev", "dev")], "dev"), config).length, 1);
      assert.equal(rbacProblems(binding(TYPES.roleBinding, "root", [sa("dev", "dev")], "dev", "Role"), config).length, 1);
      assert.equal(rbacProblems(binding(TYPES.roleBinding, "root", [sa("ops", "ops")], "ops", "Role"), config).length, 0);
      assert.equal(rbacProblems(binding(CLUSTER_ROLE_BINDING, "cluster-admin", [sa("kube-system", "x")]), config).length, 0);
    });
    it("finds the stack's roles that can escalate, bind or impersonate, and refuses binding tenants to them", () => {
      const role = (type: string, name: string, verbs: string[], namespace?: string) => ({
        type, props: { metadata: { name, ...(namespace ? { namespace } : {}) }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs }] },
      });
      const stack = stackOf(
        role(TYPES.clusterRole, "impersonator", ["impersonate"]),
        role(TYPES.clusterRole, "star", ["*"]),
        role(TYPES.role, "binder", ["bind", "get"], "dev"),
        role(TYPES.clusterRole, "reader", ["get", "list"]),
        binding(TYPES.roleBinding, "impersonator", [sa("dev", "dev")], "dev"),
        binding(TYPES.roleBinding, "binder", [sa("dev", "dev")], "dev", "Role"),
        binding(TYPES.roleBinding, "reader", [sa("dev", "dev")], "dev"),
        binding(CLUSTER_ROLE_BINDING, "star", [sa("flux-system", "kustomize-controller")]),
      );
      assert.deepEqual(escalatingRoles(stack), ["impersonator", "star", "dev/binder"]);
      assert.deepEqual(stackRbacProblems(stack).map((p) => p.urn), ["urn:4", "urn:5"]);
    });
  });

  describe("Flux objects outside flux-system run as their own namespace's account, from their own namespace's sources", () => {
    it("passes a tenant Kustomization and anything in flux-system", () => {
      assert.deepEqual(fluxObjectProblems(kustomization("dev", { serviceAccountName: "dev", sourceRef: { kind: "GitRepository", name: "dev" } })), []);
      assert.deepEqual(fluxObjectProblems(kustomization("dev", { serviceAccountName: "dev", sourceRef: { kind: "GitRepository", name: "dev", namespace: "dev" } })), []);
      assert.deepEqual(fluxObjectProblems(kustomization("flux-system", { sourceRef: { kind: "GitRepository", name: "flux-system" } })), []);
    });
    it("refuses a missing serviceAccountName, a controller's account, a missing namespace, a cross-namespace source", () => {
      assert.deepEqual(fluxObjectProblems(kustomization("dev", { sourceRef: { kind: "GitRepository", name: "dev" } })), [
        `Kustomization dev/apps names no serviceAccountName: Flux would apply it as the controller's default account; name the tenant's reconciler account of namespace "dev"`,
      ]);
      assert.deepEqual(fluxObjectProblems(kustomization("dev", { serviceAccountName: "kustomize-controller", sourceRef: { kind: "GitRepository", name: "dev" } })), [
        `Kustomization dev/apps names serviceAccountName "kustomize-controller", a Flux controller's account: name the tenant's own reconciler account in "dev"`,
      ]);
      assert.deepEqual(fluxObjectProblems(kustomization("dev", { serviceAccountName: "dev", sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } })), [
        `Kustomization dev/apps: spec.sourceRef points into namespace "flux-system": a tenant's sources live in its own namespace ("dev")`,
      ]);
      assert.equal(fluxObjectProblems(kustomization(undefined, { serviceAccountName: "dev" })).length, 1);
    });
    it("checks HelmReleases' chart sources and chartRef, at any API version", () => {
      const hr = (spec: Record<string, unknown>, type = HELM_RELEASE) => ({ type, props: { metadata: { name: "web", namespace: "dev" }, spec } });
      const chart = (namespace?: string) => ({ spec: { chart: "web", sourceRef: { kind: "HelmRepository", name: "charts", ...(namespace ? { namespace } : {}) } } });
      assert.deepEqual(fluxObjectProblems(hr({ serviceAccountName: "dev", chart: chart() })), []);
      assert.deepEqual(fluxObjectProblems(hr({ serviceAccountName: "dev", chart: chart("shared") })), [
        `HelmRelease dev/web: spec.chart.spec.sourceRef points into namespace "shared": a tenant's sources live in its own namespace ("dev")`,
      ]);
      assert.equal(fluxObjectProblems(hr({ serviceAccountName: "dev", chartRef: { kind: "OCIRepository", name: "c", namespace: "x" } })).length, 1);
      assert.equal(fluxObjectProblems(hr({ chart: chart() }, "kubernetes:helm.toolkit.fluxcd.io/v2beta2:HelmRelease")).length, 1);
    });
    it("takes the Flux namespace from config", () => {
      assert.equal(fluxObjectProblems(kustomization("flux", {}), { fluxNamespace: "flux" }).length, 0);
      assert.equal(fluxObjectProblems(kustomization("flux-system", {}), { fluxNamespace: "flux" }).length, 1);
    });
  });

  describe("controller Deployments carry the lockdown flags", () => {
    it("passes the locked-down controllers and ignores other Deployments", () => {
      assert.deepEqual(lockdownProblems(deployment("kustomize-controller", FULL_LOCKDOWN_KUSTOMIZE)), []);
      assert.deepEqual(lockdownProblems(deployment("helm-controller", ["--no-cross-namespace-refs=true", "--default-service-account=nobody"])), []);
      assert.deepEqual(lockdownProblems(deployment("source-controller", [])), []);
      assert.deepEqual(lockdownProblems(deployment("kustomize-controller", [], "apps")), [], "not Flux's namespace");
    });
    it("refuses a controller missing a flag or turning it off", () => {
      assert.deepEqual(lockdownProblems(deployment("kustomize-controller", ["--no-cross-namespace-refs=true", "--default-service-account=default"])), [
        "Deployment flux-system/kustomize-controller lacks the lockdown argument --no-remote-bases=true",
      ]);
      assert.deepEqual(lockdownProblems(deployment("notification-controller", ["--no-cross-namespace-refs=false"])), [
        "Deployment flux-system/notification-controller lacks the lockdown argument --no-cross-namespace-refs=true",
      ]);
      assert.deepEqual(lockdownProblems(deployment("helm-controller", ["--no-cross-namespace-refs=true"])), [
        "Deployment flux-system/helm-controller lacks the lockdown argument --default-service-account=<account>: tenant objects naming no account would run as the controller (cluster-admin)",
      ]);
    });
    it("refuses a controller's account as the default account, and another account than the configured one", () => {
      assert.equal(lockdownProblems(deployment("helm-controller", ["--no-cross-namespace-refs=true", "--default-service-account=helm-controller"])).length, 1);
      const config = { fluxNamespace: "flux-system", defaultServiceAccount: "nobody" };
      assert.deepEqual(lockdownProblems(deployment("helm-controller", ["--no-cross-namespace-refs=true", "--default-service-account=default"]), config), [
        `Deployment flux-system/helm-controller: --default-service-account=default must name "nobody"`,
      ]);
    });
  });

  describe("private key Secrets live where the package puts them", () => {
    it("passes the Flux namespace, <tenant>-deploy-key in a tenant namespace, and Secrets without a key", () => {
      assert.deepEqual(secretProblems(keySecret("flux-system", "flux-system")), []);
      assert.deepEqual(secretProblems(keySecret("dev-team-apps", "dev-team-deploy-key")), []);
      assert.deepEqual(secretProblems(keySecret("kube-system", "x", { password: "p" })), []);
    });
    it("refuses a key in default, kube-* or capsule-system, without a namespace, or under another name", () => {
      assert.deepEqual(secretProblems(keySecret("default", "key")), [
        `Secret default/key holds a private key outside the Flux namespace and any tenant's: keep deploy keys in "flux-system" or a tenant's home namespace`,
      ]);
      assert.equal(secretProblems(keySecret("kube-public", "dev-deploy-key")).length, 1);
      assert.equal(secretProblems(keySecret("capsule-system", "dev-deploy-key")).length, 1);
      assert.equal(secretProblems(keySecret(undefined, "dev-deploy-key")).length, 1);
      assert.deepEqual(secretProblems(keySecret("dev", "stolen", { "ssh-privatekey": "k" })), [
        `Secret dev/stolen holds a private key in namespace "dev" under another name than "<tenant>-deploy-key": a tenant's key lives only in its home, as <tenant>-deploy-key`,
      ]);
      assert.equal(secretProblems({ type: TYPES.secret, props: { metadata: { name: "s", namespace: "dev" }, type: "kubernetes.io/ssh-auth", data: {} } }).length, 1);
    });
    it("reads a Secret's contents only where a key would be misplaced (they are unknown during preview)", () => {
      const unknownContents = (namespace: string, name: string) => ({
        type: TYPES.secret,
        props: Object.defineProperty({ metadata: { name, namespace } }, "stringData", { enumerable: true, get: () => { throw new Error("unknown during preview"); } }) as Record<string, unknown>,
      });
      assert.deepEqual(secretProblems(unknownContents("flux-system", "flux-system")), []);
      assert.deepEqual(secretProblems(unknownContents("dev-apps", "dev-deploy-key")), []);
      assert.deepEqual(stackSecretProblems([ns("dev-apps", { "capsule.clastix.io/tenant": "dev" }), { ...unknownContents("dev-apps", "dev-deploy-key"), urn: "urn:s" }]), []);
      assert.throws(() => secretProblems(unknownContents("default", "k")), /unknown during preview/);
    });
    it("allows further namespaces from config", () => {
      assert.deepEqual(secretProblems(keySecret("vault", "k"), { fluxNamespace: "flux-system", allowedNamespaces: ["vault"] }), []);
    });
    it("with the stack's Namespaces: a tenant's key lives in a namespace labelled as that tenant's", () => {
      const good = [ns("dev-apps", { "capsule.clastix.io/tenant": "dev" }), { ...keySecret("dev-apps", "dev-deploy-key"), urn: "urn:s" }];
      assert.deepEqual(stackSecretProblems(good), []);
      const bad = [ns("ops-apps", { "toolkit.fluxcd.io/tenant": "ops" }), { ...keySecret("ops-apps", "dev-deploy-key"), urn: "urn:s" }];
      assert.deepEqual(stackSecretProblems(bad), [{
        urn: "urn:s",
        message: `Secret ops-apps/dev-deploy-key holds tenant "dev"'s private key, but namespace "ops-apps" is tenant "ops"'s: a tenant's key lives only in its own home`,
      }]);
      assert.equal(stackSecretProblems([ns("plain"), { ...keySecret("plain", "dev-deploy-key"), urn: "urn:s" }]).length, 1);
      assert.deepEqual(stackSecretProblems([{ ...keySecret("elsewhere", "dev-deploy-key"), urn: "urn:s" }]), [], "a namespace of another stack is not judged");
    });
  });

  describe("every tenant namespace belongs to exactly one tenant", () => {
    it("passes one tenant per namespace, and the same name on two clusters", () => {
      assert.deepEqual(tenantNamespaceProblems([
        ns("a", { "capsule.clastix.io/tenant": "dev" }),
        ns("b", { "toolkit.fluxcd.io/tenant": "ops", "capsule.clastix.io/tenant": "ops" }),
        ns("c", { "capsule.clastix.io/tenant": "ops" }, "urn:c1", "prod"),
        ns("c", { "capsule.clastix.io/tenant": "dev" }, "urn:c2", "dev"),
      ]), []);
    });
    it("refuses a namespace two tenants claim, by its labels or by a tenant's RoleBinding in it", () => {
      assert.deepEqual(tenantNamespaceProblems([ns("a", { "toolkit.fluxcd.io/tenant": "dev", "capsule.clastix.io/tenant": "ops" })]), [{
        urn: "urn:ns:a",
        message: `namespace "a" is claimed by tenant "ops" (Namespace label capsule.clastix.io/tenant) and by tenant "dev" (Namespace label toolkit.fluxcd.io/tenant); each namespace belongs to one tenant`,
      }]);
      const rb: StackResource = { type: TYPES.roleBinding, urn: "urn:rb", props: { metadata: { name: "ops-reconciler", namespace: "a", labels: { "toolkit.fluxcd.io/tenant": "ops" } } } };
      assert.deepEqual(tenantNamespaceProblems([ns("a", { "toolkit.fluxcd.io/tenant": "dev" }), rb]).map((p) => p.urn), ["urn:rb"]);
      assert.equal(tenantNamespaceProblems([ns("a", { "toolkit.fluxcd.io/tenant": "dev" }, "u1"), ns("a", { "toolkit.fluxcd.io/tenant": "ops" }, "u2")]).length, 1);
    });
  });
});

/** What a CrossGuard policy reports for a resource or stack, called as the SDK's server calls it. */
function reportsOf(policy: ResourceValidationPolicy | StackValidationPolicy, input: { type: string; props: Record<string, unknown> } | StackResource[], config: object = {}): string[] {
  const messages: string[] = [];
  const report = (m: string) => { messages.push(m); };
  const common = { getConfig: <T extends object>() => config as T, notApplicable: (): never => { throw new Error("not applicable"); }, stackTags: new Map<string, string>() };
  if ("validateStack" in policy) {
    const resources = (input as StackResource[]).map((r) => ({ ...r, provider: r.cluster ? { urn: r.cluster, type: "pulumi:providers:kubernetes", name: "c", props: {} } : undefined }));
    void policy.validateStack({ ...common, resources } as unknown as StackValidationArgs, report);
  } else {
    const r = input as { type: string; props: Record<string, unknown> };
    const validate = policy.validateResource;
    for (const v of Array.isArray(validate) ? validate : validate ? [validate] : []) {
      void v({ ...common, type: r.type, props: r.props, urn: "urn:r", name: "r" } as unknown as ResourceValidationArgs, report);
    }
  }
  return messages;
}

describe("policy pack: CrossGuard policies", () => {
  const byName = (name: string) => {
    const p = policies.find((x) => x.name === name);
    assert.ok(p, name);
    return p;
  };

  it("are the documented ones, each mandatory by default", () => {
    assert.deepEqual(policies.map((p) => p.name), Object.values(POLICY_NAMES));
    for (const p of policies) assert.equal(p.enforcementLevel, "mandatory", p.name);
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    for (const name of Object.values(POLICY_NAMES)) assert.ok(readme.includes(`\`${name}\``), `README names ${name}`);
  });

  it("report each rule's problems, with config and without (schema defaults)", () => {
    assert.equal(reportsOf(byName(POLICY_NAMES.deployKey), { type: TYPES.deployKey, props: { repository: "r", readOnly: false } }).length, 1);
    assert.equal(reportsOf(byName(POLICY_NAMES.rbac), binding(CLUSTER_ROLE_BINDING, "cluster-admin", [sa("dev", "dev")])).length, 1);
    assert.equal(reportsOf(byName(POLICY_NAMES.rbac), binding(CLUSTER_ROLE_BINDING, "edit", [sa("dev", "dev")]), { forbiddenRoles: ["edit"] }).length, 1);
    assert.equal(reportsOf(byName(POLICY_NAMES.flux), kustomization("dev", {})).length, 1);
    assert.equal(reportsOf(byName(POLICY_NAMES.flux), kustomization("flux", {}), { fluxNamespace: "flux" }).length, 0);
    assert.equal(reportsOf(byName(POLICY_NAMES.lockdown), deployment("kustomize-controller", [])).length, 3);
    assert.equal(reportsOf(byName(POLICY_NAMES.secret), keySecret("default", "k")).length, 1);
    assert.equal(reportsOf(byName(POLICY_NAMES.secret), keySecret("default", "k"), { allowedNamespaces: ["default"] }).length, 0);
    assert.equal(reportsOf(byName(POLICY_NAMES.namespaces), [ns("a", { "toolkit.fluxcd.io/tenant": "x", "capsule.clastix.io/tenant": "y" })]).length, 1);
    assert.equal(reportsOf(byName(POLICY_NAMES.namespaces), [
      ns("a", { "toolkit.fluxcd.io/tenant": "x" }, "u1", "prod"), ns("a", { "toolkit.fluxcd.io/tenant": "y" }, "u2", "dev"),
    ]).length, 0, "the provider tells clusters apart");
  });

  for (const tenancy of ["capsule", "namespace"]) {
    it(`find nothing to report in the stack program (${tenancy} mode, under mocks)`, async () => {
      const config = baseConfig();
      if (tenancy === "namespace") delete config.tenants[0]!.namespaceQuota;
      const { mocks } = await runStack({ ...config, tenancy, ...(tenancy === "namespace" ? { capsule: { install: false } } : {}) });
      const resources: StackResource[] = mocks.resources.map((r) => ({ type: r.type, props: reveal<Record<string, unknown>>(r.inputs), urn: r.urn ?? r.name, cluster: r.provider?.split("::")[0] }));
      assert.ok(resources.some((r) => r.type === TYPES.deployKey) && resources.some((r) => r.type === KUSTOMIZATION) && resources.some((r) => r.type === TYPES.deployment));
      const reported: string[] = [];
      for (const p of policies) {
        if ("validateStack" in p) reported.push(...reportsOf(p, resources));
        else for (const r of resources) reported.push(...reportsOf(p, r));
      }
      assert.deepEqual(reported, []);
      // The same objects, lockdown arguments stripped: the check sees the stack's controllers.
      const stripped = resources.filter((r) => r.type === TYPES.deployment).map((r) => deployment(String((r.props.metadata as { name: string }).name), []));
      // kustomize-controller 3 arguments, helm-controller 2, notification-controller 1.
      assert.equal(stripped.flatMap((r) => reportsOf(byName(POLICY_NAMES.lockdown), r)).length, 6);
    });
  }
});

describe("policy pack: served by the SDK's policy pack host, as the language host starts it", function () {
  this.timeout(120_000);
  let pack: ChildProcess | undefined;
  let client: AnalyzerClient | undefined;

  before(async () => {
    // As the toolchain's language host starts it (RunPlugin, lab/toolchain/go/pulumi-language-nodejs/policy.go): @pulumi/pulumi's
    // policy pack host, in the pack's directory, the engine's address first and the directory last.
    const dir = path.join(root, "policy");
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [dir] });
    pack = spawn(process.execPath, [runner, "127.0.0.1:1", dir], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    pack.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      pack!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      pack!.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
    });
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  after(() => {
    client?.close();
    pack?.kill();
  });

  const done = <T>(resolve: (v: T) => void, reject: (e: Error) => void) => (err: Error | null, res: T) => (err ? reject(err) : resolve(res));
  const analyzerInfo = () => new Promise<analyzerPb.AnalyzerInfo>((resolve, reject) => client!.getAnalyzerInfo(new Empty(), done(resolve, reject)));
  const analyzeCall = (req: analyzerPb.AnalyzeRequest) => new Promise<analyzerPb.AnalyzeResponse>((resolve, reject) => client!.analyze(req, done(resolve, reject)));

  it("describes the pack: its name and every policy, mandatory", async () => {
    const info = await analyzerInfo();
    assert.equal(info.getName(), "flux-capsule");
    assert.deepEqual(info.getPoliciesList().map((p) => p.getName()), Object.values(POLICY_NAMES));
    for (const p of info.getPoliciesList()) assert.equal(p.getEnforcementlevel(), analyzerPb.EnforcementLevel.MANDATORY, p.getName());
  });

  const analyze = async (type: string, props: Record<string, unknown>) => {
    const req = new analyzerPb.AnalyzeRequest();
    req.setType(type);
    req.setName("r");
    req.setUrn(`urn:pulumi:s::p::${type}::r`);
    req.setProperties(Struct.fromJavaScript(props as Record<string, never>));
    const opts = new analyzerPb.AnalyzerResourceOptions();
    opts.setCustomtimeouts(new analyzerPb.AnalyzerResourceOptions.CustomTimeouts());
    req.setOptions(opts);
    const res = await analyzeCall(req);
    return res.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), message: d.getMessage(), mandatory: d.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY }));
  };

  it("blocks a read-write deploy key with the rule's message, and passes a read-only one", async () => {
    assert.deepEqual(await analyze(TYPES.deployKey, { repository: "fleet", key: "k", readOnly: true }), []);
    const diags = await analyze(TYPES.deployKey, { repository: "fleet", key: "k", readOnly: false });
    assert.equal(diags.length, 1);
    assert.equal(diags[0]!.policy, POLICY_NAMES.deployKey);
    assert.equal(diags[0]!.mandatory, true);
    assert.match(diags[0]!.message, /deploy key on repository "fleet" is not read-only/);
  });

  it("blocks a hand-written Kustomization without serviceAccountName", async () => {
    const diags = await analyze(KUSTOMIZATION, kustomization("dev", { sourceRef: { kind: "GitRepository", name: "dev" } }).props);
    assert.deepEqual(diags.map((d) => [d.policy, d.mandatory]), [[POLICY_NAMES.flux, true]]);
    assert.match(diags[0]!.message, /names no serviceAccountName/);
  });
});

describe("policy pack: packaging", () => {
  it("pins @pulumi/policy 1.21.0 and the root's @pulumi/pulumi in policy/package.json, as installed by the root npm ci", () => {
    const rootPkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    const pack = JSON.parse(fs.readFileSync(path.join(root, "policy/package.json"), "utf8")) as { dependencies: Record<string, string>; version: string };
    assert.equal(pack.dependencies["@pulumi/policy"], "1.21.0");
    assert.equal(rootPkg.devDependencies["@pulumi/policy"], "1.21.0");
    assert.equal(pack.dependencies["@pulumi/pulumi"], rootPkg.devDependencies["@pulumi/pulumi"]);
    assert.ok(pack.version, "the SDK reads the pack's version from package.json");
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
    assert.equal(lock.packages["node_modules/@pulumi/policy"]?.version, "1.21.0");
    assert.equal(lock.packages["node_modules/@pulumi/policy/node_modules/@pulumi/pulumi"], undefined, "one @pulumi/pulumi");
  });
});
