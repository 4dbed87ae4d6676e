import { describe, expect, it } from 'vitest';
import { imageRequests, type Submission } from '../../../gateway/pipeline/submitter.ts';
import { genericReason, statusForDeadLetter } from '../../../gateway/protocol/dead-letter-status.ts';

const submission: Submission = {
  requestIds: ['a.0', 'a.1'], input: { kind: 'uri', uris: ['s3://images/x.png', 's3://images/y.png'] }, imageTypes: [],
  model: 'fashion-mnist', pinnedVersion: null, stickinessKey: null, client: 'alice',
};

describe('gateway deadlines', () => {
  it('gives each request the publication time plus how long its caller waits as its deadline', () => {
    const requests = imageRequests({ ...submission, waitMs: 30_000 }, ['s3://images/x.png', 's3://images/y.png'], 1_000);
    expect(requests.map((r) => [r.request_id, r.submitted_at, r.deadline])).toEqual([['a.0', 1_000, 31_000], ['a.1', 1_000, 31_000]]);
    expect(imageRequests(submission, ['s3://images/x.png', 's3://images/y.png'], 1_000)[0]?.deadline).toBeNull();
  });

  it('answers a request dead-lettered as Expired with 504, saying it was skipped at its deadline', () => {
    expect(statusForDeadLetter('Expired')).toBe(504);
    expect(genericReason('inference', 'Expired')).toBe('the request was still queued at its deadline and was skipped (inference/Expired)');
    expect(genericReason('route', 'Expired')).toMatch(/deadline.*\(route\/Expired\)/);
  });
});
