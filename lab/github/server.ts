/**
 * GitHub API test double for end-to-end tests of Pulumi programs that use
 * `@pulumi/github` (terraform-provider-github / go-github underneath).
 *
 * It serves the slice of the REST API those programs touch (owner lookup,
 * repositories, branches, deploy keys, contents, commits) under `/api/v3/`,
 * backed by real bare git repositories, and runs a private sshd whose
 * authorized_keys is generated from the deploy keys, so a key created through
 * the API really can (or cannot) clone and push over SSH.
 */
import { chmod, chown, copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  branchTip,
  createRef,
  findEntry,
  isSafeBranchName,
  isSafeRepoPath,
  makeGitRunner,
  readBlob,
  resolveCommit,
} from './git';
import {
  HttpError,
  asObject,
  optString,
} from './http-util';
import {
  errorBody,
  type UrlBase,
} from './json';
import { addKeyRecord, createRepo, removeKeyRecord } from './operations';
import {
  ensureHostKey,
  ensureLoginUser,
  freePort,
  isRoot,
  killStaleSshd,
  renderSshdConfig,
  startSshd,
  type LoginUser,
  type SshdHandle,
} from './sshd';
import { NAME_RE, makeCore, type Core } from './core';
import { API, CONTROL, installPlumbing, send, type RepoParams } from './plumbing';
import { registerRoutes } from './routes';
import { findRepo, keysOf, loadState, repoKey, type KeyRecord, type RepoRecord } from './state';
import type { DeployKey, GitHubDouble, GitHubDoubleOptions, RequestLogEntry } from './types';

export type { CreateRepoOptions, DeployKey, GitHubDouble, RequestLogEntry } from './types';

const execFileP = promisify(execFile);

const SAFE_PATH_RE = /^[A-Za-z0-9._/-]+$/;
const GATE_SCRIPT = path.join(__dirname, 'git-serve.sh');

/** Starts the double: HTTP API first (its port goes into URLs), then sshd. */
export async function startGitHubDouble(options: GitHubDoubleOptions): Promise<GitHubDouble> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[github-double] ${line}\n`));
  const dataDir = path.resolve(options.dataDir);
  const sshEnabled = options.ssh ?? true;
  const owner = options.owner ?? 'acme';
  const login = options.login ?? 'flux-bot';
  if (!options.token) throw new Error('GitHub double: a non-empty token is required');
  if (!NAME_RE.test(owner) || !NAME_RE.test(login)) throw new Error('GitHub double: owner and login must match [A-Za-z0-9._-]+');

  const sshDir = path.join(dataDir, 'ssh');
  const reposRoot = path.join(dataDir, 'repos');
  const stateFile = path.join(dataDir, 'state.json');
  const authorizedKeysFile = path.join(sshDir, 'authorized_keys');
  const gate = path.join(sshDir, 'git-serve.sh');
  if (sshEnabled && !SAFE_PATH_RE.test(dataDir)) {
    throw new Error(
      `GitHub double: dataDir ${JSON.stringify(dataDir)} must only contain [A-Za-z0-9._/-]: it is embedded in sshd forced commands`,
    );
  }

  const loginUser: LoginUser | undefined = sshEnabled ? await ensureLoginUser(options.sshUser ?? 'git', log) : undefined;
  // Repos must belong to the SSH user, since its git-receive-pack writes into them.
  const gitIdentity = isRoot() && loginUser ? loginUser : undefined;
  await prepareDirs(dataDir, reposRoot, sshDir, gitIdentity);

  const state = await loadState(stateFile);
  const sshPort = sshEnabled ? options.sshPort || (await freePort()) : 0;
  const sshUser = loginUser?.name ?? 'git';
  const sshUrl = (o: string, r: string): string => `ssh://${sshUser}@127.0.0.1:${sshPort}/${o}/${r}`;
  // Routes must be registered before listen(), but URLs embed the port only known after it.
  const urls: UrlBase = { api: '', web: '', sshUrl };
  const core = makeCore({
    opts: { token: options.token, uniqueKeyTitles: options.uniqueKeyTitles ?? true },
    state,
    run: makeGitRunner(gitIdentity),
    urls,
    acc: {
      org: { login: owner, id: 5000001 },
      user: { login, id: 5000002, email: `5000002+${login}@users.noreply.github.com` },
    },
    reposRoot,
    stateFile,
    sshd: sshEnabled ? { authorizedKeysFile, gate } : undefined,
  });

  const requests: RequestLogEntry[] = [];
  const onUnhandled =
    options.onUnhandled ?? ((e: RequestLogEntry) => log(`unhandled request: ${e.method} ${e.path}${e.query ? `?${e.query}` : ''}`));
  const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true }, bodyLimit: 50 * 1024 * 1024 });
  installPlumbing(app, core, requests, onUnhandled);
  registerRoutes(app, core);
  const started: { handle?: GitHubDouble } = {};
  registerControlRoutes(app, () => {
    if (!started.handle) throw new HttpError(503, errorBody('GitHub double is still starting'));
    return started.handle;
  });
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  urls.web = `http://127.0.0.1:${port}`;
  urls.api = `${urls.web}${API}`;

  let sshd: SshdHandle | undefined;
  let knownHosts = '';
  try {
    await core.persist();
    if (sshEnabled && loginUser) {
      await copyFile(GATE_SCRIPT, gate);
      await chmod(gate, 0o755);
      await checkReachable(loginUser, [gate, authorizedKeysFile, reposRoot]);
      const hostKeyPath = path.join(sshDir, 'ssh_host_ed25519_key');
      const hostKey = await ensureHostKey(hostKeyPath);
      const configPath = path.join(sshDir, 'sshd_config');
      const pidFile = path.join(sshDir, 'sshd.pid');
      await killStaleSshd(pidFile, configPath);
      await writeFile(
        configPath,
        renderSshdConfig({ port: sshPort, hostKey: hostKeyPath, pidFile, authorizedKeysFile, user: sshUser }),
        { mode: 0o644 },
      );
      sshd = await startSshd(options.sshdPath ?? '/usr/sbin/sshd', configPath, path.join(sshDir, 'sshd.log'));
      knownHosts = `[127.0.0.1]:${sshPort} ${hostKey}`;
    }
  } catch (e) {
    await app.close();
    throw e;
  }

  started.handle = buildHandle({ core, app, sshd, requests, dataDir, port, sshPort, sshUser, knownHosts, owner, sshUrl });
  return started.handle;
}

/** Creates the data directories with permissions the SSH login user can use. */
async function prepareDirs(dataDir: string, reposRoot: string, sshDir: string, owner: LoginUser | undefined): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  // mkdtemp makes 0700 dirs; the SSH user must be able to traverse into repos/ and read authorized_keys.
  const mode = (await stat(dataDir)).mode & 0o7777;
  await chmod(dataDir, mode | 0o755);
  await mkdir(sshDir, { recursive: true, mode: 0o755 });
  await mkdir(reposRoot, { recursive: true, mode: 0o755 });
  if (owner) await chown(reposRoot, owner.uid, owner.gid);
}

/** Fails early, with a fix, when the SSH user cannot reach the files sshd will hand it. */
async function checkReachable(user: LoginUser, paths: string[]): Promise<void> {
  if (!isRoot()) return;
  const script = paths.map((p) => `test -r '${p}' || { echo '${p}'; exit 1; }`).join('\n');
  try {
    await execFileP('/bin/sh', ['-c', script], { uid: user.uid, gid: user.gid });
  } catch (e) {
    const which = String((e as { stdout?: string }).stdout ?? '').trim();
    throw new Error(
      `GitHub double: user ${user.name} cannot read ${which || 'the data dir'}; make every parent directory of the dataDir world-traversable (chmod o+x)`,
    );
  }
}


/**
 * Control endpoints mirroring the out-of-band methods, for when the double
 * runs as a separate process (main.ts). Same token as the API; not logged in
 * `requests` and not affected by failNext.
 *
 * - POST   /_double/fail-next {n, status?}
 * - GET    /_double/requests
 * - POST   /_double/repos {owner, name, defaultBranch?}
 * - GET    /_double/repos/{owner}/{repo}/keys
 * - DELETE /_double/repos/{owner}/{repo}/keys/{id}
 */
function registerControlRoutes(app: FastifyInstance, double: () => GitHubDouble): void {
  const fail = (e: unknown): never => {
    throw new HttpError(422, errorBody(e instanceof Error ? e.message : String(e)));
  };
  app.post(`${CONTROL}/fail-next`, async (req, reply) => {
    const body = asObject(req.body);
    const n = Number(body['n']);
    const status = body['status'] === undefined ? 502 : Number(body['status']);
    try {
      double().failNext(n, status);
    } catch (e) {
      fail(e);
    }
    return reply.code(204).send();
  });
  app.get(`${CONTROL}/requests`, async (req, reply) => send(req, reply, 200, double().requests));
  app.post(`${CONTROL}/repos`, async (req, reply) => {
    const body = asObject(req.body);
    const owner = optString(body, 'owner') ?? double().owner;
    const name = optString(body, 'name') ?? fail(new Error('"name" is required'));
    await double()
      .createRepo(owner, name, optString(body, 'defaultBranch') ?? 'main')
      .catch(fail);
    return send(req, reply, 201, { owner, name, sshUrl: double().sshUrl(owner, name) });
  });
  app.get<{ Params: RepoParams }>(`${CONTROL}/repos/:owner/:repo/keys`, async (req, reply) => {
    if (!double().hasRepo(req.params.owner, req.params.repo)) throw new HttpError(404, errorBody('Not Found'));
    return send(req, reply, 200, double().listKeys(req.params.owner, req.params.repo));
  });
  app.delete<{ Params: RepoParams & { id: string } }>(`${CONTROL}/repos/:owner/:repo/keys/:id`, async (req, reply) => {
    if (!double().hasRepo(req.params.owner, req.params.repo)) throw new HttpError(404, errorBody('Not Found'));
    const gone = await double().deleteKey(req.params.owner, req.params.repo, Number(req.params.id));
    return gone ? reply.code(204).send() : reply.code(404).send(errorBody('Not Found'));
  });
}

/** Wraps the running pieces into the public {@link GitHubDouble} object. */
function buildHandle(p: {
  core: Core;
  app: FastifyInstance;
  sshd: SshdHandle | undefined;
  requests: RequestLogEntry[];
  dataDir: string;
  port: number;
  sshPort: number;
  sshUser: string;
  knownHosts: string;
  owner: string;
  sshUrl: (o: string, r: string) => string;
}): GitHubDouble {
  const { core } = p;
  const outOfBand = (owner: string, repo: string): RepoRecord => {
    const r = findRepo(core.state, owner, repo);
    if (!r) throw new Error(`GitHub double: no repository ${owner}/${repo}`);
    return r;
  };
  const toDeployKey = (k: KeyRecord): DeployKey => ({
    id: k.id,
    key: k.key,
    title: k.title,
    readOnly: k.readOnly,
    createdAt: k.createdAt,
  });
  let closed = false;

  return {
    baseUrl: `http://127.0.0.1:${p.port}/`,
    apiUrl: core.urls.api,
    port: p.port,
    sshPort: p.sshPort,
    sshUser: p.sshUser,
    knownHosts: p.knownHosts,
    dataDir: p.dataDir,
    owner: p.owner,
    requests: p.requests,
    sshUrl: p.sshUrl,
    repoPath: (owner, repo) => core.gitDir(outOfBand(owner, repo)),
    hasRepo: (owner, repo) => findRepo(core.state, owner, repo) !== undefined,

    createRepo: (owner, name, defaultBranch = 'main', opts = {}) => createRepo(core, owner, name, defaultBranch, opts),

    async createBranch(owner, repo, branch, from) {
      const r = outOfBand(owner, repo);
      if (!isSafeBranchName(branch)) throw new Error(`GitHub double: invalid branch name ${branch}`);
      const gitDir = core.gitDir(r);
      return core.locked(repoKey(r.owner, r.name), async () => {
        const sha = await resolveCommit(core.run, gitDir, from ?? `refs/heads/${r.defaultBranch}`);
        if (!sha) throw new Error(`GitHub double: cannot create ${branch}: ${from ?? r.defaultBranch} does not resolve to a commit`);
        await createRef(core.run, gitDir, branch, sha);
        return sha;
      });
    },

    branchSha: (owner, repo, branch) => branchTip(core.run, core.gitDir(outOfBand(owner, repo)), branch),

    async readFile(owner, repo, filePath, ref) {
      const r = outOfBand(owner, repo);
      const gitDir = core.gitDir(r);
      const commit = await resolveCommit(core.run, gitDir, ref ?? `refs/heads/${r.defaultBranch}`);
      if (!commit || !isSafeRepoPath(filePath)) return undefined;
      const e = await findEntry(core.run, gitDir, commit, filePath);
      return e && e.type === 'blob' ? readBlob(core.run, gitDir, e.sha) : undefined;
    },

    async git(owner, repo, args) {
      return (await core.run(core.gitDir(outOfBand(owner, repo)), args)).stdout.toString('utf8');
    },

    listKeys: (owner, repo) => keysOf(core.state, outOfBand(owner, repo)).map(toDeployKey),

    async addKey(owner, repo, key) {
      const r = outOfBand(owner, repo);
      try {
        return toDeployKey(await addKeyRecord(core, r, key));
      } catch (e) {
        if (e instanceof HttpError) throw new Error(`GitHub double: addKey refused: ${JSON.stringify(e.body)}`);
        throw e;
      }
    },

    deleteKey: (owner, repo, id) => removeKeyRecord(core, outOfBand(owner, repo), id),

    failNext(n, status = 502) {
      if (!Number.isInteger(n) || n < 0) throw new Error(`GitHub double: failNext needs a non-negative integer, got ${n}`);
      if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`GitHub double: failNext status must be 4xx/5xx, got ${status}`);
      core.fault.remaining = n;
      core.fault.status = status;
    },

    async close() {
      if (closed) return;
      closed = true;
      await p.sshd?.stop();
      await p.app.close();
      await core.locked('meta', async () => undefined);
    },
  };
}

