/** Prints phase lines with the seconds elapsed since the stack command began, so long installs show life. */
export type Progress = (message: string) => void;

export type ProgressSink = (line: string) => void;

export function createProgress(sink: ProgressSink, startedAt: number = Date.now()): Progress {
  return (message) => sink(`[stack ${formatElapsed(Date.now() - startedAt)}] ${message}`);
}

export function formatElapsed(ms: number): string {
  return `${(ms / 1000).toFixed(1).padStart(6)}s`;
}

/** Repeats `message` every `everyMs` while `work` runs, e.g. "still building MinIO (95s)". */
export async function withHeartbeat<T>(
  progress: Progress,
  message: string,
  work: Promise<T>,
  everyMs = 15_000,
): Promise<T> {
  const startedAt = Date.now();
  const timer = setInterval(() => progress(`${message} (${Math.round((Date.now() - startedAt) / 1000)}s)`), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
