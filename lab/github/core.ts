/**
 * The GitHub double's core: the one object every operation and route works
 * on (state, git runner, URLs, accounts), with per-key serialisation and
 * persistence of state.json and authorized_keys.
 */
import { chmod, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { GitRunner } from './git';
import { HttpError } from './http-util';
import { errorBody, type Accounts, type UrlBase } from './json';
import { renderAuthorizedKeys } from './keys';
import { findRepo, saveState, type DoubleState, type RepoRecord } from './state';
import type { GitHubDoubleOptions } from './types';

/** Owner, login and repository names the double accepts. */
export const NAME_RE = /^[A-Za-z0-9._-]+$/;

/** Everything routes need: state, git, URLs and serialisation. */
export interface Core {
  opts: Required<Pick<GitHubDoubleOptions, 'token' | 'uniqueKeyTitles'>>;
  state: DoubleState;
  run: GitRunner;
  urls: UrlBase;
  acc: Accounts;
  reposRoot: string;
  gitDir(r: RepoRecord): string;
  requireRepo(owner: string, name: string): RepoRecord;
  /** Serialises work per key (a repository, or "meta" for state files). */
  locked<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Persists state and regenerates authorized_keys. */
  persist(): Promise<void>;
  fault: { remaining: number; status: number };
}

/** Builds the {@link Core} over a loaded state; `sshd` names authorized_keys and the gate (undefined: no SSH). */
export function makeCore(p: {
  opts: Core['opts'];
  state: DoubleState;
  run: GitRunner;
  urls: UrlBase;
  acc: Accounts;
  reposRoot: string;
  stateFile: string;
  sshd: { authorizedKeysFile: string; gate: string } | undefined;
}): Core {
  const { state, reposRoot, sshd } = p;
  const chains = new Map<string, Promise<unknown>>();
  const locked = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = chains.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    chains.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  };

  const persist = (): Promise<void> =>
    locked('meta', async () => {
      await saveState(p.stateFile, state);
      if (sshd) {
        const grants = state.keys.map((k) => ({ key: k.key, owner: k.owner, repo: k.repo, readOnly: k.readOnly }));
        await writeAtomic(sshd.authorizedKeysFile, renderAuthorizedKeys(grants, sshd.gate, reposRoot), 0o644);
      }
    });

  return {
    opts: p.opts,
    state,
    run: p.run,
    urls: p.urls,
    acc: p.acc,
    reposRoot,
    gitDir: (r) => path.join(reposRoot, r.owner, `${r.name}.git`),
    requireRepo: (o, n) => {
      const r = findRepo(state, o, n);
      if (!r) throw new HttpError(404, errorBody('Not Found'));
      return r;
    },
    locked,
    persist,
    fault: { remaining: 0, status: 502 },
  };
}

async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}
