import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../gateway/http/http-error.ts';
import { deadLetterError, genericReason, statusForDeadLetter } from '../../../gateway/protocol/dead-letter-status.ts';
import { RequestTracker, type TrackerOptions } from '../../../gateway/pipeline/request-tracker.ts';

interface P {
  request_id: string;
  shadow: boolean;
  model_version: string;
}

const served = (id: string, version = 'v1'): P => ({ request_id: id, shadow: false, model_version: version });
const shadow = (id: string): P => ({ request_id: id, shadow: true, model_version: 'v2' });

function tracker(over: Partial<TrackerOptions<P, P>> = {}) {
  return new RequestTracker<P, string, P>({ maxTracked: 10, maxTrackedPerClient: 10, ttlMs: 60_000, keep: (p) => p, ...over });
}

function refusedTrack(t: RequestTracker<P, string, P>, inferenceId: string, client: string): HttpError | undefined {
  try {
    t.track({ inferenceId, client, requestIds: [inferenceId], meta: 'm' });
  } catch (err) {
    return err as HttpError;
  }
  return undefined;
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
    const seen: unknown[] = [];
    const t = tracker({ onDeadLetter: (facts, request) => seen.push([facts.message, request]) });
    t.track({ inferenceId: 'r', client: 'alice', requestIds: ['r.0', 'r.1'], meta: 'm' });
    const facts = { requestId: 'r.1', stage: 'preprocess', errorClass: 'NotAnImage', message: 'corrupt header' };
    expect(t.deadLetter(facts, true)).toBe(false);
    expect(t.deadLetter(facts, false)).toBe(true);
    const outcome = await t.wait('r', 5_000);
    expect(outcome?.ok).toBe(false);
    const error = (outcome as { error: HttpError }).error;
    expect(error.status).toBe(422);
    expect(error.message).toBe('request r.1 was dead-lettered at stage preprocess (NotAnImage): the image could not be decoded (preprocess/NotAnImage); the full reason is on the dead-letter topic under this request id');
    expect(error.body()).toMatchObject({ id: 'r', request_id: 'r.1', stage: 'preprocess', error_class: 'NotAnImage' });
    // The full message goes to the log through the hook, once, for the served copy only.
    expect(seen).toEqual([['corrupt header', { inferenceId: 'r', client: 'alice' }]]);
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

  it('limits each client\'s tracked requests on its own: 429 naming the setting for that client, the others go on', () => {
    const t = tracker({ maxTracked: 10, maxTrackedPerClient: 3 });
    for (const id of ['m1', 'm2', 'm3']) t.track({ inferenceId: id, client: 'mallory', requestIds: [id], meta: 'm' });
    const err = refusedTrack(t, 'm4', 'mallory');
    expect([err?.status, err?.headers['retry-after']]).toEqual([429, '1']);
    expect(err?.message).toMatch(/client mallory has 3 requests waiting .*its limit \(GATEWAY_MAX_TRACKED_PER_CLIENT\)/);
    for (const id of ['a1', 'a2', 'a3']) expect(refusedTrack(t, id, 'alice')).toBeUndefined();
    expect([t.trackedFor('mallory'), t.trackedFor('alice'), t.tracked]).toEqual([3, 3, 6]);
  });

  it('makes room for a client at its quota from its own uncollected results, never from another client\'s', () => {
    const t = tracker({ maxTracked: 10, maxTrackedPerClient: 2 });
    t.track({ inferenceId: 'a1', client: 'alice', requestIds: ['a1'], meta: 'm' });
    t.prediction(served('a1'));
    t.track({ inferenceId: 'm1', client: 'mallory', requestIds: ['m1'], meta: 'm' });
    t.track({ inferenceId: 'm2', client: 'mallory', requestIds: ['m2'], meta: 'm' });
    t.prediction(served('m1'));
    expect(refusedTrack(t, 'm3', 'mallory')).toBeUndefined();
    expect(t.lookup('m1', 'mallory')).toBeUndefined();
    expect(t.lookup('a1', 'alice')?.state).toBe('settled');
    expect(refusedTrack(t, 'm4', 'mallory')?.status).toBe(429);
    expect(t.lookup('a1', 'alice')?.state).toBe('settled');
  });

  it('counts a client\'s requests down as they are collected, swept or forgotten', () => {
    let now = 0;
    const t = tracker({ maxTrackedPerClient: 2, ttlMs: 1_000, clock: () => now });
    t.track({ inferenceId: 'a', client: 'alice', requestIds: ['a'], meta: 'm' });
    t.track({ inferenceId: 'b', client: 'alice', requestIds: ['b'], meta: 'm' });
    t.forget('a');
    now = 2_000;
    t.sweep();
    expect(t.trackedFor('alice')).toBe(0);
    for (const id of ['c', 'd']) expect(refusedTrack(t, id, 'alice')).toBeUndefined();
  });

  it('keeps of a prediction only what `keep` returns', async () => {
    const t = new RequestTracker<P, string, string>({ maxTracked: 1, maxTrackedPerClient: 1, ttlMs: 1_000, keep: (p) => p.model_version });
    t.track({ inferenceId: 'r', client: 'alice', requestIds: ['r'], meta: 'm' });
    t.prediction(served('r', 'v3'));
    expect(await t.wait('r', 5)).toEqual({ ok: true, predictions: ['v3'] });
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

  it('tell the client the stage and class in general words, never the dead letter\'s own message', () => {
    const leaks = [
      ['fetch', 'ConnectionError', 'Refused db.internal (10.0.3.7)', /db\.internal|10\.0\.3\.7/],
      ['fetch', 'TooLarge', 'object s3://secrets/payroll.png is 48213 bytes, over 40000', /secrets|48213/],
      ['fetch', 'AccessDenied', 'S3 GetObject: Access Denied (RequestId 17A3)', /GetObject|17A3/],
    ] as const;
    for (const [stage, errorClass, message, leak] of leaks) {
      const err = deadLetterError({ requestId: 'r', stage, errorClass, message }, 'i');
      expect(JSON.stringify(err.body())).not.toMatch(leak);
      expect(err.message).toContain(`the image could not be fetched (fetch/${errorClass})`);
    }
    expect(genericReason('preprocess', 'NotAnImage')).toBe('the image could not be decoded (preprocess/NotAnImage)');
    expect(genericReason('somewhere-new', 'Odd')).toBe('the request failed in the pipeline (somewhere-new/Odd)');
  });
});
