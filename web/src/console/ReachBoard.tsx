import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { REACH_STEPS, type CommunicationView, type ReachByLanguage, type StoreReach } from '@lastmeter/contracts';
import { query, read } from '../shared/api';
import { percent } from '../shared/format';
import { ErrorNotice } from '../shared/ui';
import { useNamesFor, useSessionToken } from '../shared/data';
import { useLiveReach, type RegionReach } from './live';
import { PeopleBoard } from './PeopleBoard';

const LABEL = { delivered: 'Delivered', read: 'Read', acknowledged: 'Acknowledged', completed: 'Completed' };

type StoreReachRow = StoreReach & { code?: string; name?: string };

/**
 * Targeted → delivered → read → acknowledged → completed, overall and by region, pushed
 * by `/console` as receipts arrive (no reload, no polling); a region opens on its
 * stores, a page at a time (`GET /v1/communications/:id/reach?regionId=`).
 */
export function ReachBoard({ communication }: { communication: CommunicationView }) {
  const { reach, error, live } = useLiveReach(communication.id);
  // Region names only: the board never lists every store.
  const names = useNamesFor([]);
  const [regionId, setRegionId] = useState<string>();
  if (error) return <ErrorNotice error={new Error(error)} />;
  if (!reach) return <p className="muted">{live ? 'Loading reach…' : 'Waiting for the live connection…'}</p>;
  return (
    <section className="card stack" aria-label="Reach" data-testid="reach-board">
      <div className="section-head">
        <h2>Reach</h2>
        <span className="muted">
          <span className={`live-dot${live ? '' : ' live-dot--off'}`} aria-hidden />
          {live ? 'live' : 'reconnecting'} · revision {reach.revision}
        </span>
      </div>
      <Funnel reach={reach} />
      <h3>By region</h3>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th>Region</th>
              <StepHeads />
            </tr>
          </thead>
          <tbody>
            {[...reach.byRegion]
              .sort((a, b) =>
                names.region(a.regionId).localeCompare(names.region(b.regionId), undefined, { numeric: true }),
              )
              .map((region) => (
                <tr key={region.regionId} aria-selected={region.regionId === regionId}>
                  <td>
                    <button
                      type="button"
                      className="link"
                      aria-expanded={region.regionId === regionId}
                      onClick={() => setRegionId(region.regionId === regionId ? undefined : region.regionId)}
                    >
                      {region.regionId === 'unknown' ? 'Unknown region' : names.region(region.regionId)}
                    </button>
                  </td>
                  <td className="num">{region.targeted}</td>
                  {REACH_STEPS.map((step) => (
                    <td key={step} className="num">
                      {region[step]}
                    </td>
                  ))}
                </tr>
              ))}
          </tbody>
        </table>
      </div>
      <PeopleBoard
        communicationId={communication.id}
        version={[reach.revision, ...REACH_STEPS.map((step) => reach[step].terminals)].join('-')}
      />
      {(communication.translations || communication.language) && (
        <ByLanguage
          communicationId={communication.id}
          version={[reach.revision, reach.targeted, ...REACH_STEPS.map((step) => reach[step].stores)].join('-')}
        />
      )}
      {regionId ? (
        <RegionStores
          communicationId={communication.id}
          regionId={regionId}
          regionName={regionId === 'unknown' ? 'Unknown region' : names.region(regionId)}
          quiz={reach.quiz.answers > 0}
          // The push carries regions only: the page of stores is read again whenever the live counts move.
          version={[reach.targeted, ...REACH_STEPS.map((step) => reach[step].terminals)].join('-')}
        />
      ) : (
        <p className="muted">Choose a region to see its stores.</p>
      )}
    </section>
  );
}

/** Reach by store locale, and the language each is shown (`?by=language`), read again as the live counts move. */
function ByLanguage({ communicationId, version }: { communicationId: string; version: string }) {
  const session = useSessionToken();
  const path = `/v1/communications/${communicationId}/reach${query({ by: 'language' })}`;
  const report = useQuery({
    queryKey: ['reach-by-language', communicationId, version],
    queryFn: ({ signal }) => read<ReachByLanguage>(path, session.token, signal),
    placeholderData: keepPreviousData,
  });
  if (report.error) return <ErrorNotice error={report.error} />;
  const rows = report.data?.byLanguage ?? [];
  return (
    <>
      <h3>By language</h3>
      <div className="table-scroll">
        <table data-testid="reach-by-language">
          <thead>
            <tr>
              <th>Store locale</th>
              <th>Shown in</th>
              <StepHeads />
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.locale}>
                <td>{row.locale}</td>
                <td>{row.shown}</td>
                <td className="num">{row.targeted}</td>
                {REACH_STEPS.map((step) => (
                  <td key={step} className="num">
                    {row[step]} <span className="muted">({percent(row[step], row.targeted)})</span>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Targeted and each reach step, as column heads. */
function StepHeads() {
  return (
    <>
      <th className="num">Targeted</th>
      {REACH_STEPS.map((step) => (
        <th key={step} className="num">
          {LABEL[step]}
        </th>
      ))}
    </>
  );
}

function Funnel({ reach }: { reach: RegionReach }) {
  const rows = [
    { key: 'targeted', label: 'Targeted', stores: reach.targeted, terminals: undefined as number | undefined },
    ...REACH_STEPS.map((step) => ({ key: step, label: LABEL[step], ...reach[step] })),
  ];
  return (
    <div className="funnel" role="table" aria-label="Reach funnel (stores)">
      {rows.map((row) => (
        <div className="funnel-step" role="row" key={row.key} data-step={row.key}>
          <span role="rowheader">{row.label}</span>
          <span className="funnel-bar" role="presentation">
            <span style={{ width: reach.targeted ? `${(100 * row.stores) / reach.targeted}%` : 0 }} />
          </span>
          <span className="funnel-count" role="cell">
            <span data-testid={`reach-${row.key}-stores`}>{row.stores}</span>
            <span className="muted"> stores</span>
            {row.terminals !== undefined && (
              <>
                {' · '}
                <span data-testid={`reach-${row.key}-terminals`}>{row.terminals}</span>
                <span className="muted"> terminals</span>
              </>
            )}
          </span>
        </div>
      ))}
      {reach.quiz.answers > 0 && (
        <p className="muted">
          Quiz: {reach.quiz.answers} answers, average {percent(reach.quiz.averageScore ?? 0, 1)}
        </p>
      )}
    </div>
  );
}

/** The stores of one region for a communication, by code, 50 at a time. */
function RegionStores(props: {
  communicationId: string;
  regionId: string;
  regionName: string;
  quiz: boolean;
  version: string;
}) {
  const session = useSessionToken();
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [shownRegion, setShownRegion] = useState(props.regionId);
  if (shownRegion !== props.regionId) {
    setShownRegion(props.regionId);
    setCursors([undefined]);
  }
  const path = `/v1/communications/${props.communicationId}/reach${query({
    regionId: props.regionId,
    limit: 50,
    cursor: cursors.at(-1),
  })}`;
  const page = useQuery({
    queryKey: ['reach-region', path, props.version],
    queryFn: ({ signal }) => read<{ items: StoreReachRow[]; next?: string }>(path, session.token, signal),
    placeholderData: keepPreviousData,
  });
  const stores = page.data?.items ?? [];
  return (
    <>
      <h3>Stores in {props.regionName}</h3>
      <ErrorNotice error={page.error} />
      <div className="table-scroll">
        <table data-testid="reach-region-stores">
          <thead>
            <tr>
              <th>Store</th>
              {REACH_STEPS.map((step) => (
                <th key={step} className="num">
                  {LABEL[step]}
                </th>
              ))}
              {props.quiz && <th className="num">Quiz</th>}
            </tr>
          </thead>
          <tbody>
            {stores.map((store) => (
              <tr key={store.storeId} data-store-id={store.storeId}>
                <td>
                  {store.name ?? store.storeId.slice(0, 8)} <span className="muted">{store.code}</span>
                </td>
                {REACH_STEPS.map((step) => (
                  <td key={step} className="num">
                    {store[step]}
                  </td>
                ))}
                {props.quiz && (
                  <td className="num">{store.quizScore === undefined ? '—' : percent(store.quizScore, 1)}</td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <span className="muted">Page {cursors.length}</span>
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous stores
        </button>
        <button
          type="button"
          disabled={!page.data?.next || page.isPlaceholderData}
          onClick={() => page.data?.next && !page.isPlaceholderData && setCursors([...cursors, page.data.next])}
        >
          Next stores
        </button>
      </div>
    </>
  );
}
