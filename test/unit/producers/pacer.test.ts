import { describe, expect, it } from 'vitest';
import { Pacer } from '../../../producers/pacer.ts';
import { planRequest } from '../../../producers/publish-images.ts';

describe('Pacer', () => {
  it('lets the first batch go at once and spaces the rest to the rate', async () => {
    let now = 1_000;
    const waits: number[] = [];
    const pacer = new Pacer(100, () => now, async (ms) => { waits.push(ms); now += ms; });
    await pacer.next(10);
    await pacer.next(10);
    await pacer.next(10);
    expect(waits).toEqual([100, 100]);
  });

  it('does not wait when behind schedule or unpaced', async () => {
    let now = 0;
    const pacer = new Pacer(10, () => now, async () => { throw new Error('should not sleep'); });
    await pacer.next(1);
    now = 10_000;
    await pacer.next(1);
    expect(new Pacer(0).delayFor()).toBe(0);
  });
});

describe('planRequest', () => {
  it('cycles URIs and spreads stickiness keys over users', () => {
    const plan = { uris: ['a', 'b', 'c'], count: 10, rate: 0, batchSize: 5, users: 2, metadata: { k: 'v' } };
    const r = planRequest(plan, 4, 99);
    expect(r).toMatchObject({ uri: 'b', stickiness_key: 'user-0', submitted_at: 99, metadata: { k: 'v' }, source: 'producer-cli' });
    expect(planRequest({ ...plan, users: 0 }, 1, 0).stickiness_key).toBeNull();
  });
});
