/**
 * The GitHub double's data operations: what changes its state and its bare
 * repositories (repositories, deploy keys, contents-API commits). The REST
 * routes and the out-of-band handle call these. Refusals are GitHub-shaped
 * HttpErrors, except createRepo's plain Errors (only the handle calls it).
 */
import { chown, mkdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GitError, branchTip, commitChange, findEntry, initBare, isSafeBranchName, listBranches, readCommit } from './git';
import { HttpError, asObject, optString } from './http-util';
import { contentMetaJson, errorBody, gitCommitJson, missingField, validationFailed } from './json';
import { normalizePublicKey } from './keys';
import { NAME_RE, type Core } from './core';
import { findRepo, keysOf, repoKey, type KeyRecord, type RepoRecord } from './state';
import type { CreateRepoOptions } from './types';

/** Creates a repository: a bare git repository and, unless `opts.autoInit` is false, an initial README commit. */
export async function createRepo(core: Core, owner: string, name: string, defaultBranch: string, opts: CreateRepoOptions): Promise<void> {
  if (!NAME_RE.test(owner) || !NAME_RE.test(name) || name === '.' || name === '..' || /\.git$/i.test(name)) {
    throw new Error(`GitHub double: invalid repository name ${owner}/${name}`);
  }
  if (!isSafeBranchName(defaultBranch)) throw new Error(`GitHub double: invalid branch name ${defaultBranch}`);
  if (findRepo(core.state, owner, name)) throw new Error(`GitHub double: repository ${owner}/${name} already exists`);
  const rec: RepoRecord = {
    id: core.state.nextRepoId++,
    owner,
    name,
    defaultBranch,
    private: opts.private ?? true,
    createdAt: isoNow(),
  };
  const gitDir = core.gitDir(rec);
  await mkdirAsRepoOwner(core, path.dirname(gitDir));
  await initBare(core.run, gitDir, defaultBranch);
  if (opts.autoInit ?? true) {
    const now = `${Math.floor(Date.now() / 1000)} +0000`;
    const me = { name: core.acc.user.login, email: core.acc.user.email, date: now };
    await commitChange(core.run, gitDir, {
      branch: defaultBranch,
      parent: undefined,
      change: { kind: 'write', path: 'README.md', content: Buffer.from(`# ${name}\n`), mode: '100644' },
      message: 'Initial commit',
      author: me,
      committer: me,
    });
  }
  core.state.repos.push(rec);
  await core.persist();
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Creates a directory under repos/ owned by the SSH user, so pushes can write into it. */
async function mkdirAsRepoOwner(core: Core, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const owner = await stat(core.reposRoot);
  await chown(dir, owner.uid, owner.gid);
}

/**
 * Validates and stores a deploy key. GitHub refuses a key that is already
 * registered anywhere (deploy keys identify exactly one repository), which
 * is also what lets the SSH side map a key to its repository unambiguously.
 */
export async function addKeyRecord(
  core: Core,
  r: RepoRecord,
  input: { key: string; title: string | undefined; readOnly: boolean },
): Promise<KeyRecord> {
  const norm = normalizePublicKey(input.key);
  if (!norm.ok) throw new HttpError(422, validationFailed('PublicKey', 'key', norm.reason));
  if (core.state.keys.some((k) => k.key === norm.key)) {
    throw new HttpError(422, validationFailed('PublicKey', 'key', 'key is already in use'));
  }
  const title = input.title ?? input.key.trim().split(/\s+/).slice(2).join(' ');
  if (core.opts.uniqueKeyTitles && keysOf(core.state, r).some((k) => k.title === title)) {
    throw new HttpError(422, validationFailed('PublicKey', 'title', 'title is already in use'));
  }
  const rec: KeyRecord = {
    id: core.state.nextKeyId++,
    owner: r.owner,
    repo: r.name,
    key: norm.key,
    title,
    readOnly: input.readOnly,
    createdAt: isoNow(),
  };
  core.state.keys.push(rec);
  await core.persist();
  return rec;
}

/** Deletes a deploy key of `r`; false when it has no key `id`. */
export async function removeKeyRecord(core: Core, r: RepoRecord, id: number): Promise<boolean> {
  const k = repoKey(r.owner, r.name);
  const i = core.state.keys.findIndex((x) => x.id === id && repoKey(x.owner, x.repo) === k);
  if (i < 0) return false;
  core.state.keys.splice(i, 1);
  await core.persist();
  return true;
}


/** Author/committer of a contents-API commit, defaulted the way GitHub documents. */
function identities(core: Core, body: Record<string, unknown>): { author: Ident; committer: Ident } {
  const now = `${Math.floor(Date.now() / 1000)} +0000`;
  const me: Ident = { name: core.acc.user.login, email: core.acc.user.email, date: now };
  const committer = parseIdent(body['committer'], 'committer', now) ?? me;
  const author = parseIdent(body['author'], 'author', now) ?? committer;
  return { author, committer };
}

type Ident = { name: string; email: string; date: string };

function parseIdent(v: unknown, field: string, now: string): Ident | undefined {
  if (v === undefined || v === null) return undefined;
  const o = asObject(v);
  const name = optString(o, 'name');
  const email = optString(o, 'email');
  if (!name) throw new HttpError(422, missingField(`${field}.name`));
  if (!email) throw new HttpError(422, missingField(`${field}.email`));
  const dateRaw = optString(o, 'date');
  const ms = dateRaw ? Date.parse(dateRaw) : NaN;
  return { name, email, date: Number.isFinite(ms) ? `${Math.floor(ms / 1000)} +0000` : now };
}

/** The branch a contents write targets and its current tip (undefined only for an empty repository). */
async function targetBranch(core: Core, r: RepoRecord, body: Record<string, unknown>): Promise<{ branch: string; tip: string | undefined }> {
  const branch = optString(body, 'branch') ?? r.defaultBranch;
  if (!isSafeBranchName(branch)) throw new HttpError(422, validationFailed('Commit', 'branch', `invalid branch name "${branch}"`));
  const tip = await branchTip(core.run, core.gitDir(r), branch);
  if (!tip && (await listBranches(core.run, core.gitDir(r))).length > 0) {
    throw new HttpError(404, errorBody(`Branch ${branch} not found`));
  }
  return { branch, tip };
}

/** PUT /contents: create or update one file as a real commit. */
export async function putFile(
  core: Core,
  r: RepoRecord,
  filePath: string,
  body: Record<string, unknown>,
): Promise<{ created: boolean; body: Record<string, unknown> }> {
  const message = optString(body, 'message');
  if (!message) throw new HttpError(422, missingField('message'));
  const b64 = body['content'];
  if (typeof b64 !== 'string') throw new HttpError(422, missingField('content'));
  if (!/^[A-Za-z0-9+/=\r\n]*$/.test(b64)) throw new HttpError(422, validationFailed('Commit', 'content', 'content is not valid Base64'));
  const { branch, tip } = await targetBranch(core, r, body);
  const gitDir = core.gitDir(r);
  const existing = tip ? await findEntry(core.run, gitDir, tip, filePath) : undefined;
  if (existing?.type === 'tree') throw new HttpError(422, errorBody(`${filePath} is a directory`));
  const sha = optString(body, 'sha');
  if (existing && !sha) throw new HttpError(422, missingField('sha'));
  if (existing && sha !== existing.sha) throw new HttpError(409, errorBody(`${filePath} does not match ${sha}`));
  const mode = existing && existing.mode === '100755' ? '100755' : '100644';
  const commit = await commitOrConflict(core, gitDir, {
    branch,
    parent: tip,
    change: { kind: 'write', path: filePath, content: Buffer.from(b64, 'base64'), mode },
    message,
    ...identities(core, body),
  });
  const entry = await findEntry(core.run, gitDir, commit, filePath);
  if (!entry) throw new Error(`GitHub double: ${filePath} missing right after committing it`);
  const info = await readCommit(core.run, gitDir, commit);
  return {
    created: !existing,
    body: { content: contentMetaJson(core.urls, r, branch, entry), commit: gitCommitJson(core.urls, r, info) },
  };
}

/** DELETE /contents: remove one file as a real commit. */
export async function deleteFile(core: Core, r: RepoRecord, filePath: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const message = optString(body, 'message');
  if (!message) throw new HttpError(422, missingField('message'));
  const sha = optString(body, 'sha');
  if (!sha) throw new HttpError(422, missingField('sha'));
  const { branch, tip } = await targetBranch(core, r, body);
  const gitDir = core.gitDir(r);
  const existing = tip ? await findEntry(core.run, gitDir, tip, filePath) : undefined;
  if (!existing || existing.type !== 'blob') throw new HttpError(404, errorBody('Not Found'));
  if (sha !== existing.sha) throw new HttpError(409, errorBody(`${filePath} does not match ${sha}`));
  const commit = await commitOrConflict(core, gitDir, {
    branch,
    parent: tip,
    change: { kind: 'delete', path: filePath },
    message,
    ...identities(core, body),
  });
  return { content: null, commit: gitCommitJson(core.urls, r, await readCommit(core.run, gitDir, commit)) };
}

/** Runs {@link commitChange}, turning git refusals into the HTTP errors GitHub would give. */
async function commitOrConflict(core: Core, gitDir: string, req: Parameters<typeof commitChange>[2]): Promise<string> {
  try {
    return await commitChange(core.run, gitDir, req);
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    if (e.args.includes('update-ref')) {
      throw new HttpError(409, errorBody(`Branch ${req.branch} moved while committing (concurrent push?); retry`));
    }
    throw new HttpError(422, errorBody(`Could not commit ${req.change.path}: ${e.stderr.trim()}`));
  }
}
