import { EventEmitter } from 'node:events';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { NextFunction, Request, Response } from 'express';
import { contextOf, inSpan, linksTo, traceCarrierOf, traceHeaders } from '@lastmeter/kafka';
import { traceRequests } from './tracing';

/**
 * The trace plumbing with the SDK's in-memory exporter: what the HTTP middleware and the
 * Kafka header helpers make of a W3C traceparent (test/platform/tracing.e2e-spec.ts
 * follows a real publish through the three apps).
 */
const exporter = new InMemorySpanExporter();
const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function request(method: string, headers: Record<string, string>) {
  const res = Object.assign(new EventEmitter(), { statusCode: 200 }) as unknown as Response & EventEmitter;
  const req = { method, headers, baseUrl: '', route: undefined as { path: string } | undefined } as unknown as Request;
  return { req, res };
}

describe('with tracing off (no SDK)', () => {
  it('adds no headers and runs requests untouched', () => {
    expect(traceHeaders()).toEqual({});
    const { req, res } = request('GET', { traceparent: CALLER });
    const next = jest.fn() as NextFunction;
    traceRequests()(req, res, next);
    expect(next).toHaveBeenCalledTimes(1);
    expect(traceHeaders()).toEqual({});
  });
});

describe('with the SDK', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });

  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });

  beforeEach(() => exporter.reset());

  it('continues the caller’s traceparent in a SERVER span named after the route, active for the handler', async () => {
    const { req, res } = request('POST', { traceparent: CALLER });
    let inside: Record<string, string> = {};
    traceRequests()(req, res, () => {
      inside = traceHeaders();
    });
    (req as unknown as { route: { path: string } }).route = { path: '/v1/communications/:id/publish' };
    res.emit('finish');

    const [span] = exporter.getFinishedSpans();
    expect(span!.name).toBe('POST /v1/communications/:id/publish');
    expect(span!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    // What the handler sends on (a command record's headers) is this span.
    expect(inside.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${span!.spanContext().spanId}-01`);
  });

  it('carries a span through record headers: inject, read back, continue, link', async () => {
    const headers = await inSpan('decide', { parent: contextOf({ traceparent: CALLER }) }, async () => traceHeaders());
    // kafkajs hands headers back as Buffers.
    const carrier = traceCarrierOf({ traceparent: Buffer.from(headers.traceparent!), type: Buffer.from('x') });
    expect(carrier).toEqual({ traceparent: headers.traceparent });
    await inSpan('sequence feed', { parent: contextOf(carrier), links: linksTo([{ traceparent: CALLER }]) }, () =>
      Promise.resolve(),
    );

    const [decide, sequence] = exporter.getFinishedSpans();
    expect(decide!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(sequence!.parentSpanContext?.spanId).toBe(decide!.spanContext().spanId);
    expect(sequence!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(sequence!.links.map((link) => link.context.spanId)).toEqual(['b7ad6b7169203331']);
  });

  it('marks a span whose work failed', async () => {
    await expect(inSpan('project feed', {}, () => Promise.reject(new Error('Redis down')))).rejects.toThrow();
    const [span] = exporter.getFinishedSpans();
    expect(span!.status).toMatchObject({ code: 2, message: 'Redis down' });
    expect(traceCarrierOf({})).toBeUndefined();
  });
});
