/** A one-line progress bar with rate and ETA for long CLI runs; redraws in place on a TTY, prints lines otherwise. */
export interface ProgressBar {
  tick(n?: number): void;
  done(): void;
}

export function formatProgress(label: string, done: number, total: number, elapsedMs: number): string {
  const width = 24;
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * width);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const etaS = rate > 0 ? Math.max(0, (total - done) / rate) : Infinity;
  const eta = Number.isFinite(etaS) ? `${etaS.toFixed(0)}s` : '?';
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${rate.toFixed(0)}/s ETA ${eta}`;
}

export function createProgressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const started = Date.now();
  let done = 0;
  let lastDraw = 0;
  const draw = (final: boolean): void => {
    const now = Date.now();
    // Without a TTY (CI logs) a line every 2 s is enough.
    if (!final && now - lastDraw < (stream.isTTY ? 100 : 2_000)) return;
    lastDraw = now;
    const line = formatProgress(label, done, total, now - started);
    stream.write(stream.isTTY ? `\r${line}${final ? '\n' : ''}` : `${line}\n`);
  };
  return {
    tick(n = 1) {
      done += n;
      draw(false);
    },
    done() {
      draw(true);
    },
  };
}
