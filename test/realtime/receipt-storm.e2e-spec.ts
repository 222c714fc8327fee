/**
 * @exclusive It loads the gateway with a storm of receipts. (test/setup/e2e-environment.ts)
 */
import {
  MAX_RECEIPTS_PER_MESSAGE,
  RATE_LIMITED,
  RECEIPT_KINDS,
  topicNames,
  type Ack,
  type DomainEvent,
  type ReachReport,
  type ReceiptPayload,
  type ReceiptsAck,
} from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApp, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { bearer, Publisher, tokenFor } from '../support/write-api';

/**
 * Receipts at volume (issue 16): a storm from many terminals on two gateways, one fact
 * at a time (`receipt`) and in batches (`receipts`), with 10% of the facts sent twice at
 * once (on the other gateway, or in a message of their own): every fact acked, the reach
 * board exact, and each fact in Kafka exactly once. Then what `receipts` refuses, as a
 * whole or item by item. A burst of 30 (TERMINAL_MESSAGE_BURST) makes a batch larger
 * than a terminal's budget easy to send.
 */
const BURST = 30;
const ns = testNamespace('receipt-storm', { TERMINAL_MESSAGE_BURST: String(BURST) });
const topics = topicNames(ns.topicPrefix);
const TERMINALS = 120;
const COMMUNICATIONS = 4;
let apps: Record<AppName, RunningApp> & { gateway2?: RunningApp };
let api: Publisher;
let stores: string[];
let elsewhere: string;
let communications: string[];
/** A communication published to `elsewhere` only. */
let foreign: string;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  apps = await startApps(ns.env);
  apps.gateway2 = await startApp('gateway', ns.env);
  api = new Publisher(apps.command.url, ns);
  const region = await api.region('storm');
  stores = [await api.store('R0', region), await api.store('R1', region), await api.store('R2', region)];
  elsewhere = await api.store('R3', region);
  communications = [];
  for (let c = 0; c < COMMUNICATIONS; c++) {
    communications.push(await api.publish({ title: `Storm ${c}`, audience: { storeIds: stores } }));
  }
  foreign = await api.publish({ title: 'Not for the storm stores', audience: { storeIds: [elsewhere] } });
  // The gateways accept facts on a communication once the read side has it in the stores' feeds.
  for (const id of communications) await accepting(id, stores);
  await accepting(foreign, [elsewhere]);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

async function accepting(communicationId: string, storeIds: string[]): Promise<void> {
  await eventually(async () => {
    const response = await fetch(`${apps.gateway.url}/v1/communications/${communicationId}/reach`, {
      headers: bearer(tokenFor(ns, 'analyst')),
    });
    expect(response.status).toBe(200);
    const reach = (await response.json()) as ReachReport;
    expect(reach.revision).toBe(1);
    for (const storeId of storeIds) {
      expect(reach.byStore).toContainEqual(expect.objectContaining({ storeId, targeted: true }));
    }
  });
}

/** A connected terminal client of `storeId` on `gateway` (no resend on a slow ack: every answer is counted). */
async function connect(terminalId: string, storeId: string, gateway: RunningApp): Promise<TerminalClient> {
  const client = new TerminalClient({
    url: gateway.url,
    token: tokenFor(ns, 'terminal', { sub: terminalId, storeId }),
    cursors: new MemoryCursorStore(),
    ackTimeoutMs: 120_000,
    reconnection: false,
  });
  clients.push(client);
  await client.connect();
  return client;
}

const raw = {
  receipt: (client: TerminalClient, payload: ReceiptPayload) =>
    client.socket.timeout(120_000).emitWithAck('receipt', payload) as Promise<Ack>,
  receipts: (client: TerminalClient, payload: unknown) =>
    client.socket.timeout(120_000).emitWithAck('receipts', payload) as Promise<ReceiptsAck>,
};

/** Every receipt event in the store-events topic. */
async function receiptEvents(): Promise<DomainEvent[]> {
  return (await readTopic<DomainEvent>(ns.env.KAFKA_BROKERS!, topics.storeEvents))
    .map((m) => m.value)
    .filter((e) => e.type.startsWith('receipt.'));
}

const factKey = (e: DomainEvent) => {
  const data = e.data as { communicationId: string; revision: number };
  return `${e.actor.id}/${e.type}/${data.communicationId}/${data.revision}`;
};

describe('a receipt storm', () => {
  it('acks every receipt, counts every terminal on the reach board, and writes each fact to Kafka once', async () => {
    const terminals = await Promise.all(
      Array.from({ length: TERMINALS }, async (_, i) => {
        const terminalId = `storm-terminal-${i}`;
        const storeId = stores[i % stores.length];
        // Two sockets per terminal, one on each gateway.
        const [home, away] = i % 2 ? [apps.gateway, apps.gateway2!] : [apps.gateway2!, apps.gateway];
        return {
          i,
          terminalId,
          home: await connect(terminalId, storeId, home),
          away: await connect(terminalId, storeId, away),
        };
      }),
    );
    const facts: ReceiptPayload[] = communications.flatMap((communicationId) =>
      RECEIPT_KINDS.map((kind) => ({ communicationId, kind, revision: 1 })),
    );
    const acks: Ack[] = [];
    let resent = 0;
    await Promise.all(
      terminals.map(async ({ i, home, away }) => {
        const sends: Array<Promise<void>> = [];
        const single = (client: TerminalClient, fact: ReceiptPayload) =>
          sends.push(raw.receipt(client, fact).then((ack) => void acks.push(ack)));
        const batch = (client: TerminalClient, items: ReceiptPayload[]) =>
          sends.push(
            raw.receipts(client, { items }).then((ack) => {
              expect(ack.ok).toBe(true);
              acks.push(...ack.results!);
            }),
          );
        // A third of the terminals send one receipt per message, a third one batch of
        // all their receipts, a third half and half.
        if (i % 3 === 0) facts.forEach((fact) => single(home, fact));
        else if (i % 3 === 1) batch(home, facts);
        else {
          batch(home, facts.slice(0, 6));
          facts.slice(6).forEach((fact) => single(home, fact));
        }
        // 10% of all facts are sent a second time at once: on the other gateway as
        // `receipt` or `receipts`, or on the same socket in a message of its own.
        facts.forEach((fact, j) => {
          const g = i * facts.length + j;
          if (g % 10 !== 0) return;
          resent++;
          const how = (g / 10) % 3;
          if (how === 0) single(away, fact);
          else if (how === 1) batch(away, [fact]);
          else batch(home, [fact]);
        });
        await Promise.all(sends);
      }),
    );

    const distinct = TERMINALS * facts.length;
    expect(resent).toBe(Math.ceil(distinct / 10));
    expect(acks.filter((ack) => !ack.ok)).toEqual([]);
    // One of the two sends of each resent fact wrote it, the other was told it is a duplicate.
    expect(acks.filter((ack) => ack.ok && !ack.duplicate)).toHaveLength(distinct);
    expect(acks.filter((ack) => ack.duplicate)).toHaveLength(resent);

    await eventually(
      async () => {
        for (const id of communications) {
          const response = await fetch(`${apps.gateway.url}/v1/communications/${id}/reach`, {
            headers: bearer(tokenFor(ns, 'analyst')),
          });
          const reach = (await response.json()) as ReachReport;
          for (const step of RECEIPT_KINDS)
            expect(reach[step]).toEqual({ stores: stores.length, terminals: TERMINALS });
        }
      },
      { timeoutMs: 60_000, what: 'the reach board to count every terminal' },
    );

    const stormEvents = (await receiptEvents()).filter((e) => e.actor.id.startsWith('storm-terminal-'));
    const ids = stormEvents.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(stormEvents).toHaveLength(distinct);
    const expected = terminals.flatMap(({ terminalId }) =>
      facts.map((f) => `${terminalId}/receipt.${f.kind}/${f.communicationId}/1`),
    );
    expect(stormEvents.map(factKey).sort()).toEqual(expected.sort());
  }, 300_000);
});

describe('receipts: refusals', () => {
  const good = (c: number, kind: (typeof RECEIPT_KINDS)[number]) => ({
    communicationId: communications[c],
    kind,
    revision: 1,
  });
  const written = async (terminalId: string) =>
    (await receiptEvents()).filter((e) => e.actor.id === terminalId).map(factKey);

  it('answers each item on its own: a bad item, an unknown field and another store’s communication are refused and not written', async () => {
    const client = await connect('mixed-terminal', stores[0], apps.gateway);
    const items = [
      good(0, 'delivered'),
      { ...good(0, 'read'), kind: 'seen' },
      good(1, 'read'),
      { communicationId: foreign, kind: 'delivered', revision: 1 },
      { ...good(1, 'acknowledged'), urgent: true },
      good(2, 'acknowledged'),
    ];
    const ack = await raw.receipts(client, { items });
    expect(ack).toEqual({
      ok: true,
      results: [
        { ok: true },
        { ok: false, error: { message: 'invalid message: kind', fields: { kind: [expect.any(String)] } } },
        { ok: true },
        { ok: false, error: { message: expect.stringContaining("not in this store's feed") } },
        { ok: false, error: { message: 'invalid message: urgent', fields: { urgent: [expect.any(String)] } } },
        { ok: true },
      ],
    });
    expect((await written('mixed-terminal')).sort()).toEqual(
      [
        `mixed-terminal/receipt.delivered/${communications[0]}/1`,
        `mixed-terminal/receipt.read/${communications[1]}/1`,
        `mixed-terminal/receipt.acknowledged/${communications[2]}/1`,
      ].sort(),
    );
  });

  it.each([
    ['not an object', 'read everything', '$'],
    ['no items', {}, 'items'],
    ['an empty list', { items: [] }, 'items'],
    ['more than 500 items', 'many', 'items'],
    ['an unknown field', 'extra', 'urgent'],
  ])('refuses a message with %s as a whole and writes nothing', async (_case, body, field) => {
    const terminalId = `refused-terminal-${field}-${String(_case).length}`;
    const client = await connect(terminalId, stores[1], apps.gateway2!);
    const payload =
      body === 'many'
        ? { items: Array.from({ length: MAX_RECEIPTS_PER_MESSAGE + 1 }, () => good(0, 'read')) }
        : body === 'extra'
          ? { items: [good(0, 'read')], urgent: true }
          : body;
    const ack = await raw.receipts(client, payload);
    expect(ack).toEqual({ ok: false, error: { message: expect.any(String), fields: expect.any(Object) } });
    expect(Object.keys(ack.error!.fields!)).toEqual([field]);
    // A well-formed message after it is recorded: the refusal wrote nothing before it.
    expect(await raw.receipts(client, { items: [good(3, 'delivered')] })).toEqual({
      ok: true,
      results: [{ ok: true }],
    });
    expect(await written(terminalId)).toEqual([`${terminalId}/receipt.delivered/${communications[3]}/1`]);
  });

  it('grants a batch larger than the terminal’s budget item by item: the first ones in order, the rest rate-limited', async () => {
    const client = await connect('budget-terminal', stores[2], apps.gateway);
    const twelve = communications.flatMap((_, c) => RECEIPT_KINDS.map((kind) => good(c, kind)));
    // 36 items against a burst of 30: each fact three times.
    const ack = await raw.receipts(client, { items: [...twelve, ...twelve, ...twelve] });
    expect(ack.ok).toBe(true);
    expect(ack.results!.slice(0, 12)).toEqual(twelve.map(() => ({ ok: true })));
    expect(ack.results!.slice(12, BURST)).toEqual(
      Array.from({ length: BURST - 12 }, () => ({ ok: true, duplicate: true })),
    );
    expect(ack.results!.slice(BURST)).toEqual(
      Array.from({ length: 36 - BURST }, () => ({ ok: false, error: { message: RATE_LIMITED } })),
    );
    expect((await written('budget-terminal')).sort()).toEqual(
      twelve.map((f) => `budget-terminal/receipt.${f.kind}/${f.communicationId}/1`).sort(),
    );
  });

  it('lets the typed client send a backlog: one ack per receipt, resending what the budget refused', async () => {
    const client = await connect('client-terminal', stores[0], apps.gateway2!);
    const twelve = communications.flatMap((_, c) => RECEIPT_KINDS.map((kind) => good(c, kind)));
    const acks = await client.receipts([...twelve, ...twelve, ...twelve]);
    expect(acks.slice(0, 12)).toEqual(twelve.map(() => ({ ok: true })));
    expect(acks.slice(12)).toEqual(Array.from({ length: 24 }, () => ({ ok: true, duplicate: true })));
    expect(await written('client-terminal')).toHaveLength(12);
  });
});
