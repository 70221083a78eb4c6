/**
 * flux-capsule: a multi-tenant GitOps platform on Kubernetes as Pulumi
 * components. Flux bootstrapped with a read-only deploy key and the
 * multi-tenancy lockdown, Capsule (or plain namespaces) for isolation, and
 * tenants reconciled from their own repositories as their own accounts.
 *
 * @packageDocumentation
 */
export {
  Platform,
  PlatformArgs,
  PlatformCapsuleAdministrator,
  PlatformCapsule,
  PlatformFlux,
  PlatformParts,
  PlatformPlan,
  PlatformLastUpdate,
  PlatformTenant,
  PlatformTenantOutputs,
  partsOf,
  preparePlatform,
} from "./platform/platform";
export { adoptionOfManagedStack, capsuleTenantsToRelease, fluxDowngrade, LastUpdate, lastUpdateOf, namespaceLosingChanges, NextUpdate } from "./platform/last-update";
export { checkFluxBootstrap, FluxBootstrap, FluxBootstrapArgs } from "./flux/bootstrap";
export { assertFluxRelease, releaseProblems, ReleaseCheckOptions, RELEASE_CONTROLLERS } from "./flux/release";
export { Tenant, TenantArgs } from "./tenant/tenant";
export { Capsule, CapsuleArgs, CapsuleUser, CapsuleUserKind, capsuleUsers, CAPSULE_CHART_REPO } from "./capsule/capsule";
export { DeployKey, DeployKeyArgs } from "./deploy-key/deploy-key";
export { EnumValue, GitHubWriteQueue, GitHubWriteQueueOptions, KeyAlgorithm, KEY_ALGORITHMS, KubeObject, ManifestError, UserError } from "./shared";
export {
  assertManifestsPinned,
  DEFAULT_MAX_MANIFEST_BYTES,
  LoadedManifests,
  loadFluxManifests,
  LoadFluxManifestsOptions,
  readManifestBytes,
  ReadOptions,
  VERSION_LABEL,
  parseManifests,
  releaseManifestUrl,
  DEFAULT_COMPONENTS,
  EXTRA_COMPONENTS,
} from "./flux/manifests";
export { renderFlux, FluxRender, FluxRenderInput } from "./flux/render";
export { lockdownArgPatches, ControllerArgPatch, PLATFORM_RECONCILER_SA } from "./flux/lockdown";
export {
  capsuleReleaseObject,
  CAPSULE_RELEASE_TIMEOUT_SECONDS,
  namespaceQuotaOf,
  renderTenant,
  TenancyMode,
  TENANCY_MODES,
  TenantNames,
  tenantNames,
  TenantRender,
  TenantRenderInput,
  TENANT_ROLE,
  TENANT_SYNC_DELETION_POLICY,
  UNLIMITED,
} from "./tenant/render";
export { tenantProblems, tenantSetProblems, TenantShape, TenantContext, TenantClaim } from "./tenant/validate";
export { fluxBootstrapProblems, FluxBootstrapShape } from "./flux/validate";
export { capsuleProblems } from "./capsule/capsule";
export * from "./defaults";
export {
  ArgumentError,
  branchProblem,
  cleanRepoPath,
  defaultServiceAccountProblem,
  dns1123LabelProblem,
  FieldProblem,
  FLUX_CONTROLLER_ACCOUNTS,
  FLUX_NAMESPACE,
  fluxVersionProblem,
  githubOwnerProblem,
  gitHostProblems,
  knownHostsProblems,
  kustomizationPath,
  registryProblem,
  repoPathProblem,
  repositoryNameProblem,
  RESERVED_ACCOUNTS,
  RESERVED_NAMESPACES,
  reservedNamespaceProblem,
  semverProblem,
  sshHostProblem,
} from "./validation";
export { ConfigError, parseSettingsArgs, parseStackConfig, readStackConfig, RawStackConfig, StackConfig, TenantConfig, CONFIG_NAMESPACE } from "./config";
export { withoutPromiseStacks } from "./promise-stacks";
