import { isEditor } from '@lastmeter/domain';
import { useEffect, useState } from 'react';
import { useSession, type Session } from '../shared/session';
import { AppHeader, LoginForm, Tabs } from '../shared/ui';
import { Communications } from './Communications';
import { Compose, type ComposeTarget } from './Compose';
import { Compliance, Presence, Reports } from './Boards';
import { Directory } from './Directory';
import { LiveContext, useConsoleSocket } from './live';
import { SessionContext, useCommunications } from '../shared/data';
import { Staff } from './Staff';

type TabId = 'communications' | 'compose' | 'approvals' | 'compliance' | 'reports' | 'presence' | 'directory' | 'staff';

function useHashTab(initial: TabId): [TabId, (tab: TabId) => void] {
  const read = () => (location.hash.slice(1).split('/')[0] as TabId) || initial;
  const [tab, setTab] = useState<TabId>(read);
  useEffect(() => {
    const onHash = () => setTab(read());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  });
  return [tab, (next) => (location.hash = next)];
}

export function App() {
  const { session, start, logout } = useSession('lastmeter.console.session');
  if (!session) {
    return (
      <LoginForm
        title="Head office"
        subtitle="Compose, approve and publish to every store, and watch it land."
        allowed={['hq-admin', 'hq-editor', 'agency', 'store-manager']}
        onLogin={start}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      {session.role === 'store-manager' ? (
        <StoreManagerConsole session={session} onLogout={logout} />
      ) : (
        <Console session={session} onLogout={logout} />
      )}
    </SessionContext.Provider>
  );
}

/** A store manager manages their store's staff here (issue 21); the rest is head office's. */
function StoreManagerConsole({ session, onLogout }: { session: Session; onLogout: () => void }) {
  return (
    <>
      <AppHeader product="Store manager" session={session} onLogout={onLogout} />
      <main className="page">
        <Staff />
      </main>
    </>
  );
}

function Console({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const live = useConsoleSocket(session);
  const [tab, setTab] = useHashTab('communications');
  const [selected, setSelected] = useState<string>();
  const [composing, setComposing] = useState<ComposeTarget>({ mode: 'new' });
  const waiting = useCommunications('submitted').data?.items.length ?? 0;
  const editor = isEditor(session.role);
  const tabs: Array<{ id: TabId; label: string; badge?: number }> = [
    { id: 'communications', label: 'Communications' },
    { id: 'compose', label: composing.mode === 'revise' ? 'Revise' : 'Compose' },
    { id: 'approvals', label: editor ? 'Approvals' : 'My drafts', badge: editor ? waiting : undefined },
    ...(session.role === 'agency'
      ? []
      : ([
          { id: 'compliance', label: 'Compliance' },
          { id: 'reports', label: 'Field reports' },
          { id: 'presence', label: 'Presence' },
          { id: 'directory', label: 'Directory' },
        ] as const)),
    ...(session.role === 'hq-admin' ? ([{ id: 'staff', label: 'Staff' }] as const) : []),
  ];
  const open = (id: string) => {
    setSelected(id);
    setTab('communications');
  };
  return (
    <LiveContext.Provider value={live}>
      <AppHeader product="Head office" session={session} onLogout={onLogout}>
        {session.role !== 'agency' && (
          <span className="connection" role="status" data-live={live.connected}>
            <span className={`live-dot${live.connected ? '' : ' live-dot--off'}`} aria-hidden />
            {live.connected ? 'Live' : 'Reconnecting…'}
          </span>
        )}
      </AppHeader>
      <Tabs label="Sections" tabs={tabs} current={tab} onChange={setTab} />
      <main className="page" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'communications' && (
          <Communications
            selected={selected}
            onSelect={setSelected}
            onRevise={(communication) => {
              setComposing({ mode: 'revise', communication });
              setTab('compose');
            }}
          />
        )}
        {tab === 'compose' && (
          <Compose
            key={composing.mode === 'revise' ? composing.communication.id : 'new'}
            target={composing}
            onDone={(id) => {
              setComposing({ mode: 'new' });
              open(id);
            }}
            onCancel={() => setComposing({ mode: 'new' })}
          />
        )}
        {tab === 'approvals' && <Approvals onOpen={open} editor={editor} />}
        {tab === 'compliance' && <Compliance />}
        {tab === 'reports' && <Reports />}
        {tab === 'presence' && <Presence />}
        {tab === 'directory' && <Directory />}
        {tab === 'staff' && <Staff />}
      </main>
    </LiveContext.Provider>
  );
}

/** Editors: what waits for review. Agency: its drafts and what came back rejected. */
function Approvals({ onOpen, editor }: { onOpen: (id: string) => void; editor: boolean }) {
  const submitted = useCommunications('submitted').data?.items ?? [];
  const rejected = useCommunications('rejected').data?.items ?? [];
  const drafted = useCommunications('drafted').data?.items ?? [];
  const groups = editor
    ? [{ title: 'Waiting for approval', items: submitted }]
    : [
        { title: 'Rejected: revise and resubmit', items: rejected },
        { title: 'Drafts', items: drafted },
        { title: 'Waiting for head office', items: submitted },
      ];
  return (
    <div className="stack">
      {groups.map((group) => (
        <section key={group.title} aria-label={group.title}>
          <h2>{group.title}</h2>
          {group.items.length === 0 ? (
            <p className="empty">Nothing here.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Title</th>
                  <th>Kind</th>
                  <th>{editor ? 'Submitted' : 'Updated'}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {group.items.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <strong>{c.title}</strong>
                      {c.rejectionReason && <div className="muted">Rejected: {c.rejectionReason}</div>}
                    </td>
                    <td>{c.kind}</td>
                    <td>{new Date(c.updatedAt).toLocaleString()}</td>
                    <td>
                      <button type="button" onClick={() => onOpen(c.id)}>
                        {editor ? 'Review' : 'Open'}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ))}
    </div>
  );
}
