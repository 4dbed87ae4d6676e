// Pure rendering of the rollout panel: GET /api/rollouts of the rollout controller (rollouts/controller.ts view())
// in, HTML out. Like render.js: no DOM access, every text from the pipeline through esc().
import { esc } from './render.js';

const STEP_STATES = { done: 'done', current: 'current', failed: 'failed', pending: 'pending' };
const time = (ms) => (ms === null || ms === undefined ? '–' : new Date(ms).toLocaleTimeString([], { hour12: false }));
const percent = (x) => `${(x * 100).toFixed(1)}%`;

/** A guard's number as its kind reads best: rates and accuracy drops in percent, latencies in ms, PSI bare. */
export function guardNumber(name, x) {
  if (x === null || x === undefined) return '–';
  if (name === 'latency') return `${x.toFixed(0)} ms`;
  if (name === 'psi') return x.toFixed(3);
  return percent(x);
}

function stepLabel(step) {
  return step.shadow ? `${step.name} (shadow)` : step.name;
}

/** Each step's state: done before the current one, current (or failed, or done when completed) at it, pending after. */
export function stepStates(rollout) {
  return rollout.spec.steps.map((_, i) => {
    if (i < rollout.step_index) return STEP_STATES.done;
    if (i > rollout.step_index) return STEP_STATES.pending;
    if (rollout.status === 'completed') return STEP_STATES.done;
    if (rollout.status === 'rolled_back' || rollout.status === 'aborted') return STEP_STATES.failed;
    return STEP_STATES.current;
  });
}

function timeline(rollout) {
  const states = stepStates(rollout);
  const steps = rollout.spec.steps
    .map((step, i) => `<li class="step step-${states[i]}" data-testid="rollout-step" data-state="${states[i]}"><span class="step-n">${i + 1}</span> ${esc(stepLabel(step))}<span class="muted"> ≥ ${step.min_duration_seconds} s, ${step.min_labelled} labels</span></li>`)
    .join('');
  return `<ol class="steps">${steps}</ol>`;
}

function guardRows(guards) {
  return guards
    .map((g) => `<tr data-testid="rollout-guard" data-guard="${esc(g.name)}" data-outcome="${esc(g.outcome)}"><td>${esc(g.name)}</td><td><span class="badge badge-${esc(g.outcome)}">${esc(g.outcome)}</span></td>
      <td class="num">${esc(guardNumber(g.name, g.observed))}</td><td class="num">${esc(guardNumber(g.name, g.limit))}</td><td class="message">${esc(g.message)}</td></tr>`)
    .join('');
}

function guardSummary(guards) {
  return guards
    .filter((g) => g.outcome !== 'off')
    .map((g) => `<span class="guard guard-${esc(g.outcome)}" title="${esc(g.message)}">${esc(g.name)} ${esc(guardNumber(g.name, g.observed))}${g.limit === null ? '' : ` / ${esc(guardNumber(g.name, g.limit))}`}</span>`)
    .join(' ');
}

function decisionRows(rollout) {
  return [...rollout.decisions]
    .reverse()
    .map((d) => {
      const step = d.previous_step_index === null ? `${d.step_index + 1}` : `${d.previous_step_index + 1} → ${d.step_index + 1}`;
      return `<tr data-testid="rollout-decision" data-decision="${esc(d.decision)}"><td>${esc(time(d.decided_at))}</td><td class="num">#${d.seq}</td>
        <td><span class="badge decision-${esc(d.decision)}">${esc(d.decision.replace('_', ' '))}</span></td><td>${esc(step)} ${esc(d.step_name)}</td>
        <td class="message">${esc(d.reason)}</td><td>${guardSummary(d.guards)}</td></tr>`;
    })
    .join('');
}

function rolloutCard(rollout) {
  const spec = rollout.spec;
  const live = rollout.status === 'running' || rollout.status === 'paused';
  return `<article class="rollout" data-testid="rollout" data-rollout="${esc(rollout.id)}" data-status="${esc(rollout.status)}">
    <h3>${esc(rollout.id)} <span class="muted">${esc(spec.baseline)} → ${esc(spec.candidate)} · table ${esc(spec.table)}</span>
      <span class="badge status-${esc(rollout.status)}" data-testid="rollout-status">${esc(rollout.status.replace('_', ' '))}</span>
      <span class="muted">step ${rollout.step_index + 1}/${rollout.step_count} “${esc(rollout.step_name)}” since ${esc(time(rollout.step_started_at))}</span></h3>
    ${timeline(rollout)}
    <h4>Guards ${live ? 'now' : 'at the last decision'}</h4>
    <table class="grid compact"><thead><tr><th>Guard</th><th>Outcome</th><th>Observed</th><th>Limit</th><th>Why</th></tr></thead><tbody>${guardRows(rollout.guards)}</tbody></table>
    <h4>Decisions</h4>
    <table class="grid compact"><thead><tr><th>Time</th><th>#</th><th>Decision</th><th>Step</th><th>Reason</th><th>Guards (observed / limit)</th></tr></thead><tbody>${decisionRows(rollout)}</tbody></table>
  </article>`;
}

/** The panel's HTML; `view` is null until the controller answered once. */
export function renderRollouts(view, status) {
  const source = `<p class="meta"><span>Source ${esc(status.source)}</span><span class="status status-${status.ok ? 'ok' : 'error'}" data-testid="rollouts-status">${esc(status.text)}</span></p>`;
  if (!view) return source;
  if (view.rollouts.length === 0) return `${source}<p class="empty">No rollouts yet: npm run rollout -- start rollouts/examples/v2-progressive.json</p>`;
  const note = view.evaluating ? '' : '<p class="muted">The controller is reading its evidence again after a restart; guards are evaluated once it has caught up.</p>';
  return `${source}${note}${view.rollouts.map(rolloutCard).join('')}`;
}
