import { describe, expect, it } from 'vitest';
import { Authenticator, parseTokens } from '../../../gateway/http/auth.ts';
import { RateLimiter } from '../../../gateway/http/rate-limiter.ts';
import { refusal } from './fixtures.ts';

const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-9876543210xyz';

describe('GATEWAY_TOKENS', () => {
  it('are name:token pairs; a token may hold colons', () => {
    expect(parseTokens(`alice:${ALICE}, bob:${BOB}:x`)).toEqual({ ok: true, tokens: [{ name: 'alice', token: ALICE }, { name: 'bob', token: `${BOB}:x` }] });
  });

  it.each([
    ['no name', `:${ALICE}`],
    ['no colon', ALICE],
    ['a short token', 'alice:short'],
    ['a name with a space', `al ice:${ALICE}`],
    ['a repeated name', `alice:${ALICE},alice:${BOB}`],
    ['a repeated token', `alice:${ALICE},bob:${ALICE}`],
    ['nothing', ' , '],
  ])('refuse %s', (_what, value) => {
    expect(parseTokens(value).ok).toBe(false);
  });
});

describe('bearer authentication', () => {
  const auth = new Authenticator([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }], false);

  it('names the client whose token it is', () => {
    expect(auth.authenticate(`Bearer ${ALICE}`, '10.0.0.1')).toBe('alice');
    expect(auth.authenticate(`bearer  ${BOB} `, '10.0.0.1')).toBe('bob');
  });

  it('answers 401 with a Bearer challenge to no token, another scheme or a wrong token', () => {
    for (const header of [undefined, `Basic ${Buffer.from('alice:x').toString('base64')}`, `Bearer ${ALICE}x`, 'Bearer']) {
      const err = refusal(() => auth.authenticate(header, '10.0.0.1'));
      expect(err.status).toBe(401);
      expect(err.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(refusal(() => auth.authenticate(undefined, 'x')).message).toMatch(/no bearer token/);
    expect(refusal(() => auth.authenticate(`Bearer ${BOB}0`, 'x')).message).toMatch(/not valid/);
  });

  it('lets an anonymous caller in by address only when allowed, and still checks a token that is sent', () => {
    const open = new Authenticator([{ name: 'alice', token: ALICE }], true);
    expect(open.authenticate(undefined, '10.0.0.9')).toBe('address:10.0.0.9');
    expect(open.authenticate(`Bearer ${ALICE}`, '10.0.0.9')).toBe('alice');
    expect(refusal(() => open.authenticate('Bearer wrong-token-0123456789', '10.0.0.9')).status).toBe(401);
  });
});

describe('rate limiter (token bucket per client)', () => {
  it('allows a burst, then refills at the rate, and says when to retry', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 4, () => now);
    for (let i = 0; i < 4; i++) expect(limiter.take('alice')).toEqual({ ok: true });
    expect(limiter.take('alice')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.take('bob')).toEqual({ ok: true });
    now = 500; // half a second: one token back
    expect(limiter.take('alice')).toEqual({ ok: true });
    expect(limiter.take('alice').ok).toBe(false);
    now = 60_000; // refilled to the burst, never above
    for (let i = 0; i < 4; i++) expect(limiter.take('alice').ok).toBe(true);
    expect(limiter.take('alice').ok).toBe(false);
  });

  it('charges a cost per image and computes the wait for all of it', () => {
    let now = 0;
    const limiter = new RateLimiter(1, 8, () => now);
    expect(limiter.take('alice', 6).ok).toBe(true);
    expect(limiter.take('alice', 6)).toEqual({ ok: false, retryAfterSeconds: 4 });
    now = 4_000;
    expect(limiter.take('alice', 6).ok).toBe(true);
  });

  it('is off at rate 0', () => {
    const limiter = new RateLimiter(0, 1);
    for (let i = 0; i < 100; i++) expect(limiter.take('alice').ok).toBe(true);
  });

  it('keeps at most maxClients buckets, dropping the least recently seen', () => {
    const now = 0;
    const limiter = new RateLimiter(1, 2, () => now, 3);
    for (const c of ['a', 'b', 'c']) limiter.take(c, 2);
    limiter.take('a', 0); // a seen again: b is now the oldest
    limiter.take('d');
    expect(limiter.clients).toBe(3);
    expect(limiter.take('a').ok).toBe(false); // still tracked, still empty
    expect(limiter.take('b').ok).toBe(true); // forgotten: a fresh bucket
  });
});
