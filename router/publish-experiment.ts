/**
 * Validates an experiment file and publishes it to the compacted experiments topic.
 *   npm run experiment -- router/experiments/ab-50-50-sticky.json [--model NAME | --key default] [--check]
 *   npm run experiment -- --delete [--model NAME | --key default]
 */
import { readFile } from 'node:fs/promises';
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import { connectClients } from '../platform/clients.ts';
import { EnvReader } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { readCommonSettings } from '../platform/service-config.ts';
import { MODEL_NAME_PATTERN } from '../platform/topics.ts';
import { checkExperiment, deleteExperiment, publishExperiment, tableFor } from './experiment-publisher.ts';

const USAGE = `usage: npm run experiment -- FILE.json [--model NAME | --key TABLE] [--check]
       npm run experiment -- --delete [--model NAME | --key TABLE]
Validates an experiment file and publishes it to the experiments topic: the default model's table is the
record under TABLE (default "default"); --model NAME publishes the table of model NAME instead (keyed by its
name, the file's "model" field set to it), which routes requests that name that model.
--check only validates it, --delete removes the table's experiment (for a model: takes it out of service).
examples:
  npm run experiment -- router/experiments/ab-50-50-sticky.json --check
  npm run experiment -- router/experiments/ab-50-50-sticky.json
  npm run experiment -- experiment.json --model text-orientation`;

const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: { key: { type: 'string', default: 'default' }, model: { type: 'string' }, check: { type: 'boolean', default: false }, delete: { type: 'boolean', default: false } },
});

async function main(): Promise<void> {
  const file = positionals[0];
  if (positionals.length > 1) exitWithUsage(USAGE, `one experiment file at a time, got ${positionals.length}`);
  if (!values.delete && !file) exitWithUsage(USAGE, 'name the experiment file, or --delete');
  if (values.model !== undefined && !MODEL_NAME_PATTERN.test(values.model)) exitWithUsage(USAGE, `--model takes a model name of letters, digits, "_" or "-", got "${values.model}"`);
  const env = new EnvReader();
  const common = readCommonSettings(env, 'experiment-cli', 0);
  env.done();
  const table = tableFor(values.model, values.key, common.defaultModel);
  const parsed = file ? JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> : null;
  const config = parsed ? checkExperiment(table.model === null ? parsed : { ...parsed, model: table.model }, process.env.USER ?? null) : null;
  if (values.check) {
    process.stdout.write(`${file}: valid (${config?.rules.length} rules, versions ${config?.versions.join(', ')})\n`);
    return;
  }
  const clients = await connectClients(common, createLogger('experiment-cli', 'warn'));
  try {
    if (config) await publishExperiment(clients.producer, clients.serde, clients.topics.experiments, table.key, config);
    else await deleteExperiment(clients.producer, clients.topics.experiments, table.key);
  } finally {
    await clients.close();
  }
  process.stdout.write(config ? `published experiment ${config.id} to ${clients.topics.experiments} (key ${table.key})\n` : `deleted experiment table ${table.key}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
