/**
 * Validates an experiment file and publishes it to the compacted experiments topic.
 *   npm run experiment -- router/experiments/ab-50-50-sticky.json [--key default] [--check]
 *   npm run experiment -- --delete [--key default]
 */
import { readFile } from 'node:fs/promises';
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import { connectClients } from '../platform/clients.ts';
import { EnvReader } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { readCommonSettings } from '../platform/service-config.ts';
import { checkExperiment, deleteExperiment, publishExperiment } from './experiment-publisher.ts';

const USAGE = `usage: npm run experiment -- FILE.json [--key TABLE] [--check]
       npm run experiment -- --delete [--key TABLE]
Validates an experiment file and publishes it to the experiments topic under TABLE (default "default");
--check only validates it, --delete removes the table's experiment.
examples:
  npm run experiment -- router/experiments/ab-50-50-sticky.json --check
  npm run experiment -- router/experiments/ab-50-50-sticky.json`;

const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: { key: { type: 'string', default: 'default' }, check: { type: 'boolean', default: false }, delete: { type: 'boolean', default: false } },
});

async function main(): Promise<void> {
  const file = positionals[0];
  if (positionals.length > 1) exitWithUsage(USAGE, `one experiment file at a time, got ${positionals.length}`);
  if (!values.delete && !file) exitWithUsage(USAGE, 'name the experiment file, or --delete');
  const config = file ? checkExperiment(JSON.parse(await readFile(file, 'utf8')), process.env.USER ?? null) : null;
  if (values.check) {
    process.stdout.write(`${file}: valid (${config?.rules.length} rules, versions ${config?.versions.join(', ')})\n`);
    return;
  }
  const env = new EnvReader();
  const common = readCommonSettings(env, 'experiment-cli', 0);
  env.done();
  const clients = await connectClients(common, createLogger('experiment-cli', 'warn'));
  try {
    if (config) await publishExperiment(clients.producer, clients.serde, clients.topics.experiments, values.key, config);
    else await deleteExperiment(clients.producer, clients.topics.experiments, values.key);
  } finally {
    await clients.close();
  }
  process.stdout.write(config ? `published experiment ${config.id} to ${clients.topics.experiments} (key ${values.key})\n` : `deleted experiment table ${values.key}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
