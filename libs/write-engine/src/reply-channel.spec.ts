import type { CommandOutcome } from '@lastmeter/contracts';
import { ReplyChannel } from './reply-channel';
import { FakeReplyTransport } from './testing';

const ACCEPTED: CommandOutcome = { ok: true, status: 201, body: { id: 'a1', version: 1, eventIds: ['e1'] } };
const REFUSED: CommandOutcome = { ok: false, status: 409, error: 'Conflict', message: 'no', currentVersion: 3 };

/** Resolves with the promise's value, or 'still waiting' if it has not settled by now. */
function settled<T>(promise: Promise<T>): Promise<T | 'still waiting'> {
  return Promise.race([
    promise,
    new Promise<'still waiting'>((resolve) => setImmediate(() => resolve('still waiting'))),
  ]);
}

describe('ReplyChannel', () => {
  let transport: FakeReplyTransport;
  /** The instance holding the HTTP request. */
  let waiting: ReplyChannel;
  /** The instance that decided the command. */
  let deciding: ReplyChannel;

  beforeEach(async () => {
    transport = new FakeReplyTransport();
    waiting = new ReplyChannel(transport, { REDIS_KEY_PREFIX: 'lm:' });
    deciding = new ReplyChannel(transport, { REDIS_KEY_PREFIX: 'lm:' });
    await waiting.onModuleInit();
    await deciding.onModuleInit();
  });

  afterEach(() => jest.useRealTimers());

  it('has a channel of its own, under the key prefix', () => {
    expect(waiting.channel).toMatch(/^lm:command-replies:[0-9a-f-]{36}$/);
    expect(deciding.channel).not.toBe(waiting.channel);
  });

  it('hands the outcome sent to its channel to the request that expects it', async () => {
    const reply = waiting.expect('req-1', 10_000);
    const other = waiting.expect('req-2', 10_000);
    await deciding.send(waiting.channel, 'req-1', ACCEPTED);
    await expect(reply.outcome).resolves.toEqual(ACCEPTED);
    expect(await settled(other.outcome)).toBe('still waiting');
    other.cancel();
  });

  it('hands an outcome for itself over in memory, a copy, without publishing', async () => {
    const reply = deciding.expect('req-1', 10_000);
    await deciding.send(deciding.channel, 'req-1', ACCEPTED);
    const outcome = await reply.outcome;
    expect(outcome).toEqual(ACCEPTED);
    expect(outcome).not.toBe(ACCEPTED);
    expect(transport.published).toEqual([]);
    // Nobody waits for it any more: a second reply is dropped, as one from Redis would be.
    await deciding.send(deciding.channel, 'req-1', REFUSED);
    expect(transport.published).toEqual([]);
  });

  it('carries refusals as they are', async () => {
    const reply = waiting.expect('req-1', 10_000);
    await deciding.send(waiting.channel, 'req-1', REFUSED);
    await expect(reply.outcome).resolves.toEqual(REFUSED);
  });

  it('resolves undefined when no reply comes in time', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const reply = waiting.expect('req-1', 10_000);
    jest.advanceTimersByTime(9_999);
    expect(await settled(reply.outcome)).toBe('still waiting');
    jest.advanceTimersByTime(1);
    await expect(reply.outcome).resolves.toBeUndefined();
  });

  it('drops a reply that comes after the timeout', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const reply = waiting.expect('req-1', 100);
    jest.advanceTimersByTime(100);
    await deciding.send(waiting.channel, 'req-1', ACCEPTED);
    await expect(reply.outcome).resolves.toBeUndefined();
  });

  it('stops waiting on cancel: neither a reply nor the timeout settles it', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const reply = waiting.expect('req-1', 100);
    reply.cancel();
    await deciding.send(waiting.channel, 'req-1', ACCEPTED);
    jest.advanceTimersByTime(1_000);
    expect(await settled(reply.outcome)).toBe('still waiting');
  });

  it('publishes one JSON message per reply and closes its transport on shutdown', async () => {
    await deciding.send('lm:command-replies:x', 'req-9', ACCEPTED);
    expect(transport.published).toEqual([
      { channel: 'lm:command-replies:x', message: JSON.stringify({ requestId: 'req-9', outcome: ACCEPTED }) },
    ]);
    await waiting.onApplicationShutdown();
    expect(transport.closed).toBe(true);
  });
});
