import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { ComplianceTask } from '@lastmeter/contracts';
import { useCommand } from '../shared/data';
import { Thumbnail } from '../shared/media';
import { ErrorNotice } from '../shared/ui';

/**
 * A store's evidence of one task on the compliance board: the photo (opens the original),
 * the note, and "Send back" with a reason, which reopens the task for the store
 * (`POST /v1/communications/:id/evidence/:storeId/reject`).
 */
export function EvidenceReview(props: { task: ComplianceTask; storeId: string; storeCode: string; token: string }) {
  const { task, storeId, storeCode, token } = props;
  const evidence = task.evidence!;
  const command = useCommand();
  const client = useQueryClient();
  const [reason, setReason] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const sendBack = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await command(
        'POST',
        `/v1/communications/${task.communicationId}/evidence/${storeId}/reject`,
        { body: { reason } },
        task.communicationId,
      );
      setReason(undefined);
      // The command answered once the read side holds it: the board shows it sent back.
      await client.invalidateQueries({ queryKey: ['compliance'] });
      await client.invalidateQueries({ queryKey: ['evidence', task.communicationId] });
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="evidence" data-communication-id={task.communicationId}>
      {evidence.photo && <Thumbnail media={evidence.photo} token={token} alt={`${task.title}, ${storeCode}`} />}
      <div className="stack">
        <strong>{task.title}</strong>
        {evidence.note && <span className="muted">“{evidence.note}”</span>}
        {evidence.noteErased && <span className="muted">(a note by an erased person)</span>}
        {evidence.rejected ? (
          <span className="badge badge--danger">Sent back: {evidence.rejected.reason}</span>
        ) : reason === undefined ? (
          <button type="button" className="link" onClick={() => setReason('')}>
            Send back…
          </button>
        ) : (
          <form
            className="row"
            onSubmit={(event) => {
              event.preventDefault();
              void sendBack();
            }}
          >
            <input
              aria-label={`Why send back ${task.title} of ${storeCode}`}
              value={reason}
              maxLength={2000}
              placeholder="What the store should fix"
              onChange={(e) => setReason(e.target.value)}
            />
            <button type="submit" disabled={busy || !reason.trim()}>
              Send back
            </button>
          </form>
        )}
        <ErrorNotice error={error} />
      </div>
    </div>
  );
}
