import type { Variant } from './events.ts';

/** One monitored stream of predictions: a model version, served or shadow, within an experiment (or none). */
export interface StreamId {
  model_name: string;
  model_version: string;
  variant: Variant;
  experiment_id: string | null;
}

/** `<length>:<text>`: concatenations of these cannot be ambiguous whatever characters the text holds. */
function part(text: string): string {
  return `${text.length}:${text}`;
}

/**
 * A string key for a StreamId (built per event, so plain concatenation rather than JSON). It never is
 * '__proto__' nor integer-like, so it is safe as a plain-object key that keeps insertion order.
 */
export function streamKey(id: StreamId): string {
  return `${part(id.model_name)}${part(id.model_version)}${id.variant}${id.experiment_id === null ? '-' : part(id.experiment_id)}`;
}

/** The same, for a model version alone (where the reference or warm-up baseline lives). */
export function modelKey(id: Pick<StreamId, 'model_name' | 'model_version'>): string {
  return `${part(id.model_name)}${part(id.model_version)}`;
}

export function streamIdOf(p: {
  model_name: string;
  model_version: string;
  experiment_id: string | null;
  shadow: boolean;
}): StreamId {
  return {
    model_name: p.model_name,
    model_version: p.model_version,
    variant: p.shadow ? 'shadow' : 'served',
    experiment_id: p.experiment_id,
  };
}
