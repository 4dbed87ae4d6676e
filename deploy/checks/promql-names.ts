/**
 * The metric names a PromQL expression reads, and the names a /metrics page exports, so a check can tell which
 * names of the dashboard and the alert rules no service exports. A lexer, not a full parser: it skips strings,
 * label matchers (except `__name__`), range and subquery brackets, grouping label lists (`by (...)`), numbers and
 * durations, keywords, and function or aggregation names (an identifier followed by `(`).
 */

const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2', 'start', 'end']);
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const IDENTIFIER = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const NUMBER_OR_DURATION = /^(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?([a-zA-Z]+[0-9]*)*)/;

/** Index just past the bracket closing the one at `open`, skipping quoted strings inside. */
function skipBracket(expr: string, open: number): number {
  const close = { '{': '}', '[': ']', '(': ')' }[expr[open] as '{' | '[' | '('];
  let i = open + 1;
  while (i < expr.length && expr[i] !== close) i = expr[i] === '"' || expr[i] === "'" || expr[i] === '`' ? skipString(expr, i) : i + 1;
  return i + 1;
}

function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += expr[i] === '\\' && quote !== '`' ? 2 : 1;
  return i + 1;
}

/** Names a `{...}` matcher block selects by `__name__="x"` or `__name__=~"a|b"` (plain alternatives only). */
function namesInMatchers(block: string): string[] {
  const names: string[] = [];
  for (const m of block.matchAll(/__name__\s*(=~|=)\s*"([^"]*)"/g)) {
    const alternatives = m[1] === '=~' ? m[2]!.split('|') : [m[2]!];
    if (alternatives.every((a) => IDENTIFIER.test(a) && a.match(IDENTIFIER)![0] === a)) names.push(...alternatives);
    else throw new Error(`cannot tell which metrics __name__${m[1]}"${m[2]}" selects; list them as plain alternatives`);
  }
  return names;
}

function nextNonSpace(expr: string, from: number): number {
  let i = from;
  while (i < expr.length && /\s/.test(expr[i]!)) i += 1;
  return i;
}

export function metricNamesInExpr(expr: string): Set<string> {
  const names = new Set<string>();
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    const rest = expr.slice(i);
    if (/\s/.test(c)) i += 1;
    else if (c === '#') i = expr.indexOf('\n', i) === -1 ? expr.length : expr.indexOf('\n', i);
    else if (c === '"' || c === "'" || c === '`') i = skipString(expr, i);
    else if (c === '{') {
      const end = skipBracket(expr, i);
      for (const n of namesInMatchers(expr.slice(i, end))) names.add(n);
      i = end;
    } else if (c === '[') i = skipBracket(expr, i);
    else if (/[0-9.]/.test(c) && NUMBER_OR_DURATION.test(rest)) i += rest.match(NUMBER_OR_DURATION)![0].length;
    else if (IDENTIFIER.test(rest)) {
      const word = rest.match(IDENTIFIER)![0];
      const after = nextNonSpace(expr, i + word.length);
      const lower = word.toLowerCase();
      if (LABEL_LISTS.has(lower)) i = expr[after] === '(' ? skipBracket(expr, after) : after;
      else if (expr[after] === '(' || AGGREGATIONS.has(lower) || KEYWORDS.has(lower)) i += word.length;
      else {
        names.add(word);
        i += word.length;
      }
    } else i += 1;
  }
  return names;
}

/**
 * Every series name a Prometheus text exposition offers: each `# TYPE` family expanded to the series it yields
 * (a histogram's `_bucket`, `_sum` and `_count`; a summary's quantiles, `_sum` and `_count`), and every sample's name.
 */
export function exportedMetricNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = line.match(/^# TYPE (\S+) (\S+)/);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(name + suffix);
      else if (kind === 'counter' && !name.endsWith('_total')) names.add(`${name}_total`);
      else names.add(name);
      continue;
    }
    const sample = line.match(/^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/);
    if (sample && !line.startsWith('#')) names.add(sample[1]!);
  }
  return names;
}
