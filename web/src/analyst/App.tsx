import { useEffect, useState } from 'react';
import { SessionContext } from '../shared/data';
import { useSession } from '../shared/session';
import { AppHeader, LoginForm, Tabs } from '../shared/ui';
import { Audit } from './Audit';
import { ReachChart } from './ReachChart';
import { Replay } from './Replay';
import { TimeTravel } from './TimeTravel';

type TabId = 'replay' | 'time-travel' | 'reach' | 'audit';
const TABS: Array<{ id: TabId; label: string }> = [
  { id: 'replay', label: 'Replay' },
  { id: 'time-travel', label: 'Time travel' },
  { id: 'reach', label: 'Reach over time' },
  { id: 'audit', label: 'Audit' },
];

export function App() {
  const { session, start, logout } = useSession('lastmeter.analyst.session');
  const [tab, setTab] = useState<TabId>(() => (location.hash.slice(1) as TabId) || 'replay');
  useEffect(() => {
    location.hash = tab;
  }, [tab]);
  if (!session) {
    return (
      <LoginForm
        title="Analyst"
        subtitle="Replay the event log, see any store as it was, and audit what reached whom."
        allowed={['analyst', 'hq-admin']}
        onLogin={start}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <AppHeader product="Analyst" session={session} onLogout={logout} />
      <Tabs label="Views" tabs={TABS} current={tab} onChange={setTab} />
      <main className="page" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'replay' && <Replay />}
        {tab === 'time-travel' && <TimeTravel />}
        {tab === 'reach' && <ReachChart />}
        {tab === 'audit' && <Audit />}
      </main>
    </SessionContext.Provider>
  );
}
