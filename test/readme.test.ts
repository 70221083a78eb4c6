import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { parse } from "yaml";

// The README's TypeScript is what users copy: each ```ts block must compile
// as a program of another stack would, importing the package by name.
const root = path.join(__dirname, "..");

/** The ```ts / ```typescript blocks of a Markdown text, each with the README line its code starts on. */
function snippets(markdown: string): { line: number; code: string }[] {
  const found: { line: number; code: string }[] = [];
  const fence = /^```(?:ts|typescript)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (const m of markdown.matchAll(fence)) {
    found.push({ line: markdown.slice(0, m.index).split("\n").length + 1, code: m[1]! });
  }
  return found;
}

/**
 * Type-checks `files` (name -> code) as one Pulumi program in CommonJS, the
 * settings of test/consumer.test.ts, with "flux-capsule" resolved to this
 * repository's components/index.ts and everything else to its node_modules.
 * The files stay in memory, placed at the repository root for module resolution.
 * Returns the errors by file name, as `line:column message`.
 */
function typeErrors(files: Record<string, string>): Record<string, string[]> {
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    typeRoots: [path.join(root, "node_modules", "@types")],
    baseUrl: root,
    paths: { "flux-capsule": ["components/index.ts"] },
  };
  const inMemory = new Map(Object.entries(files).map(([name, code]) => [path.join(root, name), code]));
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => inMemory.has(f) || fileExists.call(host, f);
  host.readFile = (f) => inMemory.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, language, ...rest) => {
    const code = inMemory.get(f);
    return code === undefined ? getSourceFile.call(host, f, language, ...rest) : ts.createSourceFile(f, code, language);
  };
  const program = ts.createProgram([...inMemory.keys()], options, host);
  const errors: Record<string, string[]> = Object.fromEntries(Object.keys(files).map((name) => [name, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const name = d.file ? path.relative(root, d.file.fileName) : "";
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    (errors[name] ??= []).push(`${at ? `${at.line + 1}:${at.character + 1} ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
  }
  return errors;
}

describe("README TypeScript snippets", function () {
  this.timeout(120_000);

  it("each compiles as a CommonJS Pulumi program against the package; a top-level await does not", () => {
    const blocks = snippets(fs.readFileSync(path.join(root, "README.md"), "utf8"));
    assert.ok(blocks.length > 0, "the README has TypeScript snippets");
    const files = Object.fromEntries(blocks.map((b) => [`readme-line-${b.line}.ts`, b.code]));
    // The check can fail: what a CommonJS program cannot compile.
    files["top-level-await.ts"] = 'import { loadFluxManifests } from "flux-capsule";\n' +
      'export const manifests = await loadFluxManifests({ version: "v2.7.5" });\n';
    const { "top-level-await.ts": refused, ...errors } = typeErrors(files);
    assert.deepEqual(errors, Object.fromEntries(Object.keys(errors).map((name) => [name, []])));
    assert.match(refused!.join("\n"), /^2:26 Top-level 'await' expressions are only allowed when/m);
  });
});

describe("README snippets in the other languages", () => {
  const markdown = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const blocks = (language: string) => [...markdown.matchAll(new RegExp(`^\`\`\`${language}[ \\t]*\\n([\\s\\S]*?)^\`\`\`[ \\t]*$`, "gm"))].map((m) => m[1]!);

  it("each Python snippet is valid Python, and an invalid one is refused", () => {
    const parses = (code: string) => spawnSync("python3", ["-c", "import ast, sys; ast.parse(sys.stdin.read())"], { input: code }).status === 0;
    const python = blocks("python");
    assert.ok(python.length > 0, "the README has a Python snippet");
    for (const code of python) assert.ok(parses(code), code);
    assert.equal(parses("platform = Platform(\n"), false, "the check can fail");
  });

  it("the YAML program uses Platform with the component's arguments only", () => {
    const programs = blocks("yaml").map((code) => parse(code) as { resources?: Record<string, { type: string; properties?: Record<string, unknown> }> })
      .filter((p) => p.resources?.platform?.type === "flux-capsule:index:Platform");
    assert.equal(programs.length, 1, "one YAML program with a Platform");
    const args = Object.keys(programs[0]!.resources!.platform!.properties ?? {});
    const known = ["owner", "flux", "tenancy", "capsule", "reservedNamespaces", "tenants", "parallelGitHubRequests"];
    assert.deepEqual(args.filter((a) => !known.includes(a)), []);
  });
});
