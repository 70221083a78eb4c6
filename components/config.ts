import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CAPSULE_CHART_VERSION } from "./capsule/capsule";
import { KEY_ALGORITHMS } from "./deploy-key/deploy-key";
import { componentsProblem } from "./flux/render";
import { TENANCY_MODES } from "./tenant/render";
import { tenantProblems, tenantSetProblems } from "./tenant/validate";
import { dns1123LabelProblem, fluxVersionProblem, repoPathProblem } from "./validation";

/** The config namespace of the stack program. */
export const CONFIG_NAMESPACE = "flux-capsule";

const fluxSchema = z.strictObject({
  version: z.string(),
  repository: z.string().min(1),
  branch: z.string().min(1).default("main"),
  path: z.string(),
  componentsExtra: z.array(z.string()).default([]),
  manifests: z.string().min(1).optional(),
  keyAlgorithm: z.enum(KEY_ALGORITHMS as [string, ...string[]]).default("ecdsa-p384"),
  lockdown: z.boolean().default(true),
  defaultServiceAccount: z.string().default("default"),
  registry: z.string().min(1).optional(),
  networkPolicy: z.boolean().default(true),
  tolerations: z.array(z.record(z.string(), z.unknown())).default([]),
  sshHost: z.string().min(1).default("github.com"),
  knownHosts: z.string().min(1).optional(),
});

const capsuleSchema = z.strictObject({
  install: z.boolean().default(false),
  administrators: z.array(z.strictObject({ kind: z.enum(["User", "Group", "ServiceAccount"]), name: z.string().min(1) })).min(1).optional(),
  version: z.string().min(1).default(CAPSULE_CHART_VERSION),
  chart: z.string().min(1).optional(),
});

const tenantSchema = z.strictObject({
  name: z.string(),
  namespaces: z.array(z.string()),
  repository: z.string().min(1).optional(),
  branch: z.string().optional(),
  path: z.string().default("./"),
  namespaceQuota: z.number().optional(),
});

const stackSchema = z.object({
  owner: z.string().min(1),
  flux: fluxSchema,
  tenancy: z.enum(TENANCY_MODES as [string, ...string[]]).default("capsule"),
  capsule: capsuleSchema.default({ install: false, version: CAPSULE_CHART_VERSION }),
  tenants: z.array(tenantSchema).default([]),
});

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
  readonly namespaceQuota?: number;
}

/** The validated stack config, defaults applied. */
export interface StackConfig {
  readonly owner: string;
  readonly flux: z.infer<typeof fluxSchema> & { keyAlgorithm: "ecdsa-p384" | "ed25519" };
  readonly tenancy: "capsule" | "namespace";
  readonly capsule: z.infer<typeof capsuleSchema>;
  readonly tenants: TenantConfig[];
}

/**
 * Bad stack configuration. The message names the key (and tenant) and how to
 * fix it; as a RunError, Pulumi prints it without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
  override readonly name = "ConfigError";
}

/** `["tenants", 1, "namespaces", 0]` -> `flux-capsule:tenants[1].namespaces[0]` (the key as users write it). */
function keyOf(path: readonly PropertyKey[]): string {
  if (path[0] === "owner") return "github:owner";
  let key = CONFIG_NAMESPACE;
  path.forEach((part, i) => {
    if (typeof part === "number") key += `[${part}]`;
    else key += (i === 0 ? ":" : ".") + String(part);
  });
  return key;
}

function setHint(path: readonly PropertyKey[]): string {
  if (path[0] === "owner") return "set it with `pulumi config set github:owner <org-or-user>`";
  return `set it with \`pulumi config set --path '${keyOf(path).replace(/\[(\d+)\]/g, "[$1]")}' <value>\``;
}

function zodProblem(issue: z.core.$ZodIssue, raw: RawStackConfig): string {
  const where = keyOf(issue.path);
  const tenant = tenantLabel(issue.path, raw);
  if (issue.code === "invalid_type" && issue.input === undefined) return `${where}${tenant} is required; ${setHint(issue.path)}`;
  if (issue.code === "unrecognized_keys") {
    return `${where}${tenant} has unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against Pulumi.yaml`;
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
  const parsed = stackSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw configError(parsed.error.issues.map((i) => zodProblem(i, raw)));
  const c = parsed.data;
  const problems: string[] = [];
  const flux = (field: string, p: string | undefined) => p && problems.push(`${CONFIG_NAMESPACE}:flux.${field} ${p}`);
  flux("version", fluxVersionProblem(c.flux.version));
  flux("path", repoPathProblem(c.flux.path));
  flux("componentsExtra", componentsProblem(c.flux.componentsExtra));
  flux("defaultServiceAccount", dns1123LabelProblem(c.flux.defaultServiceAccount));

  const tenancy = c.tenancy as StackConfig["tenancy"];
  c.tenants.forEach((t, i) => {
    for (const p of tenantProblems(t, tenancy)) problems.push(`${CONFIG_NAMESPACE}:tenants[${i}] "${t.name}": ${p}`);
  });
  for (const { index, problem } of tenantSetProblems(c.tenants)) {
    problems.push(`${CONFIG_NAMESPACE}:tenants[${index}] "${c.tenants[index]!.name}": ${problem}`);
  }
  if (c.capsule.install && tenancy !== "capsule") {
    problems.push(`${CONFIG_NAMESPACE}:capsule.install is true but tenancy is "namespace"; set tenancy to capsule or install to false`);
  }
  if (problems.length > 0) throw configError(problems);

  return {
    owner: c.owner,
    flux: c.flux as StackConfig["flux"],
    tenancy,
    capsule: c.capsule,
    tenants: c.tenants.map((t) => ({
      name: t.name,
      namespaces: t.namespaces,
      repository: t.repository ?? c.flux.repository,
      branch: t.branch ?? t.name,
      path: t.path,
      namespaceQuota: t.namespaceQuota,
    })),
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
    flux: cfg.getObject("flux"),
    tenancy: cfg.get("tenancy"),
    capsule: cfg.getObject("capsule"),
    tenants: cfg.getObject("tenants"),
  };
}
