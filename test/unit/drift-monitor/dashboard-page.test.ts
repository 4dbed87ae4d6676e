// Loads the real page in headless Chromium against a fake GET /api/state and checks that the plots hold data.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardState } from '../../../drift-monitor/analytics/dashboard-state.ts';
import { dashboardAsset } from '../../../drift-monitor/dashboard/assets.ts';
import { DASHBOARD_CTX, T0, populatedDriftState } from './fixtures.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('dashboard page in headless Chromium', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const state = JSON.stringify(buildDashboardState(populatedDriftState(), DASHBOARD_CTX, T0));
    server = createServer((req, res) => {
      const { pathname } = new URL(req.url ?? '/', 'http://localhost');
      if (pathname === '/api/state') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(state);
        return;
      }
      const asset = dashboardAsset(pathname);
      if (!asset) {
        res.writeHead(404).end();
        return;
      }
      readFile(asset.file).then((body) => res.writeHead(200, { 'content-type': asset.contentType }).end(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('renders every chart from /api/state', { timeout: 60_000 }, async () => {
    const { stdout } = await promisify(execFile)(
      CHROMIUM,
      ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom', url],
      { timeout: 50_000, maxBuffer: 32 * 1024 * 1024 },
    );
    const psi = stdout.slice(stdout.indexOf('data-testid="psi-chart"'), stdout.indexOf('data-testid="class-chart"'));
    const points = [...psi.matchAll(/<polyline [^>]*data-points="(\d+)"/g)].map((m) => Number(m[1]));
    expect(points).toHaveLength(4 * 3); // 4 metrics × 3 streams
    expect(points.every((n) => n >= 2)).toBe(true);
    expect(stdout.match(/data-kind="current"/g)).toHaveLength(12);
    expect(stdout.match(/class="errorbar"/g)).toHaveLength(9);
    expect(stdout).toContain('data-testid="ab-row"');
    expect(stdout).toMatch(/data-testid="poll-status">live</);
  });
});
