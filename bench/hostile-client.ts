/**
 * The hostile-client scenario (bench/hostile-scenario.ts) from the command line: prints progress to stderr
 * and one JSON object with the figures as the last line of stdout.
 *
 *   npx tsx bench/hostile-client.ts                  # 60 s at the default rate limit, 4 MiB ids
 *   npx tsx bench/hostile-client.ts --seconds 20 --normal-rate 4 --normal-in-flight 8
 */
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import { acquireStack } from '../stack/acquire-stack.ts';
import { runHostileScenario } from './hostile-scenario.ts';

const USAGE = `usage: npx tsx bench/hostile-client.ts [--seconds N] [--hostile-rate PER_SECOND] [--normal-rate PER_SECOND]
         [--normal-in-flight N] [--id-bytes N] [--rss-cap-mb N] [--gateway-env NAME=VALUE ...]
One token sends large ids, asynchronous requests it never collects, oversized and malformed bodies at its rate
limit for --seconds while a second token sends one image at a time; prints the gateway's peak resident memory
and the second client's answers and latency as JSON.
  --seconds        how long the hostile client sends (default 60)
  --hostile-rate   its requests per second (default 20, the gateway's default GATEWAY_RATE_LIMIT)
  --normal-rate    the second client's requests per second at most (default 2)
  --normal-in-flight  its requests waiting for answers at most (default 1: it waits for each answer)
  --id-bytes       size of the hostile id (default 4194304)
  --rss-cap-mb     stop the hostile client once the gateway's RSS passes this (default 3072)
  --gateway-env    a setting for the gateway (repeatable), e.g. GATEWAY_MAX_TRACKED=200
examples:
  npx tsx bench/hostile-client.ts
  npx tsx bench/hostile-client.ts --seconds 20 --normal-rate 4 --normal-in-flight 8
  npx tsx bench/hostile-client.ts --seconds 30 --gateway-env GATEWAY_MAX_TRACKED=200 --gateway-env GATEWAY_MAX_TRACKED_PER_CLIENT=100`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) exitWithUsage(USAGE, `--${name} must be a number above 0, got "${value}"`);
  return n;
}

const { values } = parseCommandLine(USAGE, {
  options: {
    seconds: { type: 'string' },
    'hostile-rate': { type: 'string' },
    'normal-rate': { type: 'string' },
    'normal-in-flight': { type: 'string' },
    'id-bytes': { type: 'string' },
    'rss-cap-mb': { type: 'string' },
    'gateway-env': { type: 'string', multiple: true },
  },
});
const gatewayEnv = Object.fromEntries((values['gateway-env'] ?? []).map((pair) => {
  const match = /^(GATEWAY_[A-Z_]+)=(.*)$/.exec(pair);
  if (!match) exitWithUsage(USAGE, `--gateway-env takes GATEWAY_NAME=value, got "${pair}"`);
  return [match[1], match[2]];
}));
const options = {
  seconds: positive('seconds', values.seconds, 60),
  hostileRate: positive('hostile-rate', values['hostile-rate'], 20),
  normalRate: positive('normal-rate', values['normal-rate'], 2),
  normalInFlight: Math.round(positive('normal-in-flight', values['normal-in-flight'], 1)),
  idBytes: Math.round(positive('id-bytes', values['id-bytes'], 4 * 1024 * 1024)),
  rssCapMb: positive('rss-cap-mb', values['rss-cap-mb'], 3072),
  gatewayEnv,
};
const log = (line: string) => process.stderr.write(`${line}\n`);

const stack = await acquireStack(log);
try {
  const result = await runHostileScenario({ ...options, log });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await stack.stop();
}
