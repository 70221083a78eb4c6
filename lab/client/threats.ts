// The threat table: what a tenant commits to its branch to break out of its
// isolation, and how the outcome is read back from the cluster. Shared by
// e2e/isolation.test.ts (every threat, both tenancy modes) and lab/demo.ts
// (a short version). Threats are committed to dev-team's branch; ops-team is
// the neighbour it attacks.
import { Branch, FluxStatus, KS, kustomizationAt, settled, syncTo } from "./flux";
import { getObject, short } from "./lab";
import type { TenantSpec } from "./stack";

const say = (line: string) => process.stdout.write(`      ${line}\n`);

export type Mode = "capsule" | "namespace";
export const DEV = { name: "dev-team", home: "dev-team-apps" };
export const OPS = { name: "ops-team", home: "ops-team-apps" };
export const tenantsFor = (mode: Mode): TenantSpec[] => [
  { name: DEV.name, namespaces: [DEV.home], sharedRepository: true, ...(mode === "capsule" ? { namespaceQuota: 2 } : {}) },
  { name: OPS.name, namespaces: [OPS.home], sharedRepository: true },
];
export const sa = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;

// ------------------------------------------------------------------ manifests

export const yaml = (docs: Record<string, unknown>[]) => docs.map((d) => "---\n" + JSON.stringify(d, null, 2) + "\n").join("");
export const kustomization = (resources: string[]) => yaml([{ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources }]);
export const configMap = (name: string, namespace: string, data: Record<string, string> = { from: "tenant" }) =>
  ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data });
const fluxKs = (name: string, spec: Record<string, unknown>) =>
  ({ apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name, namespace: DEV.home }, spec: { interval: "5m", prune: true, path: "./payload", ...spec } });
const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
const binding = (kind: "ClusterRoleBinding" | "RoleBinding", name: string, namespace: string | undefined, role: string) => ({
  apiVersion: "rbac.authorization.k8s.io/v1", kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
  subjects: [{ kind: "ServiceAccount", name: DEV.name, namespace: DEV.home }],
});

/** What a threat commits, and how its outcome is read back. */
interface Threat {
  id: string;
  title: string;
  expected: Record<Mode, string>;
  /** Extra files committed first; `threat.yaml` is listed in kustomization.yaml with app.yaml. */
  files?: Record<string, string>;
  manifests?: Record<string, unknown>[];
  /** Replaces the resources list (default: app.yaml, threat.yaml). */
  resources?: string[];
  /** A nested Flux Kustomization whose own Ready condition carries the verdict. */
  nested?: string;
  /** Reads the outcome: observed text and whether it matches `expected`. */
  check: (mode: Mode, tenantStatus: FluxStatus, nestedStatus?: FluxStatus) => { observed: string; ok: boolean };
  /** Retries of the tenant reconcile while the outcome is not yet ok (RBAC from Capsule is asynchronous). */
  retries?: number;
}

export const exists = (kind: string, name: string, namespace?: string) => getObject(kind, name, namespace) !== undefined;

/** The tenant Kustomization failed, its message matches, and `absent` objects are not in the cluster. */
function denied(s: FluxStatus, pattern: RegExp, absent: [string, string, string?][]): { observed: string; ok: boolean } {
  const leaked = absent.filter(([k, n, nsName]) => exists(k, n, nsName)).map(([k, n, nsName]) => `${k} ${nsName ? nsName + "/" : ""}${n}`);
  const failed = s.ready?.status === "False";
  const message = s.ready?.message ?? "";
  // Show the part of a long message that carries the verdict (e.g. the remote base's "is not in or below").
  const at = message.search(pattern);
  const excerpt = at > 110 ? "..." + short(message.slice(at - 40), 190) : short(message, 150);
  const observed = `${failed ? "denied" : "NOT denied (Ready " + s.ready?.status + ")"}: ${excerpt}${leaked.length ? ` LEAKED: ${leaked.join(", ")}` : ""}`;
  return { observed, ok: failed && pattern.test(s.ready?.message ?? "") && leaked.length === 0 };
}

export function threats(remoteBase: string): Threat[] {
  return [
    {
      id: "1", title: "Kustomization without serviceAccountName",
      expected: { capsule: "runs as <ns>:default, denied", namespace: "runs as <ns>:default, denied" },
      files: { "payload/cm.yaml": yaml([configMap("nosa", DEV.home)]) },
      manifests: [fluxKs("nosa", { sourceRef: { kind: "GitRepository", name: DEV.name } })],
      nested: "nosa",
      check: (_m, _s, n) => denied(n!, new RegExp(sa(DEV.home, "default")), [["configmap", "nosa", DEV.home]]),
    },
    {
      id: "2a", title: "Kustomization with sourceRef in flux-system",
      expected: { capsule: "cross-namespace ref blocked", namespace: "cross-namespace ref blocked" },
      manifests: [fluxKs("xns-source", { serviceAccountName: DEV.name, path: "./clusters/lab", sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } })],
      nested: "xns-source",
      check: (_m, _s, n) => denied(n!, /cross-namespace/i, []),
    },
    {
      id: "2b", title: "Kustomization naming another namespace's SA (kustomize-controller)",
      expected: { capsule: "impersonates <ns>:kustomize-controller, denied", namespace: "impersonates <ns>:kustomize-controller, denied" },
      files: { "payload/cm.yaml": yaml([configMap("xns-sa", DEV.home)]) },
      manifests: [fluxKs("xns-sa", { serviceAccountName: "kustomize-controller", sourceRef: { kind: "GitRepository", name: DEV.name } })],
      nested: "xns-sa",
      check: (_m, _s, n) => denied(n!, new RegExp(sa(DEV.home, "kustomize-controller")), [["configmap", "xns-sa", DEV.home]]),
    },
    {
      id: "3", title: "remote base (git over http on loopback)",
      expected: { capsule: "rejected (--no-remote-bases)", namespace: "rejected (--no-remote-bases)" },
      resources: ["app.yaml", remoteBase],
      check: (_m, s) => denied(s, /is not in or below/, [["configmap", "remote-cm", DEV.home]]),
    },
    {
      id: "4a", title: "ConfigMap in the other tenant's namespace",
      expected: { capsule: "denied", namespace: "denied" },
      manifests: [configMap("intruder", OPS.home)],
      check: (_m, s) => denied(s, /forbidden/i, [["configmap", "intruder", OPS.home]]),
    },
    {
      id: "4b", title: "ConfigMap in flux-system",
      expected: { capsule: "denied", namespace: "denied" },
      manifests: [configMap("intruder", "flux-system")],
      check: (_m, s) => denied(s, /forbidden/i, [["configmap", "intruder", "flux-system"]]),
    },
    {
      id: "4c", title: "ConfigMap in kube-system",
      expected: { capsule: "denied", namespace: "denied" },
      manifests: [configMap("intruder", "kube-system")],
      check: (_m, s) => denied(s, /forbidden/i, [["configmap", "intruder", "kube-system"]]),
    },
    {
      id: "4d", title: "ClusterRole (cluster-scoped RBAC)",
      expected: { capsule: "denied", namespace: "denied" },
      manifests: [{ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "dev-team-everything" }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] }],
      check: (_m, s) => denied(s, /forbidden/i, [["clusterrole", "dev-team-everything"]]),
    },
    {
      id: "5a", title: "ClusterRoleBinding of cluster-admin to itself",
      expected: { capsule: "denied", namespace: "denied" },
      manifests: [binding("ClusterRoleBinding", "dev-team-cluster-admin", undefined, "cluster-admin")],
      check: (_m, s) => denied(s, /forbidden/i, [["clusterrolebinding", "dev-team-cluster-admin"]]),
    },
    {
      id: "5b", title: "RoleBinding (admin) in the other tenant's namespace",
      expected: { capsule: "denied", namespace: "denied" },
      manifests: [binding("RoleBinding", "dev-team-admin", OPS.home, "admin")],
      check: (_m, s) => denied(s, /forbidden/i, [["rolebinding", "dev-team-admin", OPS.home]]),
    },
    {
      id: "5c", title: "RoleBinding of cluster-admin in its own namespace",
      expected: { capsule: "denied (escalation)", namespace: "denied (escalation)" },
      manifests: [binding("RoleBinding", "dev-team-cluster-admin", DEV.home, "cluster-admin")],
      check: (_m, s) => denied(s, /forbidden|escalat/i, [["rolebinding", "dev-team-cluster-admin", DEV.home]]),
    },
    {
      id: "6a", title: "label the other tenant's namespace (takeover)",
      expected: { capsule: "denied", namespace: "denied" },
      manifests: [ns(OPS.home, { "capsule.clastix.io/tenant": DEV.name, "takeover": DEV.name })],
      check: (_m, s) => {
        const labels = (getObject<{ metadata: { labels?: Record<string, string> } }>("namespace", OPS.home)?.metadata.labels) ?? {};
        const r = denied(s, /forbidden|denied/i, []);
        const untouched = labels.takeover === undefined && labels["capsule.clastix.io/tenant"] !== DEV.name;
        return { observed: r.observed + (untouched ? "" : ` LABELS CHANGED: ${JSON.stringify(labels)}`), ok: r.ok && untouched };
      },
    },
    {
      id: "6b", title: "label kube-system",
      expected: { capsule: "denied", namespace: "denied" },
      manifests: [ns("kube-system", { "takeover": DEV.name })],
      check: (_m, s) => {
        const labels = (getObject<{ metadata: { labels?: Record<string, string> } }>("namespace", "kube-system")?.metadata.labels) ?? {};
        const r = denied(s, /forbidden|denied/i, []);
        return { observed: r.observed + (labels.takeover ? " LABEL ADDED" : ""), ok: r.ok && labels.takeover === undefined };
      },
    },
    {
      id: "7a", title: "new namespace dev-team-extra (+ a ConfigMap in it)",
      expected: { capsule: "created, owned by Tenant dev-team", namespace: "denied: tenants cannot create namespaces" },
      manifests: [ns("dev-team-extra"), configMap("app", "dev-team-extra")],
      retries: 4,
      check: (mode, s) => {
        if (mode === "namespace") return denied(s, /forbidden/i, [["namespace", "dev-team-extra"]]);
        const n = getObject<{ metadata: { ownerReferences?: { kind: string; name: string }[] } }>("namespace", "dev-team-extra");
        const owners = (n?.metadata.ownerReferences ?? []).map((o) => `${o.kind}/${o.name}`);
        const cm = exists("configmap", "app", "dev-team-extra");
        const ok = s.ready?.status === "True" && owners.includes(`Tenant/${DEV.name}`) && cm;
        return { ok, observed: ok ? `created; ownerReferences ${owners.join(",")}; ConfigMap applied` : `Ready ${s.ready?.status}: ${short(s.ready?.message)}; owners [${owners.join(",")}]; configmap ${cm}` };
      },
    },
    {
      id: "7b", title: "a second new namespace (past quota 2)",
      expected: { capsule: "denied: namespace quota", namespace: "denied: tenants cannot create namespaces" },
      manifests: [ns("dev-team-extra"), configMap("app", "dev-team-extra"), ns("dev-team-extra2")],
      check: (mode, s) => mode === "namespace"
        ? denied(s, /forbidden/i, [["namespace", "dev-team-extra2"]])
        : denied(s, /quota/i, [["namespace", "dev-team-extra2"]]),
    },
  ];
}

/** One row of the printed table: each run* function returns its row, the caller keeps the table. */
export interface Row { mode: Mode; id: string; title: string; expected: string; observed: string; ok: boolean }

/** Prints a threat table (nothing when it is empty). */
export function printTable(rows: readonly Row[]): void {
  if (rows.length === 0) return;
  say("");
  say("threat | expected | observed");
  for (const r of rows) say(`[${r.mode}] ${r.id} ${r.title} | ${r.expected} | ${r.ok ? "" : "UNEXPECTED: "}${r.observed}`);
}

export async function seedBranch(b: Branch, home: string): Promise<string> {
  await b.put("app.yaml", yaml([configMap("app", home, { version: "1" })]));
  return b.put("kustomization.yaml", kustomization(["app.yaml"]));
}

/** Commits a threat to dev-team's branch, reconciles and returns the outcome as a row. */
export async function runThreat(dev: Branch, mode: Mode, t: Threat): Promise<Row> {
  try {
    return await commitThreat(dev, mode, t);
  } catch (e) {
    // A threat that cannot be observed is a failed row, not the end of the table.
    const row: Row = { mode, id: t.id, title: t.title, expected: t.expected[mode], observed: `ERROR: ${short((e as Error).message, 300)}`, ok: false };
    say(`FAIL [${mode}] ${t.id} ${t.title}: ${row.observed}`);
    return row;
  }
}

async function commitThreat(dev: Branch, mode: Mode, t: Threat): Promise<Row> {
  for (const [f, body] of Object.entries(t.files ?? {})) await dev.put(f, body, `threat ${t.id}: ${f}`);
  if (t.manifests) await dev.put("threat.yaml", yaml(t.manifests), `threat ${t.id}`);
  const sha = await dev.put("kustomization.yaml", kustomization(t.resources ?? ["app.yaml", "threat.yaml"]), `threat ${t.id}: ${t.title}`);
  let status = await syncTo(DEV.home, DEV.name, DEV.name, sha);
  let nested: FluxStatus | undefined;
  if (t.nested) nested = await settled(KS, t.nested, DEV.home);
  let result = t.check(mode, status, nested);
  for (let i = 0; !result.ok && i < (t.retries ?? 0); i++) {
    await new Promise((r) => setTimeout(r, 2000));
    status = await kustomizationAt(DEV.home, DEV.name, sha);
    result = t.check(mode, status, nested);
  }
  const legit = getObject<{ data: Record<string, string> }>("configmap", "app", DEV.home);
  const legitOk = legit !== undefined;
  const row: Row = {
    mode, id: t.id, title: t.title, expected: t.expected[mode],
    observed: result.observed + (legitOk ? "" : " (dev-team's own ConfigMap app MISSING)"), ok: result.ok && legitOk,
  };
  say(`${row.ok ? "ok  " : "FAIL"} [${mode}] ${t.id} ${t.title}: ${row.observed}`);
  return row;
}

/** Threat 8: with dev-team failing, ops-team's commit is applied. */
export async function runIsolationOfFailures(dev: Branch, ops: Branch, mode: Mode): Promise<Row> {
  const devBefore = await settled(KS, DEV.name, DEV.home);
  const sha = await ops.put("app.yaml", yaml([configMap("app", OPS.home, { version: `from-${mode}-8` })]), "ops-team: legit update");
  const s = await syncTo(OPS.home, OPS.name, OPS.name, sha);
  const cm = getObject<{ data: Record<string, string> }>("configmap", "app", OPS.home);
  const platform = await settled(KS, "flux-system", "flux-system");
  const ok = devBefore.ready?.status === "False" && s.ready?.status === "True" && cm?.data.version === `from-${mode}-8` && platform.ready?.status === "True";
  const row: Row = {
    mode, id: "8", title: "one tenant's bad manifest vs another tenant's sync", expected: "ops-team applied, flux-system Ready",
    observed: `dev-team Ready ${devBefore.ready?.status}; ops-team Ready ${s.ready?.status}, app.version=${cm?.data.version}; flux-system Ready ${platform.ready?.status}`,
    ok,
  };
  say(`${ok ? "ok  " : "FAIL"} [${mode}] 8 ${row.observed}`);
  return row;
}

/** Resets dev-team's branch to its own objects; Flux prunes what the threats left. */
export async function resetDev(dev: Branch): Promise<FluxStatus> {
  await dev.put("app.yaml", yaml([configMap("app", DEV.home, { version: "1" })]));
  const sha = await dev.put("kustomization.yaml", kustomization(["app.yaml"]), "reset");
  return syncTo(DEV.home, DEV.name, DEV.name, sha);
}

