/**
 * Thin, promise-based wrappers around git plumbing used by the GitHub double.
 * Every repository change goes through real git objects and refs, so what the
 * API reports is exactly what a later `git clone` over SSH will see.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';

/** Outcome of one git invocation. */
export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Options for one git invocation. */
export interface GitCallOptions {
  input?: Buffer | string;
  env?: Record<string, string>;
  /** When false (the default) a non-zero exit becomes a {@link GitError}. */
  allowFailure?: boolean;
}

/** Runs git with `--git-dir` pointing at one bare repository. */
export type GitRunner = (gitDir: string, args: readonly string[], opts?: GitCallOptions) => Promise<GitResult>;

/** The OS account git runs as (so repos stay owned by the SSH login user). */
interface GitIdentity {
  uid: number;
  gid: number;
  home: string;
}

/** A git command failed; carries its stderr so API errors can say why. */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
    this.name = 'GitError';
  }
}

const ZERO_SHA = '0000000000000000000000000000000000000000';

/**
 * Builds a {@link GitRunner}. With an identity, git runs under that uid/gid:
 * the SSH side runs git-receive-pack as that user, so objects written by the
 * API must belong to it too, and git's ownership check ("dubious ownership")
 * stays satisfied without weakening safe.directory.
 */
export function makeGitRunner(identity?: GitIdentity): GitRunner {
  return (gitDir, args, opts = {}) =>
    new Promise<GitResult>((resolve, reject) => {
      const fullArgs = ['--git-dir', gitDir, ...args];
      const child = spawn('git', fullArgs, {
        env: {
          PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
          HOME: identity?.home ?? process.env['HOME'] ?? '/',
          LANG: 'C',
          // The double must behave the same on every machine, whatever config a developer has.
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: '/dev/null',
          ...opts.env,
        },
        ...(identity ? { uid: identity.uid, gid: identity.gid } : {}),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', reject);
      child.on('close', (code) => {
        const result = { code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
        if (result.code !== 0 && !opts.allowFailure) reject(new GitError(fullArgs, result.code, result.stderr));
        else resolve(result);
      });
      child.stdin.on('error', () => undefined); // git may exit before reading stdin; the exit code tells the story
      child.stdin.end(opts.input ?? '');
    });
}

/** Trimmed stdout as text. */
function text(r: GitResult): string {
  return r.stdout.toString('utf8').trim();
}

/** True when `name` is acceptable as a branch name (no option injection, valid ref syntax). */
export function isSafeBranchName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    !name.startsWith('-') &&
    !name.startsWith('/') &&
    !name.endsWith('/') &&
    !name.endsWith('.lock') &&
    !name.endsWith('.') &&
    !name.includes('..') &&
    !name.includes('@{') &&
    !name.includes('//') &&
    !hasControlOrSpace(name) &&
    !/[~^:?*[\\]/.test(name)
  );
}

/** True when `s` contains a control character or a space (never valid in refs, risky in index records). */
function hasControlOrSpace(s: string, allowSpace = false): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || (c === 0x20 && !allowSpace)) return true;
  }
  return false;
}

/**
 * True when `p` is a repository-relative file path GitHub would accept:
 * no absolute paths, no `.`/`..`/empty segments, nothing inside `.git`.
 */
export function isSafeRepoPath(p: string): boolean {
  // Control characters are refused outright: they would need quoting in git's index records.
  if (p.length === 0 || p.length > 4096 || hasControlOrSpace(p, true)) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..' && seg.toLowerCase() !== '.git');
}

/** Creates an empty bare repository whose HEAD names `defaultBranch`. */
export async function initBare(run: GitRunner, gitDir: string, defaultBranch: string): Promise<void> {
  await run(gitDir, ['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, gitDir]);
}

/** Resolves any revision (branch, tag, sha) to a commit sha, or undefined. */
export async function resolveCommit(run: GitRunner, gitDir: string, rev: string): Promise<string | undefined> {
  if (rev.startsWith('-') || hasControlOrSpace(rev)) return undefined;
  const r = await run(gitDir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { allowFailure: true });
  return r.code === 0 ? text(r) : undefined;
}

/** The commit a branch points at, or undefined when the branch does not exist. */
export async function branchTip(run: GitRunner, gitDir: string, branch: string): Promise<string | undefined> {
  if (!isSafeBranchName(branch)) return undefined;
  return resolveCommit(run, gitDir, `refs/heads/${branch}`);
}

/** All branch names with their tips, sorted by name. */
export async function listBranches(run: GitRunner, gitDir: string): Promise<{ name: string; sha: string }[]> {
  const r = await run(gitDir, ['for-each-ref', '--format=%(objectname) %(refname:strip=2)', 'refs/heads/']);
  return text(r)
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const i = l.indexOf(' ');
      return { sha: l.slice(0, i), name: l.slice(i + 1) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One entry of a git tree. */
export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
  /** Blob size in bytes; 0 for trees and submodules. */
  size: number;
  name: string;
  /** Path from the repository root. */
  path: string;
}

/** Parses `git ls-tree -l -z` output; `dir` is the listed directory ('' for the root). */
function parseLsTree(raw: Buffer, dir: string): TreeEntry[] {
  return raw
    .toString('utf8')
    .split('\0')
    .filter((rec) => rec.length > 0)
    .map((rec) => {
      const tab = rec.indexOf('\t');
      const [mode = '', type = '', sha = '', size = '-'] = rec.slice(0, tab).split(/\s+/);
      const name = rec.slice(tab + 1);
      return {
        mode,
        type: type as TreeEntry['type'],
        sha,
        size: size === '-' ? 0 : Number(size),
        name,
        path: dir === '' ? name : `${dir}/${name}`,
      };
    });
}

/** Lists a directory of a commit's tree; undefined when it is not a directory there. */
export async function listDir(
  run: GitRunner,
  gitDir: string,
  commit: string,
  dir: string,
): Promise<TreeEntry[] | undefined> {
  const r = await run(gitDir, ['ls-tree', '-l', '-z', `${commit}:${dir}`], { allowFailure: true });
  return r.code === 0 ? parseLsTree(r.stdout, dir) : undefined;
}

/**
 * Finds exactly one path in a commit. The parent directory is listed and the
 * name matched literally, because ls-tree's own path arguments are patterns.
 */
export async function findEntry(
  run: GitRunner,
  gitDir: string,
  commit: string,
  filePath: string,
): Promise<TreeEntry | undefined> {
  const slash = filePath.lastIndexOf('/');
  const dir = slash < 0 ? '' : filePath.slice(0, slash);
  const name = filePath.slice(slash + 1);
  const entries = await listDir(run, gitDir, commit, dir);
  return entries?.find((e) => e.name === name);
}

/** Raw bytes of a blob. */
export async function readBlob(run: GitRunner, gitDir: string, sha: string): Promise<Buffer> {
  return (await run(gitDir, ['cat-file', 'blob', sha])).stdout;
}

/** Author or committer line of a commit. */
export interface Signature {
  name: string;
  email: string;
  /** ISO-8601 in UTC, as GitHub formats it ("2024-01-02T03:04:05Z"). */
  date: string;
}

/** A parsed commit object. */
export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  message: string;
}

/** Parses a `Name <email> <unix-seconds> <tz>` signature line. */
export function parseSignature(line: string): Signature {
  const m = /^(.*) <([^>]*)> (\d+) [+-]\d{4}$/.exec(line);
  if (!m) return { name: line, email: '', date: new Date(0).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  const [, name = '', email = '', secs = '0'] = m;
  return { name, email, date: new Date(Number(secs) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/** Parses the text of a commit object (`git cat-file commit`). */
function parseCommitObject(sha: string, raw: string): CommitInfo {
  const split = raw.indexOf('\n\n');
  const header = split < 0 ? raw : raw.slice(0, split);
  const message = split < 0 ? '' : raw.slice(split + 2);
  const info: CommitInfo = {
    sha,
    tree: '',
    parents: [],
    author: parseSignature(''),
    committer: parseSignature(''),
    message,
  };
  for (const line of header.split('\n')) {
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree') info.tree = value;
    else if (key === 'parent') info.parents.push(value);
    else if (key === 'author') info.author = parseSignature(value);
    else if (key === 'committer') info.committer = parseSignature(value);
  }
  return info;
}

/** Reads and parses one commit. */
export async function readCommit(run: GitRunner, gitDir: string, sha: string): Promise<CommitInfo> {
  const r = await run(gitDir, ['cat-file', 'commit', sha]);
  return parseCommitObject(sha, r.stdout.toString('utf8'));
}

/** A file touched by a commit, in the shape GitHub's commit API reports. */
export interface ChangedFile {
  filename: string;
  status: 'added' | 'modified' | 'removed' | 'changed';
  sha: string;
  additions: number;
  deletions: number;
}

const STATUS_BY_LETTER: Record<string, ChangedFile['status']> = { A: 'added', M: 'modified', D: 'removed' };

/** Parses `diff-tree -r -z --raw` and `--numstat -z` outputs into per-file changes. */
function parseDiffTree(rawOut: Buffer, numstatOut: Buffer): ChangedFile[] {
  const numbers = new Map<string, { add: number; del: number }>();
  const ns = numstatOut.toString('utf8').split('\0');
  for (let i = 0; i + 1 < ns.length; i++) {
    const m = /^(\d+|-)\t(\d+|-)\t(.*)$/s.exec(ns[i] ?? '');
    if (m) numbers.set(m[3] ?? '', { add: Number(m[1]) || 0, del: Number(m[2]) || 0 });
  }
  const parts = rawOut.toString('utf8').split('\0');
  const files: ChangedFile[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = parts[i] ?? '';
    const filename = parts[i + 1] ?? '';
    const fields = meta.replace(/^:/, '').split(' ');
    const newSha = fields[3] ?? ZERO_SHA;
    const oldSha = fields[2] ?? ZERO_SHA;
    const status = STATUS_BY_LETTER[fields[4] ?? ''] ?? 'changed';
    const n = numbers.get(filename) ?? { add: 0, del: 0 };
    files.push({
      filename,
      status,
      sha: status === 'removed' ? oldSha : newSha,
      additions: n.add,
      deletions: n.del,
    });
  }
  return files;
}

/** Files changed by `sha` relative to its first parent (or everything, for a root commit). */
export async function changedFiles(run: GitRunner, gitDir: string, commit: CommitInfo): Promise<ChangedFile[]> {
  const base = commit.parents[0];
  const range = base ? [base, commit.sha] : ['--root', commit.sha];
  const raw = await run(gitDir, ['diff-tree', '-r', '-z', '--no-commit-id', '--raw', '--no-renames', ...range]);
  const num = await run(gitDir, ['diff-tree', '-r', '-z', '--no-commit-id', '--numstat', '--no-renames', ...range]);
  return parseDiffTree(raw.stdout, num.stdout);
}

/** Commit shas reachable from `start`, newest first, optionally only those touching `filePath`. */
export async function revList(run: GitRunner, gitDir: string, start: string, filePath?: string): Promise<string[]> {
  const args = ['rev-list', start, '--'];
  if (filePath) args.push(filePath);
  return text(await run(gitDir, args))
    .split('\n')
    .filter((l) => l.length > 0);
}

/** One file-level change applied by {@link commitChange}. */
type FileChange =
  | { kind: 'write'; path: string; content: Buffer; mode: string }
  | { kind: 'delete'; path: string };

/** Everything {@link commitChange} needs besides the change itself. */
interface CommitRequest {
  branch: string;
  /** Current tip; undefined to create the branch (root commit). */
  parent: string | undefined;
  change: FileChange;
  message: string;
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
}

/**
 * Creates one commit on `branch` applying `change`, using a throwaway index
 * so the bare repository never needs a work tree. The ref update names the
 * expected old value, so a concurrent push makes this fail instead of
 * silently discarding the pushed commits.
 */
export async function commitChange(run: GitRunner, gitDir: string, req: CommitRequest): Promise<string> {
  const indexFile = path.join(gitDir, `double-index-${randomBytes(6).toString('hex')}`);
  const withIndex = { GIT_INDEX_FILE: indexFile };
  try {
    await run(gitDir, req.parent ? ['read-tree', req.parent] : ['read-tree', '--empty'], { env: withIndex });
    if (req.change.kind === 'write') {
      const blob = text(await run(gitDir, ['hash-object', '-w', '--stdin'], { input: req.change.content }));
      await run(gitDir, ['update-index', '--add', '--cacheinfo', `${req.change.mode},${blob},${req.change.path}`], {
        env: withIndex,
      });
    } else {
      // --force-remove insists on a work tree; an --index-info record with mode 0 removes the path without one.
      await run(gitDir, ['update-index', '--index-info'], { env: withIndex, input: `0 ${ZERO_SHA}\t${req.change.path}\n` });
    }
    const tree = text(await run(gitDir, ['write-tree'], { env: withIndex }));
    const sha = text(
      await run(gitDir, ['commit-tree', tree, ...(req.parent ? ['-p', req.parent] : []), '-F', '-'], {
        input: req.message,
        env: {
          GIT_AUTHOR_NAME: req.author.name,
          GIT_AUTHOR_EMAIL: req.author.email,
          GIT_AUTHOR_DATE: req.author.date,
          GIT_COMMITTER_NAME: req.committer.name,
          GIT_COMMITTER_EMAIL: req.committer.email,
          GIT_COMMITTER_DATE: req.committer.date,
        },
      }),
    );
    await run(gitDir, ['update-ref', '-m', 'github-double: contents API', `refs/heads/${req.branch}`, sha, req.parent ?? ZERO_SHA]);
    return sha;
  } finally {
    await rm(indexFile, { force: true });
  }
}

/** Points a new branch at `sha`; fails if the branch already exists. */
export async function createRef(run: GitRunner, gitDir: string, branch: string, sha: string): Promise<void> {
  await run(gitDir, ['update-ref', '-m', 'github-double: create branch', `refs/heads/${branch}`, sha, ZERO_SHA]);
}

/** Git's blob id for `content` (what GitHub reports as a file's `sha`). */
export function blobSha(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}
