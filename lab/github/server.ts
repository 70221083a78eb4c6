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
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  GitError,
  branchTip,
  changedFiles,
  createRef,
  findEntry,
  isSafeBranchName,
  isSafeRepoPath,
  listBranches,
  listDir,
  makeGitRunner,
  readBlob,
  readCommit,
  resolveCommit,
  revList,
} from './git';
import {
  HttpError,
  asObject,
  etagFor,
  etagMatches,
  optString,
  paginate,
  pathTail,
  tokenFromHeader,
  tokenMatches,
} from './http-util';
import {
  branchJson,
  contentMetaJson,
  errorBody,
  fileJson,
  gitCommitJson,
  keyJson,
  missingField,
  orgJson,
  refJson,
  repoCommitJson,
  repoJson,
  syntheticUserId,
  userJson,
  validationFailed,
  type UrlBase,
} from './json';
import { addKeyRecord, createRepo, deleteFile, putFile, removeKeyRecord } from './operations';
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
import { findRepo, keysOf, loadState, repoKey, type KeyRecord, type RepoRecord } from './state';
import type { DeployKey, GitHubDouble, GitHubDoubleOptions, RequestLogEntry } from './types';

export type { CreateRepoOptions, DeployKey, GitHubDouble, RequestLogEntry } from './types';

const execFileP = promisify(execFile);

const API = '/api/v3';
/** Out-of-band control endpoints, for a double running in another process (see main.ts). */
const CONTROL = '/_double';
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

/** Hooks shared by all routes: fault injection, auth, GitHub headers, request log, errors, JSON bodies. */
function installPlumbing(
  app: FastifyInstance,
  core: Core,
  requests: RequestLogEntry[],
  onUnhandled: (e: RequestLogEntry) => void,
): void {
  app.removeAllContentTypeParsers();
  // GitHub parses any body as JSON whatever the Content-Type says; an empty body is "no fields".
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const raw = String(body).trim();
    if (raw === '') return done(null, undefined);
    try {
      done(null, JSON.parse(raw));
    } catch {
      done(new HttpError(400, errorBody('Problems parsing JSON')), undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.headers({
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': String(req.headers['x-github-api-version'] ?? '2022-11-28'),
      'x-github-request-id': `DOUBLE:${requests.length + 1}`,
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
    });
    const isApi = req.url === API || req.url.startsWith(`${API}/`) || req.url.startsWith(`${API}?`);
    if (!isApi && !req.url.startsWith(`${CONTROL}/`)) return;
    if (isApi && core.fault.remaining > 0) {
      core.fault.remaining -= 1;
      const status = core.fault.status;
      return reply.code(status).send(errorBody(`Injected failure (HTTP ${status}) from the GitHub double's failNext()`));
    }
    if (!tokenMatches(tokenFromHeader(req.headers.authorization), core.opts.token)) {
      return reply.code(401).send(errorBody('Bad credentials'));
    }
    return undefined;
  });

  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith(`${CONTROL}/`)) return; // test-harness traffic is not API traffic
    const [p = '', q = ''] = req.url.split(/\?(.*)/s);
    const entry: RequestLogEntry = {
      method: req.method,
      path: p,
      query: q,
      status: reply.statusCode,
      handled: !req.is404,
      ...(req.is404 ? {} : { route: req.routeOptions.url }),
      ms: reply.elapsedTime,
    };
    requests.push(entry);
    if (!entry.handled) onUnhandled(entry);
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send(errorBody('Not Found')));

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send(err.body);
    if (err instanceof GitError) return reply.code(500).send(errorBody(`git failed: ${err.stderr.trim() || err.message}`));
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    return reply.code(status).send(errorBody(err instanceof Error ? err.message : String(err)));
  });
}

/** Sends JSON; successful GETs get an ETag and honour If-None-Match with 304, as GitHub does. */
function send(req: FastifyRequest, reply: FastifyReply, status: number, body: unknown): FastifyReply {
  const payload = JSON.stringify(body);
  if ((req.method === 'GET' || req.method === 'HEAD') && status === 200) {
    const etag = etagFor(payload);
    reply.header('etag', etag);
    if (etagMatches(req.headers['if-none-match'], etag)) return reply.code(304).send();
  }
  return reply.code(status).type('application/json; charset=utf-8').send(payload);
}

type RepoParams = { owner: string; repo: string };

/** All API routes. Paths and status codes mirror api.github.com. */
function registerRoutes(app: FastifyInstance, core: Core): void {
  const { urls, acc } = core;

  app.get(`${API}/user`, async (req, reply) => send(req, reply, 200, userJson(urls, acc.user.login, acc.user.id, acc.user.email)));

  app.get<{ Params: { owner: string } }>(`${API}/users/:owner`, async (req, reply) => {
    const name = req.params.owner;
    if (sameName(name, acc.org.login)) return send(req, reply, 200, { ...orgJson(urls, acc.org.login, acc.org.id) });
    if (sameName(name, acc.user.login)) return send(req, reply, 200, userJson(urls, acc.user.login, acc.user.id));
    const known = core.state.repos.find((r) => sameName(r.owner, name));
    if (!known) throw new HttpError(404, errorBody('Not Found'));
    return send(req, reply, 200, userJson(urls, known.owner, syntheticUserId(known.owner)));
  });

  app.get<{ Params: { owner: string } }>(`${API}/orgs/:owner`, async (req, reply) => {
    if (!sameName(req.params.owner, acc.org.login)) throw new HttpError(404, errorBody('Not Found'));
    return send(req, reply, 200, orgJson(urls, acc.org.login, acc.org.id));
  });

  app.get<{ Params: RepoParams }>(`${API}/repos/:owner/:repo`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    return send(req, reply, 200, repoJson(urls, acc, r, r.createdAt));
  });

  registerBranchRoutes(app, core);
  registerKeyRoutes(app, core);
  registerContentRoutes(app, core);
  registerCommitRoutes(app, core);
  registerGitRoutes(app, core);
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function registerBranchRoutes(app: FastifyInstance, core: Core): void {
  const { urls, acc, run } = core;
  app.get<{ Params: RepoParams }>(`${API}/repos/:owner/:repo/branches`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const page = paginate(await listBranches(run, core.gitDir(r)), urls.web + req.url);
    if (page.link) reply.header('link', page.link);
    const full = `${r.owner}/${r.name}`;
    return send(
      req,
      reply,
      200,
      page.items.map((b) => ({
        name: b.name,
        commit: { sha: b.sha, url: `${urls.api}/repos/${full}/commits/${b.sha}` },
        protected: false,
      })),
    );
  });

  // Branch names may contain "/", sent percent-encoded or not; take the raw tail of the path.
  app.get<{ Params: RepoParams }>(`${API}/repos/:owner/:repo/branches/*`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const name = pathTail(req.url, 7);
    const sha = await branchTip(run, core.gitDir(r), name);
    if (!sha) throw new HttpError(404, errorBody('Branch not found'));
    return send(req, reply, 200, branchJson(urls, acc, r, name, await readCommit(run, core.gitDir(r), sha)));
  });
}

function registerKeyRoutes(app: FastifyInstance, core: Core): void {
  const { urls, acc } = core;
  type KeyParams = RepoParams & { id: string };

  app.get<{ Params: RepoParams }>(`${API}/repos/:owner/:repo/keys`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const page = paginate(keysOf(core.state, r), urls.web + req.url);
    if (page.link) reply.header('link', page.link);
    return send(req, reply, 200, page.items.map((k) => keyJson(urls, acc, k)));
  });

  app.post<{ Params: RepoParams }>(`${API}/repos/:owner/:repo/keys`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const body = asObject(req.body);
    const key = optString(body, 'key');
    if (!key) throw new HttpError(422, missingField('key'));
    const readOnly = body['read_only'] === undefined ? false : body['read_only'] === true;
    const rec = await addKeyRecord(core, r, { key, title: optString(body, 'title'), readOnly });
    return send(req, reply, 201, keyJson(urls, acc, rec));
  });

  app.get<{ Params: KeyParams }>(`${API}/repos/:owner/:repo/keys/:id`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const k = keysOf(core.state, r).find((x) => String(x.id) === req.params.id);
    if (!k) throw new HttpError(404, errorBody('Not Found'));
    return send(req, reply, 200, keyJson(urls, acc, k));
  });

  app.delete<{ Params: KeyParams }>(`${API}/repos/:owner/:repo/keys/:id`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    if (!(await removeKeyRecord(core, r, Number(req.params.id)))) throw new HttpError(404, errorBody('Not Found'));
    return reply.code(204).send();
  });
}

function registerContentRoutes(app: FastifyInstance, core: Core): void {
  const { urls, run } = core;
  const paths = [`${API}/repos/:owner/:repo/contents`, `${API}/repos/:owner/:repo/contents/*`];
  for (const route of paths) {
    app.get<{ Params: RepoParams; Querystring: { ref?: string } }>(route, async (req, reply) => {
      const r = core.requireRepo(req.params.owner, req.params.repo);
      const filePath = pathTail(req.url, 7);
      const ref = req.query.ref || r.defaultBranch;
      const commit = await resolveCommit(run, core.gitDir(r), ref);
      if (!commit) {
        const empty = (await listBranches(run, core.gitDir(r))).length === 0;
        throw new HttpError(404, errorBody(empty ? 'This repository is empty.' : `No commit found for the ref ${ref}`));
      }
      if (filePath === '') {
        const entries = (await listDir(run, core.gitDir(r), commit, '')) ?? [];
        return send(req, reply, 200, entries.map((e) => contentMetaJson(urls, r, ref, e)));
      }
      const entry = isSafeRepoPath(filePath) ? await findEntry(run, core.gitDir(r), commit, filePath) : undefined;
      if (!entry) throw new HttpError(404, errorBody('Not Found'));
      if (entry.type === 'tree') {
        const entries = (await listDir(run, core.gitDir(r), commit, filePath)) ?? [];
        return send(req, reply, 200, entries.map((e) => contentMetaJson(urls, r, ref, e)));
      }
      if (entry.type !== 'blob') return send(req, reply, 200, contentMetaJson(urls, r, ref, entry));
      return send(req, reply, 200, fileJson(urls, r, ref, entry, await readBlob(run, core.gitDir(r), entry.sha)));
    });
  }

  app.put<{ Params: RepoParams }>(`${API}/repos/:owner/:repo/contents/*`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const filePath = checkedPath(pathTail(req.url, 7));
    const body = asObject(req.body);
    const result = await core.locked(repoKey(r.owner, r.name), () => putFile(core, r, filePath, body));
    return send(req, reply, result.created ? 201 : 200, result.body);
  });

  app.delete<{ Params: RepoParams }>(`${API}/repos/:owner/:repo/contents/*`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const filePath = checkedPath(pathTail(req.url, 7));
    const body = asObject(req.body);
    const result = await core.locked(repoKey(r.owner, r.name), () => deleteFile(core, r, filePath, body));
    return send(req, reply, 200, result);
  });
}

function checkedPath(p: string): string {
  if (!isSafeRepoPath(p)) throw new HttpError(422, validationFailed('Commit', 'path', `path "${p}" is not a valid file path`));
  return p;
}

function registerCommitRoutes(app: FastifyInstance, core: Core): void {
  const { urls, acc, run } = core;

  app.get<{ Params: RepoParams; Querystring: { sha?: string; path?: string } }>(
    `${API}/repos/:owner/:repo/commits`,
    async (req, reply) => {
      const r = core.requireRepo(req.params.owner, req.params.repo);
      const gitDir = core.gitDir(r);
      const start = req.query.sha || r.defaultBranch;
      const tip = await resolveCommit(run, gitDir, start);
      if (!tip) {
        if ((await listBranches(run, gitDir)).length === 0) throw new HttpError(409, errorBody('Git Repository is empty.'));
        throw new HttpError(404, errorBody(`No commit found for SHA: ${start}`));
      }
      const filePath = req.query.path?.replace(/^\/+|\/+$/g, '');
      const shas = await revList(run, gitDir, tip, filePath && isSafeRepoPath(filePath) ? filePath : undefined);
      const page = paginate(shas, urls.web + req.url);
      if (page.link) reply.header('link', page.link);
      const commits = await Promise.all(page.items.map((s) => readCommit(run, gitDir, s)));
      return send(req, reply, 200, commits.map((c) => repoCommitJson(urls, acc, r, c)));
    },
  );

  app.get<{ Params: RepoParams }>(`${API}/repos/:owner/:repo/commits/*`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const gitDir = core.gitDir(r);
    const ref = pathTail(req.url, 7);
    const sha = await resolveCommit(run, gitDir, ref);
    if (!sha) throw new HttpError(422, errorBody(`No commit found for SHA: ${ref}`));
    const info = await readCommit(run, gitDir, sha);
    return send(req, reply, 200, repoCommitJson(urls, acc, r, info, await changedFiles(run, gitDir, info)));
  });
}

function registerGitRoutes(app: FastifyInstance, core: Core): void {
  const { urls, run } = core;

  app.get<{ Params: RepoParams & { sha: string } }>(`${API}/repos/:owner/:repo/git/commits/:sha`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const sha = /^[0-9a-f]{4,40}$/.test(req.params.sha) ? await resolveCommit(run, core.gitDir(r), req.params.sha) : undefined;
    if (!sha) throw new HttpError(404, errorBody('Not Found'));
    return send(req, reply, 200, gitCommitJson(urls, r, await readCommit(run, core.gitDir(r), sha)));
  });

  app.get<{ Params: RepoParams & { sha: string } }>(`${API}/repos/:owner/:repo/git/blobs/:sha`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const res = /^[0-9a-f]{40}$/.test(req.params.sha)
      ? await run(core.gitDir(r), ['cat-file', 'blob', req.params.sha], { allowFailure: true })
      : undefined;
    if (!res || res.code !== 0) throw new HttpError(404, errorBody('Not Found'));
    const full = `${r.owner}/${r.name}`;
    return send(req, reply, 200, {
      sha: req.params.sha,
      node_id: Buffer.from(`0:Blob${req.params.sha}`).toString('base64'),
      size: res.stdout.length,
      url: `${urls.api}/repos/${full}/git/blobs/${req.params.sha}`,
      content: res.stdout.toString('base64'),
      encoding: 'base64',
    });
  });

  // go-github's GetRef uses git/ref/{ref}; older clients use git/refs/{ref}.
  for (const [route, from] of [
    [`${API}/repos/:owner/:repo/git/ref/*`, 8],
    [`${API}/repos/:owner/:repo/git/refs/*`, 8],
  ] as const) {
    app.get<{ Params: RepoParams }>(route, async (req, reply) => {
      const r = core.requireRepo(req.params.owner, req.params.repo);
      const ref = `refs/${pathTail(req.url, from)}`;
      const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
      const sha = branch ? await branchTip(run, core.gitDir(r), branch) : undefined;
      if (!sha) throw new HttpError(404, errorBody('Not Found'));
      return send(req, reply, 200, refJson(urls, r, ref, sha));
    });
  }

  app.post<{ Params: RepoParams }>(`${API}/repos/:owner/:repo/git/refs`, async (req, reply) => {
    const r = core.requireRepo(req.params.owner, req.params.repo);
    const body = asObject(req.body);
    const ref = optString(body, 'ref');
    const sha = optString(body, 'sha');
    if (!ref) throw new HttpError(422, missingField('ref'));
    if (!sha) throw new HttpError(422, missingField('sha'));
    const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
    if (!branch || !isSafeBranchName(branch)) throw new HttpError(422, errorBody('Reference name is not valid (only refs/heads/* is supported)'));
    const gitDir = core.gitDir(r);
    const result = await core.locked(repoKey(r.owner, r.name), async () => {
      if (await branchTip(run, gitDir, branch)) throw new HttpError(422, errorBody('Reference already exists'));
      const target = /^[0-9a-f]{40}$/.test(sha) ? await resolveCommit(run, gitDir, sha) : undefined;
      if (!target) throw new HttpError(422, errorBody('Object does not exist'));
      await createRef(run, gitDir, branch, target);
      return target;
    });
    return send(req, reply, 201, refJson(urls, r, ref, result));
  });
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

