import { trace } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { inSpan } from './tracing';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => trace.setGlobalTracerProvider(provider));
afterAll(async () => {
  trace.disable();
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('inSpan', () => {
  // Durations by the span's own clock against the work's `performance.now()`: OTel anchors
  // span times to Date.now(), so their absolute values differ from the performance clock.
  const durationOf = (span: ReadableSpan) => hrTimeToMilliseconds(span.endTime) - hrTimeToMilliseconds(span.startTime);

  it('ends the span when its work settles', async () => {
    let started = 0;
    let finished = 0;
    await inSpan('work', {}, async () => {
      started = performance.now();
      await pause(10);
      finished = performance.now();
    });
    const [span] = exporter.getFinishedSpans();
    expect(span!.name).toBe('work');
    expect(durationOf(span!)).toBeGreaterThanOrEqual(finished - started - 0.5);
  });

  it('ends it when the work says it ended, if it says so: not after the work queued behind it', async () => {
    let emitted: number | undefined;
    let resumed = 0;
    await inSpan('emit', { endedAt: () => emitted }, async () => {
      emitted = performance.now();
      await pause(10);
      resumed = performance.now();
    });
    const [span] = exporter.getFinishedSpans();
    // It lasted until the emit, which came before the 10 ms wait behind it.
    expect(durationOf(span!)).toBeLessThan(resumed - emitted!);
  });

  it('records a failure and still ends the span', async () => {
    await expect(
      inSpan('failing', {}, async () => {
        throw new Error('broken');
      }),
    ).rejects.toThrow('broken');
    const [span] = exporter.getFinishedSpans();
    expect(span!.status).toMatchObject({ code: 2, message: 'broken' });
    expect(span!.events[0]!.name).toBe('exception');
  });
});
