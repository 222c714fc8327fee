import type { CommandEnvelope, CommandOutcome, DomainEvent } from '@lastmeter/contracts';
import { keyPartition } from '@lastmeter/kafka';
import type { CommunicationState, StoreState } from '@lastmeter/domain';
import { AggregateStore } from './aggregate-store';
import { CredentialStore } from './credential-store';
import { FeedLedger } from './feed-ledger';
import { FeedSequencer } from './feed-sequencer';
import { PartitionDecider } from './partition-decider';
import { ACKNOWLEDGED_WRITES, type ReplySender } from './ports';
import { MemorySnapshotStore } from './snapshot-store';
import {
  ADMIN,
  EDITOR,
  FakeClock,
  FakeHistory,
  FakeWriterPool,
  NOW,
  commandOf,
  eventOf,
  messageOf,
  type FakeWriter,
} from './testing';

const P = 1;
const CONTENT = { kind: 'notice', title: 'Hello', body: 'b', priority: 'normal', audience: { all: true } } as const;

const draft = (id: string, options: Partial<CommandEnvelope> = {}) =>
  commandOf('communication.draft', id, CONTENT, { actor: EDITOR, ...options });
const publish = (id: string, options: Partial<CommandEnvelope> = {}) =>
  commandOf('communication.publish', id, {}, { actor: EDITOR, ...options });
const registerStore = (id: string, regionId: string) =>
  commandOf('store.register', id, { code: id, name: id, regionId }, { actor: ADMIN });

describe('PartitionDecider', () => {
  let store: AggregateStore;
  let credentials: CredentialStore;
  let history: FakeHistory;
  let writers: FakeWriterPool;
  let writer: FakeWriter;
  let replies: Array<{ channel: string; requestId: string; outcome: CommandOutcome }>;
  let decider: PartitionDecider;

  beforeEach(() => {
    store = new AggregateStore();
    credentials = new CredentialStore();
    history = new FakeHistory();
    writers = new FakeWriterPool();
    writer = writers.own(P);
    replies = [];
    const sender: ReplySender = {
      send: async (channel, requestId, outcome) => void replies.push({ channel, requestId, outcome }),
    };
    decider = new PartitionDecider(
      store,
      credentials,
      history,
      sender,
      writers,
      new FakeClock(),
      new FeedSequencer(store, new FeedLedger(), writers, history),
    );
  });

  /** Decides the commands as one fetched batch starting at `offset`; returns the committed offset. */
  const decide = (commands: CommandEnvelope[], offset = 0) =>
    decider.decideBatch(
      P,
      commands.map((command, i) => messageOf(offset + i, command)),
    );
  const outcomeOf = (command: CommandEnvelope) =>
    replies.filter((r) => r.requestId === command.requestId).at(-1)?.outcome;

  it('gives the events of a batch gap-free aggregateVersions and appends them with the offset in one transaction', async () => {
    const drafted = draft('c1');
    const published = publish('c1');
    await expect(decide([drafted, published], 10)).resolves.toBe('11');

    expect(writer.appended).toHaveLength(1);
    expect(writer.appended[0]!.commandOffset).toBe('12');
    const events = writer.events();
    expect(events.map((e) => [e.type, e.aggregateVersion])).toEqual([
      ['communication.drafted', 1],
      ['communication.approved', 2],
      ['communication.published', 3],
    ]);
    expect(events[0]).toMatchObject({
      aggregateType: 'communication',
      aggregateId: 'c1',
      actor: EDITOR,
      commandId: drafted.commandId,
      causationId: drafted.commandId,
      correlationId: drafted.correlationId,
      commandHash: drafted.commandHash,
      occurredAt: NOW.toISOString(),
    });
    // Applied to the store, then replied, only after the commit.
    expect(store.get('communication', 'c1')).toMatchObject({ version: 3, partition: P });
    expect(outcomeOf(drafted)).toEqual({
      ok: true,
      status: 201,
      body: { id: 'c1', version: 1, eventIds: [events[0]!.id] },
    });
    expect(outcomeOf(published)).toMatchObject({ ok: true, status: 200, body: { version: 3 } });
    expect(replies[0]!.channel).toBe('replies:test');
  });

  it('continues versions from the aggregate as the log has it', async () => {
    const drafted = { ...CONTENT, revision: 1 as const };
    store.apply(eventOf('communication.drafted', drafted, { aggregateId: 'c1', version: 1, actor: EDITOR }), P);
    await decide([publish('c1')]);
    expect(writer.events().map((e) => e.aggregateVersion)).toEqual([2, 3]);
  });

  it('answers a re-sent command (same Idempotency-Key and body) with its first outcome and appends nothing', async () => {
    const first = draft('c1', { commandId: 'editor-1:key-1', commandHash: 'h1' });
    await decide([first]);
    const resent = draft('c1', { commandId: 'editor-1:key-1', commandHash: 'h1', requestId: 'retry' });
    await decide([resent], 1);
    expect(outcomeOf(resent)).toEqual(outcomeOf(first));
    expect(writer.appended[1]).toMatchObject({ events: [], commandOffset: '2' });
    expect(store.get('communication', 'c1').version).toBe(1);
  });

  it('recognises a re-sent command within the same batch', async () => {
    const first = draft('c1', { commandId: 'k', commandHash: 'h' });
    const again = draft('c1', { commandId: 'k', commandHash: 'h', requestId: 'again' });
    await decide([first, again]);
    expect(writer.events()).toHaveLength(1);
    expect(outcomeOf(again)).toEqual(outcomeOf(first));
  });

  it('refuses the same Idempotency-Key with a different request: 422', async () => {
    await decide([draft('c1', { commandId: 'editor-1:key-1', commandHash: 'h1' })]);
    const other = draft('c1', { commandId: 'editor-1:key-1', commandHash: 'h2', requestId: 'other' });
    await decide([other], 1);
    expect(outcomeOf(other)).toEqual({
      ok: false,
      status: 422,
      error: 'Unprocessable Entity',
      message: 'Idempotency-Key was already used with a different request',
    });
  });

  it('refuses an If-Match that is not the current version: 409 with currentVersion', async () => {
    await decide([draft('c1')]);
    const stale = publish('c1', { expectedVersion: 0 });
    await decide([stale], 1);
    expect(outcomeOf(stale)).toEqual({
      ok: false,
      status: 409,
      error: 'Conflict',
      message: 'version mismatch: expected 0, current is 1',
      currentVersion: 1,
    });
    expect(writer.events()).toHaveLength(1);
  });

  it('turns a domain refusal into its outcome', async () => {
    const byAgency = publish('c1', { actor: { id: 'agency-1', role: 'agency' } });
    await decide([draft('c1'), byAgency]);
    expect(outcomeOf(byAgency)).toMatchObject({ ok: false, status: 403, error: 'Forbidden' });
  });

  it('answers a second copy of a refused request (a producer retry) with the first refusal', async () => {
    const early = registerStore('s1', 'north');
    await decide([early]);
    expect(outcomeOf(early)).toMatchObject({ ok: false, status: 400 });
    store.apply(eventOf('region.defined', { code: 'N', name: 'North' }, { aggregateId: 'north', version: 1 }), 0);

    // The same request again (same requestId) is not decided again, although it would pass now...
    await decide([early], 1);
    expect(replies.map((r) => r.outcome.ok)).toEqual([false, false]);
    expect(store.get('store', 's1').version).toBe(0);
    // ...but a client's retry is a new request, decided against the current state.
    const retry = registerStore('s1', 'north');
    await decide([{ ...retry, commandId: early.commandId }], 2);
    expect(outcomeOf(retry)).toMatchObject({ ok: true, status: 201 });
  });

  it('decides a directory miss again once the tail has caught up with every partition, to the writes acknowledged so far', async () => {
    history.onCatchUp = () =>
      store.apply(eventOf('region.defined', { code: 'N', name: 'North' }, { aggregateId: 'north', version: 1 }), 0);
    const register = registerStore('s1', 'north');
    await decide([register]);
    expect(history.catchUps).toEqual([undefined]);
    // The region's owner may have answered before its transaction markers were written.
    expect(history.options).toEqual([ACKNOWLEDGED_WRITES]);
    expect(ACKNOWLEDGED_WRITES.toHighWatermark).toEqual(['events', 'credentials']);
    expect(outcomeOf(register)).toMatchObject({ ok: true, status: 201 });
    expect((store.get('store', 's1').state as StoreState).regionId).toBe('north');
  });

  it('decides a run of imports in one transaction: created, updated and unchanged rows each answered, only changes appended', async () => {
    store.apply(eventOf('region.defined', { code: 'N', name: 'North' }, { aggregateId: 'north', version: 1 }), 0);
    const importStore = (id: string, name: string) =>
      commandOf('store.import', id, { code: id, name, regionId: 'north' }, { actor: ADMIN });
    await decide([importStore('s1', 'One'), importStore('s2', 'Two')]);
    replies = [];
    const again = importStore('s1', 'One');
    const renamed = importStore('s2', 'Deux');
    const created = importStore('s3', 'Three');
    await decide([again, renamed, created], 2);

    expect(writer.appended).toHaveLength(2);
    expect(writer.appended[1]!.events!.map((e) => [e.aggregateId, e.type, e.data])).toEqual([
      ['s2', 'store.updated', { name: 'Deux' }],
      ['s3', 'store.registered', expect.objectContaining({ name: 'Three' })],
    ]);
    expect(writer.appended[1]!.commandOffset).toBe('5');
    expect(outcomeOf(again)).toEqual({ ok: true, status: 200, body: { id: 's1', version: 1, eventIds: [] } });
    expect(outcomeOf(renamed)).toMatchObject({ ok: true, status: 200, body: { version: 2 } });
    expect(outcomeOf(created)).toMatchObject({ ok: true, status: 201, body: { version: 1 } });
  });

  it('changes nothing and replies nothing when the transaction fails', async () => {
    writer.failure = new Error('fenced');
    await expect(decide([draft('c1')])).rejects.toThrow('fenced');
    expect(store.get('communication', 'c1').version).toBe(0);
    expect(replies).toEqual([]);
  });

  it('stops when the partition is no longer owned and commits only what it decided', async () => {
    let owned = 1;
    const last = await decider.decideBatch(
      P,
      [draft('c1'), draft('c2')].map((command, i) => messageOf(i, command)),
      () => owned-- > 0,
    );
    expect(last).toBe('0');
    expect(writer.appended).toEqual([expect.objectContaining({ commandOffset: '1' })]);
    await expect(decider.decideBatch(P, [messageOf(5, draft('c3'))], () => false)).resolves.toBeUndefined();
    expect(writer.appended).toHaveLength(1);
  });

  it('leaves a batch of a partition no longer assigned (fetched before a rebalance) to its owner', async () => {
    await expect(decider.decideBatch(P + 1, [messageOf(0, draft('c1'))])).resolves.toBeUndefined();
    expect(writers.owned()).toEqual([P]);
    expect(writer.appended).toEqual([]);
  });

  it('decides a system command in the partition queue without committing a command offset', async () => {
    await decide([draft('c1'), publish('c1', { payload: { expiresAt: '2026-11-23T10:00:00.000Z' } })]);
    const expire = commandOf(
      'communication.expire',
      'c1',
      {},
      { actor: { id: 'lastmeter-scheduler', role: 'system' } },
    );
    const decision = await new PartitionDecider(
      store,
      credentials,
      history,
      { send: async () => undefined },
      writers,
      new FakeClock(new Date('2026-11-23T10:00:01.000Z')),
      new FeedSequencer(store, new FeedLedger(), writers, history),
    ).decideAsSystem(P, expire);
    expect(decision.outcome).toMatchObject({ ok: true, status: 200, body: { version: 4 } });
    expect(writer.appended.at(-1)).toEqual({ events: decision.events, credentials: [] });
    expect((store.get('communication', 'c1').state as CommunicationState).status).toBe('expired');
  });
  describe('deciding in the request', () => {
    const PARTITIONS = 12;
    /** Aggregate ids whose commands land on partition P (as a produce keyed by them would). */
    const ids = Array.from({ length: 400 }, (_, i) => `c-${i}`).filter((id) => keyPartition(id, PARTITIONS) === P);

    beforeEach(() => {
      decider.commandPartitions = PARTITIONS;
    });

    it('decides nothing in the request until a consumed batch committed the partition position', async () => {
      await expect(decider.decideInRequest(draft(ids[0]!))).resolves.toBe(false);
      expect(writer.appended).toHaveLength(0);
    });

    it('decides it at once and replies; without feed entries its transaction commits no offset', async () => {
      await decide([draft(ids[0]!)], 10);
      const drafted = draft(ids[1]!);
      await expect(decider.decideInRequest(drafted)).resolves.toBe(true);

      const transaction = writer.appended.at(-1)!;
      expect(transaction.commandOffset).toBeUndefined();
      expect(transaction.events!.map((e) => [e.type, e.aggregateId])).toEqual([['communication.drafted', ids[1]]]);
      expect(outcomeOf(drafted)).toMatchObject({ ok: true, status: 201, body: { id: ids[1], version: 1 } });
      expect(store.get('communication', ids[1]!).version).toBe(1);
    });

    it("commits the partition's decided position, as the group member, with the feed entries a publish carries", async () => {
      const MEMBER = { generationId: 4, memberId: 'member-a' };
      writers.joined = MEMBER;
      store.apply(eventOf('region.defined', { code: 'N', name: 'North' }, { aggregateId: 'north', version: 1 }), P);
      await decide([registerStore('s1', 'north'), draft(ids[0]!)], 10);
      const published = publish(ids[0]!);
      await expect(decider.decideInRequest(published)).resolves.toBe(true);

      const transaction = writer.appended.at(-1)!;
      expect(transaction.feed!.flatMap((chunk) => chunk.entries).map((e) => e.aggregateId)).toEqual(['s1']);
      expect(transaction).toMatchObject({ commandOffset: '12', member: MEMBER });
      expect(outcomeOf(published)).toMatchObject({ ok: true, status: 200 });
    });

    it('answers a refusal in the request without a transaction: nothing to write', async () => {
      await decide([draft(ids[0]!)], 10);
      const before = writer.appended.length;
      const byAgency = publish(ids[0]!, { actor: { id: 'agency-1', role: 'agency' } });
      await expect(decider.decideInRequest(byAgency)).resolves.toBe(true);

      expect(outcomeOf(byAgency)).toMatchObject({ ok: false, status: 403, error: 'Forbidden' });
      expect(writer.appended).toHaveLength(before);
    });

    it('leaves to the log a command of a partition this instance does not own', async () => {
      await decide([draft(ids[0]!)]);
      const elsewhere = Array.from({ length: 100 }, (_, i) => `x-${i}`).find(
        (id) => keyPartition(id, PARTITIONS) !== P,
      )!;
      await expect(decider.decideInRequest(draft(elsewhere))).resolves.toBe(false);
      expect(writer.appended).toHaveLength(1);
    });

    it('decides the commands that arrive while the writer is busy together, in one transaction, once it is free', async () => {
      await decide([draft(ids[0]!)]);
      let release!: () => void;
      writer.gate = new Promise<void>((resolve) => (release = resolve));
      const running = decide([publish(ids[0]!)], 1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(writer.busy).toBe(true);
      const [first, second] = [draft(ids[1]!), draft(ids[2]!)];
      const taken = [decider.decideInRequest(first), decider.decideInRequest(second)];
      release();
      await running;
      await expect(Promise.all(taken)).resolves.toEqual([true, true]);
      const transaction = writer.appended.at(-1)!;
      expect(transaction.events!.map((e) => e.aggregateId)).toEqual([ids[1], ids[2]]);
      expect(outcomeOf(first)).toMatchObject({ ok: true, status: 201 });
      expect(outcomeOf(second)).toMatchObject({ ok: true, status: 201 });
    });

    it('sends a command still waiting for its writer after its wait through the log instead', async () => {
      await decide([draft(ids[0]!)]);
      let release!: () => void;
      writer.gate = new Promise<void>((resolve) => (release = resolve));
      const running = decide([publish(ids[0]!)], 1);
      await new Promise((resolve) => setImmediate(resolve));
      const late = draft(ids[1]!);
      await expect(decider.decideInRequest(late, { waitMs: 20 })).resolves.toBe(false);
      release();
      await running;
      await new Promise((resolve) => setImmediate(resolve));
      expect(writer.events().map((e) => e.aggregateId)).not.toContain(ids[1]);
      expect(outcomeOf(late)).toBeUndefined();
    });

    it("leaves the command to the log at once while the writers' connections to the brokers have ended", async () => {
      await decide([draft(ids[0]!)]);
      writers.brokersReachable = false;
      const meanwhile = draft(ids[1]!);
      await expect(decider.decideInRequest(meanwhile)).resolves.toBe(false);
      expect(writer.appended).toHaveLength(1);
      expect(outcomeOf(meanwhile)).toBeUndefined();

      // Connected again: decided in the request as before.
      writers.brokersReachable = true;
      await expect(decider.decideInRequest(draft(ids[2]!))).resolves.toBe(true);
      expect(writer.events().at(-1)!.aggregateId).toBe(ids[2]);
    });

    it('leaves the command to the log when its transaction fails, and waits for a consumed commit before trying again', async () => {
      await decide([draft(ids[0]!)]);
      writer.failure = new Error('broker gone');
      const failed = draft(ids[1]!);
      await expect(decider.decideInRequest(failed)).resolves.toBe(false);
      expect(outcomeOf(failed)).toBeUndefined();
      expect(store.get('communication', ids[1]!).version).toBe(0);
      await expect(decider.decideInRequest(draft(ids[2]!))).resolves.toBe(false);

      // The log's copy, decided by the consumer: the partition's position is known again.
      await decide([failed], 1);
      await expect(decider.decideInRequest(draft(ids[2]!))).resolves.toBe(true);
      expect(writer.events().at(-1)!.aggregateId).toBe(ids[2]);
    });

    it('reads its partition to the high watermark before deciding again after a failed transaction: a commit whose answer was lost is known', async () => {
      await decide([draft(ids[0]!)]);
      writer.lostAnswer = new Error('commit answer lost');
      const lost = draft(ids[1]!);
      await expect(decider.decideInRequest(lost)).resolves.toBe(false);
      expect(store.get('communication', ids[1]!).version).toBe(0);
      // It did commit: the tail has its events once the partition is read to its high watermark.
      const committed = writer.appended.at(-1)!.events!;
      history.onCatchUp = (partitions) => {
        if (partitions?.includes(P)) for (const event of committed) store.apply(event as DomainEvent, P);
      };

      // The log's copy: known by its commandId, answered with the first outcome, not decided again.
      await decide([lost], 1);
      expect(history.catchUps.at(-1)).toEqual([P]);
      expect(history.options.at(-1)).toEqual({ toHighWatermark: ['events'] });
      expect(writer.events().filter((e) => e.aggregateId === ids[1])).toHaveLength(1);
      expect(outcomeOf(lost)).toMatchObject({ ok: true, status: 201, body: { id: ids[1], version: 1 } });
      // Once: the next decision does not read the partition again.
      const reads = history.catchUps.length;
      await decide([draft(ids[2]!)], 2);
      expect(history.catchUps).toHaveLength(reads);
    });

    it('looks a command record up in the snapshot store only for a commandId the request did not make', async () => {
      const snapshots = new MemorySnapshotStore();
      store = new AggregateStore({ snapshots });
      decider = new PartitionDecider(
        store,
        credentials,
        history,
        { send: async (channel, requestId, outcome) => void replies.push({ channel, requestId, outcome }) },
        writers,
        new FakeClock(),
        new FeedSequencer(store, new FeedLedger(), writers, history),
      );
      decider.commandPartitions = PARTITIONS;
      await decide([draft(ids[0]!)], 10);
      const lookups = jest.spyOn(snapshots, 'loadRecords');

      await expect(decider.decideInRequest(draft(ids[1]!), { minted: true })).resolves.toBe(true);
      expect(lookups).not.toHaveBeenCalled();

      // With an Idempotency-Key: an earlier request's record may be in the snapshot store only.
      const first = draft(ids[2]!, { commandId: 'editor-1:key-7', commandHash: 'h7' });
      await expect(decider.decideInRequest(first)).resolves.toBe(true);
      expect(lookups).toHaveBeenCalledWith(['editor-1:key-7']);
    });

    it('answers a command decided in its request again, from the log, with its first outcome', async () => {
      await decide([draft(ids[0]!)]);
      const drafted = draft(ids[1]!, { commandId: 'editor-1:key-9', commandHash: 'h9' });
      await decider.decideInRequest(drafted);
      const retry = draft(ids[1]!, { commandId: 'editor-1:key-9', commandHash: 'h9', requestId: 'retry' });
      await decide([retry], 2);
      expect(outcomeOf(retry)).toEqual(outcomeOf(drafted));
      expect(writer.events().filter((e) => e.aggregateId === ids[1])).toHaveLength(1);
    });
  });
});
