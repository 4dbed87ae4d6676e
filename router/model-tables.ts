import type { Logger } from '../platform/logger.ts';
import { MODEL_NAME_PATTERN, servingLabel } from '../platform/topics.ts';
import type { ExperimentConfig } from './experiment/index.ts';
import { RoutingTable, type ApplyOutcome } from './routing-table.ts';

/** Whether a served version (named by its serving label, platform/topics.ts) is down. */
export type LabelDown = (label: string) => boolean;

/** What one experiments record means for this router. */
export type RecordTarget =
  | { kind: 'default' }
  | { kind: 'model'; model: string }
  /** Another router's table (a different ROUTER_EXPERIMENT_KEY) or not a table at all: left alone. */
  | { kind: 'ignore' }
  | { kind: 'reject'; error: string };

export interface ResolvedTable {
  /** null: the deployment's default model. */
  model: string | null;
  table: RoutingTable;
}

/**
 * The routing tables of every model this router serves. The default model's table is the record under
 * ROUTER_EXPERIMENT_KEY on the compacted experiments topic (a plain route to ROUTER_DEFAULT_VERSION until one is
 * published); any other model's table is the record keyed by the model's name whose `model` field says the same,
 * and a tombstone under that key takes the model out of service. Requests for a model without a table are
 * dead-lettered by the caller.
 */
export class ModelTables {
  readonly defaultTable: RoutingTable;
  private readonly models = new Map<string, RoutingTable>();

  constructor(
    private readonly o: { tableKey: string; defaultModel: string; fallbackVersion: string; logger: Logger; labelDown?: LabelDown },
  ) {
    this.defaultTable = new RoutingTable(o.fallbackVersion, o.logger, this.versionDown(null));
  }

  /** Pure: which table a record with this key and (decoded) value is for. */
  target(key: string, value: unknown | null): RecordTarget {
    if (key === this.o.tableKey) {
      const model = modelOf(value);
      if (model !== null && model !== this.o.defaultModel) {
        return { kind: 'reject', error: `model: the table under key "${key}" routes the default model ${this.o.defaultModel}; publish model ${model}'s table under the key "${model}" (npm run experiment -- --model ${model})` };
      }
      return { kind: 'default' };
    }
    if (!MODEL_NAME_PATTERN.test(key)) return { kind: 'ignore' };
    if (value === null) return this.models.has(key) ? { kind: 'model', model: key } : { kind: 'ignore' };
    const model = modelOf(value);
    if (model === null) return { kind: 'ignore' };
    if (model !== key) return { kind: 'reject', error: `model: "${model}" published under the key "${key}"; a model's table is keyed by its name` };
    if (model === this.o.defaultModel) {
      return { kind: 'reject', error: `model: ${model} is the default model (DEFAULT_MODEL), whose table is the record under key "${this.o.tableKey}"; publish it without --model` };
    }
    return { kind: 'model', model };
  }

  /** Whether records under this key are a table this router holds (the default one, or a served model's). */
  follows(key: string): boolean {
    return key === this.o.tableKey || this.models.has(key);
  }

  /** Applies a record already resolved by `target`; a tombstone for a model removes its table. */
  apply(target: { kind: 'default' } | { kind: 'model'; model: string }, value: unknown | null): ApplyOutcome {
    if (target.kind === 'default') return this.defaultTable.apply(value);
    if (value === null) {
      this.models.delete(target.model);
      this.o.logger.warn({ model: target.model }, 'experiment deleted; requests for this model are dead-lettered until a new one is published');
      return { applied: true, config: null };
    }
    const table = this.models.get(target.model) ?? new RoutingTable('', this.o.logger.child({ model: target.model }), this.versionDown(target.model));
    const outcome = table.apply(value);
    if (outcome.applied) this.models.set(target.model, table);
    return outcome;
  }

  /** The table for a request's `model` (null, absent or the default model's name: the default table). */
  resolve(model: string | null | undefined): ResolvedTable | undefined {
    if (model === null || model === undefined || model === this.o.defaultModel) return { model: null, table: this.defaultTable };
    const table = this.models.get(model);
    return table ? { model, table } : undefined;
  }

  /** Every model with a table, the default one first. */
  get names(): string[] {
    return [this.o.defaultModel, ...[...this.models.keys()].sort()];
  }

  /** Active experiments per model, for the info metric and the start log. */
  get experiments(): { model: string; config: ExperimentConfig | null }[] {
    return [
      { model: this.o.defaultModel, config: this.defaultTable.experiment },
      ...[...this.models].map(([model, table]) => ({ model, config: table.experiment })),
    ];
  }

  /** Serving labels whose health matters: the versions of every table with a fallback rule. */
  get labelsWithFallback(): string[] {
    const labels = this.defaultTable.versionsWithFallback.map((v) => servingLabel(v, null, this.o.defaultModel));
    for (const [model, table] of this.models) labels.push(...table.versionsWithFallback.map((v) => servingLabel(v, model, this.o.defaultModel)));
    return labels;
  }

  private versionDown(model: string | null): (version: string) => boolean {
    return (version) => this.o.labelDown?.(servingLabel(version, model, this.o.defaultModel)) ?? false;
  }
}

function modelOf(value: unknown | null): string | null {
  const model = (value as { model?: unknown } | null)?.model;
  return typeof model === 'string' ? model : null;
}
