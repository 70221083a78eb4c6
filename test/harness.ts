import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { RecordingMocks, settle, useMocks } from "./mocks";

/** The trimmed Flux install.yaml used instead of a download. */
export const FIXTURE = path.join(__dirname, "fixtures", "flux-install.yaml");

/** Stack config as a test writes it: plain objects, stringified for the engine. */
export interface TestConfig {
  owner?: string;
  flux?: Record<string, unknown>;
  tenancy?: string;
  capsule?: Record<string, unknown>;
  tenants?: Record<string, unknown>[];
  reservedNamespaces?: string[];
  context?: string;
  /** Further engine config, as given: `{ "github:parallelRequests": "true" }`. */
  raw?: Record<string, string>;
}

/** A valid two-tenant config: the base every test varies. */
export function baseConfig(): Required<Omit<TestConfig, "context" | "raw" | "reservedNamespaces">> {
  return {
    owner: "acme",
    flux: { version: "v2.7.5", repository: "fleet-infra", path: "clusters/dev", manifests: FIXTURE },
    tenancy: "capsule",
    capsule: { install: true },
    tenants: [
      { name: "dev-team", namespaces: ["dev-team-apps", "dev-team-tools"], namespaceQuota: 3, sharedRepository: true },
      { name: "ops-team", namespaces: ["ops-team-apps"], repository: "ops-fleet", branch: "main", path: "./clusters/dev" },
    ],
  };
}

function toEngineConfig(c: TestConfig): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.owner !== undefined) out["github:owner"] = c.owner;
  if (c.context !== undefined) out["kubernetes:context"] = c.context;
  if (c.flux !== undefined) out["flux-capsule:flux"] = JSON.stringify(c.flux);
  if (c.tenancy !== undefined) out["flux-capsule:tenancy"] = c.tenancy;
  if (c.capsule !== undefined) out["flux-capsule:capsule"] = JSON.stringify(c.capsule);
  if (c.tenants !== undefined) out["flux-capsule:tenants"] = JSON.stringify(c.tenants);
  if (c.reservedNamespaces !== undefined) out["flux-capsule:reservedNamespaces"] = JSON.stringify(c.reservedNamespaces);
  return { ...out, ...c.raw };
}

/** Runs the stack program (index.ts) under mocks with `config`; returns what the engine saw. */
export async function runStack(config: TestConfig, mocks?: RecordingMocks): Promise<{ mocks: RecordingMocks; outputs: Record<string, unknown> }> {
  mocks ??= await useMocks();
  pulumi.runtime.setAllConfig(toEngineConfig(config));
  type Program = () => Promise<Record<string, unknown>>;
  const mod = (await import("../index")) as unknown as Program | { default: Program };
  const program = typeof mod === "function" ? mod : mod.default;
  const outputs = await program();
  await settle(mocks);
  return { mocks, outputs };
}

/** Runs the stack program and returns the error it throws (fails when it does not throw). */
export async function stackError(config: TestConfig): Promise<Error> {
  return (await stackRefusal(config)).error;
}

/**
 * Runs the stack program expecting it to fail; returns the error and every
 * resource the engine had been sent by then (a refusal must send none).
 */
export async function stackRefusal(config: TestConfig): Promise<{ error: Error; registered: string[] }> {
  const mocks = await useMocks();
  try {
    await runStack(config, mocks);
  } catch (err) {
    await settle(mocks);
    return { error: err as Error, registered: mocks.resources.map((r) => `${r.type} ${r.name}`) };
  }
  throw new Error("expected the stack program to fail, but it succeeded");
}
