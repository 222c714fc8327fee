import { useState } from 'react';
import type { CommunicationView, SurveyGroupResult, SurveyResults } from '@lastmeter/contracts';
import { query } from '../shared/api';
import { useNamesFor, useRead, useStoresById } from '../shared/data';
import { ErrorNotice } from '../shared/ui';

/**
 * A pulse survey's results (issue 21): overall, by region, and the stores of one region.
 * A group of fewer than 5 respondents says only that: no count, no answer, no text.
 */
export function SurveyResultsPanel({ communication }: { communication: CommunicationView }) {
  const [regionId, setRegionId] = useState<string>();
  const results = useRead<SurveyResults>(
    ['survey', communication.id, regionId],
    `/v1/communications/${communication.id}/survey${query({ regionId })}`,
    { refetchInterval: 5_000 },
  );
  const names = useNamesFor([]);
  const stores = useStoresById(results.data?.byStore?.map((row) => row.storeId) ?? []);
  if (results.error) return <ErrorNotice error={results.error} />;
  const data = results.data;
  if (!data) return <p className="muted">Loading survey results…</p>;
  return (
    <section className="card stack" aria-label="Survey results" data-testid="survey-results">
      <h2>Survey results</h2>
      <p className="muted">Anonymous. A group shows results from {data.threshold} respondents.</p>
      <Group title="Every store" group={data.overall} />
      <h3>By region</h3>
      {data.byRegion.length === 0 && <p className="empty">No answer yet.</p>}
      {data.byRegion.map(({ regionId: id, ...group }) => (
        <div key={id}>
          <button type="button" className="link" onClick={() => setRegionId(id === regionId ? undefined : id)}>
            {id === 'unknown' ? 'Unknown region' : names.region(id)}
          </button>
          <Group title="" group={group} />
        </div>
      ))}
      {regionId &&
        data.byStore?.map(({ storeId, ...group }) => (
          <Group key={storeId} title={stores.get(storeId)?.name ?? storeId.slice(0, 8)} group={group} />
        ))}
    </section>
  );
}

function Group({ title, group }: { title: string; group: SurveyGroupResult }) {
  return (
    <div className="survey-group" data-testid="survey-group">
      {title && <h4>{title}</h4>}
      {group.belowThreshold ? (
        <p className="muted">Below the threshold: not shown.</p>
      ) : (
        <>
          <p>{group.respondents} respondents</p>
          <ul>
            {group.questions.map((question, i) => (
              <li key={i}>
                <strong>{question.prompt}</strong>{' '}
                {question.type === 'scale' && (
                  <span>
                    average {question.mean.toFixed(1)} (
                    {Object.entries(question.counts)
                      .map(([value, n]) => `${value}: ${n}`)
                      .join(', ')}
                    )
                  </span>
                )}
                {question.type === 'choice' && (
                  <span>{question.options.map((option, o) => `${option}: ${question.counts[o]}`).join(', ')}</span>
                )}
                {question.type === 'text' && (
                  <ul>
                    {question.texts.map((text, t) => (
                      <li key={t}>{text}</li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
