import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { driftStateToJSON } from '../../../../drift-monitor/analytics/drift-state.ts';
import {
  chunkKey,
  decodeSnapshot,
  encodeSnapshot,
  otherSlot,
  SNAPSHOT_FORMAT,
  type LatestByKey,
  type Snapshot,
  type SnapshotRecord,
} from '../../../../drift-monitor/service/snapshot-codec.ts';
import { populatedDriftState } from '../fixtures.ts';

function snapshot(extra: Record<string, unknown> = {}): Snapshot {
  return {
    format: SNAPSHOT_FORMAT,
    monitor_id: 'm1',
    created_at: 1_700_000_000_000,
    positions: { 'p.predictions': { '0': '12', '3': '7' }, 'p.feedback': { '1': '40' } },
    state: { ...driftStateToJSON(populatedDriftState()), ...extra },
  };
}

/** What a reader of the compacted topic keeps: the latest record per key, in write order. */
function latestOf(records: SnapshotRecord[]): LatestByKey {
  const latest: LatestByKey = new Map();
  for (const r of records) latest.set(r.key, { value: r.value, headers: r.headers });
  return latest;
}

describe('drift-monitor snapshot records', () => {
  it('round-trips state and positions through one chunk and a commit', async () => {
    const original = snapshot();
    const { chunks, commit } = await encodeSnapshot(original, 's1', 'a');
    expect(chunks.map((c) => c.key)).toEqual(['m1/a/0']);
    expect(commit.key).toBe('m1');
    const decoded = await decodeSnapshot(latestOf([...chunks, commit]), 'm1');
    expect(JSON.stringify(decoded?.snapshot)).toBe(JSON.stringify(original));
    expect(decoded?.commit).toMatchObject({ snapshot_id: 's1', slot: 'a', chunks: 1 });
  });

  it('splits a large body into chunks under the limit and reassembles them', async () => {
    // Random bytes do not compress: about 3 chunks of 1,000 bytes.
    const original = snapshot({ padding: randomBytes(2_000).toString('base64') });
    const { chunks, commit, bytes } = await encodeSnapshot(original, 's2', 'b', 1_000);
    expect(chunks.length).toBe(Math.ceil(bytes / 1_000));
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.value.length <= 1_000)).toBe(true);
    const decoded = await decodeSnapshot(latestOf([...chunks, commit]), 'm1');
    expect(JSON.stringify(decoded?.snapshot)).toBe(JSON.stringify(original));
  });

  it('keeps the previous snapshot when a crash interrupts writing the next one into the other slot', async () => {
    const first = await encodeSnapshot(snapshot({ n: 1 }), 's1', 'a', 1_000);
    const slot = otherSlot('a');
    const second = await encodeSnapshot(snapshot({ n: 2, padding: randomBytes(3_000).toString('base64') }), 's2', slot, 1_000);
    // Crash after two of the second snapshot's chunks: no commit for it.
    const written = [...first.chunks, first.commit, ...second.chunks.slice(0, 2)];
    const decoded = await decodeSnapshot(latestOf(written), 'm1');
    expect(decoded?.commit.snapshot_id).toBe('s1');
    expect((decoded?.snapshot.state as unknown as { n: number }).n).toBe(1);
    // Once committed, the second one is taken.
    const after = await decodeSnapshot(latestOf([...written, ...second.chunks.slice(2), second.commit]), 'm1');
    expect((after?.snapshot.state as unknown as { n: number }).n).toBe(2);
  });

  it('has no snapshot before the first commit or after a tombstone, and ignores other monitors', async () => {
    const { chunks, commit } = await encodeSnapshot(snapshot(), 's1', 'a');
    expect(await decodeSnapshot(latestOf(chunks), 'm1')).toBeNull();
    expect(await decodeSnapshot(latestOf([...chunks, commit]), 'other')).toBeNull();
    const latest = latestOf([...chunks, commit]);
    latest.set('m1', { value: null, headers: {} });
    expect(await decodeSnapshot(latest, 'm1')).toBeNull();
  });

  it('refuses a commit whose chunks are missing or altered, saying how to start over', async () => {
    const { chunks, commit } = await encodeSnapshot(snapshot({ padding: randomBytes(2_000).toString('base64') }), 's1', 'a', 1_000);
    const missing = latestOf([...chunks, commit]);
    missing.delete(chunkKey('m1', 'a', 1));
    await expect(decodeSnapshot(missing, 'm1')).rejects.toThrow(/chunk 1 of \d+ of snapshot s1 is missing.*tombstone for key "m1"/s);
    const altered = latestOf([...chunks, commit]);
    const chunk = altered.get(chunkKey('m1', 'a', 0))!;
    altered.set(chunkKey('m1', 'a', 0), { ...chunk, value: Buffer.from(chunk.value!).fill(1, 0, 10) });
    await expect(decodeSnapshot(altered, 'm1')).rejects.toThrow(/do not match the commit's length and sha256/);
  });
});
