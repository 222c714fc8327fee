import { useState } from 'react';
import { STORE_ROLES, type Audience, type StoreView } from '@lastmeter/contracts';
import { useAudienceCount, useRegions, useStorePage, useStoresById } from '../shared/data';
import { FieldErrorList } from '../shared/ui';

function toggle<T>(list: T[] | undefined, value: T, on: boolean): T[] | undefined {
  const next = (list ?? []).filter((v) => v !== value);
  if (on) next.push(value);
  return next.length ? next : undefined;
}

/**
 * All / regions / stores / tags combine as a union; roles narrow which terminals of the
 * targeted stores show the content. The count comes from the server
 * (`GET /v1/audience/count`, the planner's rule in libs/domain), and stores are found by
 * a server-side search, so the picker stays small at 50,000 stores.
 */
export function AudiencePicker(props: { value: Audience; onChange: (audience: Audience) => void; errors: string[] }) {
  const regions = useRegions().data?.items ?? [];
  const [search, setSearch] = useState('');
  const [tagInput, setTagInput] = useState('');
  // Names of the stores picked in this session; the others (a draft's) are looked up by id.
  const [picked, setPicked] = useState<Map<string, StoreView>>(new Map());
  const audience = props.value;
  const known = useStoresById((audience.storeIds ?? []).filter((id) => !picked.has(id)));
  const set = (patch: Partial<Audience>) => props.onChange(clean({ ...audience, ...patch }));
  const count = useAudienceCount(audience);
  const reach = count.data;
  const matching = useStorePage({ q: search.trim() || undefined }, undefined, 20);
  // Tags offered: those of the first page of the directory (the Directory tab's, cached) and of the
  // stores found by the search, plus any typed in; never the whole directory's.
  const firstPage = useStorePage({}, undefined);
  const tags = [
    ...new Set([
      ...(firstPage.data?.items ?? []).flatMap((store) => store.tags),
      ...(search.trim() ? (matching.data?.items ?? []) : []).flatMap((store) => store.tags),
      ...(audience.tags ?? []),
    ]),
  ].sort();
  const storeName = (id: string) => {
    const store = picked.get(id) ?? known.get(id);
    return store ? `${store.name} (${store.code})` : id.slice(0, 8);
  };
  const pick = (store: StoreView, on: boolean) => {
    if (on) setPicked(new Map(picked).set(store.id, store));
    set({ storeIds: toggle(audience.storeIds, store.id, on) });
  };
  const addTag = () => {
    const tag = tagInput.trim();
    if (tag) set({ tags: toggle(audience.tags, tag, true) });
    setTagInput('');
  };

  return (
    <fieldset className={`audience${props.errors.length ? ' field--invalid' : ''}`}>
      <legend>Audience</legend>
      <p className="reach-preview" role="status" aria-live="polite" data-testid="audience-reach">
        {reach ? (
          <>
            Reaches <strong>{reach.stores}</strong> {reach.stores === 1 ? 'store' : 'stores'} ·{' '}
            <strong>{reach.terminals}</strong> {reach.terminals === 1 ? 'terminal' : 'terminals'}
          </>
        ) : (
          <span className="muted">Counting…</span>
        )}
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
              <input
                aria-label="Add a tag"
                placeholder="another tag"
                value={tagInput}
                onChange={(e) => setTagInput(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    addTag();
                  }
                }}
              />
            </div>
          </div>
          <div className="audience-group" role="group" aria-label="Stores">
            <strong>Stores</strong>
            <input
              type="search"
              placeholder="Find a store by code or name"
              aria-label="Find a store"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
            {(audience.storeIds?.length ?? 0) > 0 && (
              <div className="store-picks" aria-label="Picked stores">
                {audience.storeIds!.map((id) => (
                  <label key={id} className="check">
                    <input
                      type="checkbox"
                      checked
                      onChange={() => set({ storeIds: toggle(audience.storeIds, id, false) })}
                    />
                    {storeName(id)}
                  </label>
                ))}
              </div>
            )}
            {search.trim() && (
              <div className="store-picks" aria-label="Matching stores">
                {(matching.data?.items ?? [])
                  .filter((store) => !audience.storeIds?.includes(store.id))
                  .map((store) => (
                    <label key={store.id} className="check">
                      <input type="checkbox" checked={false} onChange={(e) => pick(store, e.target.checked)} />
                      {store.name} <span className="muted">{store.code}</span>
                    </label>
                  ))}
                {matching.data?.next && <span className="muted">…more; narrow the search</span>}
                {matching.data?.items.length === 0 && <span className="muted">No store matches.</span>}
              </div>
            )}
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
      <FieldErrorList errors={props.errors} />
    </fieldset>
  );
}

function clean(audience: Audience): Audience {
  return Object.fromEntries(Object.entries(audience).filter(([, value]) => value !== undefined)) as Audience;
}
