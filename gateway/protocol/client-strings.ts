/**
 * Pure: limits on the strings a client sends. A string the gateway keeps (the request `id`, a stickiness key)
 * is bounded in UTF-8 bytes, so what a tracked request holds has a known size; a string only echoed in an
 * error is cut short, so a refusal is never as large as what it refuses.
 */
import { HttpError } from '../http/http-error.ts';

const ECHO_CHARS = 64;

/**
 * `value` as JSON for an error message, cut to its first few dozen characters. Arrays and objects are named by
 * type, never serialised: a deeply nested one would overflow the stack.
 */
export function quoted(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > ECHO_CHARS ? `${text.slice(0, ECHO_CHARS)}…` : text;
  return typeof value === 'string' ? JSON.stringify(cut) : cut;
}

/** `value` when it fits in `maxBytes` UTF-8 bytes, else a 400 naming the limit and GATEWAY_MAX_STRING_BYTES. */
export function keptString(value: string, what: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(value);
  if (bytes > maxBytes) throw new HttpError(400, `${what} is ${bytes} bytes, over the limit of ${maxBytes} (GATEWAY_MAX_STRING_BYTES)`);
  return value;
}
