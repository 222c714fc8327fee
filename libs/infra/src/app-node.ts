/**
 * The V8 flags every Last Meter app process runs with, wherever it is started: `lastmeter
 * start` (apps/cli/src/supervisor.ts), the container image (Dockerfile, the same flags
 * spelled out; a unit test keeps them equal), the benchmarks and the e2e tests. One list,
 * so that what is measured is what runs in production.
 *
 * - `--max-semi-space-size=64` (MiB): the young generation may grow to 64 MiB semi-spaces
 *   instead of V8's 16. The gateway's fact writer and the projector allocate hundreds of
 *   MB a second of short-lived objects (events, their JSON, Kafka record buffers, Redis
 *   commands) that live for one batch; with small semi-spaces a scavenge comes every few
 *   ms and promotes whatever is in flight to the old generation, which then costs full
 *   mark-compacts (bench/PROFILE.md). The young generation only grows to that size under
 *   such an allocation rate, so an idle app does not pay for it.
 */
export const APP_V8_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** Node's arguments before an app's entry point: source maps for stack traces, and APP_V8_FLAGS. */
export function appNodeArgs(extra: readonly string[] = []): string[] {
  return ['--enable-source-maps', ...APP_V8_FLAGS, ...extra];
}
