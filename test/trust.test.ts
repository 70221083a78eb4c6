import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { branchProblem, knownHostsProblems } from "../components/validation";
import { baseConfig, FIXTURE, runStack, stackRefusal } from "./harness";
import { isSecretValue, reveal, settle, useMocks } from "./mocks";

// The trust boundary, tried as an attacker and a careless operator would:
// each hostile value must be refused with its exact message, naming key,
// tenant and fix, before the engine has been sent a single resource.

type Config = ReturnType<typeof baseConfig>;

/** Test host keys (public halves of throwaway keys). */
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIJPF/UcOhBgGMaxsC9TxRI8l/Jc+ZFXSvN6q4yanONy";
const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA1Sj/DAFCcYRsR3YwqvGW/PcgS4MVYjCRXyegWaW356c/79fBn37XyXVZxlv4bH9v5e3J7us8BKfy3PmIM3yHE=";

const OWNER_RULE = "is not a GitHub user or organisation name (letters, digits and single hyphens, not at either end, at most 39 characters)";
const REPO_RULE = "is not a GitHub repository name (letters, digits, '.', '-' and '_', at most 100 characters, not '.' or '..', " +
  "no '/' and no '.git' suffix); give the name alone, without the owner";
const SSH_RULE = "is not an SSH host: give host[:port] only, in lower case (e.g. github.example.com or 10.0.0.5:2222), no user, scheme or path";
const REGISTRY_RULE = "is not an OCI repository prefix; give registry-host[:port]/path, e.g. registry.example.com/fluxcd, without scheme, tag or trailing '/'";

const cases: [string, (c: Config) => void, string][] = [
  // GitHub API paths
  ["an owner with a path", (c) => { c.owner = "acme/../orgs/evil"; }, `github:owner "acme/../orgs/evil" ${OWNER_RULE}`],
  ["an owner with a leading hyphen", (c) => { c.owner = "-acme"; }, `github:owner "-acme" ${OWNER_RULE}`],
  ["a platform repository with '..'", (c) => { c.flux.repository = "fleet/../../orgs/acme/keys"; },
    `flux-capsule:flux.repository "fleet/../../orgs/acme/keys" ${REPO_RULE}`],
  ["a platform repository '..'", (c) => { c.flux.repository = ".."; }, `flux-capsule:flux.repository ".." ${REPO_RULE}`],
  ["a repository with a control character", (c) => { c.flux.repository = "fleet\n"; }, `flux-capsule:flux.repository "fleet\\n" ${REPO_RULE}`],
  ["a tenant repository with a path", (c) => { c.tenants[1]!.repository = "ops-fleet/../fleet-infra"; },
    `flux-capsule:tenants[1] "ops-team": repository "ops-fleet/../fleet-infra" ${REPO_RULE}`],
  ["a repository with the owner in it", (c) => { c.tenants[1]!.repository = "acme/ops-fleet"; },
    `flux-capsule:tenants[1] "ops-team": repository "acme/ops-fleet" ${REPO_RULE}`],
  // git refs
  ["a branch that is an option", (c) => { c.flux.branch = "--upload-pack=touch /tmp/pwned"; },
    "flux-capsule:flux.branch \"--upload-pack=touch /tmp/pwned\" is not a valid git branch name: it starts with '-'"],
  ["a branch with '..'", (c) => { c.flux.branch = "main..dev"; }, "flux-capsule:flux.branch \"main..dev\" is not a valid git branch name: it contains '..'"],
  ["a tenant branch with a space", (c) => { c.tenants[1]!.branch = "ops main"; },
    "flux-capsule:tenants[1] \"ops-team\": branch \"ops main\" is not a valid git branch name: it contains a space or one of ~ ^ : ? * [ \\"],
  ["a tenant branch with '@{'", (c) => { c.tenants[1]!.branch = "main@{1}"; },
    "flux-capsule:tenants[1] \"ops-team\": branch \"main@{1}\" is not a valid git branch name: it contains '@{'"],
  ["a branch ending in .lock", (c) => { c.flux.branch = "release/v1.lock"; },
    "flux-capsule:flux.branch \"release/v1.lock\" is not a valid git branch name: a path component ends with '.lock'"],
  ["a branch that looks like main (Cyrillic a)", (c) => { c.flux.branch = "m\u0430in"; },
    "flux-capsule:flux.branch \"mаin\" is not a valid git branch name: it has a character outside printable ASCII (look-alikes of other branch names)"],
  ["a branch with a zero-width space", (c) => { c.tenants[1]!.branch = "ma\u200bin"; },
    "flux-capsule:tenants[1] \"ops-team\": branch \"ma\u200bin\" is not a valid git branch name: it has a character outside printable ASCII (look-alikes of other branch names)"],
  ["a path with a Unicode line separator (a line break to Go's YAML)", (c) => { c.flux.path = "clusters/dev\u2028  suspend:\u2028    true"; },
    "flux-capsule:flux.path \"clusters/dev\u2028  suspend:\u2028    true\" contains a control character"],
  ["a branch with a newline", (c) => { c.flux.branch = "main\nevil: true"; },
    "flux-capsule:flux.branch \"main\\nevil: true\" is not a valid git branch name: it contains a control character"],
  ["an empty tenant branch", (c) => { c.tenants[1]!.branch = ""; }, "flux-capsule:tenants[1] \"ops-team\": branch must not be empty"],
  // repository paths
  ["a path that climbs", (c) => { c.flux.path = "../../etc"; },
    "flux-capsule:flux.path \"../../etc\" must not contain '..'; give the directory from the repository root"],
  ["a path that climbs midway", (c) => { c.flux.path = "clusters/../../x"; },
    "flux-capsule:flux.path \"clusters/../../x\" must not contain '..'; give the directory from the repository root"],
  ["a path into .git", (c) => { c.flux.path = "clusters/.git/hooks"; }, "flux-capsule:flux.path \"clusters/.git/hooks\" must not contain a '.git' segment"],
  ["an absolute path", (c) => { c.flux.path = "/clusters/dev"; },
    "flux-capsule:flux.path \"/clusters/dev\" must be relative to the repository root (no leading '/')"],
  ["a path with a NUL", (c) => { c.flux.path = "clusters/dev\u0000x"; }, "flux-capsule:flux.path \"clusters/dev\\u0000x\" contains a control character"],
  ["a tenant path that climbs", (c) => { c.tenants[1]!.path = "./../fleet-infra"; },
    "flux-capsule:tenants[1] \"ops-team\": path \"./../fleet-infra\" must not contain '..'; give the directory from the repository root"],
  // SSH host and its keys
  ["an sshHost with a user", (c) => { c.flux.sshHost = "git@github.com"; }, `flux-capsule:flux.sshHost "git@github.com" ${SSH_RULE}`],
  ["an sshHost with a scheme", (c) => { c.flux.sshHost = "ssh://git.example.com"; }, `flux-capsule:flux.sshHost "ssh://git.example.com" ${SSH_RULE}`],
  ["an sshHost with a path", (c) => { c.flux.sshHost = "git.example.com/evil"; }, `flux-capsule:flux.sshHost "git.example.com/evil" ${SSH_RULE}`],
  ["an sshHost with an ssh option", (c) => { c.flux.sshHost = "git.example.com -oProxyCommand=x"; },
    `flux-capsule:flux.sshHost "git.example.com -oProxyCommand=x" ${SSH_RULE}`],
  ["an sshHost in another case (known_hosts matching is exact)", (c) => { c.flux.sshHost = "GitHub.com"; }, `flux-capsule:flux.sshHost "GitHub.com" ${SSH_RULE}`],
  ["an sshHost that is a number", (c) => { c.flux.sshHost = "2130706433"; }, `flux-capsule:flux.sshHost "2130706433" ${SSH_RULE}`],
  ["an sshHost that is an empty IPv6 address", (c) => { c.flux.sshHost = "[:]"; }, `flux-capsule:flux.sshHost "[:]" ${SSH_RULE}`],
  ["a knownHosts key cut short", (c) => { c.flux.knownHosts = `github.com ssh-ed25519 ${Buffer.from("\u0000\u0000\u0000\u000bssh-ed25519").toString("base64")}\n`; },
    "flux-capsule:flux.knownHosts line 1 has a key that is not valid base64 of a ssh-ed25519 public key"],
  ["an sshHost with a bad port", (c) => { c.flux.sshHost = "git.example.com:99999"; }, `flux-capsule:flux.sshHost "git.example.com:99999" ${SSH_RULE}`],
  ["a custom sshHost without knownHosts", (c) => { c.flux.sshHost = "git.example.com"; },
    "flux-capsule:flux.knownHosts is required with sshHost \"git.example.com\": GitHub's host keys would never verify it, so `pulumi up` " +
    "would succeed and Flux would fail to fetch; give that host's keys (from ssh-keyscan, checked against the server's own record)"],
  ["knownHosts that miss the host", (c) => { c.flux.sshHost = "git.example.com"; c.flux.knownHosts = `other.example.com ${ED25519}\n`; },
    "flux-capsule:flux.knownHosts has no key for git.example.com, the host Flux connects to; add that host's keys (for a port other than 22, as [host]:port)"],
  ["knownHosts without the port form", (c) => { c.flux.sshHost = "git.example.com:2222"; c.flux.knownHosts = `git.example.com ${ED25519}\n`; },
    "flux-capsule:flux.knownHosts has no key for [git.example.com]:2222, the host Flux connects to; add that host's keys (for a port other than 22, as [host]:port)"],
  ["knownHosts whose only key is revoked", (c) => { c.flux.sshHost = "git.example.com"; c.flux.knownHosts = `@revoked git.example.com ${ED25519}\n`; },
    "flux-capsule:flux.knownHosts has no key for git.example.com, the host Flux connects to; add that host's keys (for a port other than 22, as [host]:port)"],
  ["a knownHosts line that is not a key", (c) => { c.flux.knownHosts = "github.com is trusted\n"; },
    "flux-capsule:flux.knownHosts line 1 has key type \"is\"; expected one of ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, " +
    "ecdsa-sha2-nistp521, ssh-rsa, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com"],
  ["a knownHosts key of another type", (c) => { c.flux.knownHosts = `github.com ssh-rsa ${ED25519.split(" ")[1]}\n`; },
    "flux-capsule:flux.knownHosts line 1 has a key that is not valid base64 of a ssh-rsa public key"],
  ["empty knownHosts", (c) => { c.flux.knownHosts = "# nothing\n"; },
    "flux-capsule:flux.knownHosts holds no host keys; give the lines `ssh-keyscan <host>` prints, checked against the server's own record"],
  ["a toleration carrying other pod fields", (c) => { c.flux.tolerations = [{ operator: "Exists", hostNetwork: true }]; },
    "flux-capsule:flux.tolerations[0] has unknown field \"hostNetwork\"; a toleration has key, operator, value, effect, tolerationSeconds"],
  // registry and versions
  ["a registry with a scheme", (c) => { c.flux.registry = "https://registry.example.com/fluxcd"; },
    `flux-capsule:flux.registry "https://registry.example.com/fluxcd" ${REGISTRY_RULE}`],
  ["a registry with a tag", (c) => { c.flux.registry = "registry.example.com/fluxcd:v1"; },
    `flux-capsule:flux.registry "registry.example.com/fluxcd:v1" ${REGISTRY_RULE}`],
  ["a registry without a host", (c) => { c.flux.registry = "fluxcd"; }, `flux-capsule:flux.registry "fluxcd" ${REGISTRY_RULE}`],
  ["a Capsule version that is not semver", (c) => { c.capsule.version = "latest"; },
    "flux-capsule:capsule.version \"latest\" is not a semantic version; use the chart's version, e.g. 0.14.0"],
  ["a manifests digest that is not SHA-256", (c) => { c.flux.manifestsSha256 = "deadbeef"; },
    "flux-capsule:flux.manifestsSha256 \"deadbeef\" is not a SHA-256 digest; give the 64 lower-case hex digits `sha256sum install.yaml` prints"],
  ["a Capsule administrator group holding every account", (c) => { c.capsule.administrators = [{ kind: "Group", name: "system:authenticated" }]; },
    "flux-capsule:capsule.administrators[0].name \"system:authenticated\" names every account (of a namespace), and Capsule administrators can place " +
    "namespaces in any tenant; name the identity Pulumi applies with"],
  ["a tenant's reconciler as Capsule administrator", (c) => { c.capsule.administrators = [{ kind: "ServiceAccount", name: "system:serviceaccount:ops-team-apps:ops-team" }]; },
    "flux-capsule:capsule.administrators[0].name \"system:serviceaccount:ops-team-apps:ops-team\" is a tenant's reconciler; a tenant must not administer other tenants"],
  // identities
  ["a tenant named default", (c) => { c.tenants[1]!.name = "default"; },
    "flux-capsule:tenants[1] \"default\": name \"default\" is the name of a Kubernetes or Flux system account, and the tenant's reconciler would take it; choose another tenant name"],
  ["a tenant named like a Flux controller", (c) => { c.tenants[1]!.name = "kustomize-controller"; },
    "flux-capsule:tenants[1] \"kustomize-controller\": name \"kustomize-controller\" is the name of a Kubernetes or Flux system account, and the tenant's reconciler would take it; choose another tenant name"],
  ["a controller's account as the default account", (c) => { c.flux.defaultServiceAccount = "helm-controller"; },
    "flux-capsule:flux.defaultServiceAccount \"helm-controller\" is a Flux controller's account, which holds cluster-admin: every tenant object " +
    "without serviceAccountName would run with it; use an account without permissions (default)"],
  ["a tenant's reconciler as the default account", (c) => { c.flux.defaultServiceAccount = "ops-team"; },
    "2 problems in the stack config:\n" +
    "  - flux-capsule:flux.defaultServiceAccount \"ops-team\" is tenant \"ops-team\"'s reconciler account: every tenant object without serviceAccountName " +
    "would run with that tenant's rights in its namespaces; use an account without permissions (default)\n" +
    "  - flux-capsule:tenants[1] \"ops-team\": name \"ops-team\" is the lockdown's default account (flux.defaultServiceAccount): every tenant object " +
    "without serviceAccountName would run with this tenant's rights; choose another tenant name"],
  // namespaces
  ["a kube-* namespace", (c) => { c.tenants[1]!.namespaces = ["kube-flannel"]; },
    "flux-capsule:tenants[1] \"ops-team\": namespaces[0] \"kube-flannel\" is reserved for the platform; give the tenant its own namespace"],
  ["a namespace the stack reserves", (c) => { (c as Config & { reservedNamespaces: string[] }).reservedNamespaces = ["ingress-nginx"]; c.tenants[1]!.namespaces = ["ops-team-apps", "ingress-nginx"]; },
    "flux-capsule:tenants[1] \"ops-team\": namespaces[1] \"ingress-nginx\" is reserved by flux-capsule:reservedNamespaces (the cluster's own add-ons); give the tenant its own namespace"],
  ["a reserved namespace that is not a name", (c) => { (c as Config & { reservedNamespaces: string[] }).reservedNamespaces = ["Ingress"]; },
    "flux-capsule:reservedNamespaces[0] \"Ingress\" is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)"],
  ["a quota that is neither a number nor unlimited", (c) => { (c.tenants[0] as Record<string, unknown>).namespaceQuota = "lots"; },
    "flux-capsule:tenants[0].namespaceQuota \"dev-team\": Invalid input"],
  // repositories tenants can read
  ["a tenant on the platform repository without the flag", (c) => { c.tenants[1]!.repository = "fleet-infra"; },
    "flux-capsule:tenants[1] \"ops-team\": repository \"fleet-infra\" is the platform repository; its deploy key could read every branch of it, " +
    "the platform's included. Give the tenant a repository of its own, or set sharedRepository: true to accept that"],
  ["a tenant without a repository", (c) => { delete (c.tenants[0] as Record<string, unknown>).sharedRepository; },
    "flux-capsule:tenants[0] \"dev-team\": repository is required: give the tenant a repository of its own (its deploy key reads every branch of the " +
    "repository it names), or set sharedRepository: true to reconcile from the platform repository \"fleet-infra\""],
  ["a tenant on the platform repository spelt in another case", (c) => { c.tenants[1]!.repository = "Fleet-Infra"; },
    "flux-capsule:tenants[1] \"ops-team\": repository \"Fleet-Infra\" is the platform repository; its deploy key could read every branch of it, " +
    "the platform's included. Give the tenant a repository of its own, or set sharedRepository: true to accept that"],
  ["two tenants on one repository", (c) => { c.tenants[0]!.repository = "ops-fleet"; delete (c.tenants[0] as Record<string, unknown>).sharedRepository; },
    "2 problems in the stack config:\n" +
    "  - flux-capsule:tenants[0] \"dev-team\": repository \"ops-fleet\" is also the repository of tenant \"ops-team\"; its deploy key could read every branch of it, " +
    "theirs included. Give the tenant a repository of its own, or set sharedRepository: true to accept that\n" +
    "  - flux-capsule:tenants[1] \"ops-team\": repository \"ops-fleet\" is also the repository of tenant \"dev-team\"; its deploy key could read every branch of it, " +
    "theirs included. Give the tenant a repository of its own, or set sharedRepository: true to accept that"],
];

describe("trust boundary: hostile stack config", () => {
  for (const [what, change, message] of cases) {
    it(`refuses ${what}, registering nothing`, async () => {
      const c = baseConfig();
      change(c);
      const { error, registered } = await stackRefusal(c);
      assert.equal(error.message, message);
      assert.deepEqual(registered, []);
    });
  }

  it("refuses a tampered install.yaml (cluster-admin for another account), registering nothing, the provider included", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tampered-"));
    try {
      const file = path.join(dir, "install.yaml");
      fs.writeFileSync(file, fs.readFileSync(FIXTURE, "utf8") + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n" +
        "metadata: {name: flux-support}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n" +
        "subjects: [{kind: ServiceAccount, name: attacker, namespace: default}]\n");
      const c = baseConfig();
      c.flux.manifests = file;
      const { error, registered } = await stackRefusal(c);
      assert.equal(error.message, `FluxBootstrap "flux": ${file}: 2 problems; use the unmodified install.yaml of a Flux release:\n` +
        "  - ClusterRoleBinding \"flux-support\" is not one of Flux's ClusterRoleBindings (cluster-reconciler, crd-controller)\n" +
        "  - ClusterRoleBinding \"flux-support\" binds ServiceAccount \"default/attacker\", which is not one of Flux's accounts");
      assert.deepEqual(registered, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses manifests of another release than flux.version, registering nothing", async () => {
    const c = baseConfig();
    c.flux.version = "v2.8.0";
    const { error, registered } = await stackRefusal(c);
    assert.equal(error.message, `FluxBootstrap "flux": ${FIXTURE}: Namespace "flux-system" and 38 more objects are labelled app.kubernetes.io/version ` +
      "\"v2.7.5\", but flux.version is \"v2.8.0\"; set flux.version to the manifests' release, or use the manifests of v2.8.0");
    assert.deepEqual(registered, []);
  });

  it("refuses an oversized manifests file before reading it whole, registering nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oversized-"));
    try {
      const file = path.join(dir, "install.yaml");
      fs.writeFileSync(file, Buffer.alloc(17 * 1024 * 1024, "#"));
      const c = baseConfig();
      c.flux.manifests = file;
      const { error, registered } = await stackRefusal(c);
      assert.equal(error.message, `Flux manifests file ${file} is larger than 16 MiB; a Flux install.yaml is 1-3 MiB: check that flux.manifests names one`);
      assert.deepEqual(registered, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses manifests whose URL redirects to plain http, without following it, registering nothing", async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(302, { location: "http://flux-mirror.example.com/install.yaml" }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/install.yaml`;
      const c = baseConfig();
      c.flux.manifests = url;
      const { error, registered } = await stackRefusal(c);
      assert.equal(error.message, `cannot download Flux manifests from ${url}: it redirects to http://flux-mirror.example.com/install.yaml, and plain http ` +
        "is allowed only to a loopback address (127.0.0.0/8, ::1, localhost); give an https URL that stays on https, or a local file");
      assert.deepEqual(seen, ["/install.yaml"], "asked the loopback server once, and nothing else");
      assert.deepEqual(registered, []);
    } finally {
      server.close();
    }
  });

  it("refuses every problem at once", async () => {
    const c = baseConfig();
    c.owner = "acme/..";
    c.flux.repository = "..";
    c.flux.branch = "-x";
    const { error, registered } = await stackRefusal(c);
    assert.match(error.message, /^3 problems in the stack config:\n {2}- github:owner "acme\/\.\." .*\n {2}- flux-capsule:flux\.repository "\.\." .*\n {2}- flux-capsule:flux\.branch "-x" /);
    assert.deepEqual(registered, []);
  });
});

describe("trust boundary: what accepted values become", () => {
  it("cleans paths as flux bootstrap does: the committed files and spec.path agree", async () => {
    const c = baseConfig();
    c.flux.path = " ./clusters//dev/./ ";
    c.tenants[1]!.path = "apps/./dev/";
    const { mocks } = await runStack(c);
    const files = mocks.ofType("github:index/repositoryFile:RepositoryFile").map((r) => r.inputs.file);
    assert.deepEqual(files, ["clusters/dev/flux-system/gotk-components.yaml", "clusters/dev/flux-system/gotk-sync.yaml", "clusters/dev/flux-system/kustomization.yaml"]);
    const kustomizations = mocks.ofType("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization").map((r) => reveal<{ spec: { path: string } }>(r.inputs).spec.path);
    assert.deepEqual(kustomizations.sort(), ["./", "./apps/dev", "./clusters/dev"]);
  });

  it("accepts a custom Git host whose known_hosts cover it, in port form", async () => {
    const c = baseConfig();
    c.flux.sshHost = "git.example.com:2222";
    c.flux.knownHosts = `# pinned 2026-12-02\n[git.example.com]:2222 ${ED25519}\n[git.example.com]:2222 ${ECDSA}\n`;
    const { mocks } = await runStack(c);
    const source = mocks.one("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "flux-sync-source");
    assert.equal(reveal<{ spec: { url: string } }>(source.inputs).spec.url, "ssh://git@git.example.com:2222/acme/fleet-infra");
  });

  it("gives a capsule tenant exactly its listed namespaces unless granted more", async () => {
    const c = baseConfig();
    (c.tenants[0] as Record<string, unknown>).namespaceQuota = "unlimited";
    const { mocks } = await runStack(c);
    const quota = (name: string) => reveal<{ spec: { namespaceOptions?: { quota: number } } }>(
      mocks.one("kubernetes:capsule.clastix.io/v1beta2:Tenant", `${name}-capsule-tenant`).inputs).spec.namespaceOptions?.quota;
    assert.equal(quota("dev-team"), undefined, "unlimited only when the config says so");
    assert.equal(quota("ops-team"), 1, "no quota given: only the one namespace listed");
  });

  it("reads kubernetes:kubeconfig as a secret", async () => {
    const { mocks } = await runStack({ ...baseConfig(), raw: { "kubernetes:kubeconfig": "apiVersion: v1\nusers: [{name: u, user: {token: s3cr3t}}]\n" } });
    const provider = mocks.one("pulumi:providers:kubernetes", "cluster");
    assert.equal(isSecretValue(provider.inputs.kubeconfig), true);
  });
});

describe("trust boundary: components used directly refuse the same values", () => {
  const manifests = fs.readFileSync(FIXTURE, "utf8");

  /** `construct` throws exactly `message` (for a RegExp: `String(err)`, name included, matches it), and nothing reaches the engine. */
  async function refusedRegisteringNothing(construct: () => unknown, message: string | RegExp): Promise<void> {
    const mocks = await useMocks();
    assert.throws(construct, typeof message === "string" ? { message } : message);
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  }

  it("FluxBootstrap: a repository with '..' and a custom host without keys, registering nothing", async () => {
    const { FluxBootstrap } = await import("../components");
    await refusedRegisteringNothing(() => new FluxBootstrap("flux", {
      version: "v2.7.5", manifests, owner: "acme", repository: "fleet/..", path: "clusters/dev", sshHost: "git.example.com",
    }), "FluxBootstrap \"flux\": 2 problems:\n" +
      `  - repository "fleet/.." ${REPO_RULE}\n` +
      "  - knownHosts is required with sshHost \"git.example.com\": GitHub's host keys would never verify it, so `pulumi up` would succeed and " +
      "Flux would fail to fetch; give that host's keys (from ssh-keyscan, checked against the server's own record)");
  });

  it("Tenant: a tenant named default and a kube-* namespace, registering nothing", async () => {
    const { Tenant } = await import("../components");
    await refusedRegisteringNothing(
      () => new Tenant("default", { mode: "capsule", namespaces: ["kube-ops"], owner: "acme", repository: "team", branch: "a..b" }),
      "Tenant \"default\": 3 problems:\n" +
      "  - name \"default\" is the name of a Kubernetes or Flux system account, and the tenant's reconciler would take it; choose another tenant name\n" +
      "  - namespaces[0] \"kube-ops\" is reserved for the platform; give the tenant its own namespace\n" +
      "  - branch \"a..b\" is not a valid git branch name: it contains '..'");
  });

  it("Tenant: named like the lockdown's default account it was given", async () => {
    await useMocks();
    const { Tenant } = await import("../components");
    assert.throws(() => new Tenant("nobody", { mode: "namespace", namespaces: ["nobody"], owner: "acme", repository: "nobody", defaultServiceAccount: "nobody" }),
      /^ArgumentError: Tenant "nobody": name "nobody" is the lockdown's default account/);
  });

  it("DeployKey: a repository path, registering nothing", async () => {
    const { DeployKey } = await import("../components");
    await refusedRegisteringNothing(
      () => new DeployKey("k", { repository: "../orgs/acme", title: "t\r\n", secretNamespace: "ns", secretName: "git" }),
      "DeployKey \"k\": 2 problems:\n" +
      `  - repository "../orgs/acme" ${REPO_RULE}\n` +
      "  - title must be non-empty text without control characters");
  });

  it("DeployKey: an Output where a checked string belongs, registering nothing", async () => {
    const { DeployKey } = await import("../components");
    const pulumi = await import("@pulumi/pulumi");
    await refusedRegisteringNothing(() => new DeployKey("k", {
      repository: pulumi.output("../../orgs/acme/keys") as unknown as string, title: "t", secretNamespace: "ns", secretName: "git", knownHosts: "@cert-authority * junk",
    }), "DeployKey \"k\": 2 problems:\n" +
      "  - repository must be a plain string, known before anything is created (not an Output or a promise)\n" +
      "  - knownHosts line 1 is not \"hosts keytype base64-key\" (as ssh-keyscan prints it)");
  });

  it("Capsule: a chart version that is not semver, registering nothing", async () => {
    const { Capsule } = await import("../components");
    await refusedRegisteringNothing(() => new Capsule("c", { install: true, version: "0.14", reconcilers: [] }),
      /^ArgumentError: Capsule "c": version "0\.14" is not a semantic version; use the chart's version, e\.g\. 0\.14\.0$/);
  });
});

describe("trust boundary: rules checked against the real tools", () => {
  it("branch names: the same verdict as `git check-ref-format --branch`", function () {
    if (spawnSync("git", ["--version"]).status !== 0) this.skip();
    const names = [
      "main", "feature/x", "release-1.2", "dev-team", "x@y", "a$b", "a'b", "$(id)", "@", "a;b", "v1.0", "_x", "a+b",
      "HEAD", "-x", "a b", "a..b", "a/.b", ".a", "a.lock", "a/b.lock", "a.lock/b", "a/", "/a", "a//b", "a@{b", "@{-1}", "a.",
      "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b", "a\tb", "a\u007fb", "a\u0001", "refs/heads/x", "x/y/z", "x.y.z",
    ];
    const mismatches = names.filter((name) => {
      const gitSays = spawnSync("git", ["check-ref-format", "--branch", name], { cwd: os.tmpdir() }).status === 0;
      return gitSays !== (branchProblem(name) === undefined);
    });
    assert.deepEqual(mismatches, []);
    // Stricter than git on purpose: git takes any UTF-8, look-alikes of `main` included.
    for (const lookalike of ["é", "m\u0430in", "main\u00a0", "ma\u200bin"]) {
      assert.equal(spawnSync("git", ["check-ref-format", "--branch", lookalike], { cwd: os.tmpdir() }).status, 0, `git takes ${JSON.stringify(lookalike)}`);
      assert.match(branchProblem(lookalike) ?? "", /outside printable ASCII/);
    }
  });

  it("known_hosts patterns cannot stall the check (no exponential backtracking)", () => {
    const pattern = `${"*a".repeat(30)}!`;
    assert.match(knownHostsProblems(`${pattern} ${ED25519}\n`, `${"a".repeat(60)}.example.com`)[0] ?? "", /has no key for/);
  });

  it("known_hosts coverage: the same verdict as `ssh-keygen -F`, hashed lines included", function () {
    if (spawnSync("ssh-keygen", ["-?"]).error) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "known-hosts-"));
    try {
      const hashedFile = path.join(dir, "hashed");
      fs.writeFileSync(hashedFile, `git.example.com ${ED25519}\n[10.0.0.5]:2222 ${ECDSA}\n`);
      assert.equal(spawnSync("ssh-keygen", ["-q", "-H", "-f", hashedFile]).status, 0);
      const texts = [
        `git.example.com ${ED25519}\n`,
        `*.example.com,!evil.example.com ${ED25519}\n`,
        `git.example.com,10.0.0.5 ${ED25519}\n`,
        `[git.example.com]:2222 ${ED25519}\n`,
        `gi?.example.com ${ECDSA}\n`,
        fs.readFileSync(hashedFile, "utf8"),
      ];
      const hosts = ["git.example.com", "evil.example.com", "10.0.0.5", "git.example.com:2222", "10.0.0.5:2222", "other.org"];
      const mismatches: string[] = [];
      texts.forEach((text, i) => {
        const file = path.join(dir, `kh${i}`);
        fs.writeFileSync(file, text);
        for (const host of hosts) {
          const [name, port] = host.split(":");
          const lookup = port ? `[${name}]:${port}` : name!;
          const sshSays = spawnSync("ssh-keygen", ["-F", lookup, "-f", file]).status === 0;
          const oursSays = knownHostsProblems(text, host).length === 0;
          if (sshSays !== oursSays) mismatches.push(`text ${i} host ${host}: ssh-keygen ${sshSays}, ours ${oursSays}`);
        }
      });
      assert.deepEqual(mismatches, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
