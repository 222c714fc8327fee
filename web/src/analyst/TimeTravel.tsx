import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { FeedAsOf, FeedItem, FeedPage } from '@lastmeter/contracts';
import { query, read } from '../shared/api';
import { useSessionToken, useStores } from '../shared/data';
import { FeedCard } from '../shared/FeedCard';
import { ErrorNotice, Empty } from '../shared/ui';

/** Every entry of a store's feed (the slider's marks: each is a moment the feed changed). */
function useFeedEntries(storeId: string | undefined) {
  const session = useSessionToken();
  return useQuery({
    queryKey: ['feed-entries', storeId],
    enabled: !!storeId,
    queryFn: async () => {
      const entries: FeedItem[] = [];
      let after: string | undefined;
      do {
        const page = await read<FeedPage>(`/v1/stores/${storeId}/feed${query({ after, limit: 500 })}`, session.token);
        entries.push(...page.items.filter((item): item is FeedItem => !('hidden' in item)));
        after = page.next;
      } while (after);
      return entries;
    },
  });
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/**
 * A store's feed at any instant: the slider runs from just before its first entry to now,
 * with a mark at every change (publish, revision, retraction, expiry); the page asks
 * `GET /v1/stores/:id/feed?asOf=` for what was live then.
 */
export function TimeTravel() {
  const session = useSessionToken();
  const stores = useStores().data?.items ?? [];
  const [storeId, setStoreId] = useState<string>();
  const entries = useFeedEntries(storeId).data ?? [];
  const [now] = useState(() => Date.now());
  const min = entries.length ? new Date(entries[0].at).getTime() - 60_000 : now - 3_600_000;
  const max = Math.max(now, ...entries.map((entry) => new Date(entry.at).getTime() + 1_000));
  // Unset: "now" (the slider's right end), also while a newly chosen store loads.
  const [chosen, setInstant] = useState<number>();
  const instant = chosen ?? max;
  const changes = entries.map((entry) => new Date(entry.at).getTime());
  const asOf = useDebounced(instant, 150);

  const snapshot = useQuery<FeedAsOf>({
    queryKey: ['as-of', storeId, asOf],
    enabled: !!storeId,
    placeholderData: (previous: FeedAsOf | undefined) => previous,
    queryFn: ({ signal }) =>
      read<FeedAsOf>(`/v1/stores/${storeId}/feed?asOf=${new Date(asOf).toISOString()}`, session.token, signal),
  });
  const live = (snapshot.data?.items ?? []).filter((item): item is FeedItem => !('hidden' in item));
  const previous = [...changes].reverse().find((t) => t < instant);
  const next = changes.find((t) => t > instant);

  return (
    <div className="stack">
      <h1>Time travel</h1>
      <div className="card stack">
        <label className="field">
          <span>Store</span>
          <select
            value={storeId ?? ''}
            onChange={(e) => {
              setStoreId(e.target.value || undefined);
              setInstant(undefined);
            }}
          >
            <option value="">Choose a store…</option>
            {stores.map((store) => (
              <option key={store.id} value={store.id}>
                {store.name} ({store.code})
              </option>
            ))}
          </select>
        </label>
        {storeId && (
          <>
            <label className="field">
              <span>
                As of <strong data-testid="as-of">{new Date(instant).toLocaleString()}</strong>
              </span>
              <input
                type="range"
                min={min}
                max={max}
                step={1}
                value={instant}
                list="feed-changes"
                aria-label="Instant"
                aria-valuetext={new Date(instant).toLocaleString()}
                onChange={(e) => setInstant(Number(e.target.value))}
              />
              <datalist id="feed-changes">
                {changes.map((t) => (
                  <option key={t} value={t} />
                ))}
              </datalist>
            </label>
            <div className="actions">
              <button
                type="button"
                disabled={previous === undefined}
                onClick={() => previous !== undefined && setInstant(previous)}
              >
                ◀ Previous change
              </button>
              <button
                type="button"
                disabled={next === undefined}
                onClick={() => next !== undefined && setInstant(next)}
              >
                Next change ▶
              </button>
              <button type="button" onClick={() => setInstant(undefined)}>
                Now
              </button>
              <span className="muted">{entries.length} changes in this store&apos;s feed</span>
            </div>
          </>
        )}
      </div>
      <ErrorNotice error={snapshot.error} />
      {storeId && (
        <section
          aria-label="Feed at that instant"
          className="stack"
          data-testid="as-of-feed"
          data-as-of={snapshot.data?.asOf}
        >
          {live.length === 0 ? (
            <Empty>Nothing was live in this store then.</Empty>
          ) : (
            live.map((item) => (
              <div key={item.communication.id} data-communication-id={item.communication.id}>
                <FeedCard
                  communication={item.communication}
                  status={<span className="badge">rev. {item.communication.revision}</span>}
                />
              </div>
            ))
          )}
        </section>
      )}
    </div>
  );
}
