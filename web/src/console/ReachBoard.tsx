import { REACH_STEPS, type CommunicationView, type ReachReport } from '@lastmeter/contracts';
import { percent } from '../shared/format';
import { ErrorNotice } from '../shared/ui';
import { useNames } from '../shared/data';
import { useLiveReach } from './live';

const LABEL = { delivered: 'Delivered', read: 'Read', acknowledged: 'Acknowledged', completed: 'Completed' };

/**
 * Targeted → delivered → read → acknowledged → completed, overall, by region and by
 * store, pushed by `/console` as receipts arrive (no reload, no polling).
 */
export function ReachBoard({ communication }: { communication: CommunicationView }) {
  const { reach, error, live } = useLiveReach(communication.id);
  const names = useNames();
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
              <th className="num">Targeted</th>
              {REACH_STEPS.map((step) => (
                <th key={step} className="num">
                  {LABEL[step]}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {reach.byRegion.map((region) => (
              <tr key={region.regionId}>
                <td>{names.region(region.regionId)}</td>
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
      <h3>By store</h3>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th>Store</th>
              {REACH_STEPS.map((step) => (
                <th key={step} className="num">
                  {LABEL[step]}
                </th>
              ))}
              {reach.quiz.answers > 0 && <th className="num">Quiz</th>}
            </tr>
          </thead>
          <tbody>
            {reach.byStore
              .filter((store) => store.targeted)
              .map((store) => (
                <tr key={store.storeId} data-store-id={store.storeId}>
                  <td>{names.store(store.storeId)}</td>
                  {REACH_STEPS.map((step) => (
                    <td key={step} className="num">
                      {store[step]}
                    </td>
                  ))}
                  {reach.quiz.answers > 0 && (
                    <td className="num">{store.quizScore === undefined ? '—' : percent(store.quizScore, 1)}</td>
                  )}
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Funnel({ reach }: { reach: ReachReport }) {
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
