// Pure logic of the gateway page (gateway/page/page.js wires it to the DOM): which infer routes to call, the
// request body it sends, and the answers as HTML. No DOM access here, so it runs in Node for tests and in the
// browser unchanged (plain JavaScript so the browser loads it without a build step). Every text that came from
// the gateway (model names, labels, error messages) goes through esc().

/** sessionStorage key of the bearer token: kept for this tab only, never written into a page or a URL. */
export const TOKEN_KEY = 'imgpipe-gateway-token';

export function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/**
 * Per model of GET /v2/models: the route a client that names no version uses (the experiment picks the version),
 * then each version pinned through /versions/{v}, the same infer routes any client calls.
 */
export function inferTargets(listing) {
  const models = Array.isArray(listing?.models) ? listing.models : [];
  return models.flatMap((m) => {
    const base = `/v2/models/${encodeURIComponent(m.name)}`;
    return [
      { model: m.name, version: null, path: `${base}/infer` },
      ...m.versions.map((v) => ({ model: m.name, version: v, path: `${base}/versions/${encodeURIComponent(v)}/infer` })),
    ];
  });
}

/** A stable id for a target, for the DOM and for tests. */
export function targetKey(target) {
  return `${target.model}/${target.version ?? '*'}`;
}

/**
 * An inference request carrying the file as binary tensor data (the extension tritonclient uses): the JSON header,
 * then one BYTES element (4-byte little-endian length, then the file's bytes). No base64: a 10 MB photo stays
 * 10 MB. Top labels and scores come back as JSON.
 */
export function inferRequest(file) {
  const header = new TextEncoder().encode(JSON.stringify({
    inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 4 + file.length } }],
    outputs: [{ name: 'top_labels' }, { name: 'top_scores' }],
  }));
  const body = new Uint8Array(header.length + 4 + file.length);
  body.set(header, 0);
  new DataView(body.buffer).setUint32(header.length, file.length, true);
  body.set(file, header.length + 4);
  return {
    body,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

function output(body, name) {
  const found = Array.isArray(body?.outputs) ? body.outputs.find((o) => o?.name === name) : undefined;
  return Array.isArray(found?.data) ? found.data : null;
}

/**
 * The gateway's answer to one target: the top-k with the version that served, or its error ({"error": ...} in
 * the protocol). `body` is the parsed JSON or null when the answer was not JSON; `ms` the latency the page measured.
 */
export function readAnswer(status, body, ms) {
  if (status === 200) {
    const labels = output(body, 'top_labels');
    const scores = output(body, 'top_scores');
    if (labels && scores && labels.length === scores.length) {
      return {
        ok: true, status, ms,
        servedVersion: String(body.model_version ?? ''),
        requestId: String(body.parameters?.request_id ?? ''),
        experimentId: body.parameters?.experiment_id === undefined ? null : String(body.parameters.experiment_id),
        top: labels.map((label, i) => ({ label: String(label), score: Number(scores[i]) })),
      };
    }
    return { ok: false, status, ms, error: 'the answer has no top_labels and top_scores outputs' };
  }
  const error = typeof body?.error === 'string' ? body.error : `the gateway answered HTTP ${status}`;
  return { ok: false, status, ms, error, requestId: body?.request_id === undefined ? null : String(body.request_id) };
}

/** Tries of one request after a 429 (the client's rate or in-flight limit), each after the answer's Retry-After. */
export const RETRIES_AFTER_429 = 2;

/** Milliseconds to wait before sending a request again, or null to show this answer: only a 429 is retried. */
export function retryDelayMs(status, retryAfter, retriesDone) {
  if (status !== 429 || retriesDone >= RETRIES_AFTER_429) return null;
  const seconds = Number(retryAfter);
  return retryAfter !== null && Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 5) * 1000 : 1000;
}

export function formatMs(ms) {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

function heading(target, latency = '') {
  const version = target.version === null ? 'experiment’s choice' : target.version;
  return `<header><h3><span class="model">${esc(target.model)}</span> <span class="version">${esc(version)}</span></h3>${latency}</header>`;
}

function attributes(target, state, extra = '') {
  return `class="result result-${state}" data-testid="result" data-key="${esc(targetKey(target))}" data-model="${esc(target.model)}" data-version="${esc(target.version ?? '')}" data-state="${state}"${extra}`;
}

/** A card while its request is on the way. */
export function renderPending(target) {
  return `<article ${attributes(target, 'pending')}>${heading(target)}<p class="note">asking ${esc(target.path)}…</p></article>`;
}

/** A card with the answer: the top-k as a table with score bars, or the gateway's status and error. */
export function renderAnswer(target, answer) {
  const latency = `<span class="latency" data-testid="latency" data-ms="${answer.ms.toFixed(1)}">${esc(formatMs(answer.ms))}</span>`;
  if (!answer.ok) {
    return `<article ${attributes(target, 'error', ` data-status="${answer.status}"`)}>${heading(target, latency)}`
      + `<p class="meta"><span class="status" data-testid="status">HTTP ${answer.status}</span></p>`
      + `<p class="error" data-testid="error">${esc(answer.error)}</p></article>`;
  }
  const rows = answer.top.map((t, i) => `<tr data-testid="top" data-label="${esc(t.label)}" data-score="${t.score}">`
    + `<td class="rank">${i + 1}</td><td class="label">${esc(t.label)}</td>`
    + `<td class="bar"><meter min="0" max="1" value="${t.score}"></meter></td><td class="score">${t.score.toFixed(4)}</td></tr>`).join('');
  const served = `served by <b data-testid="served-version">${esc(answer.servedVersion)}</b>`;
  const experiment = answer.experimentId === null ? '' : ` · experiment ${esc(answer.experimentId)}`;
  return `<article ${attributes(target, 'ok', ` data-status="200" data-request-id="${esc(answer.requestId)}"`)}>${heading(target, latency)}`
    + `<p class="meta">${served}${experiment}</p>`
    + `<table class="top"><tbody>${rows}</tbody></table>`
    + `<p class="request-id">request ${esc(answer.requestId)}</p></article>`;
}

/** The answer to the token check (GET /v2/models): what the page says before it lets a file be dropped. */
export function describeListing(status, body) {
  if (status === 200 && Array.isArray(body?.models)) {
    const models = body.models.map((m) => `${m.name} (${m.versions.join(', ')})`).join('; ');
    return { ok: true, text: body.models.length === 0 ? 'the gateway serves no model' : `models: ${models}` };
  }
  const error = typeof body?.error === 'string' ? body.error : 'no answer in the protocol\'s shape';
  return { ok: false, text: `HTTP ${status}: ${error}` };
}
