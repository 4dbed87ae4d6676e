/**
 * Operating rollouts:
 *   npm run rollout -- start FILE [--wait S]        validate and start a rollout (FILE: rollouts/examples/*.json)
 *   npm run rollout -- status [ID]                  every rollout's state; with ID (or one rollout) its decisions
 *   npm run rollout -- pause|resume|abort [ID]      ID may be left out while exactly one rollout is active
 *   npm run rollout -- plan FILE                    validate a rollout file and print the labels each step needs (no Kafka)
 *   npm run rollout -- simulate [--rollouts N] [--seed S] [--rate R] [--json]
 *                                                   the guards' error rates on simulated rollouts (no Kafka)
 * Each command waits for the controller's answer (--wait seconds, 30 by default) and prints it.
 * Exit codes: 0 done, 1 refused by the controller or failed, 2 invalid command line or rollout file, 3 no answer.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseCommandLine } from '../platform/cli-args.ts';
import { connectClients, type Clients } from '../platform/clients.ts';
import { EnvReader } from '../platform/config.ts';
import { ensureTopics } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { readCommonSettings, type CommonSettings } from '../platform/service-config.ts';
import { newCommand, sendCommand } from './commands.ts';
import { DecisionLog } from './decision-log.ts';
import { formatDecision } from './format.ts';
import type { CommandAction } from './machine.ts';
import type { StoredDecision } from './records.ts';
import { describePlan } from './plan.ts';
import { defaultScenarios, DEFAULT_OPTIONS, formatTable, simulateScenario } from './simulation.ts';
import { checkRolloutSpec, type RolloutSpec } from './spec.ts';
import { rolloutTopics, rolloutTopicSpecs, type RolloutTopics } from './topics.ts';

const USAGE = 'usage: npm run rollout -- start FILE | status [ID] | pause [ID] | resume [ID] | abort [ID]  [--wait SECONDS]\n' +
  '       npm run rollout -- plan FILE | simulate [--rollouts N] [--seed S] [--rate REQUESTS_PER_SECOND] [--json]';
/** --help: the usage with examples. */
const HELP = `${USAGE}
Each command waits up to --wait seconds (default 30) for the controller's answer and prints it.
examples:
  npm run rollout -- start rollouts/examples/v2-progressive.json
  npm run rollout -- status
  npm run rollout -- abort`;

class UsageError extends Error {}
class NoAnswer extends Error {}
class Refused extends Error {}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const { values, positionals } = parseCommandLine(HELP, {
  allowPositionals: true,
  options: {
    wait: { type: 'string', default: '30' },
    rollouts: { type: 'string', default: String(DEFAULT_OPTIONS.rollouts) },
    seed: { type: 'string', default: String(DEFAULT_OPTIONS.seed) },
    rate: { type: 'string', default: String(DEFAULT_OPTIONS.rate) },
    json: { type: 'boolean', default: false },
  },
});

/** Every default scenario, one after the other (progress on stderr: a full run takes minutes). */
function simulate(): void {
  const number = (name: 'rollouts' | 'seed' | 'rate', integer: boolean): number => {
    const x = Number(values[name]);
    if (!(x > 0) || (integer && !Number.isInteger(x))) throw new UsageError(`--${name} must be a ${integer ? 'whole ' : ''}number > 0, got ${values[name]}`);
    return x;
  };
  const options = { rollouts: number('rollouts', true), seed: number('seed', true), rate: number('rate', false) };
  const results = defaultScenarios().map((scenario) => {
    const started = Date.now();
    const r = simulateScenario(scenario, options);
    process.stderr.write(`${scenario.name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return r;
  });
  out(values.json ? JSON.stringify({ options, results }, null, 2) : `${options.rollouts} rollouts per scenario, seed ${options.seed}, ${options.rate} labelled requests/s\n\n${formatTable(results)}`);
  if (results.some((r) => !r.goal_met)) process.exitCode = 1;
}

async function readSpec(file: string | undefined): Promise<RolloutSpec> {
  if (!file) throw new UsageError(`start needs the rollout file\n${USAGE}`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return checkRolloutSpec(JSON.parse(text));
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

/** The latest decision of every rollout that was ever started, oldest first. */
function latestByRollout(decisions: StoredDecision[]): StoredDecision[] {
  const latest = new Map<string, StoredDecision>();
  for (const d of decisions) {
    if (d.decision === 'rejected') continue;
    const seen = latest.get(d.rollout_id);
    if (!seen || d.seq > seen.seq) latest.set(d.rollout_id, d);
  }
  return [...latest.values()].sort((a, b) => a.started_at - b.started_at);
}

function pickRollout(decisions: StoredDecision[], id: string | undefined, action: string): string {
  if (id) return id;
  const active = latestByRollout(decisions).filter((d) => d.status === 'running' || d.status === 'paused');
  if (active.length === 1) return active[0]!.rollout_id;
  if (active.length === 0) throw new UsageError(`${action}: no rollout is active; name one (npm run rollout -- status lists them)`);
  throw new UsageError(`${action}: ${active.length} rollouts are active (${active.map((d) => d.rollout_id).join(', ')}); name one`);
}

function status(decisions: StoredDecision[], id: string | undefined): void {
  const latest = latestByRollout(decisions);
  if (latest.length === 0) {
    out('no rollouts yet: npm run rollout -- start rollouts/examples/v2-progressive.json');
    return;
  }
  for (const d of latest) {
    out(`${d.rollout_id}: ${d.status} at step ${d.step_index + 1}/${d.step_count} "${d.step_name}", ${d.candidate} against ${d.baseline}, last decision #${d.seq} ${d.decision} at ${new Date(d.decided_at).toISOString()}`);
  }
  const shown = id ?? (latest.length === 1 ? latest[0]!.rollout_id : undefined);
  if (!shown) return;
  const mine = decisions.filter((d) => d.rollout_id === shown);
  if (mine.length === 0) throw new UsageError(`no rollout ${shown}`);
  out(`\ndecisions of ${shown}:`);
  for (const d of mine) out(formatDecision(d));
}

async function command(clients: Clients, topics: RolloutTopics, log: DecisionLog, action: CommandAction, id: string, spec?: RolloutSpec): Promise<void> {
  const cmd = newCommand(action, id, process.env.USER ?? userInfo().username, spec);
  await sendCommand(clients.producer, clients.serde, topics.commands, cmd);
  const waitMs = Number(values.wait) * 1000;
  const answer = await log.waitFor((d) => d.command_id === cmd.command_id, waitMs);
  if (!answer) {
    throw new NoAnswer(`no answer from a rollout controller within ${values.wait} s; the command stays queued on ${topics.commands} ` +
      'and applies when a controller runs (npm run rollouts)');
  }
  out(formatDecision(answer));
  if (answer.decision === 'rejected') throw new Refused(`refused: ${answer.reason}`);
}

async function main(): Promise<void> {
  const [action, arg] = positionals;
  if (action === 'simulate') return simulate();
  if (action === 'plan') return out(describePlan(await readSpec(arg)).join('\n'));
  if (!action || !['start', 'status', 'pause', 'resume', 'abort'].includes(action)) throw new UsageError(USAGE);
  if (!(Number(values.wait) > 0)) throw new UsageError(`--wait must be a number of seconds, got ${values.wait}`);
  const spec = action === 'start' ? await readSpec(arg) : undefined;
  const env = new EnvReader();
  const common: CommonSettings = readCommonSettings(env, 'rollout-cli', 0);
  env.done();
  const logger = createLogger('rollout-cli', 'warn');
  const clients = await connectClients(common, logger);
  const topics = rolloutTopics(common.kafka.topicPrefix);
  await ensureTopics(clients.admin, rolloutTopicSpecs(topics), common.kafka, logger);
  const log = await new DecisionLog({ kafka: clients.kafka, admin: clients.admin, serde: clients.serde, topic: topics.decisions, prefix: common.kafka.topicPrefix, logger }).start();
  try {
    await log.caughtUp();
    if (action === 'status') status(log.decisions, arg);
    else if (spec) await command(clients, topics, log, 'start', spec.id, spec);
    else await command(clients, topics, log, action as CommandAction, pickRollout(log.decisions, arg, action));
  } finally {
    await log.stop();
    await clients.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(err instanceof UsageError ? 2 : err instanceof NoAnswer ? 3 : 1);
});
