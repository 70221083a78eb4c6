import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CAPSULE_CHART_VERSION, DEFAULT_CAPSULE_ADMINISTRATORS } from "../defaults";
import { forceApply } from "../kube";
import { CAPSULE_API, EnumValue } from "../shared";
import { assertValidArgs, CAPSULE_NAMESPACE, CONTROL_CHARACTER, FieldProblem, Problems, quote, semverProblem } from "../validation";

/** Capsule's published Helm repository. */
export const CAPSULE_CHART_REPO = "https://projectcapsule.github.io/charts";

/** The Helm release's name, so the chart's objects carry Capsule's usual names (`capsule-controller-manager`, `capsule-tls`). */
const CAPSULE_RELEASE_NAME = "capsule";

/** The group Capsule treats as its users out of the box; kept so human tenant owners keep working. */
const CAPSULE_DEFAULT_GROUP = "capsule.clastix.io";

/** The kinds of identity Capsule names as owners and administrators (a ServiceAccount as `system:serviceaccount:<namespace>:<name>`). */
export const CapsuleUserKind = { User: "User", Group: "Group", ServiceAccount: "ServiceAccount" } as const;
/** A kind of identity Capsule names. */
export type CapsuleUserKind = EnumValue<typeof CapsuleUserKind>;

/** A Capsule user entry of `CapsuleConfiguration.spec.users`. */
export interface CapsuleUser {
  readonly kind: CapsuleUserKind;
  readonly name: string;
}

/**
 * The users Capsule must treat as tenant owners: its default group plus each
 * tenant reconciler, listed one by one rather than by namespace group, so no
 * other account in a tenant namespace (e.g. `default`) becomes a Capsule user.
 */
export function capsuleUsers(reconcilers: readonly string[]): CapsuleUser[] {
  const sorted = [...new Set(reconcilers)].sort();
  return [{ kind: "Group", name: CAPSULE_DEFAULT_GROUP }, ...sorted.map((name) => ({ kind: "ServiceAccount" as const, name }))];
}

/** Arguments of {@link Capsule}. */
export interface CapsuleArgs {
  /** Install Capsule with its Helm chart. Default false: Capsule is already there. */
  readonly install?: boolean;
  /** Chart version when installing. Default {@link CAPSULE_CHART_VERSION}. */
  readonly version?: string;
  /** Local chart directory or archive to install instead of the published chart (air-gapped clusters). */
  readonly chart?: string;
  /** Extra chart values, merged over ours as Helm merges values files (objects key by key, lists replaced). */
  readonly values?: Record<string, unknown>;
  /** Tenant reconcilers (`system:serviceaccount:<ns>:<name>`), e.g. `Tenant.reconciler` of each tenant. */
  readonly reconcilers: readonly string[];
  /**
   * The identities Pulumi applies with (the kubeconfig's user or groups),
   * made Capsule administrators: Capsule only lets tenant owners and
   * administrators place a namespace in a tenant. Default
   * {@link DEFAULT_CAPSULE_ADMINISTRATORS}.
   */
  readonly administrators?: readonly CapsuleUser[];
}

/**
 * Every problem with Capsule's arguments, by field; the stack config runs the
 * same checks. Administrators are identities with power over every tenant,
 * so each must be a plain name; reconcilers must be ServiceAccount users.
 */
export function capsuleProblems(args: Pick<CapsuleArgs, "version" | "administrators" | "chart"> & { reconcilers?: readonly string[] }): FieldProblem[] {
  const p = new Problems()
    .check("version", args.version, semverProblem)
    .check("chart", args.chart, (c) => CONTROL_CHARACTER.test(c) ? "must not contain control characters" : undefined);
  const bad = (args.reconcilers ?? []).filter((r) => !/^system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+$/.test(r));
  if (bad.length > 0) p.add("reconcilers", `must be system:serviceaccount:<namespace>:<name>, got ${bad.map(quote).join(", ")}`);
  if (args.administrators !== undefined && args.administrators.length === 0) {
    p.add("administrators", "must name the identity Pulumi applies with, or tenant namespaces cannot be created");
  }
  (args.administrators ?? []).forEach((a, i) => {
    if (!["User", "Group", "ServiceAccount"].includes(a.kind)) p.add(`administrators[${i}].kind`, `${quote(a.kind)} is not one of User, Group, ServiceAccount`);
    p.text(`administrators[${i}].name`, a.name, (n) => administratorProblem(n, args.reconcilers ?? []), true);
  });
  return p.list;
}

/** Groups every account (or every caller) belongs to: as Capsule administrators they would let anyone place namespaces in any tenant. */
const EVERYONE_GROUPS = ["system:authenticated", "system:unauthenticated", "system:serviceaccounts"];

function administratorProblem(name: string, reconcilers: readonly string[]): string | undefined {
  if (name.trim() === "" || CONTROL_CHARACTER.test(name)) return "must be a non-empty name without control characters";
  if (EVERYONE_GROUPS.includes(name) || name.startsWith("system:serviceaccounts:")) {
    return `${quote(name)} names every account (of a namespace), and Capsule administrators can place namespaces in any tenant; name the identity Pulumi applies with`;
  }
  if (reconcilers.includes(name)) return `${quote(name)} is a tenant's reconciler; a tenant must not administer other tenants`;
  return undefined;
}

/** Chart values `over` merged into `base` as Helm merges values files: objects key by key, anything else (lists included) replaced. */
export function mergeValues(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? mergeValues(out[k], v) : v;
  return out;
}

/** What both of Capsule's releases share: the chart, where it installs, and the values (ours, then the caller's). */
function chartRelease(args: CapsuleArgs, users: readonly CapsuleUser[], administrators: readonly CapsuleUser[]) {
  return {
    chart: args.chart ?? "capsule",
    version: args.chart ? undefined : (args.version ?? CAPSULE_CHART_VERSION),
    repositoryOpts: args.chart ? undefined : { repo: CAPSULE_CHART_REPO },
    namespace: CAPSULE_NAMESPACE,
    createNamespace: true,
    // cert-manager is not assumed: the chart's own TLS controller makes the webhook certificates.
    values: mergeValues({
      certManager: { generateCertificates: false },
      tls: { create: true, enableController: true },
      manager: { options: { users, administrators } },
    }, args.values ?? {}),
  };
}

/**
 * Capsule for the platform: optionally installed from its chart, and the one
 * cluster-wide `CapsuleConfiguration` admitting every tenant reconciler as a
 * Capsule user and the platform's own identity as an administrator. The configuration is applied as a server-side-apply patch
 * owning only `spec.users` and `spec.administrators`, so it coexists with the chart's other settings and
 * `pulumi destroy` gives the fields back instead of deleting Capsule's config.
 */
export class Capsule extends pulumi.ComponentResource {
  /** The Helm release of Capsule itself, when installed (its CRDs and configuration are a release of their own, installed first). */
  public readonly release?: k8s.helm.v3.Release;
  /** The users admitted. */
  public readonly users: readonly CapsuleUser[];
  /** The administrators (the platform's own identities). */
  public readonly administrators: readonly CapsuleUser[];

  constructor(name: string, args: CapsuleArgs, opts?: pulumi.ComponentResourceOptions) {
    assertValidArgs("Capsule", name, capsuleProblems(args));
    super("flux-capsule:index:Capsule", name, {}, opts);
    this.users = capsuleUsers(args.reconcilers);
    this.administrators = args.administrators ?? DEFAULT_CAPSULE_ADMINISTRATORS;

    // Installed from the chart as two releases of it, so Capsule's
    // configuration exists before Capsule starts and goes after it stops:
    // a Capsule that finds none writes a default one at once, which fails a
    // one-release install ("already exists": the lab's runner started Capsule
    // before Helm reached the configuration) and hangs its uninstall (Helm
    // waits for the configuration Capsule keeps writing back). The
    // configuration also owns Capsule's webhooks, which refuse every namespace
    // change once Capsule is gone; deleted last, it takes them along.
    const chart = args.install ? chartRelease(args, this.users, this.administrators) : undefined;
    // The CRDs and the configuration only (the chart's crds.exclusive with
    // createConfig), its objects named as the main release names them.
    const configuration = chart && new k8s.helm.v3.Release(`${name}-configuration-chart`, {
      ...chart,
      name: `${CAPSULE_RELEASE_NAME}-configuration`,
      values: mergeValues(chart.values, { fullnameOverride: CAPSULE_RELEASE_NAME, crds: { exclusive: true, createConfig: true } }),
    }, { parent: this });

    const patch = new k8s.apiextensions.CustomResourcePatch(
      `${name}-configuration`,
      {
        apiVersion: CAPSULE_API,
        kind: "CapsuleConfiguration",
        // The chart (or an operator) may own the list too; the platform's view of
        // who is a tenant owner wins.
        metadata: forceApply({ name: "default" }),
        spec: { users: this.users, administrators: this.administrators },
      },
      { parent: this, dependsOn: configuration ? [configuration] : [] },
    );

    // Everything else (Capsule itself), once its configuration is complete;
    // the CRDs are the configuration release's.
    this.release = chart && new k8s.helm.v3.Release(`${name}-chart`, {
      ...chart,
      name: CAPSULE_RELEASE_NAME,
      values: mergeValues(chart.values, { crds: { install: false }, manager: { options: { createConfiguration: false } } }),
    }, { parent: this, dependsOn: [configuration!, patch] });
    this.registerOutputs({ users: this.users, administrators: this.administrators });
  }
}
