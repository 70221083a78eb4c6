import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DeployKey } from "../deploy-key/deploy-key";
import { DEFAULT_SSH_HOST, DEFAULT_TENANT_PATH } from "../defaults";
import { forceApply, kubeResource } from "../kube";
import { GitHubWriteQueue, KeyAlgorithm, sshRepoUrl } from "../shared";
import { assertValidArgs } from "../validation";
import {
  CAPSULE_TENANT_LABEL,
  capsuleTenantObject,
  FLUX_TENANT_LABEL,
  namespaceQuotaOf,
  reconcilerRoleBinding,
  serviceAccountUser,
  TenancyMode,
  TenantNames,
  tenantNames,
  tenantSyncObjects,
  UNLIMITED,
} from "./render";
import { tenantProblems } from "./validate";

/** Arguments of {@link Tenant}. */
export interface TenantArgs {
  /** Tenant name (DNS-1123 label, at most 52 characters). Default: the resource name. */
  readonly tenantName?: string;
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
  /**
   * Most namespaces the tenant may own (capsule mode): at least the namespaces
   * listed, or `"unlimited"`. Default: exactly the namespaces listed, so a
   * tenant creates namespaces of its own only when granted.
   */
  readonly namespaceQuota?: number | typeof UNLIMITED;
  /** Namespaces the cluster keeps for its own add-ons, refused like `kube-*` and the platform's. Default none. */
  readonly reservedNamespaces?: readonly string[];
  /** The lockdown's default account (`FluxBootstrapArgs.defaultServiceAccount`); the tenant may not be named like it. Default `default`. */
  readonly defaultServiceAccount?: string;
  /** Deploy key algorithm. Default `ecdsa-p384`. */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** SSH host (and `:port`) of the Git server. Default `github.com`. */
  readonly sshHost?: string;
  /** `known_hosts` for the Git host. Default: GitHub's published host keys. */
  readonly knownHosts?: string;
  /** Deploy key title. Default `tenant <name> <project>/<stack>`. */
  readonly deployKeyTitle?: string;
  /**
   * What the tenant's Flux and Capsule objects must wait for: typically
   * `FluxBootstrap.crds` and the {@link Capsule} component.
   */
  readonly dependsOn?: pulumi.Resource[];
  /**
   * Queue the deploy key's registration joins, after the stack's other GitHub
   * writes ({@link GitHubWriteQueue}). Default: registered as soon as the key exists.
   */
  readonly githubQueue?: GitHubWriteQueue;
}

/**
 * One tenant of the platform: its namespaces, the reconciler ServiceAccount
 * Flux impersonates for it, least-privilege access (Capsule ownership or
 * `admin` RoleBindings, never cluster-admin), its own read-only deploy key,
 * and a GitRepository + Kustomization reconciling its branch as that account.
 */
export class Tenant extends pulumi.ComponentResource {
  /** The tenant name. */
  public readonly tenantName: string;
  /** The home namespace. */
  public readonly home: string;
  /** Names of the tenant's objects. */
  public readonly names: TenantNames;
  /** The reconciler as a Kubernetes user name, `system:serviceaccount:<home>:<name>`. */
  public readonly reconciler: string;
  /** The tenant's namespaces, resolved once created. */
  public readonly namespaces: pulumi.Output<string[]>;
  /** The tenant's deploy key. */
  public readonly deployKey: DeployKey;

  constructor(name: string, args: TenantArgs, opts?: pulumi.ComponentResourceOptions) {
    const tenant = args.tenantName ?? name;
    // Checked before the component registers: bad arguments leave nothing in the engine.
    assertValidArgs("Tenant", tenant, tenantProblems({ ...args, name: tenant }, args));
    super("flux-capsule:index:Tenant", name, {}, opts);

    const names = tenantNames(tenant);
    const home = args.namespaces[0]!;
    const after = args.dependsOn ?? [];

    // Capsule mode: the Tenant comes first. Its label places each namespace:
    // Capsule turns it into an ownerReference for requests from tenant owners
    // and administrators (the Capsule component makes Pulumi's identity one)
    // and refuses namespaces that reference a Tenant any other way.
    const capsuleTenant = args.mode === "capsule"
      ? kubeResource(`${name}-capsule-tenant`, capsuleTenantObject(tenant, home, namespaceQuotaOf(args.namespaceQuota, args.namespaces.length)), { parent: this, dependsOn: after })
      : undefined;
    // The label's value goes through the Tenant's id: while a new Tenant is
    // only previewed its id is unknown, so its namespaces are not dry-run
    // against an API server whose Capsule webhook would refuse a label naming
    // a Tenant that does not exist yet.
    const capsuleLabel = capsuleTenant ? capsuleTenant.id.apply(() => tenant) : undefined;

    const namespaces = new Map<string, k8s.core.v1.Namespace>();
    for (const ns of args.namespaces) {
      namespaces.set(ns, new k8s.core.v1.Namespace(
        `${name}-ns-${ns}`,
        {
          metadata: forceApply({
            name: ns,
            labels: (capsuleLabel
              ? { [FLUX_TENANT_LABEL]: tenant, [CAPSULE_TENANT_LABEL]: capsuleLabel }
              : { [FLUX_TENANT_LABEL]: tenant }) as Record<string, pulumi.Input<string>>,
          }),
        },
        { parent: this },
      ));
    }
    const nsName = (ns: string) => namespaces.get(ns)!.metadata.name;

    // The reconciler lives in the home namespace (capsule mode: the tenant
    // owner) or in every namespace (namespace mode, as `flux create tenant`),
    // so tenant Flux objects anywhere can name a local account.
    const accountNamespaces = args.mode === "capsule" ? [home] : args.namespaces;
    const access: pulumi.Resource[] = [];
    for (const ns of accountNamespaces) {
      access.push(new k8s.core.v1.ServiceAccount(
        `${name}-sa-${ns}`,
        { metadata: forceApply({ name: names.serviceAccount, namespace: nsName(ns), labels: { [FLUX_TENANT_LABEL]: tenant } }) },
        { parent: this },
      ));
    }
    if (args.mode === "namespace") {
      for (const ns of args.namespaces) {
        const binding = reconcilerRoleBinding(tenant, home, ns);
        access.push(new k8s.rbac.v1.RoleBinding(
          `${name}-rb-${ns}`,
          { ...binding, metadata: forceApply({ ...binding.metadata, namespace: nsName(ns) }) },
          { parent: this },
        ));
      }
    }

    this.deployKey = new DeployKey(
      `${name}-deploy-key`,
      {
        repository: args.repository,
        title: args.deployKeyTitle ?? `tenant ${tenant} ${pulumi.getProject()}/${pulumi.getStack()}`,
        algorithm: args.keyAlgorithm,
        secretNamespace: nsName(home),
        secretName: names.secret,
        knownHosts: args.knownHosts,
        githubQueue: args.githubQueue,
      },
      { parent: this },
    );

    const [sourceObject, kustomizationObject] = tenantSyncObjects(tenant, home, {
      url: sshRepoUrl(args.sshHost ?? DEFAULT_SSH_HOST, args.owner, args.repository),
      branch: args.branch ?? tenant,
      path: args.path ?? DEFAULT_TENANT_PATH,
    });
    const source = kubeResource(`${name}-source`, sourceObject, { parent: this, dependsOn: [...after, namespaces.get(home)!, this.deployKey] });
    kubeResource(`${name}-sync`, kustomizationObject, { parent: this, dependsOn: [...after, source, ...access, ...(capsuleTenant ? [capsuleTenant] : [])] });

    this.tenantName = tenant;
    this.home = home;
    this.names = names;
    this.reconciler = serviceAccountUser(home, names.serviceAccount);
    this.namespaces = pulumi.all([...namespaces.values()].map((n) => n.metadata.name));
    this.registerOutputs({ tenantName: tenant, home, reconciler: this.reconciler, namespaces: this.namespaces });
  }
}
