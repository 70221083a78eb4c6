/**
 * Small HTTP helpers shared by the GitHub double's routes: GitHub-style
 * errors, token checks, ETags and Link-header pagination.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** An error that becomes a GitHub-shaped JSON response. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body['message'] ?? `HTTP ${status}`));
    this.name = 'HttpError';
  }
}

/**
 * Extracts the token from an Authorization header. go-github's oauth2
 * transport sends `Bearer <t>`; older clients and curl users send `token <t>`.
 */
export function tokenFromHeader(header: string | undefined): string | undefined {
  const m = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** Constant-time token comparison (cheap, and keeps the double honest as a credential check). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Weak ETag over a response body, in GitHub's `W/"<hex>"` form. */
export function etagFor(payload: string): string {
  return `W/"${createHash('sha256').update(payload).digest('hex')}"`;
}

/** True when an If-None-Match header names `etag` (weak comparison, as RFC 9110 requires for GET). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (t: string): string => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}

/** Result of {@link paginate}. */
interface Page<T> {
  items: T[];
  /** Link header value, absent when everything fits on one page. */
  link?: string;
}

/**
 * Slices a list the way GitHub pages it (`page`, `per_page` ≤ 100, default
 * 30) and builds the Link header go-github reads to find the next page.
 */
export function paginate<T>(all: readonly T[], requestUrl: string): Page<T> {
  const url = new URL(requestUrl);
  const perPage = clampInt(url.searchParams.get('per_page'), 30, 1, 100);
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const page = clampInt(url.searchParams.get('page'), 1, 1, Number.MAX_SAFE_INTEGER);
  const items = all.slice((page - 1) * perPage, page * perPage);
  if (lastPage === 1) return { items };
  const at = (p: number): string => {
    const u = new URL(url);
    u.searchParams.set('per_page', String(perPage));
    u.searchParams.set('page', String(p));
    return `<${u.toString()}>`;
  };
  const rels: string[] = [];
  if (page < lastPage) rels.push(`${at(page + 1)}; rel="next"`, `${at(lastPage)}; rel="last"`);
  if (page > 1) rels.push(`${at(1)}; rel="first"`, `${at(page - 1)}; rel="prev"`);
  return { items, link: rels.join(', ') };
}

function clampInt(raw: string | null, fallback: number, min: number, max: number): number {
  const n = raw === null ? NaN : Number.parseInt(raw, 10);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, n));
}

/** Narrows a parsed JSON body to an object, or fails like GitHub does for a non-object body. */
export function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest' });
  }
  return body as Record<string, unknown>;
}

/** A string field of a request body, or undefined when absent/empty. */
export function optString(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') {
    throw new HttpError(422, {
      message: `Invalid request.\n\nFor '${key}', ${JSON.stringify(v)} is not a string.`,
      documentation_url: 'https://docs.github.com/rest',
    });
  }
  return v;
}

/** Decodes `/`-separated URL path segments from index `from` of the raw request path. */
export function pathTail(rawUrl: string, from: number): string {
  const pathOnly = rawUrl.split('?')[0] ?? '';
  return pathOnly
    .split('/')
    .slice(from)
    .map((s) => decodeURIComponent(s))
    .join('/')
    .replace(/\/+$/, '');
}
