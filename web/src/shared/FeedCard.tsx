import type { ReactNode } from 'react';
import type { FeedCommunication } from '@lastmeter/contracts';
import { KIND_LABEL, relative, when } from './format';
import { CardMedia } from './media';

/**
 * A communication as a store tablet shows it. The console's live preview uses the same
 * component, so what head office sees while composing is what the store will see.
 */
export function FeedCard(props: {
  communication: FeedCommunication;
  /** Collapsed in the feed list; expanded when opened. */
  open?: boolean;
  status?: ReactNode;
  children?: ReactNode;
  /** The reader's token: the cover and attached pictures are shown through signed links. */
  token?: string;
}) {
  const c = props.communication;
  const urgent = c.priority === 'urgent' || c.priority === 'critical';
  const label = c.priority === 'critical' ? 'Critical' : 'Urgent';
  return (
    <article
      className={`feed-card feed-card--${c.kind}${urgent ? ' feed-card--urgent' : ''}`}
      // The language this store's copy is in (issue 22): screen readers and hyphenation follow it.
      lang={c.language}
      aria-label={`${urgent ? `${label} ` : ''}${KIND_LABEL[c.kind] ?? c.kind}: ${c.title}`}
    >
      <header className="feed-card-head">
        <span className="kind">{KIND_LABEL[c.kind] ?? c.kind}</span>
        {urgent && <span className="urgent-tag">{label}</span>}
        {c.roles?.length ? <span className="roles">For {c.roles.join(', ')}</span> : null}
        {c.kind === 'task' && c.mandate === 'suggested' ? <span className="roles">Suggested</span> : null}
        {props.status && <span className="feed-card-status">{props.status}</span>}
      </header>
      <h3 className="feed-card-title">{c.title || 'Untitled'}</h3>
      {props.open && <CardMedia cover={c.cover} attachments={c.attachments} token={props.token} />}
      {props.open ? (
        <div className="feed-card-body">
          {(c.body || '').split(/\n{2,}/).map((paragraph, i) => (
            <p key={i}>{paragraph}</p>
          ))}
        </div>
      ) : (
        <p className="feed-card-excerpt">
          {c.attachments?.length ? (
            <span className="muted" aria-label={`${c.attachments.length} attachment(s)`}>
              {c.attachments.length === 1 ? '1 attachment' : `${c.attachments.length} attachments`} ·{' '}
            </span>
          ) : null}
          {excerpt(c.body)}
        </p>
      )}
      {(c.dueAt || c.expiresAt || c.evidence) && (
        <dl className="feed-card-facts">
          {c.dueAt && (
            <>
              <dt>Due</dt>
              <dd>
                {when(c.dueAt)} <span className="muted">({relative(c.dueAt)})</span>
              </dd>
            </>
          )}
          {c.kind === 'task' && c.evidence && c.evidence !== 'none' && (
            <>
              <dt>Evidence</dt>
              <dd>{c.evidence === 'photo' ? 'a photo' : 'a note'}</dd>
            </>
          )}
          {c.expiresAt && (
            <>
              <dt>Until</dt>
              <dd>{when(c.expiresAt)}</dd>
            </>
          )}
        </dl>
      )}
      {props.open && c.questions?.length ? <p className="muted">{c.questions.length} question(s) to answer</p> : null}
      {props.children}
    </article>
  );
}

function excerpt(body: string | undefined): string {
  const text = (body ?? '').replace(/\s+/g, ' ').trim();
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}
