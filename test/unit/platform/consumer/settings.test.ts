import { describe, expect, it } from 'vitest';
import { readStreamSettings } from '../../../../platform/consumer/settings.ts';
import { readEnv } from '../read-env.ts';

const read = (env: Record<string, string>) => readEnv(env, readStreamSettings);

describe('readStreamSettings', () => {
  it('defaults to exactly-once with bounded timeouts and outputs', () => {
    expect(read({})).toEqual({
      problems: [],
      settings: {
        delivery: 'exactly-once',
        chunkTimeoutMs: 60_000,
        pause: { baseMs: 500, capMs: 30_000, notReadyAfterMs: 60_000 },
        produceMaxBytes: 1_000_000,
        dlqMaxValueBytes: 262_144,
        lagIntervalMs: 10_000,
        transactionTimeoutMs: 15_000,
        sessionTimeoutMs: 30_000,
        heartbeatIntervalMs: 1_000,
        commitMaxChunks: 64,
        commitIntervalMs: 1_000,
      },
    });
  });

  it('reads every variable', () => {
    const { settings, problems } = read({
      DELIVERY: 'at-least-once', CHUNK_TIMEOUT_MS: '5000', PAUSE_BASE_MS: '100', PAUSE_MAX_MS: '2000', PAUSED_NOT_READY_MS: '9000',
      PRODUCE_MAX_BYTES: '500000', DLQ_MAX_VALUE_BYTES: '0', LAG_INTERVAL_MS: '250', TRANSACTION_TIMEOUT_MS: '60000', KAFKA_SESSION_TIMEOUT_MS: '10000', KAFKA_HEARTBEAT_INTERVAL_MS: '2000',
      COMMIT_MAX_CHUNKS: '1', COMMIT_INTERVAL_MS: '0',
    });
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      delivery: 'at-least-once',
      chunkTimeoutMs: 5_000,
      pause: { baseMs: 100, capMs: 2_000, notReadyAfterMs: 9_000 },
      produceMaxBytes: 500_000,
      dlqMaxValueBytes: 0,
      lagIntervalMs: 250,
      transactionTimeoutMs: 60_000,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 2_000,
      commitMaxChunks: 1,
      commitIntervalMs: 0,
    });
  });

  it('names DELIVERY and its choices for an unknown mode', () => {
    expect(read({ DELIVERY: 'maybe' }).problems).toEqual(['DELIVERY="maybe": expected one of exactly-once | at-least-once']);
    expect(read({ DELIVERY: 'EXACTLY-ONCE' }).problems).toHaveLength(1);
  });

  it('reports every bad value at once, each with its variable and range', () => {
    const { problems } = read({
      CHUNK_TIMEOUT_MS: '50', PAUSE_BASE_MS: 'soon', PAUSE_MAX_MS: '0', PAUSED_NOT_READY_MS: '-1',
      PRODUCE_MAX_BYTES: '1000', DLQ_MAX_VALUE_BYTES: '1e6', LAG_INTERVAL_MS: '10', TRANSACTION_TIMEOUT_MS: '999', KAFKA_SESSION_TIMEOUT_MS: '100',
    });
    expect(problems.map((p) => p.split('=')[0])).toEqual([
      'KAFKA_SESSION_TIMEOUT_MS', 'CHUNK_TIMEOUT_MS', 'PAUSE_BASE_MS', 'PAUSE_MAX_MS', 'PAUSED_NOT_READY_MS', 'PRODUCE_MAX_BYTES', 'DLQ_MAX_VALUE_BYTES',
      'LAG_INTERVAL_MS', 'TRANSACTION_TIMEOUT_MS',
    ]);
    expect(problems[1]).toBe('CHUNK_TIMEOUT_MS="50": expected an integer from 100 to 3600000');
    expect(problems[5]).toBe('PRODUCE_MAX_BYTES="1000": expected an integer from 65536 to 100000000');
  });

  it('refuses a heartbeat interval above a third of the session timeout, naming both', () => {
    expect(read({ KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '2001' }).problems).toEqual([
      'KAFKA_HEARTBEAT_INTERVAL_MS="2001": expected at most a third of KAFKA_SESSION_TIMEOUT_MS (6000), so that a lost heartbeat or two does not drop the member',
    ]);
    expect(read({ KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '2000' }).problems).toEqual([]);
  });
});
