/**
 * The request fields a predicate or `sticky_by` can name, and how to read them. A field is "missing" when the
 * request has no value for it: a null union, or an absent metadata entry or header. An empty string is a value.
 */
import { REQUEST_FIELDS, type RequestField, type RoutingInput } from './types.ts';

export type FieldRef =
  | { kind: 'request'; name: RequestField }
  | { kind: 'metadata'; name: string }
  | { kind: 'header'; name: string };

export type FieldReader = (input: RoutingInput) => string | undefined;

export const FIELD_GRAMMAR = `${REQUEST_FIELDS.join(' | ')} | metadata.<name> | header.<name>`;

/** null when `field` is not in FIELD_GRAMMAR. */
export function parseFieldName(field: string): FieldRef | null {
  if ((REQUEST_FIELDS as readonly string[]).includes(field)) return { kind: 'request', name: field as RequestField };
  for (const kind of ['metadata', 'header'] as const) {
    const prefix = `${kind}.`;
    if (field.startsWith(prefix) && field.length > prefix.length) return { kind, name: field.slice(prefix.length) };
  }
  return null;
}

export function fieldReader(ref: FieldRef): FieldReader {
  const { name } = ref;
  switch (ref.kind) {
    case 'request':
      return (input) => input.request[ref.name] ?? undefined;
    // Object.hasOwn: a key such as "constructor" must not read Object.prototype.
    case 'metadata':
      return (input) => (Object.hasOwn(input.request.metadata, name) ? input.request.metadata[name] : undefined);
    case 'header':
      return (input) => (Object.hasOwn(input.headers, name) ? input.headers[name] : undefined);
  }
}
