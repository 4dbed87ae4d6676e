import { describe, expect, it } from 'vitest';
import { crdToJsonSchemas, toStrictJsonSchema } from '../../../deploy/checks/crd-schema.ts';
import { copies, entryPoints, env, execForm, parseDockerfile } from '../../../deploy/checks/dockerfile.ts';
import { dashboardQueries, metricsInUse, withGrafanaVariablesResolved } from '../../../deploy/checks/observability-queries.ts';
import { exportedMetricNames, metricNamesInExpr } from '../../../deploy/checks/promql-names.ts';
import { localiseKubernetesSchema } from '../../../deploy/checks/tools.ts';

const names = (expr: string): string[] => [...metricNamesInExpr(expr)].sort();

describe('metric names in PromQL', () => {
  it('finds selectors and leaves out functions, aggregations, grouping labels, ranges and numbers', () => {
    expect(names('histogram_quantile(0.95, sum by (version, le) (rate(inference_end_to_end_latency_seconds_bucket{shadow="false"}[5m])))')).toEqual([
      'inference_end_to_end_latency_seconds_bucket',
    ]);
    expect(names('sum(rate(a_total[5m])) / sum without (instance) (rate(b_total[1h30m] offset 5m)) > 0.05')).toEqual(['a_total', 'b_total']);
    expect(names('x > 1e3 and on (version) group_left (model) y unless z == bool 2')).toEqual(['x', 'y', 'z']);
    expect(names('max_over_time(deriv(imgpipe:lag:sum[10m:1m])[5m:]) >= 0.25')).toEqual(['imgpipe:lag:sum']);
    expect(names('sum by (group) (kafka_consumer_paused_partitions)')).toEqual(['kafka_consumer_paused_partitions']);
    expect(names('up{job=~"router|inference"} == 0')).toEqual(['up']);
  });

  it('skips strings, including label_replace arguments that look like names', () => {
    expect(names('label_replace(drift_psi, "dst", "$1", "metric", "(conf.*)")')).toEqual(['drift_psi']);
    expect(names('count_values("value", inference_model_loaded)')).toEqual(['inference_model_loaded']);
  });

  it('reads __name__ matchers of plain alternatives, and refuses one it cannot list', () => {
    expect(names('sum({__name__=~"router_dead_letters_total|drift_dead_letters_total"})')).toEqual(['drift_dead_letters_total', 'router_dead_letters_total']);
    expect(() => metricNamesInExpr('{__name__=~".*_total"}')).toThrow(/cannot tell which metrics/);
  });
});

describe('names a /metrics page exports', () => {
  it('expands histograms and summaries to their series and keeps samples and counters', () => {
    const text = [
      '# HELP inference_batch_size Images per call',
      '# TYPE inference_batch_size histogram',
      '# TYPE rpc_seconds summary',
      '# TYPE router_routed_total counter',
      '# TYPE requests counter',
      '# TYPE drift_psi gauge',
      'drift_psi{metric="confidence"} 0.1',
      'process_cpu_seconds_total 3',
    ].join('\n');
    expect([...exportedMetricNames(text)].sort()).toEqual([
      'drift_psi', 'inference_batch_size_bucket', 'inference_batch_size_count', 'inference_batch_size_sum', 'process_cpu_seconds_total',
      'requests_total', 'router_routed_total', 'rpc_seconds', 'rpc_seconds_count', 'rpc_seconds_sum',
    ]);
  });
});

describe('queries of a dashboard', () => {
  it('takes panel targets, nested row panels and label_values variables, and resolves Grafana variables for promtool', () => {
    const dashboard = {
      panels: [
        { title: 'A', targets: [{ refId: 'A', expr: 'rate(x_total{version=~"$version"}[$__rate_interval])' }] },
        { title: 'Row', panels: [{ title: 'B', targets: [{ refId: 'A', expr: 'y' }] }] },
      ],
      templating: { list: [{ name: 'version', query: { query: 'label_values(inference_predictions_total, version)' } }, { name: 'datasource', query: 'prometheus' }] },
    };
    const queries = dashboardQueries(dashboard, 'd.json');
    expect(queries.map((q) => q.expr)).toEqual(['rate(x_total{version=~"$version"}[$__rate_interval])', 'y', 'inference_predictions_total']);
    expect(withGrafanaVariablesResolved(queries[0]!.expr)).toBe('rate(x_total{version=~".*"}[5m])');
    expect([...metricsInUse(queries, new Set(['y'])).keys()]).toEqual(['x_total', 'inference_predictions_total']);
  });
});

describe('CRD schemas for kubeconform', () => {
  const crd = {
    kind: 'CustomResourceDefinition',
    spec: {
      group: 'keda.sh',
      names: { kind: 'ScaledObject' },
      versions: [{
        name: 'v1alpha1',
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  port: { 'x-kubernetes-int-or-string': true },
                  note: { type: 'string', nullable: true },
                  free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } } },
                  list: { type: 'array', items: { type: 'object', properties: { b: { type: 'integer' } } } },
                },
              },
            },
          },
        },
      }],
    },
  };

  it('names the schema as kubeconform looks it up and makes it strict', () => {
    const schemas = crdToJsonSchemas(crd);
    expect(Object.keys(schemas)).toEqual(['scaledobject-keda-v1alpha1.json']);
    const spec = (schemas['scaledobject-keda-v1alpha1.json']!.properties as Record<string, Record<string, Record<string, Record<string, unknown>>>>).spec!;
    expect(spec.additionalProperties).toBe(false);
    expect(spec.properties!.port).toEqual({ anyOf: [{ type: 'string' }, { type: 'integer' }] });
    expect(spec.properties!.note).toEqual({ type: ['string', 'null'] });
    expect(spec.properties!.free!.additionalProperties).toBeUndefined();
    expect((spec.properties!.list!.items as Record<string, unknown>).additionalProperties).toBe(false);
  });

  it('ignores documents that are not CRDs', () => {
    expect(crdToJsonSchemas({ kind: 'Namespace' })).toEqual({});
    expect(toStrictJsonSchema({ type: 'string' })).toEqual({ type: 'string' });
  });

  it('makes kubernetes-validate\'s references to shared definitions local', () => {
    const schema = JSON.parse(localiseKubernetesSchema('{"$id":"https://kubernetes.io/api/x","properties":{"m":{"$ref":"/api/_definitions.json#/$defs/Meta"}}}'));
    expect(schema).toEqual({ properties: { m: { $ref: '_definitions.json#/$defs/Meta' } } });
  });
});

describe('Dockerfile reading', () => {
  const stages = parseDockerfile([
    '# comment',
    'ARG BASE=node:26-trixie-slim',
    'FROM ${BASE} AS build',
    'COPY a b ./',
    'RUN npm ci \\',
    '    # a comment inside',
    '    --omit=dev',
    'FROM ${BASE}',
    'ENV A=1 \\',
    '    B="two words"',
    'COPY --from=build /src/dist dist',
    'LABEL imgpipe.entrypoint.router="router/main.js"',
    'LABEL imgpipe.entrypoint.drift-monitor=drift-monitor/main.js other=x',
    'CMD ["node", "router/main.js"]',
  ].join('\n'));

  it('reads stages, continuation lines, copies, environment and labels', () => {
    expect(stages.map((s) => [s.from, s.name])).toEqual([['${BASE}', 'build'], ['${BASE}', undefined]]);
    expect(stages[0]!.instructions).toContainEqual({ keyword: 'RUN', value: 'npm ci --omit=dev' });
    expect(copies(stages[0]!)).toEqual([{ from: undefined, sources: ['a', 'b'], destination: './' }]);
    expect(copies(stages[1]!)).toEqual([{ from: 'build', sources: ['/src/dist'], destination: 'dist' }]);
    expect(env(stages[1]!)).toEqual({ A: '1', B: 'two words' });
    expect(entryPoints(stages[1]!)).toEqual({ router: 'router/main.js', 'drift-monitor': 'drift-monitor/main.js' });
  });

  it('accepts the exec form of a command only', () => {
    expect(execForm('["node", "router/main.js"]')).toEqual(['node', 'router/main.js']);
    expect(() => execForm('node router/main.js')).toThrow();
  });
});
