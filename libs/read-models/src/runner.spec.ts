import { FEED_NOTICED_HEADER } from '@lastmeter/contracts';
import { LINGER_BELOW, mayLinger } from './runner';

const noticed = { headers: { type: Buffer.from('feed.batch'), [FEED_NOTICED_HEADER]: Buffer.from('true') } };
const announcedOnly = { headers: { type: Buffer.from('feed.batch') } };

describe('mayLinger (PROJECTOR_LINGER_MS)', () => {
  it('lets a few feed records wait when the notice on commit carried every one of them', () => {
    expect(mayLinger('feed', [noticed])).toBe(true);
    expect(mayLinger('feed', [noticed, noticed])).toBe(true);
    expect(mayLinger('feed', [{ headers: { [FEED_NOTICED_HEADER]: 'true' } }])).toBe(true);
  });

  it('projects at once what only the projector announces: a record the notice did not carry whole', () => {
    expect(mayLinger('feed', [noticed, announcedOnly])).toBe(false);
    expect(mayLinger('feed', [announcedOnly])).toBe(false);
    expect(mayLinger('feed', [{}])).toBe(false);
    expect(mayLinger('feed', [{ headers: { [FEED_NOTICED_HEADER]: Buffer.from('false') } }])).toBe(false);
  });

  it('lets a few events wait when they come from such a transaction, and only then', () => {
    const event = (headers: Record<string, Buffer | string>) => ({
      headers: { type: 'communication.published', ...headers },
    });
    expect(mayLinger('events', [event({ [FEED_NOTICED_HEADER]: Buffer.from('true') })])).toBe(true);
    expect(mayLinger('events', [event({ [FEED_NOTICED_HEADER]: 'true' }), event({})])).toBe(false);
    expect(mayLinger('events', [event({})])).toBe(false);
  });

  it('projects receipts at once, and a backlog of any size', () => {
    expect(mayLinger('storeEvents', [noticed])).toBe(false);
    expect(
      mayLinger(
        'events',
        Array.from({ length: LINGER_BELOW }, () => noticed),
      ),
    ).toBe(false);
    expect(
      mayLinger(
        'feed',
        Array.from({ length: LINGER_BELOW }, () => noticed),
      ),
    ).toBe(false);
    expect(
      mayLinger(
        'feed',
        Array.from({ length: LINGER_BELOW - 1 }, () => noticed),
      ),
    ).toBe(true);
  });
});
