/**
 * kafkajs 2.2.4's fetchers when a node cannot be reached, as patches/kafkajs+2.2.4.patch leaves them. A node that shut
 * down (or crashed) stays in a consumer's metadata until a refresh drops it. Unpatched, one failed fetch from it ended
 * every fetcher, waited for the batches in flight on the healthy nodes, and left the restart to the consumer's
 * retrier: in the cluster suite's rolling restart the router's consumer went through that 19 times and, its retries
 * spent, crashed and rejoined under a new member id, which held its group until the old id's session expired. Now
 * the unreachable node's fetcher alone waits and fetches again (the failed fetch refreshed the metadata), and gives up
 * as before only after 20 tries in a row. Driven through kafkajs' own FetchManager and fetcher; both tests fail on the
 * unpatched file.
 */
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { logger, type Logger } from './silent-logger.ts';

const require = createRequire(import.meta.url);

const { KafkaJSConnectionError } = require('kafkajs/src/errors.js') as { KafkaJSConnectionError: new (m: string) => Error };

interface Batch { topic: string; partition: number }
const createFetchManager = require('kafkajs/src/consumer/fetchManager.js') as (o: {
  logger: Logger; getNodeIds: () => number[]; fetch: (nodeId: number) => Promise<Batch[]>;
  handler: (batch: Batch) => Promise<void>; concurrency: number;
}) => { start(): Promise<void>; stop(): Promise<void> };

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('kafkajs fetchers and an unreachable node (patched)', () => {
  it("keeps the healthy nodes' fetchers running while one node refuses connections, then fetches from it again", async () => {
    const handled: string[] = [];
    let refusals = 0;
    const manager = createFetchManager({
      logger, concurrency: 1, getNodeIds: () => [1, 3],
      fetch: async (nodeId) => {
        await tick();
        if (nodeId === 3 && refusals < 3) {
          refusals++;
          throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19096');
        }
        return [{ topic: 'requests', partition: nodeId }];
      },
      handler: async (batch) => void handled.push(`${batch.topic}/${batch.partition}`),
    });
    let failed: unknown;
    const running = manager.start().catch((err: unknown) => (failed = err));
    await new Promise((r) => setTimeout(r, 900));
    await manager.stop();
    await running;
    expect(failed).toBeUndefined();
    expect(refusals).toBe(3);
    // Node 1's fetcher never stopped: it kept handing over batches while node 3 was refused.
    expect(handled.filter((b) => b === 'requests/1').length).toBeGreaterThan(20);
    expect(handled).toContain('requests/3');
  });

  it('gives up as before when the node stays unreachable for 20 fetches in a row', async () => {
    let refusals = 0;
    const manager = createFetchManager({
      logger, concurrency: 1, getNodeIds: () => [3],
      fetch: async () => {
        refusals++;
        throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19096');
      },
      handler: async () => {},
    });
    vi.useFakeTimers();
    try {
      const outcome = manager.start().then(() => 'resolved', (err: Error) => err.message);
      // The backoff grows by 100 ms a try up to 1 s: 14.5 s of waits before the 20th refusal.
      await vi.advanceTimersByTimeAsync(20_000);
      expect(await outcome).toMatch(/ECONNREFUSED/);
      expect(refusals).toBe(20);
    } finally {
      vi.useRealTimers();
    }
  });
});
