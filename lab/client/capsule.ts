/**
 * Capsule installed by `pulumi up` from its chart (`capsule.install: true`),
 * as the lab runs it: the chart comes from Capsule's Go module and the
 * Deployment it applies is run by the lab's runner (lab/controllers/up.sh
 * --capsule-chart). Used by the day-two suite's chart scenario.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { controllers } from "./flux";
import { LAB_DIR, ROOT } from "./lab";

/** The webhook port of lab/controllers/lib.sh (CTRL_CAPSULE_WEBHOOK_PORT). */
const WEBHOOK_PORT = Number(process.env.CTRL_CAPSULE_WEBHOOK_PORT ?? 19443);

/** A chart staged for `capsule.chart`: its directory and the Capsule version it installs. */
export interface StagedChart { dir: string; version: string }

/**
 * Copies the chart out of Capsule's module (lab/toolchain/capsule.sh --chart)
 * into `parent`, as Capsule's release workflow packages it: version and
 * appVersion set to the module's (the source says 0.0.0; the image tag is
 * `v<appVersion>`), and the `capsule-proxy` dependency dropped: it is
 * disabled by default (`proxy.enabled: false`) and served only from an OCI
 * registry the lab cannot reach, and Helm refuses a chart whose listed
 * dependency is missing even when disabled.
 */
export function stageCapsuleChart(parent: string): StagedChart {
  const src = execFileSync("bash", [path.join(ROOT, "lab/toolchain/capsule.sh"), "--chart"], { encoding: "utf8" }).trim();
  const version = /\/capsule@(v\d+\.\d+\.\d+)\//.exec(src)?.[1];
  if (!version) throw new Error(`lab/toolchain/capsule.sh --chart gave ${src}, not a path in github.com/projectcapsule/capsule@vX.Y.Z`);
  const dir = path.join(parent, "capsule");
  fs.cpSync(src, dir, { recursive: true });
  // The module cache is read-only; so is the copy.
  execFileSync("chmod", ["-R", "u+w", dir]);
  const chartYaml = path.join(dir, "Chart.yaml");
  const chart = parseDocument(fs.readFileSync(chartYaml, "utf8"));
  chart.set("version", version.slice(1));
  chart.set("appVersion", version.slice(1));
  chart.delete("dependencies");
  fs.writeFileSync(chartYaml, chart.toString());
  fs.rmSync(path.join(dir, "Chart.lock"), { force: true });
  return { dir, version };
}

/**
 * The chart values the lab needs over the component's, and why:
 * - `crds.install: false`: Helm installs the chart's `crds/` itself instead
 *   of the crd-lifecycle Job, and the hooks' Jobs are off: the lab runs no
 *   Job pods (kwok would only pretend they succeeded).
 * - `tls`: the certificate is the lab's (the chart creates Secret capsule-tls
 *   empty, and capsule-runner fills it: SAN IP:127.0.0.1), so Capsule neither
 *   makes one for the Service DNS name nor patches CA bundles.
 * - `webhooks.service.url`: the API server calls the webhooks at the port the
 *   runner gives Capsule on loopback, not through a Service (no pod network).
 */
export function labCapsuleValues(): Record<string, unknown> {
  const ca = fs.readFileSync(path.join(LAB_DIR, "controllers/capsule-tls/ca.crt"));
  return {
    crds: { install: false },
    tls: { create: false, enableController: false },
    global: { jobs: { postInstall: { enabled: false }, preDelete: { enabled: false } } },
    webhooks: { service: { url: `https://127.0.0.1:${WEBHOOK_PORT}`, caBundle: ca.toString("base64") } },
  };
}

/** Starts capsule-runner: Capsule then runs once `pulumi up` applies the chart. */
export function startCapsuleRunner(): void {
  controllers("up.sh", ["--only", "capsule", "--capsule-chart"]);
}
