/**
 * Pure: the HTTP answer for a request the pipeline dead-lettered. The client's input is at fault (422) when
 * the image or its URI was refused, the path's version is (404) when the experiment does not know it; a
 * dependency that kept failing after retries is a 502, anything else the pipeline's own fault (500).
 */
import { HttpError } from '../http/http-error.ts';

const CLIENT_INPUT = new Set(['NotAnImage', 'TooManyPixels', 'TooLarge', 'NotFound', 'AccessDenied', 'ForbiddenUri', 'UnsupportedUri']);
const UPSTREAM = new Set(['Timeout', 'Throttled', 'ConnectionError']);

export interface DeadLetterFacts {
  requestId: string;
  stage: string;
  errorClass: string;
  message: string;
}

export function statusForDeadLetter(errorClass: string): number {
  if (CLIENT_INPUT.has(errorClass)) return 422;
  if (errorClass === 'UnknownVersion') return 404;
  if (UPSTREAM.has(errorClass)) return 502;
  return 500;
}

export function deadLetterError(d: DeadLetterFacts, inferenceId: string): HttpError {
  return new HttpError(
    statusForDeadLetter(d.errorClass),
    `request ${d.requestId} was dead-lettered at stage ${d.stage} (${d.errorClass}): ${d.message}`,
    { fields: { id: inferenceId, request_id: d.requestId, stage: d.stage, error_class: d.errorClass } },
  );
}
