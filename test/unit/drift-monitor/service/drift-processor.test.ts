import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { driftConfig, type DriftContext } from '../../../../drift-monitor/analytics/drift-state.ts';
import { DriftProcessor, type DecodedRecord } from '../../../../drift-monitor/service/drift-processor.ts';
import type { Snapshot } from '../../../../drift-monitor/service/snapshot-codec.ts';
import { feedback, prediction, T0, withReference } from '../fixtures.ts';

const TOPICS = { predictions: 'x.predictions', feedback: 'x.feedback' };
const CTX: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 10 } } }), referenceFor: withReference };

function message(offset: number): KafkaMessage {
  return { key: null, value: Buffer.from('x'), offset: String(offset), timestamp: '0', attributes: 0, headers: {} } as KafkaMessage;
}

function records(values: unknown[], firstOffset = 0): DecodedRecord[] {
  return values.map((value, i) => ({ message: message(firstOffset + i), value }));
}

const predictions = Array.from({ length: 25 }, (_, i) => prediction({ request_id: `r${i}`, predicted_index: i % 4, predicted_at: T0 + i }));
const labels = predictions.map((p, i) => feedback(p.request_id, i % 3 === 0 ? 9 : p.predicted_index, T0 + i));

describe('drift processor positions', () => {
  it('advances the partition position past every record, counted or dead-lettered', () => {
    const p = new DriftProcessor(CTX, TOPICS);
    const result = p.applyChunk(TOPICS.predictions, 2, records([predictions[0], { request_id: 'broken' }, predictions[1]], 5), []);
    expect(p.positions).toEqual({ [TOPICS.predictions]: { '2': '8' } });
    expect(result.predictions).toHaveLength(2);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.error).toMatchObject({ stage: 'decode', errorClass: 'SchemaError' });
    expect(result.failed[0]?.error.message).toMatch(/Prediction record cannot be counted: .*model_name is missing or not a string/);
    expect(result.failed[0]?.requestId).toBe('broken');
    expect(p.dirty).toBe(true);
  });

  it('skips redelivered records below the position, so nothing counts twice', () => {
    const p = new DriftProcessor(CTX, TOPICS);
    p.applyChunk(TOPICS.predictions, 0, records(predictions.slice(0, 5)), []);
    expect(p.unseen(TOPICS.predictions, 0, [message(3), message(4), message(5)]).map((m) => m.offset)).toEqual(['5']);
    // The same chunk again, then the rest overlapping it.
    p.applyChunk(TOPICS.predictions, 0, records(predictions.slice(0, 5)), []);
    p.applyChunk(TOPICS.predictions, 0, records(predictions.slice(3, 12), 3), []);
    const stream = Object.values(p.state.windows.streams)[0]!;
    expect(stream.nextIndex - 1).toBe(1); // one window of 10 closed
    expect(stream.open?.count).toBe(2);
    expect(p.state.join.counters.duplicates).toBe(0);
  });

  it('knows when it has reached the end offsets taken at start', () => {
    const p = new DriftProcessor(CTX, TOPICS);
    const ends = [
      { topic: TOPICS.predictions, partition: 0, low: '0', high: '3' },
      { topic: TOPICS.feedback, partition: 0, low: '4', high: '4' },
    ];
    expect(p.hasReached(ends)).toBe(false);
    p.applyChunk(TOPICS.predictions, 0, records(predictions.slice(0, 3)), []);
    expect(p.hasReached(ends)).toBe(true);
  });
});

describe('drift processor snapshot', () => {
  it('resumes from a snapshot taken mid-window with the same windows, accuracy and reports as one straight run', () => {
    const straight = new DriftProcessor(CTX, TOPICS);
    const straightClosed = [
      ...straight.applyChunk(TOPICS.feedback, 0, records(labels), []).closed,
      ...straight.applyChunk(TOPICS.predictions, 0, records(predictions), []).closed,
    ];

    const first = new DriftProcessor(CTX, TOPICS);
    const closed = [
      ...first.applyChunk(TOPICS.feedback, 0, records(labels), []).closed,
      ...first.applyChunk(TOPICS.predictions, 0, records(predictions.slice(0, 14)), []).closed,
    ];
    const snapshot = JSON.parse(JSON.stringify(first.snapshot('m1', T0))) as Snapshot;
    // Work after the snapshot is lost with the crash; the restarted processor gets those records again.
    first.applyChunk(TOPICS.predictions, 0, records(predictions.slice(14, 20), 14), []);

    const resumed = new DriftProcessor(CTX, TOPICS, snapshot);
    expect(resumed.position(TOPICS.predictions, 0)).toBe(14n);
    const redelivered = resumed.unseen(TOPICS.predictions, 0, records(predictions, 0).map((r) => r.message));
    expect(redelivered).toHaveLength(11);
    closed.push(...resumed.applyChunk(TOPICS.predictions, 0, records(predictions, 0).slice(14), []).closed);

    expect(closed).toEqual(straightClosed);
    expect(resumed.state.join.accuracy).toEqual(straight.state.join.accuracy);
    expect(resumed.state.join.counters).toEqual(straight.state.join.counters);
    expect(resumed.positions).toEqual(straight.positions);
  });
});
