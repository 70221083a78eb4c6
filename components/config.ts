import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { capsuleProblems } from "./capsule/capsule";
import {
  CAPSULE_CHART_VERSION,
  DEFAULT_BRANCH,
  DEFAULT_KEY_ALGORITHM,
  DEFAULT_LOCKDOWN,
  DEFAULT_NETWORK_POLICY,
  DEFAULT_READY_TIMEOUT_SECONDS,
  DEFAULT_SERVICE_ACCOUNT,
  DEFAULT_SSH_HOST,
  DEFAULT_TENANCY,
  DEFAULT_TENANT_PATH,
  DEFAULT_WAIT_FOR_READY,
  defaultTenantBranch,
} from "./defaults";
import { fluxBootstrapProblems } from "./flux/validate";
import { KEY_ALGORITHMS, UserError } from "./shared";
import { serviceAccountUser, TENANCY_MODES, tenantNames, UNLIMITED } from "./tenant/render";
import { tenantProblems, tenantSetProblems } from "./tenant/validate";
import { ArgumentError, describe, dns1123LabelProblem, FieldProblem } from "./validation";

/** The config namespace of the stack program. */
export const CONFIG_NAMESPACE = "flux-capsule";

// Shapes, types and defaults only; every rule on a value is one of the
// shared checks the components run too (validation.ts and the validate
// modules), applied after the shape is known.
const fluxSchema = z.strictObject({
  version: z.string(),
  repository: z.string(),
  branch: z.string().default(DEFAULT_BRANCH),
  path: z.string(),
  componentsExtra: z.array(z.string()).default([]),
  manifests: z.string().min(1).optional(),
  manifestsSha256: z.string().optional(),
  keyAlgorithm: z.enum(KEY_ALGORITHMS as [string, ...string[]]).default(DEFAULT_KEY_ALGORITHM),
  keyRotation: z.string().optional(),
  adoptDeployKeyId: z.number().optional(),
  waitForReady: z.boolean().default(DEFAULT_WAIT_FOR_READY),
  readyTimeoutSeconds: z.number().default(DEFAULT_READY_TIMEOUT_SECONDS),
  lockdown: z.boolean().default(DEFAULT_LOCKDOWN),
  defaultServiceAccount: z.string().default(DEFAULT_SERVICE_ACCOUNT),
  registry: z.string().optional(),
  networkPolicy: z.boolean().default(DEFAULT_NETWORK_POLICY),
  tolerations: z.array(z.record(z.string(), z.unknown())).default([]),
  sshHost: z.string().default(DEFAULT_SSH_HOST),
  knownHosts: z.string().optional(),
});

const capsuleSchema = z.strictObject({
  install: z.boolean().default(false),
  administrators: z.array(z.strictObject({ kind: z.enum(["User", "Group", "ServiceAccount"]), name: z.string() })).optional(),
  version: z.string().default(CAPSULE_CHART_VERSION),
  chart: z.string().min(1).optional(),
  values: z.record(z.string(), z.unknown()).optional(),
});

const tenantSchema = z.strictObject({
  name: z.string(),
  namespaces: z.array(z.string()),
  repository: z.string().optional(),
  sharedRepository: z.boolean().default(false),
  branch: z.string().optional(),
  path: z.string().default(DEFAULT_TENANT_PATH),
  namespaceQuota: z.union([z.number(), z.literal(UNLIMITED)]).optional(),
  keyRotation: z.string().optional(),
  waitForReady: z.boolean().default(DEFAULT_WAIT_FOR_READY),
  renamedFrom: z.string().optional(),
});

const stackSchema = z.object({
  owner: z.string(),
  flux: fluxSchema,
  tenancy: z.enum(TENANCY_MODES as [string, ...string[]]).default(DEFAULT_TENANCY),
  // Parsed like a given `{}`, so its own defaults apply.
  capsule: capsuleSchema.prefault({}),
  reservedNamespaces: z.array(z.string()).default([]),
  tenants: z.array(tenantSchema).default([]),
});

/**
 * The keys of the config and of its objects, for the tests that keep
 * {@link PlatformArgs} the same shape and Pulumi.yaml's list of keys whole.
 */
export const CONFIG_KEYS = {
  stack: Object.keys(stackSchema.shape),
  flux: Object.keys(fluxSchema.shape),
  capsule: Object.keys(capsuleSchema.shape),
  tenant: Object.keys(tenantSchema.shape),
} as const;

/** The raw values the stack reads from config, before validation. */
export interface RawStackConfig {
  /** `github:owner`. */
  readonly owner?: unknown;
  /** `flux-capsule:flux`. */
  readonly flux?: unknown;
  /** `flux-capsule:tenancy`. */
  readonly tenancy?: unknown;
  /** `flux-capsule:capsule`. */
  readonly capsule?: unknown;
  /** `flux-capsule:reservedNamespaces`. */
  readonly reservedNamespaces?: unknown;
  /** `flux-capsule:tenants`. */
  readonly tenants?: unknown;
}

/** One tenant of the validated config, defaults applied. */
export interface TenantConfig {
  readonly name: string;
  readonly namespaces: string[];
  readonly repository: string;
  readonly branch: string;
  readonly path: string;
  readonly namespaceQuota?: number | typeof UNLIMITED;
  readonly sharedRepository: boolean;
  readonly keyRotation?: string;
  readonly waitForReady: boolean;
  readonly renamedFrom?: string;
}

/** The validated stack config, defaults applied. */
export interface StackConfig {
  readonly owner: string;
  readonly flux: z.infer<typeof fluxSchema> & { keyAlgorithm: "ecdsa-p384" | "ed25519" };
  readonly tenancy: "capsule" | "namespace";
  readonly capsule: z.infer<typeof capsuleSchema>;
  readonly reservedNamespaces: string[];
  readonly tenants: TenantConfig[];
}

/**
 * Bad stack configuration. The message names the key (and tenant) and how to
 * fix it; as a {@link UserError}, Pulumi prints it without a stack trace.
 */
export class ConfigError extends UserError {
  override readonly name = "ConfigError";
}

/**
 * How problems name the value they are about: the stack config's keys
 * (`flux-capsule:tenants[1].branch`, with the `pulumi config set` that fixes
 * it) or a component's arguments (`tenants[1].branch`).
 */
interface KeyNames {
  /** `["tenants", 1, "namespaces", 0]` -> the key as users write it. */
  key(path: readonly PropertyKey[]): string;
  /** How to give a required value that is missing. */
  fix(path: readonly PropertyKey[]): string;
  /** Where the accepted keys are listed. */
  readonly spelling: string;
}

/** `["tenants", 1, "namespaces", 0]` -> `flux-capsule:tenants[1].namespaces[0]`. */
function configKey(path: readonly PropertyKey[]): string {
  if (path[0] === "owner") return "github:owner";
  return CONFIG_NAMESPACE + ":" + argumentKey(path);
}

/** `["tenants", 1, "namespaces", 0]` -> `tenants[1].namespaces[0]`. */
function argumentKey(path: readonly PropertyKey[]): string {
  let key = "";
  path.forEach((part, i) => {
    if (typeof part === "number") key += `[${part}]`;
    else key += (i === 0 ? "" : ".") + String(part);
  });
  return key;
}

const STACK_KEYS: KeyNames = {
  key: configKey,
  fix: (path) => path[0] === "owner"
    ? "set it with `pulumi config set github:owner <org-or-user>`"
    : `set it with \`pulumi config set --path '${configKey(path)}' <value>\``,
  spelling: "Pulumi.yaml",
};

const ARGUMENT_KEYS: KeyNames = {
  key: argumentKey,
  fix: () => "give it in the arguments",
  spelling: "PlatformArgs (README \"Configuration\" lists every key)",
};

function zodProblem(issue: z.core.$ZodIssue, raw: RawStackConfig, names: KeyNames): string {
  const where = names.key(issue.path);
  const tenant = tenantLabel(issue.path, raw);
  if (issue.code === "invalid_type" && issue.input === undefined) return `${where}${tenant} is required; ${names.fix(issue.path)}`;
  if (issue.code === "unrecognized_keys") {
    return `${where}${tenant} has unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against ${names.spelling}`;
  }
  if (issue.code === "invalid_value") {
    return `${where}${tenant} is ${JSON.stringify(issue.input)}; use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return `${where}${tenant}: ${issue.message}`;
}

function tenantLabel(path: readonly PropertyKey[], raw: RawStackConfig): string {
  if (path[0] !== "tenants" || typeof path[1] !== "number" || !Array.isArray(raw.tenants)) return "";
  const name = (raw.tenants[path[1]] as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? ` "${name}"` : "";
}

/**
 * Validates the whole stack config at once and applies defaults. Throws one
 * {@link ConfigError} listing every problem, each naming its key, the tenant
 * and the fix, before any resource exists.
 */
export function parseStackConfig(raw: RawStackConfig): StackConfig {
  const parsed = parseSettings(raw, STACK_KEYS);
  if ("problems" in parsed) throw configError(parsed.problems);
  return parsed.config;
}

/**
 * The same checks and defaults for a component given the stack config's
 * shape as arguments ({@link Platform}): problems name the arguments
 * (`tenants[1].branch`), not config keys. Throws {@link ArgumentError}.
 */
export function parseSettingsArgs(component: string, name: string, raw: RawStackConfig): StackConfig {
  const parsed = parseSettings(raw, ARGUMENT_KEYS);
  if ("problems" in parsed) throw new ArgumentError(component, name, parsed.problems.map((problem) => ({ field: "", problem })));
  return parsed.config;
}

function parseSettings(raw: RawStackConfig, names: KeyNames): { config: StackConfig } | { problems: string[] } {
  const parsed = stackSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => zodProblem(i, raw, names)) };
  const c = parsed.data;
  const tenancy = c.tenancy as StackConfig["tenancy"];
  const problems: string[] = [];
  const at = (prefix: string, list: readonly FieldProblem[]) => problems.push(...describe(list).map((p) => `${prefix}${p}`));
  const key = (...path: PropertyKey[]) => names.key(path);

  const reconcilers = c.tenants.map((t) => t.name);
  const fluxPrefix = `${key("flux")}.`;
  const ownerPrefix = key("owner").slice(0, -"owner".length);
  for (const p of fluxBootstrapProblems({ ...c.flux, owner: c.owner }, reconcilers)) {
    at(p.field === "owner" ? ownerPrefix : fluxPrefix, [p]);
  }
  c.reservedNamespaces.forEach((ns, i) => {
    const p = dns1123LabelProblem(ns);
    if (p) problems.push(`${key("reservedNamespaces", i)} ${p}`);
  });
  // The reconcilers are derived from tenants checked below; here they only keep administrators apart from them.
  const tenantReconcilers = c.tenants.map((t) => serviceAccountUser(t.namespaces[0] ?? "", tenantNames(t.name).serviceAccount));
  at(`${key("capsule")}.`, capsuleProblems({ ...c.capsule, reconcilers: tenantReconcilers }).filter((p) => p.field !== "reconcilers"));

  const tenantPrefix = (i: number, tenantName: string) => `${key("tenants", i)} ${JSON.stringify(tenantName)}: `;
  const tenants = c.tenants.map((t, i) => {
    const prefix = tenantPrefix(i, t.name);
    at(prefix, tenantProblems(t, { mode: tenancy, reservedNamespaces: c.reservedNamespaces, defaultServiceAccount: c.flux.defaultServiceAccount }));
    const repository = t.repository ?? (t.sharedRepository ? c.flux.repository : undefined);
    if (repository === undefined) {
      problems.push(`${prefix}repository is required: give the tenant a repository of its own (its deploy key reads every branch of the ` +
        `repository it names), or set sharedRepository: true to reconcile from the platform repository ${JSON.stringify(c.flux.repository)}`);
    }
    return {
      name: t.name,
      namespaces: t.namespaces,
      repository: repository ?? c.flux.repository,
      branch: t.branch ?? defaultTenantBranch(t.name),
      path: t.path,
      namespaceQuota: t.namespaceQuota,
      sharedRepository: t.sharedRepository,
      ...(t.keyRotation === undefined ? {} : { keyRotation: t.keyRotation }),
      waitForReady: t.waitForReady,
      ...(t.renamedFrom === undefined ? {} : { renamedFrom: t.renamedFrom }),
    };
  });
  // A tenant missing its repository has been told above; the sharing check would only repeat it.
  const claims = tenants.map((t, i) => ({ ...t, sharedRepository: t.sharedRepository || c.tenants[i]!.repository === undefined }));
  for (const { index, problem } of tenantSetProblems(claims, c.flux.repository)) {
    problems.push(`${tenantPrefix(index, tenants[index]!.name)}${problem}`);
  }
  if (c.capsule.install && tenancy !== "capsule") {
    problems.push(`${key("capsule", "install")} is true but tenancy is "namespace"; set tenancy to capsule or install to false`);
  }
  if (problems.length > 0) return { problems };

  return {
    config: {
      owner: c.owner,
      flux: c.flux as StackConfig["flux"],
      tenancy,
      capsule: c.capsule,
      reservedNamespaces: c.reservedNamespaces,
      tenants,
    },
  };
}

function configError(problems: string[]): ConfigError {
  return new ConfigError(
    problems.length === 1 ? problems[0]! : `${problems.length} problems in the stack config:\n  - ${problems.join("\n  - ")}`,
  );
}

/** Reads the raw config of the current stack (`github:owner` and the `flux-capsule:*` keys). */
export function readStackConfig(): RawStackConfig {
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  return {
    owner: new pulumi.Config("github").get("owner"),
    flux: objectValue(cfg, "flux"),
    tenancy: cfg.get("tenancy"),
    capsule: objectValue(cfg, "capsule"),
    reservedNamespaces: objectValue(cfg, "reservedNamespaces"),
    tenants: objectValue(cfg, "tenants"),
  };
}

/**
 * `cfg.getObject(key)`, refusing a value that is not JSON as a {@link ConfigError}
 * naming the key (Pulumi's own error repeats the whole value, and carries frames).
 */
function objectValue(cfg: pulumi.Config, key: string): unknown {
  try {
    return cfg.getObject(key);
  } catch (err) {
    if (!pulumi.RunError.isInstance(err)) throw err;
    throw new ConfigError(`${cfg.name}:${key} is not valid JSON; write it as YAML structure under config: in Pulumi.<stack>.yaml, ` +
      `or set its parts with \`pulumi config set --path '${cfg.name}:${key}...'\``);
  }
}
