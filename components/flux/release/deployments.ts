/** The release rules of the controllers' Deployments. */
import { KubeObject } from "../../shared";
import { FLUX_NAMESPACE } from "../../validation";
import { lockdownArgPatches } from "../lockdown";
import { FREE, describe, exactProblems, fieldPath, keyValueProblems, list, record, sameValue, show } from "./fields";
import type { Shape } from "./fields";
import { COMMON_LABELS, IMAGE_REFERENCE, POD_ANNOTATIONS, RELEASE_CONTROLLERS } from "./names";

// ---------------------------------------------------------------------------
// Shapes of a Deployment's fields.

const PROBE: Shape = { httpGet: { path: FREE, port: FREE } };
const QUANTITIES: Shape = { cpu: FREE, memory: FREE };

/** A controller container's fields; `command`, `args`, `env` and `securityContext` have rules of their own. */
const CONTAINER: Shape = {
  name: FREE,
  image: FREE,
  imagePullPolicy: FREE,
  command: FREE,
  args: FREE,
  env: FREE,
  ports: [{ containerPort: FREE, name: FREE, protocol: FREE, hostPort: FREE }],
  readinessProbe: PROBE,
  livenessProbe: PROBE,
  resources: { limits: QUANTITIES, requests: QUANTITIES },
  securityContext: FREE,
  volumeMounts: [{ name: FREE, mountPath: FREE }],
};

/**
 * A controller pod's fields. The host ones are refused by {@link hostAccess},
 * with its own message; securityContext, nodeSelector, priorityClassName and
 * volumes are judged by value.
 */
const POD: Shape = {
  containers: [CONTAINER],
  serviceAccountName: FREE,
  securityContext: FREE,
  priorityClassName: FREE,
  nodeSelector: FREE,
  terminationGracePeriodSeconds: FREE,
  volumes: [{ name: FREE, emptyDir: FREE, hostPath: FREE }],
  hostNetwork: FREE,
  hostPID: FREE,
  hostIPC: FREE,
};

export const DEPLOYMENT_SPEC: Shape = {
  replicas: FREE,
  selector: FREE,
  strategy: FREE,
  template: { metadata: { labels: FREE, annotations: FREE }, spec: POD },
};

// ---------------------------------------------------------------------------
// Deployments: each controller runs one container, the release's image with
// the release's flags, environment and hardened security context.

/** The one container of a controller pod. */
const CONTAINER_NAME = "manager";

/** What the pod's securityContext is in every release (the group for AWS IAM roles' token files). */
const POD_SECURITY: unknown = { fsGroup: 1337 };

/** Every controller container's securityContext in every release. */
const HARDENED: Readonly<Record<string, unknown>> = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  seccompProfile: { type: "RuntimeDefault" },
};
const HARDENED_SHOWN = "no privilege escalation, all capabilities dropped, a read-only root filesystem, a non-root user, the RuntimeDefault seccomp profile";

/**
 * The environment a release sets, by name: the namespace (which the
 * storage address expands), sigstore's cache in /tmp (source-controller),
 * and Go's limits from the container's (GOMAXPROCS until v2.6). Anything
 * else could redirect the controllers (HTTPS_PROXY) or change what they load.
 */
const RELEASE_ENV: Readonly<Record<string, unknown>> = {
  RUNTIME_NAMESPACE: { valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
  TUF_ROOT: { value: "/tmp/.sigstore" },
  GOMAXPROCS: { valueFrom: { resourceFieldRef: { containerName: CONTAINER_NAME, resource: "limits.cpu" } } },
  GOMEMLIMIT: { valueFrom: { resourceFieldRef: { containerName: CONTAINER_NAME, resource: "limits.memory" } } },
};

/** The volumes a release mounts, all empty scratch space: each name with its mount path. */
const RELEASE_MOUNTS: Readonly<Record<string, string>> = { data: "/data", tmp: "/tmp", temp: "/tmp" };

/** The controllers that serve artifacts from storage, at an address they advertise. */
const STORAGE_CONTROLLERS: readonly string[] = ["source-controller", "source-watcher"];

/** The log levels `flux install --log-level` accepts. */
const LOG_LEVELS: readonly string[] = ["debug", "info", "error"];

/**
 * notification-controller's address: the release's install.yaml spells the
 * namespace, `flux install` expands it at runtime.
 */
const EVENTS_ADDRESSES: readonly string[] = [FLUX_NAMESPACE, "$(RUNTIME_NAMESPACE)"]
  .map((ns) => `--events-addr=http://notification-controller.${ns}.svc.cluster.local./`);

/**
 * The reconcilers that `flux install --components-extra=source-watcher` lets
 * consume source-watcher's ExternalArtifacts, with the flag it adds.
 */
const EXTERNAL_ARTIFACT_CONSUMERS: readonly string[] = ["kustomize-controller", "helm-controller"];
const EXTERNAL_ARTIFACT_GATE = "--feature-gates=ExternalArtifact=true";

/** The flags the package adds for the lockdown, by name: the manifest must not set them either way. */
const LOCKDOWN_FLAGS: readonly string[] = lockdownArgPatches("default").map((p) => flagName(p.arg));

/**
 * The arguments a release passes to controller `name`: its own
 * deployment.yaml's, flux2's `--events-addr`, and `flux install`'s
 * spellings and its ExternalArtifact gate (with source-watcher). `--storage-adv-addr` is where kustomize-controller fetches
 * artifacts from: another address would serve it an attacker's.
 */
function releaseArgs(name: string): readonly string[] {
  return [
    "--watch-all-namespaces",
    "--watch-all-namespaces=true",
    ...LOG_LEVELS.map((level) => `--log-level=${level}`),
    "--log-encoding=json",
    "--enable-leader-election",
    ...(name === "notification-controller" ? [] : EVENTS_ADDRESSES),
    ...(STORAGE_CONTROLLERS.includes(name) ? ["--storage-path=/data", `--storage-adv-addr=${name}.$(RUNTIME_NAMESPACE).svc.cluster.local.`] : []),
    ...(EXTERNAL_ARTIFACT_CONSUMERS.includes(name) ? [EXTERNAL_ARTIFACT_GATE] : []),
  ];
}

export function deploymentProblems(o: KubeObject): string[] {
  const name = o.metadata.name;
  if (!RELEASE_CONTROLLERS.includes(name)) return [`${describe(o)} is not one of Flux's controllers`];
  const template = record(record(o.spec).template);
  const pod = record(template.spec);
  const problems: string[] = [];
  // kustomize-controller's account is cluster-admin: another controller
  // running as it would be too.
  if (pod.serviceAccountName !== name) {
    problems.push(`${describe(o)} runs as ServiceAccount ${show(pod.serviceAccountName)}; a release runs each controller as its own account, ${show(name)}`);
  }
  const containers = list(pod.containers).map(record);
  problems.push(...containerCountProblems(o, containers), ...containers.flatMap((c) => containerProblems(o, c)));
  const host = hostAccess(pod);
  if (host.length > 0) problems.push(`${describe(o)} asks for host access (${host.join(", ")}), which no Flux controller has`);
  const templateMeta = record(template.metadata);
  return [
    ...problems,
    ...volumeProblems(o, pod),
    ...exactProblems(o, "spec.template.spec.securityContext", pod.securityContext, [POD_SECURITY, undefined]),
    // The CLI pins the controllers to Linux nodes; the priority keeps them scheduled.
    ...exactProblems(o, "spec.template.spec.nodeSelector", pod.nodeSelector, [undefined, { "kubernetes.io/os": "linux" }]),
    ...exactProblems(o, "spec.template.spec.priorityClassName", pod.priorityClassName, [undefined, "system-cluster-critical"]),
    ...keyValueProblems(o, "pod label", templateMeta.labels, { ...COMMON_LABELS, app: [name] }),
    ...keyValueProblems(o, "pod annotation", templateMeta.annotations, POD_ANNOTATIONS),
  ];
}

function containerCountProblems(o: KubeObject, containers: readonly Record<string, unknown>[]): string[] {
  if (containers.length === 1 && containers[0]!.name === CONTAINER_NAME) return [];
  const runs = containers.length === 0 ? "no container" : `container${containers.length > 1 ? "s" : ""} ${containers.map((c) => show(c.name)).join(", ")}`;
  return [`${describe(o)} runs ${runs}; a release runs one, ${show(CONTAINER_NAME)}`];
}

function containerProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  const name = o.metadata.name;
  const problems: string[] = [];
  const image = new RegExp(`^ghcr\\.io/fluxcd/${name}${IMAGE_REFERENCE}$`);
  if (typeof c.image !== "string" || !image.test(c.image)) {
    problems.push(`${describe(o)} runs image ${show(c.image)} in container ${show(c.name)}; a release runs ghcr.io/fluxcd/${name}:<tag> ` +
      "(flux.registry rewrites it for a mirror)");
  }
  // Flux's images hold a shell: a command of one's own would run any code
  // with the controller's account (kustomize-controller's is cluster-admin).
  if (c.command !== undefined) problems.push(`${describe(o)} replaces the entrypoint of container ${show(c.name)}; a release runs each image's own`);
  return [...problems, ...argProblems(o, c), ...envProblems(o, c), ...securityContextProblems(o, c), ...mountProblems(o, c)];
}

function argProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  const allowed = releaseArgs(o.metadata.name);
  const inContainer = `to container ${show(c.name)}`;
  return list(c.args).flatMap((arg, i) => {
    if (typeof arg === "string" && allowed.includes(arg)) return [];
    // The controllers' flag parser (pflag) stops at "--": every flag after
    // it, the lockdown's appended ones included, would be ignored. No
    // controller takes positional arguments.
    if (arg === "--") return [`${describe(o)} ends the flags of container ${show(c.name)} with "--" (argument ${i + 1}); a release passes flags only`];
    if (typeof arg !== "string" || !arg.startsWith("--")) return [`${describe(o)} passes argument ${i + 1} ${inContainer}, which is not a flag; a release passes flags only`];
    const flag = flagName(arg);
    if (LOCKDOWN_FLAGS.includes(flag)) return [`${describe(o)} passes the lockdown flag ${show(`--${flag}`)} ${inContainer}; the package adds the lockdown flags itself`];
    if (allowed.some((a) => flagName(a) === flag)) return [`${describe(o)} passes ${show(`--${flag}`)} ${inContainer} with a value no Flux release passes`];
    return [`${describe(o)} passes ${show(`--${flag}`)} ${inContainer}, which no Flux release passes`];
  });
}

/** `no-remote-bases` for `--no-remote-bases=true`. */
function flagName(arg: string): string {
  return arg.replace(/^--?/, "").split("=")[0] ?? "";
}

function envProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  return list(c.env).map(record).flatMap((variable) => {
    const { name, ...source } = variable;
    const what = `environment variable ${show(name)} in container ${show(c.name)}`;
    if (typeof name !== "string" || !Object.hasOwn(RELEASE_ENV, name)) return [`${describe(o)} sets ${what}, which no Flux release sets`];
    return sameValue(source, RELEASE_ENV[name]) ? [] : [`${describe(o)} sets ${what} to another value than a release's`];
  });
}

function securityContextProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  const actual = record(c.securityContext);
  // `privileged: true` is reported as host access.
  const changed = [...new Set([...Object.keys(HARDENED), ...Object.keys(actual)])]
    .filter((field) => !sameValue(actual[field], HARDENED[field]) && !(field === "privileged" && actual[field] === true));
  if (changed.length === 0) return [];
  return [`${describe(o)} changes the securityContext of container ${show(c.name)} (${changed.map((f) => fieldPath("", f)).join(", ")}); ` +
    `a release runs every controller with ${HARDENED_SHOWN}`];
}

function mountProblems(o: KubeObject, c: Record<string, unknown>): string[] {
  return list(c.volumeMounts).map(record).flatMap((m) =>
    typeof m.name === "string" && Object.hasOwn(RELEASE_MOUNTS, m.name) && RELEASE_MOUNTS[m.name] === m.mountPath ? [] :
      [`${describe(o)} mounts ${show(m.name)} at ${show(m.mountPath)} in container ${show(c.name)}; a release mounts only data at /data, and tmp or temp at /tmp`]);
}

/** Volumes other than the release's scratch space; host paths are host access, other sources fields no release sets. */
function volumeProblems(o: KubeObject, pod: Record<string, unknown>): string[] {
  return list(pod.volumes).map(record).flatMap((v) => {
    if (Object.keys(v).some((field) => field !== "name" && field !== "emptyDir")) return [];
    if (typeof v.name === "string" && Object.hasOwn(RELEASE_MOUNTS, v.name) && sameValue(v.emptyDir, {})) return [];
    return [`${describe(o)} has volume ${show(v.name)}; a release's volumes are empty emptyDirs named ${Object.keys(RELEASE_MOUNTS).join(", ")}`];
  });
}

function hostAccess(pod: Record<string, unknown>): string[] {
  const flags = ["hostNetwork", "hostPID", "hostIPC"].filter((f) => pod[f] === true);
  const volumes = list(pod.volumes).map(record).filter((v) => v.hostPath !== undefined).map((v) => `hostPath volume ${show(v.name)}`);
  const containers = list(pod.containers).map(record);
  const privileged = containers.filter((c) => record(c.securityContext).privileged === true).map((c) => `privileged container ${show(c.name)}`);
  const ports = containers.flatMap((c) => list(c.ports).map(record)).filter((p) => p.hostPort !== undefined).map((p) => `hostPort ${show(p.hostPort)}`);
  return [...flags, ...volumes, ...privileged, ...ports];
}
