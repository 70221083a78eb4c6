// `npm run bench`: measures, prints tables and refreshes the measured block of
// docs/BENCHMARKS.md (between the bench:program markers; the rest of the file
// is prose and kept as it is).
//
// Program cost: the stack program with N tenants under Pulumi mocks, each run
// in a fresh process (so peak RSS is that run's), RUNS times per N; medians
// with min-max. Processes are started the way the Pulumi Node.js language
// host starts a TypeScript program (hostArgs), with Pulumi.yaml's nodeargs.
// Startup: loading index.ts the way the language host does (ts-node with
// type checking unless the tsconfig says noCheck), before the program runs.
//
// Engine rows (bench/engine.ts): `pulumi up` against the lab side by side
// with kubectl, when the lab is up (`npm run lab:up`); without it they are
// skipped, saying so, and the program rows still run.
//
//   BENCH_PROGRAM=0 / BENCH_ENGINE=0   skip the program / engine rows
//   BENCH_RUNS, BENCH_TENANTS          program rows (default 5; 10,100,1000)
//   BENCH_ENGINE_RUNS, BENCH_ENGINE_RUNS_<N> (runs at one N), BENCH_ENGINE_TENANTS, BENCH_VARIANT_RUNS,
//   BENCH_READY_TENANTS, BENCH_READY_RUNS, BENCH_VARIANTS, BENCH_BEFORE (a commit whose program runs as a variant),
//   BENCH_PEER_TENANTS (the flux CLI beside pulumi up; empty skips it)
//                                      engine rows (default 5; 1,10,50; 3; 10; 5;
//                                      writeDelay,skipCheckpoints,typeCheck; also parallel)
//   BENCH_DOC=none                     print only; leave docs/BENCHMARKS.md alone
//   BENCH_REQUIRE_ENGINE=1             fail instead of skipping the engine rows (CI)
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { engineBench, sizes, Stats } from "./engine";

const ROOT = path.resolve(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES = (process.env.BENCH_TENANTS ?? "10,100,1000").split(",").map(Number);
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3);
const DOC = process.env.BENCH_DOC === "none" ? undefined : path.join(ROOT, "docs", "BENCHMARKS.md");
const BEGIN = "<!-- bench:program:begin (written by npm run bench) -->";
const END = "<!-- bench:program:end -->";
const ENGINE_BEGIN = "<!-- bench:engine:begin (written by npm run bench) -->";
const ENGINE_END = "<!-- bench:engine:end -->";

interface Sample {
  tenants: number;
  ms: number;
  cpuMs: number;
  processMs: number;
  processCpuMs: number;
  peakRssMiB: number;
  resources: number;
}

/** Median, min and max of numbers. */
function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** What the project's Pulumi.yaml tells the language host. */
interface HostConfig { nodeargs: string[]; tsconfig: string }

function hostConfig(): HostConfig {
  const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    main?: string;
    runtime?: string | { name: string; options?: { typescript?: boolean; nodeargs?: string; tsconfig?: string } };
  };
  const options = typeof project.runtime === "object" ? project.runtime.options ?? {} : {};
  // program-run.ts imports ../index.ts through ts-node: that is what the
  // host runs only while Pulumi.yaml names index.ts with TypeScript on.
  if (path.resolve(ROOT, project.main ?? "index.ts") !== path.join(ROOT, "index.ts") || options.typescript === false) {
    throw new Error("Pulumi.yaml no longer runs index.ts through ts-node; bench/program-run.ts would not measure what pulumi runs");
  }
  const nodeargs = (options.nodeargs ?? "").trim();
  if (/["'\\]/.test(nodeargs)) throw new Error("bench/run.ts splits runtime.options.nodeargs on spaces only; no quoting");
  return { nodeargs: nodeargs === "" ? [] : nodeargs.split(/\s+/), tsconfig: options.tsconfig ?? "tsconfig.json" };
}

/**
 * Node arguments as the language host has them: Pulumi.yaml's nodeargs, then
 * @pulumi/pulumi/cmd/run, which installs source-map-support before anything
 * else, then ts-node, which installs its own source-map hook over it. (The
 * host's ts-node also type-checks unless the tsconfig says noCheck; that is
 * load time, before the program runs: see startup().)
 */
function hostArgs(host: HostConfig): string[] {
  return [...host.nodeargs, "-r", "source-map-support/register", "-r", "ts-node/register/transpile-only"];
}

function measureProgram(host: HostConfig, tenants: number): Sample {
  const out = execFileSync("node", [...hostArgs(host), path.join(__dirname, "program-run.ts"), String(tenants)], {
    cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as Sample;
}

/**
 * Loads index.ts as the language host does before running it: source-map
 * support, then ts-node registered with the host's options (type checking
 * unless `transpileOnly`). Wall and CPU time of the whole process.
 */
function measureStartup(host: HostConfig, transpileOnly: boolean): { ms: number; cpuMs: number } {
  const script = `
    require("source-map-support/register");
    require("ts-node").register({
      project: ${JSON.stringify(host.tsconfig)}, transpileOnly: ${transpileOnly},
      compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true" },
    });
    require("./index.ts");
    const cpu = process.cpuUsage();
    console.log(JSON.stringify({ ms: require("node:perf_hooks").performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 }));`;
  const out = execFileSync("node", [...host.nodeargs, "-e", script], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.trim().split("\n").pop()!) as { ms: number; cpuMs: number };
}

/** noCheck of the tsconfig the host uses (it runs ts-node transpile-only when set). */
function tsconfigNoCheck(file: string): boolean {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  return /"noCheck"\s*:\s*true/.test(text);
}

function fmt(s: Stats, digits = 0): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, ${os.type()} ${os.release()}`;
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" / ");

/** The commit measured, and whether the working tree differs from it. */
function revision(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "index.ts", "components", "Pulumi.yaml", "tsconfig.json", "package.json"],
      { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return `commit ${head}${dirty ? " with uncommitted changes to the program" : ""}`;
  } catch {
    return "no git checkout";
  }
}

/** Replaces the block between `begin` and `end` markers of docs/BENCHMARKS.md (unless BENCH_DOC=none). */
function writeBlock(begin: string, end: string, body: string): void {
  if (DOC === undefined) return;
  const doc = fs.readFileSync(DOC, "utf8");
  const at = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  if (at < 0 || stop < at) throw new Error(`${DOC} has no ${begin} … ${end} block to refresh`);
  fs.writeFileSync(DOC, doc.slice(0, at) + `${begin}\n${body}\n${end}` + doc.slice(stop + end.length));
  process.stderr.write(`[bench] refreshed ${path.relative(ROOT, DOC)} (${begin})\n`);
}

function programRows(): void {
  const pulumiVersion = (JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/pulumi/package.json"), "utf8")) as { version: string }).version;
  const host = hostConfig();
  const loadBefore = load();
  const rows: { tenants: number; ms: Stats; cpu: Stats; processCpu: Stats; rss: Stats; resources: number }[] = [];
  for (const n of SIZES) {
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = measureProgram(host, n);
      process.stderr.write(`[bench] program N=${n} run ${i + 1}/${RUNS}: ${s.ms.toFixed(0)} ms wall, ${s.cpuMs.toFixed(0)} ms CPU, ` +
        `process ${s.processCpuMs.toFixed(0)} ms CPU, ${s.peakRssMiB.toFixed(0)} MiB, ${s.resources} resources (load ${load()})\n`);
      samples.push(s);
    }
    rows.push({
      tenants: n,
      ms: stats(samples.map((s) => s.ms)),
      cpu: stats(samples.map((s) => s.cpuMs)),
      processCpu: stats(samples.map((s) => s.processCpuMs)),
      rss: stats(samples.map((s) => s.peakRssMiB)),
      resources: samples[0]!.resources,
    });
  }
  const table = [
    "| tenants | resources | wall ms | CPU ms | process CPU ms | peak RSS MiB |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => `| ${r.tenants} | ${r.resources} | ${fmt(r.ms)} | ${fmt(r.cpu)} | ${fmt(r.processCpu)} | ${fmt(r.rss)} |`),
  ].join("\n");
  const t100 = rows.find((r) => r.tenants === 100)?.ms.median;
  const t1000 = rows.find((r) => r.tenants === 1000)?.ms.median;
  const ratio = t100 && t1000 ? t1000 / t100 : undefined;
  const goals = t1000 === undefined ? "" :
    `Goals: N=1000 in at most 10 s: ${(t1000 / 1000).toFixed(1)} s (${t1000 <= 10_000 ? "met" : "missed"}); ` +
    `t(1000)/t(100) at most 11: ${ratio === undefined ? "n/a" : `${ratio.toFixed(2)} (${ratio <= 11 ? "met" : "missed"})`}.`;

  const noCheck = tsconfigNoCheck(host.tsconfig);
  const startupRows: string[] = [];
  for (const transpileOnly of [noCheck, !noCheck]) {
    const samples = Array.from({ length: STARTUP_RUNS }, () => measureStartup(host, transpileOnly));
    const label = `${transpileOnly ? "ts-node transpile-only" : "ts-node with type checking"}${transpileOnly === noCheck ? " (as configured)" : ""}`;
    startupRows.push(`| ${label} | ${fmt(stats(samples.map((s) => s.ms)))} | ${fmt(stats(samples.map((s) => s.cpuMs)))} |`);
    process.stderr.write(`[bench] startup ${label}: ${samples.map((s) => s.ms.toFixed(0)).join(", ")} ms\n`);
  }
  const startup = ["| loading index.ts | wall ms | CPU ms |", "| --- | ---: | ---: |", ...startupRows].join("\n");
  const loadAfter = load();
  console.log(`${table}\n\n${goals}\n\n${startup}\n`);

  writeBlock(BEGIN, END, [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC at ${revision()}, on ${machine()}; @pulumi/pulumi ${pulumiVersion}. ` +
    `${RUNS} runs per row, each in a fresh process, medians (min–max); load average (1/5/15 min) ${loadBefore} before, ${loadAfter} after. ` +
    `Node arguments: \`${hostArgs(host).join(" ")}\`.`,
    "",
    table,
    ...(goals ? ["", goals] : []),
    "",
    `Startup, ${STARTUP_RUNS} runs each (not part of the figures above):`,
    "",
    startup,
  ].join("\n"));
}

async function engineRows(): Promise<void> {
  const loadBefore = load();
  const runs = Number(process.env.BENCH_ENGINE_RUNS ?? 5);
  const report = await engineBench({
    sizes: sizes(process.env.BENCH_ENGINE_TENANTS ?? "1,10,50"),
    runs,
    runsFor: (n) => (process.env[`BENCH_ENGINE_RUNS_${n}`] === undefined ? undefined : Number(process.env[`BENCH_ENGINE_RUNS_${n}`])),
    variantRuns: Number(process.env.BENCH_VARIANT_RUNS ?? 3),
    variants: (process.env.BENCH_VARIANTS ?? "writeDelay,skipCheckpoints,typeCheck").split(","),
    before: process.env.BENCH_BEFORE || undefined,
    readyTenants: Number(process.env.BENCH_READY_TENANTS ?? 10),
    peerSizes: process.env.BENCH_PEER_TENANTS === "" ? [] : sizes(process.env.BENCH_PEER_TENANTS ?? "1,10,50"),
    readyRuns: Number(process.env.BENCH_READY_RUNS ?? runs),
    stats,
    // The seconds since the bench started lead each line, so a stall between two lines shows in a log without timestamps.
    log: (line) => process.stderr.write(`[bench +${process.uptime().toFixed(0)} s] ${line} (load ${load()})\n`),
  });
  console.log(report.markdown);
  if (report.skipped) {
    if (process.env.BENCH_REQUIRE_ENGINE === "1") throw new Error(`BENCH_REQUIRE_ENGINE=1 but ${report.markdown}`);
    process.stderr.write("[bench] engine rows skipped; docs/BENCHMARKS.md keeps the last measured ones\n");
    return;
  }
  writeBlock(ENGINE_BEGIN, ENGINE_END, [
    `At ${revision()}, on ${machine()}; load average (1/5/15 min) ${loadBefore} before, ${load()} after.`,
    "",
    report.markdown,
  ].join("\n"));
  if (report.failures.length > 0) throw new Error(`engine rows: ${report.failures.join("; ")}`);
}

async function main(): Promise<void> {
  if (process.env.BENCH_PROGRAM !== "0") programRows();
  if (process.env.BENCH_ENGINE !== "0") await engineRows();
}

main().catch((err) => {
  process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
