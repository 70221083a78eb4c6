import { DEFAULT_SSH_HOST, DEFAULT_TENANT_PATH, defaultTenantBranch } from "../defaults";
import { CAPSULE_API, EnumValue, KubeObject, sshRepoUrl } from "../shared";
import { kustomizationPath } from "../validation";

/** How tenants are isolated: per tenant by Capsule, or per namespace by Flux and RBAC alone. */
export const TenancyMode = { Capsule: "capsule", Namespace: "namespace" } as const;
/** How tenants are isolated. */
export type TenancyMode = EnumValue<typeof TenancyMode>;
/** The tenancy modes, for validation. */
export const TENANCY_MODES: readonly TenancyMode[] = Object.values(TenancyMode);

/** The ClusterRole tenant reconcilers get in their namespaces: full control of a namespace, no cluster rights. */
export const TENANT_ROLE = "admin";

/** Label Flux's `flux create tenant` puts on a tenant's namespaces. */
const FLUX_TENANT_LABEL = "toolkit.fluxcd.io/tenant";

/** Label Capsule uses to name a namespace's tenant. */
export const CAPSULE_TENANT_LABEL = "capsule.clastix.io/tenant";

/** `namespaceQuota` that lets a tenant create as many namespaces as it likes (capsule mode, explicit only). */
export const UNLIMITED = "unlimited";

/**
 * The namespace quota a Capsule Tenant gets: the one asked for, none for
 * {@link UNLIMITED}, and otherwise exactly the namespaces listed, so creating
 * namespaces is a grant rather than a default.
 */
export function namespaceQuotaOf(quota: number | typeof UNLIMITED | undefined, listed: number): number | undefined {
  if (quota === UNLIMITED) return undefined;
  return quota ?? listed;
}

/** The object names derived from a tenant name; each must be a DNS-1123 label. */
export interface TenantNames {
  /** The reconciler ServiceAccount Flux impersonates, in every tenant namespace. */
  readonly serviceAccount: string;
  /** RoleBinding granting the reconciler {@link TENANT_ROLE} (namespace mode). */
  readonly roleBinding: string;
  /** Secret with the tenant's deploy key, in the home namespace. */
  readonly secret: string;
  /** GitRepository and Kustomization of the tenant, in the home namespace. */
  readonly sync: string;
}

/** The names of a tenant's objects. */
export function tenantNames(tenant: string): TenantNames {
  return {
    serviceAccount: tenant,
    roleBinding: `${tenant}-reconciler`,
    secret: `${tenant}-deploy-key`,
    sync: tenant,
  };
}

/** `system:serviceaccount:<ns>:<name>`: how Kubernetes and Capsule name a ServiceAccount user. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** What a tenant reconciles: its repository, branch and path. */
interface TenantSource {
  /** SSH URL of the tenant's repository. */
  readonly url: string;
  /** Branch to reconcile. */
  readonly branch: string;
  /** Path inside the repository. */
  readonly path: string;
}

/**
 * What a tenant's Kustomization does with what it applied when it is itself
 * deleted: keeps it. Everything a tenant applies lives in its namespaces,
 * which go when the tenant goes, so pruning adds nothing there; and when a
 * rename replaces the Kustomization, the old one's finalizer would prune as
 * the old reconciler, whose rights went with its namespaces' move (Flux
 * retries forever: "forbidden"), after the new one has taken the objects over.
 */
export const TENANT_SYNC_DELETION_POLICY = "Orphan";

/**
 * The tenant's GitRepository and Kustomization, both in its home namespace:
 * the Kustomization names the source in its own namespace and impersonates the
 * tenant's reconciler, so the lockdown and RBAC (or Capsule) bound everything
 * the tenant's repository can do.
 */
export function tenantSyncObjects(tenant: string, home: string, source: TenantSource): [KubeObject, KubeObject] {
  const names = tenantNames(tenant);
  return [
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: names.sync, namespace: home },
      spec: {
        interval: "1m0s",
        ref: { branch: source.branch },
        secretRef: { name: names.secret },
        url: source.url,
      },
    },
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: names.sync, namespace: home },
      spec: {
        interval: "5m0s",
        path: kustomizationPath(source.path),
        prune: true,
        deletionPolicy: TENANT_SYNC_DELETION_POLICY,
        serviceAccountName: names.serviceAccount,
        sourceRef: { kind: "GitRepository", name: names.sync },
      },
    },
  ];
}

/**
 * A Capsule Tenant owned by the tenant's reconciler ServiceAccount. Owners
 * get `admin` (never cluster-admin) and Capsule's namespace deleter role in
 * every namespace of the tenant; `namespaceQuota` (from {@link namespaceQuotaOf})
 * caps how many it may have, none when undefined.
 */
export function capsuleTenantObject(tenant: string, home: string, namespaceQuota?: number): KubeObject {
  const spec: Record<string, unknown> = {
    owners: [
      {
        kind: "ServiceAccount",
        name: serviceAccountUser(home, tenantNames(tenant).serviceAccount),
        clusterRoles: [TENANT_ROLE, "capsule-namespace-deleter"],
      },
    ],
  };
  if (namespaceQuota !== undefined) spec.namespaceOptions = { quota: namespaceQuota };
  return { apiVersion: CAPSULE_API, kind: "Tenant", metadata: { name: tenant }, spec };
}

/**
 * How long a switch to namespace mode waits for Capsule to let go of a
 * tenant's namespaces before the up fails (and deletes nothing).
 */
export const CAPSULE_RELEASE_TIMEOUT_SECONDS = 180;

/**
 * The patch that ends a tenant's capsule mode safely: applied to its Capsule
 * Tenant once the tenant's namespaces have dropped the label (and with it the
 * ownerReference Capsule's webhook added under Pulumi's field manager), it
 * makes the Kubernetes provider wait until Capsule's status counts no
 * namespace (`status.size` 0). Only then may the Tenant be deleted: Capsule
 * deletes every namespace its status still lists when its Tenant goes.
 * Pulumi deletes what left the program after every create and update, so
 * the wait comes first.
 */
export function capsuleReleaseObject(tenant: string): KubeObject {
  return {
    apiVersion: CAPSULE_API,
    kind: "Tenant",
    metadata: {
      name: tenant,
      annotations: {
        "pulumi.com/waitFor": "jsonpath={.status.size}=0",
        "pulumi.com/timeoutSeconds": String(CAPSULE_RELEASE_TIMEOUT_SECONDS),
      },
    },
  };
}

/**
 * Namespace-mode RoleBinding in `namespace`: the home reconciler (which runs
 * the tenant's Kustomization) and the namespace's own reconciler (for tenant
 * Flux objects living there) get {@link TENANT_ROLE}.
 */
export function reconcilerRoleBinding(tenant: string, home: string, namespace: string): KubeObject {
  const names = tenantNames(tenant);
  const subjects = [home, namespace]
    .filter((ns, i, all) => all.indexOf(ns) === i)
    .map((ns) => ({ kind: "ServiceAccount", name: names.serviceAccount, namespace: ns }));
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: names.roleBinding, namespace, labels: { [FLUX_TENANT_LABEL]: tenant } },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: TENANT_ROLE },
    subjects,
  };
}

/** Everything {@link renderTenant} needs: a tenant's plain fields, which {@link TenantArgs} holds too. */
export interface TenantRenderInput {
  /** Tenant name (DNS-1123 label, at most 52 characters): it names the reconciler and the tenant's objects. */
  readonly name: string;
  /** Isolation: `capsule` (per tenant, needs Capsule) or `namespace` (per namespace, Flux + RBAC only). */
  readonly mode: TenancyMode;
  /** Namespaces the tenant starts with; at least one. The first is its home: reconciler, key and sync objects live there. */
  readonly namespaces: readonly string[];
  /** GitHub owner of the tenant's repository. */
  readonly owner: string;
  /** Tenant repository name under `owner`; it gets the tenant's own read-only deploy key. */
  readonly repository: string;
  /** Branch to reconcile. Default: the tenant name. */
  readonly branch?: string;
  /** Path in the repository. Default `./`. */
  readonly path?: string;
  /** SSH host (and `:port`) of the Git server. Default `github.com`. */
  readonly sshHost?: string;
  /**
   * Most namespaces the tenant may own (capsule mode): at least the namespaces
   * listed, or `"unlimited"`. Default: exactly the namespaces listed, so a
   * tenant creates namespaces of its own only when granted.
   */
  readonly namespaceQuota?: number | typeof UNLIMITED;
  /**
   * A Capsule Tenant the stack's last update left that owns this tenant's
   * namespaces and goes in this update: the tenant's own when leaving capsule
   * mode, or the one of its former name in a rename. The namespaces are
   * released first and the Tenant's status must count none before it is
   * deleted ({@link capsuleReleaseObject}). Default none. The stack program
   * sets it from its last update's outputs.
   */
  readonly releaseCapsuleTenant?: string;
}

/** A rendered tenant: the objects {@link Tenant} registers, as plain data. */
export interface TenantRender {
  /** Names of the tenant's objects. */
  readonly names: TenantNames;
  /** The home namespace: reconciler (capsule mode), deploy key Secret and sync objects live there. */
  readonly home: string;
  /** The reconciler as a Kubernetes user name, `system:serviceaccount:<home>:<name>`. */
  readonly reconciler: string;
  /** Capsule mode: the Capsule Tenant owning the namespaces. */
  readonly capsuleTenant?: KubeObject;
  /** The tenant's namespaces, labelled as the tenant's (for Capsule too, in capsule mode). */
  readonly namespaces: readonly KubeObject[];
  /** The reconciler's ServiceAccounts: in the home namespace (capsule mode) or in each (namespace mode). */
  readonly serviceAccounts: readonly KubeObject[];
  /** Namespace mode: the RoleBinding giving the reconcilers {@link TENANT_ROLE} in each namespace. */
  readonly roleBindings: readonly KubeObject[];
  /** The tenant's GitRepository and Kustomization, in its home namespace. */
  readonly sync: readonly [KubeObject, KubeObject];
  /** Leaving capsule mode: the patch that waits for the old Capsule Tenant to let go ({@link capsuleReleaseObject}). */
  readonly capsuleRelease?: KubeObject;
}

/**
 * Turns a tenant's fields into the objects that isolate and reconcile it.
 * Pure: {@link Tenant} only wires the result to resources, so every decision
 * (labels, where the reconciler lives, its rights, the quota, the sync
 * source) is covered by plain unit tests.
 */
export function renderTenant(input: TenantRenderInput): TenantRender {
  const tenant = input.name;
  const names = tenantNames(tenant);
  const home = input.namespaces[0]!;
  const capsule = input.mode === "capsule";
  const tenantLabel = { [FLUX_TENANT_LABEL]: tenant };
  // Capsule mode: the label places each namespace in the Capsule Tenant.
  const namespaceLabels = capsule ? { ...tenantLabel, [CAPSULE_TENANT_LABEL]: tenant } : tenantLabel;
  // The reconciler lives in the home namespace (capsule mode: the tenant
  // owner) or in every namespace (namespace mode, as `flux create tenant`),
  // so tenant Flux objects anywhere can name a local account.
  const accountNamespaces = capsule ? [home] : input.namespaces;
  return {
    names,
    home,
    reconciler: serviceAccountUser(home, names.serviceAccount),
    capsuleTenant: capsule ? capsuleTenantObject(tenant, home, namespaceQuotaOf(input.namespaceQuota, input.namespaces.length)) : undefined,
    namespaces: input.namespaces.map((ns) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { ...namespaceLabels } } })),
    serviceAccounts: accountNamespaces.map((ns) => ({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: names.serviceAccount, namespace: ns, labels: { ...tenantLabel } },
    })),
    roleBindings: capsule ? [] : input.namespaces.map((ns) => reconcilerRoleBinding(tenant, home, ns)),
    sync: tenantSyncObjects(tenant, home, {
      url: sshRepoUrl(input.sshHost ?? DEFAULT_SSH_HOST, input.owner, input.repository),
      branch: input.branch ?? defaultTenantBranch(tenant),
      path: input.path ?? DEFAULT_TENANT_PATH,
    }),
    capsuleRelease: input.releaseCapsuleTenant !== undefined && (!capsule || input.releaseCapsuleTenant !== tenant)
      ? capsuleReleaseObject(input.releaseCapsuleTenant)
      : undefined,
  };
}
