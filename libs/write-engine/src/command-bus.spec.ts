import { HttpException, ServiceUnavailableException } from '@nestjs/common';
import type { CommandOutcome } from '@lastmeter/contracts';
import type { AnyCommand } from '@lastmeter/domain';
import { CommandBus, REPLY_TIMEOUT_MS, type Dispatch } from './command-bus';
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

  it('closes its log on shutdown', async () => {
    await bus.onApplicationShutdown();
    expect(log.closed).toBe(true);
  });
});
