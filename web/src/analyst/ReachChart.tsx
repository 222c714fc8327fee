import { useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { REACH_STEPS, type ReachTimeline } from '@lastmeter/contracts';
import { useCommunications, useRead } from '../shared/data';
import { ErrorNotice, Empty, Field } from '../shared/ui';

const COLOURS = { delivered: '#1f5f8b', read: '#0e7090', acknowledged: '#1e7a46', completed: '#6941c6' };

/** One row per instant at which any step changed, with every step's cumulative terminal count then. */
export function chartRows(timeline: ReachTimeline, now = Date.now()) {
  const times = [
    ...new Set(REACH_STEPS.flatMap((step) => timeline.steps[step].map((p) => new Date(p.at).getTime()))),
  ].sort((a, b) => a - b);
  const start = timeline.publishedAt ? new Date(timeline.publishedAt).getTime() : times[0];
  const rows = [{ t: start, delivered: 0, read: 0, acknowledged: 0, completed: 0 }];
  for (const t of times) {
    const row = { t, delivered: 0, read: 0, acknowledged: 0, completed: 0 };
    for (const step of REACH_STEPS) {
      const reached = timeline.steps[step].filter((p) => new Date(p.at).getTime() <= t);
      row[step] = reached.length ? reached[reached.length - 1].terminals : 0;
    }
    rows.push(row);
  }
  // Flat to now: nothing more has been reported since the last point.
  if (times.length) rows.push({ ...rows[rows.length - 1], t: Math.max(now, rows[rows.length - 1].t) });
  return rows;
}

export function ReachChart() {
  const published = (useCommunications().data?.items ?? []).filter((c) => c.publishedAt);
  const [id, setId] = useState<string>();
  const timeline = useRead<ReachTimeline>(
    ['reach-timeline', id],
    id ? `/v1/communications/${id}/reach/timeline` : undefined,
    {
      refetchInterval: 10_000,
    },
  );
  const rows = timeline.data ? chartRows(timeline.data) : [];
  return (
    <div className="stack">
      <h1>Reach over time</h1>
      <div className="card">
        <Field label="Communication">
          {(fieldId) => (
            <select id={fieldId} value={id ?? ''} onChange={(e) => setId(e.target.value || undefined)}>
              <option value="">Choose a published communication…</option>
              {published.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title} ({c.status})
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <ErrorNotice error={timeline.error} />
      {id && rows.length <= 1 && <Empty>No terminal has reported on it yet.</Empty>}
      {rows.length > 1 && (
        <figure className="card chart" aria-label="Terminals that reached each step, over time">
          <ResponsiveContainer width="100%" height={360}>
            <LineChart data={rows} margin={{ top: 10, right: 30, bottom: 10, left: 0 }}>
              <CartesianGrid stroke="#e4e8ee" />
              <XAxis
                dataKey="t"
                type="number"
                scale="time"
                domain={['dataMin', 'dataMax']}
                tickFormatter={(t: number) => new Date(t).toLocaleTimeString()}
              />
              <YAxis allowDecimals={false} />
              <Tooltip labelFormatter={(t) => new Date(Number(t)).toLocaleString()} />
              <Legend />
              {REACH_STEPS.map((step) => (
                <Line
                  key={step}
                  type="stepAfter"
                  dataKey={step}
                  stroke={COLOURS[step]}
                  strokeWidth={2}
                  dot={false}
                  isAnimationActive={false}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
          <figcaption className="muted">
            Terminals that had reported each step, cumulative, since it was published.
          </figcaption>
        </figure>
      )}
    </div>
  );
}
