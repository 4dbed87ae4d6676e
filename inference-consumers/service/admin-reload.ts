/**
 * `POST /admin/reload[?uri=...]`: swaps this consumer's model file without a restart. Off unless ADMIN_TOKEN is
 * set; then it needs that token as a bearer token, loads only from MODEL_URI_ALLOWED_PREFIXES, and refuses a
 * manifest of another model or version than the one this consumer serves (its routing depends on the version).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { LoadedModel } from '../../models/loader/load-model.ts';
import { parseModelLocation } from '../../models/loader/model-location.ts';
import type { RouteHandler } from '../../platform/http-server.ts';

/** Whether `uri` lies inside one of the allowed model locations (same kind; path segments, `..` resolved). */
export function isAllowedModelUri(uri: string, prefixes: readonly string[], cwd: string = process.cwd()): boolean {
  let target;
  try {
    target = parseModelLocation(uri, cwd);
  } catch {
    return false;
  }
  return prefixes.some((prefix) => {
    let allowed;
    try {
      allowed = parseModelLocation(prefix, cwd);
    } catch {
      return false;
    }
    if (target.kind === 'local' && allowed.kind === 'local') {
      const relative = path.relative(allowed.dir, target.dir);
      return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
    }
    if (target.kind === 's3' && allowed.kind === 's3') {
      if (target.bucket !== allowed.bucket || target.prefix.split('/').includes('..')) return false;
      return allowed.prefix === '' || target.prefix === allowed.prefix || target.prefix.startsWith(`${allowed.prefix}/`);
    }
    return false;
  });
}

/** Why a loaded candidate may not replace the serving model, or undefined when it may. */
export function identityProblem(serving: { name: string; version: string }, candidate: { name: string; version: string }): string | undefined {
  if (candidate.name === serving.name && candidate.version === serving.version) return undefined;
  return `the manifest is ${candidate.name} ${candidate.version}, but this consumer serves ${serving.name} ${serving.version}; start a consumer for that version instead`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time comparison of an Authorization header with `Bearer <token>`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token));
}

export interface ReloadRouteOptions {
  token: string | undefined;
  allowedPrefixes: readonly string[];
  defaultUri: string;
  /** Loads a candidate and swaps it in if `accept` returns no problem; throws with the reason otherwise. */
  load: (uri: string) => Promise<LoadedModel>;
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(`${body}\n`);
}

export function reloadRoute(o: ReloadRouteOptions): RouteHandler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (o.token === undefined) return reply(res, 404, 'model reload is off: set ADMIN_TOKEN on this consumer to enable POST /admin/reload');
    if (req.method !== 'POST') return reply(res, 405, 'use POST', { allow: 'POST' });
    if (!bearerMatches(req.headers.authorization, o.token)) {
      return reply(res, 401, 'send ADMIN_TOKEN as "Authorization: Bearer <token>"', { 'www-authenticate': 'Bearer' });
    }
    const uri = new URL(req.url ?? '', 'http://x').searchParams.get('uri') ?? o.defaultUri;
    if (!isAllowedModelUri(uri, o.allowedPrefixes)) {
      return reply(res, 403, `reload refused: ${uri} is outside MODEL_URI_ALLOWED_PREFIXES (${o.allowedPrefixes.join(', ')})`);
    }
    try {
      const model = await o.load(uri);
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify({ model: model.manifest.name, version: model.manifest.version, sha256: model.sha256, uri })}\n`);
    } catch (err) {
      reply(res, 422, `reload refused, the previous model keeps serving: ${(err as Error).message}`);
    }
  };
}
