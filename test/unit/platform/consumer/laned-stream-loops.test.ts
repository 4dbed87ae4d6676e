import { describe, expect, it, vi } from 'vitest';
import type { StreamLoopOptions } from '../../../../platform/consumer/stream-loop.ts';

const started: StreamLoopOptions[] = [];
const stopped: string[] = [];
vi.mock('../../../../platform/consumer/stream-loop.ts', () => ({
  startStreamLoop: async (o: StreamLoopOptions) => {
    started.push(o);
    return { ready: () => true, stop: async () => { stopped.push(o.topics[0] as string); } };
  },
}));

const { startLanedStreamLoops } = await import('../../../../platform/consumer/laned-stream-loops.ts');

describe('startLanedStreamLoops', () => {
  it('starts a loop per lane in the same group, the high lane on a kafkajs client of its own, and stops both', async () => {
    const kafka = { name: 'shared' };
    const ownKafka = { name: 'high lane' };
    const logger = { child: () => logger };
    const loops = await startLanedStreamLoops({
      kafka, highLaneKafka: () => ownKafka, groupId: 'g', topics: { normal: 'images.requests.v1', high: 'images.requests.v1.high' },
      lanes: { normalMinShare: 0.2, normalDuty: 0.5 }, maxBatchSize: 32, logger,
    } as never);
    const byLane = Object.fromEntries(started.map((o) => [o.lane?.lane, o]));
    expect(byLane.normal?.topics).toEqual(['images.requests.v1']);
    expect(byLane.high?.topics).toEqual(['images.requests.v1.high']);
    expect(byLane.normal?.groupId).toBe('g');
    expect(byLane.high?.groupId).toBe('g');
    // kafkajs shares a group's committed offsets between the consumers of one client; a rebalance of one lane would
    // delete the other lane's entries.
    expect(byLane.normal?.kafka).toBe(kafka);
    expect(byLane.high?.kafka).toBe(ownKafka);
    expect(byLane.normal?.lane?.scheduler).toBe(byLane.high?.lane?.scheduler);
    expect(loops.ready()).toBe(true);
    await loops.stop();
    expect(stopped.sort()).toEqual(['images.requests.v1', 'images.requests.v1.high']);
  });
});
