/**
 * Loaded model versions by label (e.g. "v1" or "current"), replaceable at run time without a restart.
 * A replacement is loaded and verified completely before it is swapped in; batches already running on
 * the old session finish on it, and the old session is released once the last of them is done.
 */
import type { Logger } from 'pino';
import { PipelineError } from '../../platform/errors.ts';
import type { LoadedModel } from './load-model.ts';

export type ModelLoader = (uri: string) => Promise<LoadedModel>;

interface Entry {
  model: LoadedModel;
  inFlight: number;
  retired: boolean;
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Per label, the tail of its queued loads, so replacements of one label apply in request order. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly loader: ModelLoader,
    private readonly logger: Logger,
  ) {}

  labels(): string[] {
    return [...this.entries.keys()];
  }

  /** The model currently serving a label, for metadata; run inference through `use`. */
  get(label: string): LoadedModel | undefined {
    return this.entries.get(label)?.model;
  }

  /**
   * Loads `uri` and puts it under `label`, replacing what was there. If loading fails, the previous
   * model keeps serving and the error is thrown.
   */
  load(label: string, uri: string): Promise<LoadedModel> {
    const previous = this.pending.get(label) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.loadNow(label, uri));
    this.pending.set(label, next);
    const clear = (): void => {
      if (this.pending.get(label) === next) this.pending.delete(label);
    };
    next.then(clear, clear);
    return next;
  }

  /** Runs `fn` with the label's model; the session stays open until `fn` settles, even if replaced meanwhile. */
  async use<T>(label: string, fn: (model: LoadedModel) => Promise<T>): Promise<T> {
    const entry = this.entries.get(label);
    if (entry === undefined) {
      throw new PipelineError('inference', 'UnknownVersion', `No model is loaded as "${label}"; loaded: ${this.labels().join(', ') || 'none'}.`);
    }
    entry.inFlight++;
    try {
      return await fn(entry.model);
    } finally {
      entry.inFlight--;
      if (entry.retired && entry.inFlight === 0) await this.release(entry);
    }
  }

  /** Removes a label; its session is released once idle. */
  async unload(label: string): Promise<void> {
    const entry = this.entries.get(label);
    if (entry === undefined) return;
    this.entries.delete(label);
    await this.retire(entry);
  }

  /** Unloads everything (shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending.values()]);
    await Promise.all(this.labels().map((label) => this.unload(label)));
  }

  private async loadNow(label: string, uri: string): Promise<LoadedModel> {
    const model = await this.loader(uri);
    const old = this.entries.get(label);
    this.entries.set(label, { model, inFlight: 0, retired: false });
    this.logger.info(
      { label, version: model.manifest.version, sha256: model.sha256, replaced: old?.model.manifest.version ?? null },
      old ? 'model replaced at run time' : 'model registered',
    );
    if (old !== undefined) await this.retire(old);
    return model;
  }

  private async retire(entry: Entry): Promise<void> {
    entry.retired = true;
    if (entry.inFlight === 0) await this.release(entry);
  }

  private async release(entry: Entry): Promise<void> {
    try {
      await entry.model.session.release();
    } catch (err) {
      this.logger.warn({ version: entry.model.manifest.version, err: err instanceof Error ? err.message : String(err) }, 'releasing a model session failed');
    }
  }
}
