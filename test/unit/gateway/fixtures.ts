import { HttpError } from '../../../gateway/http/http-error.ts';

/** The HttpError `fn` throws; fails the test when it throws nothing or something else. */
export function refusal(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}
