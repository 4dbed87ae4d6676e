/**
 * Pure: the HTTP answer for a request the pipeline dead-lettered. The client's input is at fault (422) when
 * the image or its URI was refused, the path's version is (404) when the experiment does not know it; a
 * dependency that kept failing after retries is a 502, anything else the pipeline's own fault (500).
 *
 * The answer names the stage and error class with a generic sentence, never the dead letter's own message:
 * that one tells whether an object exists and its size, quotes S3 errors and names internal hosts. It stays in
 * the dead-letter topic and the gateway's log, found there by the request id the answer carries.
 */
import { HttpError } from '../http/http-error.ts';

const CLIENT_INPUT = new Set(['NotAnImage', 'TooManyPixels', 'TooLarge', 'NotFound', 'AccessDenied', 'ForbiddenUri', 'UnsupportedUri']);
const UPSTREAM = new Set(['Timeout', 'Throttled', 'ConnectionError']);

const WHAT_FAILED: Record<string, string> = {
  decode: 'the request could not be read',
  route: 'the request could not be routed to a model version',
  fetch: 'the image could not be fetched',
  preprocess: 'the image could not be decoded',
  inference: 'the model could not run on the image',
  produce: 'the prediction could not be published',
};

export interface DeadLetterFacts {
  requestId: string;
  stage: string;
  errorClass: string;
  /** The dead letter's full message: for the log, never for the client. */
  message: string;
}

export function statusForDeadLetter(errorClass: string): number {
  if (CLIENT_INPUT.has(errorClass)) return 422;
  if (errorClass === 'UnknownVersion' || errorClass === 'UnknownModel') return 404;
  if (UPSTREAM.has(errorClass)) return 502;
  if (errorClass === 'Expired') return 504;
  return 500;
}

/** Pure: the client's sentence for a stage and class, e.g. "the image could not be fetched (fetch/NotFound)". */
export function genericReason(stage: string, errorClass: string): string {
  const what = errorClass === 'Expired' ? 'the request was still queued at its deadline and was skipped' : WHAT_FAILED[stage] ?? 'the request failed in the pipeline';
  return `${what} (${stage}/${errorClass})`;
}

export function deadLetterError(d: DeadLetterFacts, inferenceId: string): HttpError {
  return new HttpError(
    statusForDeadLetter(d.errorClass),
    `request ${d.requestId} was dead-lettered at stage ${d.stage} (${d.errorClass}): ${genericReason(d.stage, d.errorClass)}; the full reason is on the dead-letter topic under this request id`,
    { fields: { id: inferenceId, request_id: d.requestId, stage: d.stage, error_class: d.errorClass } },
  );
}
