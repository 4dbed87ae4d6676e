/**
 * One trace from Jaeger's query API as a small self-contained HTML page: a waterfall with a timeline bar per span,
 * a colour per service, failed spans marked and span links shown under the span that has them (linking to the span
 * when it is in this trace, else to the other trace in the query API). The Jaeger built here has no UI, so this is
 * what the README's screenshot shows (scripts/trace-screenshot.sh). Pure: no I/O.
 */
import { waterfall, type JaegerTrace } from './trace-tree.ts';

/** Tableau 10: distinct on white and for the common colour-vision deficiencies. */
export const SERVICE_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#bab0ac'];
const FAILED = '#e15759';

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const ms = (micros: number): string => `${(micros / 1000).toFixed(micros < 10_000 ? 1 : 0)} ms`;
/** A tick's time in ms, with as many decimals as the step needs. */
const tickLabel = (micros: number, step: number): string => `${(micros / 1000).toFixed(Math.max(0, -Math.floor(Math.log10(step / 1000))))} ms`;
const pct = (x: number): string => `${(x * 100).toFixed(3)}%`;

/** A round step for about `count` ticks over `total` (1, 2 or 5 times a power of ten). */
export function tickStep(total: number, count = 5): number {
  if (total <= 0) return 1;
  const raw = total / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) as number;
}

export interface TracePageOptions {
  /** Where the links to other traces point: `<queryUrl>/api/traces/<id>`. */
  queryUrl: string;
  /** Tags shown beside a span's name when it has them: key and the short name shown. */
  shownTags?: Record<string, string>;
}

const DEFAULT_TAGS: Record<string, string> = { 'messaging.consumer.group.name': 'group', 'messaging.batch.message_count': 'batch', 'error.type': 'error' };

export function tracePage(t: JaegerTrace, o: TracePageOptions): string {
  const w = waterfall(t);
  const total = Math.max(w.total, 1);
  const colour = new Map(w.services.map((s, i) => [s, SERVICE_COLOURS[i % SERVICE_COLOURS.length] as string]));
  const inTrace = new Set(t.spans.map((s) => s.spanID));
  const shown = o.shownTags ?? DEFAULT_TAGS;
  const step = tickStep(total);
  const ticks = Array.from({ length: Math.floor(total / step) + 1 }, (_, i) => i * step);

  const rows = w.rows.map((row) => {
    const { span } = row;
    const tags = Object.entries(shown).flatMap(([key, label]) => {
      const value = span.tags.find((tag) => tag.key === key)?.value;
      return value === undefined ? [] : [`<span class="tag">${escapeHtml(label)} ${escapeHtml(String(value))}</span>`];
    }).join(' ');
    const left = row.offset / total;
    const width = Math.max(span.duration / total, 0.002);
    // The duration after the bar; near the right edge inside a long bar, else before a short one.
    const place = left + width < 0.92 ? 'after' : width >= 0.08 ? 'inside' : 'before';
    const labelStyle = { after: `left:${pct(left + width + 0.004)}`, inside: `right:${pct(1 - left - width + 0.004)}`, before: `right:${pct(1 - left + 0.004)}` }[place];
    const links = row.links.map((l) => {
      const href = inTrace.has(l.spanID) && l.traceID === t.traceID ? `#span-${l.spanID}` : `${o.queryUrl}/api/traces/${l.traceID}`;
      return `<div class="link" style="padding-left:${row.depth * 14 + 22}px">↪ links to <a href="${escapeHtml(href)}">span ${escapeHtml(l.spanID)} of trace ${escapeHtml(l.traceID.slice(0, 12))}…</a></div>`;
    }).join('');
    return `<div class="row${row.failed ? ' failed' : ''}" id="span-${escapeHtml(span.spanID)}">
  <div class="name" style="padding-left:${row.depth * 14 + 8}px" title="${escapeHtml(span.tags.map((tag) => `${tag.key}=${String(tag.value)}`).join('\n'))}">
    <span class="chip" style="background:${colour.get(row.service)}"></span><span class="service">${escapeHtml(row.service)}</span>
    <span class="op">${escapeHtml(span.operationName)}</span>${row.failed ? ' <span class="bad">failed</span>' : ''}${tags ? ` ${tags}` : ''}
  </div>
  <div class="lane">${ticks.map((x) => `<i style="left:${pct(x / total)}"></i>`).join('')}
    <div class="bar" style="left:${pct(left)};width:${pct(width)};background:${row.failed ? FAILED : colour.get(row.service)}"></div>
    <span class="dur ${place}" style="${labelStyle}">${ms(span.duration)}</span>
  </div>
</div>${links}`;
  }).join('\n');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trace ${escapeHtml(t.traceID)}</title>
<style>
  body { font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; padding: 16px 20px; color: #1f2328; background: #fff; }
  h1 { font-size: 16px; margin: 0 0 2px; font-weight: 600; }
  .summary { color: #57606a; margin-bottom: 10px; }
  .legend span { margin-right: 14px; white-space: nowrap; }
  .chip { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
  .grid { border: 1px solid #d0d7de; border-radius: 6px; margin-top: 10px; overflow: hidden; }
  .row, .axis { display: grid; grid-template-columns: 620px 1fr; border-top: 1px solid #eaeef2; }
  .axis { border-top: 0; background: #f6f8fa; color: #57606a; font-size: 11px; }
  .row.failed { background: #fff5f5; }
  .name { padding: 4px 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; border-right: 1px solid #eaeef2; }
  .service { color: #57606a; margin-right: 6px; }
  .op { font-weight: 600; }
  .tag { color: #57606a; font-size: 11px; background: #f6f8fa; border-radius: 3px; padding: 0 4px; }
  .bad { color: #fff; background: ${FAILED}; border-radius: 3px; padding: 0 4px; font-size: 11px; }
  .lane { position: relative; min-height: 24px; margin: 0 12px; }
  .lane i { position: absolute; top: 0; bottom: 0; border-left: 1px solid #eaeef2; }
  .axis .lane span { position: absolute; top: 4px; transform: translateX(-50%); }
  .axis .lane span:first-of-type { transform: none; }
  .bar { position: absolute; top: 5px; height: 14px; border-radius: 2px; min-width: 2px; }
  .dur { position: absolute; top: 4px; font-size: 11px; color: #57606a; white-space: nowrap; }
  .dur.inside { color: #fff; top: 5px; font-size: 10px; }
  .link { font-size: 11px; color: #57606a; padding: 0 0 4px; margin-top: -2px; }
  .link a { color: #0969da; text-decoration: none; }
</style></head>
<body>
<h1>Trace ${escapeHtml(t.traceID)}</h1>
<div class="summary">${ms(w.total)} · ${t.spans.length} spans · ${w.services.length} services</div>
<div class="legend">${w.services.map((s) => `<span><span class="chip" style="background:${colour.get(s)}"></span>${escapeHtml(s)}</span>`).join('')}</div>
<div class="grid">
<div class="axis"><div class="name">service · span</div><div class="lane">${ticks.map((x) => `<span style="left:${pct(x / total)}">${tickLabel(x, step)}</span>`).join('')}</div></div>
${rows}
</div>
</body></html>
`;
}
