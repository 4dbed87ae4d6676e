import { fileURLToPath } from 'node:url';
import type { EnvReader } from '../platform/config.ts';
import { readS3Settings, type S3Settings } from '../platform/s3.ts';
import { readCommonSettings, type CommonSettings } from '../platform/service-config.ts';
import { parseTokens, type ClientToken } from './http/auth.ts';

export interface GatewaySettings extends CommonSettings {
  s3: S3Settings;
  /** The Open Inference Protocol listener; the ops server (/metrics, /healthz, /readyz) stays on METRICS_PORT. */
  http: { host: string; port: number };
  tokens: ClientToken[];
  /** Accept requests without a token (rate-limited per client address). Only for local use. */
  anonymous: boolean;
  /** Requests per second and burst per client (token, or address when anonymous); 0 turns limiting off. */
  rate: { perSecond: number; burst: number };
  maxBodyBytes: number;
  /** Images per inference request. */
  maxBatch: number;
  /** Longest wait for a prediction before 504; a request's `timeout` parameter (µs, as in Triton) may shorten it. */
  timeoutMs: number;
  /** How long a finished result stays for GET /v2/results/{id}, and how long an unanswered request is tracked. */
  resultTtlMs: number;
  /** Requests tracked at once (waiting, asynchronous, or finished and not yet collected). */
  maxTracked: number;
  /** Key prefix of uploaded images in S3_BUCKET. */
  uploadPrefix: string;
  /** Schemes a `uri` input may use; file:// is left out by default so clients cannot read the consumers' disks. */
  uriSchemes: string[];
  /** Folder of models/<name>/<version>/manifest.json: what the gateway serves and describes. */
  modelsDir: string;
}

const MODELS_DIR = fileURLToPath(new URL('../models/', import.meta.url));

export function readGatewaySettings(env: EnvReader): GatewaySettings {
  const rawTokens = env.optionalString('GATEWAY_TOKENS');
  const tokens = parseTokens(rawTokens ?? '');
  const anonymous = env.bool('GATEWAY_ANONYMOUS', false);
  if (rawTokens !== undefined) {
    env.check(tokens.ok, 'GATEWAY_TOKENS', '(hidden)', 'comma-separated name:token pairs, names of letters, digits, ".", "_" or "-", tokens of 16 or more characters, each name and token once');
  } else {
    env.check(anonymous, 'GATEWAY_TOKENS', '', 'name:token pairs (e.g. GATEWAY_TOKENS=alice:$(openssl rand -hex 24)), or GATEWAY_ANONYMOUS=true to accept requests without a token (local use only)');
  }
  const uploadPrefix = env.string('GATEWAY_UPLOAD_PREFIX', 'gateway/uploads/');
  env.check(/^[a-zA-Z0-9!_.*'()/-]*$/.test(uploadPrefix) && !uploadPrefix.startsWith('/'), 'GATEWAY_UPLOAD_PREFIX', uploadPrefix, 'an S3 key prefix without a leading "/" (e.g. gateway/uploads/)');
  const perSecond = env.number('GATEWAY_RATE_LIMIT', 20, { min: 0, max: 1_000_000 });
  const maxBatch = env.int('GATEWAY_MAX_BATCH', 16, { min: 1, max: 1_024 });
  const burst = env.int('GATEWAY_RATE_BURST', Math.max(40, maxBatch), { min: 1, max: 1_000_000 });
  // An inference request costs one token per image; a burst smaller than a batch could never pass.
  env.check(perSecond === 0 || burst >= maxBatch, 'GATEWAY_RATE_BURST', String(burst), `at least GATEWAY_MAX_BATCH (${maxBatch}): a request costs one token per image`);
  return {
    ...readCommonSettings(env, 'gateway', 9104),
    s3: readS3Settings(env),
    http: {
      host: env.string('GATEWAY_HOST', '127.0.0.1'),
      port: env.int('GATEWAY_PORT', 8000, { min: 0, max: 65_535 }),
    },
    tokens: tokens.ok ? tokens.tokens : [],
    anonymous,
    rate: { perSecond, burst },
    maxBodyBytes: env.int('GATEWAY_MAX_BODY_BYTES', 10 * 1024 * 1024, { min: 1_024 }),
    maxBatch,
    timeoutMs: env.int('GATEWAY_TIMEOUT_MS', 30_000, { min: 1, max: 3_600_000 }),
    resultTtlMs: env.int('GATEWAY_RESULT_TTL_SECONDS', 600, { min: 1, max: 7 * 86_400 }) * 1000,
    maxTracked: env.int('GATEWAY_MAX_TRACKED', 10_000, { min: 1, max: 10_000_000 }),
    uploadPrefix,
    uriSchemes: env.list('GATEWAY_URI_SCHEMES', ['s3', 'https'], { regex: /^(s3|https|http|file)$/, expected: 's3, https, http or file' }),
    modelsDir: env.string('GATEWAY_MODELS_DIR', MODELS_DIR),
  };
}
