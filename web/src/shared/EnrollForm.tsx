import { useState, type FormEvent } from 'react';
import type { EnrollResult } from '@lastmeter/contracts';
import { write } from './api';
import { ErrorNotice, Field, fieldErrors } from './ui';

/** What a device keeps of its enrollment: its token, and whose it is. */
export interface EnrolledDevice {
  token: string;
  terminalId: string;
  storeId: string;
}

/**
 * A device's first start (the store tablet, the break-room screen): the one-time code
 * head office gave → the device token (`POST /v1/terminals/enroll`).
 */
export function EnrollForm(props: {
  className: string;
  title: string;
  intro: string;
  /** The button's label ("Enroll tablet"). */
  action: string;
  onEnrolled: (device: EnrolledDevice) => void;
}) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const result = await write<EnrollResult>('POST', '/v1/terminals/enroll', { body: { code: code.trim() } });
      props.onEnrolled({ token: result.token, terminalId: result.terminalId, storeId: result.storeId });
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className={`login ${props.className}`}>
      <form className="card login-card" onSubmit={submit} aria-labelledby="enroll-title">
        <h1 id="enroll-title">{props.title}</h1>
        <p className="muted">{props.intro}</p>
        <Field label="Enrollment code" errors={fieldErrors(error, 'code')}>
          {(id, describedBy) => (
            <input
              id={id}
              aria-describedby={describedBy}
              className="code-input"
              value={code}
              onChange={(e) => setCode(e.target.value)}
              autoComplete="one-time-code"
              autoCapitalize="characters"
              spellCheck={false}
              required
              autoFocus
            />
          )}
        </Field>
        <ErrorNotice error={error} shownFields={['code']} />
        <button className="primary" type="submit" disabled={busy}>
          {busy ? 'Enrolling…' : props.action}
        </button>
      </form>
    </main>
  );
}
