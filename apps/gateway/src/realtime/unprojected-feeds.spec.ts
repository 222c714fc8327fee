import type { NotificationHub, StoreFeedNotice } from './notification-hub';
import { UnprojectedFeeds } from './unprojected-feeds';

/** The hub as UnprojectedFeeds uses it: one feed listener, called per store. */
function setUp() {
  let listener: ((storeId: string, notice: StoreFeedNotice) => void) | undefined;
  const hub = { onFeed: (l: typeof listener) => (listener = l) } as unknown as NotificationHub;
  const feeds = new UnprojectedFeeds(hub);
  const notice = (storeId: string, head: number, projected: boolean) =>
    listener!(storeId, { head, projected, traces: [] });
  return { feeds, notice };
}

describe('UnprojectedFeeds', () => {
  it('keeps the highest head announced on commit until a projector announces it written', () => {
    const { feeds, notice } = setUp();
    expect(feeds.head('s1')).toBeUndefined();
    notice('s1', 4, false);
    notice('s1', 3, false);
    expect(feeds.head('s1')).toBe(4);
    notice('s1', 3, true);
    expect(feeds.head('s1')).toBe(4);
    notice('s1', 5, false);
    notice('s1', 4, true);
    expect(feeds.head('s1')).toBe(5);
    notice('s1', 5, true);
    expect(feeds.head('s1')).toBeUndefined();
  });

  it('forgets a store once a check finds Redis as far as announced, not before', () => {
    const { feeds, notice } = setUp();
    notice('s1', 7, false);
    feeds.projected('s1', 6);
    expect(feeds.head('s1')).toBe(7);
    feeds.projected('s1', 9);
    expect(feeds.head('s1')).toBeUndefined();
  });

  it('never keeps a store for a projector notice alone', () => {
    const { feeds, notice } = setUp();
    notice('s2', 3, true);
    expect(feeds.head('s2')).toBeUndefined();
  });
});
