/**
 * Priority lanes for a version's consumer (README "Priority lanes"): one stream loop per lane, both in the
 * version's consumer group. Each loop has its own kafkajs consumer and so its own fetch loop: a high request is
 * fetched while the normal lane is busy, instead of after every normal batch of the last fetch has been served and
 * committed (what one consumer for both lanes cost: a p95 of 5-9× idle behind a backlog). The loops take turns
 * through one LaneScheduler; a subscription-aware assignor gives each loop only its lane's partitions.
 */
import type { Kafka } from 'kafkajs';
import { LaneScheduler, type LaneSettings } from './lane-scheduler.ts';
import { startStreamLoop, type StreamLoop, type StreamLoopOptions } from './stream-loop.ts';
import { LANES, type Lane } from '../topics.ts';

/** The normal lane's minimum share is kept over windows of this many full chunks (lane-scheduler.ts). */
export const LANE_WINDOW_CHUNKS = 10;

export interface LanedStreamLoopsOptions extends Omit<StreamLoopOptions, 'topics' | 'lane'> {
  /** Each lane's topic. */
  topics: Record<Lane, string>;
  lanes: LaneSettings;
  /**
   * A second kafkajs client for the high lane's consumer. kafkajs keeps the committed offsets of a group in one map
   * shared by every consumer of a client, and a consumer's rebalance deletes the map's other topics: two lanes of one
   * group on one client crashed the other lane's next fetch ("Cannot read properties of undefined (reading '0')").
   */
  highLaneKafka: () => Kafka;
}

export interface LanedStreamLoops {
  /** Every lane's loop is ready. */
  ready(): boolean;
  /** Stops both loops (each finishes its chunk in flight). */
  stop(): Promise<void>;
}

export async function startLanedStreamLoops(o: LanedStreamLoopsOptions): Promise<LanedStreamLoops> {
  const scheduler = new LaneScheduler({ ...o.lanes, windowRecords: LANE_WINDOW_CHUNKS * o.maxBatchSize });
  const start = (lane: Lane): Promise<StreamLoop> => startStreamLoop({
    ...o, kafka: lane === 'high' ? o.highLaneKafka() : o.kafka, topics: [o.topics[lane]], lane: { lane, scheduler }, logger: o.logger.child({ lane }),
  });
  // Both at once, so that they usually join the group in the same rebalance instead of one after the other.
  const [high, normal] = await Promise.allSettled([start('high'), start('normal')]);
  if (high.status === 'rejected' || normal.status === 'rejected') {
    await Promise.all([high, normal].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw high.status === 'rejected' ? high.reason : (normal as PromiseRejectedResult).reason;
  }
  const loops: Record<Lane, StreamLoop> = { high: high.value, normal: normal.value };
  return {
    ready: () => LANES.every((lane) => loops[lane].ready()),
    async stop() {
      // A normal chunk waiting for its turn goes on to find its loop stopping.
      scheduler.release();
      await Promise.all(LANES.map((lane) => loops[lane].stop()));
    },
  };
}
