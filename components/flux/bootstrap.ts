import * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DeployKey } from "../deploy-key/deploy-key";
import { DEFAULT_BRANCH, DEFAULT_LOCKDOWN, DEFAULT_READY_TIMEOUT_SECONDS, DEFAULT_SERVICE_ACCOUNT, DEFAULT_SSH_HOST, DEFAULT_WAIT_FOR_READY } from "../defaults";
import { isCustomObject, kubeResource, objectKey, waitingForReady } from "../kube";
import { GitHubWriteQueue, KeyAlgorithm, sshRepoUrl } from "../shared";
import { argumentErrorOf, assertValidArgs, cleanRepoPath, FLUX_NAMESPACE } from "../validation";
import { DEFAULT_MANIFESTS_SOURCE, isCrd } from "./manifests";
import { FluxRender, renderFlux } from "./render";
import { SYNC_NAME } from "./repo-files";
import { fluxBootstrapProblems } from "./validate";

/** Arguments of {@link FluxBootstrap}. */
export interface FluxBootstrapArgs {
  /** Flux release tag, `vX.Y.Z`; it names the commit and the `gotk-components.yaml` header. */
  readonly version: string;
  /** The release's `install.yaml` text; {@link loadFluxManifests} reads it from a URL or file. */
  readonly manifests: string;
  /** Where `manifests` came from, quoted in errors. Default `install.yaml`. */
  readonly manifestsSource?: string;
  /** SHA-256 (64 lower-case hex digits) `manifests` must hash to; pin a copy of a release's `install.yaml` with it. Default: not pinned. */
  readonly manifestsSha256?: string;
  /** GitHub owner (organisation or user) of the platform repository. */
  readonly owner: string;
  /** Platform repository name, under `owner`. */
  readonly repository: string;
  /** Branch Flux reconciles and the files are committed to. Default `main`. */
  readonly branch?: string;
  /** Repository path of this cluster's configuration, e.g. `clusters/dev`. */
  readonly path: string;
  /** Controllers beyond the default four: `image-reflector-controller`, `image-automation-controller`. */
  readonly componentsExtra?: readonly string[];
  /** Deploy key algorithm. Default `ecdsa-p384`, as `flux bootstrap`. */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** `pulumi up` waits until Flux reports flux-system's Kustomization Ready (at most `readyTimeoutSeconds`). Default false. */
  readonly waitForReady?: boolean;
  /** How long a wait for Ready lasts, in seconds (10 to 7200). Default 300. */
  readonly readyTimeoutSeconds?: number;
  /** Change it (a date, a counter) to rotate the deploy key (`rotation` of {@link DeployKey}). Default: none. */
  readonly keyRotation?: string;
  /**
   * GitHub's id of the deploy key a `flux bootstrap` of this cluster
   * registered (adoption; `adoptKeyId` of {@link DeployKey}). Default: none.
   */
  readonly adoptDeployKeyId?: number;
  /** Multi-tenancy lockdown (no cross-namespace refs, no remote bases, default account). Default true. */
  readonly lockdown?: boolean;
  /** Account that tenant objects without `serviceAccountName` impersonate under lockdown. Default `default`, which has no permissions. */
  readonly defaultServiceAccount?: string;
  /** Registry replacing `ghcr.io/fluxcd` in controller images. */
  readonly registry?: string;
  /** Tolerations added to every controller pod. */
  readonly tolerations?: readonly Record<string, unknown>[];
  /** Keep Flux's NetworkPolicies. Default true. */
  readonly networkPolicy?: boolean;
  /** SSH host (and `:port`) of the Git server in the sync URL. Default `github.com`. */
  readonly sshHost?: string;
  /** `known_hosts` for the Git host. Default: GitHub's published host keys. */
  readonly knownHosts?: string;
  /** Deploy key title. Default `flux-system <project>/<stack> <path>`, unique per stack and path. */
  readonly deployKeyTitle?: string;
  /**
   * Queue the deploy key and the three commits join, in that order, after the
   * stack's other GitHub writes ({@link GitHubWriteQueue}). Default: a queue
   * of their own (the commits go one by one either way).
   */
  readonly githubQueue?: GitHubWriteQueue;
  /**
   * What the Flux namespace waits for on create and outlives on destroy, e.g.
   * a Capsule the stack installs: its namespace webhook refuses the
   * namespace's deletion once Capsule has stopped. (A component's own
   * `dependsOn` does not reach its children.)
   */
  readonly dependsOn?: pulumi.Resource[];
}

/**
 * Flux bootstrapped the way `flux bootstrap github` does it, as Pulumi
 * resources: the controllers and CRDs applied to the cluster, the same
 * manifests committed to `<path>/flux-system/` in the platform repository, a
 * read-only deploy key, and the `flux-system` sync objects. With lockdown
 * (the default) the controllers refuse cross-namespace references and remote
 * bases and impersonate a powerless account for tenants, while flux-system
 * itself reconciles as the privileged `kustomize-controller`.
 *
 * Give it the cluster's Kubernetes provider through `providers`/`provider`.
 */
export class FluxBootstrap extends pulumi.ComponentResource {
  /** The namespace Flux runs in (`flux-system`), resolved once it exists. */
  public readonly namespace: pulumi.Output<string>;
  /**
   * The CRDs Flux installs; depend on them before creating Flux objects.
   * Namespaces that depend on them too are deleted before them on destroy.
   */
  public readonly crds: pulumi.Resource[];
  /**
   * Everything else Flux installs in the cluster: the controllers' Deployments,
   * accounts, RBAC, Services and policies. Flux objects that depend on them
   * (and on {@link crds}) are deleted first on destroy, while the controllers
   * still run to honour their finalizers.
   */
  public readonly controllers: pulumi.Resource[];
  /** The controllers deployed, e.g. `source-controller`. */
  public readonly components: readonly string[];
  /** The platform deploy key. */
  public readonly deployKey: DeployKey;
  /** The public key registered on the platform repository. */
  public readonly publicKey: pulumi.Output<string>;
  /** Commit SHAs of the three repository files, by file name. */
  public readonly commits: pulumi.Output<Record<string, string>>;
  /** The sync URL Flux pulls from. */
  public readonly url: string;

  constructor(name: string, args: FluxBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked and rendered before the component registers: bad arguments or
    // untrusted manifests leave nothing behind in the engine.
    const render = checkFluxBootstrap(name, args);
    super("flux-capsule:index:FluxBootstrap", name, {}, opts);
    const branch = branchOf(args);
    const cleanPath = cleanRepoPath(args.path);
    const repoDir = [cleanPath, "flux-system"].filter((p) => p !== "").join("/");

    // Order: CRDs, then the Namespace, then the rest; namespaced objects wait
    // for the Namespace and custom objects for their CRDs, so a preview
    // against an empty cluster plans every object. A destroy goes the other
    // way: the CRDs last, once the Namespace is gone. A CRD deleted while a
    // namespace terminates can stay Terminating for minutes (README, "Deleting
    // CRDs").
    // A Flux upgrade changes every CRD's schemas: the preview shows that a
    // CRD changes and its labels' new version, not thousands of schema lines.
    const crds = render.objects
      .filter(isCrd)
      .map((o) => kubeResource(`${name}-${objectKey(o)}`, o, { parent: this, hideDiffs: [CRD_SCHEMAS] }));
    const nsObject = render.objects.find((o) => o.kind === "Namespace" && o.metadata.name === FLUX_NAMESPACE);
    const namespace = nsObject
      ? (kubeResource(`${name}-${objectKey(nsObject)}`, nsObject, { parent: this, dependsOn: [...(args.dependsOn ?? []), ...crds] }) as k8s.core.v1.Namespace)
      : undefined;
    const installed: pulumi.Resource[] = [];
    for (const o of render.objects) {
      if (o === nsObject || isCrd(o)) continue;
      const dependsOn = o.metadata.namespace && namespace ? [namespace] : [];
      installed.push(kubeResource(`${name}-${objectKey(o)}`, o, { parent: this, dependsOn: isCustomObject(o) ? [...dependsOn, ...crds] : dependsOn }));
    }
    const namespaceName = namespace ? namespace.metadata.name : pulumi.output(FLUX_NAMESPACE);

    const githubQueue = args.githubQueue ?? new GitHubWriteQueue();
    this.deployKey = new DeployKey(
      `${name}-deploy-key`,
      {
        repository: args.repository,
        title: args.deployKeyTitle ?? `flux-system ${pulumi.getProject()}/${pulumi.getStack()} ${cleanPath || "/"}`,
        algorithm: args.keyAlgorithm,
        rotation: args.keyRotation,
        adoptKeyId: args.adoptDeployKeyId,
        secretNamespace: namespaceName,
        secretName: SYNC_NAME,
        knownHosts: args.knownHosts,
        githubQueue,
      },
      { parent: this },
    );

    // One commit per file, in sequence: parallel writes to one branch race on
    // its head and GitHub answers 409.
    const fileSpecs: [string, string][] = [
      ["gotk-components.yaml", `Add Flux ${args.version} component manifests`],
      ["gotk-sync.yaml", "Add Flux sync manifests"],
      ["kustomization.yaml", "Add Flux sync manifests"],
    ];
    const files: github.RepositoryFile[] = [];
    for (const [file, message] of fileSpecs) {
      files.push(githubQueue.enqueue((after) => new github.RepositoryFile(
        `${name}-${file.replace(/\.yaml$/, "")}`,
        {
          repository: args.repository,
          branch,
          file: `${repoDir}/${file}`,
          content: render.files[file as keyof FluxRender["files"]],
          commitMessage: message,
          overwriteOnCreate: true,
        },
        {
          parent: this,
          dependsOn: [...new Set([...after, ...files.slice(-1)])],
          // The components file is the whole release: its commit message names the version.
          hideDiffs: file === "gotk-components.yaml" ? ["content"] : [],
        },
      )));
    }

    const [sourceObject, kustomizationObject] = render.sync;
    // The sync objects wait for the controllers (and their accounts and
    // RBAC), so a destroy deletes them first, while Flux still runs to
    // honour their finalizers.
    const source = kubeResource(`${name}-sync-source`, sourceObject, {
      parent: this,
      dependsOn: [...crds, ...installed, this.deployKey, ...(namespace ? [namespace] : [])],
    });
    const sync = waitingForReady(kustomizationObject, args.waitForReady ?? DEFAULT_WAIT_FOR_READY, args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS);
    kubeResource(`${name}-sync`, sync, {
      parent: this,
      dependsOn: [...crds, ...installed, source, ...files, ...(namespace ? [namespace] : [])],
    });

    this.namespace = namespaceName;
    this.crds = crds;
    this.controllers = installed;
    this.components = render.components;
    this.publicKey = this.deployKey.publicKey;
    this.url = sourceObject.spec ? String((sourceObject.spec as Record<string, unknown>).url) : "";
    this.commits = pulumi
      .all(files.map((f) => f.commitSha))
      .apply((shas) => Object.fromEntries(fileSpecs.map(([file], i) => [file, shas[i] ?? ""])));
    this.registerOutputs({
      namespace: this.namespace,
      components: this.components,
      publicKey: this.publicKey,
      commits: this.commits,
      url: this.url,
    });
  }
}

/**
 * Where a CRD keeps its schemas: diffs below them are left out of the
 * preview's display (not out of the plan); a version added, dropped or no
 * longer served or stored still shows.
 */
const CRD_SCHEMAS = "spec.versions[*].schema";

/** The branch Flux reconciles and the files are committed to. */
function branchOf(args: FluxBootstrapArgs): string {
  return args.branch ?? DEFAULT_BRANCH;
}

const rendered = new WeakMap<FluxBootstrapArgs, FluxRender>();

/**
 * Checks a {@link FluxBootstrap}'s arguments and renders its objects and files
 * without creating anything; throws the {@link ArgumentError} the component
 * would, naming every problem (bad values, untrusted manifests). A program
 * calls it before it registers any resource (its provider included), so a
 * refusal leaves nothing behind; the component then reuses the render for the
 * same `args` object.
 */
export function checkFluxBootstrap(name: string, args: FluxBootstrapArgs): FluxRender {
  const cached = rendered.get(args);
  if (cached) return cached;
  assertValidArgs("FluxBootstrap", name, fluxBootstrapProblems(args));
  let render: FluxRender;
  try {
    render = renderFlux({
      version: args.version,
      manifests: args.manifests,
      manifestsSource: args.manifestsSource ?? DEFAULT_MANIFESTS_SOURCE,
      manifestsSha256: args.manifestsSha256,
      componentsExtra: args.componentsExtra,
      lockdown: args.lockdown ?? DEFAULT_LOCKDOWN,
      defaultServiceAccount: args.defaultServiceAccount ?? DEFAULT_SERVICE_ACCOUNT,
      registry: args.registry,
      tolerations: args.tolerations,
      networkPolicy: args.networkPolicy,
      sync: {
        url: sshRepoUrl(args.sshHost ?? DEFAULT_SSH_HOST, args.owner, args.repository),
        branch: branchOf(args),
        path: args.path,
        secretName: SYNC_NAME,
      },
    });
  } catch (err) {
    throw argumentErrorOf("FluxBootstrap", name, err);
  }
  rendered.set(args, render);
  return render;
}
