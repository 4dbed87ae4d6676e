// Pure rendering for the drift dashboard: DashboardState (drift-monitor/analytics/dashboard-state.ts) in,
// HTML/SVG strings out. No DOM access here, so it runs in Node for tests and in the browser unchanged.
// Every text that came from the pipeline (model names, labels, experiment ids) goes through esc().

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#a16207', '#db2777', '#4b5563', '#65a30d'];
export const PSI_METRICS = ['predicted_class', 'confidence', 'brightness', 'contrast'];
const METRIC_TITLES = { predicted_class: 'Predicted class', confidence: 'Confidence', brightness: 'Brightness', contrast: 'Contrast' };

export function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const fixed = (x, digits) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(digits));
const percent = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const pValue = (p) => (p < 0.001 ? '<0.001' : p.toFixed(3));
const clock = (ms) => (ms === null || ms === undefined ? '–' : new Date(ms).toLocaleTimeString([], { hour12: false }));
const ms = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** Stable colour per stream (streams arrive sorted by key); shadows are drawn dashed. */
export function streamStyles(state) {
  return new Map(
    state.streams.map((s, i) => [s.key, { color: PALETTE[i % PALETTE.length], dash: s.variant === 'shadow' ? '6 4' : '' }]),
  );
}

function badge(severity) {
  const level = severity ?? 'none';
  const text = severity ?? 'no reference yet';
  return `<span class="badge badge-${level}" data-testid="severity-badge" data-severity="${level}">${esc(text)}</span>`;
}

function swatch(style) {
  return `<svg class="swatch" viewBox="0 0 24 10" aria-hidden="true"><line x1="1" y1="5" x2="23" y2="5" stroke="${style.color}" stroke-width="3" stroke-dasharray="${style.dash}"/></svg>`;
}

export function renderLegend(state) {
  const styles = streamStyles(state);
  return state.streams
    .map((s) => `<span class="legend-item" data-stream="${esc(s.key)}">${swatch(styles.get(s.key))}${esc(s.title)}</span>`)
    .join('');
}

export function renderHeader(state, status) {
  const policy = state.window_policy.kind === 'count' ? `every ${state.window_policy.size} predictions` : `every ${state.window_policy.lengthMs / 1000} s`;
  const total = state.streams.reduce((n, s) => n + (s.last_window ? 1 : 0), 0);
  return [
    `<span data-testid="last-update">Updated ${esc(clock(state.generated_at))}</span>`,
    `<span>${state.streams.length} streams · ${total} reporting</span>`,
    `<span>Windows close ${esc(policy)}</span>`,
    `<span>PSI thresholds ${state.thresholds.moderate} / ${state.thresholds.significant}</span>`,
    `<span>Feedback joined ${state.join.joined} · waiting ${state.join.pending_requests}</span>`,
    `<span class="status status-${status.ok ? 'ok' : 'error'}" data-testid="poll-status">${esc(status.text)}</span>`,
  ].join('');
}

const DRIFTED_NOTE = '<span class="badge badge-moderate" data-testid="estimate-unreliable" title="An input (brightness, contrast) or output (confidence, predicted class) PSI is significant in this window: calibration may not transfer, and on shifted test images the estimate was up to 39 points too high there">traffic drifted</span>';

/** A manifest reference names its source on hover; a reference learned from live traffic says so in the cell. */
function renderReference(s) {
  if (s.reference === 'manifest') return `<span data-testid="reference" data-reference="manifest" title="${esc(s.reference_text)}">manifest</span>`;
  return `<span data-testid="reference" data-reference="${esc(s.reference)}">${esc(s.reference)}</span><div class="muted small reference-text" data-testid="reference-text">${esc(s.reference_text)}</div>`;
}

export function renderStreamsTable(state) {
  if (state.streams.length === 0) return '<p class="empty">No predictions yet.</p>';
  const styles = streamStyles(state);
  const rows = state.streams.map((s) => {
    const last = s.last_window;
    const psiOf = (name) => last?.metrics.find((m) => m.name === name);
    const psiCells = PSI_METRICS.map((name) => {
      const m = psiOf(name);
      return `<td class="num ${m ? `sev-${m.severity}` : ''}">${m ? fixed(m.psi, 3) : '–'}</td>`;
    }).join('');
    return `<tr data-stream="${esc(s.key)}">
      <td>${swatch(styles.get(s.key))} ${esc(s.title)}</td>
      <td>${badge(s.severity)}</td>
      <td>${renderReference(s)}</td>
      <td class="num">${s.windows_closed}</td>
      <td class="num">${last ? last.count : '–'}</td>
      <td class="num">${s.open_count}</td>
      ${psiCells}
      <td class="num">${last ? fixed(last.mean_confidence, 3) : '–'}</td>
      <td class="num">${s.accuracy ? percent(s.accuracy.rate) : '–'}</td>
      <td class="num" data-testid="expected-accuracy"${s.expected_accuracy ? ` title="${percent(s.expected_accuracy.low)} – ${percent(s.expected_accuracy.high)} if the calibration transfers"` : ''}>${s.expected_accuracy ? `${percent(s.expected_accuracy.estimate)}${s.expected_accuracy.traffic_drifted ? ` ${DRIFTED_NOTE}` : ''}` : '–'}</td>
      <td>${last ? esc(clock(last.emitted_at)) : '–'}</td>
    </tr>`;
  });
  return `<table class="grid" data-testid="streams-table">
    <thead><tr><th>Stream</th><th>Severity</th><th>Reference</th><th>Windows</th><th>Last n</th><th>Open n</th>
    <th>PSI class</th><th>PSI conf.</th><th>PSI bright.</th><th>PSI contr.</th><th>Mean conf.</th><th>Accuracy</th><th title="Label-free: mean calibrated top-1 probability of the last window; right only if the calibration transfers to the traffic (not under label or concept shift)">Expected acc.</th><th>Last window</th></tr></thead>
    <tbody>${rows.join('')}</tbody></table>`;
}

// ---- PSI over time ----------------------------------------------------------------------------------

const PSI_W = 520;
const PSI_H = 210;
const PAD = { left: 44, right: 12, top: 12, bottom: 26 };

/** Square-root y scale: keeps 0.1 and 0.25 apart even when one stream drifts to a PSI of several units. */
function psiScale(maxPsi) {
  const top = [0.5, 1, 2, 5, 10, 20, 50].find((t) => t >= maxPsi) ?? maxPsi;
  const y = (v) => PAD.top + (1 - Math.sqrt(Math.max(0, Math.min(v, top)) / top)) * (PSI_H - PAD.top - PAD.bottom);
  const ticks = [0, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50].filter((t) => t <= top);
  return { y, ticks };
}

function timeScale(points) {
  let lo = Math.min(...points.map((p) => p.window_end));
  let hi = Math.max(...points.map((p) => p.window_end));
  if (!(hi > lo)) {
    lo -= 60_000;
    hi += 60_000;
  }
  const x = (t) => PAD.left + ((t - lo) / (hi - lo)) * (PSI_W - PAD.left - PAD.right);
  const ticks = [0, 1 / 3, 2 / 3, 1].map((f) => lo + f * (hi - lo));
  return { x, ticks };
}

export function renderPsiChart(state, metric) {
  const styles = streamStyles(state);
  const series = state.streams.map((s) => ({ stream: s, points: s.psi[metric] ?? [] }));
  const all = series.flatMap((s) => s.points);
  const { moderate, significant } = state.thresholds;
  const { y, ticks } = psiScale(Math.max(significant * 1.2, ...all.map((p) => p.psi)));
  const { x, ticks: timeTicks } = all.length > 0 ? timeScale(all) : { x: () => PAD.left, ticks: [] };
  const right = PSI_W - PAD.right;
  const grid = ticks
    .map((t) => `<line class="gridline" x1="${PAD.left}" x2="${right}" y1="${y(t)}" y2="${y(t)}"/><text class="tick" x="${PAD.left - 4}" y="${y(t) + 3}" text-anchor="end">${t}</text>`)
    .join('');
  const thresholds = [
    ['moderate', moderate],
    ['significant', significant],
  ]
    .map(([name, v]) => `<line class="threshold threshold-${name}" data-threshold="${v}" x1="${PAD.left}" x2="${right}" y1="${y(v)}" y2="${y(v)}"/><text class="threshold-label threshold-${name}" x="${right - 2}" y="${y(v) - 3}" text-anchor="end">${name} ${v}</text>`)
    .join('');
  const anchors = ['start', 'middle', 'middle', 'end'];
  const xTicks = timeTicks.map((t, i) => `<text class="tick" x="${x(t)}" y="${PSI_H - 8}" text-anchor="${anchors[i]}">${esc(clock(t))}</text>`).join('');
  const lines = series
    .filter((s) => s.points.length > 0)
    .map(({ stream, points }) => {
      const style = styles.get(stream.key);
      const coords = points.map((p) => `${x(p.window_end).toFixed(1)},${y(p.psi).toFixed(1)}`).join(' ');
      const dots = points.length <= 60 ? points.map((p) => `<circle cx="${x(p.window_end).toFixed(1)}" cy="${y(p.psi).toFixed(1)}" r="2.5" fill="${style.color}"><title>${esc(stream.title)} · window ${p.window_index}: PSI ${fixed(p.psi, 3)}</title></circle>`).join('') : '';
      return `<g data-stream="${esc(stream.key)}"><polyline class="series" data-series="${esc(stream.key)}" data-points="${points.length}" points="${coords}" stroke="${style.color}" stroke-dasharray="${style.dash}"/>${dots}</g>`;
    })
    .join('');
  const empty = all.length === 0 ? `<text class="empty-note" x="${PSI_W / 2}" y="${PSI_H - PAD.bottom - 16}" text-anchor="middle">no closed windows with a reference yet</text>` : '';
  return `<figure class="chart" data-metric="${metric}"><figcaption>${METRIC_TITLES[metric]} <span class="muted">PSI per window, √ scale</span></figcaption>
    <svg viewBox="0 0 ${PSI_W} ${PSI_H}" data-testid="psi-chart-${metric}" role="img" aria-label="PSI of ${METRIC_TITLES[metric]} over time">
    <line class="axis" x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PSI_H - PAD.bottom}"/>
    <line class="axis" x1="${PAD.left}" x2="${right}" y1="${PSI_H - PAD.bottom}" y2="${PSI_H - PAD.bottom}"/>
    ${grid}${thresholds}${xTicks}${lines}${empty}</svg></figure>`;
}

export function renderPsiCharts(state) {
  return PSI_METRICS.map((m) => renderPsiChart(state, m)).join('');
}

// ---- Class distribution -----------------------------------------------------------------------------

export function renderClassChart(stream, style) {
  const c = stream.classes;
  if (!c) return '';
  const W = 520;
  const H = 180;
  const pad = { left: 36, right: 8, top: 10, bottom: c.labels.length <= 16 ? 40 : 12 };
  const max = Math.max(0.05, ...c.current, ...(c.reference ?? []));
  const top = Math.ceil(max * 10) / 10;
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const group = plotW / Math.max(1, c.labels.length);
  const bar = Math.max(1, (group * 0.8) / 2);
  const y = (v) => pad.top + (1 - v / top) * plotH;
  const bars = c.labels
    .map((label, i) => {
      const x0 = pad.left + i * group + group * 0.1;
      const cur = c.current[i];
      const ref = c.reference?.[i];
      const title = `${label}: ${percent(cur)}${ref === undefined ? '' : ` (reference ${percent(ref)})`}`;
      const refBar = ref === undefined ? '' : `<rect class="bar-reference" data-kind="reference" x="${(x0 + bar).toFixed(1)}" y="${y(ref).toFixed(1)}" width="${bar.toFixed(1)}" height="${(y(0) - y(ref)).toFixed(1)}"><title>${esc(title)}</title></rect>`;
      const text = c.labels.length <= 16 ? `<text class="tick" x="${(x0 + bar).toFixed(1)}" y="${H - pad.bottom + 12}" text-anchor="end" transform="rotate(-30 ${(x0 + bar).toFixed(1)} ${H - pad.bottom + 12})">${esc(label)}</text>` : '';
      return `<rect class="bar-current" data-kind="current" x="${x0.toFixed(1)}" y="${y(cur).toFixed(1)}" width="${bar.toFixed(1)}" height="${(y(0) - y(cur)).toFixed(1)}" fill="${style.color}"><title>${esc(title)}</title></rect>${refBar}${text}`;
    })
    .join('');
  const ticks = [0, top / 2, top].map((t) => `<line class="gridline" x1="${pad.left}" x2="${W - pad.right}" y1="${y(t)}" y2="${y(t)}"/><text class="tick" x="${pad.left - 4}" y="${y(t) + 3}" text-anchor="end">${Math.round(t * 100)}%</text>`).join('');
  const note = c.reference ? '' : ' <span class="muted">(reference: warming up)</span>';
  return `<figure class="chart" data-stream="${esc(stream.key)}"><figcaption>${swatch(style)} ${esc(stream.title)}${note}</figcaption>
    <svg viewBox="0 0 ${W} ${H}" data-testid="class-bars" data-classes="${c.labels.length}" role="img" aria-label="Class shares of ${esc(stream.title)}">${ticks}${bars}</svg></figure>`;
}

export function renderClassCharts(state) {
  const styles = streamStyles(state);
  const charts = state.streams.map((s) => renderClassChart(s, styles.get(s.key))).join('');
  return charts || '<p class="empty">No closed windows yet.</p>';
}

// ---- Accuracy with Wilson intervals ------------------------------------------------------------------

export function renderAccuracyChart(state) {
  const rows = state.streams.filter((s) => s.accuracy || s.expected_accuracy);
  if (rows.length === 0) return '<p class="empty">No feedback joined yet, and no model with a calibration in its manifest.</p>';
  const styles = streamStyles(state);
  const W = 520;
  const row = 46;
  const pad = { left: 12, right: 12, top: 4, bottom: 24 };
  const H = pad.top + rows.length * row + pad.bottom;
  const x = (v) => pad.left + v * (W - pad.left - pad.right);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((t) => `<line class="gridline" x1="${x(t)}" x2="${x(t)}" y1="${pad.top}" y2="${H - pad.bottom}"/><text class="tick" x="${x(t)}" y="${H - 8}" text-anchor="middle">${t * 100}%</text>`).join('');
  const marks = rows
    .map((s, i) => {
      const a = s.accuracy;
      const e = s.expected_accuracy;
      const cy = pad.top + i * row + 26;
      const color = styles.get(s.key).color;
      const bar = (kind, low, high, y, dash) => `<line class="${kind}" x1="${x(low).toFixed(1)}" x2="${x(high).toFixed(1)}" y1="${y}" y2="${y}" stroke="${color}" stroke-dasharray="${dash}"/>
        <line class="${kind}" x1="${x(low).toFixed(1)}" x2="${x(low).toFixed(1)}" y1="${y - 5}" y2="${y + 5}" stroke="${color}"/>
        <line class="${kind}" x1="${x(high).toFixed(1)}" x2="${x(high).toFixed(1)}" y1="${y - 5}" y2="${y + 5}" stroke="${color}"/>`;
      const measured = a ? `${bar('errorbar', a.low, a.high, cy, '')}<circle cx="${x(a.rate).toFixed(1)}" cy="${cy}" r="4.5" fill="${color}"><title>${esc(s.title)}: ${percent(a.rate)} [${percent(a.low)}, ${percent(a.high)}], n = ${a.trials}</title></circle>` : '';
      // Label-free estimate just below, hollow and dashed: an estimate, not a measurement.
      const estimated = e ? `${bar('expected-errorbar', e.low, e.high, cy + 8, '3 3')}<circle class="expected" data-kind="expected" cx="${x(e.estimate).toFixed(1)}" cy="${cy + 8}" r="4" fill="white" stroke="${color}" stroke-width="2"><title>${esc(s.title)}: expected ${percent(e.estimate)} [${percent(e.low)}, ${percent(e.high)}] from calibrated confidences of ${e.count} predictions (last window)</title></circle>` : '';
      return `<g data-series="${esc(s.key)}" data-points="${(a ? 1 : 0) + (e ? 1 : 0)}">${measured}${estimated}
        <text class="row-label" x="${pad.left}" y="${cy - 12}">${esc(s.title)}</text>
      </g>`;
    })
    .join('');
  const table = rows
    .map((s) => {
      const a = s.accuracy;
      const e = s.expected_accuracy;
      return `<tr data-stream="${esc(s.key)}"><td>${swatch(styles.get(s.key))} ${esc(s.title)}</td><td class="num">${a ? percent(a.rate) : '–'}</td><td class="num">${a ? `${percent(a.low)} – ${percent(a.high)}` : '–'}</td><td class="num">${a ? `${a.hits} / ${a.trials}` : '–'}</td>`
        + `<td class="num" data-testid="expected-accuracy-row">${e ? `${percent(e.estimate)} <span class="muted">${percent(e.low)} – ${percent(e.high)}</span>${e.traffic_drifted ? ` ${DRIFTED_NOTE}` : ''}` : '–'}</td></tr>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Accuracy per stream with 95% Wilson intervals, and the label-free estimate below it">${grid}${marks}</svg>
    <table class="grid compact"><thead><tr><th>Stream</th><th>Accuracy</th><th>Wilson interval</th><th>Correct / labeled</th><th title="Mean calibrated top-1 probability of the last window, with its interval if the calibration transfers">Label-free</th></tr></thead><tbody>${table}</tbody></table>
    <p class="muted small">Expected accuracy: mean calibrated top-1 probability (temperature from the manifest). It needs no labels, and it is wrong when the class mix changes (label shift) or the same images mean other classes (concept shift); its interval covers only the chance of which predictions are right.</p>`;
}

export function renderAbResults(state) {
  if (state.comparisons.length === 0) return '<p class="empty">No experiment has two served versions with feedback yet.</p>';
  const rows = state.comparisons
    .map((c) => `<tr data-testid="ab-row" data-significant="${c.significant}">
      <td>${esc(c.experiment_id ?? 'none')}</td><td>${esc(c.a_title)}</td><td>${esc(c.b_title)}</td>
      <td class="num">${percent(c.accuracyA)}</td><td class="num">${percent(c.accuracyB)}</td>
      <td class="num">${c.difference >= 0 ? '+' : ''}${(c.difference * 100).toFixed(1)} pp</td>
      <td class="num">${fixed(c.z, 2)}</td><td class="num">${pValue(c.pValue)}</td>
      <td>${c.significant ? `<span class="badge badge-significant">significant at ${c.alpha}</span>` : `<span class="badge badge-none">not significant</span>`}</td></tr>`)
    .join('');
  return `<table class="grid"><thead><tr><th>Experiment</th><th>A</th><th>B</th><th>Acc. A</th><th>Acc. B</th><th>A − B</th><th>z</th><th>p</th><th>Result</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderAgreement(state) {
  if (state.agreement.length === 0) return '<p class="empty">No request seen by both a served version and a shadow yet.</p>';
  const rows = state.agreement
    .map((a) => `<tr><td>${esc(a.served_title)}</td><td>${esc(a.shadow_title)}</td><td class="num">${percent(a.rate)}</td><td class="num">${percent(a.low)} – ${percent(a.high)}</td><td class="num">${a.hits} / ${a.trials}</td></tr>`)
    .join('');
  return `<table class="grid"><thead><tr><th>Served</th><th>Shadow</th><th>Agreement</th><th>Wilson interval</th><th>Same class / compared</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// ---- Latency ------------------------------------------------------------------------------------------

export function renderLatencyChart(state) {
  const rows = state.streams.filter((s) => s.latency);
  if (rows.length === 0) return '<p class="empty">No closed windows yet.</p>';
  const styles = streamStyles(state);
  const W = 520;
  const row = 58;
  const pad = { left: 12, right: 96, top: 4, bottom: 4 };
  const H = pad.top + rows.length * row + pad.bottom;
  const max = Math.max(1, ...rows.map((s) => s.latency.p99));
  const x = (v) => pad.left + (v / max) * (W - pad.left - pad.right);
  const marks = rows
    .map((s, i) => {
      const y0 = pad.top + i * row;
      const color = styles.get(s.key).color;
      const bars = ['p50', 'p95', 'p99']
        .map((q, j) => {
          const v = s.latency[q];
          const y = y0 + 18 + j * 12;
          return `<rect class="latency-bar latency-${q}" data-quantile="${q}" x="${pad.left}" y="${y}" width="${Math.max(1, x(v) - pad.left).toFixed(1)}" height="10" fill="${color}"><title>${esc(s.title)} ${q}: ${ms(v)} ms</title></rect><text class="tick" x="${(x(v) + 4).toFixed(1)}" y="${y + 9}">${q} ${ms(v)} ms</text>`;
        })
        .join('');
      return `<g data-series="${esc(s.key)}" data-points="3"><text class="row-label" x="${pad.left}" y="${y0 + 13}">${esc(s.title)}</text>${bars}</g>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Latency percentiles of the last closed window per stream">${marks}</svg>`;
}

/** Every section's inner HTML, by the id of its container in index.html. */
export function renderDashboard(state, status) {
  return {
    header: renderHeader(state, status),
    legend: renderLegend(state),
    streams: renderStreamsTable(state),
    'psi-chart': renderPsiCharts(state),
    'class-chart': renderClassCharts(state),
    'accuracy-chart': renderAccuracyChart(state),
    'ab-results': renderAbResults(state),
    agreement: renderAgreement(state),
    'latency-chart': renderLatencyChart(state),
  };
}
