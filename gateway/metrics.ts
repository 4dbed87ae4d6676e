import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { exemplarsFor, LATENCY_BUCKETS_SECONDS } from '../platform/metrics.ts';

export function createGatewayMetrics(registry: Registry, tracked: () => { tracked: number; waiting: number }) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'gateway_requests_total', help: 'HTTP requests answered, by route template and status code',
      labelNames: ['route', 'code'], registers,
    }),
    requestSeconds: new Histogram({
      name: 'gateway_request_duration_seconds', help: 'From the request arriving to its answer sent, by route template',
      labelNames: ['route'], buckets: LATENCY_BUCKETS_SECONDS, registers, ...exemplarsFor(registry),
    }),
    stageSeconds: new Histogram({
      name: 'gateway_stage_duration_seconds', help: 'Time per inference stage at the gateway: upload to S3, publish, wait for the answer',
      labelNames: ['stage'], buckets: LATENCY_BUCKETS_SECONDS, registers,
    }),
    images: new Counter({ name: 'gateway_images_total', help: 'Images accepted for inference, by input kind', labelNames: ['input'], registers }),
    settled: new Counter({
      name: 'gateway_results_total', help: 'Requests settled from the topics: prediction, dead_letter; or timeout when the wait ran out',
      labelNames: ['result'], registers,
    }),
    deadLetters: new Counter({
      name: 'gateway_dead_letters_total', help: 'Requests answered from the dead-letter topic, by stage and error class',
      labelNames: ['stage', 'error_class'], registers,
    }),
    tracked: new Gauge({
      name: 'gateway_tracked_requests', help: 'Requests the gateway holds: waiting for an answer, or settled and not yet collected',
      labelNames: ['state'], registers,
      collect() {
        const t = tracked();
        this.set({ state: 'waiting' }, t.waiting);
        this.set({ state: 'settled' }, t.tracked - t.waiting);
      },
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
