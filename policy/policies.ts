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

/** What a policy of the pack is besides its check: its name, description, config defaults and schema (if it has config). */
interface PolicyInfo<C extends object> {
  readonly name: string;
  readonly description: string;
  readonly defaults: C;
  readonly configSchema?: PolicyConfigSchema;
}

/** The fields every policy of the pack carries: enforcement is always mandatory. */
function mandatory({ name, description, configSchema }: PolicyInfo<object>) {
  return { name, description, enforcementLevel: "mandatory" as const, ...(configSchema ? { configSchema } : {}) };
}

/** A resource policy reporting each problem of a pure check. */
function resourcePolicy<C extends object>(info: PolicyInfo<C>, check: (r: ResourceInput, config: C) => string[]): ResourceValidationPolicy {
  return {
    ...mandatory(info),
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
      for (const message of check({ type: args.type, props: args.props }, configOf(args, info.defaults))) report(message);
    },
  };
}

/** A stack policy reporting each problem of a pure check on its resource. */
function stackPolicy<C extends object>(info: PolicyInfo<C>, check: (resources: StackResource[], config: C) => StackProblem[]): StackValidationPolicy {
  return {
    ...mandatory(info),
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      const resources = args.resources.map((r) => ({ type: r.type, props: r.props, urn: r.urn, cluster: r.provider?.urn }));
      for (const p of check(resources, configOf(args, info.defaults))) report(p.message, p.urn);
    },
  };
}

/** Every policy of the pack, in README order. */
export const policies = [
  resourcePolicy({ name: POLICY_NAMES.deployKey, description: "Every GitHub deploy key is read-only.", defaults: {} }, (r) => deployKeyProblems(r)),
  resourcePolicy<RbacConfig>(
    {
      name: POLICY_NAMES.rbac,
      description: "No RoleBinding, ClusterRoleBinding, Capsule owner or additionalRoleBindings gives a tenant subject cluster-admin or another forbidden role.",
      defaults: DEFAULT_RBAC_CONFIG,
      configSchema: rbacSchema,
    },
    rbacProblems,
  ),
  stackPolicy<RbacConfig>(
    {
      name: POLICY_NAMES.rbacStack,
      description: "No tenant subject is bound to a Role or ClusterRole of the stack that can escalate, bind or impersonate.",
      defaults: DEFAULT_RBAC_CONFIG,
      configSchema: rbacSchema,
    },
    stackRbacProblems,
  ),
  resourcePolicy(
    {
      name: POLICY_NAMES.flux,
      description:
        "Every Flux Kustomization and HelmRelease outside the Flux namespace names a serviceAccountName of its own namespace and no source in another namespace.",
      defaults: DEFAULT_FLUX_CONFIG,
      configSchema: { properties: { fluxNamespace } },
    },
    fluxObjectProblems,
  ),
  resourcePolicy<LockdownConfig>(
    {
      name: POLICY_NAMES.lockdown,
      description: "The Flux controller Deployments carry the multi-tenancy lockdown arguments.",
      defaults: DEFAULT_FLUX_CONFIG,
      configSchema: {
        properties: {
          fluxNamespace,
          defaultServiceAccount: { type: "string", description: "The account --default-service-account must name (default: any but a controller's)." },
        },
      },
    },
    lockdownProblems,
  ),
  resourcePolicy<SecretConfig>(
    {
      name: POLICY_NAMES.secret,
      description: "A Secret holding a private key lives in the Flux namespace or, as <tenant>-deploy-key, in a tenant's namespace.",
      defaults: DEFAULT_SECRET_CONFIG,
      configSchema: secretSchema,
    },
    secretProblems,
  ),
  stackPolicy<SecretConfig>(
    {
      name: POLICY_NAMES.secretStack,
      description: "A tenant's key Secret lives in a namespace labelled as that tenant's, where the stack holds that Namespace.",
      defaults: DEFAULT_SECRET_CONFIG,
      configSchema: secretSchema,
    },
    stackSecretProblems,
  ),
  stackPolicy({ name: POLICY_NAMES.namespaces, description: "Every tenant namespace belongs to exactly one tenant.", defaults: {} }, (resources) =>
    tenantNamespaceProblems(resources),
  ),
];
