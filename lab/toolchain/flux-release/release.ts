// The YAML steps of lab/toolchain/flux-release.sh, which builds a Flux
// release's install.yaml the way the release does, from Go modules:
//
//   pins MANIFESTS                   "<controller> <version>" for each release asset
//                                    that flux2's manifests/bases download
//   stand-in CONTROLLER VERSION CRD_DIR TEMPLATE OUT
//                                    the release assets of a controller whose main
//                                    module the proxy refuses: OUT/<c>.crds.yaml
//                                    (controller-gen's CRDs) and OUT/<c>.deployment.yaml
//                                    (TEMPLATE, the image tagged VERSION)
//   localize MANIFESTS ASSETS        points every release-asset URL of
//                                    MANIFESTS/**/kustomization.yaml at a copy of
//                                    ASSETS/<controller>/<file> next to it
//   check INSTALL VERSION            the package's release rules accept INSTALL
//
//   node -r ts-node/register/transpile-only lab/toolchain/flux-release/release.ts ...
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments, parseDocument, stringify } from "yaml";
import { assertFluxRelease } from "../../../components/flux/release";
import { KubeObject } from "../../../components/shared";

/** A release asset as flux2's bases name it. */
const ASSET_URL = /^https:\/\/github\.com\/fluxcd\/([a-z-]+)\/releases\/download\/(v[0-9][^/]*)\/([a-z.-]+\.yaml)$/;

function kustomizations(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name === "kustomization.yaml")
    .map((e) => path.join(e.parentPath, e.name)).sort();
}

function resources(file: string): string[] {
  const k = parseDocument(fs.readFileSync(file, "utf8")).toJS() as { resources?: string[] };
  return k.resources ?? [];
}

function pins(manifests: string): void {
  const seen = new Map<string, string>();
  for (const file of kustomizations(manifests)) {
    for (const r of resources(file)) {
      const m = ASSET_URL.exec(r);
      if (!m) continue;
      const [, controller, version] = m as unknown as [string, string, string];
      if (seen.has(controller) && seen.get(controller) !== version) {
        throw new Error(`${file}: ${controller} at ${version}, elsewhere at ${seen.get(controller)}`);
      }
      seen.set(controller, version);
    }
  }
  for (const [c, v] of [...seen].sort()) console.log(`${c} ${v}`);
}

function docs(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>).filter((o) => o !== null);
}

function multiDoc(objects: readonly unknown[]): string {
  return objects.map((o) => "---\n" + stringify(o, { lineWidth: 0 })).join("");
}

function standIn(controller: string, version: string, crdDir: string, template: string, out: string): void {
  // The CRDs in file order, as `kustomize build config/crd` lists controller-gen's files.
  const crds = fs.readdirSync(crdDir).filter((f) => f.endsWith(".yaml")).sort()
    .flatMap((f) => docs(fs.readFileSync(path.join(crdDir, f), "utf8")));
  if (crds.length === 0) throw new Error(`${crdDir}: controller-gen wrote no CRDs for ${controller}`);
  const objects = docs(fs.readFileSync(template, "utf8"));
  for (const o of objects) {
    if (o.kind !== "Deployment") continue;
    const containers = (o as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers;
    containers[0]!.image = `fluxcd/${controller}:${version}`;
  }
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `${controller}.crds.yaml`), multiDoc(crds));
  fs.writeFileSync(path.join(out, `${controller}.deployment.yaml`), multiDoc(objects));
}

function localize(manifests: string, assets: string): void {
  for (const file of kustomizations(manifests)) {
    const doc = parseDocument(fs.readFileSync(file, "utf8"));
    const list = doc.get("resources", true) as { items: { value: unknown }[] } | undefined;
    let changed = 0;
    for (const item of list?.items ?? []) {
      const m = typeof item.value === "string" ? ASSET_URL.exec(item.value) : null;
      if (!m) {
        if (typeof item.value === "string" && /^https?:/.test(item.value)) throw new Error(`${file}: remote resource ${item.value} is not a release asset`);
        continue;
      }
      const [, controller, , name] = m as unknown as [string, string, string, string];
      fs.copyFileSync(path.join(assets, controller, name), path.join(path.dirname(file), name));
      item.value = name;
      changed++;
    }
    if (changed > 0) fs.writeFileSync(file, doc.toString({ lineWidth: 0 }));
  }
}

function check(install: string, version: string): void {
  const objects = docs(fs.readFileSync(install, "utf8")) as unknown as KubeObject[];
  assertFluxRelease(objects, { version, source: install });
  process.stderr.write(`[flux-release] ${install}: ${objects.length} objects, accepted as Flux ${version}\n`);
}

function main(): void {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd === "pins" && args.length === 1) return pins(args[0]!);
  if (cmd === "stand-in" && args.length === 5) return standIn(args[0]!, args[1]!, args[2]!, args[3]!, args[4]!);
  if (cmd === "localize" && args.length === 2) return localize(args[0]!, args[1]!);
  if (cmd === "check" && args.length === 2) return check(args[0]!, args[1]!);
  throw new Error("usage: release.ts pins MANIFESTS | stand-in CONTROLLER VERSION CRD_DIR TEMPLATE OUT | localize MANIFESTS ASSETS | check INSTALL VERSION");
}

main();
