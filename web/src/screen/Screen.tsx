import { useEffect, useMemo, useState } from 'react';
import { isOpenAt, localTime, type StoreView } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { read } from '../shared/api';
import { KIND_LABEL } from '../shared/format';
import { EnrollForm, type EnrolledDevice } from '../shared/EnrollForm';
import { interrupts } from '../shared/priority';
import { applyFeed, newestFirst, type ScreenItem } from './screen-feed';

/**
 * The break-room screen (`/store/screen/`, issue 22): a read-only kiosk for a TV. It is
 * enrolled like a tablet, with a code of a terminal registered as `kind: screen`, whose
 * device token (role `screen`) the gateway lets read and nothing else. It shows the live
 * urgent and critical notices pinned, in large type, today's daily brief as a list, and
 * rotates through the store's other live items; it has no actions, and reconnects by
 * itself after a network loss.
 */

const DEVICE_KEY = 'lastmeter.screen.v1';
/** How long each item stays on screen; `?rotate=<ms>` changes it. */
const ROTATE_MS = Number(new URLSearchParams(location.search).get('rotate')) || 10_000;

function loadDevice(): EnrolledDevice | undefined {
  try {
    return (JSON.parse(localStorage.getItem(DEVICE_KEY) ?? 'null') as EnrolledDevice | null) ?? undefined;
  } catch {
    return undefined;
  }
}

export function Screen() {
  const [device, setDevice] = useState<EnrolledDevice | undefined>(loadDevice);
  if (!device) {
    return (
      <Enroll
        onEnrolled={(enrolled) => {
          localStorage.setItem(DEVICE_KEY, JSON.stringify(enrolled));
          setDevice(enrolled);
        }}
      />
    );
  }
  return (
    <Kiosk
      device={device}
      onForget={() => {
        localStorage.removeItem(DEVICE_KEY);
        setDevice(undefined);
      }}
    />
  );
}

function Enroll({ onEnrolled }: { onEnrolled: (device: EnrolledDevice) => void }) {
  return (
    <EnrollForm
      className="screen"
      title="Set up this screen"
      intro="Enter the enrollment code head office gave for this break-room screen."
      action="Enroll screen"
      onEnrolled={onEnrolled}
    />
  );
}

type Connection = 'connecting' | 'online' | 'offline' | 'refused';

function Kiosk({ device, onForget }: { device: EnrolledDevice; onForget: () => void }) {
  const [live, setLive] = useState(new Map<string, ScreenItem>());
  const [connection, setConnection] = useState<Connection>('connecting');
  const [store, setStore] = useState<StoreView>();
  const [now, setNow] = useState(() => new Date());
  const [turn, setTurn] = useState(0);

  useEffect(() => {
    // In memory only: on every (re)connection the screen starts from the store's live set.
    const client = new TerminalClient({
      url: location.origin,
      token: device.token,
      cursors: new MemoryCursorStore(),
    });
    client.onItem((message) => setLive((current) => applyFeed(current, message)));
    client.onHello(() => setConnection('online'));
    client.onRevoked(() => setConnection('refused'));
    client.socket.on('disconnect', () => setConnection('offline'));
    client.connect().catch(() => setConnection('offline'));
    return () => client.close();
  }, [device]);

  useEffect(() => {
    const refresh = () => {
      setNow(new Date());
      read<StoreView>(`/v1/stores/${device.storeId}`, device.token).then(setStore, () => undefined);
    };
    refresh();
    const clock = setInterval(refresh, 60_000);
    const rotation = setInterval(() => setTurn((t) => t + 1), ROTATE_MS);
    return () => {
      clearInterval(clock);
      clearInterval(rotation);
    };
  }, [device]);

  const quiet = store ? !isOpenAt(store.openingHours, store.timezone, now) : false;
  const items = useMemo(() => newestFirst(live), [live]);
  const pinned = items.filter(({ communication: c }) => interrupts(c.priority, quiet)).map((i) => i.communication);
  // Today's brief, in the store's own calendar: the items that came with it, in order.
  const today = localTime(now, store?.timezone ?? 'UTC').date;
  const brief = items
    .filter((i) => i.brief?.date === today && !pinned.includes(i.communication))
    .map((i) => i.communication)
    .reverse();
  const rotating = items.map((i) => i.communication).filter((c) => !pinned.includes(c) && !brief.includes(c));
  const shown = rotating.length ? rotating[turn % rotating.length] : undefined;

  return (
    <div className="screen" data-connection={connection}>
      <header className="screen-header">
        <span className="screen-store">{store?.name ?? 'Store'}</span>
        <span className="screen-clock">
          {now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', timeZone: store?.timezone })}
        </span>
        <span className={`screen-dot screen-dot--${connection}`} aria-label={connection} />
      </header>
      {connection === 'refused' ? (
        <main className="screen-main">
          <p className="screen-message">This screen was revoked by head office.</p>
          <button type="button" onClick={onForget}>
            Set up again
          </button>
        </main>
      ) : (
        <main className="screen-main">
          {pinned.length > 0 && (
            <section className="screen-pinned" aria-label="Urgent" role="alert">
              {pinned.map((c) => (
                <article key={c.id} className="screen-urgent">
                  <span className="screen-kind">{c.priority === 'critical' ? 'Critical' : 'Urgent'}</span>
                  <h1>{c.title}</h1>
                  <p>{c.body}</p>
                </article>
              ))}
            </section>
          )}
          {brief.length > 0 && (
            <section className="screen-brief" aria-label="Today's brief" data-testid="screen-brief">
              <span className="screen-kind">Today&apos;s brief</span>
              <ol>
                {brief.map((c) => (
                  <li key={c.id}>{c.title}</li>
                ))}
              </ol>
            </section>
          )}
          {shown ? (
            <article key={shown.id} className="screen-card" data-testid="screen-card">
              <span className="screen-kind">{KIND_LABEL[shown.kind] ?? shown.kind}</span>
              <h1>{shown.title}</h1>
              <p>{shown.body}</p>
              {rotating.length > 1 && (
                <span className="screen-count">
                  {(turn % rotating.length) + 1} / {rotating.length}
                </span>
              )}
            </article>
          ) : (
            pinned.length === 0 &&
            brief.length === 0 && <p className="screen-message">Nothing from head office right now.</p>
          )}
        </main>
      )}
    </div>
  );
}
