/**
 * Partitions added to the predictions topic while requests are in flight through the gateway: the gateway's
 * result listener and the drift monitor rejoin their groups when they see the new partitions. Every accepted
 * request gets its answer, the right one, and the drift monitor counts each prediction once without re-reading
 * the topic. (The same with a broker restart on top: test/faults/rejoin-broker-restart.test.ts.)
 */
import { afterAll, it } from 'vitest';
import { expectEveryAnswer, RejoinScenario } from './rejoin-scenario.ts';

const COUNT = Number(process.env.REJOIN_REQUESTS ?? 400);
const s = new RejoinScenario('rejoin-partitions');

afterAll(async () => {
  await s.close();
});

it(`answers every gateway request (${COUNT} sent before and after, more during) while the predictions topic goes from 4 to 8 partitions`, async () => {
  await s.start();
  // A new consumer process produces to all eight partitions at once (a running one would after its metadata refresh).
  const f = await s.run(Math.round(COUNT * 0.3), Math.round(COUNT * 0.7), 20, () => s.restartInference());
  process.stdout.write(`${JSON.stringify({ test: 'rejoin', ...f })}\n`);
  expectEveryAnswer(f);
}, 600_000);
