/**
 * Partitions added to the predictions topic and then the broker SIGKILLed and restarted, while requests are in
 * flight through the gateway: every consumer group is rejoined after the restart. Every request the gateway
 * accepted gets its answer, the right one, and the drift monitor counts each prediction once without re-reading
 * the topic. Needs this checkout's local stack (`npm run stack`); run it under the exclusive broker lock.
 */
import { afterAll, beforeAll, it } from 'vitest';
import { killLocalServer, localStackStatus, startLocalStack } from '../../stack/local-stack.ts';
import { expectEveryAnswer, RejoinScenario } from '../e2e/rejoin-scenario.ts';

const COUNT = Number(process.env.REJOIN_REQUESTS ?? 400);
const log = (line: string): void => void process.stderr.write(`[rejoin-faults ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
const s = new RejoinScenario('rejoin-broker-restart');
let localStack = false;

beforeAll(async () => {
  localStack = (await localStackStatus({ log })).every((st) => st.state === 'running');
});

afterAll(async () => {
  await s.close();
});

it(`answers every gateway request it accepted (${COUNT} sent before and after the disturbance) across added partitions and a broker restart`, async (ctx) => {
  if (!localStack) ctx.skip(); // The broker to restart must be this checkout's.
  await s.start();
  const f = await s.run(Math.round(COUNT * 0.3), Math.round(COUNT * 0.7), 20, async () => {
    await killLocalServer('kafka', { log });
    log('SIGKILLed the Kafka broker');
    await startLocalStack({ only: ['kafka'], log });
    log('Kafka broker restarted');
  });
  process.stdout.write(`${JSON.stringify({ test: 'rejoin-broker-restart', ...f })}\n`);
  expectEveryAnswer(f);
}, 900_000);
