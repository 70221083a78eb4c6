/**
 * Every default of the package, defined once: the stack config schema fills
 * them in and the components fall back to them, so a component used from
 * another program behaves as the stack program does.
 */

/** Branch Flux reconciles and commits to. */
export const DEFAULT_BRANCH = "main";

/** Deploy key algorithm: ECDSA P-384, as `flux bootstrap`. */
export const DEFAULT_KEY_ALGORITHM = "ecdsa-p384" as const;

/** The lockdown account for tenant objects that name none: it has no permissions. */
export const DEFAULT_SERVICE_ACCOUNT = "default";

/** SSH host of the Git server. */
export const DEFAULT_SSH_HOST = "github.com";

/** A tenant's path in its repository: the root. */
export const DEFAULT_TENANT_PATH = "./";

/** Capsule Helm chart version installed by default. */
export const CAPSULE_CHART_VERSION = "0.14.0";
