/**
 * Runs the GitHub double standalone until SIGTERM/SIGINT.
 *
 *   node -r ts-node/register/transpile-only lab/github/main.ts \
 *     --data-dir /tmp/gh-double --token secret [--port 0] [--ssh-port 0] \
 *     [--owner acme] [--login flux-bot] [--repo acme/fleet-infra[:main]]... [--no-ssh]
 *
 * The token may also come from GITHUB_DOUBLE_TOKEN. On start it prints the
 * connection details and writes them to <data-dir>/connection.json, so shell
 * scripts can wire a Pulumi stack and git to it. Repositories named with
 * --repo are created unless they already exist (state survives restarts).
 * While running, /_double/* control endpoints (see control.ts) offer
 * failNext, the request log and out-of-band key deletion.
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startGitHubDouble } from './server';

const USAGE =
  'usage: main.ts --data-dir DIR --token TOKEN [--port N] [--ssh-port N] [--owner ORG] [--login USER] [--repo OWNER/NAME[:BRANCH]]... [--no-ssh]';

/** A --repo argument split into its parts. */
function parseRepoArg(arg: string, defaultOwner: string): { owner: string; name: string; branch: string } {
  const [spec = '', branch = 'main'] = arg.split(':');
  const parts = spec.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new Error(`--repo ${arg}: expected OWNER/NAME[:BRANCH]`);
  const [first = '', second] = parts;
  return second === undefined ? { owner: defaultOwner, name: first, branch } : { owner: first, name: second, branch };
}

function portArg(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be a port number, got ${v}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      token: { type: 'string' },
      port: { type: 'string' },
      'ssh-port': { type: 'string' },
      owner: { type: 'string' },
      login: { type: 'string' },
      repo: { type: 'string', multiple: true },
      'no-ssh': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const token = values.token ?? process.env['GITHUB_DOUBLE_TOKEN'];
  if (!values['data-dir'] || !token) throw new Error(`--data-dir and --token (or GITHUB_DOUBLE_TOKEN) are required\n${USAGE}`);

  const double = await startGitHubDouble({
    dataDir: values['data-dir'],
    token,
    port: portArg(values.port, '--port'),
    sshPort: portArg(values['ssh-port'], '--ssh-port'),
    owner: values.owner,
    login: values.login,
    ssh: !values['no-ssh'],
  });
  for (const arg of values.repo ?? []) {
    const r = parseRepoArg(arg, double.owner);
    if (!double.hasRepo(r.owner, r.name)) await double.createRepo(r.owner, r.name, r.branch);
  }

  const info = {
    baseUrl: double.baseUrl,
    apiUrl: double.apiUrl,
    owner: double.owner,
    sshPort: double.sshPort,
    sshUser: double.sshUser,
    knownHosts: double.knownHosts,
    dataDir: double.dataDir,
    pid: process.pid,
  };
  await writeFile(path.join(double.dataDir, 'connection.json'), `${JSON.stringify(info, null, 2)}\n`);
  process.stdout.write(
    [
      `baseUrl: ${info.baseUrl}`,
      `apiUrl: ${info.apiUrl}`,
      `owner: ${info.owner}`,
      `sshPort: ${info.sshPort}`,
      `knownHosts: ${info.knownHosts}`,
      `connection: ${path.join(double.dataDir, 'connection.json')}`,
      'ready',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[github-double] ${signal}: shutting down\n`);
    double.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`[github-double] shutdown failed: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`[github-double] ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
