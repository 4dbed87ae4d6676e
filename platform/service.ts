import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import { ConfigError, EnvReader } from './config.ts';
import { startOpsServer, type RouteHandler } from './http-server.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetricsRegistry } from './metrics.ts';
import { installShutdown, type StopStep } from './shutdown.ts';
import { readTracingSettings, startTracing, type Tracing } from './tracing.ts';

export interface ServiceContext {
  logger: Logger;
  registry: Registry;
  /**
   * The service cannot go on (its consumer stopped for good, it was fenced, its control input failed): /healthz
   * and /readyz fail at once and the process exits with code 1 after FATAL_EXIT_DELAY_MS, for its supervisor to
   * restart it.
   */
  fatal: (message: string, err?: unknown) => void;
}

export interface RunningService {
  ready: () => boolean;
  /** In order: consumers first so the in-flight batch finishes and commits. */
  stopSteps: StopStep[];
  routes?: Record<string, RouteHandler>;
}

export interface ServiceDefinition<S> {
  name: string;
  /** Reads and validates every setting; problems are collected by the EnvReader. */
  readSettings: (env: EnvReader) => S;
  opsEndpoint: (settings: S) => { host: string; port: number };
  start: (settings: S, ctx: ServiceContext) => Promise<RunningService>;
}

/**
 * The common start of every service: settings validated before anything connects (exit code 2 with every bad
 * variable named), one logger and metrics registry, the ops server, and graceful shutdown.
 */
export async function runService<S>(def: ServiceDefinition<S>): Promise<void> {
  const logger = createLogger(def.name);
  let settings: S;
  let exitDelayMs: number;
  let tracing: Tracing;
  try {
    const env = new EnvReader();
    settings = def.readSettings(env);
    // Long enough for a liveness probe to see /healthz fail before the process is gone.
    exitDelayMs = env.int('FATAL_EXIT_DELAY_MS', 3_000, { min: 0, max: 600_000 });
    const tracingSettings = readTracingSettings(env, def.name);
    env.done();
    tracing = startTracing(tracingSettings);
    if (tracing.enabled) logger.info({ traces: tracingSettings }, 'exporting traces over OTLP');
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal({ problems: err.problems }, 'invalid configuration');
      process.stderr.write(`${def.name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const registry = createMetricsRegistry(def.name);
  let server: Server | undefined;
  let running: RunningService | undefined;
  let failed = false;
  const fatal = (message: string, err?: unknown): void => {
    if (failed) return;
    failed = true;
    logger.fatal({ err }, `${message}; exiting in ${exitDelayMs} ms for the supervisor to restart the service`);
    setTimeout(() => process.exit(1), exitDelayMs);
  };
  installShutdown(logger, () => [
    ...(running?.stopSteps ?? []),
    { name: 'ops-server', stop: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())) },
    // Last, so the spans of the final batch are exported too.
    { name: 'tracing', stop: () => tracing.shutdown() },
  ]);
  try {
    // Up before start() so /healthz answers and /readyz says 503 while connecting and loading models.
    server = await startOpsServer({
      ...def.opsEndpoint(settings),
      registry,
      logger,
      ready: () => !failed && (running?.ready() ?? false),
      healthy: () => !failed,
      routes: () => running?.routes,
    });
    running = await def.start(settings, { logger, registry, fatal });
    logger.info('started');
  } catch (err) {
    logger.fatal({ err }, `${def.name} failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}
