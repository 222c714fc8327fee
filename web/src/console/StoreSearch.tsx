import { useState } from 'react';
import type { StoreView } from '@lastmeter/contracts';
import { Field } from '../shared/ui';
import { useRegions, useStorePage, useStoresById, type StoreFilter } from '../shared/data';

/** The search bar over the server's store directory: code or name, region, and optionally tag. */
export function StoreSearch({
  filter,
  onChange,
  withTag = false,
}: {
  filter: StoreFilter;
  onChange: (patch: StoreFilter) => void;
  withTag?: boolean;
}) {
  const regions = useRegions().data?.items ?? [];
  return (
    <div className="row" role="search" aria-label="Find stores">
      <Field label="Search stores" hint="code or name">
        {(id) => (
          <input id={id} type="search" value={filter.q ?? ''} onChange={(e) => onChange({ q: e.target.value })} />
        )}
      </Field>
      <Field label="In region">
        {(id) => (
          <select
            id={id}
            value={filter.regionId ?? ''}
            onChange={(e) => onChange({ regionId: e.target.value || undefined })}
          >
            <option value="">All regions</option>
            {regions.map((region) => (
              <option key={region.id} value={region.id}>
                {region.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      {withTag && (
        <Field label="With tag">
          {(id) => <input id={id} value={filter.tag ?? ''} onChange={(e) => onChange({ tag: e.target.value })} />}
        </Field>
      )}
    </div>
  );
}

/**
 * Choosing one store out of 50,000: a search box (code or name, on the server) and a list
 * of the first 20 matches. The chosen store stays listed while the search changes. `id` is
 * the select's, so the field's label names the list.
 */
export function StorePicker({
  id,
  label,
  value,
  onChange,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (storeId: string, store?: StoreView) => void;
}) {
  const [search, setSearch] = useState('');
  const matching = useStorePage({ q: search.trim() || undefined }, undefined, 20);
  const chosen = useStoresById(value ? [value] : []).get(value);
  const options = matching.data?.items ?? [];
  const listed = chosen && !options.some((store) => store.id === chosen.id) ? [chosen, ...options] : options;
  return (
    <div className="stack store-picker">
      <input
        type="search"
        aria-label={`Find ${label.toLowerCase()}`}
        placeholder="code or name"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      <select
        id={id}
        value={value}
        onChange={(e) =>
          onChange(
            e.target.value,
            listed.find((store) => store.id === e.target.value),
          )
        }
      >
        <option value="">{options.length === 0 && search.trim() ? 'No store matches' : 'Choose…'}</option>
        {listed.map((store) => (
          <option key={store.id} value={store.id}>
            {store.name} ({store.code})
          </option>
        ))}
      </select>
      {matching.data?.next && <small className="hint">First 20 matches: narrow the search for others.</small>}
    </div>
  );
}
