import { collectDefaultMetrics, Registry, type Histogram, type Metric, type RegistryContentType } from 'prom-client';

import { activeTraceIds, sampledTraceId, type Span } from './tracing.ts';

const SERVICE_LABEL = new WeakMap<Registry<RegistryContentType>, string>();

/**
 * One registry per process, labelled with the service, with Node's default process metrics. It is an OpenMetrics
 * registry because prom-client accepts exemplars only there; scrape() still answers the Prometheus text format to
 * scrapers that do not ask for OpenMetrics.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  registry.setDefaultLabels({ service });
  SERVICE_LABEL.set(registry, service);
  collectDefaultMetrics({ register: registry });
  return registry as Registry;
}

/** For a latency histogram's configuration: exemplars where the registry can show them. */
export function exemplarsFor(registry: Registry<RegistryContentType>): { enableExemplars: boolean } {
  return { enableExemplars: registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE };
}

/** The exemplar label that holds a trace id; Grafana's exemplarTraceIdDestinations link it (deploy/grafana). */
export const EXEMPLAR_TRACE_ID_LABEL = 'trace_id';

/** Buckets in seconds for stage latencies, from 0.5 ms to 30 s. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Observes a latency; a histogram made with `enableExemplars` also keeps a trace id as its bucket's exemplar (the
 * given span's, or the active one's; a sampled span only), which /metrics shows to a scraper that asks for
 * OpenMetrics.
 */
export function observeSeconds<T extends string>(histogram: Histogram<T>, labels: Partial<Record<T, string | number>>, seconds: number, span?: Span): void {
  // prom-client swaps observe() for an object-taking one on histograms with exemplars.
  if (!(histogram as unknown as { enableExemplars: boolean }).enableExemplars) return histogram.observe(labels, seconds);
  const traceId = span ? sampledTraceId(span) : activeTraceIds().trace_id;
  histogram.observe({ labels, value: seconds, ...(traceId ? { exemplarLabels: { [EXEMPLAR_TRACE_ID_LABEL]: traceId } } : {}) } as never);
}

/**
 * The scrape body and its content type. Exemplars exist only in OpenMetrics, so a scraper that accepts it (Prometheus
 * does, and keeps exemplars with --enable-feature=exemplar-storage) gets that format; anything else gets the
 * Prometheus text format, rendered from the same metric objects.
 */
export async function scrape(registry: Registry<RegistryContentType>, accept: string | undefined): Promise<{ contentType: string; body: string }> {
  const openMetrics = accept?.includes('application/openmetrics-text') ?? false;
  const wanted = openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
  if (registry.contentType === wanted) return { contentType: wanted, body: await registry.metrics() };
  const view = new Registry<RegistryContentType>();
  view.setContentType(wanted);
  const service = SERVICE_LABEL.get(registry);
  if (service !== undefined) view.setDefaultLabels({ service });
  // The same metric objects, so the view reads the live values.
  for (const metric of registry.getMetricsAsArray()) view.registerMetric(metric as unknown as Metric);
  return { contentType: wanted, body: await view.metrics() };
}
