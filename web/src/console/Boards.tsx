import { useState } from 'react';
import type { StoreCompliance } from '@lastmeter/contracts';
import { Thumbnail } from '../shared/media';
import { EvidenceReview } from './EvidenceReview';
import { relative, when } from '../shared/format';
import { Badge, Empty, ErrorNotice } from '../shared/ui';
import {
  useCompliancePage,
  useNamesFor,
  usePresencePage,
  useReports,
  useSessionToken,
  useStorePage,
  useTerminalsOfStores,
  type StoreFilter,
} from '../shared/data';
import { StoreSearch } from './StoreSearch';

/** A search over the directory and the cursors of the pages before the one shown (the first has none). */
function useDirectoryPaging() {
  const [filter, setFilter] = useState<StoreFilter>({});
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  return {
    filter,
    cursors,
    cursor: cursors.at(-1),
    filterBy: (patch: StoreFilter) => {
      setFilter({ ...filter, ...patch });
      setCursors([undefined]);
    },
    previous: () => setCursors(cursors.slice(0, -1)),
    next: (cursor: string) => setCursors([...cursors, cursor]),
  };
}

function Pager(props: {
  label: string;
  testId: string;
  page: number;
  shown: number;
  loading: boolean;
  next?: string;
  onPrevious: () => void;
  onNext: (cursor: string) => void;
}) {
  return (
    <div className="pager" aria-label={props.label}>
      <span className="muted" data-testid={props.testId}>
        {props.loading
          ? 'Loading…'
          : props.shown === 0
            ? 'No store matches.'
            : `Page ${props.page} · ${props.shown} stores${props.next ? ' · more after' : ''}`}
      </span>
      <button type="button" disabled={props.page === 1} onClick={props.onPrevious}>
        Previous page
      </button>
      <button
        type="button"
        disabled={!props.next || props.loading}
        onClick={() => props.next && !props.loading && props.onNext(props.next)}
      >
        Next page
      </button>
    </div>
  );
}

/**
 * Open and overdue tasks, a page of the directory at a time (searched and paged on the
 * server like the Directory; refreshed every 15 s: overdue is a matter of the clock).
 * Within a page, the worst stores come first.
 */
export function Compliance() {
  const { token } = useSessionToken();
  const paging = useDirectoryPaging();
  const stores = useStorePage(paging.filter, paging.cursor);
  const board = useCompliancePage(paging.filter, paging.cursor);
  const byStore = new Map((board.data?.items ?? []).map((row) => [row.storeId, row]));
  const none = { open: 0, overdue: 0, completed: 0 };
  const empty = (storeId: string): StoreCompliance => ({
    storeId,
    ...none,
    mandated: none,
    suggested: { ...none, dismissed: 0 },
    tasks: [],
  });
  const rows = (stores.data?.items ?? [])
    .map((store) => ({ store, compliance: byStore.get(store.id) ?? empty(store.id) }))
    .sort((a, b) => b.compliance.overdue - a.compliance.overdue || b.compliance.open - a.compliance.open);
  const loading = stores.isPlaceholderData || board.isPlaceholderData || !stores.data || !board.data;
  return (
    <section aria-label="Compliance" className="stack">
      <h1>Compliance</h1>
      <ErrorNotice error={stores.error ?? board.error} />
      <StoreSearch filter={paging.filter} onChange={paging.filterBy} withTag />
      <table data-testid="compliance-table">
        <thead>
          <tr>
            <th>Store</th>
            <th className="num" title="Mandated tasks">
              Overdue
            </th>
            <th className="num" title="Mandated tasks">
              Open
            </th>
            <th className="num" title="Mandated tasks">
              Done
            </th>
            <th title="Tasks head office only suggests: the store manager may dismiss or assign them">Suggested</th>
            <th>Overdue tasks</th>
            <th>Evidence</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ store, compliance }) => (
            <tr key={store.id} data-store-id={store.id} className={compliance.overdue ? 'overdue' : ''}>
              <td>
                {store.name} <span className="muted">{store.code}</span>
              </td>
              <td className="num">{compliance.mandated.overdue}</td>
              <td className="num">{compliance.mandated.open}</td>
              <td className="num">{compliance.mandated.completed}</td>
              <td data-testid="suggested-tasks">
                {compliance.tasks.some((task) => task.mandate === 'suggested')
                  ? `${compliance.suggested.open} open · ${compliance.suggested.completed} done · ${compliance.suggested.dismissed} dismissed`
                  : '—'}
              </td>
              <td>
                {compliance.tasks
                  .filter((task) => task.overdue)
                  .map((task) => (
                    <div key={task.communicationId}>
                      {task.title} <span className="muted">due {relative(task.dueAt)}</span>
                      {task.mandate === 'suggested' && <span className="badge">suggested</span>}
                    </div>
                  ))}
              </td>
              <td>
                {compliance.tasks
                  .filter((task) => task.evidence)
                  .map((task) => (
                    <EvidenceReview
                      key={task.communicationId}
                      task={task}
                      storeId={store.id}
                      storeCode={store.code}
                      token={token}
                    />
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager
        label="Compliance pages"
        testId="compliance-page"
        page={paging.cursors.length}
        shown={rows.length}
        loading={loading}
        next={stores.data?.next}
        onPrevious={paging.previous}
        onNext={paging.next}
      />
    </section>
  );
}

/** Field reports as stores file them (pushed live by /console). */
export function Reports() {
  const { token } = useSessionToken();
  const { data, error } = useReports();
  const reports = data?.items ?? [];
  // Names of the stores on screen only.
  const names = useNamesFor(reports.map((report) => report.storeId));
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
              {report.attachments?.length ? (
                <div className="thumbnail-row" aria-label="Photos">
                  {report.attachments.map((photo) => (
                    <Thumbnail key={photo.mediaId} media={photo} token={token} alt={`Photo of ${report.title}`} />
                  ))}
                </div>
              ) : null}
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
  const paging = useDirectoryPaging();
  const stores = useStorePage(paging.filter, paging.cursor);
  const presence = usePresencePage(paging.filter, paging.cursor);
  const page = stores.data?.items ?? [];
  // The terminals of this page's stores only (enrolled counts and names).
  const terminals = useTerminalsOfStores(page.map((store) => store.id)).data?.items ?? [];
  const online = new Map((presence.data?.items ?? []).map((store) => [store.storeId, store.online]));
  const loading = stores.isPlaceholderData || presence.isPlaceholderData || !stores.data || !presence.data;
  return (
    <section aria-label="Presence" className="stack">
      <h1>Presence</h1>
      <ErrorNotice error={stores.error ?? presence.error} />
      <StoreSearch filter={paging.filter} onChange={paging.filterBy} withTag />
      <table data-testid="presence-table">
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
      <Pager
        label="Presence pages"
        testId="presence-page"
        page={paging.cursors.length}
        shown={page.length}
        loading={loading}
        next={stores.data?.next}
        onPrevious={paging.previous}
        onNext={paging.next}
      />
    </section>
  );
}
