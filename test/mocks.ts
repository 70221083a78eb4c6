import * as pulumi from "@pulumi/pulumi";

/** One resource as the engine received it. */
export interface Registered {
  /** Type token, e.g. `kubernetes:core/v1:Secret`. */
  readonly type: string;
  /** Resource name. */
  readonly name: string;
  /** Inputs as sent, secrets still wrapped (see {@link isSecretValue}). */
  readonly inputs: Record<string, unknown>;
  /** The URN, which encodes the parent chain. */
  urn?: string;
  /** URNs this resource waits for (dependsOn and inputs from other resources). */
  dependencies: string[];
  /** Provider reference (`<urn>::<id>`), when one was given. */
  readonly provider?: string;
  /** The id asked for: an import's (the `import` option), when one was given. */
  readonly importId?: string;
}

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** True when `value` is a secret as serialised to the engine. */
export function isSecretValue(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** `value` with every secret wrapper removed, to compare plain data. */
export function reveal<T = unknown>(value: unknown): T {
  if (isSecretValue(value)) return reveal((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map((v) => reveal(v)) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)])) as T;
  }
  return value as T;
}

/** The OpenSSH key type the tls provider gives each algorithm (and ECDSA curve) it can write in OpenSSH form. */
const OPENSSH_KEY_TYPES: Readonly<Record<string, string>> = {
  RSA: "ssh-rsa", ED25519: "ssh-ed25519",
  "ECDSA P256": "ecdsa-sha2-nistp256", "ECDSA P384": "ecdsa-sha2-nistp384", "ECDSA P521": "ecdsa-sha2-nistp521",
};

/**
 * Fake public keys: of the type the key's inputs ask for (the tls provider's
 * default curve, P224, has no OpenSSH form) and distinct per resource, so
 * equality tests mean something.
 */
function fakePublicKey(name: string, inputs: Record<string, unknown>): string {
  const algorithm = inputs.algorithm === "ECDSA" ? `ECDSA ${String(inputs.ecdsaCurve ?? "P224")}` : String(inputs.algorithm);
  const type = OPENSSH_KEY_TYPES[algorithm];
  if (!type) throw new Error(`tls PrivateKey ${name}: ${algorithm} has no OpenSSH public key`);
  return `${type} AAAAFAKE${Buffer.from(name).toString("base64")}\n`;
}

/**
 * Records every registered resource and answers with plausible outputs.
 * `call` throws: components must not invoke provider functions, so any
 * invoke is a mistake to see, not to paper over.
 */
export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: Registered[] = [];
  /** The outputs a StackReference reads (the stack program reads its own last update's). */
  stackOutputs: Record<string, unknown> = {};

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    const record: Registered = { type: args.type, name: args.name, inputs: args.inputs, dependencies: [], provider: args.provider, ...(args.id ? { importId: args.id } : {}) };
    this.resources.push(record);
    const state: Record<string, unknown> = { ...args.inputs };
    switch (args.type) {
      case "tls:index/privateKey:PrivateKey":
        state.publicKeyOpenssh = fakePublicKey(args.name, args.inputs as Record<string, unknown>);
        state.privateKeyOpenssh = `-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE ${args.name}\n-----END OPENSSH PRIVATE KEY-----\n`;
        state.publicKeyFingerprintSha256 = `SHA256:fake-${args.name}`;
        break;
      case "github:index/repositoryFile:RepositoryFile":
        state.commitSha = `sha-${args.name}`;
        break;
      case "pulumi:pulumi:StackReference":
        state.outputs = this.stackOutputs;
        state.secretOutputNames = [];
        break;
    }
    if (args.type.startsWith("kubernetes:") && typeof state.metadata === "object" && state.metadata !== null) {
      state.metadata = { ...(state.metadata as object), uid: `uid-${args.name}` };
    }
    return { id: `${args.name}-id`, state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    throw new Error(`unexpected provider call ${args.token}(${JSON.stringify(args.inputs)})`);
  }

  /** Resources of one type. */
  ofType(type: string): Registered[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** The one resource of `type` named `name`; fails loudly otherwise. */
  one(type: string, name: string): Registered {
    const found = this.resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) {
      throw new Error(`expected one ${type} named ${name}, found ${found.length}; have: ${this.resources.map((r) => `${r.type} ${r.name}`).join(", ")}`);
    }
    return found[0]!;
  }
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
}

/**
 * Starts a fresh mocked engine and returns its recorder. The mock monitor does
 * not pass dependencies to `newResource`, so its `registerResource` is wrapped
 * to record them from the request the SDK really sent.
 */
export async function useMocks(stack = "dev"): Promise<RecordingMocks> {
  const mocks = new RecordingMocks();
  await pulumi.runtime.setMocks(mocks, "flux-capsule", stack, false, "organization");
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: (err: unknown, resp: unknown) => void): Promise<void>;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = async (req, callback) => {
    await register(req, callback);
    const record = mocks.resources.filter((r) => r.type === req.getType() && r.name === req.getName()).pop();
    if (record) record.dependencies = req.getDependenciesList();
  };
  return mocks;
}

/** Waits until every registration sent so far has been answered, then attaches URNs. */
export async function settle(mocks: RecordingMocks): Promise<void> {
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  const monitor = pulumi.runtime.getMonitor() as unknown as { resources: Map<string, unknown> };
  const urns = [...monitor.resources.keys()];
  for (const r of mocks.resources) {
    r.urn = urns.find((u) => u.endsWith(`::${r.name}`) && u.split("::")[2]!.split("$").pop() === r.type);
  }
}

/** The value of an output, for assertions. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
}

/**
 * The type of a registered resource's parent (the mock monitor writes only
 * the immediate parent's type into a URN), or "" for a top-level resource.
 */
export function parentType(r: Registered): string {
  if (!r.urn) throw new Error(`no URN for ${r.type} ${r.name}; call settle() first`);
  const chain = r.urn.split("::")[2]!.split("$");
  return chain.slice(0, -1).join("$");
}
