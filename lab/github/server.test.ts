/**
 * End-to-end checks of the GitHub double: HTTP API behaviour and real git
 * access over its private sshd.
 *
 * Run: npx mocha -r ts-node/register/transpile-only lab/github/server.test.ts --timeout 60000
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { blobSha, parseSignature } from './git';
import { etagMatches, paginate } from './http-util';
import { normalizePublicKey } from './keys';
import { startGitHubDouble, type GitHubDouble } from './server';

const TOKEN = 'ghp_double_test_token';
const OWNER = 'acme';
const REPO = 'fleet-infra';
const OTHER = 'other-repo';

// Response bodies are probed field by field against GitHub's shapes; typing each would only restate the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion without throwing, so tests can assert on failures too. */
function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; uid?: number; gid?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }),
    });
    child.stdin?.on('error', () => undefined); // a refusing command exits before reading its input
    child.stdin?.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function keygen(dir: string, name: string): Promise<{ priv: string; pub: string }> {
  const priv = path.join(dir, name);
  const r = await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', priv]);
  assert.equal(r.code, 0, r.stderr);
  return { priv, pub: (await readFile(`${priv}.pub`, 'utf8')).trim() };
}

describe('GitHub double helpers', function () {
  it('normalizes public keys to "<type> <base64>" and rejects malformed ones', function () {
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36, 1)]).toString('base64');
    assert.deepEqual(normalizePublicKey(`  ssh-ed25519 ${blob} me@host extra words \n`), { ok: true, key: `ssh-ed25519 ${blob}`, type: 'ssh-ed25519' });
    assert.equal(normalizePublicKey(`ssh-rsa ${blob}`).ok, false, 'type must match the blob');
    assert.equal(normalizePublicKey(`ssh-dss ${blob}`).ok, false, 'ssh-dss is not accepted');
    assert.equal(normalizePublicKey('ssh-ed25519').ok, false);
    assert.equal(normalizePublicKey('ssh-ed25519 not*base64').ok, false);
  });

  it('pages lists with a GitHub-style Link header', function () {
    const all = Array.from({ length: 65 }, (_, i) => i);
    const first = paginate(all, 'http://h/api/v3/x?sha=main');
    assert.deepEqual(first.items, all.slice(0, 30));
    assert.match(first.link ?? '', /<http:\/\/h\/api\/v3\/x\?sha=main&per_page=30&page=2>; rel="next"/);
    assert.match(first.link ?? '', /page=3>; rel="last"/);
    const last = paginate(all, 'http://h/api/v3/x?per_page=30&page=3');
    assert.deepEqual(last.items, [60, 61, 62, 63, 64]);
    assert.doesNotMatch(last.link ?? '', /rel="next"/);
    assert.equal(paginate([1, 2], 'http://h/x').link, undefined);
  });

  it('compares ETags weakly and parses git signatures to UTC ISO dates', function () {
    assert.equal(etagMatches('"abc"', 'W/"abc"'), true);
    assert.equal(etagMatches('W/"x", W/"abc"', 'W/"abc"'), true);
    assert.equal(etagMatches('W/"abd"', 'W/"abc"'), false);
    assert.equal(etagMatches(undefined, 'W/"abc"'), false);
    assert.deepEqual(parseSignature('Flux Capsule <f@x.io> 1700000000 +0200'), {
      name: 'Flux Capsule',
      email: 'f@x.io',
      date: '2023-11-14T22:13:20Z',
    });
  });
});

/**
 * The double's sshd pid. sshd writes its pid file just after the "Server
 * listening" line that the double waits for, so the file may lag a moment.
 */
async function sshdPidOf(dataDir: string): Promise<number> {
  const pidFile = path.join(dataDir, 'ssh', 'sshd.pid');
  for (let i = 0; i < 100; i++) {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 0) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd wrote no pid to ${pidFile} within 5 s`);
}

describe('GitHub double', function () {
  let tmp: string;
  let double: GitHubDouble;
  let knownHostsFile: string;
  let roKey: { priv: string; pub: string };
  let rwKey: { priv: string; pub: string };
  let otherKey: { priv: string; pub: string };
  let roKeyId: number;
  let rwKeyId: number;
  let sshdPid: number | undefined;

  async function api(
    method: string,
    p: string,
    body?: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
  ): Promise<{ status: number; json: Json; headers: Headers }> {
    const res = await fetch(`${double.apiUrl}${p}`, {
      method,
      headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  function sshEnv(key: string): NodeJS.ProcessEnv {
    const cmd = [
      'ssh',
      '-F /dev/null',
      `-i ${key}`,
      `-o UserKnownHostsFile=${knownHostsFile}`,
      '-o GlobalKnownHostsFile=/dev/null',
      '-o StrictHostKeyChecking=yes',
      '-o IdentitiesOnly=yes',
      '-o BatchMode=yes',
    ].join(' ');
    return { GIT_SSH_COMMAND: cmd, GIT_TERMINAL_PROMPT: '0' };
  }

  const clone = (key: string, repo: string, dest: string): Promise<Run> =>
    sh('git', ['clone', double.sshUrl(OWNER, repo), dest], { env: sshEnv(key) });

  before(async function () {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'gh-double-test-'));
    // mkdtemp makes a 0700 dir; the SSH login user must be able to traverse into the data dir.
    await chmod(tmp, 0o755);
    double = await startGitHubDouble({ dataDir: path.join(tmp, 'data'), token: TOKEN, owner: OWNER, log: () => undefined, onUnhandled: () => undefined });
    await double.createRepo(OWNER, REPO, 'main');
    await double.createRepo(OWNER, OTHER, 'main');
    knownHostsFile = path.join(tmp, 'known_hosts');
    await writeFile(knownHostsFile, `${double.knownHosts}\n`);
    roKey = await keygen(tmp, 'ro_key');
    rwKey = await keygen(tmp, 'rw_key');
    otherKey = await keygen(tmp, 'other_key');
    sshdPid = await sshdPidOf(double.dataDir);
  });

  after(async function () {
    await double?.close();
    if (sshdPid) assert.equal(existsSync(`/proc/${sshdPid}`), false, `sshd ${sshdPid} still running after close()`);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  describe('HTTP API', function () {
    it('exposes the URLs and known_hosts the provider and git need', function () {
      assert.match(double.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(double.apiUrl, `${double.baseUrl}api/v3`);
      assert.equal(double.sshUrl(OWNER, REPO), `ssh://git@127.0.0.1:${double.sshPort}/${OWNER}/${REPO}`);
      assert.match(double.knownHosts, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${double.sshPort} ssh-ed25519 [A-Za-z0-9+/=]+$`));
    });

    it('answers 401 "Bad credentials" for a wrong or missing token, and accepts "token <t>"', async function () {
      const bad = await api('GET', `/repos/${OWNER}/${REPO}`, undefined, { authorization: 'Bearer nope' });
      assert.equal(bad.status, 401);
      assert.equal(bad.json.message, 'Bad credentials');
      const missing = await api('GET', `/repos/${OWNER}/${REPO}`, undefined, {});
      assert.equal(missing.status, 401);
      const legacy = await api('GET', `/repos/${OWNER}/${REPO}`, undefined, { authorization: `token ${TOKEN}` });
      assert.equal(legacy.status, 200);
    });

    it('knows the configured owner as an organization and the token user', async function () {
      const org = await api('GET', `/orgs/${OWNER}`);
      assert.equal(org.status, 200);
      assert.equal(org.json.login, OWNER);
      assert.equal(org.json.type, 'Organization');
      assert.equal(typeof org.json.id, 'number');
      assert.equal((await api('GET', '/orgs/someone-else')).status, 404);
      const me = await api('GET', '/user');
      assert.equal(me.status, 200);
      assert.equal(me.json.login, 'flux-bot');
      assert.equal((await api('GET', `/users/${OWNER}`)).json.type, 'Organization');
    });

    it('returns repository metadata and 404 "Not Found" for unknown repositories', async function () {
      const repo = await api('GET', `/repos/${OWNER}/${REPO}`);
      assert.equal(repo.status, 200);
      assert.equal(repo.json.name, REPO);
      assert.equal(repo.json.full_name, `${OWNER}/${REPO}`);
      assert.equal(repo.json.default_branch, 'main');
      assert.equal(repo.json.owner.login, OWNER);
      assert.equal(repo.json.private, true);
      assert.equal(repo.json.ssh_url, double.sshUrl(OWNER, REPO));
      const missing = await api('GET', `/repos/${OWNER}/nope`);
      assert.equal(missing.status, 404);
      assert.equal(missing.json.message, 'Not Found');
    });

    it('reports branches with their real commit sha', async function () {
      const tip = (await double.git(OWNER, REPO, ['rev-parse', 'refs/heads/main'])).trim();
      const b = await api('GET', `/repos/${OWNER}/${REPO}/branches/main`);
      assert.equal(b.status, 200);
      assert.equal(b.json.name, 'main');
      assert.equal(b.json.commit.sha, tip);
      assert.equal((await api('GET', `/repos/${OWNER}/${REPO}/branches/nope`)).status, 404);
      const sha = await double.createBranch(OWNER, REPO, 'feature/x');
      const feature = await api('GET', `/repos/${OWNER}/${REPO}/branches/feature%2Fx`);
      assert.equal(feature.status, 200);
      assert.equal(feature.json.commit.sha, sha);
    });

    it('creates a read-only deploy key (201) and stores it without its comment', async function () {
      const res = await api('POST', `/repos/${OWNER}/${REPO}/keys`, { key: roKey.pub, title: 'flux-ro', read_only: true });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      const [type = '', blob = ''] = roKey.pub.split(' ');
      assert.equal(res.json.key, `${type} ${blob}`);
      assert.equal(res.json.title, 'flux-ro');
      assert.equal(res.json.read_only, true);
      assert.equal(res.json.verified, true);
      assert.equal(typeof res.json.id, 'number');
      assert.match(res.json.url, new RegExp(`/repos/${OWNER}/${REPO}/keys/${res.json.id}$`));
      assert.match(res.json.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      roKeyId = res.json.id;
      const authorized = await readFile(path.join(double.dataDir, 'ssh', 'authorized_keys'), 'utf8');
      assert.match(authorized, new RegExp(`git-serve\\.sh \\S+ ${OWNER}/${REPO} ro",no-pty.* ${type} ${blob.replace(/[+/]/g, '\\$&')}\n`));
    });

    it('refuses duplicate keys anywhere, duplicate titles, and invalid keys with 422', async function () {
      const dup = await api('POST', `/repos/${OWNER}/${REPO}/keys`, { key: roKey.pub, title: 'another', read_only: true });
      assert.equal(dup.status, 422);
      assert.equal(dup.json.message, 'Validation Failed');
      assert.deepEqual(dup.json.errors, [{ resource: 'PublicKey', code: 'custom', field: 'key', message: 'key is already in use' }]);
      const elsewhere = await api('POST', `/repos/${OWNER}/${OTHER}/keys`, { key: roKey.pub, title: 'x', read_only: true });
      assert.equal(elsewhere.status, 422);
      assert.equal(elsewhere.json.errors[0].message, 'key is already in use');
      const sameTitle = await api('POST', `/repos/${OWNER}/${REPO}/keys`, { key: otherKey.pub, title: 'flux-ro', read_only: true });
      assert.equal(sameTitle.status, 422);
      assert.equal(sameTitle.json.errors[0].field, 'title');
      const garbage = await api('POST', `/repos/${OWNER}/${REPO}/keys`, { key: 'ssh-ed25519 AAAAnotakey', title: 'g' });
      assert.equal(garbage.status, 422);
      assert.equal(garbage.json.errors[0].field, 'key');
      assert.equal(double.listKeys(OWNER, REPO).length, 1);
    });

    it('serves a deploy key with an ETag, 304 on If-None-Match, and lists it', async function () {
      const first = await api('GET', `/repos/${OWNER}/${REPO}/keys/${roKeyId}`);
      assert.equal(first.status, 200);
      assert.equal(first.json.id, roKeyId);
      const etag = first.headers.get('etag');
      assert.ok(etag, 'ETag header missing');
      const again = await api('GET', `/repos/${OWNER}/${REPO}/keys/${roKeyId}`, undefined, {
        authorization: `Bearer ${TOKEN}`,
        'if-none-match': etag,
      });
      assert.equal(again.status, 304);
      const list = await api('GET', `/repos/${OWNER}/${REPO}/keys`);
      assert.deepEqual(list.json.map((k: { id: number }) => k.id), [roKeyId]);
      assert.equal((await api('GET', `/repos/${OWNER}/${REPO}/keys/12345`)).status, 404);
      assert.equal((await api('DELETE', `/repos/${OWNER}/${REPO}/keys/12345`)).status, 404);
    });

    describe('contents', function () {
      const FILE = 'clusters/prod/flux-system/gotk-sync.yaml';
      let fileSha: string;

      it('PUT creates a real commit on the branch (201)', async function () {
        const content = 'apiVersion: v1\nkind: ConfigMap\n';
        const res = await api('PUT', `/repos/${OWNER}/${REPO}/contents/${FILE}`, {
          message: 'Add Flux sync manifests',
          content: Buffer.from(content).toString('base64'),
          branch: 'main',
          committer: { name: 'Flux Capsule', email: 'flux@example.com' },
        });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        assert.equal(res.json.content.path, FILE);
        assert.equal(res.json.content.sha, blobSha(Buffer.from(content)));
        fileSha = res.json.content.sha;
        const bare = double.repoPath(OWNER, REPO);
        const log = await sh('git', ['-c', 'safe.directory=*', '--git-dir', bare, 'log', '-1', '--format=%H%n%s%n%cn <%ce>', 'main']);
        assert.equal(log.code, 0, log.stderr);
        assert.deepEqual(log.stdout.trim().split('\n'), [res.json.commit.sha, 'Add Flux sync manifests', 'Flux Capsule <flux@example.com>']);
        const show = await sh('git', ['-c', 'safe.directory=*', '--git-dir', bare, 'show', `main:${FILE}`]);
        assert.equal(show.stdout, content);
        assert.equal(res.json.commit.message, 'Add Flux sync manifests');
        assert.equal(res.json.commit.parents.length, 1);
      });

      it('GET returns base64 content, blob sha and a url carrying ?ref=', async function () {
        const res = await api('GET', `/repos/${OWNER}/${REPO}/contents/${FILE}?ref=main`);
        assert.equal(res.status, 200);
        assert.equal(res.json.type, 'file');
        assert.equal(res.json.encoding, 'base64');
        assert.equal(Buffer.from(res.json.content, 'base64').toString(), 'apiVersion: v1\nkind: ConfigMap\n');
        assert.equal(res.json.sha, fileSha);
        assert.equal(res.json.name, 'gotk-sync.yaml');
        assert.equal(new URL(res.json.url).searchParams.get('ref'), 'main');
        assert.ok(res.headers.get('etag'));
        assert.equal((await api('GET', `/repos/${OWNER}/${REPO}/contents/nope.yaml?ref=main`)).status, 404);
        assert.equal((await api('GET', `/repos/${OWNER}/${REPO}/contents/${FILE}?ref=feature/x`)).status, 404);
        const dir = await api('GET', `/repos/${OWNER}/${REPO}/contents/clusters/prod/flux-system`);
        assert.deepEqual(dir.json.map((e: { name: string }) => e.name), ['gotk-sync.yaml']);
      });

      it('PUT over an existing file needs the current sha (422 without, 409 wrong) and then updates (200)', async function () {
        const body = { message: 'Update sync', content: Buffer.from('kind: Secret\n').toString('base64'), branch: 'main' };
        const noSha = await api('PUT', `/repos/${OWNER}/${REPO}/contents/${FILE}`, body);
        assert.equal(noSha.status, 422);
        assert.match(noSha.json.message, /"sha" wasn't supplied/);
        const wrong = await api('PUT', `/repos/${OWNER}/${REPO}/contents/${FILE}`, { ...body, sha: 'a'.repeat(40) });
        assert.equal(wrong.status, 409);
        const ok = await api('PUT', `/repos/${OWNER}/${REPO}/contents/${FILE}`, { ...body, sha: fileSha });
        assert.equal(ok.status, 200, JSON.stringify(ok.json));
        assert.equal((await double.readFile(OWNER, REPO, FILE))?.toString(), 'kind: Secret\n');
        assert.equal(await double.branchSha(OWNER, REPO, 'main'), ok.json.commit.sha);
        fileSha = ok.json.content.sha;
      });

      it('GET commits/{sha} and the commit list report the commit and its files', async function () {
        const tip = (await double.branchSha(OWNER, REPO, 'main')) as string;
        const c = await api('GET', `/repos/${OWNER}/${REPO}/commits/${tip}`);
        assert.equal(c.status, 200);
        assert.equal(c.json.sha, tip);
        assert.equal(c.json.commit.message, 'Update sync');
        assert.equal(c.json.commit.committer.name, 'flux-bot');
        assert.match(c.json.commit.committer.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.deepEqual(c.json.files.map((f: { filename: string; status: string }) => [f.filename, f.status]), [[FILE, 'modified']]);
        const list = await api('GET', `/repos/${OWNER}/${REPO}/commits?sha=main&path=${encodeURIComponent(FILE)}`);
        assert.deepEqual(list.json.map((x: { commit: { message: string } }) => x.commit.message), ['Update sync', 'Add Flux sync manifests']);
        const git = await api('GET', `/repos/${OWNER}/${REPO}/git/commits/${tip}`);
        assert.equal(git.json.message, 'Update sync');
        assert.equal((await api('GET', `/repos/${OWNER}/${REPO}/commits/${'0'.repeat(40)}`)).status, 422);
      });

      it('DELETE removes the file in a real commit (200)', async function () {
        const wrong = await api('DELETE', `/repos/${OWNER}/${REPO}/contents/${FILE}`, { message: 'rm', sha: 'b'.repeat(40), branch: 'main' });
        assert.equal(wrong.status, 409);
        const res = await api('DELETE', `/repos/${OWNER}/${REPO}/contents/${FILE}`, { message: 'Remove sync', sha: fileSha, branch: 'main' });
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.equal(res.json.content, null);
        assert.equal(res.json.commit.message, 'Remove sync');
        assert.equal(await double.readFile(OWNER, REPO, FILE), undefined);
        assert.equal((await double.git(OWNER, REPO, ['log', '-1', '--format=%s', 'main'])).trim(), 'Remove sync');
        assert.equal((await api('GET', `/repos/${OWNER}/${REPO}/contents/${FILE}`)).status, 404);
        assert.equal((await api('DELETE', `/repos/${OWNER}/${REPO}/contents/${FILE}`, { message: 'again', sha: fileSha })).status, 404);
      });
    });

    it('answers 404 for endpoints it does not serve and logs them as unhandled', async function () {
      const before = double.requests.length;
      const res = await api('GET', `/repos/${OWNER}/${REPO}/pages`);
      assert.equal(res.status, 404);
      const entry = double.requests[before];
      assert.ok(entry);
      assert.equal(entry.path, `/api/v3/repos/${OWNER}/${REPO}/pages`);
      assert.equal(entry.handled, false);
      assert.ok(Number.isFinite(entry.ms) && entry.ms >= 0, `request time ${entry.ms}`);
    });

    it('failNext(2, 502) fails exactly the next two calls', async function () {
      double.failNext(2, 502);
      const a = await api('GET', `/repos/${OWNER}/${REPO}`);
      const b = await api('GET', '/user');
      const c = await api('GET', `/repos/${OWNER}/${REPO}`);
      assert.deepEqual([a.status, b.status, c.status], [502, 502, 200]);
      assert.match(a.json.message, /failNext/);
      assert.deepEqual(double.requests.slice(-3).map((r) => r.status), [502, 502, 200]);
    });
  });

  describe('git over SSH', function () {
    it('clones with the read-only deploy key', async function () {
      const dest = path.join(tmp, 'clone-ro');
      const r = await clone(roKey.priv, REPO, dest);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await readFile(path.join(dest, 'README.md'), 'utf8'), `# ${REPO}\n`);
      const head = await sh('git', ['-C', dest, 'rev-parse', 'HEAD']);
      assert.equal(head.stdout.trim(), await double.branchSha(OWNER, REPO, 'main'));
    });

    it('refuses a push with the read-only key', async function () {
      const dest = path.join(tmp, 'clone-ro');
      await writeFile(path.join(dest, 'evil.txt'), 'nope\n');
      await sh('git', ['-C', dest, 'add', 'evil.txt']);
      const commit = await sh('git', ['-C', dest, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'evil']);
      assert.equal(commit.code, 0, commit.stderr);
      const before = await double.branchSha(OWNER, REPO, 'main');
      const push = await sh('git', ['-C', dest, 'push', 'origin', 'HEAD:main'], { env: sshEnv(roKey.priv) });
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /marked as read only/);
      assert.equal(await double.branchSha(OWNER, REPO, 'main'), before);
    });

    it('lets a read-write deploy key push, and the API sees the pushed commit', async function () {
      const res = await api('POST', `/repos/${OWNER}/${REPO}/keys`, { key: rwKey.pub, title: 'ci-rw', read_only: false });
      assert.equal(res.status, 201);
      rwKeyId = res.json.id;
      const dest = path.join(tmp, 'clone-rw');
      const c = await clone(rwKey.priv, REPO, dest);
      assert.equal(c.code, 0, c.stderr);
      await writeFile(path.join(dest, 'pushed.txt'), 'hello from ssh\n');
      await sh('git', ['-C', dest, 'add', 'pushed.txt']);
      await sh('git', ['-C', dest, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'pushed over ssh']);
      const local = (await sh('git', ['-C', dest, 'rev-parse', 'HEAD'])).stdout.trim();
      const push = await sh('git', ['-C', dest, 'push', 'origin', 'HEAD:main'], { env: sshEnv(rwKey.priv) });
      assert.equal(push.code, 0, push.stderr);
      assert.equal(await double.branchSha(OWNER, REPO, 'main'), local);
      const got = await api('GET', `/repos/${OWNER}/${REPO}/contents/pushed.txt`);
      assert.equal(Buffer.from(got.json.content, 'base64').toString(), 'hello from ssh\n');
      // A contents-API commit on top of a pushed one must still work (ownership/permissions stay consistent).
      const put = await api('PUT', `/repos/${OWNER}/${REPO}/contents/after-push.txt`, { message: 'after push', content: 'eA==' });
      assert.equal(put.status, 201, JSON.stringify(put.json));
      assert.deepEqual(put.json.commit.parents.map((p: { sha: string }) => p.sha), [local]);
    });

    it('does not let a key for one repository clone another', async function () {
      const res = await api('POST', `/repos/${OWNER}/${OTHER}/keys`, { key: otherKey.pub, title: 'other', read_only: true });
      assert.equal(res.status, 201);
      const own = await clone(otherKey.priv, OTHER, path.join(tmp, 'clone-other'));
      assert.equal(own.code, 0, own.stderr);
      const foreign = await clone(otherKey.priv, REPO, path.join(tmp, 'clone-foreign'));
      assert.notEqual(foreign.code, 0);
      assert.match(foreign.stderr, /Repository not found/);
      assert.equal(existsSync(path.join(tmp, 'clone-foreign', 'README.md')), false);
    });

    it('the forced command serves only the granted repository, in the path forms git sends', async function () {
      const gate = path.join(double.dataDir, 'ssh', 'git-serve.sh');
      const root = path.join(double.dataDir, 'repos');
      const idOut = await sh('id', ['-u', double.sshUser]);
      const gidOut = await sh('id', ['-g', double.sshUser]);
      const as = { uid: Number(idOut.stdout), gid: Number(gidOut.stdout) };
      const serve = (request: string, mode = 'ro'): Promise<Run> =>
        sh(gate, [root, `${OWNER}/${REPO}`, mode], { env: { SSH_ORIGINAL_COMMAND: request }, input: '0000', ...as });
      for (const form of [`git-upload-pack '${OWNER}/${REPO}'`, `git-upload-pack '/${OWNER}/${REPO}.git'`, `git upload-pack '${OWNER}/${REPO}/'`]) {
        const ok = await serve(form);
        assert.equal(ok.code, 0, `${form}: ${ok.stderr}`);
        assert.match(ok.stdout, /refs\/heads\/main/, form);
      }
      const refused: [string, RegExp][] = [
        [`git-upload-pack '${OWNER}/${OTHER}'`, /Repository not found/],
        [`git-upload-pack '../${OWNER}/${REPO}'`, /Repository not found/],
        [`git-upload-pack '${OWNER}/${REPO}'; touch /tmp/pwned`, /invalid repository path/],
        [`git-upload-archive '${OWNER}/${REPO}'`, /unsupported command/],
        ['', /interactive shells are not provided/],
        [`git-receive-pack '${OWNER}/${REPO}'`, /marked as read only/],
      ];
      for (const [request, why] of refused) {
        const r = await serve(request);
        assert.equal(r.code, 1, `expected refusal of ${JSON.stringify(request)}`);
        assert.match(r.stderr, why);
        assert.equal(r.stdout, '');
      }
      const rw = await serve(`git-receive-pack '${OWNER}/${REPO}'`, 'rw');
      assert.equal(rw.code, 0, rw.stderr);
      assert.match(rw.stdout, /report-status/);
    });

    it('rejects keys the double does not know', async function () {
      const stranger = await keygen(tmp, 'stranger');
      const r = await clone(stranger.priv, REPO, path.join(tmp, 'clone-stranger'));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Permission denied \(publickey\)/);
    });

    it('stops cloning once the key is deleted through the API', async function () {
      const del = await api('DELETE', `/repos/${OWNER}/${REPO}/keys/${roKeyId}`);
      assert.equal(del.status, 204);
      assert.equal((await api('GET', `/repos/${OWNER}/${REPO}/keys/${roKeyId}`)).status, 404);
      const r = await clone(roKey.priv, REPO, path.join(tmp, 'clone-after-delete'));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Permission denied \(publickey\)/);
    });

    it('supports out-of-band drift: deleteKey() removes access and the API reports 404', async function () {
      assert.equal(await double.deleteKey(OWNER, OTHER, double.listKeys(OWNER, OTHER)[0]?.id ?? -1), true);
      assert.deepEqual(double.listKeys(OWNER, OTHER), []);
      const r = await clone(otherKey.priv, OTHER, path.join(tmp, 'clone-other-2'));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Permission denied \(publickey\)/);
    });

    it('keeps keys and repositories across a restart of the double', async function () {
      const dataDir = double.dataDir;
      const oldKnownHosts = double.knownHosts.replace(/^\S+ /, '');
      await double.close();
      double = await startGitHubDouble({ dataDir, token: TOKEN, owner: OWNER, log: () => undefined, onUnhandled: () => undefined });
      assert.equal(double.knownHosts.replace(/^\S+ /, ''), oldKnownHosts, 'host key changed across restart');
      await writeFile(knownHostsFile, `${double.knownHosts}\n`);
      assert.deepEqual(double.listKeys(OWNER, REPO).map((k) => k.id), [rwKeyId]);
      const key = await api('GET', `/repos/${OWNER}/${REPO}/keys/${rwKeyId}`);
      assert.equal(key.json.title, 'ci-rw');
      const r = await clone(rwKey.priv, REPO, path.join(tmp, 'clone-after-restart'));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await readFile(path.join(tmp, 'clone-after-restart', 'after-push.txt'), 'utf8'), 'x');
      sshdPid = await sshdPidOf(dataDir);
    });
  });
});
