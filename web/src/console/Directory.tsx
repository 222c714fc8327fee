import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { STORE_ROLES, USER_ROLES, type TerminalRegistration, type UserRole } from '@lastmeter/contracts';
import { write } from '../shared/api';
import { when } from '../shared/format';
import { Badge, ErrorNotice, Field, fieldErrors } from '../shared/ui';
import {
  useRegions,
  useSessionToken,
  useStorePage,
  useStoresById,
  useTerminals,
  useUsers,
  type StoreFilter,
} from '../shared/data';
import { StorePicker, StoreSearch } from './StoreSearch';

/** Regions, stores and terminals; head-office admins create them and hand out enrollment codes. */
export function Directory() {
  const session = useSessionToken();
  const admin = session.role === 'hq-admin';
  return (
    <div className="stack">
      <h1>Directory</h1>
      {!admin && <p className="muted">Only an hq-admin changes the directory.</p>}
      <div className="split">
        <Regions admin={admin} />
        <Stores admin={admin} />
      </div>
      <Terminals admin={admin} />
      {admin && <People />}
    </div>
  );
}

/** Submits to the write API and refreshes the directory once the read side has it. */
function useDirectoryWrite(keys: string[]) {
  const session = useSessionToken();
  const client = useQueryClient();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async <T,>(
    method: 'POST' | 'DELETE' | 'PATCH',
    path: string,
    body?: unknown,
  ): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await write<T>(method, path, { token: session.token, body });
      // The projector follows within moments; refresh a few times so the new row shows up.
      for (const delay of [150, 600, 1500]) {
        setTimeout(() => keys.forEach((key) => void client.invalidateQueries({ queryKey: [key] })), delay);
      }
      return result;
    } catch (caught) {
      setError(caught);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { submit, error, busy };
}

function Regions({ admin }: { admin: boolean }) {
  const regions = useRegions().data?.items ?? [];
  const { submit, error, busy } = useDirectoryWrite(['regions']);
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (await submit('POST', '/v1/regions', { code, name })) {
      setCode('');
      setName('');
    }
  };
  return (
    <section className="card stack" aria-label="Regions">
      <h2>Regions</h2>
      <table>
        <tbody>
          {regions.map((region) => (
            <tr key={region.id}>
              <td>{region.name}</td>
              <td className="muted">{region.code}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <form onSubmit={create} aria-label="New region">
          <div className="row">
            <Field label="Code" errors={fieldErrors(error, 'code')}>
              {(id) => <input id={id} value={code} onChange={(e) => setCode(e.target.value)} />}
            </Field>
            <Field label="Name" errors={fieldErrors(error, 'name')}>
              {(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
          </div>
          <ErrorNotice error={error} shownFields={['code', 'name']} />
          <button type="submit" disabled={busy}>
            Add region
          </button>
        </form>
      )}
    </section>
  );
}

/** Stores a page at a time, searched and filtered on the server: a directory of 50,000 stays quick. */
function Stores({ admin }: { admin: boolean }) {
  const regions = useRegions().data?.items ?? [];
  const [filter, setFilter] = useState<StoreFilter>({});
  // The cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const page = useStorePage(filter, cursors.at(-1));
  const stores = page.data?.items ?? [];
  const filterBy = (patch: StoreFilter) => {
    setFilter({ ...filter, ...patch });
    setCursors([undefined]);
  };
  const { submit, error, busy } = useDirectoryWrite(['stores']);
  const [form, setForm] = useState({ code: '', name: '', regionId: '', tags: '', timezone: '' });
  const create = async (event: FormEvent) => {
    event.preventDefault();
    const tags = form.tags
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean);
    const body = {
      code: form.code,
      name: form.name,
      regionId: form.regionId,
      ...(tags.length ? { tags } : {}),
      ...(form.timezone ? { timezone: form.timezone } : {}),
    };
    if (await submit('POST', '/v1/stores', body)) setForm({ code: '', name: '', regionId: '', tags: '', timezone: '' });
  };
  const regionName = (id: string) => regions.find((r) => r.id === id)?.name ?? '—';
  return (
    <section className="card stack" aria-label="Stores">
      <h2>Stores</h2>
      <StoreSearch filter={filter} onChange={filterBy} withTag />
      <ErrorNotice error={page.error} />
      <table data-testid="store-table">
        <thead>
          <tr>
            <th>Store</th>
            <th>Region</th>
            <th>Tags</th>
          </tr>
        </thead>
        <tbody>
          {stores.map((store) => (
            <tr key={store.id}>
              <td>
                {store.name} <span className="muted">{store.code}</span>
              </td>
              <td>{regionName(store.regionId)}</td>
              <td>{store.tags.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager" aria-label="Store pages">
        <span className="muted" data-testid="store-page">
          {page.isPlaceholderData || !page.data
            ? 'Loading…'
            : stores.length === 0
              ? 'No store matches.'
              : `Page ${cursors.length} · ${stores.length} stores${page.data?.next ? ' · more after' : ''}`}
        </span>
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page.data?.next || page.isPlaceholderData}
          onClick={() => page.data?.next && !page.isPlaceholderData && setCursors([...cursors, page.data.next])}
        >
          Next page
        </button>
      </div>
      {admin && (
        <form onSubmit={create} aria-label="New store">
          <div className="row">
            <Field label="Code" errors={fieldErrors(error, 'code')}>
              {(id) => <input id={id} value={form.code} onChange={(e) => setForm({ ...form, code: e.target.value })} />}
            </Field>
            <Field label="Name" errors={fieldErrors(error, 'name')}>
              {(id) => <input id={id} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}
            </Field>
          </div>
          <div className="row">
            <Field label="Region" errors={fieldErrors(error, 'regionId')}>
              {(id) => (
                <select id={id} value={form.regionId} onChange={(e) => setForm({ ...form, regionId: e.target.value })}>
                  <option value="">Choose…</option>
                  {regions.map((region) => (
                    <option key={region.id} value={region.id}>
                      {region.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Tags" hint="comma-separated" errors={fieldErrors(error, 'tags')}>
              {(id) => <input id={id} value={form.tags} onChange={(e) => setForm({ ...form, tags: e.target.value })} />}
            </Field>
            <Field label="Time zone" hint="e.g. Europe/Paris" errors={fieldErrors(error, 'timezone')}>
              {(id) => (
                <input id={id} value={form.timezone} onChange={(e) => setForm({ ...form, timezone: e.target.value })} />
              )}
            </Field>
          </div>
          <ErrorNotice error={error} shownFields={['code', 'name', 'regionId', 'tags', 'timezone']} />
          <button type="submit" disabled={busy}>
            Add store
          </button>
        </form>
      )}
    </section>
  );
}

function Terminals({ admin }: { admin: boolean }) {
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const page = useTerminals(cursors.at(-1), 50);
  const terminals = page.data?.items ?? [];
  // Names of the stores of the terminals on this page only.
  const stores = useStoresById(terminals.map((terminal) => terminal.storeId));
  const { submit, error, busy } = useDirectoryWrite(['terminals']);
  const [form, setForm] = useState({ storeId: '', storeName: '', name: '', roles: [] as string[] });
  const [issued, setIssued] = useState<TerminalRegistration & { storeName: string }>();
  const register = async (event: FormEvent) => {
    event.preventDefault();
    const result = await submit<TerminalRegistration>('POST', '/v1/terminals', {
      storeId: form.storeId,
      ...(form.name ? { name: form.name } : {}),
      ...(form.roles.length ? { roles: form.roles } : {}),
    });
    if (result) {
      setIssued({ ...result, storeName: form.storeName });
      setForm({ ...form, name: '', roles: [] });
    }
  };
  const storeName = (id: string) => stores.get(id)?.name ?? id.slice(0, 8);
  return (
    <section className="card stack" aria-label="Terminals">
      <h2>Terminals</h2>
      {issued && (
        <div className="notice notice--ok" role="status">
          Enrollment code for a new terminal in {issued.storeName}:{' '}
          <span className="big-code" data-testid="enrollment-code">
            {issued.enrollmentCode}
          </span>
          <div>
            Type it on the tablet at <code>{location.origin}/store/</code>. It works once, until{' '}
            {when(issued.expiresAt)}.
          </div>
        </div>
      )}
      <table>
        <thead>
          <tr>
            <th>Terminal</th>
            <th>Store</th>
            <th>Roles</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {terminals.map((terminal) => (
            <tr key={terminal.id}>
              <td>{terminal.name || terminal.id.slice(0, 8)}</td>
              <td>{storeName(terminal.storeId)}</td>
              <td>{terminal.roles.join(', ') || <span className="muted">shared</span>}</td>
              <td>
                <Badge tone={terminal.status === 'enrolled' ? 'ok' : terminal.status === 'revoked' ? 'muted' : 'wait'}>
                  {terminal.status}
                </Badge>
              </td>
              <td>
                {admin && terminal.status !== 'revoked' && (
                  <button
                    type="button"
                    className="link"
                    onClick={() =>
                      confirm(`Revoke ${terminal.name || 'this terminal'}? It is disconnected at once.`) &&
                      void submit('DELETE', `/v1/terminals/${terminal.id}`)
                    }
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager" aria-label="Terminal pages">
        <span className="muted">Page {cursors.length}</span>
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous terminals
        </button>
        <button
          type="button"
          disabled={!page.data?.next || page.isPlaceholderData}
          onClick={() => page.data?.next && !page.isPlaceholderData && setCursors([...cursors, page.data.next])}
        >
          Next terminals
        </button>
      </div>
      {admin && (
        <form onSubmit={register} aria-label="New terminal">
          <div className="row">
            <Field label="Store" errors={fieldErrors(error, 'storeId')}>
              {(id) => (
                <StorePicker
                  id={id}
                  label="Store"
                  value={form.storeId}
                  onChange={(storeId, store) => setForm({ ...form, storeId, storeName: store?.name ?? '' })}
                />
              )}
            </Field>
            <Field label="Name" errors={fieldErrors(error, 'name')}>
              {(id) => (
                <input
                  id={id}
                  value={form.name}
                  placeholder="Till 2"
                  onChange={(e) => setForm({ ...form, name: e.target.value })}
                />
              )}
            </Field>
          </div>
          <div role="group" aria-label="Roles" className="field">
            <strong>Roles</strong> <span className="muted">(none = shared store tablet)</span>
            <div>
              {STORE_ROLES.map((role) => (
                <label key={role} className="check">
                  <input
                    type="checkbox"
                    checked={form.roles.includes(role)}
                    onChange={(e) =>
                      setForm({
                        ...form,
                        roles: e.target.checked ? [...form.roles, role] : form.roles.filter((r) => r !== role),
                      })
                    }
                  />
                  {role}
                </label>
              ))}
            </div>
          </div>
          <ErrorNotice error={error} shownFields={['storeId', 'name', 'roles']} />
          <button type="submit" disabled={busy}>
            Register terminal and get a code
          </button>
        </form>
      )}
    </section>
  );
}

/**
 * People (hq-admin): create accounts, disable a manager who left (their tokens and open
 * consoles stop at once), enable again, reset a password, change a role.
 */
function People() {
  const users = useUsers().data?.items ?? [];
  // Names of the stores the listed users work in, looked up by id.
  const stores = useStoresById(users.map((user) => user.storeId));
  const { submit, error, busy } = useDirectoryWrite(['users']);
  const [form, setForm] = useState({ username: '', password: '', role: 'hq-editor' as UserRole, storeId: '' });
  const [notice, setNotice] = useState<string>();
  const storeName = (id?: string) => (id ? (stores.get(id)?.name ?? id.slice(0, 8)) : '');
  const create = async (event: FormEvent) => {
    event.preventDefault();
    const created = await submit('POST', '/v1/users', {
      username: form.username,
      password: form.password,
      role: form.role,
      ...(form.role === 'store-manager' ? { storeId: form.storeId } : {}),
    });
    if (created) {
      setNotice(`${form.username} can now sign in.`);
      setForm({ ...form, username: '', password: '' });
    }
  };
  const reset = async (id: string, username: string) => {
    const password = prompt(`New password for ${username} (at least 8 characters). Their sessions end at once.`);
    if (password && (await submit('POST', `/v1/users/${id}/password`, { password }))) {
      setNotice(`${username}'s password was reset; tell them the new one in person.`);
    }
  };
  return (
    <section className="card stack" aria-label="People">
      <h2>People</h2>
      {notice && (
        <div className="notice notice--ok" role="status">
          {notice}
        </div>
      )}
      <table>
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
            <th>Store</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id} data-username={user.username}>
              <td>{user.username}</td>
              <td>{user.role}</td>
              <td>{storeName(user.storeId)}</td>
              <td>
                <Badge tone={user.disabled ? 'muted' : 'ok'}>{user.disabled ? 'disabled' : 'active'}</Badge>
              </td>
              <td>
                {user.disabled ? (
                  <button
                    type="button"
                    className="link"
                    onClick={() => void submit('POST', `/v1/users/${user.id}/enable`, {})}
                  >
                    Enable
                  </button>
                ) : (
                  <button
                    type="button"
                    className="link"
                    onClick={() =>
                      confirm(`Disable ${user.username}? They are signed out everywhere at once.`) &&
                      void submit('POST', `/v1/users/${user.id}/disable`, {})
                    }
                  >
                    Disable
                  </button>
                )}{' '}
                <button type="button" className="link" onClick={() => void reset(user.id, user.username)}>
                  Reset password
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={create} aria-label="New user">
        <div className="row">
          <Field label="New username" errors={fieldErrors(error, 'username')}>
            {(id) => (
              <input id={id} value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} />
            )}
          </Field>
          <Field label="Initial password" errors={fieldErrors(error, 'password')}>
            {(id) => (
              <input
                id={id}
                type="password"
                autoComplete="new-password"
                value={form.password}
                onChange={(e) => setForm({ ...form, password: e.target.value })}
              />
            )}
          </Field>
          <Field label="Role" errors={fieldErrors(error, 'role')}>
            {(id) => (
              <select
                id={id}
                value={form.role}
                onChange={(e) => setForm({ ...form, role: e.target.value as UserRole })}
              >
                {USER_ROLES.map((role) => (
                  <option key={role} value={role}>
                    {role}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {form.role === 'store-manager' && (
            <Field label="Their store" errors={fieldErrors(error, 'storeId')}>
              {(id) => (
                <StorePicker
                  id={id}
                  label="Their store"
                  value={form.storeId}
                  onChange={(storeId) => setForm({ ...form, storeId })}
                />
              )}
            </Field>
          )}
        </div>
        <ErrorNotice error={error} shownFields={['username', 'password', 'role', 'storeId']} />
        <button type="submit" disabled={busy}>
          Create user
        </button>
      </form>
    </section>
  );
}
