/**
 * The drift monitor's snapshot on its compacted state topic: the analytics state together with the next offset
 * to consume of every predictions/feedback partition, as ONE gzipped JSON body, so state and position can never
 * disagree. Pure (no Kafka here): snapshot ⇄ records.
 *
 * Size: the feedback-join buffer costs ~250 bytes per pending request, so a full buffer (100,000 requests) is
 * ~25 MB of JSON, a few MB gzipped. Kafka caps a record batch at ~1 MB by default (message.max.bytes, and many
 * managed clusters do not allow raising it), so rather than raising topic and client limits the body is cut into
 * chunks of at most CHUNK_BYTES, one record each, and a small commit record written after them names the
 * complete set. Chunks alternate between two slots: a new snapshot is written into the slot the current commit
 * does not point to, so a crash half-way through writing leaves the previous snapshot intact, before and after
 * compaction. A reader takes only a set whose chunk count and sha256 match its commit.
 *
 * Keys (latest per key is what compaction keeps): `<id>` for the commit, `<id>/<slot>/<index>` for chunks.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { DriftStateJSON } from '../analytics/drift-state.ts';

/** Below the default 1 MiB message.max.bytes with room for the record and batch overhead. */
export const CHUNK_BYTES = 900_000;
export const SNAPSHOT_FORMAT = 1;

export type Slot = 'a' | 'b';

/** topic → partition → the next offset to consume (decimal string, as kafkajs gives offsets). */
export type Positions = Record<string, Record<string, string>>;

export interface Snapshot {
  format: typeof SNAPSHOT_FORMAT;
  monitor_id: string;
  created_at: number;
  positions: Positions;
  state: DriftStateJSON;
}

export interface SnapshotCommit {
  format: typeof SNAPSHOT_FORMAT;
  snapshot_id: string;
  slot: Slot;
  chunks: number;
  /** Gzipped body length and digest, so a set mixed from two snapshots is never taken. */
  bytes: number;
  sha256: string;
  created_at: number;
}

export interface SnapshotRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export const SNAPSHOT_ID_HEADER = 'x-snapshot-id';

export function otherSlot(slot: Slot | undefined): Slot {
  return slot === 'a' ? 'b' : 'a';
}

export function chunkKey(monitorId: string, slot: Slot, index: number): string {
  return `${monitorId}/${slot}/${index}`;
}

/** The chunk records to write first, in order, then the commit record (written only after every chunk is acknowledged). */
export async function encodeSnapshot(
  snapshot: Snapshot,
  snapshotId: string,
  slot: Slot,
  chunkBytes = CHUNK_BYTES,
): Promise<{ chunks: SnapshotRecord[]; commit: SnapshotRecord; bytes: number; jsonBytes: number }> {
  const json = Buffer.from(JSON.stringify(snapshot));
  const body = await promisify(gzip)(json);
  const count = Math.max(1, Math.ceil(body.length / chunkBytes));
  const chunks = Array.from({ length: count }, (_, i) => ({
    key: chunkKey(snapshot.monitor_id, slot, i),
    value: body.subarray(i * chunkBytes, (i + 1) * chunkBytes),
    headers: { [SNAPSHOT_ID_HEADER]: snapshotId },
  }));
  const commit: SnapshotCommit = {
    format: SNAPSHOT_FORMAT,
    snapshot_id: snapshotId,
    slot,
    chunks: count,
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    created_at: snapshot.created_at,
  };
  return {
    chunks,
    commit: { key: snapshot.monitor_id, value: Buffer.from(JSON.stringify(commit)), headers: {} },
    bytes: body.length,
    jsonBytes: json.length,
  };
}

/** The latest value and headers per key, as read from the state topic (null: a tombstone). */
export type LatestByKey = Map<string, { value: Buffer | null; headers: Record<string, string> }>;

export interface DecodedSnapshot {
  snapshot: Snapshot;
  commit: SnapshotCommit;
}

/**
 * The monitor's latest complete snapshot, or null when it has none (first start, or reset with a tombstone).
 * Throws, saying what to do, when a commit exists but its chunks do not form the body it names: starting from
 * empty state then would count every record again.
 */
export async function decodeSnapshot(latest: LatestByKey, monitorId: string): Promise<DecodedSnapshot | null> {
  const commitValue = latest.get(monitorId)?.value;
  if (!commitValue) return null;
  const fail = (why: string): never => {
    throw new Error(
      `drift-monitor snapshot "${monitorId}" on the state topic is unusable: ${why}. To start from empty state (every ` +
        `retained record is then counted again), write a tombstone for key "${monitorId}" or use another DRIFT_MONITOR_ID.`,
    );
  };
  let commit: SnapshotCommit;
  try {
    commit = JSON.parse(commitValue.toString('utf8')) as SnapshotCommit;
  } catch {
    return fail('its commit record is not JSON');
  }
  if (commit.format !== SNAPSHOT_FORMAT) fail(`commit format ${String(commit.format)} is not ${SNAPSHOT_FORMAT}`);
  const parts: Buffer[] = [];
  for (let i = 0; i < commit.chunks; i++) {
    const chunk = latest.get(chunkKey(monitorId, commit.slot, i));
    if (!chunk?.value || chunk.headers[SNAPSHOT_ID_HEADER] !== commit.snapshot_id) {
      fail(`chunk ${i} of ${commit.chunks} of snapshot ${commit.snapshot_id} is missing`);
    }
    parts.push(chunk!.value!);
  }
  const body = Buffer.concat(parts);
  const digest = createHash('sha256').update(body).digest('hex');
  if (body.length !== commit.bytes || digest !== commit.sha256) fail(`its chunks do not match the commit's length and sha256`);
  const snapshot = JSON.parse((await promisify(gunzip)(body)).toString('utf8')) as Snapshot;
  if (snapshot.format !== SNAPSHOT_FORMAT || snapshot.monitor_id !== monitorId) {
    fail(`the body is format ${String(snapshot.format)} of monitor ${String(snapshot.monitor_id)}`);
  }
  return { snapshot, commit };
}
