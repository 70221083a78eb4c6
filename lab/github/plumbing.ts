/**
 * The HTTP plumbing both faces of the GitHub double share (the REST API under
 * /api/v3 and the control endpoints under /_double): JSON bodies, auth,
 * GitHub's headers, fault injection, the request log, errors and `send`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from './core';
import { GitError } from './git';
import { HttpError, etagFor, etagMatches, tokenFromHeader, tokenMatches } from './http-util';
import { errorBody } from './json';
import type { RequestLogEntry } from './types';

/** Prefix of the REST API, as GitHub Enterprise Server serves it. */
export const API = '/api/v3';
/** Out-of-band control endpoints, for a double running in another process (see main.ts). */
export const CONTROL = '/_double';

/** Hooks shared by all routes: fault injection, auth, GitHub headers, request log, errors, JSON bodies. */
export function installPlumbing(
  app: FastifyInstance,
  core: Core,
  requests: RequestLogEntry[],
  onUnhandled: (e: RequestLogEntry) => void,
): void {
  app.removeAllContentTypeParsers();
  // GitHub parses any body as JSON whatever the Content-Type says; an empty body is "no fields".
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const raw = String(body).trim();
    if (raw === '') return done(null, undefined);
    try {
      done(null, JSON.parse(raw));
    } catch {
      done(new HttpError(400, errorBody('Problems parsing JSON')), undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.headers({
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': String(req.headers['x-github-api-version'] ?? '2022-11-28'),
      'x-github-request-id': `DOUBLE:${requests.length + 1}`,
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
    });
    const isApi = req.url === API || req.url.startsWith(`${API}/`) || req.url.startsWith(`${API}?`);
    if (!isApi && !req.url.startsWith(`${CONTROL}/`)) return;
    if (isApi && core.fault.remaining > 0) {
      core.fault.remaining -= 1;
      const status = core.fault.status;
      return reply.code(status).send(errorBody(`Injected failure (HTTP ${status}) from the GitHub double's failNext()`));
    }
    if (!tokenMatches(tokenFromHeader(req.headers.authorization), core.opts.token)) {
      return reply.code(401).send(errorBody('Bad credentials'));
    }
    return undefined;
  });

  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith(`${CONTROL}/`)) return; // test-harness traffic is not API traffic
    const [p = '', q = ''] = req.url.split(/\?(.*)/s);
    const entry: RequestLogEntry = {
      method: req.method,
      path: p,
      query: q,
      status: reply.statusCode,
      handled: !req.is404,
      ...(req.is404 ? {} : { route: req.routeOptions.url }),
      ms: reply.elapsedTime,
    };
    requests.push(entry);
    if (!entry.handled) onUnhandled(entry);
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send(errorBody('Not Found')));

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send(err.body);
    if (err instanceof GitError) return reply.code(500).send(errorBody(`git failed: ${err.stderr.trim() || err.message}`));
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    return reply.code(status).send(errorBody(err instanceof Error ? err.message : String(err)));
  });
}

/** Sends JSON; successful GETs get an ETag and honour If-None-Match with 304, as GitHub does. */
export function send(req: FastifyRequest, reply: FastifyReply, status: number, body: unknown): FastifyReply {
  const payload = JSON.stringify(body);
  if ((req.method === 'GET' || req.method === 'HEAD') && status === 200) {
    const etag = etagFor(payload);
    reply.header('etag', etag);
    if (etagMatches(req.headers['if-none-match'], etag)) return reply.code(304).send();
  }
  return reply.code(status).type('application/json; charset=utf-8').send(payload);
}

/** Route parameters of every /repos/{owner}/{repo} route. */
export type RepoParams = { owner: string; repo: string };
