import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { PeopleReach, ReachCounts } from '@lastmeter/contracts';
import { query, read } from '../shared/api';
import { percent } from '../shared/format';
import { ErrorNotice } from '../shared/ui';
import { useNamesFor, useSessionToken, useStoresById } from '../shared/data';

/**
 * Seen by and acknowledged by, per person (issue 21): all → region → store → person, with
 * who is overdue. Read again when the live reach moves, and every few seconds (a second
 * person acknowledging on the same tablet moves no tablet count).
 */
export function PeopleBoard({ communicationId, version }: { communicationId: string; version: string }) {
  const [regionId, setRegionId] = useState<string>();
  const [storeId, setStoreId] = useState<string>();
  const overall = usePeopleReach(communicationId, version, {});
  const names = useNamesFor([]);
  const region = usePeopleReach(communicationId, version, { regionId }, !!regionId);
  const store = usePeopleReach(communicationId, version, { storeId }, !!storeId);
  const stores = useStoresById(region.data?.byStore?.map((row) => row.storeId) ?? []);
  if (overall.error) return <ErrorNotice error={overall.error} />;
  const report = overall.data;
  if (!report || report.overall.persons === 0) return null;
  return (
    <section className="stack" aria-label="People" data-testid="people-board">
      <h3>People</h3>
      <p data-testid="people-overall">
        <strong>{percent(report.overall.seen, report.overall.persons)}</strong> seen ·{' '}
        <strong>{percent(report.overall.acknowledged, report.overall.persons)}</strong> acknowledged of{' '}
        {report.overall.persons} people{report.roles?.length ? ` (${report.roles.join(', ')})` : ''}
        {report.overall.overdue > 0 && <span className="badge badge--danger">{report.overall.overdue} overdue</span>}
      </p>
      <CountsTable
        label="People by region"
        rows={report.byRegion.map((row) => ({
          id: row.regionId,
          name: row.regionId === 'unknown' ? 'Unknown region' : names.region(row.regionId),
          counts: row,
        }))}
        selected={regionId}
        onSelect={(id) => {
          setRegionId(id === regionId ? undefined : id);
          setStoreId(undefined);
        }}
      />
      {regionId && region.data?.byStore && (
        <CountsTable
          label="People by store"
          rows={region.data.byStore.map((row) => ({
            id: row.storeId,
            name: stores.get(row.storeId)?.name ?? row.storeId.slice(0, 8),
            counts: row,
          }))}
          selected={storeId}
          onSelect={(id) => setStoreId(id === storeId ? undefined : id)}
        />
      )}
      {storeId && store.data?.people && (
        <table data-testid="people-of-store">
          <thead>
            <tr>
              <th>Person</th>
              <th>Roles</th>
              <th>Seen</th>
              <th>Acknowledged</th>
            </tr>
          </thead>
          <tbody>
            {store.data.people.map((person) => (
              <tr key={person.staffId}>
                <td>
                  {person.name} {person.overdue && <span className="badge badge--danger">Overdue</span>}
                </td>
                <td>{person.roles.join(', ')}</td>
                <td>{person.seenAt ? new Date(person.seenAt).toLocaleString() : '—'}</td>
                <td>{person.acknowledgedAt ? new Date(person.acknowledgedAt).toLocaleString() : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function usePeopleReach(
  communicationId: string,
  version: string,
  scope: { regionId?: string; storeId?: string },
  enabled = true,
) {
  const session = useSessionToken();
  const path = `/v1/communications/${communicationId}/reach/people${query(scope)}`;
  return useQuery({
    queryKey: ['people-reach', path, version],
    queryFn: ({ signal }) => read<PeopleReach>(path, session.token, signal),
    placeholderData: keepPreviousData,
    refetchInterval: 5_000,
    enabled,
  });
}

function CountsTable({
  label,
  rows,
  selected,
  onSelect,
}: {
  label: string;
  rows: Array<{ id: string; name: string; counts: ReachCounts }>;
  selected?: string;
  onSelect: (id: string) => void;
}) {
  return (
    <div className="table-scroll">
      <table aria-label={label}>
        <thead>
          <tr>
            <th>{label.replace('People by ', '').replace(/^./, (c) => c.toUpperCase())}</th>
            <th className="num">People</th>
            <th className="num">Seen</th>
            <th className="num">Acknowledged</th>
            <th className="num">Overdue</th>
          </tr>
        </thead>
        <tbody>
          {[...rows]
            .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
            .map((row) => (
              <tr key={row.id} aria-selected={row.id === selected}>
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-expanded={row.id === selected}
                    onClick={() => onSelect(row.id)}
                  >
                    {row.name}
                  </button>
                </td>
                <td className="num">{row.counts.persons}</td>
                <td className="num">
                  {row.counts.seen} <span className="muted">({percent(row.counts.seen, row.counts.persons)})</span>
                </td>
                <td className="num">
                  {row.counts.acknowledged}{' '}
                  <span className="muted">({percent(row.counts.acknowledged, row.counts.persons)})</span>
                </td>
                <td className="num">{row.counts.overdue}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}
