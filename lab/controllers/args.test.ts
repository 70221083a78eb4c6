// Tests for lab/controllers/args.ts, part of npm test (.mocharc.json): the lab
// starts Flux's controllers with the flags these functions read from the committed files.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { lockdownArgPatches } from '../../components/flux/lockdown';
import { kustomizationFile } from '../../components/flux/repo-files';
import { applyOps, effectiveArgs, Obj, parseObjects, readPatches, targets } from './args';

const fixture = path.join(__dirname, '../../test/fixtures/flux-install.yaml');

function deployment(name: string, args: string[]): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'flux-system' },
    spec: { template: { spec: { containers: [{ name: 'manager', args }] } } },
  };
}

describe('lab/controllers/args', () => {
  it('applies the lockdown patches our program commits, in order', () => {
    const controllers = ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller'];
    const kustomization = parse(kustomizationFile(lockdownArgPatches('default'), controllers, true));
    const args = effectiveArgs(parseObjects(readFileSync(fixture, 'utf8')), readPatches(kustomization, '.'));
    const kc = args.get('kustomize-controller') ?? [];
    assert.deepEqual(kc.slice(-3), ['--no-cross-namespace-refs=true', '--no-remote-bases=true', '--default-service-account=default']);
    const sc = args.get('source-controller') ?? [];
    assert.ok(sc.includes('--storage-path=/data'));
    assert.ok(!sc.some((a) => a.startsWith('--no-')), 'source-controller gets no lockdown flag');
  });

  it('matches target names as whole-string regular expressions', () => {
    const d = deployment('kustomize-controller-x', []);
    assert.equal(targets({ kind: 'Deployment', name: 'kustomize-controller' }, d), false);
    assert.equal(targets({ kind: 'Deployment', name: '(helm-controller|kustomize-controller-x)' }, d), true);
    assert.equal(targets({ kind: 'Deployment', labelSelector: 'app=x' }, d), false);
  });

  it('supports add, replace and remove', () => {
    const d = deployment('a', ['--one', '--two']);
    const out = applyOps(d, [
      { op: 'add', path: '/spec/template/spec/containers/0/args/0', value: '--zero' },
      { op: 'replace', path: '/spec/template/spec/containers/0/args/2', value: '--TWO' },
      { op: 'remove', path: '/spec/template/spec/containers/0/args/1' },
    ]);
    assert.deepEqual(effectiveArgs([out], []).get('a'), ['--zero', '--TWO']);
    assert.deepEqual(effectiveArgs([d], []).get('a'), ['--one', '--two'], 'input unchanged');
  });

  it('refuses a strategic-merge patch aimed at a Deployment', () => {
    const patches = readPatches({ patches: [{ patch: 'spec: {replicas: 2}', target: { kind: 'Deployment' } }] }, '.');
    assert.throws(() => effectiveArgs([deployment('a', [])], patches), /strategic-merge/);
  });
});
