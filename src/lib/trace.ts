import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
} from "@opentelemetry/api";

/**
 * Drover's spans, one line at each call site. Through the OpenTelemetry API alone: while no SDK is started
 * (src/lib/telemetry.ts, only when OTEL_* asks for traces) its tracer is the no-op one, a span costs a
 * function call, and no `traceparent` is made.
 */
const tracer = () => trace.getTracer("drover");

export { SpanKind };

/**
 * Runs `work` inside a span named `name` with `attributes`, ended when `work` settles; an error is recorded
 * on it (and thrown on), unless `notAnError` says it is an outcome (a job put back to wait). Spans started
 * inside are its children, across awaits.
 */
export function traced<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
  notAnError: (error: unknown) => boolean = () => false,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      if (notAnError(error)) throw error;
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message?.slice(0, 200) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes to the current span (what a job learns once it has read its task), if there is one. */
export function annotate(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** The current span as a W3C `traceparent` header value, to carry across the queue; undefined when off. */
export function currentTraceparent(): string | undefined {
  const carrier: { traceparent?: string } = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** Runs `work` as a continuation of the trace `traceparent` names (a job queued inside a span). */
export function underTraceparent<T>(traceparent: string | undefined, work: () => T): T {
  if (!traceparent) return work();
  return context.with(propagation.extract(ROOT_CONTEXT, { traceparent }), work);
}
