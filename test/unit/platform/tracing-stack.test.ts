import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { jaegerConfig, JAEGER_ENV } from '../../../stack/jaeger/jaeger-server.ts';

describe('the local stack\'s Jaeger configuration', () => {
  it('listens on 127.0.0.1 only: OTLP/HTTP, the query API and the health check, nothing else', () => {
    const text = jaegerConfig();
    const endpoints = [...text.matchAll(/endpoint: (\S+)/g)].map((m) => m[1]);
    expect(endpoints.sort()).toEqual(['127.0.0.1:13133', '127.0.0.1:16685', '127.0.0.1:16686', '127.0.0.1:4318']);
    const config = parse(text) as { service: { extensions: string[]; pipelines: { traces: { receivers: string[] } }; telemetry: { metrics: { level: string } } }; receivers: { otlp: { protocols: object } } };
    expect(config.service.pipelines.traces.receivers).toEqual(['otlp']);
    expect(Object.keys(config.receivers.otlp.protocols)).toEqual(['http']);
    // The collector's own metrics server would listen on another port.
    expect(config.service.telemetry.metrics.level).toBe('none');
    expect(JAEGER_ENV.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://127.0.0.1:4318');
  });
});
