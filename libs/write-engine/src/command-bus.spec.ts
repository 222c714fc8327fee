import { HttpException, ServiceUnavailableException } from '@nestjs/common';
import type { CommandOutcome } from '@lastmeter/contracts';
import type { AnyCommand } from '@lastmeter/domain';
import { GroupCommitFull } from '@lastmeter/kafka';
import {
  BUSY_RETRY_AFTER_S,
  CommandBus,
  MAX_WAITING_REQUESTS,
  naturalAggregateId,
  REPLY_TIMEOUT_MS,
  type Dispatch,
} from './command-bus';
import { ReplyChannel } from './reply-channel';
import { ADMIN, EDITOR, FakeClock, FakeCommandLog, FakeReplyTransport, NOW } from './testing';

const DRAFT: AnyCommand = {
  type: 'communication.draft',
  payload: { kind: 'notice', title: 'Hello', body: 'b', audience: { all: true } },
};

/** The HTTP exception `dispatch` threw, as status + body. */
async function refusalOf(promise: Promise<unknown>): Promise<{ status: number; body: unknown; error: unknown }> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(HttpException);
  return { status: (error as HttpException).getStatus(), body: (error as HttpException).getResponse(), error };
}

describe('CommandBus', () => {
  let log: FakeCommandLog;
  let replies: ReplyChannel;
  let bus: CommandBus;
  /** What the fake decider answers to every appended command. */
  let answer: (requestId: string) => CommandOutcome | undefined;

  beforeEach(async () => {
    const transport = new FakeReplyTransport();
    log = new FakeCommandLog();
    replies = new ReplyChannel(transport, { REDIS_KEY_PREFIX: 'lm:' });
    await replies.onModuleInit();
    bus = new CommandBus(log, replies, new FakeClock());
    answer = () => ({ ok: true, status: 201, body: { id: 'x', version: 1, eventIds: ['e1'] } });
    log.onAppend = (command) => {
      const outcome = answer(command.requestId);
      if (outcome) void replies.send(command.replyTo, command.requestId, outcome);
    };
  });

  afterEach(() => jest.useRealTimers());

  describe('with a decider that decides in the request', () => {
    /** Whether the in-request decider takes the next command (it replies as the real one does). */
    let here: boolean;
    let taken: string[];
    /** Whether each command taken came with a commandId made for its request. */
    let minted: Array<boolean | undefined>;

    beforeEach(() => {
      here = true;
      taken = [];
      minted = [];
      bus = new CommandBus(log, replies, new FakeClock(), undefined, {
        decideInRequest: async (command, options) => {
          if (!here) return false;
          taken.push(command.commandId);
          minted.push(options?.minted);
          await replies.send(command.replyTo, command.requestId, {
            ok: true,
            status: 201,
            body: { id: command.aggregateId, version: 1, eventIds: ['e-here'] },
          });
          return true;
        },
      });
    });

    it('answers a command decided in its request without appending it to the log', async () => {
      const outcome = await bus.dispatch({ command: DRAFT, actor: EDITOR });
      expect(outcome.body.eventIds).toEqual(['e-here']);
      expect(taken).toHaveLength(1);
      expect(log.appended).toHaveLength(0);
    });

    it('says which commandIds it made for their request: those without an Idempotency-Key', async () => {
      await bus.dispatch({ command: DRAFT, actor: EDITOR });
      await bus.dispatch({ command: DRAFT, actor: EDITOR, idempotencyKey: 'key-1' });
      expect(taken[1]).toBe(`${EDITOR.id}:key-1`);
      expect(minted).toEqual([true, false]);
    });

    it('appends to the log what it does not decide, and answers from its decider', async () => {
      here = false;
      const outcome = await bus.dispatch({ command: DRAFT, actor: EDITOR });
      expect(outcome.body.eventIds).toEqual(['e1']);
      expect(log.appended).toHaveLength(1);
    });
  });

  it('appends the command keyed by its aggregate id and returns the decider outcome', async () => {
    const outcome = await bus.dispatch({ command: DRAFT, actor: EDITOR, correlationId: 'corr-1' });
    expect(outcome).toEqual({ ok: true, status: 201, body: { id: 'x', version: 1, eventIds: ['e1'] } });
    expect(log.appended).toHaveLength(1);
    const [{ key, command }] = log.appended as [(typeof log.appended)[0]];
    expect(command).toMatchObject({
      type: 'communication.draft',
      aggregateType: 'communication',
      aggregateId: key,
      actor: EDITOR,
      payload: DRAFT.payload,
      replyTo: replies.channel,
      issuedAt: NOW.toISOString(),
      correlationId: 'corr-1',
    });
    expect(command).not.toHaveProperty('expectedVersion');
  });

  it('carries If-Match as expectedVersion on an existing aggregate', async () => {
    await bus.dispatch({ command: DRAFT, actor: EDITOR, aggregateId: 'comm-7', expectedVersion: 4 });
    expect(log.appended[0]).toMatchObject({ key: 'comm-7', command: { aggregateId: 'comm-7', expectedVersion: 4 } });
  });

  it('derives the command id and the new aggregate id from the caller Idempotency-Key', async () => {
    const request: Dispatch = { command: DRAFT, actor: EDITOR, idempotencyKey: 'key-1' };
    await bus.dispatch(request);
    await bus.dispatch(request);
    await bus.dispatch({ ...request, actor: { ...EDITOR, id: 'editor-2' } });
    const [first, resent, otherCaller] = log.appended.map(({ command }) => command);
    expect(first).toMatchObject({ commandId: 'editor-1:key-1' });
    expect(resent).toMatchObject({ commandId: 'editor-1:key-1', aggregateId: first!.aggregateId });
    expect(resent!.commandHash).toBe(first!.commandHash);
    expect(resent!.requestId).not.toBe(first!.requestId);
    expect(otherCaller!.aggregateId).not.toBe(first!.aggregateId);
  });

  it('hashes the request canonically: same body in another key order, same hash; another body, another hash', async () => {
    const payload = { title: 'Hello', kind: 'notice', audience: { all: true }, body: 'b' };
    await bus.dispatch({ command: { ...DRAFT, payload } as AnyCommand, actor: EDITOR, idempotencyKey: 'k' });
    await bus.dispatch({ command: DRAFT, actor: EDITOR, idempotencyKey: 'k' });
    await bus.dispatch({
      command: { ...DRAFT, payload: { ...payload, title: 'Other' } } as AnyCommand,
      actor: EDITOR,
      idempotencyKey: 'k',
    });
    const [a, b, c] = log.appended.map(({ command }) => command.commandHash);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('gives a creation keyed by a natural key the same id whoever sends it', async () => {
    const register: AnyCommand = {
      type: 'store.register',
      payload: { code: 'S-001', name: 'One', regionId: 'north' },
    };
    await bus.dispatch({ command: register, actor: ADMIN, naturalKey: 'S-001' });
    await bus.dispatch({ command: register, actor: { ...ADMIN, id: 'admin-2' }, naturalKey: 'S-001' });
    const [first, second] = log.appended.map(({ command }) => command);
    expect(second!.aggregateId).toBe(first!.aggregateId);
    expect(first!.commandId).not.toBe(second!.commandId);
  });

  it('answers a refusal with its status and body', async () => {
    answer = () => ({ ok: false, status: 409, error: 'Conflict', message: 'version mismatch', currentVersion: 5 });
    const { status, body } = await refusalOf(bus.dispatch({ command: DRAFT, actor: EDITOR, aggregateId: 'c' }));
    expect(status).toBe(409);
    expect(body).toEqual({ statusCode: 409, error: 'Conflict', message: 'version mismatch', currentVersion: 5 });
  });

  it('answers 503 and records nothing when the log is unreachable', async () => {
    log.failure = new Error('Connection error: connect ECONNREFUSED');
    const expecting = jest.spyOn(replies, 'expect');
    const { status, error, body } = await refusalOf(bus.dispatch({ command: DRAFT, actor: EDITOR }));
    expect(status).toBe(503);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect(body).toMatchObject({ statusCode: 503, message: expect.stringContaining('nothing was recorded') });
    expect(log.appended).toEqual([]);
    // The reply it registered for is given up at once, not left to time out.
    const pending = expecting.mock.results[0]!.value as { outcome: Promise<unknown> };
    await replies.send(replies.channel, expecting.mock.calls[0]![0], { ok: true, status: 200, body: {} as never });
    await expect(Promise.race([pending.outcome, Promise.resolve('not settled')])).resolves.toBe('not settled');
  });

  it('answers 503 busy with a retry time, nothing recorded, when the log refuses to queue more', async () => {
    log.failure = new GroupCommitFull(5_000);
    const { status, body } = await refusalOf(bus.dispatch({ command: DRAFT, actor: EDITOR }));
    expect(status).toBe(503);
    expect(body).toMatchObject({
      statusCode: 503,
      retryAfter: BUSY_RETRY_AFTER_S,
      message: expect.stringMatching(/busy .*nothing was recorded/),
    });
    expect(log.appended).toEqual([]);
  });

  it('sheds load: beyond MAX_WAITING_REQUESTS waiting for decisions, answers 503 busy without appending', async () => {
    answer = () => undefined; // the decider is behind: nobody is answered yet
    const waiting = Array.from({ length: MAX_WAITING_REQUESTS }, () =>
      bus.dispatch({ command: DRAFT, actor: EDITOR }).catch((error: unknown) => error),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.appended).toHaveLength(MAX_WAITING_REQUESTS);

    const { status, body } = await refusalOf(bus.dispatch({ command: DRAFT, actor: EDITOR }));
    expect(status).toBe(503);
    expect(body).toMatchObject({ retryAfter: BUSY_RETRY_AFTER_S, message: expect.stringContaining('2000 requests') });
    expect(log.appended).toHaveLength(MAX_WAITING_REQUESTS);

    // Once the waiting ones are answered, requests are taken again.
    for (const { command } of log.appended) {
      await replies.send(command.replyTo, command.requestId, { ok: true, status: 200, body: {} as never });
    }
    await Promise.all(waiting);
    answer = () => ({ ok: true, status: 200, body: { id: 'x', version: 2, eventIds: [] } });
    await expect(bus.dispatch({ command: DRAFT, actor: EDITOR })).resolves.toMatchObject({ status: 200 });
  });

  it('waits REPLY_TIMEOUT_MS for the decision, then answers 202 pending with the ids to retry with', async () => {
    jest.useFakeTimers();
    answer = () => undefined;
    const dispatched = bus.dispatch({ command: DRAFT, actor: EDITOR, idempotencyKey: 'slow' });
    const refused = refusalOf(dispatched);
    await jest.advanceTimersByTimeAsync(REPLY_TIMEOUT_MS - 1);
    expect(log.appended).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    const { status, body } = await refused;
    expect(status).toBe(202);
    expect(body).toEqual({
      statusCode: 202,
      id: log.appended[0]!.command.aggregateId,
      commandId: 'editor-1:slow',
      status: 'pending',
      message: 'accepted, decision pending',
    });
  });

  describe('dispatchMany', () => {
    const registerStore = (code: string): Dispatch => ({
      command: { type: 'store.import', payload: { code, name: code, regionId: 'r' } },
      actor: ADMIN,
      naturalKey: code,
    });
    const stores = (n: number) => Array.from({ length: n }, (_, i) => registerStore(`s-${i}`));

    it('sends chunkSize commands per produce, keyed by aggregate id, and answers each outcome in request order', async () => {
      answer = (requestId) => ({ ok: true, status: 201, body: { id: requestId, version: 1, eventIds: ['e'] } });
      const results = await bus.dispatchMany(stores(7), { chunkSize: 3 });
      expect(log.sends).toEqual([3, 3, 1]);
      expect(results.map((r) => r.status)).toEqual(Array(7).fill('decided'));
      results.forEach((result, i) => {
        const { key, command } = log.appended.find(({ command }) => command.commandId === result.commandId)!;
        expect(key).toBe(command.aggregateId);
        // The same id a single dispatch (POST /stores) derives from the natural key.
        expect(result.aggregateId).toBe(naturalAggregateId('store.register', `s-${i}`));
        expect(command).toMatchObject({ type: 'store.import', replyTo: replies.channel, payload: { code: `s-${i}` } });
        expect(result).toMatchObject({ outcome: { ok: true, body: { id: command.requestId } } });
      });
    });

    it('returns refusals as results instead of throwing', async () => {
      answer = () => ({
        ok: false,
        status: 400,
        error: 'Bad Request',
        message: 'm',
        fields: { regionId: ['unknown'] },
      });
      const [result] = await bus.dispatchMany(stores(1));
      expect(result).toMatchObject({ status: 'decided', outcome: { ok: false, fields: { regionId: ['unknown'] } } });
    });

    it('keeps at most inFlight produces waiting for their outcomes', async () => {
      const held: Array<() => void> = [];
      log.onAppend = (command) =>
        held.push(() => void replies.send(command.replyTo, command.requestId, answer(command.requestId)!));
      const done = bus.dispatchMany(stores(10), { chunkSize: 2, inFlight: 2 });
      await new Promise((resolve) => setImmediate(resolve));
      expect(log.sends).toEqual([2, 2]);
      // Answering the first chunk lets one more produce go.
      held.splice(0, 2).forEach((release) => release());
      await new Promise((resolve) => setImmediate(resolve));
      expect(log.sends).toEqual([2, 2, 2]);
      for (;;) {
        held.splice(0).forEach((release) => release());
        if (log.appended.length === 10 && held.length === 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect((await done).every((r) => r.status === 'decided')).toBe(true);
    });

    it('reports progress after each chunk', async () => {
      const progress: number[] = [];
      await bus.dispatchMany(stores(5), { chunkSize: 2, inFlight: 1, onProgress: (n) => progress.push(n) });
      expect(progress).toEqual([2, 4, 5]);
    });

    it('answers pending for a command appended but not decided in time', async () => {
      jest.useFakeTimers();
      answer = (requestId) =>
        requestId === log.appended[0]?.command.requestId
          ? undefined
          : { ok: true, status: 201, body: { id: 'x', version: 1, eventIds: [] } };
      const done = bus.dispatchMany(stores(2), { timeoutMs: 1_000 });
      await jest.advanceTimersByTimeAsync(1_000);
      expect((await done).map((r) => r.status)).toEqual(['pending', 'decided']);
    });

    it('stops at a failed produce: its commands are unconfirmed, later ones unsent, earlier ones decided', async () => {
      log.failFrom = { call: 2, error: new Error('Connection error: connect ECONNREFUSED') };
      const expecting = jest.spyOn(replies, 'expect');
      const results = await bus.dispatchMany(stores(7), { chunkSize: 2, inFlight: 1 });
      expect(results.map((r) => r.status)).toEqual([
        'decided',
        'decided',
        'unconfirmed',
        'unconfirmed',
        'unsent',
        'unsent',
        'unsent',
      ]);
      expect(results[2]).toMatchObject({ reason: expect.stringContaining('ECONNREFUSED') });
      expect(results[6]).toMatchObject({ aggregateId: naturalAggregateId('store.import', 's-6'), commandId: '' });
      expect(log.sends).toEqual([2]);
      // Nothing waits for the failed chunk's replies, and nothing was registered for the unsent ones.
      expect(expecting).toHaveBeenCalledTimes(4);
    });

    it('sends nothing more once the signal is aborted', async () => {
      const abort = new AbortController();
      const results = await bus.dispatchMany(stores(6), {
        chunkSize: 2,
        inFlight: 1,
        signal: abort.signal,
        onProgress: () => abort.abort(),
      });
      expect(log.sends).toEqual([2]);
      expect(results.map((r) => r.status)).toEqual(['decided', 'decided', 'unsent', 'unsent', 'unsent', 'unsent']);
    });

    it('answers an empty batch without producing', async () => {
      await expect(bus.dispatchMany([])).resolves.toEqual([]);
      expect(log.sends).toEqual([]);
    });
  });

  it('closes its log on shutdown', async () => {
    await bus.onApplicationShutdown();
    expect(log.closed).toBe(true);
  });
});
