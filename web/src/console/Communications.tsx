import { isEditor } from '@lastmeter/domain';
import { useState } from 'react';
import { COMMUNICATION_STATUSES, type CommunicationView, type FeedCommunication } from '@lastmeter/contracts';
import { FeedCard } from '../shared/FeedCard';
import { fromLocalInput, when } from '../shared/format';
import { Badge, Empty, ErrorNotice, Field, fieldErrors, STATUS_TONE } from '../shared/ui';
import { useCommand, useCommunication, useCommunications, useNamesFor, useSessionToken } from '../shared/data';
import { ReachBoard } from './ReachBoard';
import { SurveyResultsPanel } from './SurveyResults';
import { TaskEvidence } from './TaskEvidence';

export function Communications(props: {
  selected?: string;
  onSelect: (id: string | undefined) => void;
  onRevise: (communication: CommunicationView) => void;
}) {
  const [status, setStatus] = useState<string>('');
  const list = useCommunications(status || undefined);
  const items = list.data?.items ?? [];
  return (
    <div className="split">
      <section aria-label="Catalogue">
        <div className="section-head">
          <h1>Communications</h1>
          <label>
            <span className="visually-hidden">Status</span>
            <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Filter by status">
              <option value="">Every status</option>
              {COMMUNICATION_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorNotice error={list.error} />
        {items.length === 0 && !list.isLoading ? (
          <Empty>No communications{status ? ` ${status}` : ''} yet. Compose one.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Title</th>
                <th>Kind</th>
                <th>Status</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr
                  key={c.id}
                  className="selectable"
                  aria-selected={c.id === props.selected}
                  onClick={() => props.onSelect(c.id)}
                >
                  <td>
                    <button type="button" className="link row-link" onClick={() => props.onSelect(c.id)}>
                      {c.title}
                    </button>
                    {c.priority !== 'normal' && <Badge tone="danger">{c.priority}</Badge>}
                    {c.delivery === 'next-brief' && <Badge tone="info">daily brief</Badge>}
                  </td>
                  <td>{c.kind}</td>
                  <td>
                    <Badge tone={STATUS_TONE[c.status]}>{c.status}</Badge>
                  </td>
                  <td>{when(c.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {props.selected ? (
        <Detail id={props.selected} onRevise={props.onRevise} />
      ) : (
        <Empty>Pick a communication to see it, act on it and watch its reach live.</Empty>
      )}
    </div>
  );
}

function asFeed(c: CommunicationView): FeedCommunication {
  return {
    id: c.id,
    revision: c.revision,
    kind: c.kind as FeedCommunication['kind'],
    title: c.title,
    body: c.body,
    priority: c.priority as FeedCommunication['priority'],
    roles: c.audience.roles,
    dueAt: c.dueAt,
    evidence: c.evidence as FeedCommunication['evidence'],
    questions: c.questions,
    attachments: c.attachments,
    cover: c.cover,
    expiresAt: c.expiresAt,
  };
}

function Detail({ id, onRevise }: { id: string; onRevise: (c: CommunicationView) => void }) {
  const { data: c, error } = useCommunication(id);
  const { token } = useSessionToken();
  // Names of the audience's stores only (at most 200), looked up by id.
  const names = useNamesFor(c?.audience.storeIds ?? []);
  if (error) return <ErrorNotice error={error} />;
  if (!c) return <p className="muted">Loading…</p>;
  const audience = c.audience;
  return (
    <section className="stack" aria-label="Communication">
      <div className="card stack">
        <div className="section-head">
          <h2>{c.title}</h2>
          <Badge tone={STATUS_TONE[c.status]}>{c.status}</Badge>
        </div>
        {c.rejectionReason && (
          <div className="notice notice--error" role="note">
            Rejected: {c.rejectionReason}
          </div>
        )}
        <dl className="facts">
          <dt>Revision</dt>
          <dd>
            {c.revision} <span className="muted">(version {c.version})</span>
          </dd>
          <dt>By</dt>
          <dd>{c.author?.role ?? '—'}</dd>
          <dt>Audience</dt>
          <dd>
            {audience.all
              ? 'every store'
              : [
                  ...(audience.regionIds ?? []).map((r) => `region ${names.region(r)}`),
                  ...(audience.storeIds ?? []).map((s) => names.store(s)),
                  ...(audience.tags ?? []).map((t) => `#${t}`),
                ].join(', ') || '—'}
            {audience.roles?.length ? ` · roles ${audience.roles.join(', ')}` : ''}
          </dd>
          {c.publishAt && (
            <>
              <dt>Publishes</dt>
              <dd>{when(c.publishAt)}</dd>
            </>
          )}
          {c.publishedAt && (
            <>
              <dt>Published</dt>
              <dd>{when(c.publishedAt)}</dd>
            </>
          )}
          {c.expiresAt && (
            <>
              <dt>Expires</dt>
              <dd>{when(c.expiresAt)}</dd>
            </>
          )}
        </dl>
        <Actions communication={c} onRevise={onRevise} />
      </div>
      <FeedCard communication={asFeed(c)} open token={token} />
      {c.kind === 'task' && ['published', 'retracted', 'expired'].includes(c.status) && (
        <TaskEvidence communication={c} />
      )}
      {['published', 'retracted', 'expired', 'scheduled'].includes(c.status) && <ReachBoard communication={c} />}
      {c.kind === 'survey' && c.status !== 'drafted' && <SurveyResultsPanel communication={c} />}
    </section>
  );
}

/** What the signed-in role may do in this status (the server decides; this only offers). */
function Actions({
  communication: c,
  onRevise,
}: {
  communication: CommunicationView;
  onRevise: (c: CommunicationView) => void;
}) {
  const session = useSessionToken();
  const command = useCommand();
  const editor = isEditor(session.role);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [publishing, setPublishing] = useState(false);
  const [publishAt, setPublishAt] = useState('');
  const [expiresAt, setExpiresAt] = useState('');

  const ownAgencyDraft = session.role === 'agency' && c.author?.role === 'agency';
  const canEdit = editor || ownAgencyDraft;
  const run = async (verb: string, body: object = {}) => {
    setBusy(verb);
    setError(undefined);
    try {
      await command('POST', `/v1/communications/${c.id}/${verb}`, { body, ifMatch: c.version }, c.id);
      setRejecting(false);
      setPublishing(false);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(undefined);
    }
  };
  const editorsOwn = editor && ['drafted', 'submitted'].includes(c.status) && !!c.author && isEditor(c.author.role);
  const canPublish = editor && (c.status === 'approved' || editorsOwn);

  return (
    <div>
      <div className="actions">
        {canEdit &&
          (editor ? !['retracted', 'expired'].includes(c.status) : ['drafted', 'rejected'].includes(c.status)) && (
            <button type="button" onClick={() => onRevise(c)}>
              Revise
            </button>
          )}
        {canEdit && ['drafted', 'rejected'].includes(c.status) && (
          <button type="button" disabled={!!busy} onClick={() => void run('submit')}>
            Submit for approval
          </button>
        )}
        {editor && c.status === 'submitted' && (
          <>
            <button type="button" className="ok" disabled={!!busy} onClick={() => void run('approve')}>
              Approve
            </button>
            <button type="button" className="danger" disabled={!!busy} onClick={() => setRejecting(true)}>
              Reject…
            </button>
          </>
        )}
        {canPublish && (
          <button type="button" className="primary" disabled={!!busy} onClick={() => setPublishing(true)}>
            Publish…
          </button>
        )}
        {editor && ['published', 'scheduled'].includes(c.status) && (
          <button
            type="button"
            className="danger"
            disabled={!!busy}
            onClick={() => confirm(`Retract “${c.title}” from every store?`) && void run('retract')}
          >
            Retract
          </button>
        )}
      </div>
      {rejecting && (
        <form
          className="card inline-form"
          aria-label="Reject"
          onSubmit={(event) => {
            event.preventDefault();
            void run('reject', { reason });
          }}
        >
          <Field label="Why (the author sees this)" errors={fieldErrors(error, 'reason')}>
            {(id) => <textarea id={id} value={reason} onChange={(e) => setReason(e.target.value)} autoFocus />}
          </Field>
          <div className="actions">
            <button type="submit" className="danger" disabled={!!busy}>
              Reject
            </button>
            <button type="button" onClick={() => setRejecting(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {publishing && (
        <form
          className="card inline-form"
          aria-label="Publish"
          onSubmit={(event) => {
            event.preventDefault();
            void run('publish', {
              ...(publishAt ? { publishAt: fromLocalInput(publishAt) } : {}),
              ...(expiresAt ? { expiresAt: fromLocalInput(expiresAt) } : {}),
            });
          }}
        >
          <div className="row">
            <Field label="Publish at" hint="Empty: now" errors={fieldErrors(error, 'publishAt')}>
              {(id) => (
                <input id={id} type="datetime-local" value={publishAt} onChange={(e) => setPublishAt(e.target.value)} />
              )}
            </Field>
            <Field label="Expires at" hint="Empty: until retracted" errors={fieldErrors(error, 'expiresAt')}>
              {(id) => (
                <input id={id} type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />
              )}
            </Field>
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={!!busy}>
              {publishAt ? 'Schedule' : 'Publish now'}
            </button>
            <button type="button" onClick={() => setPublishing(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorNotice error={error} shownFields={['reason', 'publishAt', 'expiresAt']} />
    </div>
  );
}
