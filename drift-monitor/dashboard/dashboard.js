// Polls GET /api/state every 2 s and redraws the sections whose HTML changed.
import { renderDashboard } from './render.js';

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
