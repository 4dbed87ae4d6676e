/**
 * npx tsx stack/jaeger/trace-screenshot.ts <trace id | trace.json> <out.png> [--query-url URL] [--html FILE]
 * One trace as a PNG: read from Jaeger's query API (a trace id) or from a file holding its /api/traces answer or
 * one trace of it, drawn as an HTML waterfall (trace-page.ts) and photographed by headless Chromium (Debian's
 * chromium, driven by playwright-core; CHROMIUM_PATH to use another) as a small palette PNG for the README.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { exitWithUsage, parseCommandLine } from '../../platform/cli-args.ts';
import { JAEGER_ENV } from './jaeger-server.ts';
import { tracePage } from './trace-page.ts';
import type { JaegerTrace } from './trace-tree.ts';

const USAGE = 'usage: npx tsx stack/jaeger/trace-screenshot.ts <trace id | trace.json> <out.png> [--query-url URL] [--html FILE]';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: {
    'query-url': { type: 'string', default: process.env.JAEGER_QUERY_URL ?? JAEGER_ENV.JAEGER_QUERY_URL },
    html: { type: 'string' },
  },
});
const [source, out] = positionals;
if (!source || !out || !out.endsWith('.png')) exitWithUsage(USAGE, 'name a trace id or a JSON file, and the PNG to write');
if (!existsSync(CHROMIUM)) exitWithUsage(USAGE, `${CHROMIUM} is missing: apt-get install -y chromium, or set CHROMIUM_PATH`);

async function readTrace(from: string): Promise<JaegerTrace> {
  const body = /^[0-9a-f]{32}$/.test(from)
    ? await fetch(`${values['query-url']}/api/traces/${from}`).then(async (res) => {
      if (!res.ok) throw new Error(`Jaeger at ${values['query-url']} answered ${res.status} for trace ${from}`);
      return res.json() as Promise<unknown>;
    })
    : JSON.parse(await readFile(from, 'utf8')) as unknown;
  const trace = (body as { data?: JaegerTrace[] }).data?.[0] ?? body as JaegerTrace;
  if (!Array.isArray(trace.spans)) throw new Error(`${from}: no trace in it`);
  return trace;
}

const html = tracePage(await readTrace(source), { queryUrl: values['query-url'] });
if (values.html) await writeFile(values.html, html);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 400 }, deviceScaleFactor: 1 });
  await page.setContent(html, { waitUntil: 'load' });
  // A palette PNG: a few tens of kB, small enough for the README.
  await sharp(await page.screenshot({ fullPage: true })).png({ palette: true, colours: 64, compressionLevel: 9 }).toFile(out);
} finally {
  await browser.close();
}
process.stdout.write(`${out}: ${(await readFile(out)).length} bytes\n`);
