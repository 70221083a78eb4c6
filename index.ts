// The stack program: one cluster per stack. Read the config, check it and
// the Flux manifests before anything exists, then one Platform component on
// the cluster's provider. Everything else lives in components/.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { adoptionOfManagedStack, ConfigError, fluxDowngrade, LastUpdate, lastUpdateOf, namespaceLosingChanges, parseStackConfig, Platform, PlatformArgs, preparePlatform, readStackConfig } from "./components";

export = async () => {
  const config = parseStackConfig(readStackConfig());
  const args: PlatformArgs = {
    ...config,
    // The provider sends GitHub requests one at a time, pacing the writes; with
    // parallelRequests (GitHub Enterprise Server) nothing is serialised.
    parallelGitHubRequests: new pulumi.Config("github").getBoolean("parallelRequests") ?? false,
  };
  // The install manifests are untrusted: downloaded and checked before the
  // first resource (the provider) is registered, so a refusal leaves nothing
  // in the engine.
  await preparePlatform("platform", args);

  // A change that would delete tenants' namespaces the config still lists (a
  // tenant renamed), downgrade Flux or adopt a key on a stack that already
  // manages Flux is refused before anything runs, and a
  // switch from capsule to namespace mode releases the namespaces from their
  // Capsule Tenants first: the last update's outputs say what the stack had.
  const last = new pulumi.StackReference("last-update", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
  const read = async (output: string): Promise<unknown> => {
    const details = await last.getOutputDetails(output);
    return details.value ?? details.secretValue;
  };
  const [tenancy, tenants, fluxVersion] = await Promise.all([read("tenancy"), read("tenants"), read("fluxVersion")]);
  const lastUpdate = { tenancy, tenants, fluxVersion } as LastUpdate;
  const downgrade = fluxDowngrade(lastUpdate, config);
  const adoption = adoptionOfManagedStack(lastUpdate, config);
  const problems = [...namespaceLosingChanges(lastUpdate, config), ...[downgrade, adoption].filter((p): p is string => p !== undefined)];
  if (problems.length > 0) throw new ConfigError(problems.length === 1 ? problems[0]! : `${problems.length} problems:\n  - ${problems.join("\n  - ")}`);
  args.lastUpdate = lastUpdateOf(lastUpdate);

  // An explicit provider for the chosen context: nothing reaches whatever
  // cluster the ambient kubeconfig happens to point at.
  const kube = new pulumi.Config("kubernetes");
  // The kubeconfig may carry credentials: read as a secret, it stays encrypted in the state.
  // Secrets are updated in place: otherwise a key rotation replaces the
  // deploy key's Secret (deleted, then created: a moment Flux has no key).
  const cluster = new k8s.Provider("cluster", { context: kube.get("context"), kubeconfig: kube.getSecret("kubeconfig"), enableSecretMutable: true });
  const platform = new Platform("platform", args, { providers: { kubernetes: cluster } });

  return {
    tenancy: config.tenancy,
    fluxVersion: config.flux.version,
    fluxNamespace: platform.fluxNamespace,
    syncUrl: platform.syncUrl,
    platformPublicKey: platform.platformPublicKey,
    commits: platform.commits,
    tenants: platform.tenants,
  };
};
