/**
 * Test scaffolding for the isolation suite's remote-base threat (startGitHttp
 * in lab/client/flux.ts): serves the bare git repositories under --root over smart
 * HTTP on 127.0.0.1 by running git's own CGI program, `git http-backend`,
 * once per request. Flux's source-controller (go-git) speaks only the smart
 * protocol, so a static file server will not do.
 *
 *   node -r ts-node/register/transpile-only lab/controllers/git-http.ts --root DIR [--port 0]
 *
 * Prints `http://127.0.0.1:<port>` once listening; repositories are then at
 * `http://127.0.0.1:<port>/<name>.git`. Read-only (receive-pack is refused).
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

/** Splits a CGI response into status, headers and the body that follows. */
function parseCgiHead(head: string): { status: number; headers: [string, string][] } {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of head.split(/\r?\n/)) {
    if (line === '') continue;
    const i = line.indexOf(':');
    if (i < 0) throw new Error(`bad CGI header line: ${line}`);
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else headers.push([name, value]);
  }
  return { status, headers };
}

function handle(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname.endsWith('/git-receive-pack') || url.searchParams.get('service') === 'git-receive-pack') {
    res.writeHead(403).end('read-only\n');
    return;
  }
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
      HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let started = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (started) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const m = /\r?\n\r?\n/.exec(text);
    if (!m) return;
    const { status, headers } = parseCgiHead(text.slice(0, m.index));
    res.writeHead(status, headers);
    started = true;
    res.write(head.subarray(m.index + m[0].length));
  });
  child.on('close', (code) => {
    if (!started) res.writeHead(500).end(`git http-backend exited ${code}\n`);
    else res.end();
  });
}

function main(): void {
  const { values } = parseArgs({ options: { root: { type: 'string' }, port: { type: 'string', default: '0' } } });
  if (!values.root) throw new Error('usage: git-http.ts --root DIR [--port N]');
  const root = path.resolve(values.root);
  const server = http.createServer((req, res) => handle(root, req, res));
  server.listen(Number(values.port), '127.0.0.1', () => {
    process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
  });
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) main();
