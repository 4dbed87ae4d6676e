/** Reading kafkajs errors, which wrap the broker's error (with its `type`) in retry and connection errors. */

/** The broker error types and error names along the cause chain, outermost first. */
export function kafkaErrorTypes(err: unknown): string[] {
  const types: string[] = [];
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const { type, name } = e as { type?: unknown; name?: unknown };
    if (typeof type === 'string') types.push(type);
    if (typeof name === 'string') types.push(name);
  }
  return types;
}

/** Errors meaning another producer with the same transactional id has taken over (a newer epoch). */
const FENCING = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

export function isFencing(err: unknown): boolean {
  return kafkaErrorTypes(err).some((t) => FENCING.has(t));
}

/** A readable one-line description: the message plus the broker error type when there is one. */
export function describeKafkaError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const type = kafkaErrorTypes(err).find((t) => /^[A-Z_]+$/.test(t));
  return type && !message.includes(type) ? `${message} (${type})` : message;
}
