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
 * - For the command service, `--heap-growing-percent=50 --max-semi-space-size=4`: its
 *   memory is bounded (issue 16 item 3: 300 MiB at 50,000 stores, 150,000 terminals and
 *   10,000 communications, with about 120 MiB of live objects). V8's default lets the old
 *   generation grow up to several times the live size between full collections, and a
 *   start-up that reads 380,000 records leaves ~100 MiB of garbage behind: RSS 347 MiB at
 *   the first decision, 361 MiB 30 s later. Growing by half the live size each time and
 *   small semi-spaces: 255 and 242 MiB, start-up 2.9 → 4.0 s (`command-startup`, full,
 *   same day; bench/PROFILE.md row 10). `--optimize-for-size` got 200 MiB but made the
 *   directory import 2.7 times slower.
 */
export const APP_V8_FLAGS: Readonly<Record<'gateway' | 'projector' | 'command', readonly string[]>> = {
  gateway: ['--max-semi-space-size=64'],
  projector: ['--max-semi-space-size=64'],
  command: ['--heap-growing-percent=50', '--max-semi-space-size=4'],
};

/** Node's arguments before an app's entry point: source maps for stack traces, and the app's V8 flags. */
export function appNodeArgs(app: string, extra: readonly string[] = []): string[] {
  return ['--enable-source-maps', ...(APP_V8_FLAGS[app as keyof typeof APP_V8_FLAGS] ?? []), ...extra];
}
