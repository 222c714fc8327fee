import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from './api';
import { login, type Session } from './session';

/** Every field-level message of a failed request, by field (`title`, `audience.regionIds`, …). */
export function fieldsOf(error: unknown): Record<string, string[]> {
  return error instanceof ApiError ? (error.body.fields ?? {}) : {};
}

/** Field-level messages of a failed request, for one form field. */
export function fieldErrors(error: unknown, ...names: string[]): string[] {
  const fields = fieldsOf(error);
  return names.flatMap((name) => fields[name] ?? []);
}

export function Field(props: {
  label: string;
  hint?: string;
  errors?: string[];
  children: (id: string, describedBy?: string) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-errors`;
  const invalid = !!props.errors?.length;
  return (
    <div className={`field${invalid ? ' field--invalid' : ''}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, invalid ? errorId : undefined)}
      {props.hint && !invalid && <small className="hint">{props.hint}</small>}
      {invalid && (
        <ul className="field-errors" id={errorId} role="alert">
          {props.errors!.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Messages of a group of fields (a fieldset's), announced when they appear. */
export function FieldErrorList({ errors }: { errors: string[] }) {
  if (errors.length === 0) return null;
  return (
    <ul className="field-errors" role="alert">
      {errors.map((message) => (
        <li key={message}>{message}</li>
      ))}
    </ul>
  );
}

/** A failed request, said plainly; per-field messages not shown next to a field are listed. */
export function ErrorNotice({ error, shownFields = [] }: { error: unknown; shownFields?: string[] }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const other =
    error instanceof ApiError
      ? Object.entries(error.body.fields ?? {}).filter(([field]) => !shownFields.includes(field))
      : [];
  return (
    <div className="notice notice--error" role="alert">
      <strong>{error instanceof ApiError && error.status ? `${error.status}: ` : ''}</strong>
      {message}
      {other.length > 0 && (
        <ul>
          {other.map(([field, messages]) => (
            <li key={field}>
              <code>{field}</code> {messages.join('; ')}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Badge({ tone = 'neutral', children }: { tone?: string; children: ReactNode }) {
  return <span className={`badge badge--${tone}`}>{children}</span>;
}

export const STATUS_TONE: Record<string, string> = {
  drafted: 'neutral',
  submitted: 'info',
  approved: 'info',
  rejected: 'danger',
  scheduled: 'info',
  published: 'ok',
  retracted: 'muted',
  expired: 'muted',
};

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** Tabs as buttons (arrow keys move between them), the chosen one kept in the URL hash. */
export function Tabs<T extends string>(props: {
  tabs: Array<{ id: T; label: string; badge?: number }>;
  current: T;
  onChange: (id: T) => void;
  label: string;
}) {
  return (
    <nav className="tabs" role="tablist" aria-label={props.label}>
      {props.tabs.map((tab, i) => (
        <button
          key={tab.id}
          role="tab"
          type="button"
          id={`tab-${tab.id}`}
          aria-selected={tab.id === props.current}
          tabIndex={tab.id === props.current ? 0 : -1}
          onClick={() => props.onChange(tab.id)}
          onKeyDown={(event) => {
            const step =
              event.key === 'ArrowRight' || event.key === 'ArrowDown'
                ? 1
                : event.key === 'ArrowLeft' || event.key === 'ArrowUp'
                  ? -1
                  : 0;
            if (!step) return;
            event.preventDefault();
            const next = props.tabs[(i + step + props.tabs.length) % props.tabs.length];
            props.onChange(next.id);
            document.getElementById(`tab-${next.id}`)?.focus();
          }}
        >
          {tab.label}
          {!!tab.badge && <span className="tab-count">{tab.badge}</span>}
        </button>
      ))}
    </nav>
  );
}

export function LoginForm(props: {
  title: string;
  subtitle: string;
  onLogin: (session: Session) => void;
  allowed?: string[];
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await login(username, password);
      if (props.allowed && !props.allowed.includes(session.role)) {
        throw new Error(`A ${session.role} account cannot use this page.`);
      }
      props.onLogin(session);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{props.title}</h1>
        <p className="muted">{props.subtitle}</p>
        <Field label="Username" errors={fieldErrors(error, 'username')}>
          {(id) => (
            <input
              id={id}
              autoComplete="username"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              required
              autoFocus
            />
          )}
        </Field>
        <Field label="Password" errors={fieldErrors(error, 'password')}>
          {(id) => (
            <input
              id={id}
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          )}
        </Field>
        <ErrorNotice error={error} shownFields={['username', 'password']} />
        <button className="primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

export function AppHeader(props: { product: string; session?: Session; onLogout?: () => void; children?: ReactNode }) {
  return (
    <header className="app-header">
      <div className="brand">
        <span className="brand-mark" aria-hidden>
          ▍
        </span>
        Last Meter <span className="brand-product">{props.product}</span>
      </div>
      <div className="header-right">
        {props.children}
        {props.session && (
          <>
            <span className="who">
              {props.session.username} <Badge>{props.session.role}</Badge>
            </span>
            <button type="button" className="link" onClick={props.onLogout}>
              Sign out
            </button>
          </>
        )}
      </div>
    </header>
  );
}
