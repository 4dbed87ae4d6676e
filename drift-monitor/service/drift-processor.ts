/**
 * The analytics state together with the position it reflects: for every predictions/feedback partition, the next
 * offset not yet counted. Records are applied and positions advanced in one synchronous step, so a snapshot taken
 * between steps holds a state that includes exactly the records before its positions. After a restart the
 * consumer resumes at those positions, and anything delivered below them is skipped: no record counted twice,
 * none lost. No I/O here.
 */
import type { KafkaMessage } from 'kafkajs';
import type { FailedRecord } from '../../platform/dead-letter.ts';
import { PipelineError } from '../../platform/errors.ts';
import { HEADER, headersToStrings, headerString } from '../../platform/headers.ts';
import { TRACEPARENT } from '../../platform/trace.ts';
import { recordPipelineFailure, startProcessSpan } from '../../platform/tracing.ts';
import {
  applyFeedback,
  applyPrediction,
  closeDue,
  createDriftState,
  driftStateFromJSON,
  driftStateToJSON,
  type DriftContext,
  type DriftState,
} from '../analytics/drift-state.ts';
import { InvalidEventError, type FeedbackInput, type PredictionInput } from '../analytics/events.ts';
import { streamIdOf, type StreamId } from '../analytics/stream-id.ts';
import type { WindowSummary } from '../analytics/window-summary.ts';
import { SNAPSHOT_FORMAT, type Positions, type Snapshot } from './snapshot-codec.ts';
import type { PartitionEnds } from '../../platform/topic-ends.ts';

export interface RecordTopics {
  predictions: string;
  feedback: string;
}

export type FeedbackOutcome = 'joined' | 'waiting' | 'duplicate';

/** What one chunk did, for publishing and metrics. */
export interface ChunkResult {
  closed: WindowSummary[];
  failed: FailedRecord[];
  predictions: { stream: StreamId; duplicate: boolean }[];
  feedback: FeedbackOutcome[];
}

export interface DecodedRecord {
  message: KafkaMessage;
  value: unknown;
}

export class DriftProcessor {
  readonly state: DriftState;
  readonly positions: Positions;
  /** True when something changed since the last snapshot. */
  dirty = false;

  /**
   * `consumerGroup` is named on the process spans (messaging.consumer.group.name): the group whose offsets hold the
   * counted positions, not the per-instance group the consumer joins to be assigned partitions.
   */
  constructor(private readonly ctx: DriftContext, private readonly topics: RecordTopics, restored?: Snapshot, private readonly consumerGroup?: string) {
    this.state = restored ? driftStateFromJSON(restored.state) : createDriftState();
    this.positions = restored ? structuredClone(restored.positions) : {};
  }

  /** The next offset to count on a partition; undefined before its first record. */
  position(topic: string, partition: number): bigint | undefined {
    const next = this.positions[topic]?.[String(partition)];
    return next === undefined ? undefined : BigInt(next);
  }

  /** The messages not yet counted: a redelivery below the position (after a seek race or a retry) is dropped. */
  unseen(topic: string, partition: number, messages: KafkaMessage[]): KafkaMessage[] {
    const next = this.position(topic, partition);
    return next === undefined ? messages : messages.filter((m) => BigInt(m.offset) >= next);
  }

  private advance(topic: string, partition: number, offset: string): void {
    const next = BigInt(offset) + 1n;
    const current = this.position(topic, partition);
    if (current === undefined || next > current) (this.positions[topic] ??= {})[String(partition)] = next.toString();
  }

  /**
   * Counts a chunk of one partition (decoded records and the ones that did not decode), in offset order, and
   * moves the partition's position past it. A record the analytics refuse becomes a dead letter.
   */
  applyChunk(topic: string, partition: number, decoded: DecodedRecord[], undecodable: FailedRecord[]): ChunkResult {
    const result: ChunkResult = { closed: [], failed: [...undecodable], predictions: [], feedback: [] };
    const isPrediction = topic === this.topics.predictions;
    for (const { message, value } of decoded) {
      if (BigInt(message.offset) < (this.position(topic, partition) ?? 0n)) continue;
      // Counting a prediction (or feedback) is this request's last hop: its span continues the request's trace.
      const span = startProcessSpan({
        topic, partition, offset: message.offset, key: message.key, consumerGroup: this.consumerGroup,
        traceparent: headerString(message.headers, TRACEPARENT),
      });
      try {
        if (isPrediction) this.applyPrediction(value as PredictionInput, result);
        else this.applyFeedback(value as FeedbackInput, result);
      } catch (err) {
        // Refused before any state changed (InvalidEventError); anything else is a bug, kept off the partition too.
        const invalid = err instanceof InvalidEventError;
        const error = new PipelineError('decode', invalid ? 'SchemaError' : 'InternalError',
          `${isPrediction ? 'Prediction' : 'Feedback'} record cannot be counted: ${(err as Error).message}`, false, { cause: err });
        const requestId = (value as { request_id?: unknown } | null)?.request_id;
        recordPipelineFailure(span, error);
        result.failed.push({
          topic, partition, message, error,
          requestId: typeof requestId === 'string' ? requestId : headersToStrings(message.headers)[HEADER.requestId],
        });
      }
      span.end();
      this.advance(topic, partition, message.offset);
    }
    for (const f of undecodable) this.advance(topic, partition, f.message.offset);
    this.dirty = true;
    return result;
  }

  private applyPrediction(p: PredictionInput, result: ChunkResult): void {
    const duplicatesBefore = this.state.join.counters.duplicates;
    result.closed.push(...applyPrediction(this.state, p, this.ctx));
    result.predictions.push({ stream: streamIdOf(p), duplicate: this.state.join.counters.duplicates > duplicatesBefore });
  }

  private applyFeedback(f: FeedbackInput, result: ChunkResult): void {
    const joined = applyFeedback(this.state, f, this.ctx);
    result.feedback.push(joined.duplicate ? 'duplicate' : joined.outcomes.length > 0 ? 'joined' : 'waiting');
  }

  /**
   * Whether every partition has been counted up to the given end offsets (taken at start: catching up on a
   * backlog). `readThrough` tells how far the consumer has read past records it never hands over (transaction
   * markers), which positions alone cannot show.
   */
  hasReached(ends: readonly PartitionEnds[], readThrough: (topic: string, partition: number) => bigint | undefined = () => undefined): boolean {
    return ends.every((e) => {
      const position = this.position(e.topic, e.partition) ?? -1n;
      const read = readThrough(e.topic, e.partition) ?? -1n;
      return BigInt(e.high) <= BigInt(e.low) || (position > read ? position : read) >= BigInt(e.high);
    });
  }

  /**
   * Closes due time windows, expires join entries at event time `now` and retires idle experiments' streams. Only
   * a change of windows, of the join buffer or of the streams needs a new snapshot: an idle monitor does not
   * rewrite its state every interval for the watermark alone.
   */
  closeDue(now: number): WindowSummary[] {
    const pending = this.state.join.pending.size;
    const streams = Object.keys(this.state.windows.streams).length;
    const closed = closeDue(this.state, now, this.ctx);
    if (closed.length > 0 || this.state.join.pending.size !== pending || Object.keys(this.state.windows.streams).length !== streams) this.dirty = true;
    return closed;
  }

  /** The snapshot of this moment; serialise it before the state changes again (it shares the state's objects). */
  snapshot(monitorId: string, now: number): Snapshot {
    return { format: SNAPSHOT_FORMAT, monitor_id: monitorId, created_at: now, positions: this.positions, state: driftStateToJSON(this.state) };
  }
}
