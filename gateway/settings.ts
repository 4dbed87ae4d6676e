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
  /** Requests tracked at once (waiting, asynchronous, or finished and not yet collected), all clients together. */
  maxTracked: number;
  /** The same for one client: one client's backlog answers that client 429, never the others. */
  maxTrackedPerClient: number;
  /** Inference requests of one client being read, parsed, uploaded or published at once: bounds the bodies held. */
  maxInFlightPerClient: number;
  /** Longest client string the gateway keeps (the request `id`, `parameters.stickiness_key`), in UTF-8 bytes. */
  maxStringBytes: number;
  /** Longest `uri` input, in UTF-8 bytes. */
  maxUriBytes: number;
  /** Where a `uri` input may point: `s3://bucket/[prefix/]`, `https://host[:port]/[path/]` or `file:///path/` prefixes. */
  uriAllow: string[];
  /** Key prefix of uploaded images in S3_BUCKET. */
  uploadPrefix: string;
  /** Schemes a `uri` input may use; file:// is left out by default so clients cannot read the consumers' disks. */
  uriSchemes: string[];
  /** Clients (token names) that may ask for the high-priority lane (`parameters.priority`); "*": every client. */
  highPriorityClients: string[];
  /** Folder of models/<name>/<version>/manifest.json: what the gateway serves and describes. */
  modelsDir: string;
}

/** An allow-list entry: a bucket or host, then a path prefix that ends at a "/" so `a/` never admits `ab/`. */
const URI_ALLOW_ENTRY = /^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]|https?:\/\/[a-zA-Z0-9.-]+(:\d{1,5})?|file:\/\/)\/([a-zA-Z0-9!_.*'()/-]*\/)?$/;

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
  const s3 = readS3Settings(env);
  const maxTracked = env.int('GATEWAY_MAX_TRACKED', 10_000, { min: 1, max: 10_000_000 });
  const uriAllow = env.list('GATEWAY_URI_ALLOW', [`s3://${s3.bucket}/`], { regex: URI_ALLOW_ENTRY, expected: 's3://bucket/[prefix/], https://host[:port]/[path/] or file:///path/ prefixes ending in "/"' });
  return {
    // 9104 is the rollout controller's: both run side by side on one host.
    ...readCommonSettings(env, 'gateway', 9105),
    s3,
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
    maxTracked,
    maxTrackedPerClient: env.int('GATEWAY_MAX_TRACKED_PER_CLIENT', Math.min(500, maxTracked), { min: 1, max: maxTracked }),
    maxInFlightPerClient: env.int('GATEWAY_MAX_IN_FLIGHT_PER_CLIENT', 4, { min: 1, max: 10_000 }),
    maxStringBytes: env.int('GATEWAY_MAX_STRING_BYTES', 256, { min: 16, max: 65_536 }),
    maxUriBytes: env.int('GATEWAY_MAX_URI_BYTES', 2_048, { min: 64, max: 65_536 }),
    uriAllow,
    uploadPrefix,
    uriSchemes: env.list('GATEWAY_URI_SCHEMES', ['s3', 'https'], { regex: /^(s3|https|http|file)$/, expected: 's3, https, http or file' }),
    modelsDir: env.string('GATEWAY_MODELS_DIR', MODELS_DIR),
    // Off by default: any client that may jump the queue slows every other client's requests down.
    highPriorityClients: env.list('GATEWAY_HIGH_PRIORITY_CLIENTS', [], { regex: /^([a-zA-Z0-9._-]+|\*|address:.+)$/, expected: 'client names from GATEWAY_TOKENS, or * for every client' }),
  };
}
