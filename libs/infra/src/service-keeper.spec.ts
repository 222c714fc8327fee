import { ServiceKeeper, type KeptService } from './service-keeper';

/** A server in memory: `crash()` ends the running process; starts fail while `failStarts` > 0. */
class FakeService implements KeptService {
  pid: number | undefined = 100;
  starts = 0;
  stops = 0;
  failStarts = 0;
  private listener?: (reason: string) => void;

  async start(): Promise<void> {
    this.starts += 1;
    if (this.failStarts > 0) {
      this.failStarts -= 1;
      throw new Error('port in use');
    }
    this.pid = 100 + this.starts;
  }
  async stop(): Promise<void> {
    this.stops += 1;
  }
  onExit(listener: (reason: string) => void): void {
    this.listener = listener;
  }
  crash(reason = 'SIGKILL'): void {
    const listener = this.listener;
    this.listener = undefined;
    this.pid = undefined;
    listener?.(reason);
  }
}

function keeperFor(service: FakeService, options: { maxFailures?: number; stableMs?: number } = {}) {
  const controller = new AbortController();
  const lines: string[] = [];
  const restarted: Array<number | undefined> = [];
  const gaveUp: string[] = [];
  const keeper = new ServiceKeeper(service, {
    name: 'Kafka',
    signal: controller.signal,
    log: (line) => lines.push(line),
    restarted: (pid) => restarted.push(pid),
    gaveUp: (reason) => gaveUp.push(reason),
    backoffMs: () => 1,
    stableMs: 60_000,
    ...options,
  });
  keeper.watch();
  return { keeper, controller, lines, restarted, gaveUp };
}

it('restarts a service that died, records its new pid and watches the new process', async () => {
  const service = new FakeService();
  const { keeper, lines, restarted } = keeperFor(service);
  service.crash('broker exited (SIGKILL)');
  await keeper.settled();
  expect(restarted).toEqual([101]);
  expect(lines).toEqual([
    'Kafka stopped unexpectedly (broker exited (SIGKILL)); restarting in 0.001 s',
    'Kafka is back (pid 101)',
  ]);
  service.crash();
  await keeper.settled();
  expect(restarted).toEqual([101, 102]);
});

it('retries a start that fails, stopping what the failed start left behind', async () => {
  const service = new FakeService();
  service.failStarts = 2;
  const { keeper, restarted, gaveUp, lines } = keeperFor(service);
  service.crash();
  await keeper.settled();
  expect(service.starts).toBe(3);
  expect(service.stops).toBe(2);
  expect(restarted).toEqual([103]);
  expect(gaveUp).toEqual([]);
  expect(lines.filter((line) => line.includes('port in use'))).toHaveLength(2);
});

it('gives up once after maxFailures in a row, with the last reason', async () => {
  const service = new FakeService();
  service.failStarts = 10;
  const { keeper, gaveUp, restarted } = keeperFor(service, { maxFailures: 3 });
  service.crash();
  await keeper.settled();
  // The crash is the first failure of the streak; two failed starts make three.
  expect(service.starts).toBe(2);
  expect(restarted).toEqual([]);
  expect(gaveUp).toEqual(['port in use']);
});

it('counts a crash loop of short lives as failures, but a service that stayed up starts afresh', async () => {
  const looping = new FakeService();
  const loop = keeperFor(looping, { maxFailures: 3 });
  for (let i = 0; i < 3; i += 1) {
    looping.crash();
    await loop.keeper.settled();
  }
  expect(loop.restarted).toHaveLength(2);
  expect(loop.gaveUp).toEqual(['SIGKILL']);

  const stable = new FakeService();
  const steady = keeperFor(stable, { maxFailures: 3, stableMs: 0 });
  for (let i = 0; i < 5; i += 1) {
    stable.crash();
    await steady.keeper.settled();
  }
  expect(steady.restarted).toHaveLength(5);
  expect(steady.gaveUp).toEqual([]);
});

it('does nothing once stopping was asked for', async () => {
  const service = new FakeService();
  const { keeper, controller, lines } = keeperFor(service);
  controller.abort();
  service.crash();
  await keeper.settled();
  expect(service.starts).toBe(0);
  expect(lines).toEqual([]);
});

it('stopping during the backoff ends the wait at once and starts nothing', async () => {
  const service = new FakeService();
  const stopping = new AbortController();
  const restarted: Array<number | undefined> = [];
  const keeper = new ServiceKeeper(service, {
    name: 'Redis',
    signal: stopping.signal,
    log: () => undefined,
    restarted: (pid) => restarted.push(pid),
    gaveUp: () => undefined,
    backoffMs: () => 600_000,
  });
  keeper.watch();
  service.crash();
  stopping.abort();
  await keeper.settled(); // would time the test out if the 10 min wait were not cut short
  expect(service.starts).toBe(0);
  expect(restarted).toEqual([]);
});
