// Where the time goes: self time of a V8 CPU profile by category, then the
// functions with the most self time.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof -r source-map-support/register \
//     -r ts-node/register/transpile-only bench/program-run.ts 1000
//   node -r ts-node/register/transpile-only bench/cpu-profile.ts /tmp/prof/*.cpuprofile [top]
import * as fs from "node:fs";

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** The category of a profile node, by the script it runs in. */
function category(frame: ProfileNode["callFrame"]): string {
  const { functionName: fn, url } = frame;
  if (fn === "(garbage collector)") return "garbage collection";
  if (fn === "(program)" || fn === "(idle)") return fn;
  if (/source-map-support|\/source-map\/|@jridgewell/.test(url)) return "source maps (stack trace formatting)";
  if (url.includes("/node_modules/@pulumi/pulumi/")) return "@pulumi/pulumi";
  if (url.includes("/node_modules/@pulumi/")) return "@pulumi/kubernetes, github, tls";
  if (/\/node_modules\/(ts-node|typescript)\//.test(url)) return "ts-node, typescript (compiling)";
  if (/\/node_modules\/(@grpc|google-protobuf)\//.test(url)) return "gRPC, protobuf (mock monitor)";
  if (url.includes("/node_modules/")) return "other packages";
  if (url.startsWith("node:")) return "Node.js internals";
  if (url !== "") return "this project";
  return "V8 builtins, native";
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error("usage: cpu-profile.ts <file.cpuprofile> [top]");
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const { callFrame } = nodes.get(id)!;
    const c = category(callFrame);
    byCategory.set(c, (byCategory.get(c) ?? 0) + us);
    const where = callFrame.url.replace(/.*\/node_modules\//, "").replace(/^file:\/\/.*?\/(components|bench|index\.ts)/, "$1");
    const key = `${callFrame.functionName || "(anonymous)"} ${where}${where ? `:${callFrame.lineNumber + 1}` : ""}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const line = (us: number, label: string) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${label}`;
  console.log(line(total, "total (self time, whole process)"));
  for (const [c, us] of [...byCategory].sort((a, b) => b[1] - a[1])) console.log(line(us, c));
  console.log("top functions (self time):");
  for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 20))) console.log(line(us, k));
}

if (require.main === module) main();
