import * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { DEFAULT_KEY_ALGORITHM, GITHUB_KNOWN_HOSTS } from "../defaults";
import { forceApply } from "../kube";
import { GitHubWriteQueue, KEY_ALGORITHMS, KeyAlgorithm } from "../shared";
import { assertValidArgs, CONTROL_CHARACTER, deployKeyIdProblem, dns1123LabelProblem, knownHostsProblems, Problems, quote, repositoryNameProblem, rotationProblem } from "../validation";

/** Arguments of {@link DeployKey}. */
export interface DeployKeyArgs {
  /** Repository (name, under the GitHub provider's owner) the key gives read access to; a plain string, checked before anything exists. */
  readonly repository: string;
  /** Deploy key title; GitHub requires it to be unique per repository. A plain string. */
  readonly title: string;
  /**
   * The key's rotation: change it (a date, a counter: a DNS-1123 label) to
   * rotate the key. A new key is made and registered on GitHub under the
   * title with ` (rotation <value>)` appended, the Secret switches to it only
   * once GitHub has accepted it, and the old key is removed from GitHub at the
   * end of the update, so Flux never holds a key GitHub does not know.
   * Setting it for the first time or clearing it rotates too. Default: none.
   */
  readonly rotation?: string;
  /**
   * GitHub's id of a deploy key already registered on the repository for this
   * purpose, e.g. by `flux bootstrap` (adoption). An update with it takes
   * that registration into the stack's state as it is (an import that
   * ignores its key, title and access) and leaves the cluster's Secret, which
   * holds the key's private half, alone. The next update without it replaces
   * the registration with this component's read-only key: the new key is
   * registered, the Secret switches to it, and the adopted key is removed
   * from GitHub at the end of the update. Default: none.
   */
  readonly adoptKeyId?: number;
  /** Key algorithm. Default `ecdsa-p384`. */
  readonly algorithm?: KeyAlgorithm;
  /** Namespace of the Secret holding the key. Pass the namespace's output so the Secret waits for it. */
  readonly secretNamespace: pulumi.Input<string>;
  /** Name of the Secret holding the key; a DNS-1123 label. */
  readonly secretName: string;
  /** `known_hosts` lines for the Git host (a plain string, parsed line by line). Default: GitHub's published host keys. */
  readonly knownHosts?: string;
  /**
   * Queue the key's registration joins, after the stack's other GitHub writes
   * ({@link GitHubWriteQueue}). Default: registered as soon as the key exists.
   */
  readonly githubQueue?: GitHubWriteQueue;
}

/**
 * An SSH key pair whose public half is a **read-only** deploy key on a GitHub
 * repository and whose private half is a Flux Git Secret (`identity`,
 * `identity.pub`, `known_hosts`) in the cluster. The key never leaves Pulumi's
 * encrypted state and the Secret. There is no read-write option: Flux only
 * reads, and a leaked key must not be able to push.
 */
export class DeployKey extends pulumi.ComponentResource {
  /** The public key in authorized_keys form (`ecdsa-sha2-nistp384 AAAA...`), as registered on GitHub. */
  public readonly publicKey: pulumi.Output<string>;
  /** The private key in OpenSSH form. Secret. */
  public readonly privateKey: pulumi.Output<string>;
  /** SHA-256 fingerprint of the public key, for finding it in GitHub's UI. */
  public readonly fingerprint: pulumi.Output<string>;
  /** GitHub's id of the deploy key, `<repository>:<id>`. */
  public readonly deployKeyId: pulumi.Output<string>;
  /** Name of the Secret holding the key. */
  public readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: DeployKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers, so every value must be known
    // now: an Output would reach GitHub unchecked.
    const algorithm = args.algorithm ?? DEFAULT_KEY_ALGORITHM;
    assertValidArgs("DeployKey", name, new Problems()
      .text("secretName", args.secretName, dns1123LabelProblem, true)
      .add("algorithm", KEY_ALGORITHMS.includes(algorithm) ? undefined : `${quote(algorithm)} is not one of ${KEY_ALGORITHMS.join(", ")}`)
      .text("repository", args.repository, repositoryNameProblem, true)
      .text("title", args.title, (t) => t.trim() === "" || CONTROL_CHARACTER.test(t) ? "must be non-empty text without control characters" : undefined, true)
      .text("knownHosts", args.knownHosts, (k) => knownHostsProblems(k).join("; ") || undefined)
      .text("rotation", args.rotation, rotationProblem)
      .check("adoptKeyId", args.adoptKeyId, deployKeyIdProblem)
      .list);
    super("flux-capsule:index:DeployKey", name, {}, opts);

    // A rotation is a new key pair and registration under names of their
    // own: the engine creates them (and updates the Secret) before it deletes
    // the ones the program no longer declares, at the end of the update.
    const generation = args.rotation === undefined ? "" : `-${args.rotation}`;
    const title = rotationTitle(args.title, args.rotation);
    const key = new tls.PrivateKey(
      `${name}-key${generation}`,
      algorithm === "ed25519" ? { algorithm: "ED25519" } : { algorithm: "ECDSA", ecdsaCurve: "P384" },
      // A registration elsewhere (another repository, another title) gets a
      // new key: GitHub refuses a key registered twice, and a new key is what
      // lets the new registration exist before the old one goes, so a
      // repository move has no moment without a key GitHub accepts.
      { parent: this, replacementTrigger: registrationTrigger(args.repository, title) },
    );
    // GitHub stores the key without comment or newline; registering and
    // storing exactly that form keeps refreshes free of spurious diffs.
    const publicKey = key.publicKeyOpenssh.apply((k) => k.trim());

    const adopting = args.adoptKeyId !== undefined;
    const deployKey = (args.githubQueue ?? new GitHubWriteQueue()).enqueue((after) => new github.RepositoryDeployKey(
      `${name}-deploy-key${generation}`,
      { repository: args.repository, title, key: publicKey, readOnly: true },
      // Every field forces replacement, and each replacement comes with a new
      // key (above) under another repository or title: the engine registers
      // it, switches the Secret, and removes the old registration last. An
      // adopted registration is such an old one, once adoptKeyId is gone.
      {
        parent: this, dependsOn: after,
        ...(adopting ? { import: `${args.repository}:${args.adoptKeyId}`, ignoreChanges: ["key", "title", "readOnly"] } : {}),
      },
    ));

    // While adopting, the Secret stays as it is: it holds the adopted key,
    // the one GitHub knows; the update after adoption takes it over.
    const secret = adopting ? undefined : new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: forceApply({ name: args.secretName, namespace: args.secretNamespace }),
        type: "Opaque",
        stringData: {
          identity: pulumi.secret(key.privateKeyOpenssh),
          "identity.pub": publicKey,
          known_hosts: args.knownHosts ?? GITHUB_KNOWN_HOSTS,
        },
      },
      // The Secret switches keys only once GitHub has accepted the new one.
      { parent: this, dependsOn: [deployKey] },
    );

    this.publicKey = publicKey;
    this.privateKey = pulumi.secret(key.privateKeyOpenssh);
    this.fingerprint = key.publicKeyFingerprintSha256;
    this.deployKeyId = deployKey.id;
    this.secretName = secret ? secret.metadata.name : pulumi.output(args.secretName);
    this.registerOutputs({
      publicKey: this.publicKey,
      privateKey: this.privateKey,
      fingerprint: this.fingerprint,
      deployKeyId: this.deployKeyId,
      secretName: this.secretName,
    });
  }
}

/**
 * What a key pair is for: a new value (the key registered on another
 * repository, or under another title) replaces the key. Stacks made before
 * the trigger existed hold none, which the engine does not count as a change.
 */
function registrationTrigger(repository: string, title: string): string {
  return `${repository}\n${title}`;
}

/** The title a key of `rotation` is registered under: `title` itself when there is none. */
function rotationTitle(title: string, rotation: string | undefined): string {
  return rotation === undefined ? title : `${title} (rotation ${rotation})`;
}
