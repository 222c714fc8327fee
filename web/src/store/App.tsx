import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { isOpenAt, type FeedBrief, type FeedItem, type FeedMessage, type StoreView } from '@lastmeter/contracts';
import { read } from '../shared/api';
import { FeedCard } from '../shared/FeedCard';
import { EnrollForm } from '../shared/EnrollForm';
import { interrupts } from '../shared/priority';
import { AppHeader, ErrorNotice } from '../shared/ui';
import {
  forgetDevice,
  isCompleted,
  loadDevice,
  rememberDevice,
  Tablet,
  type Device,
  type Progress,
  type TabletSnapshot,
} from './tablet';
import { beep } from './sound';
import { ReportForm } from './ReportForm';
import { ItemActions } from './ItemActions';
import { feedRows } from './feed-rows';
import { StaffBar } from './StaffSignIn';

export function App() {
  const [device, setDevice] = useState<Device | undefined>(() => loadDevice());
  if (!device) return <Enroll onEnrolled={setDevice} />;
  return (
    <TabletScreen
      device={device}
      onForget={() => {
        forgetDevice();
        setDevice(undefined);
      }}
    />
  );
}

/** First start: the store types the one-time code head office gave it. */
function Enroll({ onEnrolled }: { onEnrolled: (device: Device) => void }) {
  return (
    <EnrollForm
      className="tablet"
      title="Set up this tablet"
      intro="Enter the enrollment code head office gave your store. It works once."
      action="Enroll tablet"
      onEnrolled={(device) => {
        rememberDevice(device);
        onEnrolled(device);
      }}
    />
  );
}

function useTablet(device: Device, quiet: boolean): [Tablet, TabletSnapshot] {
  const tablet = useMemo(() => new Tablet(device, { onUrgentSound: beep }), [device]);
  useEffect(() => tablet.setQuiet(quiet), [tablet, quiet]);
  useEffect(() => {
    tablet.start();
    return () => tablet.stop();
  }, [tablet]);
  const snapshot = useSyncExternalStore(tablet.subscribe, tablet.getSnapshot);
  return [tablet, snapshot];
}

function TabletScreen({ device, onForget }: { device: Device; onForget: () => void }) {
  const [store, setStore] = useState<StoreView>();
  const [now, setNow] = useState(() => new Date());
  // Quiet hours (issue 22): outside the store's opening hours, in its time zone, only
  // critical items interrupt. A store that gave no hours is never quiet.
  const quiet = store ? !isOpenAt(store.openingHours, store.timezone, now) : false;
  const [tablet, state] = useTablet(device, quiet);
  const [openId, setOpenId] = useState<string>();
  const [reporting, setReporting] = useState(false);

  useEffect(() => {
    // The store's name and hours, again every minute (head office may change them), and the clock.
    const refresh = () => {
      setNow(new Date());
      read<StoreView>(`/v1/stores/${device.storeId}`, device.token).then(setStore, () => undefined);
    };
    refresh();
    const timer = setInterval(refresh, 60_000);
    return () => clearInterval(timer);
  }, [device]);

  const urgent = state.items.filter(
    (item) => interrupts(item.communication.priority, quiet) && !isAcknowledged(item, state.progress),
  );
  const openItem = (id: string) => {
    setOpenId(id);
    tablet.open(id);
  };
  const opened = state.items.find((item) => item.communication.id === openId);

  return (
    // Any touch keeps a signed-in person signed in (they are signed out after 2 minutes idle).
    <div className="tablet" onPointerDown={() => tablet.touch()} onKeyDown={() => tablet.touch()}>
      <AppHeader product={store ? `${store.name}` : 'Store'}>
        <ConnectionPill state={state} />
        {quiet && (
          <span
            className="badge"
            data-testid="quiet-hours"
            title="Outside opening hours: only critical items interrupt"
          >
            Closed: quiet hours
          </span>
        )}
        <label className="check">
          <input type="checkbox" checked={state.sound} onChange={(e) => tablet.setSound(e.target.checked)} />
          Sound
        </label>
        <button type="button" onClick={() => setReporting(true)}>
          File a report
        </button>
      </AppHeader>

      <div className="staff-strip">
        <StaffBar tablet={tablet} state={state} />
      </div>

      {state.reminders.map((reminder) => (
        <div key={reminder.communicationId} className="urgent-banner" role="alert" data-testid="reminder">
          <strong>Due now</strong>
          <button type="button" className="urgent-banner-item" onClick={() => openItem(reminder.communicationId)}>
            {reminder.title}
          </button>
          <span>Still to acknowledge: {reminder.people.map((person) => person.name).join(', ')}</span>
          <button type="button" className="link" onClick={() => tablet.dismissReminder(reminder.communicationId)}>
            Dismiss
          </button>
        </div>
      ))}

      {urgent.length > 0 && (
        <div className="urgent-banner" role="alert" aria-live="assertive">
          <strong>{urgent.some((item) => item.communication.priority === 'critical') ? 'Critical' : 'Urgent'}</strong>
          {urgent.map((item) => (
            <button
              key={item.communication.id}
              type="button"
              className="urgent-banner-item"
              onClick={() => openItem(item.communication.id)}
            >
              {item.communication.title}
            </button>
          ))}
        </div>
      )}

      <main className="page tablet-page">
        {state.connection === 'revoked' || state.connection === 'refused' ? (
          <div className="notice notice--error" role="alert">
            {state.connection === 'revoked'
              ? 'This tablet was revoked by head office.'
              : state.refusal === 'token-expired'
                ? "This tablet's sign-in has expired: enroll it again with a new code from head office."
                : `The server refused this tablet (${state.refusal}).`}{' '}
            <button type="button" onClick={onForget}>
              Enroll again
            </button>
          </div>
        ) : null}
        {state.problem && (
          <div className="notice notice--error" role="alert">
            {state.problem}
          </div>
        )}
        {reporting && (
          <ReportForm
            onCancel={() => setReporting(false)}
            onFile={(title, body, photo) => {
              void tablet.fileReport(title, body, photo);
              setReporting(false);
            }}
          />
        )}

        {opened ? (
          <section aria-label="Opened communication" className="stack">
            <button type="button" className="link" onClick={() => setOpenId(undefined)}>
              ← Back to the feed
            </button>
            <FeedCard
              communication={opened.communication}
              open
              token={state.device.token}
              status={<ProgressBadge item={opened} progress={state.progress} />}
            >
              <ItemActions
                item={opened}
                progress={state.progress[opened.communication.id]}
                tablet={tablet}
                signedIn={!!state.person}
              />
            </FeedCard>
          </section>
        ) : (
          <section aria-label="Feed">
            <h1 className="visually-hidden">Feed</h1>
            {!state.loaded || (state.receiving && state.items.length === 0) ? (
              <p className="empty">Loading…</p>
            ) : state.items.length === 0 ? (
              <p className="empty">Nothing for your store right now.</p>
            ) : (
              <FeedList items={state.items} progress={state.progress} onOpen={openItem} tablet={tablet} />
            )}
          </section>
        )}
        {!opened && <EarlierItems tablet={tablet} />}
        <footer className="tablet-footer muted">
          Terminal {device.terminalId.slice(0, 8)} · feed position {state.cursor}
          {' · '}
          <button
            type="button"
            className="link"
            onClick={() => confirm('Forget this tablet? It will need a new enrollment code.') && onForget()}
          >
            Forget this tablet
          </button>
        </footer>
      </main>
    </div>
  );
}

/** Cards rendered at first, and added by each "Show more". */
export const FEED_PAGE = 30;

/**
 * The active list, newest first, a page of cards at a time: a store with thousands of
 * live items renders what fits on a few screens, not thousands of cards. The next page
 * comes with "Show more", or by itself when the end of the list scrolls into view.
 */
function FeedList({
  items,
  progress,
  onOpen,
  tablet,
}: {
  items: FeedItem[];
  progress: Record<string, Progress>;
  onOpen: (id: string) => void;
  tablet: Tablet;
}) {
  const [shown, setShown] = useState(FEED_PAGE);
  const more = useRef<HTMLButtonElement>(null);
  const rows = useMemo(() => feedRows(items), [items]);
  const rest = rows.length - shown;
  const hasMore = rest > 0;
  useEffect(() => {
    const button = more.current;
    if (!button || typeof IntersectionObserver === 'undefined') return;
    // Observed again after each page: a button still in view brings the next one too.
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) setShown((count) => count + FEED_PAGE);
    });
    observer.observe(button);
    return () => observer.disconnect();
  }, [shown, hasMore]);
  return (
    <>
      <ol className="feed" data-testid="feed">
        {rows.slice(0, shown).map((row) =>
          'brief' in row ? (
            <li key={`brief:${row.brief.at}`} data-brief-at={row.brief.at}>
              <BriefCard brief={row.brief} items={row.items} progress={progress} onOpen={onOpen} tablet={tablet} />
            </li>
          ) : (
            <FeedRow key={row.item.communication.id} item={row.item} progress={progress} onOpen={onOpen} />
          ),
        )}
      </ol>
      {hasMore && (
        <button ref={more} type="button" className="link feed-more" onClick={() => setShown(shown + FEED_PAGE)}>
          Show more ({rest} not shown)
        </button>
      )}
    </>
  );
}

/** A daily brief: one card with its items, "Mark brief read" and an acknowledgement per item. */
function BriefCard({
  brief,
  items,
  progress,
  onOpen,
  tablet,
}: {
  brief: FeedBrief;
  items: FeedItem[];
  progress: Record<string, Progress>;
  onOpen: (id: string) => void;
  tablet: Tablet;
}) {
  const unread = items.filter((item) => (progress[item.communication.id]?.read ?? 0) < item.communication.revision);
  const day = new Date(`${brief.date}T12:00:00Z`).toLocaleDateString([], {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    timeZone: 'UTC',
  });
  return (
    <article className="brief-card" aria-label={`Daily brief, ${day}`} data-testid="brief">
      <header className="brief-card-head">
        <span className="kind">Daily brief</span>
        <h3>{day}</h3>
        <span className="muted">{items.length === 1 ? '1 item' : `${items.length} items`}</span>
      </header>
      <ol className="brief-items">
        {items.map((item) => {
          const c = item.communication;
          const acknowledged = (progress[c.id]?.acknowledged ?? 0) >= c.revision;
          return (
            <li key={c.id} data-communication-id={c.id} data-feed-seq={item.feedSeq}>
              <button
                type="button"
                className="link brief-item-title"
                aria-label={`Open ${c.title}`}
                onClick={() => onOpen(c.id)}
              >
                {c.title}
              </button>
              <ProgressBadge item={item} progress={progress} />
              {!acknowledged && (
                <button type="button" aria-label={`Acknowledge ${c.title}`} onClick={() => tablet.acknowledge(c.id)}>
                  Acknowledge
                </button>
              )}
            </li>
          );
        })}
      </ol>
      <div className="actions">
        {unread.length > 0 ? (
          <button
            type="button"
            className="primary"
            onClick={() => tablet.readBrief(unread.map((item) => item.communication.id))}
          >
            Mark brief read
          </button>
        ) : (
          <span className="badge badge--ok">Brief read</span>
        )}
      </div>
    </article>
  );
}

function FeedRow({
  item,
  progress,
  onOpen,
}: {
  item: FeedItem;
  progress: Record<string, Progress>;
  onOpen: (id: string) => void;
}) {
  return (
    <li
      key={item.communication.id}
      data-feed-seq={item.feedSeq}
      data-communication-id={item.communication.id}
      onClick={() => onOpen(item.communication.id)}
    >
      <FeedCard communication={item.communication} status={<ProgressBadge item={item} progress={progress} />}>
        <div className="actions">
          <button
            type="button"
            className="primary"
            aria-label={`Open ${item.communication.title}`}
            onClick={(event) => {
              event.stopPropagation();
              onOpen(item.communication.id);
            }}
          >
            Open
          </button>
        </div>
      </FeedCard>
    </li>
  );
}

/**
 * "Earlier items": the store's older feed entries on demand, a page at a time, newest
 * first. A tablet starts from what is live now; the history is there when asked for.
 */
function EarlierItems({ tablet }: { tablet: Tablet }) {
  const [entries, setEntries] = useState<FeedItem[]>([]);
  const [next, setNext] = useState<number | undefined>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const more = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await tablet.earlier(next, 50);
      const shown = page.items.filter((item: FeedMessage): item is FeedItem => 'communication' in item);
      setEntries((previous) => [...previous, ...shown]);
      setNext(page.next);
      setDone(page.next === undefined);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-label="Earlier items" className="stack">
      {entries.length > 0 && (
        <ol className="earlier" data-testid="earlier">
          {entries.map((entry) => (
            <li key={entry.feedSeq} data-feed-seq={entry.feedSeq} className="muted">
              {entry.communication.title} · {entry.change} · {new Date(entry.at).toLocaleDateString()}
            </li>
          ))}
        </ol>
      )}
      <ErrorNotice error={error} />
      {!done && (
        <button type="button" className="link" onClick={() => void more()} disabled={busy}>
          {busy ? 'Loading…' : 'Earlier items'}
        </button>
      )}
    </section>
  );
}

function isAcknowledged(item: FeedItem, progress: Record<string, Progress>): boolean {
  return (progress[item.communication.id]?.acknowledged ?? 0) >= item.communication.revision;
}

function ProgressBadge({ item, progress }: { item: FeedItem; progress: Record<string, Progress> }) {
  const mine = progress[item.communication.id] ?? {};
  const revision = item.communication.revision;
  if (isCompleted(item, mine)) return <span className="badge badge--ok">Done</span>;
  if (item.evidenceRejected) return <span className="badge badge--danger">Sent back</span>;
  if ((mine.acknowledged ?? 0) >= revision) return <span className="badge badge--ok">Acknowledged</span>;
  if (item.change === 'revised' && (mine.read ?? 0) > 0 && (mine.read ?? 0) < revision)
    return <span className="badge badge--wait">Updated</span>;
  if ((mine.read ?? 0) >= revision) return <span className="badge">Read</span>;
  return <span className="badge badge--info">New</span>;
}

function ConnectionPill({ state }: { state: TabletSnapshot }) {
  const online = state.connection === 'online';
  return (
    <span className="connection" role="status" data-connection={state.connection}>
      <span className={`live-dot${online ? '' : ' live-dot--off'}`} aria-hidden />
      {online ? 'Online' : state.connection === 'connecting' ? 'Connecting…' : 'Offline'}
      {state.pending > 0 && <span className="badge badge--wait">{state.pending} waiting to send</span>}
      {state.uploading !== undefined && (
        <span className="badge badge--info" data-testid="photo-upload">
          Sending photo {Math.round(state.uploading * 100)}%
        </span>
      )}
    </span>
  );
}
