/**
 * The GitHub double's own metadata (repositories and deploy keys), kept in
 * memory and mirrored to a JSON file so a restarted double still knows the
 * keys it handed out. Git content itself lives in the bare repositories.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';

/** A repository known to the double. */
export interface RepoRecord {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  private: boolean;
  createdAt: string;
}

/** A deploy key as GitHub stores it (key already normalised to `<type> <base64>`). */
export interface KeyRecord {
  id: number;
  owner: string;
  repo: string;
  key: string;
  title: string;
  readOnly: boolean;
  createdAt: string;
}

/** Everything persisted between runs. */
export interface DoubleState {
  version: 1;
  nextRepoId: number;
  nextKeyId: number;
  repos: RepoRecord[];
  keys: KeyRecord[];
}

/** A fresh state. Ids start high so they look like (and are typed like) GitHub's int64 ids. */
function emptyState(): DoubleState {
  return { version: 1, nextRepoId: 700000001, nextKeyId: 90000001, repos: [], keys: [] };
}

/** Loads the state file, or a fresh state when there is none yet. */
export async function loadState(file: string): Promise<DoubleState> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw e;
  }
  const parsed = JSON.parse(raw) as Partial<DoubleState>;
  if (parsed.version !== 1 || !Array.isArray(parsed.repos) || !Array.isArray(parsed.keys)) {
    throw new Error(`GitHub double: ${file} is not a state file this version understands (expected version 1)`);
  }
  return { ...emptyState(), ...parsed } as DoubleState;
}

/** Writes the state atomically, so a crash never leaves half a file behind. */
export async function saveState(file: string, state: DoubleState): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}

/** `owner/name` key used for lookups; GitHub treats names case-insensitively. */
export function repoKey(owner: string, name: string): string {
  return `${owner}/${name}`.toLowerCase();
}

/** Finds a repository by owner and name (case-insensitively, like GitHub). */
export function findRepo(state: DoubleState, owner: string, name: string): RepoRecord | undefined {
  const k = repoKey(owner, name);
  return state.repos.find((r) => repoKey(r.owner, r.name) === k);
}

/** The deploy keys of one repository, oldest first. */
export function keysOf(state: DoubleState, repo: RepoRecord): KeyRecord[] {
  const k = repoKey(repo.owner, repo.name);
  return state.keys.filter((key) => repoKey(key.owner, key.repo) === k);
}
