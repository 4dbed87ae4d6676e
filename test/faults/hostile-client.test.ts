/**
 * A hostile client cannot take the gateway's memory or another client's answers (bench/hostile-scenario.ts):
 * for HOSTILE_SECONDS (default 30) one token sends 4 MiB ids, asynchronous requests it never collects,
 * oversized, gzip-bomb and malformed bodies at its rate limit, while a second token sends one image at a time.
 * The gateway's peak resident memory must stay under its bound for two clients at the default limits, the
 * gateway must still be running, and every request of the second client must be answered with a prediction.
 */
import { describe, expect, it } from 'vitest';
import { runHostileScenario } from '../../bench/hostile-scenario.ts';
import { readGatewaySettings } from '../../gateway/settings.ts';
import { EnvReader } from '../../platform/config.ts';

const SECONDS = Number(process.env.HOSTILE_SECONDS ?? 30);
const log = (line: string): void => void process.stderr.write(`[hostile ${new Date().toISOString().slice(11, 23)}] ${line}\n`);

/**
 * What each client can make the gateway hold at the default limits: its in-flight requests' bodies (each about
 * 4 bodies' worth while parsed) and its tracked requests (27.6 KB for a settled 16-image one, measured).
 */
function boundPerClientMb(): number {
  const env = new EnvReader({ GATEWAY_TOKENS: 'a:aaaaaaaaaaaaaaaa' });
  const s = readGatewaySettings(env);
  env.done();
  return (s.maxInFlightPerClient * 4 * s.maxBodyBytes + s.maxTrackedPerClient * 27.6 * 1024) / (1024 * 1024);
}

describe('gateway under a hostile client', () => {
  it('keeps its memory under the bound and answers the other client every time', async () => {
    const result = await runHostileScenario({ seconds: SECONDS, hostileRate: 20, normalRate: 2, normalInFlight: 1, idBytes: 4 * 1024 * 1024, rssCapMb: 3072, log });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    const boundMb = result.gateway.rss_before_mb + 2 * boundPerClientMb();

    expect(result.gateway.alive_after).toBe(true);
    expect(result.gateway.peak_rss_mb, `peak RSS over the bound of ${Math.round(boundMb)} MB`).toBeLessThanOrEqual(boundMb);
    // The hostile traffic reached the gateway and was refused there.
    expect(result.hostile.by_kind['big-id']?.['400'], 'no 4 MiB id refused').toBeGreaterThan(0);
    expect(result.hostile.by_kind['oversized-streamed']?.['413'], 'no oversized body refused').toBeGreaterThan(0);
    expect(result.hostile.server_errors, 'the hostile client got a 5xx other than 503/504').toBe(0);
    expect(result.normal.sent).toBeGreaterThan(0);
    expect(result.normal.statuses).toEqual({ 200: result.normal.sent });
  });
});
