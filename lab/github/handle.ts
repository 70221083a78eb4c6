/**
 * The GitHub double's out-of-band face: the {@link GitHubDouble} handle a
 * test holds (URLs, seeding, reading, drift, failNext, close), over the core
 * and its data operations. Its refusals are plain Errors, not HTTP errors.
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from './core';
import { branchTip, createRef, findEntry, isSafeBranchName, isSafeRepoPath, readBlob, resolveCommit } from './git';
import { HttpError } from './http-util';
import { addKeyRecord, createRepo, removeKeyRecord } from './operations';
import type { SshdHandle } from './sshd';
import { findRepo, keysOf, repoKey, type KeyRecord, type RepoRecord } from './state';
import type { DeployKey, GitHubDouble, RequestLogEntry } from './types';

/** Wraps the running pieces into the public {@link GitHubDouble} object. */
export function buildHandle(p: {
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
