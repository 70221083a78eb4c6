// The pull request comment of a `pulumi preview`: one line per resource the
// change (or drift, with --refresh) would touch, the fields that differ, the
// policy violations and warnings, and the summary. Read from the engine's
// events: the preview workflow's `pulumi preview --event-log <file>`, or the
// Automation API's onEvent (the lab's day-two suite prints the same text).
//
// `pulumi preview --diff` as a comment is unreadable for this stack: with
// --refresh it lists every refreshed resource with its changed outputs
// (managedFields, resourceVersion: thousands of lines once Flux has applied
// its own objects), and a Flux upgrade prints every CRD schema.
//
//   node -r ts-node/register/transpile-only deploy/preview-comment.ts EVENTS.jsonl STACK [COMMIT] > comment.md
import * as fs from "node:fs";
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";

/** The steps a reviewer reads; reads and refreshes are how the engine looks, not what it would do. */
const SHOWN: readonly OpType[] = ["create", "update", "delete", "replace", "create-replacement", "delete-replaced", "import", "import-replacement", "discard", "discard-replaced", "remove-pending-replace"];

/** The steps of one replacement. */
const REPLACEMENT: readonly OpType[] = ["replace", "create-replacement", "delete-replaced"];

/** The sign Pulumi prints for an operation. */
const SIGN: Partial<Record<OpType, string>> = { create: "+", update: "~", delete: "-", replace: "+-", "create-replacement": "++", "delete-replaced": "--", import: "=", "import-replacement": "=>" };

/** Longest cell of changed fields, so a resource stays one line. */
const FIELDS_WIDTH = 100;

/** `urn:pulumi:stack::project::a$b$type::name` -> name. */
function resourceName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/**
 * Text from the engine as inert markdown: warnings can quote what a tenant
 * committed (Flux's events), so no colour codes (ANSI or Pulumi's
 * `<{%...%}>`), no line breaks or table pipes, markdown's punctuation
 * escaped (no links, images, HTML or comments) and no @mentions.
 */
function cell(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;]*m|<\{%[^%]*%\}>/g, "")
    .replace(/[\r\n|]/g, " ")
    .replace(/[\\`*_{}[\]()<>#!~&]/g, "\\$&")
    .replace(/@/g, "@\u200b")
    .trim();
}

/** A type token in a code span: only the characters type tokens have. */
function token(text: string): string {
  return text.replace(/[^\w:/.$-]/g, "");
}

/** GitHub refuses longer comments (65,536 characters). */
const MAX_COMMENT = 60_000;

/**
 * The comment for one stack's preview. Resources appear once each (a
 * replacement's create and delete steps are one `+-` line), in the engine's
 * order; fields are the top-level properties that differ.
 */
export function previewComment(events: readonly EngineEvent[], stack: string, commit?: string): string {
  const rows: string[] = [];
  const seen = new Set<string>();
  // A replacement's steps (replace, create-replacement, delete-replaced) come in any order: one `+-` line.
  const replacements = events.map((e) => e.resourcePreEvent?.metadata).filter((m) => m !== undefined && REPLACEMENT.includes(m.op));
  const replaced = new Set(replacements.map((m) => m!.urn));
  // A resource renamed through an alias is replaced under its new name; the
  // delete of its former self carries the former name: one line, "(was …)".
  const formerName = new Map(replacements.filter((m) => m!.old?.urn && m!.old.urn !== m!.urn).map((m) => [m!.urn, m!.old!.urn]));
  const formers = new Set(formerName.values());
  const notes: string[] = [];
  let summary: Record<string, number> | undefined;
  let failed = false;
  for (const e of events) {
    const step = e.resourcePreEvent?.metadata;
    if (step && SHOWN.includes(step.op) && !seen.has(step.urn) && !formers.has(step.urn)) {
      seen.add(step.urn);
      const fields = (step.diffs ?? Object.keys(step.detailedDiff ?? {})).join(", ");
      const shortFields = fields.length > FIELDS_WIDTH ? `${fields.slice(0, FIELDS_WIDTH - 1)}…` : fields;
      const op: OpType = replaced.has(step.urn) ? "replace" : step.op;
      const former = formerName.get(step.urn);
      // A delete of a resource kept on delete changes nothing in the cluster (e.g. a mode switch's release patches, the update after).
      const retained = step.op === "delete" && step.old?.retainOnDelete === true;
      const name = `${resourceName(step.urn)}${former ? ` (was ${resourceName(former)})` : ""}${retained ? " (leaves the state only: retainOnDelete)" : ""}`;
      rows.push(`| \`${SIGN[op] ?? op}\` | ${cell(name)} | \`${token(step.type)}\` | ${cell(shortFields)} |`);
    }
    if (e.policyEvent) {
      const p = e.policyEvent;
      if (p.enforcementLevel === "mandatory") failed = true;
      notes.push(`- policy ${p.enforcementLevel} \`${token(p.policyPackName)}/${token(p.policyName)}\`${p.resourceUrn ? ` on ${cell(resourceName(p.resourceUrn))}` : ""}: ${cell(p.message)}`);
    }
    const d = e.diagnosticEvent;
    if (d && (d.severity === "error" || d.severity === "warning") && !/^using pulumi-resource-\S+ from \$PATH/.test(d.message.trim())) {
      if (d.severity === "error") failed = true;
      notes.push(`- ${d.severity}${d.urn ? ` (${cell(resourceName(d.urn))})` : ""}: ${cell(d.message)}`);
    }
    if (e.summaryEvent) summary = e.summaryEvent.resourceChanges as Record<string, number>;
  }
  const counts = Object.entries(summary ?? {}).filter(([op, n]) => op !== "same" && op !== "read" && n > 0).map(([op, n]) => `${n} to ${op}`);
  const unchanged = summary?.same ?? 0;
  const outcome = failed || summary === undefined
    ? "**The preview failed** (below, and in the workflow's log)."
    : rows.length === 0 ? "No changes." : `Resources: ${counts.join(", ") || `${rows.length} changes`}; ${unchanged} unchanged.`;
  const text = [
    marker(stack),
    `### \`pulumi preview\` of ${cell(stack)}${commit ? ` at ${token(commit).slice(0, 12)}` : ""}`,
    "",
    outcome,
    ...(rows.length === 0 ? [] : ["", "| | resource | type | fields that differ |", "| --- | --- | --- | --- |", ...rows]),
    ...(notes.length === 0 ? [] : ["", ...[...new Set(notes)]]),
    "",
    "The full diff is in the workflow's log.",
  ].join("\n") + "\n";
  return text.length <= MAX_COMMENT ? text : `${text.slice(0, MAX_COMMENT)}\n\n(cut at ${MAX_COMMENT} characters: the rest is in the workflow's log)\n`;
}

/** The hidden first line the workflow finds its comment for a stack by. */
function marker(stack: string): string {
  return `<!-- flux-capsule-preview:${token(stack)} -->`;
}

/** Reads an event log written by `pulumi preview --event-log` (one JSON event per line). */
export function readEventLog(file: string): EngineEvent[] {
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as EngineEvent);
}

if (require.main === module) {
  const [file, stack, commit] = process.argv.slice(2);
  if (!file || !stack) {
    process.stderr.write("usage: preview-comment.ts EVENTS.jsonl STACK [COMMIT]\n");
    process.exit(2);
  }
  // No events: the preview never started (the workflow's log says why).
  const events = fs.existsSync(file) && fs.statSync(file).size > 0 ? readEventLog(file) : [];
  process.stdout.write(previewComment(events, stack, commit));
}
