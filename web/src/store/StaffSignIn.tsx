import { useEffect, useState } from 'react';
import type { StaffList, StaffView } from '@lastmeter/contracts';
import { ApiError, read } from '../shared/api';
import type { Tablet, TabletSnapshot } from './tablet';

/**
 * Who is using this shared tablet (issue 21): the signed-in person with how many items
 * they still have to acknowledge, or "Sign in", which opens the staff picker and the PIN pad.
 */
export function StaffBar({ tablet, state }: { tablet: Tablet; state: TabletSnapshot }) {
  const [picking, setPicking] = useState(false);
  const person = state.person;
  if (person) {
    return (
      <div className="staff-bar" data-testid="staff-bar">
        <strong>{person.name}</strong>
        <span className={`badge${person.toAcknowledge ? ' badge--wait' : ' badge--ok'}`} data-testid="to-acknowledge">
          {person.toAcknowledge === 0
            ? 'All acknowledged'
            : person.toAcknowledge === 1
              ? 'You have 1 to acknowledge'
              : `You have ${person.toAcknowledge} to acknowledge`}
        </span>
        <button type="button" onClick={() => tablet.signOut()}>
          Sign out
        </button>
      </div>
    );
  }
  return (
    <>
      <button type="button" className="primary" onClick={() => setPicking(true)}>
        Sign in
      </button>
      {picking && <StaffPicker tablet={tablet} state={state} onClose={() => setPicking(false)} />}
    </>
  );
}

/** The store's staff by name; a tap opens the PIN pad for that person. */
function StaffPicker({ tablet, state, onClose }: { tablet: Tablet; state: TabletSnapshot; onClose: () => void }) {
  const { device } = state;
  const [staff, setStaff] = useState<StaffView[]>();
  const [error, setError] = useState<string>();
  const [chosen, setChosen] = useState<StaffView>();
  useEffect(() => {
    read<StaffList>(`/v1/stores/${device.storeId}/staff`, device.token).then(
      (list) => setStaff(list.items),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [device]);
  return (
    <div className="modal" role="dialog" aria-modal="true" aria-label="Who are you?">
      <div className="modal-body card stack">
        <h2>{chosen ? chosen.name : 'Who are you?'}</h2>
        {chosen ? (
          <PinPad
            person={chosen}
            onCancel={() => setChosen(undefined)}
            onPin={async (pin) => {
              await tablet.signIn(chosen.id, pin);
              onClose();
            }}
          />
        ) : (
          <>
            {error && (
              <p className="notice notice--error" role="alert">
                {error}
              </p>
            )}
            {!staff ? (
              <p className="empty">Loading…</p>
            ) : staff.length === 0 ? (
              <p className="empty">No staff on this store's roster yet: ask your manager.</p>
            ) : (
              <ul className="staff-picker">
                {staff.map((person) => (
                  <li key={person.id}>
                    <button type="button" className="big" onClick={() => setChosen(person)} disabled={person.locked}>
                      {person.name}
                      {person.locked && <span className="badge badge--danger">Locked</span>}
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <button type="button" className="link" onClick={onClose}>
              Cancel
            </button>
          </>
        )}
      </div>
    </div>
  );
}

/** Four to six digits, entered on big keys; the server's refusal is said plainly. */
function PinPad({
  person,
  onPin,
  onCancel,
}: {
  person: StaffView;
  onPin: (pin: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [pin, setPin] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string>();
  const press = (digit: string) => setPin((current) => (current.length < 6 ? current + digit : current));
  const submit = async () => {
    if (pin.length < 4) return setMessage('A PIN has 4 to 6 digits.');
    setBusy(true);
    try {
      await onPin(pin);
    } catch (error) {
      setPin('');
      setMessage(refusal(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="pin-pad stack" aria-label={`PIN of ${person.name}`}>
      <output className="pin-dots" aria-label="PIN entered" data-testid="pin-dots">
        {'●'.repeat(pin.length) || ' '}
      </output>
      {message && (
        <p className="notice notice--error" role="alert">
          {message}
        </p>
      )}
      <div className="pin-keys">
        {['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((digit) => (
          <button key={digit} type="button" className="big" onClick={() => press(digit)} disabled={busy}>
            {digit}
          </button>
        ))}
        <button type="button" className="big" aria-label="Delete" onClick={() => setPin(pin.slice(0, -1))}>
          ⌫
        </button>
        <button type="button" className="big" onClick={() => press('0')} disabled={busy}>
          0
        </button>
        <button type="button" className="big primary" onClick={() => void submit()} disabled={busy}>
          OK
        </button>
      </div>
      <button type="button" className="link" onClick={onCancel}>
        Not me
      </button>
    </div>
  );
}

function refusal(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  const body = error.body as { attemptsLeft?: number };
  if (error.status === 401 && typeof body.attemptsLeft === 'number') {
    return `Wrong PIN. ${body.attemptsLeft === 1 ? '1 try left' : `${body.attemptsLeft} tries left`} before you are locked out.`;
  }
  if (error.status === 423) return 'Locked after too many wrong PINs: ask your manager to unlock you.';
  if (error.status === 429) return 'Too many wrong PINs on this tablet: wait a few minutes.';
  return error.message;
}
