import { Logger } from '@nestjs/common';
import { SYSTEM_ACTOR, type CommandEnvelope } from '@lastmeter/contracts';
import { AggregateStore } from './aggregate-store';
import type { Decision } from './partition-decider';
import type { SystemDecider } from './ports';
import { Scheduler } from './scheduler';
import { EDITOR, FakeClock, NOW, eventOf } from './testing';

const CONTENT = { kind: 'notice', title: 'Sale', body: 'b', priority: 'normal', audience: { all: true } } as const;
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);

/** A communication drafted and approved (version 2), then scheduled or published (version 3). */
function communication(store: AggregateStore, id: string, partition: number, last: 'scheduled' | 'published') {
  store.apply(
    eventOf('communication.drafted', { ...CONTENT, revision: 1 }, { aggregateId: id, version: 1, actor: EDITOR }),
    partition,
  );
  store.apply(eventOf('communication.approved', { selfApproved: true }, { aggregateId: id, version: 2 }), partition);
  store.apply(
    last === 'scheduled'
      ? eventOf(
          'communication.scheduled',
          { revision: 1, publishAt: at(10).toISOString(), expiresAt: at(60).toISOString() },
          { aggregateId: id, version: 3 },
        )
      : eventOf(
          'communication.published',
          { revision: 1, expiresAt: at(30).toISOString() },
          { aggregateId: id, version: 3 },
        ),
    partition,
  );
}

describe('Scheduler', () => {
  let store: AggregateStore;
  let clock: FakeClock;
  let owned: number[];
  let submitted: Array<{ partition: number; command: CommandEnvelope }>;
  let scheduler: Scheduler;

  beforeEach(() => {
    store = new AggregateStore();
    clock = new FakeClock();
    owned = [0];
    submitted = [];
    const decider: SystemDecider = {
      decideAsSystem: async (partition, command): Promise<Decision> => {
        submitted.push({ partition, command });
        return {
          outcome: { ok: true, status: 200, body: { id: command.aggregateId, version: 4, eventIds: ['e'] } },
          events: [],
          credentials: [],
        };
      },
    };
    scheduler = new Scheduler(store, decider, { owned: () => owned }, clock);
  });

  it('does nothing before publishAt', async () => {
    communication(store, 'c1', 0, 'scheduled');
    clock.current = at(9);
    await scheduler.tick();
    expect(submitted).toEqual([]);
  });

  it('publishes a scheduled communication once publishAt has come, as the system, against the version it saw', async () => {
    communication(store, 'c1', 0, 'scheduled');
    clock.current = at(10);
    await scheduler.tick();
    const commandId = 'communication.publish-due:c1:1:3';
    expect(submitted).toEqual([
      {
        partition: 0,
        command: {
          commandId,
          requestId: commandId,
          replyTo: '',
          type: 'communication.publish-due',
          aggregateType: 'communication',
          aggregateId: 'c1',
          expectedVersion: 3,
          actor: SYSTEM_ACTOR,
          payload: {},
          commandHash: commandId,
          issuedAt: at(10).toISOString(),
          correlationId: commandId,
        },
      },
    ]);
  });

  it('expires a published communication once expiresAt has come', async () => {
    communication(store, 'c1', 0, 'published');
    clock.current = at(29);
    await scheduler.tick();
    expect(submitted).toEqual([]);
    clock.advance(60_000);
    await scheduler.tick();
    expect(submitted.map(({ command }) => [command.type, command.commandId])).toEqual([
      ['communication.expire', 'communication.expire:c1:1:3'],
    ]);
  });

  it('only looks at the partitions this instance owns', async () => {
    communication(store, 'c1', 0, 'published');
    communication(store, 'c2', 1, 'published');
    clock.current = at(31);
    await scheduler.tick();
    expect(submitted.map(({ command }) => command.aggregateId)).toEqual(['c1']);
    owned = [0, 1];
    await scheduler.tick();
    expect(submitted.map(({ partition, command }) => [partition, command.aggregateId])).toEqual([
      [0, 'c1'],
      [0, 'c1'],
      [1, 'c2'],
    ]);
  });

  it('walks only the communications that wait for a time: none once expired, none without times', async () => {
    communication(store, 'c1', 0, 'scheduled');
    communication(store, 'c2', 0, 'published');
    // Published without an expiry or a due time: nothing to wait for.
    store.apply(
      eventOf('communication.drafted', { ...CONTENT, revision: 1 }, { aggregateId: 'c3', version: 1, actor: EDITOR }),
      0,
    );
    store.apply(eventOf('communication.approved', { selfApproved: true }, { aggregateId: 'c3', version: 2 }), 0);
    store.apply(eventOf('communication.published', { revision: 1 }, { aggregateId: 'c3', version: 3 }), 0);
    const timed = () => [...store.timedInPartition(0)].map((entry) => entry.id).sort();
    expect(timed()).toEqual(['c1', 'c2']);
    expect([...store.inPartition(0, 'communication')]).toHaveLength(3);
    store.apply(
      eventOf('communication.expired', { expiresAt: at(30).toISOString() }, { aggregateId: 'c2', version: 4 }),
      0,
    );
    expect(timed()).toEqual(['c1']);
    // A scheduled one is still waited for once published with an expiry, and due as before.
    store.apply(
      eventOf(
        'communication.published',
        { revision: 1, expiresAt: at(60).toISOString() },
        { aggregateId: 'c1', version: 4 },
      ),
      0,
    );
    expect(timed()).toEqual(['c1']);
    clock.current = at(61);
    await scheduler.tick();
    expect(submitted.map(({ command }) => [command.type, command.aggregateId])).toEqual([
      ['communication.expire', 'c1'],
    ]);
  });

  it('logs a failed tick instead of throwing, and runs again on the next', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    communication(store, 'c1', 0, 'published');
    let attempts = 0;
    const failing: SystemDecider = { decideAsSystem: () => Promise.reject(new Error(`fenced ${++attempts}`)) };
    scheduler = new Scheduler(store, failing, { owned: () => owned }, clock);
    await expect(scheduler.tick(at(31))).resolves.toBeUndefined();
    await expect(scheduler.tick(at(32))).resolves.toBeUndefined();
    expect(warn.mock.calls).toEqual([['scheduler tick failed: fenced 1'], ['scheduler tick failed: fenced 2']]);
    warn.mockRestore();
  });

  it('ticks every second from bootstrap to shutdown', async () => {
    jest.useFakeTimers();
    try {
      const tick = jest.spyOn(scheduler, 'tick').mockResolvedValue();
      scheduler.onApplicationBootstrap();
      jest.advanceTimersByTime(3_000);
      scheduler.onApplicationShutdown();
      jest.advanceTimersByTime(3_000);
      expect(tick).toHaveBeenCalledTimes(3);
    } finally {
      jest.useRealTimers();
    }
  });
});
