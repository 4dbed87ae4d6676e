/**
 * Jaeger (v2, the OpenTelemetry Collector-based binary) as the local stack's trace backend (issue 19): OTLP/HTTP in,
 * traces kept in memory, the query API out, all on 127.0.0.1. Optional: `npm run stack -- up --tracing` starts it
 * beside the others; `down` stops it with them. The module's source serves a placeholder page instead of the UI
 * (the UI's assets are built from the jaeger-ui repository, not in any registry): read a trace with
 * stack/jaeger/show-trace.ts, or point the services at a Jaeger image that has the UI.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { LOOPBACK } from '../endpoints.ts';
import { httpStatus } from '../health.ts';
import { GO } from '../prerequisites.ts';
import { runLogged } from '../run-logged.ts';
import type { LocalServer, ServerContext } from '../server.ts';

/** The module's newest approved release; cmd/jaeger is Jaeger v2. */
export const JAEGER_MODULE_VERSION = 'v1.75.0';
const PACKAGE = 'github.com/jaegertracing/jaeger/cmd/jaeger';

export const JAEGER_OTLP_HTTP_PORT = 4318;
export const JAEGER_QUERY_PORT = 16686;
const JAEGER_QUERY_GRPC_PORT = 16685;
const JAEGER_HEALTH_PORT = 13133;

/** What services export to (OTEL_EXPORTER_OTLP_ENDPOINT) and where traces are read back. */
export const JAEGER_ENV = {
  OTEL_EXPORTER_OTLP_ENDPOINT: `http://${LOOPBACK}:${JAEGER_OTLP_HTTP_PORT}`,
  JAEGER_QUERY_URL: `http://${LOOPBACK}:${JAEGER_QUERY_PORT}`,
} as const;

const installDir = (ctx: ServerContext) => join(ctx.cacheDir, `jaeger-${JAEGER_MODULE_VERSION}`);
const binary = (ctx: ServerContext) => join(installDir(ctx), 'bin', 'jaeger');
const configFile = (ctx: ServerContext) => join(ctx.stateDir, 'jaeger.yaml');

/**
 * Only what the stack needs: the OTLP/HTTP receiver, in-memory storage, the query service and a health check. The
 * defaults would also open Jaeger's legacy, Zipkin and sampling ports and a metrics port on other interfaces.
 */
export function jaegerConfig(maxTraces = 50_000): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: ${LOOPBACK}:${JAEGER_HEALTH_PORT}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: ${LOOPBACK}:${JAEGER_QUERY_PORT}
    grpc:
      endpoint: ${LOOPBACK}:${JAEGER_QUERY_GRPC_PORT}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${maxTraces}
receivers:
  otlp:
    protocols:
      http:
        endpoint: ${LOOPBACK}:${JAEGER_OTLP_HTTP_PORT}
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

export const jaegerServer: LocalServer = {
  name: 'jaeger',
  title: `Jaeger (${JAEGER_MODULE_VERSION}, in-memory)`,
  listens: [`OTLP/HTTP ${JAEGER_ENV.OTEL_EXPORTER_OTLP_ENDPOINT}`, `query API ${JAEGER_ENV.JAEGER_QUERY_URL}/api/traces/<id>`],
  startupTimeoutMs: 60_000,
  stopGraceMs: 10_000,
  runTools: [],
  installTools: [GO],

  processMarker: (ctx) => configFile(ctx),

  isInstalled: (ctx) => existsSync(binary(ctx)),

  /**
   * A program with its own go.mod is built from a throwaway module that requires it as a tool, so its module graph
   * (and replace-free versions) are what the build uses. About 13 minutes on 2 busy cores; the binary is cached.
   */
  async install(ctx) {
    const build = join(installDir(ctx), 'build');
    mkdirSync(build, { recursive: true });
    const log = join(ctx.stateDir, 'install.log');
    ctx.progress(`jaeger: building ${PACKAGE}@${JAEGER_MODULE_VERSION} with Go (about 13 minutes on 2 cores, once)`);
    if (!existsSync(join(build, 'go.mod'))) {
      await runLogged({ command: 'go', args: ['mod', 'init', 'imgpipe.local/jaeger-build'], cwd: build }, log, ctx.progress, 'jaeger: go mod init');
    }
    await runLogged({ command: 'go', args: ['get', '-tool', `${PACKAGE}@${JAEGER_MODULE_VERSION}`], cwd: build }, log, ctx.progress, 'jaeger: still downloading modules');
    // Built beside and renamed, so a stopped build never leaves a binary that isInstalled would trust.
    const partial = `${binary(ctx)}.partial`;
    await runLogged({ command: 'go', args: ['build', '-o', partial, PACKAGE], cwd: build }, log, ctx.progress, 'jaeger: still building');
    await runLogged({ command: 'mv', args: [partial, binary(ctx)] }, log, ctx.progress, 'jaeger: installing');
  },

  async prepare(ctx) {
    mkdirSync(ctx.stateDir, { recursive: true });
    writeFileSync(configFile(ctx), jaegerConfig());
    return { command: binary(ctx), args: ['--config', configFile(ctx)], cwd: ctx.stateDir };
  },

  isHealthy: async () => (await httpStatus(`http://${LOOPBACK}:${JAEGER_HEALTH_PORT}/status`)) === 200,
};
