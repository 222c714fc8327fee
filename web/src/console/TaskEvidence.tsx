import type { CommunicationView, EvidencePage } from '@lastmeter/contracts';
import { useNamesFor, useRead, useSessionToken } from '../shared/data';
import { Empty, ErrorNotice } from '../shared/ui';
import { EvidenceReview } from './EvidenceReview';

/**
 * A task's evidence in the communication view: per store that completed it, the photo
 * (opens the original), the note, and "Send back" (`GET /v1/communications/:id/evidence`,
 * its first page of 100 stores).
 */
export function TaskEvidence({ communication }: { communication: CommunicationView }) {
  const { token } = useSessionToken();
  const { data, error } = useRead<EvidencePage>(
    ['evidence', communication.id],
    `/v1/communications/${communication.id}/evidence?limit=100`,
    { refetchInterval: 10_000 },
  );
  const items = data?.items ?? [];
  const names = useNamesFor(items.map((item) => item.storeId));
  return (
    <section aria-label="Evidence" className="stack">
      <h3>Evidence from stores</h3>
      <ErrorNotice error={error} />
      {data && items.length === 0 && <Empty>No store has completed it yet.</Empty>}
      {items.map(({ storeId, ...evidence }) => (
        <div key={storeId} data-store-id={storeId}>
          <span className="muted">{names.store(storeId)}</span>
          <EvidenceReview
            task={{
              communicationId: communication.id,
              title: communication.title,
              mandate: communication.mandate ?? 'mandated',
              completed: true,
              overdue: false,
              evidence,
            }}
            storeId={storeId}
            storeCode={names.store(storeId)}
            token={token}
          />
        </div>
      ))}
      {data?.next && <p className="muted">More stores than shown: see the compliance board.</p>}
    </section>
  );
}
