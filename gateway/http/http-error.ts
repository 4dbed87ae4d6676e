/**
 * A failure answered in the protocol's error format, `{"error": "..."}`, with an HTTP status. `fields` add
 * machine-readable context next to the message (the request id, the dead-letter stage and class).
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly fields: Record<string, string>;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    message: string,
    extra: { fields?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.fields = extra.fields ?? {};
    this.headers = extra.headers ?? {};
  }

  body(): Record<string, string> {
    return { error: this.message, ...this.fields };
  }
}
