import { useState } from 'react';
import { STORE_ROLES, type Audience, type StoreView, type TerminalView } from '@lastmeter/contracts';
import { targetsStore } from '@lastmeter/domain';
import { useRegions, useStores, useTerminals } from '../shared/data';

/** How many stores an audience reaches, and how many terminals will show the content. */
export function reachOf(audience: Audience, stores: StoreView[], terminals: TerminalView[]) {
  const targeted = stores.filter((store) => targetsStore(audience, store));
  const ids = new Set(targeted.map((store) => store.id));
  const roles = audience.roles ?? [];
  const showing = terminals.filter(
    (t) =>
      t.status === 'enrolled' &&
      ids.has(t.storeId) &&
      (roles.length === 0 || t.roles.some((role) => roles.includes(role))),
  );
  return { stores: targeted.length, terminals: showing.length };
}

function toggle<T>(list: T[] | undefined, value: T, on: boolean): T[] | undefined {
  const next = (list ?? []).filter((v) => v !== value);
  if (on) next.push(value);
  return next.length ? next : undefined;
}

/**
 * All / regions / stores / tags combine as a union; roles narrow which terminals of the
 * targeted stores show the content (the same rule the write side uses: libs/domain).
 */
export function AudiencePicker(props: { value: Audience; onChange: (audience: Audience) => void; errors: string[] }) {
  const regions = useRegions().data?.items ?? [];
  const stores = useStores().data?.items ?? [];
  const terminals = useTerminals().data?.items ?? [];
  const [search, setSearch] = useState('');
  const audience = props.value;
  const set = (patch: Partial<Audience>) => props.onChange(clean({ ...audience, ...patch }));
  const tags = [...new Set(stores.flatMap((store) => store.tags))].sort();
  const reach = reachOf(audience, stores, terminals);
  const matching = stores.filter((store) =>
    `${store.code} ${store.name}`.toLowerCase().includes(search.trim().toLowerCase()),
  );

  return (
    <fieldset className={`audience${props.errors.length ? ' field--invalid' : ''}`}>
      <legend>Audience</legend>
      <p className="reach-preview" role="status" aria-live="polite" data-testid="audience-reach">
        Reaches <strong>{reach.stores}</strong> {reach.stores === 1 ? 'store' : 'stores'} ·{' '}
        <strong>{reach.terminals}</strong> {reach.terminals === 1 ? 'terminal' : 'terminals'}
      </p>
      <label className="check">
        <input type="checkbox" checked={!!audience.all} onChange={(e) => set({ all: e.target.checked || undefined })} />
        Every store
      </label>
      {!audience.all && (
        <>
          <div className="audience-group" role="group" aria-label="Regions">
            <strong>Regions</strong>
            {regions.length === 0 && <span className="muted"> none yet</span>}
            <div>
              {regions.map((region) => (
                <label key={region.id} className="check">
                  <input
                    type="checkbox"
                    checked={!!audience.regionIds?.includes(region.id)}
                    onChange={(e) => set({ regionIds: toggle(audience.regionIds, region.id, e.target.checked) })}
                  />
                  {region.name}
                </label>
              ))}
            </div>
          </div>
          {tags.length > 0 && (
            <div className="audience-group" role="group" aria-label="Tags">
              <strong>Tags</strong>
              <div>
                {tags.map((tag) => (
                  <label key={tag} className="check">
                    <input
                      type="checkbox"
                      checked={!!audience.tags?.includes(tag)}
                      onChange={(e) => set({ tags: toggle(audience.tags, tag, e.target.checked) })}
                    />
                    {tag}
                  </label>
                ))}
              </div>
            </div>
          )}
          <div className="audience-group" role="group" aria-label="Stores">
            <strong>Stores</strong>
            <input
              type="search"
              placeholder="Find a store by code or name"
              aria-label="Find a store"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
            <div className="store-picks">
              {matching.slice(0, 50).map((store) => (
                <label key={store.id} className="check">
                  <input
                    type="checkbox"
                    checked={!!audience.storeIds?.includes(store.id)}
                    onChange={(e) => set({ storeIds: toggle(audience.storeIds, store.id, e.target.checked) })}
                  />
                  {store.name} <span className="muted">{store.code}</span>
                </label>
              ))}
              {matching.length > 50 && <span className="muted">…{matching.length - 50} more; narrow the search</span>}
            </div>
          </div>
        </>
      )}
      <div className="audience-group" role="group" aria-label="Roles">
        <strong>Only for roles</strong> <span className="muted">(none = every terminal of those stores)</span>
        <div>
          {STORE_ROLES.map((role) => (
            <label key={role} className="check">
              <input
                type="checkbox"
                checked={!!audience.roles?.includes(role)}
                onChange={(e) => set({ roles: toggle(audience.roles, role, e.target.checked) })}
              />
              {role}
            </label>
          ))}
        </div>
      </div>
      {props.errors.length > 0 && (
        <ul className="field-errors" role="alert">
          {props.errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

function clean(audience: Audience): Audience {
  return Object.fromEntries(Object.entries(audience).filter(([, value]) => value !== undefined)) as Audience;
}
