import fixture from '../fixtures/communication.drafted.v1.json';
import { parseEnvelope } from './parse-envelope';
import { upcast, UpcastError } from './upcasters';

describe('upcasters', () => {
  it('reads a schemaVersion 1 communication.drafted as the current shape', () => {
    const event = upcast(parseEnvelope(JSON.stringify(fixture)));
    expect(event.schemaVersion).toBe(2);
    expect(event.type).toBe('communication.drafted');
    expect(event.data).toEqual({
      kind: 'notice',
      title: 'Autumn price labels',
      body: 'Replace the shelf labels in aisle 3 before opening.',
      priority: 'normal',
      audience: { regionIds: ['7c9e6679-7425-40de-944b-e07fc1f90ae7'] },
      revision: 1,
    });
    // The stored event is left as it was.
    expect(fixture.schemaVersion).toBe(1);
    expect(fixture.data).toHaveProperty('text');
  });

  it('maps every v1 audience scope', () => {
    const withScope = (audience: object) =>
      upcast({ ...(fixture as object), data: { ...fixture.data, audience } } as never).data as { audience: unknown };
    expect(withScope({ scope: 'all' }).audience).toEqual({ all: true });
    expect(withScope({ scope: 'stores', ids: ['s1'] }).audience).toEqual({ storeIds: ['s1'] });
  });

  it('passes current events through unchanged', () => {
    const current = { ...(fixture as never as object), type: 'communication.submitted', schemaVersion: 1, data: {} };
    expect(upcast(current as never)).toEqual(current);
  });

  it('refuses events from a newer schema than this build knows', () => {
    expect(() => upcast({ ...(fixture as never as object), schemaVersion: 3 } as never)).toThrow(UpcastError);
  });
});

describe('parseEnvelope', () => {
  it('names every broken field', () => {
    expect(() =>
      parseEnvelope({ ...fixture, id: 'nope', aggregateVersion: 0, actor: { id: '', role: 'boss' } }),
    ).toThrow(/id: .*UUID.*aggregateVersion: .*actor\.id: .*actor\.role/);
  });

  it('refuses unknown event types and non-JSON', () => {
    expect(() => parseEnvelope({ ...fixture, type: 'communication.exploded' })).toThrow(/type: /);
    expect(() => parseEnvelope('{not json')).toThrow(/not JSON/);
  });

  it.each([
    ['occurredAt', { occurredAt: 'yesterday' }],
    ['occurredAt', { occurredAt: '2026-13-45T99:00:00Z' }],
    ['data', { data: [] }],
    ['actor', { actor: null }],
    ['schemaVersion', { schemaVersion: 1.5 }],
    ['aggregateType', { aggregateType: 'planet' }],
    ['commandId', { commandId: '' }],
  ])('refuses a bad %s', (field, change) => {
    expect(() => parseEnvelope({ ...fixture, ...change })).toThrow(new RegExp(`${field}: `));
  });

  it('accepts every stream type and a store-scoped actor', () => {
    const feed = {
      ...fixture,
      type: 'feed.appended',
      aggregateType: 'feed',
      actor: { id: 't', role: 'terminal', storeId: 's' },
    };
    expect(parseEnvelope(JSON.stringify(feed)).aggregateType).toBe('feed');
  });
});
