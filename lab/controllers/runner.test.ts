// Tests for the pure part of lab/controllers/runner.ts, part of npm test
// (.mocharc.json): the command line the lab runs for a Flux Deployment.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { applyArgPatches, lockdownArgPatches } from "../../components/flux/lockdown";
import { KubeObject } from "../../components/shared";
import { Deployment, expand, Loopback, parseImage, planFor, quantity, resolveEnv, templateHash, toolsFrom, WEBHOOK_CERT_DIR } from "./runner";

const lb: Loopback = {
  host: "127.0.0.1",
  stateDir: "/lab/controllers",
  ports: {
    "source-controller": { metrics: 18080, health: 19440, storage: 19090 },
    "kustomize-controller": { metrics: 18081, health: 19441 },
    capsule: { metrics: 18082, health: 10080, webhook: 19443 },
  },
};
const tools = toolsFrom(["/cache/tools/source-controller/v1.9.5-abc/", "/cache/tools/kustomize-controller/v1.9.5-def"], () => true);

/** The fixture's Deployments (a Flux release's), lockdown-patched as the program applies them, images at `tag`. */
function applied(tag = "v1.9.5"): Map<string, Deployment> {
  const fixture = path.join(__dirname, "../../test/fixtures/flux-install.yaml");
  const objects = parseAllDocuments(readFileSync(fixture, "utf8")).map((d) => d.toJS() as KubeObject).filter(Boolean);
  const out = new Map<string, Deployment>();
  for (const o of applyArgPatches(objects, lockdownArgPatches("flux-tenant"))) {
    if (o.kind !== "Deployment") continue;
    const d = structuredClone(o) as unknown as Deployment;
    const c = d.spec!.template!.spec!.containers![0]!;
    c.image = c.image!.replace(/:v[^@]*/, `:${tag}`);
    out.set(o.metadata.name, d);
  }
  return out;
}

describe("lab/controllers/runner", () => {
  it("runs kustomize-controller with the applied args, lockdown included, in-cluster flags replaced by loopback ones", () => {
    const plan = planFor(applied().get("kustomize-controller")!, tools, lb);
    assert.equal(plan.kind, "run");
    if (plan.kind !== "run") return;
    assert.equal(plan.binary, "/cache/tools/kustomize-controller/v1.9.5-def/kustomize-controller");
    assert.deepEqual(plan.args, [
      "--watch-all-namespaces", "--log-level=info", "--log-encoding=json",
      "--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=flux-tenant",
      "--metrics-addr=127.0.0.1:18081", "--health-addr=127.0.0.1:19441",
    ]);
    assert.equal(plan.env.RUNTIME_NAMESPACE, "flux-system");
    assert.equal(plan.graceSeconds, 60);
  });

  it("gives source-controller loopback storage and resolves its env as the kubelet does", () => {
    const plan = planFor(applied().get("source-controller")!, tools, lb);
    assert.equal(plan.kind, "run");
    if (plan.kind !== "run") return;
    assert.ok(!plan.args.some((a) => a.startsWith("--no-")), "source-controller gets no lockdown flag");
    assert.ok(!plan.args.some((a) => /events-addr|enable-leader-election|storage-path=\/data|svc\.cluster\.local/.test(a)), plan.args.join(" "));
    assert.deepEqual(plan.args.slice(-5), [
      "--storage-path=/lab/controllers/storage", "--storage-addr=127.0.0.1:19090", "--storage-adv-addr=127.0.0.1:19090",
      "--metrics-addr=127.0.0.1:18080", "--health-addr=127.0.0.1:19440",
    ]);
    assert.deepEqual(plan.env, { RUNTIME_NAMESPACE: "flux-system", TUF_ROOT: "/tmp/.sigstore", GOMEMLIMIT: String(2 ** 30) });
  });

  it("refuses an image tag the toolchain has no binary for, and ignores controllers it does not build", () => {
    const plan = planFor(applied("v1.7.3").get("kustomize-controller")!, tools, lb);
    assert.equal(plan.kind, "refuse");
    assert.match((plan as { reason: string }).reason, /no kustomize-controller v1\.7\.3 \(it builds v1\.9\.5\); not running another version/);
    assert.equal(planFor(applied().get("helm-controller")!, tools, lb).kind, "ignore");
    const other = applied().get("kustomize-controller")!;
    other.spec!.template!.spec!.containers![0]!.image = "example.com/kustomize-controller:v1.9.5";
    assert.equal(planFor(other, tools, lb).kind, "ignore");
  });

  it("runs the binary of the Deployment's tag when the toolchain builds two versions (the upgrade scenario, Flux v2.7.3 -> v2.9.5)", () => {
    const both = toolsFrom([
      "/cache/tools/source-controller/v1.9.5-abc", "/cache/tools/kustomize-controller/v1.9.5-def",
      "/cache/tools/source-controller/v1.7.3-123", "/cache/tools/kustomize-controller/v1.7.2-456",
    ], () => true);
    const binary = (tag: string, controller: string): string | undefined => {
      const plan = planFor(applied(tag).get(controller)!, both, lb);
      return plan.kind === "run" ? plan.binary : undefined;
    };
    assert.equal(binary("v1.7.3", "source-controller"), "/cache/tools/source-controller/v1.7.3-123/source-controller");
    assert.equal(binary("v1.7.2", "kustomize-controller"), "/cache/tools/kustomize-controller/v1.7.2-456/kustomize-controller");
    assert.equal(binary("v1.9.5", "source-controller"), "/cache/tools/source-controller/v1.9.5-abc/source-controller");
    assert.equal(binary("v1.9.5", "kustomize-controller"), "/cache/tools/kustomize-controller/v1.9.5-def/kustomize-controller");
    const plan = planFor(applied("v1.7.3").get("kustomize-controller")!, both, lb);
    assert.equal(plan.kind, "refuse");
    assert.match((plan as { reason: string }).reason, /no kustomize-controller v1\.7\.3 \(it builds v1\.9\.5, v1\.7\.2\)/);
  });

  it("stops at 0 replicas and restarts on any template change", () => {
    const d = applied().get("kustomize-controller")!;
    const before = planFor(d, tools, lb);
    d.spec!.replicas = 0;
    assert.equal(planFor(d, tools, lb).kind, "stop");
    d.spec!.replicas = 1;
    assert.deepEqual(planFor(d, tools, lb), before, "replicas are not part of the template");
    d.spec!.template!.spec!.containers![0]!.args!.push("--concurrent=2");
    const after = planFor(d, tools, lb);
    assert.ok(after.kind === "run" && before.kind === "run" && after.hash !== before.hash);
    assert.notEqual(templateHash(d.spec!.template, "a"), templateHash(d.spec!.template, "b"), "another binary is a restart");
  });

  it("expands $(VAR) like the kubelet", () => {
    const vars = { NS: "flux-system", EMPTY: "" };
    assert.equal(expand("svc.$(NS).local", vars), "svc.flux-system.local");
    assert.equal(expand("$(MISSING)-$(EMPTY)x", vars), "$(MISSING)-x");
    assert.equal(expand("$$(NS) $$ $x $(", vars), "$(NS) $ $x $(");
  });

  it("resolves fieldRef and resourceFieldRef env, refuses secret references", () => {
    const template = { metadata: { labels: { app: "kc" } }, spec: { serviceAccountName: "sa" } };
    const pod = { namespace: "ns", podName: "kc-1", nodeName: "lab", ip: "127.0.0.1" };
    const env = resolveEnv(template, {
      name: "manager",
      resources: { limits: { cpu: "1500m", memory: "512Mi" } },
      env: [
        { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
        { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
        { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
        { name: "GOMEMLIMIT", valueFrom: { resourceFieldRef: { containerName: "manager", resource: "limits.memory", divisor: "0" } } },
        { name: "URL", value: "http://$(POD).$(NS)" },
      ],
    }, pod);
    assert.deepEqual(env, { NS: "ns", POD: "kc-1", APP: "kc", SA: "sa", CPU: "2", MEM: "512", GOMEMLIMIT: String(512 * 2 ** 20), URL: "http://kc-1.ns" });
    assert.throws(() => resolveEnv(template, { name: "m", env: [{ name: "S", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] }, pod), /only value/);
    assert.equal(quantity("1Gi"), 2 ** 30);
    assert.equal(quantity("250m"), 0.25);
  });

  /** Capsule's manager Deployment as its v0.14.0 chart renders it with default values (templates/_pod.tpl). */
  const capsuleDeployment = (): Deployment => ({
    metadata: { name: "capsule-controller-manager", namespace: "capsule-system" },
    spec: {
      replicas: 1,
      template: {
        spec: {
          serviceAccountName: "capsule",
          volumes: [{ name: "cert", secret: { secretName: "capsule-tls" } }],
          containers: [{
            name: "manager",
            image: "ghcr.io/projectcapsule/capsule:v0.14.0",
            args: ["--webhook-port=9443", "--zap-log-level=info", "--configuration-name=default", "--workers=1",
              "--client-connection-qps=20", "--client-connection-burst=30", "--enable-leader-election=true"],
            env: [
              { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
              { name: "SERVICE_ACCOUNT", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
            ],
            volumeMounts: [{ name: "cert", mountPath: WEBHOOK_CERT_DIR }],
          }],
        },
      },
    },
  });

  it("runs Capsule from its chart's Deployment: the TLS Secret written to a file dir, loopback webhook and metrics, no leader election", () => {
    const capsuleTools = toolsFrom(["/cache/tools/capsule/v0.14.0-abc"], () => true);
    const d = capsuleDeployment();
    const waiting = planFor(d, capsuleTools, lb);
    assert.equal(waiting.kind, "wait");
    assert.match((waiting as { reason: string }).reason, /Secret capsule-tls \(volume cert\) does not exist yet/);
    const secrets = new Map([["capsule-tls", { "tls.crt": "Y3J0", "tls.key": "a2V5" }]]);
    const plan = planFor(d, capsuleTools, lb, secrets);
    assert.equal(plan.kind, "run");
    if (plan.kind !== "run") return;
    assert.equal(plan.binary, "/cache/tools/capsule/v0.14.0-abc/capsule");
    const certs = "/lab/controllers/volumes/capsule-controller-manager/cert";
    assert.deepEqual(plan.args, [
      "--zap-log-level=info", "--configuration-name=default", "--workers=1", "--client-connection-qps=20", "--client-connection-burst=30",
      "--metrics-addr=127.0.0.1:18082", "--webhook-port=19443", `--webhook-cert-path=${certs}`, "--enable-leader-election=false",
    ]);
    assert.deepEqual(plan.volumes, [{ dir: certs, data: { "tls.crt": "Y3J0", "tls.key": "a2V5" } }]);
    assert.deepEqual(plan.env, { NAMESPACE: "capsule-system", SERVICE_ACCOUNT: "capsule" });
    const rotated = planFor(d, capsuleTools, lb, new Map([["capsule-tls", { "tls.crt": "bmV3", "tls.key": "a2V5" }]]));
    assert.ok(rotated.kind === "run" && rotated.hash !== plan.hash, "a new certificate in the Secret restarts Capsule");
    d.spec!.template!.spec!.containers![0]!.volumeMounts = [];
    assert.throws(() => planFor(d, capsuleTools, lb, secrets), /no volume is mounted at its webhook certificate directory/);
  });

  it("reads images and tool dirs", () => {
    assert.deepEqual(parseImage("ghcr.io/projectcapsule/capsule:v0.14.0"), { controller: "capsule", tag: "v0.14.0" });
    assert.equal(parseImage("ghcr.io/projectcapsule/capsule-proxy:v0.14.0"), undefined);
    assert.deepEqual(parseImage("ghcr.io/fluxcd/source-controller:v1.9.5"), { controller: "source-controller", tag: "v1.9.5" });
    assert.deepEqual(parseImage(`ghcr.io/fluxcd/source-controller:v1.9.5@sha256:${"a".repeat(64)}`), { controller: "source-controller", tag: "v1.9.5" });
    assert.equal(parseImage("ghcr.io/fluxcd/source-controller@sha256:" + "a".repeat(64)), undefined);
    assert.throws(() => toolsFrom(["/cache/tools/source-controller/latest"], () => true), /not a tool dir/);
  });
});
