/**
 * The drift dashboard of a running monitor in headless Chromium (Debian's chromium, driven by playwright-core):
 * after real predictions of an A/B test with a shadow, feedback and a darkened stretch, every plot renders data from
 * GET /api/state, the page updates when another window closes, and a screenshot lands in test/artifacts/dashboard.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import { predict, publishFeedback, publishPredictions, releaseModels, requestsFor, samples, waitForState } from '../integration/drift-monitor/helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WINDOW = 100;
const EXPERIMENT = 'ab-dashboard';
const SCREENSHOT = join(REPO_ROOT, 'test', 'artifacts', 'dashboard.png');
const h = new PipelineHarness();
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await h.close();
  await releaseModels();
});

const attr = (page: Page, selector: string, name: string): Promise<string[]> =>
  page.locator(selector).evaluateAll((nodes, n) => nodes.map((node) => node.getAttribute(n) ?? ''), name);

it('renders every plot from the running monitor, updates live, and saves a screenshot', async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (npm test runs scripts/ensure-system-packages.sh), or set CHROMIUM_PATH`).toBe(true);
  await h.connect();
  const [clean, dark] = await Promise.all([samples('mixed', 600, 4_000), samples('dark', 200, 7_000)]);
  const all = requestsFor(clean);
  const [forV1, forV2] = [all.slice(0, 300), all.slice(300)];
  const [darkFirst, darkLater] = [requestsFor(dark).slice(0, 100), requestsFor(dark).slice(100)];
  const v1 = await predict(clean, forV1, { version: 'v1', experimentId: EXPERIMENT, shadow: false });
  const v2 = await predict(clean, forV2, { version: 'v2', experimentId: EXPERIMENT, shadow: false });
  const shadow = await predict(clean, forV1, { version: 'v2', experimentId: EXPERIMENT, shadow: true });
  const v1Dark = await predict(dark, darkFirst, { version: 'v1', experimentId: EXPERIMENT, shadow: false });
  const v1DarkLater = await predict(dark, darkLater, { version: 'v1', experimentId: EXPERIMENT, shadow: false });

  const monitor = await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: String(WINDOW) });
  await publishPredictions(h, [...v1, ...v2, ...shadow]);
  await publishFeedback(h, all);
  await waitForState(monitor, (s) => s.streams.length === 3 && s.streams.every((st) => st.windows_closed === 3) && s.join.joined === 900, 90_000, 'three windows per stream');
  await publishPredictions(h, v1Dark);
  await waitForState(monitor, (s) => s.streams.some((st) => st.model_version === 'v1' && st.severity === 'significant'), 60_000, 'the darkened window');

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  await page.goto(`${monitor.opsUrl}/`);
  await page.locator('[data-testid="poll-status"]', { hasText: 'live' }).waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="psi-chart-brightness"] polyline').first().waitFor({ timeout: 30_000 });

  // PSI over time: one line per stream in each of the four metric charts, with both thresholds drawn.
  for (const metric of ['predicted_class', 'confidence', 'brightness', 'contrast']) {
    const points = (await attr(page, `[data-testid="psi-chart-${metric}"] polyline.series`, 'data-points')).map(Number);
    expect({ metric, lines: points.length }).toEqual({ metric, lines: 3 });
    expect(points.every((n) => n >= 3)).toBe(true);
    expect(await page.locator(`[data-testid="psi-chart-${metric}"] line.threshold`).count()).toBe(2);
  }
  // Class distributions against the manifest reference, ten classes per stream.
  expect(await attr(page, '[data-testid="class-bars"]', 'data-classes')).toEqual(['10', '10', '10']);
  expect(await page.locator('[data-testid="class-chart"] rect[data-kind="current"]').count()).toBe(30);
  expect(await page.locator('[data-testid="class-chart"] rect[data-kind="reference"]').count()).toBe(30);
  // Accuracy with intervals (three lines per stream), latency percentiles, the A/B row and the shadow agreement.
  expect(await page.locator('[data-testid="accuracy-chart"] .errorbar').count()).toBe(9);
  expect(await page.locator('[data-testid="latency-chart"] rect[data-quantile]').count()).toBe(9);
  expect(await page.locator('[data-testid="ab-row"]').count()).toBe(1);
  await expect(page.locator('[data-testid="agreement"] td').first().textContent()).resolves.toContain('v1');
  expect(await attr(page, '[data-testid="severity-badge"]', 'data-severity')).toContain('significant');

  // Live: another darkened window closes and the page redraws without a reload.
  const before = Math.max(...(await attr(page, '[data-testid="psi-chart-brightness"] polyline.series', 'data-points')).map(Number));
  await publishPredictions(h, v1DarkLater);
  await page.waitForFunction(
    (n) => Array.from(document.querySelectorAll('[data-testid="psi-chart-brightness"] polyline.series')).some((el) => Number(el.getAttribute('data-points')) > n),
    before, { timeout: 30_000 },
  );

  mkdirSync(join(REPO_ROOT, 'test', 'artifacts'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  process.stdout.write(`${JSON.stringify({ test: 'dashboard', screenshot: SCREENSHOT, psi_points_before: before })}\n`);
  expect(errors).toEqual([]);
}, 300_000);
