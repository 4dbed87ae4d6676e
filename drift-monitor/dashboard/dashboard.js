// Polls GET /api/state every 2 s and redraws the sections whose HTML changed; with ?rollouts=URL of the rollout
// controller's ops server, also polls its GET /api/rollouts for the rollout panel.
import { renderDashboard } from './render.js';
import { renderRollouts } from './rollouts.js';

const POLL_MS = 2000;
let lastState = null;
const drawn = new Map();

function draw(state, status) {
  const sections = renderDashboard(state, status);
  for (const [id, html] of Object.entries(sections)) {
    const element = document.getElementById(id);
    // Unchanged sections keep their DOM, so hovering a chart is not interrupted every poll.
    if (element && drawn.get(id) !== html) {
      element.innerHTML = html;
      drawn.set(id, html);
    }
  }
}

function showError(text) {
  const status = { ok: false, text };
  if (lastState) draw(lastState, status);
  else document.getElementById('header').innerHTML = `<span class="status status-error" data-testid="poll-status"></span>`;
  document.querySelector('[data-testid="poll-status"]').textContent = text;
}

async function poll() {
  try {
    const response = await fetch('api/state', { cache: 'no-store' });
    if (!response.ok) throw new Error(`GET /api/state answered ${response.status} ${response.statusText}`);
    lastState = await response.json();
    draw(lastState, { ok: true, text: 'live' });
  } catch (error) {
    showError(`Cannot reach the drift monitor (${error.message}); retrying every ${POLL_MS / 1000} s`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();

const ROLLOUTS = new URLSearchParams(location.search).get('rollouts');
let lastRollouts = null;

function drawRollouts(html) {
  const element = document.getElementById('rollouts');
  if (element && drawn.get('rollouts') !== html) {
    element.innerHTML = html;
    drawn.set('rollouts', html);
  }
}

async function pollRollouts() {
  const source = `${ROLLOUTS.replace(/\/+$/, '')}/api/rollouts`;
  let status;
  try {
    const response = await fetch(source, { cache: 'no-store' });
    if (!response.ok) throw new Error(`answered ${response.status} ${response.statusText}`);
    lastRollouts = await response.json();
    status = { ok: true, text: 'live', source };
  } catch (error) {
    status = { ok: false, text: `cannot reach the rollout controller (${error.message}); retrying every ${POLL_MS / 1000} s`, source };
  }
  drawRollouts(renderRollouts(lastRollouts, status));
  setTimeout(pollRollouts, POLL_MS);
}

if (ROLLOUTS) pollRollouts();
else drawRollouts(renderRollouts(null, { ok: true, text: 'open this page with ?rollouts=http://HOST:PORT of the rollout controller (port 9104 by default) to see its rollouts', source: 'none' }));
