import { DEFAULT_SSH_HOST } from "../defaults";
import { KEY_ALGORITHMS } from "../shared";
import {
  branchProblem,
  CONTROL_CHARACTER,
  defaultServiceAccountProblem,
  deployKeyIdProblem,
  FieldProblem,
  fluxVersionProblem,
  githubOwnerProblem,
  gitHostProblems,
  Problems,
  quote,
  readyTimeoutProblem,
  registryProblem,
  repoPathProblem,
  repositoryNameProblem,
  rotationProblem,
  tolerationProblem,
} from "../validation";
import { componentsProblem } from "./render";

/** The plain fields of a Flux bootstrap that can be checked before anything is created. */
export interface FluxBootstrapShape {
  readonly version: string;
  readonly owner: string;
  readonly repository: string;
  readonly branch?: string;
  readonly path: string;
  readonly componentsExtra?: readonly string[];
  readonly keyAlgorithm?: string;
  readonly defaultServiceAccount?: string;
  readonly registry?: string;
  readonly sshHost?: string;
  readonly knownHosts?: string;
  readonly deployKeyTitle?: string;
  readonly keyRotation?: string;
  readonly adoptDeployKeyId?: number;
  readonly readyTimeoutSeconds?: number;
  readonly manifestsSha256?: string;
  readonly tolerations?: readonly Readonly<Record<string, unknown>>[];
}

/**
 * Every problem with a Flux bootstrap's arguments, by field. The stack config
 * and {@link FluxBootstrap} both run it, so both refuse the same values with
 * the same words. `reconcilers` are the tenants' reconciler account names,
 * which the lockdown's default account must not be.
 */
export function fluxBootstrapProblems(a: FluxBootstrapShape, reconcilers: readonly string[] = []): FieldProblem[] {
  const p = new Problems();
  (a.tolerations ?? []).forEach((t, i) => p.add(`tolerations[${i}]`, tolerationProblem(t)));
  return p
    .text("version", a.version, fluxVersionProblem, true)
    .text("owner", a.owner, githubOwnerProblem, true)
    .text("repository", a.repository, repositoryNameProblem, true)
    .text("branch", a.branch, branchProblem)
    .text("path", a.path, repoPathProblem, true)
    .check("componentsExtra", a.componentsExtra, componentsProblem)
    .check("keyAlgorithm", a.keyAlgorithm, (k) => KEY_ALGORITHMS.includes(k as never) ? undefined : `${quote(k)} is not one of ${KEY_ALGORITHMS.join(", ")}`)
    .text("defaultServiceAccount", a.defaultServiceAccount, (sa) => defaultServiceAccountProblem(sa, reconcilers))
    .text("registry", a.registry, registryProblem)
    .text("deployKeyTitle", a.deployKeyTitle, (t) => CONTROL_CHARACTER.test(t) ? "must not contain control characters" : undefined)
    .text("keyRotation", a.keyRotation, rotationProblem)
    .check("adoptDeployKeyId", a.adoptDeployKeyId, deployKeyIdProblem)
    .check("readyTimeoutSeconds", a.readyTimeoutSeconds, readyTimeoutProblem)
    .text("manifestsSha256", a.manifestsSha256, (h) => /^[0-9a-f]{64}$/.test(h)
      ? undefined : `${quote(h)} is not a SHA-256 digest; give the 64 lower-case hex digits \`sha256sum install.yaml\` prints`)
    .list.concat(gitHostProblems(a.sshHost ?? DEFAULT_SSH_HOST, a.knownHosts));
}
