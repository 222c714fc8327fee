import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { STORE_ROLES, type StaffList, type StaffView, type StoreRole } from '@lastmeter/contracts';
import { useCommand, useRead, useSessionToken } from '../shared/data';
import { ErrorNotice, Field, fieldErrors } from '../shared/ui';
import { StorePicker } from './StoreSearch';

/**
 * A store's staff (issue 21): who works there, their store roles and PIN. Head office
 * (hq-admin) picks any store; a store manager sees their own. Removing keeps a person's
 * history under their name; erasing (hq-admin) deletes their personal data for good.
 */
export function Staff() {
  const session = useSessionToken();
  const [storeId, setStoreId] = useState(session.storeId ?? '');
  return (
    <div className="stack">
      <h2>Staff</h2>
      {session.role === 'hq-admin' && (
        <Field label="Store">
          {(id) => <StorePicker id={id} label="Store" value={storeId} onChange={setStoreId} />}
        </Field>
      )}
      {storeId ? <Roster storeId={storeId} /> : <p className="empty">Choose a store to see its staff.</p>}
    </div>
  );
}

function Roster({ storeId }: { storeId: string }) {
  const session = useSessionToken();
  const [all, setAll] = useState(false);
  const roster = useRead<StaffList>(['staff', storeId, all], `/v1/stores/${storeId}/staff${all ? '?all=true' : ''}`);
  const [editing, setEditing] = useState<StaffView>();
  const people = roster.data?.items ?? [];
  return (
    <section aria-label="Roster" className="stack">
      <AddStaff storeId={storeId} />
      <label className="check">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
        Show people who left and erased people
      </label>
      <ErrorNotice error={roster.error} />
      {people.length === 0 ? (
        <p className="empty">{roster.isLoading ? 'Loading…' : 'No staff yet.'}</p>
      ) : (
        <table className="table" aria-label="Staff">
          <thead>
            <tr>
              <th>Name</th>
              <th>Roles</th>
              <th>Status</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {people.map((person) => (
              <tr key={person.id} data-staff-id={person.id}>
                <td>{person.name}</td>
                <td>{person.roles.join(', ')}</td>
                <td>
                  {person.status === 'active' ? (
                    person.locked ? (
                      <span className="badge badge--danger">Locked</span>
                    ) : (
                      <span className="badge badge--ok">Active</span>
                    )
                  ) : (
                    <span className="badge">{person.status === 'removed' ? 'Left' : 'Erased'}</span>
                  )}
                </td>
                <td>
                  <PersonActions
                    person={person}
                    canErase={session.role === 'hq-admin'}
                    onEdit={() => setEditing(person)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && <EditStaff person={editing} onDone={() => setEditing(undefined)} />}
    </section>
  );
}

function useRefreshRoster(storeId: string) {
  const client = useQueryClient();
  // The projector usually follows a command within milliseconds, under load within
  // seconds: read again a moment later, and again later still.
  return () => {
    for (const ms of [0, 300, 1_000, 3_000]) {
      setTimeout(() => void client.invalidateQueries({ queryKey: ['staff', storeId] }), ms);
    }
  };
}

function PersonActions({ person, canErase, onEdit }: { person: StaffView; canErase: boolean; onEdit: () => void }) {
  const command = useCommand();
  const refresh = useRefreshRoster(person.storeId);
  const [error, setError] = useState<unknown>();
  const run = (method: 'POST' | 'DELETE', path: string, body: object = {}) =>
    command(method, path, { body }).then(refresh, setError);
  return (
    <div className="actions">
      {person.status === 'active' && (
        <>
          <button type="button" onClick={onEdit}>
            Edit
          </button>
          {person.locked && (
            <button
              type="button"
              onClick={() => void run('POST', `/v1/stores/${person.storeId}/staff/${person.id}/unlock`)}
            >
              Unlock
            </button>
          )}
          <button
            type="button"
            onClick={() =>
              confirm(`${person.name} left the store? Their history stays under their name.`) &&
              void run('DELETE', `/v1/stores/${person.storeId}/staff/${person.id}`)
            }
          >
            Remove
          </button>
        </>
      )}
      {canErase && person.status !== 'erased' && (
        <button
          type="button"
          className="danger"
          onClick={() =>
            confirm(
              `Erase ${person.name}'s personal data? Their name is gone from every screen, export and replay, for good.`,
            ) && void run('DELETE', `/v1/staff/${person.id}/personal-data`)
          }
        >
          Erase
        </button>
      )}
      <ErrorNotice error={error} />
    </div>
  );
}

function RolesField({
  value,
  onChange,
  errors,
}: {
  value: StoreRole[];
  onChange: (roles: StoreRole[]) => void;
  errors: string[];
}) {
  return (
    <fieldset className="roles-field">
      <legend>Roles</legend>
      {STORE_ROLES.map((role) => (
        <label key={role} className="check">
          <input
            type="checkbox"
            checked={value.includes(role)}
            onChange={(e) => onChange(e.target.checked ? [...value, role] : value.filter((r) => r !== role))}
          />
          {role}
        </label>
      ))}
      {errors.length > 0 && (
        <ul className="field-errors" role="alert">
          {errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

/** A PIN, never shown back and never autofilled: the same field to add and to edit. */
function PinField({
  label,
  hint,
  value,
  onChange,
  errors,
}: {
  label: string;
  hint: string;
  value: string;
  onChange: (pin: string) => void;
  errors: string[];
}) {
  return (
    <Field label={label} hint={hint} errors={errors}>
      {(id) => (
        <input
          id={id}
          inputMode="numeric"
          autoComplete="off"
          value={value}
          maxLength={6}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

function AddStaff({ storeId }: { storeId: string }) {
  const command = useCommand();
  const refresh = useRefreshRoster(storeId);
  const [name, setName] = useState('');
  const [roles, setRoles] = useState<StoreRole[]>([]);
  const [pin, setPin] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await command('POST', `/v1/stores/${storeId}/staff`, { body: { name: name.trim(), roles, pin } });
      setName('');
      setRoles([]);
      setPin('');
      setError(undefined);
      refresh();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form className="card stack" onSubmit={(e) => void submit(e)} aria-label="Add a person">
      <h3>Add a person</h3>
      <div className="row">
        <Field label="Name" errors={fieldErrors(error, 'name')}>
          {(id) => <input id={id} value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <PinField
          label="PIN"
          hint="4 to 6 digits: tell it to the person"
          value={pin}
          onChange={setPin}
          errors={fieldErrors(error, 'pin')}
        />
      </div>
      <RolesField value={roles} onChange={setRoles} errors={fieldErrors(error, 'roles')} />
      <ErrorNotice error={error} shownFields={['name', 'pin', 'roles']} />
      <div className="actions">
        <button type="submit" className="primary">
          Add
        </button>
      </div>
    </form>
  );
}

function EditStaff({ person, onDone }: { person: StaffView; onDone: () => void }) {
  const command = useCommand();
  const refresh = useRefreshRoster(person.storeId);
  const [name, setName] = useState(person.name);
  const [roles, setRoles] = useState<StoreRole[]>(person.roles);
  const [pin, setPin] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body = {
      ...(name.trim() !== person.name ? { name: name.trim() } : {}),
      ...(roles.join() !== person.roles.join() ? { roles } : {}),
      ...(pin ? { pin } : {}),
    };
    try {
      await command('PATCH', `/v1/stores/${person.storeId}/staff/${person.id}`, { body, ifMatch: person.version });
      refresh();
      onDone();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form className="card stack" onSubmit={(e) => void submit(e)} aria-label={`Edit ${person.name}`}>
      <h3>Edit {person.name}</h3>
      <Field label="Name" errors={fieldErrors(error, 'name')}>
        {(id) => <input id={id} value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <RolesField value={roles} onChange={setRoles} errors={fieldErrors(error, 'roles')} />
      <PinField
        label="New PIN"
        hint="leave empty to keep the current one"
        value={pin}
        onChange={setPin}
        errors={fieldErrors(error, 'pin')}
      />
      <ErrorNotice error={error} shownFields={['name', 'pin', 'roles']} />
      <div className="actions">
        <button type="submit" className="primary">
          Save
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
