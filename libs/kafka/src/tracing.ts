/**
 * Trace context across the Kafka hops (docs/observability.md, "Traces"): W3C
 * `traceparent` in record headers, from the HTTP request through the command, the
 * decision's events, the feed batch, the projector's notice and the gateway's emit.
 *
 * Only the OpenTelemetry API is used here: while tracing is off (no SDK started, the
 * default) the tracer makes no-op spans and `traceHeaders()` is empty, so nothing is
 * added to any record.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

export { ROOT_CONTEXT, SpanKind, context, propagation, trace, type Span };

export const tracer = trace.getTracer('lastmeter');

/** A carrier of trace context: `{ traceparent, tracestate? }`, or empty. */
export type TraceCarrier = Record<string, string>;

/** The trace context of `ctx` (default: the active one) as record headers. */
export function traceHeaders(ctx: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** A header as a string (kafkajs gives Buffers, or arrays of them for repeated keys). */
export function headerValue(carrier: IHeaders | TraceCarrier, key: string): string | undefined {
  const value = carrier[key];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

const headerGetter: TextMapGetter<IHeaders | TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: headerValue,
};

/** The context a record's headers (or a carrier) continue; the root when they carry none. */
export function contextOf(headers: IHeaders | TraceCarrier | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
}

/** Only the trace headers of a record's headers (to pass them on), as strings. */
export function traceCarrierOf(headers: IHeaders | undefined): TraceCarrier | undefined {
  const traceparent = headers && headerValue(headers, 'traceparent');
  if (!traceparent) return undefined;
  const tracestate = headerValue(headers!, 'tracestate');
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** Links to other traces a span continues (a feed pass triggered by several publishes). */
export function linksTo(carriers: TraceCarrier[]): Link[] {
  return carriers.flatMap((carrier) => {
    const spanContext = trace.getSpanContext(contextOf(carrier));
    return spanContext ? [{ context: spanContext }] : [];
  });
}

/**
 * The trace carrier of recently decided or read events, by event id, for work that starts
 * from an event in memory rather than from a record (the feed sequencer reacts to events
 * the decider or the tail applied). Bounded: the oldest go first.
 */
const eventTraces = new Map<string, TraceCarrier>();
const EVENT_TRACES_MAX = 10_000;

export function rememberTrace(eventId: string, carrier: TraceCarrier | undefined): void {
  if (!carrier?.traceparent) return;
  eventTraces.set(eventId, carrier);
  if (eventTraces.size > EVENT_TRACES_MAX) eventTraces.delete(eventTraces.keys().next().value!);
}

export function traceOf(eventId: string): TraceCarrier | undefined {
  return eventTraces.get(eventId);
}

/** Runs `work` in a span that ends when it settles (an error sets the span's status). */
export async function inSpan<T>(
  name: string,
  options: {
    kind?: SpanKind;
    parent?: Context;
    links?: Link[];
    attributes?: Record<string, string | number>;
    /**
     * When the work really ended (`performance.now()`), if it knows better than the moment
     * its promise settles: work that finishes synchronously among many others started in
     * the same tick (the gateway's emits to each store) resolves only once all of them ran.
     */
    endedAt?: () => number | undefined;
  },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(
    name,
    { kind: options.kind, links: options.links, attributes: options.attributes },
    options.parent ?? context.active(),
  );
  try {
    return await context.with(trace.setSpan(options.parent ?? context.active(), span), () => work(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: 2, message: (error as Error).message });
    throw error;
  } finally {
    span.end(options.endedAt?.());
  }
}
