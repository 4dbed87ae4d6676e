/**
 * npx tsx stack/jaeger/show-trace.ts <trace id> [--query-url URL]: one trace from Jaeger's query API as a waterfall
 * (trace-tree.ts). The URL defaults to JAEGER_QUERY_URL, then the local stack's Jaeger.
 */
import { exitWithUsage, parseCommandLine } from '../../platform/cli-args.ts';
import { JAEGER_ENV } from './jaeger-server.ts';
import { traceTree, type JaegerTrace } from './trace-tree.ts';

const USAGE = 'usage: npx tsx stack/jaeger/show-trace.ts <trace id (32 hex digits)> [--query-url URL]';

const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: { 'query-url': { type: 'string', default: process.env.JAEGER_QUERY_URL ?? JAEGER_ENV.JAEGER_QUERY_URL } },
});
const [traceId] = positionals;
if (!traceId || !/^[0-9a-f]{32}$/.test(traceId)) exitWithUsage(USAGE, 'name one trace id: 32 lowercase hex digits');
const res = await fetch(`${values['query-url']}/api/traces/${traceId}`);
if (!res.ok) {
  process.stderr.write(`Jaeger at ${values['query-url']} answered ${res.status} for trace ${traceId}${res.status === 404 ? ' (not found: not sampled, not exported yet, or evicted)' : ''}\n`);
  process.exit(1);
}
const [trace] = ((await res.json()) as { data: JaegerTrace[] }).data;
process.stdout.write(`${trace ? traceTree(trace).join('\n') : `no trace ${traceId}`}\n`);
