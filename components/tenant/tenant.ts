import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_READY_TIMEOUT_SECONDS, DEFAULT_WAIT_FOR_READY } from "../defaults";
import { DeployKey } from "../deploy-key/deploy-key";
import { KubeObjectInput, kubeResource, waitingForReady } from "../kube";
import { CAPSULE_API, GitHubWriteQueue, KeyAlgorithm, KubeObject } from "../shared";
import { assertValidArgs } from "../validation";
import { CAPSULE_TENANT_LABEL, renderTenant, TenantNames, TenantRenderInput } from "./render";
import { tenantProblems } from "./validate";

/**
 * Arguments of {@link Tenant}: the tenant's fields ({@link TenantRenderInput}:
 * mode, namespaces, owner, repository, branch, path, sshHost, namespaceQuota)
 * and how it joins the stack.
 */
export interface TenantArgs extends Omit<TenantRenderInput, "name"> {
  /** Tenant name (DNS-1123 label, at most 52 characters). Default: the resource name. */
  readonly tenantName?: string;
  /** Namespaces the cluster keeps for its own add-ons, refused like `kube-*` and the platform's. Default none. */
  readonly reservedNamespaces?: readonly string[];
  /** The lockdown's default account (`FluxBootstrapArgs.defaultServiceAccount`); the tenant may not be named like it. Default `default`. */
  readonly defaultServiceAccount?: string;
  /** Deploy key algorithm. Default `ecdsa-p384`. */
  readonly keyAlgorithm?: KeyAlgorithm;
  /**
   * `pulumi up` waits until Flux reports the tenant's Kustomization Ready (at
   * most `readyTimeoutSeconds`); past it the up fails naming the tenant's
   * Kustomization. Default false: a tenant whose branch is still empty does not fail the up.
   */
  readonly waitForReady?: boolean;
  /** How long a wait for Ready lasts, in seconds (10 to 7200). Default 300. */
  readonly readyTimeoutSeconds?: number;
  /** Change it (a date, a counter) to rotate the tenant's deploy key (`rotation` of {@link DeployKey}). Default: none. */
  readonly keyRotation?: string;
  /** `known_hosts` for the Git host. Default: GitHub's published host keys. */
  readonly knownHosts?: string;
  /** Deploy key title. Default `tenant <name> <project>/<stack>`. */
  readonly deployKeyTitle?: string;
  /**
   * What the tenant's namespaces and its Flux and Capsule objects must wait
   * for: typically `FluxBootstrap.crds` and `FluxBootstrap.controllers` and
   * the {@link Capsule} component. A destroy then deletes the tenant while
   * Flux still runs (it clears the finalizers of the Flux objects in the
   * tenant's namespaces) and its namespaces before the CRDs. The namespaces
   * are created once the controllers have rolled out. Without the CRDs
   * here, a destroy may delete them while these namespaces terminate, which
   * can leave a CRD Terminating for minutes.
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
    const render = renderTenant({ ...args, name: tenant });
    const after = args.dependsOn ?? [];

    // Capsule mode: the Tenant comes first. Its label places each namespace:
    // Capsule turns it into an ownerReference for requests from tenant owners
    // and administrators (the Capsule component makes Pulumi's identity one)
    // and refuses namespaces that reference a Tenant any other way.
    const capsuleTenant = render.capsuleTenant
      ? kubeResource(`${name}-capsule-tenant`, render.capsuleTenant, { parent: this, dependsOn: after })
      : undefined;
    // The label's value goes through the Tenant's id: while a new Tenant is
    // only previewed its id is unknown, so its namespaces are not dry-run
    // against an API server whose Capsule webhook would refuse a label naming
    // a Tenant that does not exist yet.
    const capsuleLabel: Record<string, pulumi.Input<string>> = capsuleTenant
      ? { [CAPSULE_TENANT_LABEL]: capsuleTenant.id.apply(() => tenant) }
      : {};

    // The namespace names its Tenant as owner too, as Capsule's webhook
    // would: applied by Pulumi, the reference is a field Pulumi's field
    // manager owns (what the webhook adds belongs to none), so leaving
    // capsule mode removes it along with the label. Capsule accepts that
    // from an administrator only when both go together, and it is what
    // releases the namespace from its Tenant.
    const capsuleOwner = capsuleTenant
      ? { ownerReferences: [(capsuleTenant as k8s.apiextensions.CustomResource).metadata.uid.apply((uid) => ({ apiVersion: CAPSULE_API, kind: "Tenant", name: tenant, uid }))] }
      : {};

    // The namespaces wait for `dependsOn` too, so a destroy deletes them
    // before the CRDs and while Flux runs (TenantArgs.dependsOn says why).
    const namespaces = new Map<string, k8s.core.v1.Namespace>();
    for (const o of render.namespaces) {
      const labels = { ...o.metadata.labels, ...capsuleLabel };
      const namespace = kubeResource(`${name}-ns-${o.metadata.name}`, { ...o, metadata: { ...o.metadata, labels, ...capsuleOwner } }, { parent: this, dependsOn: after });
      namespaces.set(o.metadata.name, namespace as k8s.core.v1.Namespace);
    }
    const nsName = (ns: string) => namespaces.get(ns)!.metadata.name;
    // Objects in a tenant namespace take its name from the Namespace resource, so they wait for it.
    const inTenantNamespace = (o: KubeObject): KubeObjectInput => ({ ...o, metadata: { ...o.metadata, namespace: nsName(o.metadata.namespace!) } });

    const access: pulumi.Resource[] = [
      ...render.serviceAccounts.map((o) => kubeResource(`${name}-sa-${o.metadata.namespace}`, inTenantNamespace(o), { parent: this })),
      ...render.roleBindings.map((o) => kubeResource(`${name}-rb-${o.metadata.namespace}`, inTenantNamespace(o), { parent: this })),
    ];

    this.deployKey = new DeployKey(
      `${name}-deploy-key`,
      {
        repository: args.repository,
        title: args.deployKeyTitle ?? `tenant ${tenant} ${pulumi.getProject()}/${pulumi.getStack()}`,
        algorithm: args.keyAlgorithm,
        rotation: args.keyRotation,
        secretNamespace: nsName(render.home),
        secretName: render.names.secret,
        knownHosts: args.knownHosts,
        githubQueue: args.githubQueue,
      },
      { parent: this },
    );

    const [sourceObject, kustomizationObject] = render.sync;
    const source = kubeResource(`${name}-source`, sourceObject, { parent: this, dependsOn: [...after, namespaces.get(render.home)!, this.deployKey] });
    // Leaving capsule mode: once the namespaces (and the reconcilers' new
    // RoleBindings) are in place, wait until the old Capsule Tenant owns no
    // namespace; Pulumi deletes it (with nothing left to take along) only
    // after every create and update. retainOnDelete: when the patch leaves
    // the program its Tenant is gone, and giving its fields back would
    // server-side apply (create) an empty Tenant.
    if (render.capsuleRelease) {
      new k8s.apiextensions.CustomResourcePatch(`${name}-capsule-release`, render.capsuleRelease as k8s.apiextensions.CustomResourcePatchArgs,
        { parent: this, dependsOn: [...namespaces.values(), ...access], retainOnDelete: true });
    }
    const sync = waitingForReady(kustomizationObject, args.waitForReady ?? DEFAULT_WAIT_FOR_READY, args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS);
    kubeResource(`${name}-sync`, sync, { parent: this, dependsOn: [...after, source, ...access, ...(capsuleTenant ? [capsuleTenant] : [])] });

    this.tenantName = tenant;
    this.home = render.home;
    this.names = render.names;
    this.reconciler = render.reconciler;
    this.namespaces = pulumi.all([...namespaces.values()].map((n) => n.metadata.name));
    this.registerOutputs({ tenantName: tenant, home: this.home, reconciler: this.reconciler, namespaces: this.namespaces });
  }
}
