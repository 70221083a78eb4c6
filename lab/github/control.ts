/**
 * The GitHub double's control face: /_double endpoints mirroring the
 * out-of-band methods of its handle, for a double running as a separate
 * process (main.ts).
 */
import type { FastifyInstance } from 'fastify';
import { HttpError, asObject, optString } from './http-util';
import { errorBody } from './json';
import { CONTROL, send, type RepoParams } from './plumbing';
import type { GitHubDouble } from './types';

/**
 * Registers the control endpoints. Same token as the API; not logged in
 * `requests` and not affected by failNext.
 *
 * - POST   /_double/fail-next {n, status?}
 * - GET    /_double/requests
 * - POST   /_double/repos {owner, name, defaultBranch?}
 * - GET    /_double/repos/{owner}/{repo}/keys
 * - DELETE /_double/repos/{owner}/{repo}/keys/{id}
 */
export function registerControlRoutes(app: FastifyInstance, double: () => GitHubDouble): void {
  const fail = (e: unknown): never => {
    throw new HttpError(422, errorBody(e instanceof Error ? e.message : String(e)));
  };
  app.post(`${CONTROL}/fail-next`, async (req, reply) => {
    const body = asObject(req.body);
    const n = Number(body['n']);
    const status = body['status'] === undefined ? 502 : Number(body['status']);
    try {
      double().failNext(n, status);
    } catch (e) {
      fail(e);
    }
    return reply.code(204).send();
  });
  app.get(`${CONTROL}/requests`, async (req, reply) => send(req, reply, 200, double().requests));
  app.post(`${CONTROL}/repos`, async (req, reply) => {
    const body = asObject(req.body);
    const owner = optString(body, 'owner') ?? double().owner;
    const name = optString(body, 'name') ?? fail(new Error('"name" is required'));
    await double()
      .createRepo(owner, name, optString(body, 'defaultBranch') ?? 'main')
      .catch(fail);
    return send(req, reply, 201, { owner, name, sshUrl: double().sshUrl(owner, name) });
  });
  app.get<{ Params: RepoParams }>(`${CONTROL}/repos/:owner/:repo/keys`, async (req, reply) => {
    if (!double().hasRepo(req.params.owner, req.params.repo)) throw new HttpError(404, errorBody('Not Found'));
    return send(req, reply, 200, double().listKeys(req.params.owner, req.params.repo));
  });
  app.delete<{ Params: RepoParams & { id: string } }>(`${CONTROL}/repos/:owner/:repo/keys/:id`, async (req, reply) => {
    if (!double().hasRepo(req.params.owner, req.params.repo)) throw new HttpError(404, errorBody('Not Found'));
    const gone = await double().deleteKey(req.params.owner, req.params.repo, Number(req.params.id));
    return gone ? reply.code(204).send() : reply.code(404).send(errorBody('Not Found'));
  });
}
