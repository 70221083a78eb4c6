// The stack program: one cluster per stack. Read config, validate it once,
// wire the components. Everything else lives in components/.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  Capsule,
  FluxBootstrap,
  loadFluxManifests,
  parseStackConfig,
  readStackConfig,
  Tenant,
  tenantNames,
} from "./components";

export = async () => {
  const config = parseStackConfig(readStackConfig());
  const { flux: fluxConfig, owner } = config;
  const manifests = await loadFluxManifests({ version: fluxConfig.version, manifests: fluxConfig.manifests });

  // An explicit provider for the chosen context: nothing reaches whatever
  // cluster the ambient kubeconfig happens to point at.
  const kube = new pulumi.Config("kubernetes");
  const cluster = new k8s.Provider("cluster", { context: kube.get("context"), kubeconfig: kube.get("kubeconfig") });
  const providers = { kubernetes: cluster };

  const flux = new FluxBootstrap("flux", {
    ...fluxConfig,
    manifests: manifests.text,
    manifestsSource: manifests.source,
    owner,
  }, { providers });

  const capsule = config.tenancy === "capsule"
    ? new Capsule("capsule", {
      ...config.capsule,
      reconcilers: config.tenants.map((t) => `system:serviceaccount:${t.namespaces[0]}:${tenantNames(t.name).serviceAccount}`),
    }, { providers })
    : undefined;

  const tenants = config.tenants.map((t) => new Tenant(t.name, {
    ...t,
    mode: config.tenancy,
    owner,
    keyAlgorithm: fluxConfig.keyAlgorithm,
    sshHost: fluxConfig.sshHost,
    knownHosts: fluxConfig.knownHosts,
    dependsOn: [...flux.crds, ...(capsule ? [capsule] : [])],
  }, { providers }));

  return {
    fluxNamespace: flux.namespace,
    syncUrl: flux.url,
    platformPublicKey: flux.publicKey,
    commits: flux.commits,
    tenants: Object.fromEntries(tenants.map((t) => [t.tenantName, {
      home: t.home,
      reconciler: t.reconciler,
      namespaces: t.namespaces,
      publicKey: t.deployKey.publicKey,
    }])),
  };
};
