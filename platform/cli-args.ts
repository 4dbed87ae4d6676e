/**
 * Command lines of every CLI: node:util parseArgs plus `--help`/`-h`. `--help` prints the usage to stdout and
 * exits 0; an unknown option, a missing option value or a stray argument prints the reason and the usage to
 * stderr and exits 2 (USAGE_EXIT), never a stack trace. Both happen before the command touches anything.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit code of an invalid command line. */
export const USAGE_EXIT = 2;

export type ParsedCommandLine<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * Parses `config.args` (the process's arguments by default). `usage` is the whole help text: synopsis,
 * options and at least one example.
 */
export function parseCommandLine<T extends ParseArgsConfig>(usage: string, config: T): ParsedCommandLine<T> {
  const args = config.args ?? process.argv.slice(2);
  let parsed: ParsedCommandLine<T>;
  try {
    parsed = parseArgs({ ...config, args, options: { ...config.options, help: { type: 'boolean', short: 'h' } } }) as ParsedCommandLine<T>;
  } catch (err) {
    // Only parseArgs's own refusals are usage errors; anything else is a bug and keeps its stack.
    if (!isParseArgsError(err)) throw err;
    exitWithUsage(usage, firstSentence(err.message));
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  return parsed;
}

/** Reports a command line that parsed but makes no sense (a missing source, an unknown command): exit 2. */
export function exitWithUsage(usage: string, message: string): never {
  process.stderr.write(`${message}\n${usage.trimEnd()}\n`);
  process.exit(USAGE_EXIT);
}

function isParseArgsError(err: unknown): err is Error {
  const code: unknown = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Node's advice after the first sentence ("place it at the end of the command after '--'") confuses under npm run. */
function firstSentence(message: string): string {
  const end = message.indexOf('. ');
  return end === -1 ? message : message.slice(0, end + 1);
}
