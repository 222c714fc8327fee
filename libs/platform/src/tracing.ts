import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, tracer } from '@lastmeter/kafka';

/**
 * OpenTelemetry traces (docs/observability.md, "Traces"). Off unless
 * OTEL_TRACES_EXPORTER=otlp: then the SDK (@opentelemetry/sdk-node) exports spans over
 * OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, and the W3C trace context propagates (HTTP
 * `traceparent` in, Kafka headers and the feed notices on; libs/kafka/src/tracing.ts).
 * Metrics stay Prometheus (/metrics) and logs stay pino: the SDK's metric and log
 * exporters are off unless OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER say otherwise.
 *
 * Returns whether it started. TracingShutdown flushes it when the app stops.
 */
let stop: (() => Promise<void>) | undefined;

export function startTracing(app: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_TRACES_EXPORTER ?? 'none') !== 'otlp' || env.OTEL_SDK_DISABLED === 'true') return false;
  if (stop) return true;
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  // Loaded only when tracing is on: the SDK and its exporter are not small.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || `lastmeter-${app}`,
    traceExporter: new OTLPTraceExporter(),
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
  });
  sdk.start();
  stop = () => sdk.shutdown();
  return true;
}

/** Exports what is buffered and stops the SDK when the app shuts down. */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    const stopping = stop;
    stop = undefined;
    await stopping?.().catch(() => undefined);
  }
}

/**
 * A SERVER span per HTTP request, continuing the caller's `traceparent`; everything the
 * request does (a command to Kafka) runs in it. Named `<METHOD> <route>` once the route
 * is known. A no-op span while tracing is off.
 */
export function traceRequests() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(`${req.method}`, { kind: SpanKind.SERVER }, parent);
    if (!span.isRecording()) return next();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      if (route) span.updateName(`${req.method} ${req.baseUrl}${route}`);
      span.setAttributes({
        'http.request.method': req.method,
        'http.route': route ? `${req.baseUrl}${route}` : 'unmatched',
        'http.response.status_code': res.statusCode,
      });
      if (res.statusCode >= 500) span.setStatus({ code: 2 });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
