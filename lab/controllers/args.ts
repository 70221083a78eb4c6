/**
 * Prints the effective container arguments of the Flux controllers as a
 * committed platform repository defines them: the first container's `args`
 * of each Deployment in `gotk-components.yaml`, then the JSON6902 patches of
 * the repository's `kustomization.yaml` applied in order, as kustomize would.
 * lab/controllers/up.sh runs the controllers with these arguments, so the lab
 * exercises the flags our program commits rather than a hand-typed copy.
 *
 *   node -r ts-node/register/transpile-only lab/controllers/args.ts \
 *     --components gotk-components.yaml [--kustomization kustomization.yaml] [--json]
 *
 * Output: one `<deployment>\t<arg>` line per argument (in order), or with
 * --json one object mapping each Deployment name to its argument list.
 * Only `patches` entries whose patch is a JSON6902 operation list (inline
 * `patch` or a `path` file) are understood; a strategic-merge patch aimed at a
 * Deployment is an error, since its effect on the arguments is not modelled.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';

/** A Kubernetes object as read from YAML. */
export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** One JSON6902 operation. */
interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
}

/** A kustomize patch target selector. */
interface Target {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
}

/** One entry of `patches`, resolved to its operations (undefined for a strategic-merge patch). */
interface Patch {
  target: Target;
  ops: PatchOp[] | undefined;
}

/** All objects of a multi-document YAML text (empty documents skipped). */
export function parseObjects(text: string): Obj[] {
  const out: Obj[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw new Error('a YAML document is not an object');
    out.push(v as Obj);
  }
  return out;
}

/** kustomize's selector fields are regular expressions matched against the whole value. */
function matchesRegex(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined || pattern === '') return true;
  return new RegExp(`^(?:${pattern})$`).test(value ?? '');
}

function matchesLabels(selector: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || selector === '') return true;
  return selector.split(',').every((term) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(\S*)\s*$/.exec(term);
    if (!m) throw new Error(`labelSelector term not supported here: ${term}`);
    const [, key = '', op, want] = m;
    const have = labels?.[key];
    return op === '!=' ? have !== want : have === want;
  });
}

/** Whether `target` selects `obj`. */
export function targets(target: Target, obj: Obj): boolean {
  const [group, version] = (obj.apiVersion ?? '').includes('/') ? (obj.apiVersion ?? '').split('/') : ['', obj.apiVersion];
  return (
    matchesRegex(target.kind, obj.kind) &&
    matchesRegex(target.name, obj.metadata?.name) &&
    matchesRegex(target.namespace, obj.metadata?.namespace) &&
    matchesRegex(target.group, group) &&
    matchesRegex(target.version, version) &&
    matchesLabels(target.labelSelector, obj.metadata?.labels)
  );
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer must start with "/": ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies JSON6902 add/replace/remove operations to a copy of `doc`. */
export function applyOps(doc: Obj, ops: readonly PatchOp[]): Obj {
  const root = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const tokens = decodePointer(op.path);
    const last = tokens.pop();
    if (last === undefined) throw new Error(`cannot ${op.op} the document root`);
    let parent: unknown = root;
    for (const t of tokens) {
      parent = Array.isArray(parent) ? parent[Number(t)] : (parent as Record<string, unknown> | undefined)?.[t];
      if (parent === undefined || parent === null || typeof parent !== 'object') {
        throw new Error(`${op.op} ${op.path}: path does not exist`);
      }
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`${op.op} ${op.path}: bad index`);
      if (op.op === 'add') parent.splice(index, 0, op.value);
      else if (op.op === 'replace' && index < parent.length) parent[index] = op.value;
      else if (op.op === 'remove' && index < parent.length) parent.splice(index, 1);
      else throw new Error(`${op.op} ${op.path}: not supported or out of range`);
    } else {
      const o = parent as Record<string, unknown>;
      if (op.op === 'add') o[last] = op.value;
      else if ((op.op === 'replace' || op.op === 'remove') && last in o) {
        if (op.op === 'replace') o[last] = op.value;
        else delete o[last];
      } else throw new Error(`${op.op} ${op.path}: not supported or path does not exist`);
    }
  }
  return root as Obj;
}

/** The `patches` of a kustomization.yaml; `dir` resolves `path:` entries. */
export function readPatches(kustomization: unknown, dir: string): Patch[] {
  const k = (kustomization ?? {}) as { patches?: unknown; patchesJson6902?: unknown };
  const entries = [
    ...(Array.isArray(k.patches) ? k.patches : []),
    ...(Array.isArray(k.patchesJson6902) ? k.patchesJson6902 : []),
  ] as { patch?: string; path?: string; target?: Target }[];
  return entries.map((e) => {
    const text = e.patch ?? (e.path !== undefined ? readFileSync(path.resolve(dir, e.path), 'utf8') : undefined);
    if (text === undefined) throw new Error('a patches entry has neither patch nor path');
    const body: unknown = parse(text);
    const ops = Array.isArray(body) ? (body as PatchOp[]) : undefined;
    return { target: e.target ?? {}, ops };
  });
}

/** First-container args of every Deployment after the patches, keyed by Deployment name. */
export function effectiveArgs(objects: readonly Obj[], patches: readonly Patch[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const original of objects) {
    if (original.kind !== 'Deployment') continue;
    let obj = original;
    for (const p of patches) {
      if (!targets(p.target, obj)) continue;
      if (p.ops === undefined) {
        throw new Error(`a strategic-merge patch targets Deployment ${obj.metadata?.name}: not supported by ${path.basename(__filename)}`);
      }
      obj = applyOps(obj, p.ops);
    }
    const spec = obj.spec as { template?: { spec?: { containers?: { args?: unknown }[] } } } | undefined;
    const args = spec?.template?.spec?.containers?.[0]?.args;
    out.set(obj.metadata?.name ?? '', Array.isArray(args) ? args.map(String) : []);
  }
  return out;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      components: { type: 'string' },
      kustomization: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.components) throw new Error('usage: args.ts --components FILE [--kustomization FILE] [--json]');
  const objects = parseObjects(readFileSync(values.components, 'utf8'));
  const patches = values.kustomization
    ? readPatches(parse(readFileSync(values.kustomization, 'utf8')), path.dirname(values.kustomization))
    : [];
  const args = effectiveArgs(objects, patches);
  if (values.json) {
    process.stdout.write(JSON.stringify(Object.fromEntries(args), null, 2) + '\n');
    return;
  }
  for (const [name, list] of args) for (const a of list) process.stdout.write(`${name}\t${a}\n`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`args.ts: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
