/** Bearer-token authentication: who is calling, by the name their token was given in GATEWAY_TOKENS. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './http-error.ts';

export interface ClientToken {
  name: string;
  token: string;
}

const NAME = /^[a-zA-Z0-9._-]+$/;
const MIN_TOKEN_LENGTH = 16;

/** Pure: `name:token,name:token` to pairs; ok is false on any malformed, short or repeated entry. */
export function parseTokens(value: string): { ok: true; tokens: ClientToken[] } | { ok: false } {
  const tokens: ClientToken[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const colon = item.indexOf(':');
    const name = item.slice(0, colon);
    const token = item.slice(colon + 1);
    if (colon <= 0 || !NAME.test(name) || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) return { ok: false };
    if (tokens.some((t) => t.name === name || t.token === token)) return { ok: false };
    tokens.push({ name, token });
  }
  return tokens.length > 0 ? { ok: true, tokens } : { ok: false };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class Authenticator {
  private readonly known: { name: string; digest: Buffer }[];

  constructor(tokens: ClientToken[], private readonly anonymous: boolean) {
    this.known = tokens.map((t) => ({ name: t.name, digest: digest(t.token) }));
  }

  /**
   * The client's name, or `address:<ip>` for an anonymous caller. Every known token is compared in constant
   * time, so the answer's timing does not tell how much of a token was right.
   */
  authenticate(authorization: string | undefined, address: string): string {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) {
      if (this.anonymous && authorization === undefined) return `address:${address}`;
      throw unauthorized(authorization === undefined
        ? 'no bearer token: send "Authorization: Bearer <token>"'
        : 'the Authorization header is not "Bearer <token>"');
    }
    const presented = digest(match[1] as string);
    let name: string | undefined;
    for (const k of this.known) {
      if (timingSafeEqual(k.digest, presented)) name = k.name;
    }
    if (name === undefined) throw unauthorized('the bearer token is not valid here: check it against GATEWAY_TOKENS');
    return name;
  }
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, message, { headers: { 'www-authenticate': 'Bearer realm="inference"' } });
}
