import { useRef, useState, type FormEvent } from 'react';
import { EVENT_TYPES, type EventEnvelope } from '@lastmeter/contracts';
import { ApiError, query } from '../shared/api';
import { useSessionToken } from '../shared/data';
import { fromLocalInput } from '../shared/format';
import { ErrorNotice, Field, fieldErrors } from '../shared/ui';

const SHOWN = 300;

interface Run {
  count: number;
  /** 0..1 through the time range, or undefined while the range's end is unknown. */
  progress?: number;
  latest: EventEnvelope[];
  lines: string[];
  done: boolean;
  aborted?: boolean;
}

/**
 * `GET /v1/events` streamed into the page: NDJSON read line by line as it arrives,
 * progress as the share of the time range already replayed, the newest events shown,
 * everything downloadable.
 */
export function Replay() {
  const session = useSessionToken();
  const [filters, setFilters] = useState({ from: '', to: '', types: [] as string[], aggregateId: '', storeId: '' });
  const [run, setRun] = useState<Run>();
  const [error, setError] = useState<unknown>();
  const abort = useRef<AbortController | undefined>(undefined);

  const start = async (event: FormEvent) => {
    event.preventDefault();
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setError(undefined);
    const from = fromLocalInput(filters.from);
    const to = fromLocalInput(filters.to) ?? new Date().toISOString();
    const path = `/v1/events${query({
      from,
      to: fromLocalInput(filters.to),
      type: filters.types.join(',') || undefined,
      aggregateId: filters.aggregateId.trim(),
      storeId: filters.storeId.trim(),
    })}`;
    const state: Run = { count: 0, latest: [], lines: [], done: false };
    setRun({ ...state });
    try {
      const response = await fetch(path, {
        headers: { authorization: `Bearer ${session.token}` },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) {
        throw new ApiError(response.status, await response.json().catch(() => ({ message: response.statusText })));
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let start = from ? new Date(from).getTime() : undefined;
      const end = new Date(to).getTime();
      let lastPaint = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          const envelope = JSON.parse(line) as EventEnvelope;
          state.lines.push(line);
          state.count++;
          state.latest.push(envelope);
          if (state.latest.length > SHOWN) state.latest.shift();
          const at = new Date(envelope.occurredAt).getTime();
          start ??= at;
          state.progress = end > start ? Math.min(1, Math.max(0, (at - start) / (end - start))) : undefined;
        }
        if (Date.now() - lastPaint > 100) {
          lastPaint = Date.now();
          setRun({ ...state, latest: [...state.latest] });
        }
      }
      setRun({ ...state, latest: [...state.latest], progress: 1, done: true });
    } catch (caught) {
      if ((caught as Error).name === 'AbortError')
        setRun({ ...state, latest: [...state.latest], done: true, aborted: true });
      else {
        setError(caught);
        setRun(undefined);
      }
    }
  };

  const downloadAll = () => {
    if (!run) return;
    const url = URL.createObjectURL(new Blob([run.lines.join('\n') + '\n'], { type: 'application/x-ndjson' }));
    const link = Object.assign(document.createElement('a'), { href: url, download: 'lastmeter-events.ndjson' });
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  return (
    <div className="stack">
      <h1>Replay the event log</h1>
      <form className="card" onSubmit={start} aria-label="Replay filters">
        <div className="row">
          <Field label="From" errors={fieldErrors(error, 'from')}>
            {(id) => (
              <input
                id={id}
                type="datetime-local"
                value={filters.from}
                onChange={(e) => setFilters({ ...filters, from: e.target.value })}
              />
            )}
          </Field>
          <Field label="To" hint="Empty: now" errors={fieldErrors(error, 'to')}>
            {(id) => (
              <input
                id={id}
                type="datetime-local"
                value={filters.to}
                onChange={(e) => setFilters({ ...filters, to: e.target.value })}
              />
            )}
          </Field>
          <Field label="Aggregate id" errors={fieldErrors(error, 'aggregateId')}>
            {(id) => (
              <input
                id={id}
                value={filters.aggregateId}
                onChange={(e) => setFilters({ ...filters, aggregateId: e.target.value })}
              />
            )}
          </Field>
          <Field label="Store id" errors={fieldErrors(error, 'storeId')}>
            {(id) => (
              <input
                id={id}
                value={filters.storeId}
                onChange={(e) => setFilters({ ...filters, storeId: e.target.value })}
              />
            )}
          </Field>
        </div>
        <Field label="Event types" hint="Hold Ctrl/Cmd to pick several; none = all" errors={fieldErrors(error, 'type')}>
          {(id) => (
            <select
              id={id}
              multiple
              size={6}
              value={filters.types}
              onChange={(e) => setFilters({ ...filters, types: [...e.target.selectedOptions].map((o) => o.value) })}
            >
              {EVENT_TYPES.map((type) => (
                <option key={type} value={type}>
                  {type}
                </option>
              ))}
            </select>
          )}
        </Field>
        <ErrorNotice error={error} shownFields={['from', 'to', 'aggregateId', 'storeId', 'type']} />
        <div className="actions">
          <button type="submit" className="primary">
            Replay
          </button>
          {run && !run.done && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          )}
          {run?.done && run.count > 0 && (
            <button type="button" onClick={downloadAll}>
              Download {run.count.toLocaleString()} events (NDJSON)
            </button>
          )}
        </div>
      </form>
      {run && (
        <section aria-label="Replay result" className="card stack">
          <div className="section-head">
            <strong data-testid="replay-count">{run.count.toLocaleString()} events</strong>
            <span className="muted">{run.done ? (run.aborted ? 'stopped' : 'complete') : 'replaying…'}</span>
          </div>
          <progress
            max={1}
            value={run.done ? 1 : run.progress}
            aria-label="Replay progress"
            style={{ width: '100%' }}
          />
          <table>
            <thead>
              <tr>
                <th>Occurred</th>
                <th>Type</th>
                <th>Aggregate</th>
                <th>Actor</th>
              </tr>
            </thead>
            <tbody>
              {[...run.latest].reverse().map((envelope) => (
                <tr key={envelope.id}>
                  <td>{new Date(envelope.occurredAt).toLocaleString()}</td>
                  <td>
                    <code>{envelope.type}</code>
                  </td>
                  <td>
                    {envelope.aggregateType}{' '}
                    <span className="muted">
                      {envelope.aggregateId.slice(0, 8)} v{envelope.aggregateVersion}
                    </span>
                  </td>
                  <td>{envelope.actor.role}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {run.count > SHOWN && <p className="muted">The newest {SHOWN} are shown; download for all of them.</p>}
        </section>
      )}
    </div>
  );
}
