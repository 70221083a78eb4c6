/**
 * The flux-capsule policies: each wires one decision of `rules.ts` to
 * CrossGuard, with its configuration schema and defaults. Every policy is
 * mandatory unless the policy pack config says otherwise (README "Policy pack").
 */
import type { PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import {
  DEFAULT_FLUX_CONFIG,
  DEFAULT_RBAC_CONFIG,
  DEFAULT_SECRET_CONFIG,
  deployKeyProblems,
  fluxObjectProblems,
  LockdownConfig,
  lockdownProblems,
  RbacConfig,
  rbacProblems,
  ResourceInput,
  SecretConfig,
  secretProblems,
  StackProblem,
  StackResource,
  stackRbacProblems,
  stackSecretProblems,
  tenantNamespaceProblems,
} from "./rules";

/** The policy names, as policy pack config keys. */
export const POLICY_NAMES = {
  deployKey: "deploy-key-read-only",
  rbac: "no-tenant-escalation",
  rbacStack: "no-tenant-escalation-stack-roles",
  flux: "tenant-reconciler-account",
  lockdown: "controller-lockdown-flags",
  secret: "private-key-secret-placement",
  secretStack: "private-key-secret-tenant-home",
  namespaces: "one-tenant-per-namespace",
} as const;

const stringList = (description: string, dflt: readonly string[]) => ({ type: "array" as const, items: { type: "string" as const }, default: [...dflt], description });
const fluxNamespace = { type: "string" as const, default: DEFAULT_FLUX_CONFIG.fluxNamespace, description: "The Flux namespace." };

const rbacSchema: PolicyConfigSchema = {
  properties: {
    forbiddenRoles: stringList("Roles no tenant subject may hold (ClusterRole names; Roles as <namespace>/<name>).", DEFAULT_RBAC_CONFIG.forbiddenRoles),
    platformNamespaces: stringList("Namespaces whose ServiceAccounts are the platform's, not a tenant's (kube-* always are).", DEFAULT_RBAC_CONFIG.platformNamespaces),
  },
};
const secretSchema: PolicyConfigSchema = {
  properties: {
    fluxNamespace,
    allowedNamespaces: stringList("Further namespaces where a private key Secret may live.", DEFAULT_SECRET_CONFIG.allowedNamespaces),
  },
};

/** The policy's config, its schema's defaults filled in where the engine sent none. */
function configOf<T extends object>(args: { getConfig<C extends object>(): C }, defaults: T): T {
  const given = args.getConfig<Partial<T>>() ?? {};
  return { ...defaults, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as T;
}

/** What every policy of the pack carries besides its check: name, description, mandatory enforcement, a schema if it has one. */
function mandatory(name: string, description: string, configSchema: PolicyConfigSchema | undefined) {
  return { name, description, enforcementLevel: "mandatory" as const, ...(configSchema ? { configSchema } : {}) };
}

/** A resource policy reporting each problem of a pure check. */
function resourcePolicy<C extends object>(
  name: string,
  description: string,
  check: (r: ResourceInput, config: C) => string[],
  defaults: C,
  configSchema?: PolicyConfigSchema,
): ResourceValidationPolicy {
  return {
    ...mandatory(name, description, configSchema),
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
      for (const message of check({ type: args.type, props: args.props }, configOf(args, defaults))) report(message);
    },
  };
}

/** A stack policy reporting each problem of a pure check on its resource. */
function stackPolicy<C extends object>(
  name: string,
  description: string,
  check: (resources: StackResource[], config: C) => StackProblem[],
  defaults: C,
  configSchema?: PolicyConfigSchema,
): StackValidationPolicy {
  return {
    ...mandatory(name, description, configSchema),
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      const resources = args.resources.map((r) => ({ type: r.type, props: r.props, urn: r.urn, cluster: r.provider?.urn }));
      for (const p of check(resources, configOf(args, defaults))) report(p.message, p.urn);
    },
  };
}

/** Every policy of the pack, in README order. */
export const policies = [
  resourcePolicy(POLICY_NAMES.deployKey, "Every GitHub deploy key is read-only.", (r) => deployKeyProblems(r), {}),
  resourcePolicy<RbacConfig>(
    POLICY_NAMES.rbac,
    "No RoleBinding, ClusterRoleBinding, Capsule owner or additionalRoleBindings gives a tenant subject cluster-admin or another forbidden role.",
    rbacProblems,
    DEFAULT_RBAC_CONFIG,
    rbacSchema,
  ),
  stackPolicy<RbacConfig>(
    POLICY_NAMES.rbacStack,
    "No tenant subject is bound to a Role or ClusterRole of the stack that can escalate, bind or impersonate.",
    stackRbacProblems,
    DEFAULT_RBAC_CONFIG,
    rbacSchema,
  ),
  resourcePolicy(
    POLICY_NAMES.flux,
    "Every Flux Kustomization and HelmRelease outside the Flux namespace names a serviceAccountName of its own namespace and no source in another namespace.",
    fluxObjectProblems,
    DEFAULT_FLUX_CONFIG,
    { properties: { fluxNamespace } },
  ),
  resourcePolicy<LockdownConfig>(
    POLICY_NAMES.lockdown,
    "The Flux controller Deployments carry the multi-tenancy lockdown arguments.",
    lockdownProblems,
    DEFAULT_FLUX_CONFIG,
    { properties: { fluxNamespace, defaultServiceAccount: { type: "string", description: "The account --default-service-account must name (default: any but a controller's)." } } },
  ),
  resourcePolicy<SecretConfig>(
    POLICY_NAMES.secret,
    "A Secret holding a private key lives in the Flux namespace or, as <tenant>-deploy-key, in a tenant's namespace.",
    secretProblems,
    DEFAULT_SECRET_CONFIG,
    secretSchema,
  ),
  stackPolicy<SecretConfig>(
    POLICY_NAMES.secretStack,
    "A tenant's key Secret lives in a namespace labelled as that tenant's, where the stack holds that Namespace.",
    stackSecretProblems,
    DEFAULT_SECRET_CONFIG,
    secretSchema,
  ),
  stackPolicy(POLICY_NAMES.namespaces, "Every tenant namespace belongs to exactly one tenant.", (resources) => tenantNamespaceProblems(resources), {}),
];
