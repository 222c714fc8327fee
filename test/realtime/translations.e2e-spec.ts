import request from 'supertest';
import { topicNames, type FeedItem, type FeedMessage, type LanguageReach } from '@lastmeter/contracts';
import type { TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { recordingTerminal } from '../support/recording-terminal';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 22, item 4: a communication written once, with translations per store locale.
 * Each store's tablets are shown their locale's text (or the default), head office sees
 * which targeted locales lack a translation before publishing, reach breaks down by
 * language, and a revision of the default text leaves translations stale until updated.
 */
const ns = testNamespace('translations');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

const FR = { title: 'Nouvelles étiquettes de prix', body: 'Remplacez les étiquettes de l’allée 3.' };
const ES = { title: 'Nuevas etiquetas de precio', body: 'Cambie las etiquetas del pasillo 3.' };
const admin = () => bearer(api.token('hq-admin'));

/** The latest entry a terminal got for a communication. */
const latest = (received: FeedMessage[], id: string) =>
  received.filter((m): m is FeedItem & FeedMessage => 'communication' in m && m.communication.id === id).at(-1);

it('shows each store its language, warns of missing ones, breaks reach down by language, and marks stale translations', async () => {
  const region = await api.region('languages');
  const stores = {
    brussels: await api.store('BRU', region, { locale: 'fr-BE', timezone: 'Europe/Brussels' }),
    madrid: await api.store('MAD', region, { locale: 'es-ES', timezone: 'Europe/Madrid' }),
    berlin: await api.store('BER', region, { locale: 'de-DE', timezone: 'Europe/Berlin' }),
  };
  const tablets = {
    brussels: await recordingTerminal(api, apps.gateway.url, stores.brussels, clients),
    madrid: await recordingTerminal(api, apps.gateway.url, stores.madrid, clients),
    berlin: await recordingTerminal(api, apps.gateway.url, stores.berlin, clients),
  };
  const [, , berlinClient] = clients.slice(-3);

  // Before publishing, head office sees the audience by locale: de-DE has no translation.
  const count = await eventually(async () => {
    const response = await request(apps.gateway.url)
      .get(`/v1/audience/count?regionIds=${region}&locales=true`)
      .set(admin())
      .expect(200);
    expect(response.body.stores).toBe(3);
    return response.body;
  });
  expect(count.locales).toEqual({ 'fr-BE': 1, 'es-ES': 1, 'de-DE': 1 });

  const id = await api.publish({
    title: 'New price labels',
    body: 'Replace the labels in aisle 3.',
    audience: { regionIds: [region] },
    translations: { 'fr-BE': FR, 'es-ES': ES },
  });
  await eventually(() => {
    for (const tablet of Object.values(tablets)) expect(latest(tablet.received, id)).toBeDefined();
  });
  expect(latest(tablets.brussels.received, id)!.communication).toMatchObject({ ...FR, language: 'fr-BE' });
  expect(latest(tablets.madrid.received, id)!.communication).toMatchObject({ ...ES, language: 'es-ES' });
  expect(latest(tablets.berlin.received, id)!.communication).toMatchObject({
    title: 'New price labels',
    language: 'en',
  });

  // Reach by language: each locale's stores, and the language they were shown.
  await berlinClient!.receipt({ communicationId: id, kind: 'read', revision: 1 });
  const byLanguage = await eventually(async () => {
    const response = await request(apps.gateway.url).get(`/v1/communications/${id}/reach?by=language`).set(admin());
    expect(response.status).toBe(200);
    const rows = response.body.byLanguage as LanguageReach[];
    expect(rows.find((r) => r.locale === 'de-DE')?.read).toBe(1);
    return rows;
  });
  expect(byLanguage.map(({ locale, shown, targeted }) => [locale, shown, targeted]).sort()).toEqual([
    ['de-DE', 'en', 1],
    ['es-ES', 'es-ES', 1],
    ['fr-BE', 'fr-BE', 1],
  ]);
  expect(byLanguage.find((r) => r.locale === 'fr-BE')?.read).toBe(0);

  // The default text changes and the translations do not: they are stale, and the stores
  // are shown the new default text until each is updated.
  await api.revise(id, { body: 'Replace the labels in aisles 3 and 4.' });
  await eventually(() => expect(latest(tablets.brussels.received, id)!.communication.revision).toBe(2));
  expect(latest(tablets.brussels.received, id)!.communication).toMatchObject({
    body: 'Replace the labels in aisles 3 and 4.',
    language: 'en',
  });
  const stale = await eventually(async () => {
    const response = await request(apps.gateway.url).get(`/v1/communications/${id}`).set(admin()).expect(200);
    expect(response.body.revision).toBe(2);
    return response.body;
  });
  expect(stale.translations).toEqual({ 'fr-BE': { ...FR, stale: true }, 'es-ES': { ...ES, stale: true } });

  const updatedFr = { ...FR, body: 'Remplacez les étiquettes des allées 3 et 4.' };
  await api.revise(id, { translations: { 'fr-BE': updatedFr, 'es-ES': ES } });
  await eventually(() => expect(latest(tablets.brussels.received, id)!.communication.revision).toBe(3));
  expect(latest(tablets.brussels.received, id)!.communication).toMatchObject({ ...updatedFr, language: 'fr-BE' });
  await eventually(() => expect(latest(tablets.madrid.received, id)!.communication.revision).toBe(3));
  expect(latest(tablets.madrid.received, id)!.communication.language).toBe('en');

  // The Berlin store becomes a Belgian one: its tablet gets the item again, in French.
  await api.updateStore(stores.berlin, { locale: 'fr-BE' });
  await eventually(() => expect(latest(tablets.berlin.received, id)!.communication.language).toBe('fr-BE'));
  expect(latest(tablets.berlin.received, id)).toMatchObject({
    change: 'revised',
    communication: { ...updatedFr, revision: 3 },
  });
});

it('refuses malformed language tags and translations with per-field errors, writing nothing', async () => {
  const events = async () => (await readTopic(ns.env.KAFKA_BROKERS!, topics.events)).map((r) => r.value.id);
  const before = new Set(await events());
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a key not in canonical form', { translations: { 'fr-be': FR } }, 'translations', /must be written fr-BE/],
    ['a key that is no language', { translations: { 'fr_BE!': FR } }, 'translations', /not a language tag/],
    ['an unknown field', { translations: { 'fr-BE': { ...FR, subtitle: 'x' } } }, 'translations', /fr-BE.subtitle/],
    ['an empty title', { translations: { 'fr-BE': { ...FR, title: '' } } }, 'translations', /fr-BE.title/],
    ['a list', { translations: [FR] }, 'translations', /must be an object/],
    ['a stale mark', { translations: { 'fr-BE': { ...FR, stale: true } } }, 'translations', /fr-BE.stale/],
    ['a bad default language', { language: 'en_GB' }, 'language', /en-GB/],
    [
      'the default language translated',
      { language: 'fr-BE', translations: { 'fr-BE': FR } },
      'translations',
      /default/,
    ],
    [
      'quiz questions that do not match',
      {
        kind: 'training',
        questions: [{ prompt: 'Tap limit?', options: ['50', '100'], answer: 1 }],
        translations: { fr: { ...FR, questions: [{ prompt: 'Limite ?', options: ['50'] }] } },
      },
      'translations',
      /1 given, the question has 2/,
    ],
  ];
  for (const [what, body, field, message] of cases) {
    const response = await request(apps.command.url)
      .post('/v1/communications')
      .set(bearer(api.token('hq-editor')))
      .send({ kind: 'notice', title: 'x', body: 'y', audience: { all: true }, ...body });
    expect([what, response.status]).toEqual([what, 400]);
    expect([what, response.body.fields[field].join(' ')]).toEqual([what, expect.stringMatching(message)]);
  }
  const added = (await events()).filter((eventId) => !before.has(eventId));
  expect(added).toEqual([]);
});
