/**
 * The snapshot on the real broker's compacted state topic: a body several times the broker's default record limit
 * goes out in chunks and comes back whole, and a crash half-way through writing the next snapshot leaves the
 * previous one readable.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { createDriftState, driftStateToJSON } from '../../../drift-monitor/analytics/drift-state.ts';
import { encodeSnapshot, otherSlot, SNAPSHOT_FORMAT, type Snapshot } from '../../../drift-monitor/service/snapshot-codec.ts';
import { SnapshotStore } from '../../../drift-monitor/service/snapshot-store.ts';
import { createLogger } from '../../../platform/logger.ts';
import { PipelineHarness } from '../../../stack/pipeline-harness.ts';

const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
});

function snapshot(paddingBytes: number, n: number): Snapshot {
  // Random bytes do not compress, so the gzipped body is about as large as the padding.
  const state = { ...driftStateToJSON(createDriftState()), padding: randomBytes(paddingBytes).toString('base64'), n };
  return { format: SNAPSHOT_FORMAT, monitor_id: 'big', created_at: Date.now(), positions: { 'x.predictions': { '0': String(n) } }, state };
}

it('writes a multi-megabyte snapshot in chunks and keeps the last complete one through an interrupted write', async () => {
  await h.connect();
  const { kafka, admin, producer, topics } = h.clients;
  const options = { kafka, admin, producer, topic: topics.driftState, monitorId: 'big', groupPrefix: h.prefix, logger: createLogger('snapshot-test', 'warn') };
  const writer = new SnapshotStore(options);
  expect(await writer.readLatest()).toBeNull();

  const first = snapshot(2_400_000, 1);
  const written = await writer.write(first);
  expect(written.chunks).toBeGreaterThanOrEqual(3);

  // The next snapshot goes to the other slot; the process dies after its first chunk, before the commit.
  const second = await encodeSnapshot(snapshot(2_400_000, 2), 'interrupted', otherSlot('a'));
  await producer.send({ topic: topics.driftState, acks: -1, messages: [second.chunks[0]!] });

  const restored = await new SnapshotStore(options).readLatest();
  process.stdout.write(`${JSON.stringify({ test: 'snapshot-store', gzip_bytes: written.bytes, json_bytes: written.jsonBytes, chunks: written.chunks, restored: restored?.commit.snapshot_id })}\n`);
  expect(restored?.snapshot.positions).toEqual(first.positions);
  expect(JSON.stringify(restored?.snapshot.state)).toBe(JSON.stringify(first.state));

  // A later complete write is taken over the first.
  const reader = new SnapshotStore(options);
  await reader.readLatest();
  const third = snapshot(10_000, 3);
  await reader.write(third);
  expect((await new SnapshotStore(options).readLatest())?.snapshot.positions).toEqual(third.positions);
}, 120_000);
