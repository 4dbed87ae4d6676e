import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../gateway/http/http-error.ts';
import { statusForDeadLetter } from '../../../gateway/protocol/dead-letter-status.ts';
import { RequestTracker } from '../../../gateway/pipeline/request-tracker.ts';

interface P {
  request_id: string;
  shadow: boolean;
  model_version: string;
}

const served = (id: string, version = 'v1'): P => ({ request_id: id, shadow: false, model_version: version });
const shadow = (id: string): P => ({ request_id: id, shadow: true, model_version: 'v2' });

function tracker(over: { maxTracked?: number; ttlMs?: number; clock?: () => number } = {}) {
  return new RequestTracker<P, string>({ maxTracked: 10, ttlMs: 60_000, ...over });
}

describe('request tracker', () => {
  it('settles a request when every image has its served prediction, in input order', async () => {
    const t = tracker();
    t.track({ inferenceId: 'r', client: 'alice', requestIds: ['r.0', 'r.1'], meta: 'm' });
    const waiting = t.wait('r', 5_000);
    expect(t.wants('r.1')).toBe(true);
    expect(t.prediction(served('r.1', 'v2'))).toBe(false);
    expect(t.prediction(served('r.0'))).toBe(true);
    expect(await waiting).toEqual({ ok: true, predictions: [served('r.0'), served('r.1', 'v2')] });
    expect(t.wants('r.0')).toBe(false);
  });

  it('never lets a shadow copy, a duplicate or a stranger settle anything', () => {
    const t = tracker();
    t.track({ inferenceId: 'r', client: 'alice', requestIds: ['r'], meta: 'm' });
    expect(t.prediction(shadow('r'))).toBe(false);
    expect(t.prediction(served('other'))).toBe(false);
    expect(t.lookup('r', 'alice')?.state).toBe('pending');
    expect(t.prediction(served('r', 'v1'))).toBe(true);
    expect(t.prediction(served('r', 'v2'))).toBe(false);
    const found = t.lookup('r', 'alice');
    expect(found?.state === 'settled' && found.outcome.ok && found.outcome.predictions[0]?.model_version).toBe('v1');
  });

  it('fails the whole request on the served copy\'s dead letter, naming stage and class; a shadow\'s is ignored', async () => {
    const t = tracker();
    t.track({ inferenceId: 'r', client: 'alice', requestIds: ['r.0', 'r.1'], meta: 'm' });
    const facts = { requestId: 'r.1', stage: 'preprocess', errorClass: 'NotAnImage', message: 'corrupt header' };
    expect(t.deadLetter(facts, true)).toBe(false);
    expect(t.deadLetter(facts, false)).toBe(true);
    const outcome = await t.wait('r', 5_000);
    expect(outcome?.ok).toBe(false);
    const error = (outcome as { error: HttpError }).error;
    expect(error.status).toBe(422);
    expect(error.message).toBe('request r.1 was dead-lettered at stage preprocess (NotAnImage): corrupt header');
    expect(error.body()).toMatchObject({ id: 'r', request_id: 'r.1', stage: 'preprocess', error_class: 'NotAnImage' });
    expect(t.prediction(served('r.0'))).toBe(false);
  });

  it('times a wait out but keeps the request, so a later answer can be collected by its own client only', async () => {
    const t = tracker();
    t.track({ inferenceId: 'r', client: 'alice', requestIds: ['r'], meta: 'm' });
    expect(await t.wait('r', 5)).toBeUndefined();
    expect(t.lookup('r', 'alice')).toEqual({ state: 'pending', meta: 'm' });
    t.prediction(served('r'));
    expect(t.lookup('r', 'alice')).toEqual({ state: 'settled', meta: 'm', outcome: { ok: true, predictions: [served('r')] } });
    expect(t.lookup('r', 'bob')).toBeUndefined();
    expect(await t.wait('r', 5)).toEqual({ ok: true, predictions: [served('r')] });
  });

  it('drops settled results after the TTL, and requests never answered within it', () => {
    let now = 0;
    const t = tracker({ ttlMs: 1_000, clock: () => now });
    t.track({ inferenceId: 'a', client: 'alice', requestIds: ['a'], meta: 'm' });
    t.track({ inferenceId: 'b', client: 'alice', requestIds: ['b'], meta: 'm' });
    now = 900;
    t.prediction(served('a')); // settled at 900: kept until 1900
    now = 1_500;
    expect(t.sweep()).toBe(1);
    expect(t.lookup('b', 'alice')).toBeUndefined();
    expect(t.wants('b')).toBe(false);
    expect(t.lookup('a', 'alice')?.state).toBe('settled');
    now = 2_000;
    expect(t.lookup('a', 'alice')).toBeUndefined();
    t.sweep();
    expect(t.tracked).toBe(0);
  });

  it('makes room by dropping the oldest settled result, and answers 503 when every slot waits', () => {
    const t = tracker({ maxTracked: 2 });
    t.track({ inferenceId: 'a', client: 'alice', requestIds: ['a'], meta: 'm' });
    t.track({ inferenceId: 'b', client: 'alice', requestIds: ['b'], meta: 'm' });
    t.prediction(served('a'));
    t.track({ inferenceId: 'c', client: 'alice', requestIds: ['c'], meta: 'm' });
    expect(t.lookup('a', 'alice')).toBeUndefined();
    expect([t.tracked, t.waiting]).toEqual([2, 2]);
    let status = 0;
    try {
      t.track({ inferenceId: 'd', client: 'alice', requestIds: ['d'], meta: 'm' });
    } catch (err) {
      status = (err as HttpError).status;
    }
    expect(status).toBe(503);
  });

  it('forgets a request that was never published', () => {
    const t = tracker();
    t.track({ inferenceId: 'r', client: 'alice', requestIds: ['r.0', 'r.1'], meta: 'm' });
    t.forget('r');
    expect([t.tracked, t.wants('r.0'), t.prediction(served('r.1'))]).toEqual([0, false, false]);
  });
});

describe('dead letters as HTTP statuses', () => {
  it.each([
    ['NotAnImage', 422], ['TooManyPixels', 422], ['TooLarge', 422], ['NotFound', 422], ['AccessDenied', 422],
    ['ForbiddenUri', 422], ['UnsupportedUri', 422], ['UnknownVersion', 404], ['Timeout', 502], ['Throttled', 502],
    ['ConnectionError', 502], ['InferenceError', 500], ['SchemaError', 500], ['InternalError', 500],
  ])('%s is %i', (errorClass, status) => {
    expect(statusForDeadLetter(errorClass)).toBe(status);
  });
});
