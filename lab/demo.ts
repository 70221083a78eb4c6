/**
 * The demo's stack and controllers (run by lab/demo.sh, which has started the
 * lab and the GitHub double): Capsule, `pulumi up` of stack `e2e-demo`
 * (capsule mode, tenants dev-team and ops-team), Flux's controllers run by
 * lab/controllers/runner.ts from the Deployments that up applied, then a short threat table.
 * Leaves everything running.
 *
 *   node -r ts-node/register/transpile-only lab/demo.ts CONNECTION_JSON TOKEN STATE_DIR
 *
 * DEMO_TENANCY=namespace runs the stack in namespace mode (no Capsule).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { bootstrap } from "./client/bootstrap";
import { connectDouble, Connection, OWNER } from "./client/github";
import { Branch, controllers } from "./client/flux";
import { CONTEXT, KUBECONFIG, useLab } from "./client/lab";
import { LabStack, PLATFORM_REPO } from "./client/stack";
import { DEV, Mode, OPS, printTable, resetDev, Row, runIsolationOfFailures, runThreat, sa, seedBranch, tenantsFor, threats } from "./client/threats";

const log = (line: string) => process.stdout.write(`[demo ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<void> {
  const [connFile, token, stateDir] = process.argv.slice(2);
  if (!connFile || !token || !stateDir) throw new Error("usage: demo.ts CONNECTION_JSON TOKEN STATE_DIR");
  useLab();
  const double = connectDouble(JSON.parse(fs.readFileSync(connFile, "utf8")) as Connection, token);
  const dev = new Branch(double, token, OWNER, PLATFORM_REPO, DEV.name);
  const ops = new Branch(double, token, OWNER, PLATFORM_REPO, OPS.name);
  for (const [b, home] of [[dev, DEV.home], [ops, OPS.home]] as const) {
    if (!(await b.head())) await double.createBranch(OWNER, PLATFORM_REPO, b.branch);
    if (!(await double.readFile(OWNER, PLATFORM_REPO, "kustomization.yaml", b.branch))) await seedBranch(b, home);
  }
  log(`tenant branches ${DEV.name} and ${OPS.name} of ${OWNER}/${PLATFORM_REPO}: a ConfigMap each`);

  const mode: Mode = process.env.DEMO_TENANCY === "namespace" ? "namespace" : "capsule";
  const tenants = tenantsFor(mode);
  if (mode === "capsule") {
    log("stage capsule: Capsule v0.14.0 (controller + webhooks) first, so the Tenant CRD exists for pulumi");
    controllers("up.sh", ["--only", "capsule",
      ...tenants.flatMap((t) => ["--capsule-user", `ServiceAccount:${sa(t.namespaces[0]!, t.name)}`])]);
  }

  log(`stage pulumi and flux: pulumi up of stack e2e-demo (${mode} mode, 2 tenants), then source-controller + kustomize-controller run from the Deployments pulumi applied (lab/controllers/runner.ts)`);
  const lab = await LabStack.create({ name: "e2e-demo", tenancy: mode, tenants, double, token, stateDir });
  await bootstrap(lab, { log });

  log("stage threats: a short threat table (each a commit to dev-team's branch)");
  const rows: Row[] = [];
  for (const t of threats("").filter((x) => ["1", "2a", "4a", "5a", "6a", "7a", "7b"].includes(x.id))) rows.push(await runThreat(dev, mode, t));
  rows.push(await runIsolationOfFailures(dev, ops, mode));
  await resetDev(dev);
  printTable(rows);
  const failed = rows.filter((r) => !r.ok).length;
  log(failed === 0 ? "every threat behaved as expected" : `${failed} threat(s) did NOT behave as expected (see UNEXPECTED above)`);

  process.stdout.write(`
Explore (the lab keeps running):
  export KUBECONFIG=${KUBECONFIG}
  kubectl --context ${CONTEXT} get kustomizations,gitrepositories -A
  kubectl --context ${CONTEXT} get tenants                       (capsule mode)
  kubectl --context ${CONTEXT} -n ${DEV.home} get configmaps
  kubectl --context ${CONTEXT} auth can-i create namespaces --as ${sa(DEV.home, DEV.name)}
  (kubectl is in the toolchain: eval "$(bash lab/cluster/env.sh)" puts it on PATH)
Controller logs: ${path.join(path.dirname(KUBECONFIG), "controllers/logs")} (flux-runner.log: every Flux controller start/stop with its command line)
  kubectl --context ${CONTEXT} -n flux-system scale deployment kustomize-controller --replicas=0   (the runner stops it; 1 starts it again)
Pulumi state: ${stateDir} (stack e2e-demo)
`);
}

main().catch((e: unknown) => {
  process.stderr.write(`[demo] FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
