import { useState } from 'react';
import { download, query } from '../shared/api';
import { useCommunications, useSessionToken, useStores } from '../shared/data';
import { fromLocalInput } from '../shared/format';
import { ErrorNotice, Field } from '../shared/ui';

/** The audit CSVs (RFC 4180, UTF-8 with BOM: opens as-is in a spreadsheet). */
export function Audit() {
  const session = useSessionToken();
  const communications = useCommunications().data?.items ?? [];
  const stores = useStores().data?.items ?? [];
  const [communicationId, setCommunicationId] = useState('');
  const [storeId, setStoreId] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const get = async (path: string, name: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await download(path, session.token, name);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="stack">
      <h1>Audit</h1>
      <ErrorNotice error={error} />
      <section className="card stack" aria-label="Communication audit">
        <h2>A communication</h2>
        <p className="muted">
          One row per targeted store and terminal: revision seen, first delivered, read, acknowledged, completed, quiz
          score, reports.
        </p>
        <Field label="Communication">
          {(id) => (
            <select id={id} value={communicationId} onChange={(e) => setCommunicationId(e.target.value)}>
              <option value="">Choose…</option>
              {communications.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title} ({c.status})
                </option>
              ))}
            </select>
          )}
        </Field>
        <button
          type="button"
          className="primary"
          disabled={!communicationId || busy}
          onClick={() => void get(`/v1/audit/communications/${communicationId}.csv`, `audit-${communicationId}.csv`)}
        >
          Download CSV
        </button>
      </section>
      <section className="card stack" aria-label="Store audit">
        <h2>A store over a period</h2>
        <div className="row">
          <Field label="Store">
            {(id) => (
              <select id={id} value={storeId} onChange={(e) => setStoreId(e.target.value)}>
                <option value="">Choose…</option>
                {stores.map((store) => (
                  <option key={store.id} value={store.id}>
                    {store.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="From">
            {(id) => <input id={id} type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />}
          </Field>
          <Field label="To">
            {(id) => <input id={id} type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />}
          </Field>
        </div>
        <button
          type="button"
          className="primary"
          disabled={!storeId || busy}
          onClick={() =>
            void get(
              `/v1/audit/stores/${storeId}.csv${query({ from: fromLocalInput(from), to: fromLocalInput(to) })}`,
              `audit-store-${storeId}.csv`,
            )
          }
        >
          Download CSV
        </button>
      </section>
    </div>
  );
}
