/**
 * The V8 flags each Last Meter app process runs with, wherever it is started: `lastmeter
 * start` (apps/cli/src/supervisor.ts), the container image (Dockerfile, the same flags
 * spelled out; a unit test keeps them equal), the benchmarks and the e2e tests. One list,
 * so that what is measured is what runs in production.
 *
 * - `--max-semi-space-size=64` (MiB) for the gateway and the projector: the young
 *   generation may grow to 64 MiB semi-spaces instead of V8's 16. The gateway's fact
 *   writer and the projector allocate hundreds of MB a second of short-lived objects
 *   (events, their JSON, Kafka record buffers, Redis commands) that live for one batch;
 *   with small semi-spaces a scavenge comes every few ms and promotes whatever is in
 *   flight to the old generation, which then costs full mark-compacts (bench/PROFILE.md).
 * - Not for the command service: its memory is bounded (issue 16 item 3, 300 MiB at
 *   50,000 stores) and a start-up that reads the log would grow 64 MiB semi-spaces for
 *   nothing (`command-startup`: RSS 334 → ~400 MiB with the flag).
 */
export const APP_V8_FLAGS: Readonly<Record<'gateway' | 'projector' | 'command', readonly string[]>> = {
  gateway: ['--max-semi-space-size=64'],
  projector: ['--max-semi-space-size=64'],
  command: [],
};

/** Node's arguments before an app's entry point: source maps for stack traces, and the app's V8 flags. */
export function appNodeArgs(app: string, extra: readonly string[] = []): string[] {
  return ['--enable-source-maps', ...(APP_V8_FLAGS[app as keyof typeof APP_V8_FLAGS] ?? []), ...extra];
}
