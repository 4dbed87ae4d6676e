/**
 * npm run stack -- up [server...]       install once and start (idempotent)
 * npm run stack -- down [--purge] [server...]   stop; --purge also deletes data and logs
 * npm run stack -- status [server...]
 * npm run stack -- env                  `export` lines for the endpoints: eval "$(npm run -s stack -- env)"
 */
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import {
  LOCAL_STACK_ENV,
  SERVER_NAMES,
  localStackStatus,
  startLocalStack,
  stopLocalStack,
  toExportLines,
} from './local-stack.ts';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

const USAGE = `usage: npm run stack -- <up|down|status|env> [--purge] [${SERVER_NAMES.join('|')}...]
  up       install (the first time) and start the servers, then print their endpoints
  down     stop them; --purge also deletes their data and logs
  status   each server's state, addresses and log file (exit 3 unless all are running)
  env      export lines for the endpoints
examples:
  npm run stack -- up
  eval "$(npm run -s stack -- env)"
  npm run stack -- status minio`;

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(USAGE, { allowPositionals: true, options: { purge: { type: 'boolean', default: false } } });
  const [command, ...only] = positionals;
  const purge = values.purge;

  switch (command) {
    case 'up': {
      await startLocalStack({ log: say, only });
      say(`\nEndpoints (eval "$(npm run -s stack -- env)" to export them):\n${toExportLines(LOCAL_STACK_ENV)}`);
      return 0;
    }
    case 'down': {
      const { stopped } = await stopLocalStack({ log: say, only, purge });
      if (stopped.length === 0) say('Nothing of the local stack was running.');
      return 0;
    }
    case 'status': {
      const statuses = await localStackStatus({ log: say, only });
      for (const status of statuses) {
        const pid = status.pid === undefined ? '' : ` pid ${status.pid}`;
        say(`${status.name.padEnd(16)} ${status.state.padEnd(8)}${pid}  ${status.title}`);
        say(`${''.padEnd(16)} ${status.listens.join(', ')}; log ${status.logFile}`);
      }
      return statuses.every((status) => status.state === 'running') ? 0 : 3;
    }
    case 'env':
      say(toExportLines(LOCAL_STACK_ENV));
      return 0;
    default:
      return exitWithUsage(USAGE, command === undefined ? 'name a command' : `unknown command "${command}"`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nstack: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
