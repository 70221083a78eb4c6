/**
 * Pure builders for the JSON bodies the GitHub double returns. Field names
 * follow GitHub's REST API (as decoded by go-github, which the Terraform
 * provider uses), including the ones only read indirectly, such as the
 * `?ref=` query inside a content `url`.
 */
import type { ChangedFile, CommitInfo, Signature, TreeEntry } from './git';
import type { KeyRecord, RepoRecord } from './state';

/** Where things live, for building the many URLs GitHub embeds. */
export interface UrlBase {
  /** e.g. http://127.0.0.1:1234/api/v3 (no trailing slash). */
  api: string;
  /** e.g. http://127.0.0.1:1234 (no trailing slash); GHES serves its web UI on the same host. */
  web: string;
  sshUrl(owner: string, repo: string): string;
}

/** The accounts the double knows about. */
export interface Accounts {
  org: { login: string; id: number };
  user: { login: string; id: number; email: string };
}

const EPOCH_CREATED = '2020-01-01T00:00:00Z';

function nodeId(kind: string, id: number | string): string {
  return Buffer.from(`0:${kind}${id}`).toString('base64');
}

/** Encodes a repo-relative path for a URL, keeping its slashes. */
function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** GitHub's standard error body. */
export function errorBody(message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { message, ...extra, documentation_url: 'https://docs.github.com/rest' };
}

/** GitHub's 422 body for a field that failed validation. */
export function validationFailed(resource: string, field: string, message: string): Record<string, unknown> {
  return errorBody('Validation Failed', { errors: [{ resource, code: 'custom', field, message }] });
}

/** GitHub's 422 body for a missing required field. */
export function missingField(field: string): Record<string, unknown> {
  return errorBody(`Invalid request.\n\n"${field}" wasn't supplied.`);
}

/** A user account (also used for the authenticated user). */
export function userJson(u: UrlBase, login: string, id: number, email?: string): Record<string, unknown> {
  return {
    login,
    id,
    node_id: nodeId('User', id),
    avatar_url: `${u.web}/avatars/${login}`,
    url: `${u.api}/users/${login}`,
    html_url: `${u.web}/${login}`,
    repos_url: `${u.api}/users/${login}/repos`,
    type: 'User',
    site_admin: false,
    name: login,
    email: email ?? null,
    created_at: EPOCH_CREATED,
    updated_at: EPOCH_CREATED,
  };
}

/** An organization, as returned by GET /orgs/{org}. */
export function orgJson(u: UrlBase, login: string, id: number): Record<string, unknown> {
  return {
    login,
    id,
    node_id: nodeId('Organization', id),
    url: `${u.api}/orgs/${login}`,
    repos_url: `${u.api}/orgs/${login}/repos`,
    avatar_url: `${u.web}/avatars/${login}`,
    description: 'Organization served by the flux-capsule GitHub double',
    name: login,
    html_url: `${u.web}/${login}`,
    type: 'Organization',
    is_verified: false,
    has_organization_projects: false,
    has_repository_projects: false,
    public_repos: 0,
    created_at: EPOCH_CREATED,
    updated_at: EPOCH_CREATED,
  };
}

/** Owner summary embedded in repository JSON. */
function ownerJson(u: UrlBase, acc: Accounts, owner: string): Record<string, unknown> {
  if (owner.toLowerCase() === acc.org.login.toLowerCase()) {
    // A user's summary fields, in the same order, as the organisation.
    const { id } = acc.org;
    const { login, avatar_url, url, html_url, site_admin } = userJson(u, acc.org.login, id);
    return { login, id, node_id: nodeId('Organization', id), avatar_url, url, html_url, type: 'Organization', site_admin };
  }
  const id = owner.toLowerCase() === acc.user.login.toLowerCase() ? acc.user.id : syntheticUserId(owner);
  return userJson(u, owner, id);
}

/** A stable id for owners the double only knows by name. */
export function syntheticUserId(login: string): number {
  let h = 0;
  for (const c of login.toLowerCase()) h = (h * 31 + c.charCodeAt(0)) % 1_000_000;
  return 80_000_000 + h;
}

/** A repository, as returned by GET /repos/{owner}/{repo}. */
export function repoJson(u: UrlBase, acc: Accounts, r: RepoRecord, pushedAt: string): Record<string, unknown> {
  const full = `${r.owner}/${r.name}`;
  return {
    id: r.id,
    node_id: nodeId('Repository', r.id),
    name: r.name,
    full_name: full,
    owner: ownerJson(u, acc, r.owner),
    private: r.private,
    visibility: r.private ? 'private' : 'public',
    description: null,
    fork: false,
    url: `${u.api}/repos/${full}`,
    html_url: `${u.web}/${full}`,
    git_url: `git://127.0.0.1/${full}.git`,
    ssh_url: u.sshUrl(r.owner, r.name),
    clone_url: `${u.web}/${full}.git`,
    default_branch: r.defaultBranch,
    archived: false,
    disabled: false,
    is_template: false,
    has_issues: false,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    allow_merge_commit: true,
    allow_squash_merge: true,
    allow_rebase_merge: true,
    delete_branch_on_merge: false,
    topics: [],
    permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
    created_at: r.createdAt,
    updated_at: pushedAt,
    pushed_at: pushedAt,
    size: 0,
  };
}

/** A deploy key, as returned by the /keys endpoints. */
export function keyJson(u: UrlBase, acc: Accounts, k: KeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    key: k.key,
    url: `${u.api}/repos/${k.owner}/${k.repo}/keys/${k.id}`,
    title: k.title,
    verified: true,
    created_at: k.createdAt,
    read_only: k.readOnly,
    added_by: acc.user.login,
    last_used: null,
    enabled: true,
  };
}

/** Splits base64 into 60-character lines with a trailing newline, as GitHub sends file content. */
function wrapBase64(b64: string): string {
  if (b64.length === 0) return '';
  return `${b64.match(/.{1,60}/g)?.join('\n') ?? ''}\n`;
}

const TYPE_BY_ENTRY: Record<string, string> = { blob: 'file', tree: 'dir', commit: 'submodule' };

/** Metadata of one path at a ref (no content): used for listings and PUT/DELETE responses. */
export function contentMetaJson(
  u: UrlBase,
  r: RepoRecord,
  ref: string,
  e: Pick<TreeEntry, 'mode' | 'type' | 'sha' | 'size' | 'name' | 'path'>,
): Record<string, unknown> {
  const full = `${r.owner}/${r.name}`;
  const type = e.mode === '120000' ? 'symlink' : (TYPE_BY_ENTRY[e.type] ?? 'file');
  const self = `${u.api}/repos/${full}/contents/${encodePath(e.path)}?ref=${encodeURIComponent(ref)}`;
  const git = `${u.api}/repos/${full}/git/${e.type === 'tree' ? 'trees' : 'blobs'}/${e.sha}`;
  const html = `${u.web}/${full}/${e.type === 'tree' ? 'tree' : 'blob'}/${encodePath(ref)}/${encodePath(e.path)}`;
  return {
    type,
    name: e.name,
    path: e.path,
    sha: e.sha,
    size: e.size,
    url: self,
    html_url: html,
    git_url: git,
    download_url: type === 'file' ? `${u.web}/${full}/raw/${encodePath(ref)}/${encodePath(e.path)}` : null,
    _links: { self, git, html },
  };
}

/** A file with its content, as returned by GET /contents/{path}. */
export function fileJson(
  u: UrlBase,
  r: RepoRecord,
  ref: string,
  e: Pick<TreeEntry, 'mode' | 'type' | 'sha' | 'size' | 'name' | 'path'>,
  content: Buffer,
): Record<string, unknown> {
  return { ...contentMetaJson(u, r, ref, e), encoding: 'base64', content: wrapBase64(content.toString('base64')) };
}

function signatureJson(s: Signature): Record<string, unknown> {
  return { name: s.name, email: s.email, date: s.date };
}

const UNSIGNED = { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null };

/** A git commit object, as in /git/commits/{sha} and the `commit` of a contents PUT/DELETE. */
export function gitCommitJson(u: UrlBase, r: RepoRecord, c: CommitInfo): Record<string, unknown> {
  const full = `${r.owner}/${r.name}`;
  return {
    sha: c.sha,
    node_id: nodeId('Commit', c.sha),
    url: `${u.api}/repos/${full}/git/commits/${c.sha}`,
    html_url: `${u.web}/${full}/commit/${c.sha}`,
    author: signatureJson(c.author),
    committer: signatureJson(c.committer),
    tree: { sha: c.tree, url: `${u.api}/repos/${full}/git/trees/${c.tree}` },
    message: c.message.replace(/\n$/, ''),
    parents: c.parents.map((p) => ({
      sha: p,
      url: `${u.api}/repos/${full}/git/commits/${p}`,
      html_url: `${u.web}/${full}/commit/${p}`,
    })),
    verification: UNSIGNED,
  };
}

/** A commit as the /commits endpoints return it; `files` only for the single-commit form. */
export function repoCommitJson(
  u: UrlBase,
  acc: Accounts,
  r: RepoRecord,
  c: CommitInfo,
  files?: ChangedFile[],
): Record<string, unknown> {
  const full = `${r.owner}/${r.name}`;
  const account = (s: Signature): Record<string, unknown> | null =>
    s.email.toLowerCase() === acc.user.email.toLowerCase() ? userJson(u, acc.user.login, acc.user.id) : null;
  const body: Record<string, unknown> = {
    sha: c.sha,
    node_id: nodeId('Commit', c.sha),
    commit: {
      author: signatureJson(c.author),
      committer: signatureJson(c.committer),
      message: c.message.replace(/\n$/, ''),
      tree: { sha: c.tree, url: `${u.api}/repos/${full}/git/trees/${c.tree}` },
      url: `${u.api}/repos/${full}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: UNSIGNED,
    },
    url: `${u.api}/repos/${full}/commits/${c.sha}`,
    html_url: `${u.web}/${full}/commit/${c.sha}`,
    comments_url: `${u.api}/repos/${full}/commits/${c.sha}/comments`,
    author: account(c.author),
    committer: account(c.committer),
    parents: c.parents.map((p) => ({
      sha: p,
      url: `${u.api}/repos/${full}/commits/${p}`,
      html_url: `${u.web}/${full}/commit/${p}`,
    })),
  };
  if (files) {
    const additions = files.reduce((n, f) => n + f.additions, 0);
    const deletions = files.reduce((n, f) => n + f.deletions, 0);
    body['stats'] = { total: additions + deletions, additions, deletions };
    body['files'] = files.map((f) => ({
      sha: f.sha,
      filename: f.filename,
      status: f.status,
      additions: f.additions,
      deletions: f.deletions,
      changes: f.additions + f.deletions,
      blob_url: `${u.web}/${full}/blob/${c.sha}/${encodePath(f.filename)}`,
      raw_url: `${u.web}/${full}/raw/${c.sha}/${encodePath(f.filename)}`,
      contents_url: `${u.api}/repos/${full}/contents/${encodePath(f.filename)}?ref=${c.sha}`,
    }));
  }
  return body;
}

/** A branch, as returned by GET /branches/{branch}. */
export function branchJson(
  u: UrlBase,
  acc: Accounts,
  r: RepoRecord,
  name: string,
  c: CommitInfo,
): Record<string, unknown> {
  const full = `${r.owner}/${r.name}`;
  return {
    name,
    commit: repoCommitJson(u, acc, r, c),
    _links: {
      self: `${u.api}/repos/${full}/branches/${encodeURIComponent(name)}`,
      html: `${u.web}/${full}/tree/${encodePath(name)}`,
    },
    protected: false,
    protection: { enabled: false, required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] } },
    protection_url: `${u.api}/repos/${full}/branches/${encodeURIComponent(name)}/protection`,
  };
}

/** A git reference, as returned by /git/ref(s). */
export function refJson(u: UrlBase, r: RepoRecord, ref: string, sha: string): Record<string, unknown> {
  const full = `${r.owner}/${r.name}`;
  return {
    ref,
    node_id: nodeId('Ref', ref),
    url: `${u.api}/repos/${full}/git/${ref}`,
    object: { sha, type: 'commit', url: `${u.api}/repos/${full}/git/commits/${sha}` },
  };
}
