/**
 * Creates ONNX Runtime sessions from configuration. CUDA is opt-in; the npm build of onnxruntime-node
 * ships CPU only, so a CUDA request that cannot be met falls back to CPU with a warning instead of
 * keeping the service down, and the provider actually in use is reported.
 */
import ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import { PipelineError } from '../../platform/errors.ts';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionConfig {
  /** Threads inside one operator; 0 lets ONNX Runtime choose. */
  intraOpThreads: number;
  /** Threads across independent operators; above 1 switches to parallel execution mode. */
  interOpThreads: number;
  /**
   * Whether idle intra-op threads spin waiting for the next operator. Spinning saves microseconds of wake-up
   * per operator but burns a core between model calls, which on a small machine is the core decoding and Kafka
   * need; off by default.
   */
  allowSpinning?: boolean;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  /** In order of preference; 'cpu' is always available. */
  executionProviders: ExecutionProvider[];
}

export interface ModelSession {
  session: ort.InferenceSession;
  /** The preferred provider the session was created with. */
  provider: ExecutionProvider;
}

export const defaultSessionConfig: SessionConfig = {
  intraOpThreads: 0,
  interOpThreads: 1,
  allowSpinning: false,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
};

export async function createSession(model: Uint8Array | string, config: SessionConfig, logger: Logger): Promise<ModelSession> {
  const wantsCuda = config.executionProviders.includes('cuda');
  if (wantsCuda) {
    try {
      // Fatal-only native logging here: a missing CUDA library is expected on CPU builds and reported below.
      const session = await create(model, config, ['cuda', 'cpu'], 4);
      logger.info({ provider: 'cuda' }, 'ONNX Runtime session uses the CUDA execution provider');
      return { session, provider: 'cuda' };
    } catch (err) {
      logger.warn(
        { provider: 'cpu', err: err instanceof Error ? err.message : String(err) },
        'CUDA execution provider unavailable (onnxruntime-node from npm is CPU-only; install a CUDA build to use a GPU); falling back to CPU',
      );
    }
  }
  try {
    const session = await create(model, config, ['cpu'], 3);
    logger.info({ provider: 'cpu' }, 'ONNX Runtime session uses the CPU execution provider');
    return { session, provider: 'cpu' };
  } catch (err) {
    throw new PipelineError(
      'inference',
      'InferenceError',
      `ONNX Runtime could not load the model: ${err instanceof Error ? err.message : String(err)}. Check that the file is a valid ONNX model for this runtime version.`,
      false,
      { cause: err },
    );
  }
}

function create(
  model: Uint8Array | string,
  config: SessionConfig,
  executionProviders: ExecutionProvider[],
  logSeverityLevel: 3 | 4,
): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders,
    intraOpNumThreads: config.intraOpThreads,
    interOpNumThreads: config.interOpThreads,
    executionMode: config.interOpThreads > 1 ? 'parallel' : 'sequential',
    graphOptimizationLevel: config.graphOptimizationLevel,
    logSeverityLevel,
    // Session config entries (onnxruntime_session_options_config_keys.h), nested by their dotted names.
    extra: { session: { intra_op: { allow_spinning: config.allowSpinning ? '1' : '0' }, inter_op: { allow_spinning: config.allowSpinning ? '1' : '0' } } },
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}
