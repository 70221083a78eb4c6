/**
 * GitHub API test double for end-to-end tests of Pulumi programs that use
 * `@pulumi/github` (terraform-provider-github / go-github underneath).
 *
 * It serves the slice of the REST API those programs touch (owner lookup,
 * repositories, branches, deploy keys, contents, commits) under `/api/v3/`,
 * backed by real bare git repositories, and runs a private sshd whose
 * authorized_keys is generated from the deploy keys, so a key created through
 * the API really can (or cannot) clone and push over SSH.
 *
 * This file starts it and wires the pieces: core.ts (state, locks,
 * persistence) under operations.ts (the data operations), which the two HTTP
 * faces, routes.ts (REST, /api/v3) and control.ts (/_double), share with
 * handle.ts (the object a test holds); plumbing.ts holds the HTTP hooks both
 * faces use and types.ts the public shapes.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { registerControlRoutes } from './control';
import { NAME_RE, makeCore } from './core';
import { makeGitRunner } from './git';
import { buildHandle } from './handle';
import { HttpError } from './http-util';
import { errorBody, type UrlBase } from './json';
import { API, installPlumbing } from './plumbing';
import { registerRoutes } from './routes';
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
import { loadState } from './state';
import type { GitHubDouble, GitHubDoubleOptions, RequestLogEntry } from './types';

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
