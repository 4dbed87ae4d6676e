import { Counter, Gauge, type Registry } from 'prom-client';

const created = new WeakMap<Registry, StreamMetrics>();

/**
 * The consume loop's metrics; one set per process registry, labelled by consumer group, shared by the loops of
 * one process (a consumer per priority lane).
 */
export function createStreamMetrics(registry: Registry): StreamMetrics {
  const existing = created.get(registry);
  if (existing) return existing;
  const metrics = streamMetrics(registry);
  created.set(registry, metrics);
  return metrics;
}

function streamMetrics(registry: Registry) {
  const registers = [registry];
  return {
    lag: new Gauge({
      name: 'kafka_consumer_lag_records',
      help: 'Records between the group\'s committed offset and the partition end, for partitions this member owns',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers,
    }),
    paused: new Gauge({
      name: 'kafka_consumer_paused_partitions',
      help: 'Partitions paused after a systemic failure (registry, object store, model, broker), waiting to retry',
      labelNames: ['group'] as const,
      registers,
    }),
    systemicFailures: new Counter({
      name: 'kafka_consumer_systemic_failures_total',
      help: 'Chunks that failed for an infrastructure reason and were retried after a pause, by component',
      labelNames: ['group', 'component'] as const,
      registers,
    }),
    isolations: new Counter({
      name: 'kafka_consumer_isolations_total',
      help: 'Chunks split to isolate a record that threw (exception) or stalled past CHUNK_TIMEOUT_MS (stall)',
      labelNames: ['group', 'reason'] as const,
      registers,
    }),
    laneYields: new Counter({
      name: 'kafka_consumer_lane_yields_total',
      help: 'Times a normal-lane chunk waited for the high-priority lane before it started (priority lanes)',
      labelNames: ['group'] as const,
      registers,
    }),
    laneWaitSeconds: new Counter({
      name: 'kafka_consumer_lane_wait_seconds_total',
      help: 'Time normal-lane chunks waited for the high-priority lane (priority lanes)',
      labelNames: ['group'] as const,
      registers,
    }),
    transactions: new Counter({
      name: 'kafka_transactions_total',
      help: 'Kafka transactions of chunk outputs and offsets (exactly-once), by result',
      labelNames: ['group', 'result'] as const,
      registers,
    }),
    producersCreated: new Counter({
      name: 'kafka_transactional_producers_created_total',
      help: 'Transactional producers created to claim a partition (exactly-once): one per partition newly assigned, or after a failed transaction',
      labelNames: ['group'] as const,
      registers,
    }),
  };
}

export type StreamMetrics = ReturnType<typeof streamMetrics>;
