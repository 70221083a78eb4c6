/** The release rules of the small kinds: the Namespace, CRDs, accounts, Services, policies. */
import { KubeObject } from "../../shared";
import { FLUX_NAMESPACE } from "../../validation";
import { describe, exactProblems, list, record, sameValue, show } from "./fields";
import { CLI_SUFFIX, FLUX_API_GROUP, FLUX_API_GROUPS_SHOWN, RELEASE_CONTROLLERS } from "./names";

// ---------------------------------------------------------------------------
// Namespace, CRDs, accounts, Services, policies.

export function namespaceProblems(o: KubeObject): string[] {
  return o.metadata.name === FLUX_NAMESPACE ? [] : [`${describe(o)} is not the ${FLUX_NAMESPACE} namespace a release creates`];
}

export function crdProblems(o: KubeObject): string[] {
  const spec = record(o.spec);
  const group = spec.group;
  if (typeof group !== "string" || !FLUX_API_GROUP.test(group)) {
    return [`${describe(o)} defines API group ${show(group)}, which is not Flux's (${FLUX_API_GROUPS_SHOWN})`];
  }
  // A conversion webhook sees, and may rewrite, every object of the kind.
  const strategy = record(spec.conversion).strategy;
  if (strategy !== undefined && strategy !== "None") {
    return [`${describe(o)} converts its objects with strategy ${show(strategy)}; Flux's CRDs use none`];
  }
  return [];
}

export function accountProblems(o: KubeObject): string[] {
  return RELEASE_CONTROLLERS.includes(o.metadata.name) ? [] : [`${describe(o)} is not one of Flux's accounts`];
}

/** Flux's Services, each with the controller (`app` label) it selects. */
const SERVICE_SELECTS: Readonly<Record<string, string>> = {
  "source-controller": "source-controller",
  "notification-controller": "notification-controller",
  "webhook-receiver": "notification-controller",
  "source-watcher": "source-watcher",
};

export function serviceProblems(o: KubeObject): string[] {
  const app = SERVICE_SELECTS[o.metadata.name];
  if (app === undefined) return [`${describe(o)} is not one of Flux's Services (${Object.keys(SERVICE_SELECTS).join(", ")})`];
  const spec = record(o.spec);
  // Any other type, or external IPs, would expose a controller (source-controller
  // serves every tenant's artifacts) outside the cluster.
  if (spec.type !== undefined && spec.type !== "ClusterIP") return [`${describe(o)} is of type ${show(spec.type)}; Flux's Services are ClusterIP`];
  if (list(spec.externalIPs).length > 0) return [`${describe(o)} sets externalIPs; Flux's Services have none`];
  // Another selector would route a controller's traffic (artifacts, webhooks) to other pods.
  return exactProblems(o, "spec.selector", spec.selector, [{ app }]);
}

/** The NetworkPolicies a release ships, with each spec it has had (allow-webhooks gained its port in v2.9.4). */
const NETWORK_POLICIES: Readonly<Record<string, readonly unknown[]>> = {
  "allow-egress": [{ policyTypes: ["Ingress", "Egress"], ingress: [{ from: [{ podSelector: {} }] }], egress: [{}], podSelector: {} }],
  "allow-scraping": [{ policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 8080 }] }], podSelector: {} }],
  "allow-webhooks": [
    { policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: {} }] }], podSelector: { matchLabels: { app: "notification-controller" } } },
    {
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 9292 }] }],
      podSelector: { matchLabels: { app: "notification-controller" } },
    },
  ],
};

/** The quota a release ships: room for its system-critical pods. */
const RESOURCE_QUOTAS: Readonly<Record<string, readonly unknown[]>> = {
  "critical-pods": [{
    hard: { pods: "1000" },
    scopeSelector: { matchExpressions: [{ operator: "In", scopeName: "PriorityClass", values: ["system-node-critical", "system-cluster-critical"] }] },
  }],
};

// A policy of one's own could open source-controller's artifacts (every
// tenant's sources) or the controllers' ports to any namespace.
export function networkPolicyProblems(o: KubeObject): string[] {
  return specProblems(o, "NetworkPolicies", NETWORK_POLICIES);
}

// `flux install` suffixes its quota too: it ships in the RBAC bundle
// (manifests/rbac), to which the CLI gives `nameSuffix: -flux-system`.
export function quotaProblems(o: KubeObject): string[] {
  return specProblems(o, "ResourceQuotas", RESOURCE_QUOTAS, true);
}

function specProblems(o: KubeObject, kinds: string, specs: Readonly<Record<string, readonly unknown[]>>, cliSuffix = false): string[] {
  const name = cliSuffix && o.metadata.name.endsWith(CLI_SUFFIX) ? o.metadata.name.slice(0, -CLI_SUFFIX.length) : o.metadata.name;
  const known = Object.hasOwn(specs, name) ? specs[name] : undefined;
  if (known === undefined) return [`${describe(o)} is not one of Flux's ${kinds} (${Object.keys(specs).join(", ")})`];
  return known.some((spec) => sameValue(spec, o.spec)) ? [] : [`${describe(o)} has another spec than the one a release ships`];
}
