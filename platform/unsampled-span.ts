import { TraceFlags, type Span, type SpanContext } from '@opentelemetry/api';
import { newSpanId } from './trace.ts';

/**
 * A span in a trace that is not recorded, held as its trace's part of a traceparent and nothing else. Under a
 * parent-based sampler a child of an unsampled span is never recorded, and most records are unsampled (the default
 * keeps 1 %): their spans are made here without the SDK (no attributes, links or sampler call built and discarded),
 * and without the API's span and context objects and hex checks, since each hop's span, its child and the
 * traceparent written on the output were what the default sampler still cost in the router's and consumer's
 * profiles (bench/tracing-cost.ts --profile). A child is in the same trace with a span id of its own, as the SDK
 * would make it, drawn only when read: most such spans only hand their trace on, and only the traceparent written
 * on an output names a span. The trace state is not kept, as nothing in an unrecorded trace exports or propagates it
 * (records carry the traceparent only).
 */
export class UnsampledSpan implements Span {
  private spanId: string | undefined;
  private context: SpanContext | undefined;

  /** `00-<trace id>-`: the trace's part of a version-00 traceparent, the trace id valid. */
  constructor(private readonly traceParentPrefix: string) {}

  /** The child of the span a valid, unsampled traceparent names. */
  static childOf(traceparent: string): UnsampledSpan {
    return new UnsampledSpan(traceparent.slice(0, 36));
  }

  child(): UnsampledSpan {
    return new UnsampledSpan(this.traceParentPrefix);
  }

  get traceparent(): string {
    return `${this.traceParentPrefix}${this.id()}-00`;
  }

  spanContext(): SpanContext {
    this.context ??= { traceId: this.traceParentPrefix.slice(3, 35), spanId: this.id(), traceFlags: TraceFlags.NONE };
    return this.context;
  }

  private id(): string {
    this.spanId ??= newSpanId();
    return this.spanId;
  }

  setAttribute(): this { return this; }
  setAttributes(): this { return this; }
  addEvent(): this { return this; }
  addLink(): this { return this; }
  addLinks(): this { return this; }
  setStatus(): this { return this; }
  updateName(): this { return this; }
  end(): void {}
  isRecording(): boolean { return false; }
  recordException(): void {}
}

/** A valid version-00 traceparent whose flags are all clear, checked without allocating. */
export const UNSAMPLED_TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-00$/;
