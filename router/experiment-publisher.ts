import type { Producer } from 'kafkajs';
import type { AvroSerde } from '../platform/schema-registry.ts';
import { validateExperimentConfig, type ExperimentConfig } from './experiment/index.ts';

/** Validates (friendly JSON form accepted) and returns the full config, or throws with every problem listed. */
export function checkExperiment(input: unknown, updatedBy: string | null = null): ExperimentConfig {
  const result = validateExperimentConfig(
    typeof input === 'object' && input !== null ? { updated_by: updatedBy, ...input } : input,
    { updatedAt: Date.now() },
  );
  if (!result.ok) throw new Error(`experiment is invalid:\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
  return result.config;
}

/** The record of `config` for the compacted topic (key: the table), e.g. to send inside a transaction. */
export async function experimentMessage(serde: AvroSerde, topic: string, tableKey: string, config: ExperimentConfig): Promise<{ key: string; value: Buffer }> {
  return { key: tableKey, value: await serde.encode(topic, 'ExperimentConfig', config) };
}

/** Writes the experiment to the compacted topic under `tableKey`; routers pick it up without a restart. */
export async function publishExperiment(producer: Producer, serde: AvroSerde, topic: string, tableKey: string, config: ExperimentConfig): Promise<void> {
  await producer.send({ topic, acks: -1, messages: [await experimentMessage(serde, topic, tableKey, config)] });
}

/** A tombstone: routers return to their default version. */
export async function deleteExperiment(producer: Producer, topic: string, tableKey: string): Promise<void> {
  await producer.send({ topic, acks: -1, messages: [{ key: tableKey, value: null }] });
}

/**
 * Where a model's table lives on the compacted topic (router/model-tables.ts): under the router's key for the
 * default model (no model, or the default model's name), under the model's own name otherwise.
 */
export function tableFor(model: string | undefined, defaultKey: string, defaultModel: string): { key: string; model: string | null } {
  return model === undefined || model === defaultModel ? { key: defaultKey, model: null } : { key: model, model };
}
