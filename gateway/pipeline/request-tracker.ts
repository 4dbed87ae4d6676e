/**
 * The gateway's requests between publishing and answering, by id. Predictions and dead letters read from the
 * topics settle them; a waiting HTTP handler is woken, an asynchronous one is kept for GET /v2/results/{id}.
 * Shadow copies never settle a request: only the served prediction (or the served copy's dead letter) answers.
 * Pure given the clock: no Kafka here, so the rules are unit-tested.
 */
import { HttpError } from '../http/http-error.ts';
import { deadLetterError, type DeadLetterFacts } from '../protocol/dead-letter-status.ts';

export type Outcome<S> = { ok: true; predictions: S[] } | { ok: false; error: HttpError };

export interface TrackedRequest<M> {
  inferenceId: string;
  /** Who asked: results are shown to that client only. */
  client: string;
  /** One pipeline request id per image, in input order. */
  requestIds: string[];
  /** What the answer needs (model, pinned version, outputs asked for). */
  meta: M;
}

export type Lookup<S, M> = { state: 'pending'; meta: M } | { state: 'settled'; outcome: Outcome<S>; meta: M };

interface Entry<S, M> extends TrackedRequest<M> {
  predictions: (S | undefined)[];
  remaining: number;
  outcome: Outcome<S> | undefined;
  expiresAt: number;
  /** Woken once the outcome is set; they read it from the entry. */
  waiters: Set<() => void>;
}

export interface TrackerOptions<P, S> {
  /** All clients together. */
  maxTracked: number;
  /** One client: its backlog makes that client wait (429), never the others. */
  maxTrackedPerClient: number;
  /** Settled results are kept this long; a request with no answer is given up after it too. */
  ttlMs: number;
  clock?: () => number;
  /** What of a prediction is kept until the answer is sent or collected: only what the answer needs. */
  keep: (p: P) => S;
  /** Sees a served copy's dead letter, full message included, before the client gets the generic answer. */
  onDeadLetter?: (facts: DeadLetterFacts, request: { inferenceId: string; client: string }) => void;
}

/**
 * P is what the topics give, S what is kept of it. S defaults to unknown so that the result listener, which only
 * feeds the tracker, can take any tracker of its predictions whatever they are kept as.
 */
export class RequestTracker<P extends { request_id: string; shadow: boolean }, M, S = unknown> {
  private readonly entries = new Map<string, Entry<S, M>>();
  private readonly byRequestId = new Map<string, { entry: Entry<S, M>; index: number }>();
  private readonly perClient = new Map<string, number>();
  private readonly clock: () => number;

  constructor(private readonly opts: TrackerOptions<P, S>) {
    this.clock = opts.clock ?? Date.now;
  }

  /** Starts tracking before anything is published, so an answer can never arrive unseen. */
  track(request: TrackedRequest<M>): void {
    const { client } = request;
    // The client's own uncollected results make room first: another client's are dropped only when the
    // gateway as a whole is full.
    if (this.trackedFor(client) >= this.opts.maxTrackedPerClient) this.evictOneSettled((e) => e.client === client);
    if (this.trackedFor(client) >= this.opts.maxTrackedPerClient) {
      throw new HttpError(429, `client ${client} has ${this.trackedFor(client)} requests waiting for answers, its limit (GATEWAY_MAX_TRACKED_PER_CLIENT); retry once some are answered`, { headers: { 'retry-after': '1' } });
    }
    if (this.entries.size >= this.opts.maxTracked) this.evictOneSettled((e) => e.client === client);
    if (this.entries.size >= this.opts.maxTracked) this.evictOneSettled(() => true);
    if (this.entries.size >= this.opts.maxTracked) {
      throw new HttpError(503, `the gateway is tracking ${this.entries.size} requests, its limit (GATEWAY_MAX_TRACKED); retry shortly`, { headers: { 'retry-after': '1' } });
    }
    const entry: Entry<S, M> = {
      ...request,
      predictions: request.requestIds.map(() => undefined),
      remaining: request.requestIds.length,
      outcome: undefined,
      expiresAt: this.clock() + this.opts.ttlMs,
      waiters: new Set(),
    };
    this.entries.set(request.inferenceId, entry);
    this.perClient.set(client, this.trackedFor(client) + 1);
    request.requestIds.forEach((id, index) => this.byRequestId.set(id, { entry, index }));
  }

  /** Whether a record with this request id is worth decoding: checked from the header, before Avro. */
  wants(requestId: string): boolean {
    const hit = this.byRequestId.get(requestId);
    return hit !== undefined && hit.entry.outcome === undefined;
  }

  /** Records a prediction; true when it settled its request. Shadows, duplicates and strangers are ignored. */
  prediction(p: P): boolean {
    const hit = this.byRequestId.get(p.request_id);
    if (!hit || p.shadow || hit.entry.outcome || hit.entry.predictions[hit.index] !== undefined) return false;
    hit.entry.predictions[hit.index] = this.opts.keep(p);
    hit.entry.remaining -= 1;
    if (hit.entry.remaining > 0) return false;
    this.settle(hit.entry, { ok: true, predictions: hit.entry.predictions as S[] });
    return true;
  }

  /** A dead letter of the served copy fails the whole request at once; a shadow copy's is ignored. */
  deadLetter(facts: DeadLetterFacts, shadow: boolean): boolean {
    const hit = this.byRequestId.get(facts.requestId);
    if (!hit || shadow || hit.entry.outcome) return false;
    this.opts.onDeadLetter?.(facts, { inferenceId: hit.entry.inferenceId, client: hit.entry.client });
    this.settle(hit.entry, { ok: false, error: deadLetterError(facts, hit.entry.inferenceId) });
    return true;
  }

  /** Resolves with the outcome, or undefined when `timeoutMs` passes first (the request stays tracked). */
  wait(inferenceId: string, timeoutMs: number): Promise<Outcome<S> | undefined> {
    const entry = this.entries.get(inferenceId);
    if (!entry) return Promise.resolve(undefined);
    if (entry.outcome) return Promise.resolve(entry.outcome);
    return new Promise((resolve) => {
      const finish = (outcome: Outcome<S> | undefined): void => {
        clearTimeout(timer);
        entry.waiters.delete(wake);
        resolve(outcome);
      };
      const wake = (): void => finish(entry.outcome);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      entry.waiters.add(wake);
    });
  }

  /** A request's state for its own client; undefined when unknown, expired or someone else's. */
  lookup(inferenceId: string, client: string): Lookup<S, M> | undefined {
    const entry = this.entries.get(inferenceId);
    if (!entry || entry.client !== client || entry.expiresAt < this.clock()) return undefined;
    return entry.outcome ? { state: 'settled', outcome: entry.outcome, meta: entry.meta } : { state: 'pending', meta: entry.meta };
  }

  /** Stops tracking: answered synchronously, or never published. */
  forget(inferenceId: string): void {
    const entry = this.entries.get(inferenceId);
    if (!entry) return;
    this.entries.delete(inferenceId);
    for (const id of entry.requestIds) this.byRequestId.delete(id);
    const left = this.trackedFor(entry.client) - 1;
    if (left > 0) this.perClient.set(entry.client, left);
    else this.perClient.delete(entry.client);
  }

  /** Requests one client has waiting or uncollected. */
  trackedFor(client: string): number {
    return this.perClient.get(client) ?? 0;
  }

  /** Drops what has expired: settled results after the TTL, and requests never answered within it. */
  sweep(): number {
    const now = this.clock();
    let dropped = 0;
    for (const entry of this.entries.values()) {
      if (entry.expiresAt < now) {
        this.forget(entry.inferenceId);
        dropped += 1;
      }
    }
    return dropped;
  }

  get tracked(): number {
    return this.entries.size;
  }

  get waiting(): number {
    let n = 0;
    for (const entry of this.entries.values()) if (!entry.outcome) n += 1;
    return n;
  }

  private settle(entry: Entry<S, M>, outcome: Outcome<S>): void {
    entry.outcome = outcome;
    entry.expiresAt = this.clock() + this.opts.ttlMs;
    for (const wake of [...entry.waiters]) wake();
  }

  /** Makes room by dropping the oldest settled result nobody collected, among those `which` picks. */
  private evictOneSettled(which: (entry: Entry<S, M>) => boolean): void {
    for (const entry of this.entries.values()) {
      if (entry.outcome && which(entry)) {
        this.forget(entry.inferenceId);
        return;
      }
    }
  }
}
