/**
 * flux-capsule: a multi-tenant GitOps platform on Kubernetes as Pulumi
 * components. Flux bootstrapped with a read-only deploy key and the
 * multi-tenancy lockdown, Capsule (or plain namespaces) for isolation, and
 * tenants reconciled from their own repositories as their own accounts.
 *
 * @packageDocumentation
 */
export { FluxBootstrap, FluxBootstrapArgs } from "./flux/bootstrap";
export { Tenant, TenantArgs } from "./tenant/tenant";
export { Capsule, CapsuleArgs, CapsuleUser, capsuleUsers, CAPSULE_CHART_VERSION, CAPSULE_CHART_REPO } from "./capsule/capsule";
export { DeployKey, DeployKeyArgs, KeyAlgorithm, KEY_ALGORITHMS } from "./deploy-key/deploy-key";
export { GITHUB_KNOWN_HOSTS } from "./deploy-key/known-hosts";
export { GitHubWriteQueue, GitHubWriteQueueOptions } from "./github/write-queue";
export {
  KubeObject,
  LoadedManifests,
  loadFluxManifests,
  ManifestError,
  parseManifests,
  releaseManifestUrl,
  DEFAULT_COMPONENTS,
  EXTRA_COMPONENTS,
  FLUX_NAMESPACE,
} from "./flux/manifests";
export { renderFlux, FluxRender, FluxRenderInput } from "./flux/render";
export { lockdownArgPatches, ControllerArgPatch, PLATFORM_RECONCILER_SA } from "./flux/lockdown";
export { TenancyMode, TENANCY_MODES, TenantNames, tenantNames, TENANT_ROLE } from "./tenant/render";
export { ConfigError, parseStackConfig, readStackConfig, RawStackConfig, StackConfig, TenantConfig, CONFIG_NAMESPACE } from "./config";
export { withoutPromiseStacks } from "./promise-stacks";
