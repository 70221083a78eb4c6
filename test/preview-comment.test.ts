import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { previewComment, readEventLog } from "../deploy/preview-comment";

const URN = "urn:pulumi:dev::flux-capsule::flux-capsule:index:Platform$flux-capsule:index:Tenant$kubernetes:core/v1:Secret::";
let sequence = 0;
const base = () => ({ sequence: sequence++, timestamp: 0 });
const step = (op: OpType, name: string, type: string, diffs?: string[], oldName?: string): EngineEvent =>
  ({ ...base(), resourcePreEvent: { metadata: { op, urn: URN + name, type, provider: "", diffs, ...(oldName ? { old: { urn: URN + oldName } } : {}) } } }) as EngineEvent;
const summary = (changes: Record<string, number>): EngineEvent =>
  ({ ...base(), summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: changes, policyPacks: {} } }) as EngineEvent;

describe("the pull request comment of a preview (deploy/preview-comment.ts)", () => {
  it("lists one line per resource the change touches, with the fields that differ; refreshes and sames are left out", () => {
    const text = previewComment([
      step("refresh", "dev-team-ns", "kubernetes:core/v1:Namespace"),
      step("same", "flux-namespace", "kubernetes:core/v1:Namespace"),
      step("create", "data-team-key-2", "tls:index/privateKey:PrivateKey"),
      step("update", "data-team-secret", "kubernetes:core/v1:Secret", ["data", "stringData"]),
      step("replace", "data-team-deploy-key", "github:index/repositoryDeployKey:RepositoryDeployKey", ["key", "repository"]),
      step("create-replacement", "data-team-deploy-key", "github:index/repositoryDeployKey:RepositoryDeployKey", ["key", "repository"]),
      step("delete-replaced", "data-team-deploy-key", "github:index/repositoryDeployKey:RepositoryDeployKey"),
      summary({ create: 1, update: 1, replace: 1, same: 70 }),
    ], "dev");
    const rows = text.split("\n").filter((l) => l.startsWith("| `"));
    assert.deepEqual(rows, [
      "| `+` | data-team-key-2 | `tls:index/privateKey:PrivateKey` |  |",
      "| `~` | data-team-secret | `kubernetes:core/v1:Secret` | data, stringData |",
      "| `+-` | data-team-deploy-key | `github:index/repositoryDeployKey:RepositoryDeployKey` | key, repository |",
    ]);
    assert.match(text, /^### `pulumi preview` of dev$/m);
    assert.match(text, /^Resources: 1 to create, 1 to update, 1 to replace; 70 unchanged\.$/m);
  });

  it("shows a resource replaced under a new name (an alias, a renamed tenant) once, with its former name", () => {
    const type = "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization";
    const text = previewComment([
      step("create-replacement", "operations-sync", type, ["metadata"], "ops-team-sync"),
      step("replace", "operations-sync", type, ["metadata"], "ops-team-sync"),
      step("delete-replaced", "ops-team-sync", type, undefined, "ops-team-sync"),
      summary({ replace: 1 }),
    ], "dev");
    assert.deepEqual(text.split("\n").filter((l) => l.startsWith("| `")), [`| \`+-\` | operations-sync \\(was ops-team-sync\\) | \`${type}\` | metadata |`]);
  });

  it("says when a delete leaves the state only (retainOnDelete): nothing goes from the cluster", () => {
    const type = "kubernetes:capsule.clastix.io/v1beta2:TenantPatch";
    const retained = { ...base(), resourcePreEvent: { metadata: { op: "delete", urn: URN + "dev-team-capsule-release", type, provider: "", old: { urn: URN + "dev-team-capsule-release", retainOnDelete: true } } } } as EngineEvent;
    const text = previewComment([retained, step("delete", "dev-team-sync", "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization"), summary({ delete: 2 })], "dev");
    assert.deepEqual(text.split("\n").filter((l) => l.startsWith("| `")), [
      `| \`-\` | dev-team-capsule-release \\(leaves the state only: retainOnDelete\\) | \`${type}\` |  |`,
      "| `-` | dev-team-sync | `kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization` |  |",
    ]);
  });

  it("says so when nothing changes, and leaves out the lab's $PATH notices", () => {
    const text = previewComment([
      step("refresh", "dev-team-ns", "kubernetes:core/v1:Namespace"),
      { ...base(), diagnosticEvent: { message: "using pulumi-resource-tls from $PATH at /x\n", color: "never", severity: "warning" } } as EngineEvent,
      summary({ same: 79 }),
    ], "dev", "0123456789abcdef0123");
    assert.match(text, /^<!-- flux-capsule-preview:dev -->\n### `pulumi preview` of dev at 0123456789ab\n/, "a hidden marker per stack, and the commit");
    assert.match(text, /^No changes\.$/m);
    assert.ok(!text.includes("$PATH"), text);
  });

  it("says the preview failed on an error or a mandatory policy violation, and carries them", () => {
    const policy = { ...base(), policyEvent: { resourceUrn: URN + "s", message: "read-only deploy keys only", color: "never", policyName: "deploy-keys-read-only", policyPackName: "flux-capsule", policyPackVersion: "1", enforcementLevel: "mandatory" } } as EngineEvent;
    const text = previewComment([policy, summary({ same: 79 })], "dev");
    assert.match(text, /^\*\*The preview failed\*\*/m);
    assert.match(text, /^- policy mandatory `flux-capsule\/deploy-keys-read-only` on s: read-only deploy keys only$/m);
    const refused = previewComment([{ ...base(), diagnosticEvent: { message: "tenancy: the stack runs in capsule mode\n", color: "never", severity: "error" } } as EngineEvent], "dev");
    assert.match(refused, /^\*\*The preview failed\*\*/m, "a program that refuses (no summary) is a failure, not \"No changes\"");
    assert.match(refused, /^- error: tenancy: the stack runs in capsule mode$/m);
  });

  it("keeps what the engine relays inert: no colour codes, table breaks, links, images, HTML, comments or mentions", () => {
    const hostile = "<{%fg 3%}>ArtifactFailed: a | b\n[x](https://evil.example) ![i](https://evil.example/i.png) <!-- hide --> @someone <img src=x>\u001b[0m";
    const text = previewComment([{ ...base(), diagnosticEvent: { urn: URN + "s", message: hostile, color: "never", severity: "warning" } } as EngineEvent, summary({ same: 1 })], "dev");
    const note = text.split("\n").find((l) => l.startsWith("- warning"))!;
    assert.equal(note, "- warning (s): ArtifactFailed: a   b \\[x\\]\\(https://evil.example\\) \\!\\[i\\]\\(https://evil.example/i.png\\) \\<\\!-- hide --\\> @\u200bsomeone \\<img src=x\\>");
    const long = previewComment([{ ...base(), diagnosticEvent: { message: "x".repeat(70_000), color: "never", severity: "warning" } } as EngineEvent], "dev");
    assert.ok(long.length < 61_000 && long.includes("cut at 60000 characters"), "within GitHub's comment limit");
  });

  it("reads the event log `pulumi preview --event-log` writes, one JSON event per line", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-comment-"));
    try {
      const file = path.join(dir, "events.jsonl");
      fs.writeFileSync(file, [step("delete", "old-key", "tls:index/privateKey:PrivateKey"), summary({ delete: 1 })].map((e) => JSON.stringify(e)).join("\n") + "\n");
      assert.match(previewComment(readEventLog(file), "dev"), /^\| `-` \| old-key \|/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
