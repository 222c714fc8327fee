import { useState } from 'react';
import { relative, when } from '../shared/format';
import { Badge, Empty, ErrorNotice } from '../shared/ui';
import {
  useCompliance,
  useNames,
  usePresencePage,
  useReports,
  useStorePage,
  useTerminals,
  type StoreFilter,
} from '../shared/data';
import { StoreSearch } from './StoreSearch';

/** Overdue tasks by store, worst first (refreshed every 15 s: overdue is a matter of the clock). */
export function Compliance() {
  const { data, error } = useCompliance();
  const names = useNames();
  const stores = [...(data?.items ?? [])].sort((a, b) => b.overdue - a.overdue || b.open - a.open);
  return (
    <section aria-label="Compliance" className="stack">
      <h1>Compliance</h1>
      <ErrorNotice error={error} />
      {stores.length === 0 ? (
        <Empty>No tasks are live in any store.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Store</th>
              <th className="num">Overdue</th>
              <th className="num">Open</th>
              <th className="num">Done</th>
              <th>Overdue tasks</th>
            </tr>
          </thead>
          <tbody>
            {stores.map((store) => (
              <tr key={store.storeId} className={store.overdue ? 'overdue' : ''}>
                <td>{names.store(store.storeId)}</td>
                <td className="num">{store.overdue}</td>
                <td className="num">{store.open}</td>
                <td className="num">{store.completed}</td>
                <td>
                  {store.tasks
                    .filter((task) => task.overdue)
                    .map((task) => (
                      <div key={task.communicationId}>
                        {task.title} <span className="muted">due {relative(task.dueAt)}</span>
                      </div>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Field reports as stores file them (pushed live by /console). */
export function Reports() {
  const { data, error } = useReports();
  const names = useNames();
  const reports = data?.items ?? [];
  return (
    <section aria-label="Field reports" className="stack">
      <h1>Field reports</h1>
      <ErrorNotice error={error} />
      {reports.length === 0 ? (
        <Empty>No reports yet. They appear here the moment a store files one.</Empty>
      ) : (
        <ol className="report-list">
          {reports.map((report) => (
            <li key={report.reportId} className="card" data-report-id={report.reportId}>
              <div className="section-head">
                <h3>{report.title}</h3>
                <span className="muted">
                  {names.store(report.storeId)} · {when(report.filedAt)}
                </span>
              </div>
              <p className="pre">{report.body}</p>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/**
 * Online terminals per store (pushed live by /console), a page of the directory at a
 * time: search by code or name, or narrow to a region.
 */
export function Presence() {
  const [filter, setFilter] = useState<StoreFilter>({});
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const stores = useStorePage(filter, cursors.at(-1));
  const presence = usePresencePage(filter, cursors.at(-1));
  const terminals = useTerminals().data?.items ?? [];
  const online = new Map((presence.data?.items ?? []).map((store) => [store.storeId, store.online]));
  const filterBy = (patch: StoreFilter) => {
    setFilter({ ...filter, ...patch });
    setCursors([undefined]);
  };
  const page = stores.data?.items ?? [];
  const loading = stores.isPlaceholderData || presence.isPlaceholderData || !stores.data;
  return (
    <section aria-label="Presence" className="stack">
      <h1>Presence</h1>
      <ErrorNotice error={stores.error ?? presence.error} />
      <StoreSearch filter={filter} onChange={filterBy} />
      <table>
        <thead>
          <tr>
            <th>Store</th>
            <th className="num">Online</th>
            <th className="num">Enrolled</th>
            <th>Terminals online</th>
          </tr>
        </thead>
        <tbody>
          {page.map((store) => {
            const list = online.get(store.id) ?? [];
            const enrolled = terminals.filter((t) => t.storeId === store.id && t.status === 'enrolled');
            return (
              <tr key={store.id} data-store-id={store.id}>
                <td>
                  {store.name} <span className="muted">{store.code}</span>
                </td>
                <td className="num">
                  <Badge tone={list.length ? 'ok' : 'muted'}>{list.length}</Badge>
                </td>
                <td className="num">{enrolled.length}</td>
                <td>
                  {list.map((t) => (
                    <div key={t.terminalId}>
                      {terminals.find((x) => x.id === t.terminalId)?.name || t.terminalId.slice(0, 8)}{' '}
                      <span className="muted">since {when(t.since)}</span>
                    </div>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="pager">
        <span className="muted">{loading ? 'Loading…' : `Page ${cursors.length} · ${page.length} stores`}</span>
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!stores.data?.next || loading}
          onClick={() => stores.data?.next && !loading && setCursors([...cursors, stores.data.next])}
        >
          Next page
        </button>
      </div>
    </section>
  );
}
