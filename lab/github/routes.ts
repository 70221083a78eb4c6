/**
 * The GitHub double's REST face: the slice of api.github.com (under /api/v3)
 * that terraform-provider-github and go-github use, over the core's state
 * and bare repositories. Writes go through operations.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from './core';
import {
  branchTip,
  changedFiles,
  createRef,
  findEntry,
  isSafeBranchName,
  isSafeRepoPath,
  listBranches,
  listDir,
  readBlob,
  readCommit,
  resolveCommit,
  revList,
} from './git';
import { HttpError, asObject, optString, paginate, pathTail } from './http-util';
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
} from './json';
import { addKeyRecord, deleteFile, putFile, removeKeyRecord } from './operations';
import { API, send, type RepoParams } from './plumbing';
import { keysOf, repoKey } from './state';

/** All API routes. Paths and status codes mirror api.github.com. */
export function registerRoutes(app: FastifyInstance, core: Core): void {
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
