// Types of view.js (plain JavaScript so the browser loads it without a build step).

/** GET /v2/models */
export interface ModelListing {
  models: { name: string; versions: string[] }[];
}

export interface InferTarget {
  model: string;
  /** null: the model's infer route without a version (the experiment picks it). */
  version: string | null;
  path: string;
}

export type Answer =
  | { ok: true; status: number; ms: number; servedVersion: string; requestId: string; experimentId: string | null; top: { label: string; score: number }[] }
  | { ok: false; status: number; ms: number; error: string; requestId?: string | null };

export declare const TOKEN_KEY: string;
export declare function esc(value: unknown): string;
export declare function inferTargets(listing: unknown): InferTarget[];
export declare function targetKey(target: InferTarget): string;
export declare function inferRequest(file: Uint8Array): { body: Uint8Array; headers: Record<string, string> };
export declare function readAnswer(status: number, body: unknown, ms: number): Answer;
export declare const RETRIES_AFTER_429: number;
export declare function retryDelayMs(status: number, retryAfter: string | null, retriesDone: number): number | null;
export declare function formatMs(ms: number): string;
export declare function renderPending(target: InferTarget): string;
export declare function renderAnswer(target: InferTarget, answer: Answer): string;
export declare function describeListing(status: number, body: unknown): { ok: boolean; text: string };
