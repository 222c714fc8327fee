import request from 'supertest';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { gatewayAlive } from '../support/read-side';
import { StoreEventWriter } from '../support/store-events';
import { bearer, Publisher } from '../support/write-api';

/** The gateway's read API over the projected read models, with role and store scoping. */
const ns = testNamespace('read-api');
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let activity: StoreEventWriter;
let north: string, south: string, n1: string, n2: string, s1: string;

const hq = () => bearer(api.token('hq-editor'));
const get = (path: string, headers: Record<string, string> = hq()) => request(apps.gateway.url).get(path).set(headers);

async function feedOf(storeId: string, headers = hq()) {
  const response = await get(`/v1/stores/${storeId}/feed?limit=500`, headers);
  expect(response.status).toBe(200);
  return response.body as {
    headSeq: number;
    items: Array<{ feedSeq: number; change: string; communication: { id: string } }>;
  };
}

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  activity = new StoreEventWriter(ns);
  north = await api.region('north');
  south = await api.region('south');
  n1 = await api.store('N1', north);
  n2 = await api.store('N2', north);
  s1 = await api.store('S1', south);
});

afterAll(async () => {
  await activity?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

describe('region targeting through the read API', () => {
  it('puts a regional notice in every store of the region and in no other, and follows it to retraction', async () => {
    const notice = await api.publish({ title: 'North notice', audience: { regionIds: [north] } });
    await eventually(async () => {
      for (const store of [n1, n2]) {
        expect((await feedOf(store)).items.map((i) => [i.change, i.communication.id])).toContainEqual([
          'published',
          notice,
        ]);
      }
    });
    // S1's own feed (created before, on its own partition) never gets it.
    await eventually(async () => expect((await feedOf(s1)).items.map((i) => i.communication.id)).not.toContain(notice));

    // A store opened in the region while the notice is live receives it.
    const n3 = await api.store('N3', north);
    await eventually(async () => expect((await feedOf(n3)).items.map((i) => i.communication.id)).toEqual([notice]));

    await api.retract(notice);
    await eventually(async () => {
      for (const store of [n1, n2, n3]) expect((await feedOf(store)).items.at(-1)?.change).toBe('retracted');
    });
    // After the retraction, a store added to the region never receives it.
    const n4 = await api.store('N4', north);
    const everyone = await api.publish({ title: 'Everyone', audience: { all: true } });
    await eventually(async () => expect((await feedOf(n4)).items.map((i) => i.communication.id)).toEqual([everyone]));
    // Every feed is numbered 1..head without a gap.
    for (const store of [n1, n2, n3, n4, s1]) {
      const feed = await feedOf(store);
      expect(feed.items.map((i) => i.feedSeq)).toEqual(feed.items.map((_, i) => i + 1));
      expect(feed.headSeq).toBe(feed.items.length);
    }
  });

  it('pages a feed after a cursor', async () => {
    for (let i = 0; i < 3; i++) await api.publish({ title: `Page ${i}`, audience: { storeIds: [s1] } });
    const head = await eventually(async () => {
      const feed = await feedOf(s1);
      expect(feed.headSeq).toBeGreaterThanOrEqual(4);
      return feed.headSeq;
    });
    const first = await get(`/v1/stores/${s1}/feed?after=0&limit=2`);
    expect(first.body.items.map((i: { feedSeq: number }) => i.feedSeq)).toEqual([1, 2]);
    expect(first.body.next).toBe('2');
    const rest = await get(`/v1/stores/${s1}/feed?after=${first.body.next}&limit=100`);
    expect(rest.body.items.map((i: { feedSeq: number }) => i.feedSeq)).toEqual(
      Array.from({ length: head - 2 }, (_, i) => i + 3),
    );
    expect(rest.body.next).toBeUndefined();
  });
});

describe('scoping', () => {
  it('refuses a missing, garbled or expired token with 401', async () => {
    expect((await get(`/v1/stores/${n1}/feed`, {})).status).toBe(401);
    expect((await get(`/v1/stores/${n1}/feed`, bearer('not-a-token'))).status).toBe(401);
    const expired = api.token('terminal', { storeId: n1, expiresIn: '-1s' });
    const response = await get(`/v1/stores/${n1}/feed`, bearer(expired));
    expect(response.status).toBe(401);
    expect(response.body.message).toBe('token expired');
  });

  it("gives a store's token its own feed and 403 on another store's", async () => {
    for (const role of ['terminal', 'store-manager'] as const) {
      const token = bearer(api.token(role, { storeId: n1 }));
      expect((await get(`/v1/stores/${n1}/feed`, token)).status).toBe(200);
      const other = await get(`/v1/stores/${n2}/feed`, token);
      expect(other.status).toBe(403);
      expect(other.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    }
  });

  it('keeps store tokens and agency off head-office boards', async () => {
    const terminal = bearer(api.token('terminal', { storeId: n1 }));
    expect((await get('/v1/communications', terminal)).status).toBe(403);
    expect((await get('/v1/compliance', terminal)).status).toBe(403);
    const agency = bearer(api.token('agency'));
    expect((await get(`/v1/stores/${n1}/feed`, agency)).status).toBe(403);
    expect((await get('/v1/compliance', agency)).status).toBe(403);
    // The composer's audience picker: agency sees the directory, and nothing more.
    expect((await get('/v1/stores', agency)).status).toBe(200);
    expect((await get('/v1/terminals', agency)).status).toBe(200);
    const manager = bearer(api.token('store-manager', { storeId: n1 }));
    expect((await get(`/v1/presence?storeId=${n2}`, manager)).status).toBe(403);
  });

  it('hides role-restricted content from terminals that do not serve the role, keeping the feedSeq', async () => {
    const restricted = await api.publish({
      title: 'Managers only',
      audience: { storeIds: [n2], roles: ['store-manager'] },
    });
    const cashier = bearer(api.token('terminal', { storeId: n2, roles: ['cashier'] }));
    const manager = bearer(api.token('terminal', { storeId: n2, roles: ['store-manager'] }));
    const item = await eventually(async () => {
      const found = (await feedOf(n2)).items.find((i) => i.communication.id === restricted);
      expect(found).toBeDefined();
      return found!;
    });
    const seen = (await feedOf(n2, cashier)).items.find((i) => i.feedSeq === item.feedSeq);
    expect(seen).toEqual({ feedSeq: item.feedSeq, hidden: true });
    expect((await feedOf(n2, manager)).items.find((i) => i.feedSeq === item.feedSeq)).toMatchObject({
      communication: { id: restricted, title: 'Managers only' },
    });
  });

  it('rejects bad query parameters with per-field errors', async () => {
    const response = await get(`/v1/stores/${n1}/feed?after=-1&limit=abc&extra=1`);
    expect(response.status).toBe(400);
    expect(Object.keys(response.body.fields).sort()).toEqual(['after', 'extra', 'limit']);
    expect((await get('/v1/communications?cursor=bm9wZQ')).status).toBe(400);
    expect((await get('/v1/stores/not-a-uuid/feed')).status).toBe(400);
  });
});

describe('head-office read models', () => {
  it('lists the catalogue newest first with cursor pagination, and shows one communication', async () => {
    const draft = await api.draft({ title: 'Catalogue draft' });
    const detail = await eventually(async () => {
      const response = await get(`/v1/communications/${draft.id}`);
      expect(response.status).toBe(200);
      return response.body;
    });
    expect(detail).toMatchObject({ id: draft.id, status: 'drafted', revision: 1, title: 'Catalogue draft' });
    expect(detail.author).toMatchObject({ role: 'hq-editor' });
    const first = await get('/v1/communications?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(first.body.items[0].id).toBe(draft.id);
    const second = await get(`/v1/communications?limit=2&cursor=${first.body.next}`);
    expect(second.body.items.map((c: { id: string }) => c.id)).not.toContain(draft.id);
    const drafts = await get('/v1/communications?status=drafted');
    expect(drafts.body.items.map((c: { id: string }) => c.id)).toEqual([draft.id]);
    // Another id: the draft's with its last hex digit changed (never the draft's own).
    const unknown = draft.id.replace(/.$/, (last: string) => (last === '0' ? '1' : '0'));
    expect((await get(`/v1/communications/${unknown}`)).status).toBe(404);
  });

  it('reads its own write: minVersion answers once the read side has the version a command returned', async () => {
    const draft = await api.draft({ title: 'Read your write' });
    const revised = await api.revise(draft.id, { body: 'Second revision' });
    // No polling: the gateway waits for the projector.
    const response = await get(`/v1/communications/${draft.id}?minVersion=${revised.version}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: draft.id, version: revised.version, body: 'Second revision' });
    const both = await get(`/v1/communications/${draft.id}?minVersion=1&asOf=${new Date().toISOString()}`);
    expect(both.status).toBe(400);
    expect(Object.keys(both.body.fields)).toEqual(['minVersion']);
    expect((await get(`/v1/communications/${draft.id}?minVersion=0`)).status).toBe(400);
  });

  it('counts reach by step, store and region from receipts, once per terminal', async () => {
    const task = await api.publish({
      kind: 'task',
      title: 'Count the stock',
      audience: { regionIds: [north] },
      dueAt: new Date(Date.now() + 3_600_000).toISOString(),
      evidence: 'note',
    });
    // Both stores' feeds (their partitions are projected independently).
    await eventually(async () => {
      for (const store of [n1, n2]) expect((await feedOf(store)).items.map((i) => i.communication.id)).toContain(task);
    });
    const receipt = (
      type: 'receipt.delivered' | 'receipt.read' | 'task.completed',
      storeId: string,
      terminal: string,
    ) => activity.event(type, { storeId, terminalId: terminal, communicationId: task, revision: 1 }, terminal);
    await activity.send(n1, [
      receipt('receipt.delivered', n1, 't1'),
      receipt('receipt.delivered', n1, 't1'), // a retry: still one terminal
      receipt('receipt.delivered', n1, 't2'),
      receipt('receipt.read', n1, 't1'),
      receipt('task.completed', n1, 't1'),
    ]);
    await activity.send(n2, [receipt('receipt.delivered', n2, 't3')]);
    // The per-region counters are written in the same pipeline as the per-terminal
    // hashes, just after them: a read may fall in between, so both are awaited.
    const reach = await eventually(async () => {
      const response = await get(`/v1/communications/${task}/reach`);
      expect(response.body.delivered).toEqual({ stores: 2, terminals: 3 });
      expect(response.body.completed).toEqual({ stores: 1, terminals: 1 });
      expect(response.body.byRegion.find((r: { regionId: string }) => r.regionId === north)).toMatchObject({
        delivered: 2,
        read: 1,
        completed: 1,
      });
      return response.body;
    });
    expect(reach.read).toEqual({ stores: 1, terminals: 1 });
    expect(reach.acknowledged).toEqual({ stores: 0, terminals: 0 });
    expect(reach.targeted).toBeGreaterThanOrEqual(2);
    expect(reach.byStore.find((s: { storeId: string }) => s.storeId === n1)).toMatchObject({
      delivered: 2,
      read: 1,
      completed: 1,
      regionId: north,
    });

    // The compliance board: completed in N1, open in N2.
    const board = await get('/v1/compliance');
    const task1 = (storeId: string) =>
      board.body.items
        .find((s: { storeId: string }) => s.storeId === storeId)
        ?.tasks.find((t: { communicationId: string }) => t.communicationId === task);
    expect(task1(n1)).toMatchObject({ completed: true, overdue: false });
    expect(task1(n2)).toMatchObject({ completed: false, overdue: false });
  });

  it('shows presence and the field-reports inbox, scoped for a store manager', async () => {
    await gatewayAlive(ns, 'g1');
    await activity.send(n1, [
      activity.event('terminal.connected', { storeId: n1, terminalId: 't1', gatewayId: 'g1' }),
      activity.event('terminal.connected', { storeId: n1, terminalId: 't2', gatewayId: 'g1' }),
      activity.event('terminal.disconnected', { storeId: n1, terminalId: 't2', gatewayId: 'g1', reason: 'closed' }),
    ]);
    await eventually(async () => {
      const response = await get(`/v1/presence?storeId=${n1}`);
      expect(response.body.items).toEqual([
        { storeId: n1, online: [expect.objectContaining({ terminalId: 't1', gatewayId: 'g1' })] },
      ]);
    });
    const manager = api.token('store-manager', { storeId: n1, sub: 'manager-n1' });
    const filed = await request(apps.command.url)
      .post(`/v1/stores/${n1}/reports`)
      .set(bearer(manager))
      .send({ title: 'Broken fridge', body: 'Aisle 4 fridge is warm' });
    expect(filed.status).toBe(201);
    await eventually(async () => {
      const inbox = await get('/v1/reports');
      expect(inbox.body.items[0]).toMatchObject({ storeId: n1, title: 'Broken fridge', authorId: 'manager-n1' });
    });
    const own = await get('/v1/reports', bearer(manager));
    expect(own.body.items.every((r: { storeId: string }) => r.storeId === n1)).toBe(true);
    expect((await get(`/v1/reports?storeId=${n2}`, bearer(manager))).status).toBe(403);
  });
});

it('describes the read API in OpenAPI at /docs', async () => {
  const response = await request(apps.gateway.url).get('/docs-json').expect(200);
  expect(Object.keys(response.body.paths)).toEqual(
    expect.arrayContaining([
      '/v1/communications',
      '/v1/communications/{id}',
      '/v1/communications/{id}/reach',
      '/v1/stores/{id}/feed',
      '/v1/compliance',
      '/v1/presence',
      '/v1/reports',
    ]),
  );
});
