import { Field } from '../shared/ui';
import { useRegions, type StoreFilter } from '../shared/data';

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
