// The gateway page's DOM wiring: the token (checked with GET /v2/models, kept in sessionStorage), the dropped or
// picked file, and one inference request per model and version through the gateway's infer routes, each timed
// here. What it sends and how answers look is view.js.
import { TOKEN_KEY, describeListing, inferRequest, inferTargets, readAnswer, renderAnswer, renderPending, retryDelayMs } from './view.js';

// Below the gateway's default GATEWAY_MAX_IN_FLIGHT_PER_CLIENT (4): more at once would be refused with 429
// (a lower setting or another tab of the same token still can: those requests are sent again after Retry-After).
const CONCURRENCY = 3;

const $ = (id) => document.getElementById(id);
let listing = null;
/** Each file starts a new run; answers of an older run are dropped. */
let run = 0;
let previewUrl = null;

function setStatus(text, state) {
  const status = $('token-status');
  status.textContent = text;
  status.dataset.state = state;
}

function setEnabled(enabled) {
  $('file').disabled = !enabled;
  $('drop').dataset.enabled = String(enabled);
}

async function jsonOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Checks a token against GET /v2/models; only a token the gateway accepts is kept. */
async function connect(token) {
  setStatus('checking the token…', 'pending');
  let response;
  try {
    response = await fetch('/v2/models', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch (err) {
    setStatus(`the gateway did not answer: ${err.message}`, 'error');
    return;
  }
  const body = await jsonOf(response);
  const outcome = describeListing(response.status, body);
  setStatus(outcome.text, outcome.ok ? 'ok' : 'error');
  if (!outcome.ok) {
    if (response.status === 401) sessionStorage.removeItem(TOKEN_KEY);
    listing = null;
    setEnabled(false);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  listing = body;
  setEnabled(true);
}

/** One target's answer; the latency is that of the request answered, not of the waits before a retry. */
async function inferOne(target, request, authorization) {
  for (let retries = 0; ; retries++) {
    const started = performance.now();
    let response;
    try {
      response = await fetch(target.path, { method: 'POST', headers: { ...request.headers, authorization }, body: request.body, cache: 'no-store' });
    } catch (err) {
      return { ok: false, status: 0, ms: performance.now() - started, error: `no answer from the gateway: ${err.message}` };
    }
    const body = await jsonOf(response);
    const ms = performance.now() - started;
    const delay = retryDelayMs(response.status, response.headers.get('retry-after'), retries);
    if (delay === null) return readAnswer(response.status, body, ms);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

async function inferAll(file) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!listing || !token) return;
  const mine = ++run;
  const targets = inferTargets(listing);
  const results = $('results');
  results.dataset.state = 'running';
  results.innerHTML = targets.map(renderPending).join('');
  const request = inferRequest(new Uint8Array(await file.arrayBuffer()));
  let next = 0;
  const worker = async () => {
    while (next < targets.length && mine === run) {
      const i = next++;
      const answer = await inferOne(targets[i], request, `Bearer ${token}`);
      if (mine === run) results.children[i].outerHTML = renderAnswer(targets[i], answer);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, targets.length) }, worker));
  if (mine === run) results.dataset.state = 'done';
}

function show(file) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  $('preview-image').src = previewUrl;
  $('preview-caption').textContent = `${file.name} (${file.size.toLocaleString()} bytes)`;
  $('preview').hidden = false;
  void inferAll(file);
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const field = $('token');
  const token = field.value.trim();
  field.value = '';
  if (token) void connect(token);
});

$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  listing = null;
  setEnabled(false);
  setStatus('token forgotten', 'pending');
});

$('file').addEventListener('change', (event) => {
  const file = event.target.files?.[0];
  // Cleared, so picking the same file again sends it again.
  event.target.value = '';
  if (file) show(file);
});

const drop = $('drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const file = event.dataTransfer?.files?.[0];
  if (file && listing) show(file);
});

const kept = sessionStorage.getItem(TOKEN_KEY);
if (kept) void connect(kept);
