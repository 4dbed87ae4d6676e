/**
 * Publishes ImageRequests from a folder, an S3 prefix or a file of URLs.
 *   npm run produce -- --from-folder data/samples/mixed --count 1000 --rate 200 --users 50
 *   npm run produce -- --from-s3 s3://images/samples/ --duration 60 --rate 500   (load generator)
 *   npm run produce -- --help
 */
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import { EnvReader } from '../platform/config.ts';
import { connectClients } from '../platform/clients.ts';
import { createLogger } from '../platform/logger.ts';
import { createProgressBar } from '../platform/progress-bar.ts';
import { createS3Client, readS3Settings } from '../platform/s3.ts';
import { readCommonSettings } from '../platform/service-config.ts';
import { LANES, MODEL_NAME_PATTERN, type Lane } from '../platform/topics.ts';
import { publishImages } from './publish-images.ts';
import { RequestPublisher } from './publisher.ts';
import { listFolder, listS3Prefix, readUrlList } from './sources.ts';

const USAGE = `usage: npm run produce -- (--from-folder DIR | --from-s3 s3://BUCKET/PREFIX | --from-urls FILE)
         [--count N] [--rate PER_SECOND] [--duration SECONDS] [--batch N] [--users N] [--pin VERSION]
         [--model NAME] [--priority high|normal] [--meta key=value ...] [--source NAME]
Publishes one ImageRequest per image (cycling through the source up to --count or --duration), for
model NAME (default: the deployment's default model, DEFAULT_MODEL), in the lane --priority names (default:
none, the normal lane unless an experiment rule says otherwise).
examples:
  npm run produce -- --from-folder data/samples/mixed --count 1000 --rate 200 --users 50
  npm run produce -- --from-s3 s3://images/samples/ --duration 60 --rate 500
  npm run produce -- --from-folder data/samples/text-orientation --count 200 --model text-orientation`;

function fail(message: string): never {
  return exitWithUsage(USAGE, message);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number >= 0, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, {
    options: {
      'from-folder': { type: 'string' },
      'from-s3': { type: 'string' },
      'from-urls': { type: 'string' },
      count: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      batch: { type: 'string' },
      users: { type: 'string' },
      pin: { type: 'string' },
      model: { type: 'string' },
      priority: { type: 'string' },
      meta: { type: 'string', multiple: true },
      source: { type: 'string' },
    },
  });
  const env = new EnvReader();
  const common = readCommonSettings(env, 'producer', 0);
  const s3Settings = readS3Settings(env);
  env.done();
  const logger = createLogger('producer', process.env.LOG_LEVEL ?? 'warn');

  let uris: string[];
  if (values['from-folder']) uris = await listFolder(values['from-folder']);
  else if (values['from-s3']) uris = await listS3Prefix(createS3Client(s3Settings), values['from-s3']);
  else if (values['from-urls']) uris = await readUrlList(values['from-urls']);
  else fail('name a source');
  if (uris.length === 0) fail('the source lists no images');
  if (values.model !== undefined && !MODEL_NAME_PATTERN.test(values.model)) fail(`--model takes a model name of letters, digits, "_" or "-", got "${values.model}"`);

  const priority = values.priority;
  if (priority !== undefined && !(LANES as readonly string[]).includes(priority)) fail(`--priority takes ${LANES.join(' or ')}, got "${priority}"`);

  const metadata: Record<string, string> = {};
  for (const kv of values.meta ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) fail(`--meta takes key=value, got "${kv}"`);
    metadata[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const rate = positiveInt('rate', values.rate, 0);
  const duration = positiveInt('duration', values.duration, 0);
  const count = positiveInt('count', values.count, duration > 0 ? Number.MAX_SAFE_INTEGER : uris.length);
  // Small batches at a set rate keep the offered load smooth; unpaced runs batch for throughput.
  const batchSize = positiveInt('batch', values.batch, rate > 0 ? Math.max(1, Math.min(200, Math.round(rate / 20))) : 200);

  const clients = await connectClients(common, logger);
  const publisher = new RequestPublisher(clients.producer, clients.serde, clients.topics);
  const bar = createProgressBar('published', duration > 0 ? Math.round(rate * duration) || count : count);
  const started = Date.now();
  try {
    const sent = await publishImages(publisher, {
      uris, count, rate, batchSize,
      users: positiveInt('users', values.users, 0),
      metadata,
      pinnedVersion: values.pin ?? null,
      model: values.model ?? null,
      priority: (priority as Lane | undefined) ?? null,
      source: values.source ?? 'producer-cli',
      ...(duration > 0 ? { deadline: started + duration * 1000 } : {}),
    }, (batch) => bar.tick(batch.length));
    bar.done();
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`${JSON.stringify({ published: sent, seconds, rate: sent / seconds, topic: clients.topics.requests })}\n`);
  } finally {
    await clients.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`producer failed: ${(err as Error).message}\n`);
  process.exit(1);
});
