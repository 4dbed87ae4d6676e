import type { Logger } from './logger.ts';

export type StopStep = { name: string; stop: () => Promise<void> };

/**
 * Runs stop steps once on SIGTERM/SIGINT, in the order given (consumers first, so the in-flight batch finishes
 * and commits, then producers and servers). A second signal or the grace period forces exit.
 */
export function installShutdown(logger: Logger, steps: () => StopStep[], graceMs = 30_000): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      const timer = setTimeout(() => {
        logger.error({ graceMs }, 'shutdown took longer than the grace period; exiting');
        process.exit(1);
      }, graceMs);
      timer.unref();
      for (const step of steps()) {
        try {
          await step.stop();
          logger.info({ step: step.name }, 'stopped');
        } catch (err) {
          logger.error({ err, step: step.name }, 'stop step failed');
        }
      }
      clearTimeout(timer);
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    void shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return shutdown;
}
