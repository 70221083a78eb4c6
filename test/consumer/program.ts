// A Pulumi program of another team, importing the published package by name.
// Compiled and run by test/consumer.test.ts against `npm pack` output.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Capsule, FluxBootstrap, loadFluxManifests, Tenant, TenantArgs } from "flux-capsule";

export async function main(manifestsFile: string): Promise<{ reconciler: string; url: string }> {
  const manifests = await loadFluxManifests({ version: "v2.7.5", manifests: manifestsFile });
  const cluster = new k8s.Provider("prod", { context: "prod" });
  const flux = new FluxBootstrap("flux", {
    version: "v2.7.5",
    manifests: manifests.text,
    owner: "acme",
    repository: "fleet",
    path: "clusters/prod",
  }, { provider: cluster });
  const capsule = new Capsule("capsule", { reconcilers: ["system:serviceaccount:payments:payments"] }, { provider: cluster });
  const args: TenantArgs = {
    mode: "capsule",
    namespaces: ["payments"],
    owner: "acme",
    repository: "payments-deploy",
    dependsOn: [...flux.crds, ...flux.controllers, capsule],
  };
  const tenant = new Tenant("payments", args, { provider: cluster });
  const url = await new Promise<string>((resolve) => pulumi.output(flux.url).apply(resolve));
  return { reconciler: tenant.reconciler, url };
}
