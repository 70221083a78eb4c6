// Writes the lab's Flux install.yaml: the unit-test stand-in
// (test/fixtures/flux-install.yaml, same objects and controller args as a
// release) with every CRD replaced by the real one from the controllers'
// Go modules, so the API server validates Flux objects with their real
// schemas. CRDs of controllers the lab does not build keep the stand-in.
//
//   node -r ts-node/register/transpile-only lab/controllers/install-yaml.ts OUT CRD_DIR...
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { VERSION_LABEL } from "../../components/flux/manifests";
import { KubeObject } from "../../components/shared";
import { assertFluxRelease } from "../../components/flux/release";

interface Obj { kind: string; metadata: { name: string } }

function readDocs(file: string): Obj[] {
  return parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

function main(): void {
  const [out, ...crdDirs] = process.argv.slice(2);
  if (!out || crdDirs.length === 0) throw new Error("usage: install-yaml.ts OUT CRD_DIR...");
  const real = new Map<string, Obj>();
  for (const dir of crdDirs) {
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".yaml"))) {
      for (const o of readDocs(path.join(dir, f))) if (o.kind === "CustomResourceDefinition") real.set(o.metadata.name, o);
    }
  }
  const fixture = path.join(__dirname, "..", "..", "test", "fixtures", "flux-install.yaml");
  let replaced = 0;
  const objects = readDocs(fixture).map((o) => {
    if (o.kind !== "CustomResourceDefinition" || !real.has(o.metadata.name)) return o;
    replaced++;
    // Keep the release's labels (they select components, and the version
    // label must match flux.version) on the real schema.
    const crd = structuredClone(real.get(o.metadata.name)!) as Obj & { metadata: Record<string, unknown> };
    crd.metadata = { name: o.metadata.name, labels: (o.metadata as Record<string, unknown>).labels };
    return crd;
  });
  // The program refuses anything a Flux release would not install: fail here,
  // naming this file, rather than in the middle of a lab run.
  const version = (objects.find((o) => o.kind === "Namespace") as KubeObject | undefined)?.metadata.labels?.[VERSION_LABEL];
  if (!version) throw new Error(`${fixture}: its Namespace has no ${VERSION_LABEL} label, which the lab's stack relies on`);
  assertFluxRelease(objects as KubeObject[], { version, source: out });
  fs.writeFileSync(out, "# Lab install.yaml: test/fixtures/flux-install.yaml with the controllers' real CRDs.\n" +
    objects.map((o) => "---\n" + stringify(o, { lineWidth: 0 })).join(""));
  process.stderr.write(`[install-yaml] ${out}: ${objects.length} objects, ${real.size} real CRDs available, ${replaced} replaced\n`);
}

main();
