// The stack program: one cluster per stack. Read config, validate it once,
// wire the components. Everything else lives in components/.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  Capsule,
  checkFluxBootstrap,
  FluxBootstrap,
  FluxBootstrapArgs,
  GitHubWriteQueue,
  LoadedManifests,
  loadFluxManifests,
  parseStackConfig,
  readStackConfig,
  StackConfig,
  Tenant,
  tenantNames,
  withoutPromiseStacks,
} from "./components";

export = async () => {
  const config = parseStackConfig(readStackConfig());
  const manifests = await loadFluxManifests({
    version: config.flux.version,
    manifests: config.flux.manifests,
    sha256: config.flux.manifestsSha256,
  });
  // Otherwise the SDK formats a source-mapped stack trace for each of the ~30
  // promises it tracks per resource, which it reads only when
  // PULUMI_DEBUG_PROMISE_LEAKS is set: two thirds of the program's time at
  // 1000 tenants (docs/BENCHMARKS.md).
  return withoutPromiseStacks(() => stack(config, manifests));
};

/** Every resource of the stack, created synchronously; returns the stack outputs. */
function stack(config: StackConfig, manifests: LoadedManifests) {
  const { flux: fluxConfig, owner } = config;
  // The provider sends GitHub requests one at a time, pacing the writes;
  // queued, a few wait at once instead of filling every engine slot. With
  // parallelRequests (GitHub Enterprise Server) nothing is serialised.
  const githubQueue = new pulumi.Config("github").getBoolean("parallelRequests") ? undefined : new GitHubWriteQueue();
  const fluxArgs: FluxBootstrapArgs = {
    ...fluxConfig,
    manifests: manifests.text,
    manifestsSource: manifests.source,
    owner,
    githubQueue,
  };
  // The install manifests are untrusted: checked before the first resource
  // (the provider) is registered, so a refusal leaves nothing in the engine.
  checkFluxBootstrap("flux", fluxArgs);

  // An explicit provider for the chosen context: nothing reaches whatever
  // cluster the ambient kubeconfig happens to point at.
  const kube = new pulumi.Config("kubernetes");
  // The kubeconfig may carry credentials: read as a secret, it stays encrypted in the state.
  const cluster = new k8s.Provider("cluster", { context: kube.get("context"), kubeconfig: kube.getSecret("kubeconfig") });
  const providers = { kubernetes: cluster };

  const flux = new FluxBootstrap("flux", fluxArgs, { providers });

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
    defaultServiceAccount: fluxConfig.defaultServiceAccount,
    reservedNamespaces: config.reservedNamespaces,
    sshHost: fluxConfig.sshHost,
    knownHosts: fluxConfig.knownHosts,
    githubQueue,
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
}
