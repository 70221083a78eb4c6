/**
 * Every default of the stack config's keys, defined once: the config schema
 * fills them in and the components fall back to them, so a component used
 * from another program behaves as the stack program does. Lists default to
 * empty and flags not named here to false; defaults computed from other
 * values are named where they are computed (`flux.manifests`: the release's
 * URL, `releaseManifestUrl`; a tenant's `namespaceQuota`: the namespaces
 * listed, `namespaceQuotaOf`).
 */

/** Branch Flux reconciles and commits to. */
export const DEFAULT_BRANCH = "main";

/** Deploy key algorithm: ECDSA P-384, as `flux bootstrap`. */
export const DEFAULT_KEY_ALGORITHM = "ecdsa-p384" as const;

/** Flux's multi-tenancy lockdown is on. */
export const DEFAULT_LOCKDOWN = true;

/** The lockdown account for tenant objects that name none: it has no permissions. */
export const DEFAULT_SERVICE_ACCOUNT = "default";

/** Flux's NetworkPolicies are kept. */
export const DEFAULT_NETWORK_POLICY = true;

/** SSH host of the Git server. */
export const DEFAULT_SSH_HOST = "github.com";

/**
 * GitHub's published SSH host keys, the `known_hosts` of {@link DEFAULT_SSH_HOST}:
 * pinned so Flux never trusts a key it first sees on the wire. Override with
 * `knownHosts` for GitHub Enterprise or another Git host.
 */
export const GITHUB_KNOWN_HOSTS = [
  "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
].join("\n") + "\n";

/**
 * `pulumi up` does not wait for Flux to report flux-system or a tenant Ready:
 * a tenant whose branch is still empty (or a cluster whose controllers do not
 * run yet) must not fail the up. Turn it on per Kustomization.
 */
export const DEFAULT_WAIT_FOR_READY = false;

/** How long `pulumi up` waits for a Kustomization asked to be Ready, in seconds. */
export const DEFAULT_READY_TIMEOUT_SECONDS = 300;

/** Tenants are isolated per tenant, by Capsule. */
export const DEFAULT_TENANCY = "capsule" as const;

/** A tenant's branch: the tenant's name. */
export function defaultTenantBranch(tenant: string): string {
  return tenant;
}

/** A tenant's path in its repository: the root. */
export const DEFAULT_TENANT_PATH = "./";

/** Capsule Helm chart version installed by default. */
export const CAPSULE_CHART_VERSION = "0.14.0";

/** Capsule administrators: the cluster-admin group of client-certificate kubeconfigs. */
export const DEFAULT_CAPSULE_ADMINISTRATORS = [{ kind: "Group", name: "system:masters" }] as const;
