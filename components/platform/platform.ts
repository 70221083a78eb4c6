import * as pulumi from "@pulumi/pulumi";
import { Capsule, CapsuleUserKind } from "../capsule/capsule";
import { parseSettingsArgs, StackConfig } from "../config";
import { checkFluxBootstrap, FluxBootstrap, FluxBootstrapArgs } from "../flux/bootstrap";
import { loadFluxManifests } from "../flux/manifests";
import { GitHubWriteQueue, KeyAlgorithm } from "../shared";
import { withoutPromiseStacks } from "../promise-stacks";
import { capsuleTenantsToRelease, LastUpdate } from "./last-update";
import { serviceAccountUser, TenancyMode, tenantNames } from "../tenant/render";
import { Tenant } from "../tenant/tenant";

// Every argument is plain data (no Inputs, no resources): the component
// provider (provider/) derives the schema of the SDKs for Python, Go, .NET
// and YAML from these declarations, and plain values are known at preview.

/** Flux of a `Platform`: the keys of the stack config's `flux-capsule:flux`. */
export interface PlatformFlux {
  /** Flux release tag, `vX.Y.Z`. */
  version: string;
  /** Platform repository name, under `owner`. */
  repository: string;
  /** Cluster directory in the platform repository, e.g. `clusters/dev`. */
  path: string;
  /** Branch Flux syncs from. Default `main`. */
  branch?: string;
  /** Extra controllers: `image-reflector-controller`, `image-automation-controller`. Default none. */
  componentsExtra?: string[];
  /** `install.yaml` as a local path or https URL. Default: the release's install.yaml. */
  manifests?: string;
  /** SHA-256 the manifests must have (64 lower-case hex digits); required for copies without version labels. */
  manifestsSha256?: string;
  /** Deploy key algorithm. Default `ecdsa-p384`. */
  keyAlgorithm?: KeyAlgorithm;
  /** `pulumi up` waits until Flux reports flux-system Ready. Default false. */
  waitForReady?: boolean;
  /** How long each wait for Ready lasts (flux-system's and the tenants'), in seconds. Default 300. */
  readyTimeoutSeconds?: number;
  /** Change it (a date or a counter, a DNS-1123 label) to rotate the platform deploy key: the new key is registered before the old one is removed. Default: none. */
  keyRotation?: string;
  /**
   * Adoption of a cluster `flux bootstrap` made: GitHub's id of the deploy key
   * it registered (or the key it pushed with). The first `pulumi up` takes
   * that key into the stack's state as it is and leaves the cluster's Secret
   * alone; the next one, without this setting, replaces it with the stack's
   * own read-only key and removes it from GitHub. Only for the first update
   * of a new stack (the stack program refuses it once the stack runs Flux).
   * Default: none.
   */
  adoptDeployKeyId?: number;
  /** The multi-tenancy lockdown. Default true. */
  lockdown?: boolean;
  /** Account impersonated when a tenant object names none. Default `default`. */
  defaultServiceAccount?: string;
  /** Mirror replacing `ghcr.io/fluxcd` in controller images. */
  registry?: string;
  /** Keep Flux's NetworkPolicies. Default true. */
  networkPolicy?: boolean;
  /** Tolerations added to every controller pod, as Kubernetes writes them. Default none. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a toleration mixes strings and numbers; the schema says Any, the components check each one
  tolerations?: Record<string, any>[];
  /** Git SSH `host[:port]` in source URLs. Default `github.com`. */
  sshHost?: string;
  /** `known_hosts` for `sshHost`. Default: GitHub's published host keys. */
  knownHosts?: string;
}

/** What a `Platform`'s last update had, from the stack's outputs. */
export interface PlatformLastUpdate {
  /** Its tenancy mode (the stack output `tenancy`). */
  tenancy?: TenancyMode;
  /** Its tenants' names (the keys of the stack output `tenants`). */
  tenants?: string[];
}

/** An identity Capsule lets create tenant namespaces: the one Pulumi applies with. */
export interface PlatformCapsuleAdministrator {
  /** `User`, `Group` or `ServiceAccount`. */
  kind: CapsuleUserKind;
  /** The user, group or `system:serviceaccount:<namespace>:<name>`. */
  name: string;
}

/** Capsule of a `Platform`: the keys of `flux-capsule:capsule`. */
export interface PlatformCapsule {
  /** Install Capsule from its Helm chart. Default false: Capsule is already there. */
  install?: boolean;
  /** Chart version. Default the tested one (`CAPSULE_CHART_VERSION`). */
  version?: string;
  /** Local chart directory or archive instead of the published chart. */
  chart?: string;
  /** Extra chart values, merged over the component's as Helm merges values files (objects key by key, lists replaced). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- chart values are any JSON; the schema says Any
  values?: Record<string, any>;
  /** Identities Pulumi applies as, made Capsule administrators. Default group `system:masters`. */
  administrators?: PlatformCapsuleAdministrator[];
}

/** One tenant of a `Platform`: an entry of `flux-capsule:tenants`. */
export interface PlatformTenant {
  /** Tenant name, a DNS-1123 label. */
  name: string;
  /** Its namespaces; the first is its home. */
  namespaces: string[];
  /** Its repository under `owner`. Required unless `sharedRepository`. */
  repository?: string;
  /** Reconcile from the platform repository instead (its key then reads the platform's). Default false. */
  sharedRepository?: boolean;
  /** Branch. Default: the tenant name. */
  branch?: string;
  /** Path in the repository. Default `./`. */
  path?: string;
  /** Change it (a date or a counter, a DNS-1123 label) to rotate the tenant's deploy key. Default: none. */
  keyRotation?: string;
  /** `pulumi up` waits until Flux reports the tenant's Kustomization Ready. Default false, so a tenant whose branch is still empty does not fail the up. */
  waitForReady?: boolean;
  /**
   * The tenant's name before a rename: its resources are aliased to the old
   * names, so its namespaces (and what runs in them) are kept, while the
   * objects named for the tenant (reconciler, key, Secret, GitRepository,
   * Kustomization, Capsule Tenant) are created anew and the old ones deleted
   * last, once the new Kustomization is Ready: while it is set, each `pulumi
   * up` waits for the tenant to be Ready (as `waitForReady`). Remove it once
   * the rename is done. Default none.
   */
  renamedFrom?: string;
  /**
   * Most namespaces the tenant may own (capsule mode): a number at least the
   * namespaces listed, or `"unlimited"`. Default: exactly those listed.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a number or "unlimited": the schema has no such union, so Any; checked like the stack config
  namespaceQuota?: any;
}

/** Arguments of `Platform`: the stack config's shape (README "Configuration"). */
export interface PlatformArgs {
  /** GitHub organisation or user owning the repositories (`github:owner`). */
  owner: string;
  /** Flux. */
  flux: PlatformFlux;
  /** `capsule` (default: isolation per tenant) or `namespace` (per namespace, Flux and RBAC only). */
  tenancy?: TenancyMode;
  /** Capsule, in capsule mode. */
  capsule?: PlatformCapsule;
  /** Namespaces the cluster keeps for its own add-ons; no tenant may claim them. */
  reservedNamespaces?: string[];
  /** The tenants. */
  tenants?: PlatformTenant[];
  /** Send GitHub writes in parallel (GitHub Enterprise Server); default one at a time, paced. */
  parallelGitHubRequests?: boolean;
  /**
   * What the stack's last update had. A switch from capsule to namespace mode
   * and a rename (`renamedFrom`) keep the tenants' namespaces only with it:
   * the Capsule Tenants that go release them first. `index.ts` fills it
   * from the stack's own outputs; a program of its own should too. Default:
   * nothing known (a first update).
   */
  lastUpdate?: PlatformLastUpdate;
}

/** What a `Platform` reports for one tenant. */
export interface PlatformTenantOutputs {
  /** The home namespace. */
  home: string;
  /** The reconciler, `system:serviceaccount:<home>:<name>`. */
  reconciler: string;
  /** The tenant's namespaces. */
  namespaces: string[];
  /** The public key registered on the tenant's repository. */
  publicKey: string;
}

/** The parts of a platform, for TypeScript users who need the resources themselves. */
export interface PlatformParts {
  /** Flux. */
  readonly flux: FluxBootstrap;
  /** Capsule, in capsule mode. */
  readonly capsule?: Capsule;
  /** The tenants, in the order given. */
  readonly tenants: readonly Tenant[];
}

/** The checked settings and loaded manifests of one `args` object, shared by `preparePlatform` and the constructor. */
export interface PlatformPlan {
  /** The arguments checked, defaults applied. */
  readonly config: StackConfig;
  /** Flux's arguments, manifests loaded and checked. */
  readonly flux: FluxBootstrapArgs;
}

const plans = new WeakMap<PlatformArgs, Promise<PlatformPlan>>();

/**
 * Checks a `Platform`'s arguments, downloads and checks the Flux
 * manifests, and renders Flux, without creating anything; rejects with the
 * error the component would. A program awaits it before it registers any
 * resource (its provider included), so a refusal leaves nothing behind; the
 * component then reuses the work for the same `args` object.
 */
export function preparePlatform(name: string, args: PlatformArgs): Promise<PlatformPlan> {
  const known = plans.get(args);
  if (known) return known;
  const config = parseSettingsArgs("Platform", name, args);
  const plan = (async () => {
    const manifests = await loadFluxManifests({
      version: config.flux.version,
      manifests: config.flux.manifests,
      sha256: config.flux.manifestsSha256,
    });
    // The queue is made per component; the render only needs the values.
    const flux: FluxBootstrapArgs = { ...config.flux, owner: config.owner, manifests: manifests.text, manifestsSource: manifests.source };
    checkFluxBootstrap(FLUX, flux);
    return { config, flux };
  })();
  plans.set(args, plan);
  return plan;
}

const FLUX = "flux";

/**
 * The whole platform from the stack config's shape: Flux bootstrapped with
 * the lockdown, Capsule in capsule mode, and every tenant. What `index.ts`
 * runs, and the component other languages use (`pulumi package add`).
 *
 * The arguments are checked before the component registers; the manifests
 * are downloaded after (await `preparePlatform` first to refuse bad
 * manifests before anything exists). Give it the cluster's Kubernetes
 * provider through `providers`. One per stack: its parts keep the names
 * `flux`, `capsule` and the tenant names, as when a stack wires the finer
 * components itself, and carry an alias to the stack root, so such a stack
 * moves under a Platform without replacing anything.
 */
export class Platform extends pulumi.ComponentResource {
  /** The namespace Flux runs in. */
  public readonly fluxNamespace: pulumi.Output<string>;
  /** The sync URL Flux pulls from. */
  public readonly syncUrl: pulumi.Output<string>;
  /** The public key registered on the platform repository. */
  public readonly platformPublicKey: pulumi.Output<string>;
  /** Commit SHAs of the files committed to the platform repository, by file name. */
  public readonly commits: pulumi.Output<Record<string, string>>;
  /** Each tenant's home, reconciler, namespaces and public key, by tenant name. */
  public readonly tenants: pulumi.Output<Record<string, PlatformTenantOutputs>>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers: bad arguments leave nothing in the engine.
    const plan = preparePlatform(name, args);
    super("flux-capsule:index:Platform", name, {}, opts);
    const parts = plan.then((p) => withoutPromiseStacks(() => this.build(p, args)));
    platformParts.set(this, parts);
    const all = pulumi.output(parts);
    this.fluxNamespace = all.apply((p) => p.flux.namespace);
    this.syncUrl = all.apply((p) => p.flux.url);
    this.platformPublicKey = all.apply((p) => p.flux.publicKey);
    this.commits = all.apply((p) => p.flux.commits);
    this.tenants = all.apply((p) => pulumi.all(p.tenants.map((t) => pulumi.all([t.namespaces, t.deployKey.publicKey])
      .apply(([namespaces, publicKey]): [string, PlatformTenantOutputs] => [t.tenantName, { home: t.home, reconciler: t.reconciler, namespaces, publicKey }])))
      .apply((entries) => Object.fromEntries(entries)));
    // Registered now, awaited by the engine: the parts are created once the manifests are in.
    this.registerOutputs({
      fluxNamespace: this.fluxNamespace,
      syncUrl: this.syncUrl,
      platformPublicKey: this.platformPublicKey,
      commits: this.commits,
      tenants: this.tenants,
    });
  }

  private build({ config, flux: fluxArgs }: PlatformPlan, args: PlatformArgs): PlatformParts {
    // Stacks written before Platform had these parts at the root.
    const opts: pulumi.ComponentResourceOptions = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };
    // GitHub's API takes writes one at a time; queued, a few wait at once instead of filling every engine slot.
    const githubQueue = args.parallelGitHubRequests ? undefined : new GitHubWriteQueue();
    const capsule = config.tenancy === "capsule"
      ? new Capsule("capsule", {
        ...config.capsule,
        reconcilers: config.tenants.map((t) => serviceAccountUser(t.namespaces[0]!, tenantNames(t.name).serviceAccount)),
      }, opts)
      : undefined;
    // A Capsule the stack installs is removed after Flux: its namespace
    // webhook refuses every namespace change (flux-system's deletion too)
    // from the moment Capsule stops until its configuration is gone.
    const flux = new FluxBootstrap(FLUX, { ...fluxArgs, githubQueue, dependsOn: capsule?.release ? [capsule] : [] }, opts);
    // What goes between the last update and this one while namespaces stay.
    const last: LastUpdate = { tenancy: args.lastUpdate?.tenancy, tenants: Object.fromEntries((args.lastUpdate?.tenants ?? []).map((n) => [n, { namespaces: [] }])) };
    const releasing = new Set(capsuleTenantsToRelease(last, config));
    const tenants = config.tenants.map((t) => new Tenant(t.name, {
      ...t,
      releaseCapsuleTenant: [t.renamedFrom, t.name].find((n) => n !== undefined && releasing.has(n)),
      // A rename's new Kustomization must be Ready before the old one goes
      // (last), or the tenant has a moment with neither; while renamedFrom is
      // set the tenant waits, so the update after the rename changes nothing.
      waitForReady: t.waitForReady || t.renamedFrom !== undefined,
      mode: config.tenancy,
      owner: config.owner,
      keyAlgorithm: config.flux.keyAlgorithm,
      readyTimeoutSeconds: config.flux.readyTimeoutSeconds,
      defaultServiceAccount: config.flux.defaultServiceAccount,
      reservedNamespaces: config.reservedNamespaces,
      sshHost: config.flux.sshHost,
      knownHosts: config.flux.knownHosts,
      githubQueue,
      dependsOn: [...flux.crds, ...flux.controllers, ...(capsule ? [capsule] : [])],
    }, { ...opts, aliases: [...opts.aliases!, ...(t.renamedFrom ? [{ name: t.renamedFrom }] : [])] }));
    return { flux, capsule, tenants };
  }
}

const platformParts = new WeakMap<Platform, Promise<PlatformParts>>();

/** A platform's Flux, Capsule and Tenant components, once created. */
export function partsOf(platform: Platform): Promise<PlatformParts> {
  const parts = platformParts.get(platform);
  if (!parts) throw new Error("partsOf: not a Platform of this program");
  return parts;
}
