import { NOT_CONFIRMED, WRITER_BUSY } from '@lastmeter/contracts';
import { FactInFlight, type ClaimState } from '@lastmeter/redis';
import {
  FactBatcher,
  NotConfirmed,
  WriterBusy,
  type Fact,
  type FactBatcherOptions,
  type FactClaimStore,
  type FactLog,
} from './fact-batcher';

/** The Redis claims in memory: `pending` while claimed, `done` once confirmed. */
class MemoryClaims implements FactClaimStore {
  readonly state = new Map<string, 'pending' | 'done'>();
  readonly calls: Array<[string, string[]]> = [];
  failClaims = false;
  failConfirms = 0;

  async claimMany(ids: string[]): Promise<ClaimState[]> {
    this.calls.push(['claim', ids]);
    if (this.failClaims) throw new Error('redis down');
    return ids.map((id) => {
      const held = this.state.get(id);
      if (held) return held;
      this.state.set(id, 'pending');
      return 'claimed';
    });
  }

  async confirmMany(ids: string[]): Promise<void> {
    this.calls.push(['confirm', ids]);
    if (this.failConfirms > 0) {
      this.failConfirms--;
      throw new Error('redis hiccup');
    }
    for (const id of ids) this.state.set(id, 'done');
  }

  async releaseMany(ids: string[]): Promise<void> {
    this.calls.push(['release', ids]);
    for (const id of ids) if (this.state.get(id) === 'pending') this.state.delete(id);
  }

  async extendMany(ids: string[]): Promise<void> {
    this.calls.push(['extend', ids]);
  }

  count(kind: string): number {
    return this.calls.filter(([k]) => k === kind).length;
  }
}

interface Send {
  messages: Array<Omit<Fact, 'id'>>;
  resolve(): void;
  reject(error: Error): void;
}

/** The log in memory: each send waits until the test settles it (or settles at once when `auto`). */
class MemoryLog implements FactLog {
  readonly sends: Send[] = [];
  readonly written: string[] = [];
  auto = true;
  inFlight = 0;
  maxInFlight = 0;

  send(messages: Array<Omit<Fact, 'id'>>): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => {
      const send: Send = {
        messages,
        resolve: () => {
          this.inFlight--;
          this.written.push(...messages.map((m) => m.value));
          resolve();
        },
        reject: (error) => {
          this.inFlight--;
          reject(error);
        },
      };
      this.sends.push(send);
      if (this.auto) queueMicrotask(() => send.resolve());
    });
  }
}

const fact = (id: string | undefined, value = id ?? 'presence'): Fact => ({
  ...(id !== undefined ? { id } : {}),
  key: 'store-1',
  value,
  type: 'receipt.read',
});

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  if (!condition()) throw new Error('condition never met');
};

let batchers: FactBatcher[] = [];
function setUp(options: Partial<FactBatcherOptions> = {}) {
  const log = new MemoryLog();
  const claims = new MemoryClaims();
  const warnings: string[] = [];
  const sent: number[] = [];
  const batcher = new FactBatcher(
    log,
    claims,
    { lingerMs: 1, ...options },
    { sent: (n) => sent.push(n), warn: (m) => warnings.push(m) },
  );
  batchers.push(batcher);
  return { log, claims, batcher, warnings, sent };
}
afterEach(() => {
  for (const batcher of batchers) batcher.close();
  batchers = [];
});

describe('FactBatcher', () => {
  it('writes facts that arrive together in one claim pipeline and one Kafka send, and answers each after the ack', async () => {
    const { log, claims, batcher, sent } = setUp();
    log.auto = false;
    let answered = 0;
    const writes = ['a', 'b', 'c'].map((id) => batcher.write(fact(id)).then((o) => (answered++, o)));
    await until(() => log.sends.length === 1);
    expect(log.sends[0].messages.map((m) => m.value)).toEqual(['a', 'b', 'c']);
    expect(claims.calls).toEqual([['claim', ['a', 'b', 'c']]]);
    // Nothing is answered before Kafka acked.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(answered).toBe(0);
    log.sends[0].resolve();
    expect(await Promise.all(writes)).toEqual([{ duplicate: false }, { duplicate: false }, { duplicate: false }]);
    expect(claims.calls[1]).toEqual(['confirm', ['a', 'b', 'c']]);
    expect([...claims.state.values()]).toEqual(['done', 'done', 'done']);
    expect(sent).toEqual([3]);
    expect(batcher.size).toBe(0);
  });

  it('splits at maxBatch and maxSend and never has two sends in flight', async () => {
    const { log, batcher } = setUp({ maxBatch: 2, maxSend: 2 });
    log.auto = false;
    let done = false;
    const all = Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => batcher.write(fact(id)))).finally(
      () => (done = true),
    );
    for (let resolved = 0; !done; await new Promise((resolve) => setTimeout(resolve, 2))) {
      if (log.sends.length > resolved) log.sends[resolved++].resolve();
    }
    await all;
    expect(log.maxInFlight).toBe(1);
    expect(log.sends.map((s) => s.messages.length)).toEqual([2, 2, 1]);
    expect(log.written).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('takes the facts claimed while a send is in flight into the next send together', async () => {
    const { log, batcher } = setUp();
    log.auto = false;
    const first = batcher.write(fact('a'));
    await until(() => log.sends.length === 1);
    const later = ['b', 'c', 'd'].map((id) => batcher.write(fact(id)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.sends).toHaveLength(1);
    log.auto = true;
    log.sends[0].resolve();
    await Promise.all([first, ...later]);
    expect(log.sends.map((s) => s.messages.map((m) => m.value))).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('writes a fact once: the same id again on this gateway is a duplicate, and so is one already recorded', async () => {
    const { log, claims, batcher } = setUp();
    claims.state.set('old', 'done');
    const outcomes = await Promise.all([
      batcher.write(fact('x')),
      batcher.write(fact('x')),
      batcher.write(fact('old')),
    ]);
    expect(outcomes).toEqual([{ duplicate: false }, { duplicate: true }, { duplicate: true }]);
    expect(log.written).toEqual(['x']);
    // Later, the claim answers.
    expect(await batcher.write(fact('x'))).toEqual({ duplicate: true });
    expect(log.written).toEqual(['x']);
  });

  it('waits for a fact another request is recording, and answers duplicate once it is recorded', async () => {
    const { log, claims, batcher } = setUp({ claimRetryMs: 5 });
    claims.state.set('busy', 'pending');
    const write = batcher.write(fact('busy'));
    await until(() => claims.count('claim') >= 2);
    claims.state.set('busy', 'done');
    expect(await write).toEqual({ duplicate: true });
    expect(log.written).toEqual([]);
  });

  it('answers FactInFlight when the other request holds the fact past the deadline', async () => {
    const { log, claims, batcher } = setUp({ claimRetryMs: 5, deadlineMs: 40 });
    claims.state.set('stuck', 'pending');
    await expect(batcher.write(fact('stuck'))).rejects.toBeInstanceOf(FactInFlight);
    expect(log.written).toEqual([]);
    expect(batcher.size).toBe(0);
  });

  it('takes over a fact whose claim was released by a failed attempt', async () => {
    const { log, claims, batcher } = setUp({ claimRetryMs: 5 });
    claims.state.set('retry', 'pending');
    const write = batcher.write(fact('retry'));
    await until(() => claims.count('claim') >= 2);
    claims.state.delete('retry');
    expect(await write).toEqual({ duplicate: false });
    expect(log.written).toEqual(['retry']);
  });

  it('writes facts without an id (presence) as they are, in the same send', async () => {
    const { log, claims, batcher } = setUp();
    await Promise.all([
      batcher.write(fact('a')),
      batcher.write(fact(undefined, 'p1')),
      batcher.write(fact(undefined, 'p2')),
    ]);
    expect(log.sends).toHaveLength(1);
    expect(log.written).toEqual(['a', 'p1', 'p2']);
    expect(claims.calls).toEqual([
      ['claim', ['a']],
      ['confirm', ['a']],
    ]);
  });

  it('releases the claims of a failed send and answers its error: a retry writes the fact', async () => {
    const { log, claims, batcher } = setUp();
    log.auto = false;
    const writes = [batcher.write(fact('a')), batcher.write(fact('b'))];
    await until(() => log.sends.length === 1);
    log.sends[0].reject(new Error('broker down'));
    for (const write of writes) await expect(write).rejects.toThrow('broker down');
    expect(claims.calls.at(-1)).toEqual(['release', ['a', 'b']]);
    expect(claims.state.size).toBe(0);
    log.auto = true;
    expect(await batcher.write(fact('a'))).toEqual({ duplicate: false });
    expect(log.written).toEqual(['a']);
  });

  it('claims nothing and sends nothing when Redis fails', async () => {
    const { log, claims, batcher } = setUp();
    claims.failClaims = true;
    await expect(batcher.write(fact('a'))).rejects.toThrow('redis down');
    expect(log.sends).toHaveLength(0);
    expect(batcher.size).toBe(0);
  });

  it('refuses with WriterBusy beyond maxBuffered and maxHeld, without claiming, and takes facts again once there is room', async () => {
    const { log, claims, batcher } = setUp({ maxBuffered: 3, maxHeld: 0 });
    log.auto = false;
    const writes = ['a', 'b', 'c'].map((id) => batcher.write(fact(id)));
    const refused = batcher.write(fact('d'));
    await expect(refused).rejects.toBeInstanceOf(WriterBusy);
    await expect(refused).rejects.toThrow(WRITER_BUSY);
    await until(() => log.sends.length === 1);
    expect(claims.calls.flatMap(([, ids]) => ids)).not.toContain('d');
    log.sends[0].resolve();
    await Promise.all(writes);
    log.auto = true;
    expect(await batcher.write(fact('d'))).toEqual({ duplicate: false });
  });

  it('holds facts beyond maxBuffered, unclaimed, and writes them in arrival order as room is given back', async () => {
    const { log, claims, batcher } = setUp({ maxBuffered: 2, maxHeld: 4 });
    log.auto = false;
    const writes = ['a', 'b', 'c', 'd', 'e'].map((id) => batcher.write(fact(id)));
    await until(() => log.sends.length === 1);
    // Only the buffered two are claimed; the others wait, counted in size, leaving room for one more.
    expect(claims.calls.flatMap(([, ids]) => ids)).toEqual(['a', 'b']);
    expect(batcher.size).toBe(5);
    expect(batcher.room).toBe(1);
    for (let resolved = 0; resolved < 3; resolved++) {
      await until(() => log.sends.length > resolved);
      log.sends[resolved].resolve();
    }
    expect(await Promise.all(writes)).toEqual(Array(5).fill({ duplicate: false }));
    expect(log.written).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(batcher.size).toBe(0);
  });

  it('answers WriterBusy to a fact held past maxHoldMs, and at once beyond maxHeld; neither is claimed or written', async () => {
    const { log, claims, batcher } = setUp({ maxBuffered: 1, maxHeld: 1, maxHoldMs: 30 });
    log.auto = false;
    const first = batcher.write(fact('a'));
    const held = batcher.write(fact('b'));
    await expect(batcher.write(fact('c'))).rejects.toBeInstanceOf(WriterBusy);
    await expect(held).rejects.toBeInstanceOf(WriterBusy);
    await until(() => log.sends.length === 1);
    log.sends[0].resolve();
    await first;
    expect(claims.calls.flatMap(([, ids]) => ids)).toEqual(['a', 'a']);
    expect(log.written).toEqual(['a']);
    expect(batcher.size).toBe(0);
  });

  it('answers NotConfirmed at the deadline, keeps the claims while the send goes on, and confirms them when Kafka acks', async () => {
    const { log, claims, batcher, sent } = setUp({ deadlineMs: 200, keepAliveMs: 5, claimRetryMs: 5, maxBuffered: 2 });
    log.auto = false;
    const write = batcher.write(fact('slow'));
    await expect(write).rejects.toBeInstanceOf(NotConfirmed);
    await expect(write).rejects.toThrow(NOT_CONFIRMED);
    // Still being written: the claim is prolonged, not released, and the fact still takes room.
    await until(() => claims.count('extend') > 0);
    expect(claims.state.get('slow')).toBe('pending');
    expect(claims.count('release')).toBe(0);
    expect(batcher.size).toBe(1);
    // A resend meanwhile is held back by the claim; once Kafka acks, it is a duplicate.
    const resend = batcher.write(fact('slow'));
    await until(() => claims.count('claim') >= 2);
    log.sends[0].resolve();
    expect(await resend).toEqual({ duplicate: true });
    expect(claims.state.get('slow')).toBe('done');
    expect(log.written).toEqual(['slow']);
    expect(sent).toEqual([1]);
    expect(batcher.size).toBe(0);
  });

  it('answers facts stuck behind a send past its deadline without sending them, releasing their claims', async () => {
    const { log, claims, batcher } = setUp({ deadlineMs: 30 });
    log.auto = false;
    // Each answer gets its handler as the fact is written: on a loaded box either may be
    // answered before the test gets to await it, and a rejection with no handler yet
    // fails the test as an unhandled rejection.
    const first = expect(batcher.write(fact('first'))).rejects.toBeInstanceOf(NotConfirmed);
    await until(() => log.sends.length === 1);
    const behind = expect(batcher.write(fact('behind'))).rejects.toBeInstanceOf(NotConfirmed);
    await Promise.all([first, behind]);
    expect(claims.calls).toContainEqual(['release', ['behind']]);
    expect(claims.state.has('behind')).toBe(false);
    log.sends[0].resolve();
    await until(() => claims.state.get('first') === 'done');
    // Only the first was ever sent.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.sends).toHaveLength(1);
    expect(log.written).toEqual(['first']);
  });

  it('drains: resolves once every accepted fact has settled', async () => {
    const { log, batcher } = setUp();
    log.auto = false;
    const write = batcher.write(fact('a'));
    let drained = false;
    const drain = batcher.drain(5_000).then(() => (drained = true));
    await until(() => log.sends.length === 1);
    expect(drained).toBe(false);
    log.sends[0].resolve();
    await Promise.all([write, drain]);
    expect(batcher.size).toBe(0);
  });

  it('submit: calls back once per fact (recorded, duplicate, busy) and never within the call', async () => {
    const { log, batcher } = setUp({ maxBuffered: 2, maxHeld: 0 });
    const outcomes: Array<[string, unknown]> = [];
    const submit = (id: string) =>
      batcher.submit(fact(id), (outcome) =>
        outcomes.push([id, outcome instanceof Error ? outcome.constructor.name : outcome]),
      );
    submit('a');
    submit('a');
    // Full: the third is refused at once, with nothing claimed or written.
    submit('b');
    expect(outcomes).toEqual([['b', 'WriterBusy']]);
    await until(() => outcomes.length === 3);
    expect(outcomes).toEqual([
      ['b', 'WriterBusy'],
      ['a', { duplicate: false }],
      ['a', { duplicate: true }],
    ]);
    expect(log.written).toEqual(['a']);
    expect(batcher.size).toBe(0);
  });

  it('answers a written fact as recorded even when its claim cannot be confirmed, and says so', async () => {
    const { claims, batcher, warnings } = setUp();
    claims.failConfirms = 2;
    expect(await batcher.write(fact('a'))).toEqual({ duplicate: false });
    expect(warnings).toEqual([expect.stringContaining('not confirmed')]);
  });
});
