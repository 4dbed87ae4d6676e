import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '../platform/metrics.ts';

export function createRouterMetrics(registry: Registry) {
  const registers = [registry];
  return {
    consumed: new Counter({ name: 'router_records_consumed_total', help: 'Records read from the input topic', registers }),
    routed: new Counter({
      name: 'router_routed_total',
      help: 'Routing decisions: one per produced copy (served and shadow)',
      labelNames: ['model', 'experiment', 'rule', 'version', 'reason', 'shadow'],
      registers,
    }),
    deadLetters: new Counter({ name: 'router_dead_letters_total', help: 'Records sent to the dead-letter topic', labelNames: ['stage', 'error_class'], registers }),
    experimentUpdates: new Counter({ name: 'router_experiment_updates_total', help: 'Experiment records seen, by result', labelNames: ['result'], registers }),
    activeExperiment: new Gauge({ name: 'router_active_experiment_info', help: '1 for the experiment being applied to each model', labelNames: ['model', 'experiment'], registers }),
    batchSeconds: new Histogram({ name: 'router_batch_duration_seconds', help: 'Time to route and acknowledge one batch', buckets: LATENCY_BUCKETS_SECONDS, registers }),
  };
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;
