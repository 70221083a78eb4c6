// One measurement: the stack program with N tenants under Pulumi mocks, in
// this fresh process. Prints one JSON line:
//   ms, cpuMs        wall and CPU (user+sys) time of the program, from calling
//                    it to the last registration answered
//   processMs,       the whole process: Node start, loading and compiling the
//   processCpuMs     program (ts-node), the program, up to the last answer
//   peakRssMiB       the process's peak RSS
//   resources        resources registered
// bench/run.ts starts it the way the Pulumi language host starts a program
// (see hostArgs there); run by hand it only needs ts-node.
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as pulumi from "@pulumi/pulumi";

async function main(): Promise<void> {
  const n = Number(process.argv[2]);
  if (!Number.isInteger(n) || n < 0) throw new Error("usage: program-run.ts <tenants>");
  let registered = 0;
  await pulumi.runtime.setMocks({
    newResource: (args) => {
      registered++;
      const state: Record<string, unknown> = { ...args.inputs };
      if (args.type === "tls:index/privateKey:PrivateKey") state.publicKeyOpenssh = `ssh-ed25519 AAAA${args.name}\n`;
      // The program reads its own last update: a first update, nothing recorded.
      if (args.type === "pulumi:pulumi:StackReference") state.outputs = {};
      return { id: `${args.name}-id`, state };
    },
    call: (args) => { throw new Error(`unexpected call ${args.token}`); },
  }, "flux-capsule", "bench", false, "organization");
  pulumi.runtime.setAllConfig({
    "github:owner": "acme",
    "flux-capsule:flux": JSON.stringify({
      version: "v2.7.5", repository: "fleet-infra", path: "clusters/bench",
      manifests: path.join(__dirname, "..", "test", "fixtures", "flux-install.yaml"),
    }),
    "flux-capsule:tenancy": "capsule",
    "flux-capsule:tenants": JSON.stringify(Array.from({ length: n }, (_, i) => ({ name: `tenant-${i}`, namespaces: [`tenant-${i}-apps`], sharedRepository: true }))),
  });
  type Program = () => Promise<unknown>;
  const mod = (await import("../index")) as unknown as Program | { default: Program };
  const program = typeof mod === "function" ? mod : mod.default;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  await program();
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  const cpu = process.cpuUsage(cpuStart);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const total = process.cpuUsage();
  console.log(JSON.stringify({
    tenants: n,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    processMs: performance.now(),
    processCpuMs: (total.user + total.system) / 1000,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    resources: registered,
  }));
}

main().catch((err) => { console.error(err); process.exit(1); });
