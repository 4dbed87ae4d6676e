import type { IHeaders } from 'kafkajs';

/** Header names every stage reads and writes (besides `traceparent`). */
export const HEADER = {
  requestId: 'x-request-id',
  modelVersion: 'x-model-version',
  experimentId: 'x-experiment-id',
  shadow: 'x-shadow',
  stage: 'x-dlq-stage',
} as const;

/** kafkajs gives header values as Buffer | string | arrays; stages compare and forward them as strings. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const text = valueString(value);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/** One header as a string, as headersToStrings reads it, without converting the others. */
export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  return valueString(headers?.[name]);
}

/** A header's first value as a string. */
function valueString(value: IHeaders[string]): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.toString();
}
