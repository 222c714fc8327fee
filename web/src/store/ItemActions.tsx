import { useState, type FormEvent } from 'react';
import type { FeedItem } from '@lastmeter/contracts';
import { Field } from '../shared/ui';
import { CameraInput } from './CameraInput';
import { isCompleted, type Progress, type Tablet } from './tablet';

/** What a store does with an opened communication: acknowledge, complete a task, answer a quiz. */
export function ItemActions({
  item,
  progress = {},
  tablet,
  signedIn = false,
}: {
  item: FeedItem;
  progress?: Progress;
  tablet: Tablet;
  /** A staff member is signed in (a survey is answered by a person). */
  signedIn?: boolean;
}) {
  const c = item.communication;
  const acknowledged = (progress.acknowledged ?? 0) >= c.revision;
  return (
    <div className="stack item-actions">
      {c.kind === 'survey' && c.survey ? (
        signedIn ? (
          <SurveyForm item={item} done={(progress.surveyed ?? 0) >= c.revision} tablet={tablet} />
        ) : (
          <p className="notice">Sign in to answer this survey. Your answers are anonymous.</p>
        )
      ) : null}
      {c.kind === 'task' && <TaskForm item={item} done={isCompleted(item, progress)} tablet={tablet} />}
      {c.questions?.length ? (
        <QuizForm item={item} done={(progress.answered ?? 0) >= c.revision} tablet={tablet} />
      ) : null}
      <div className="actions">
        {acknowledged ? (
          <span className="badge badge--ok">Acknowledged</span>
        ) : (
          <button type="button" className="primary big" onClick={() => tablet.acknowledge(c.id)}>
            Acknowledge
          </button>
        )}
      </div>
    </div>
  );
}

function TaskForm({ item, done, tablet }: { item: FeedItem; done: boolean; tablet: Tablet }) {
  const c = item.communication;
  const [note, setNote] = useState('');
  const [photo, setPhoto] = useState<File>();
  const [error, setError] = useState<string>();
  if (done) return <p className="notice notice--ok">Task completed.</p>;
  const rejected = item.evidenceRejected;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (c.evidence === 'note' && !note.trim()) return setError('This task needs a note.');
    if (c.evidence === 'photo' && !photo) return setError('This task needs a photo: take one with the camera.');
    setError(undefined);
    void tablet.complete(c.id, {
      ...(note.trim() ? { note: note.trim() } : {}),
      ...(photo ? { photo: { blob: photo, name: photo.name || 'photo.jpg' } } : {}),
    });
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Complete the task">
      <h3>{rejected ? 'Do the task again' : 'Complete the task'}</h3>
      {rejected && (
        <p className="notice notice--error" role="alert">
          Head office sent your evidence back: {rejected.reason}
        </p>
      )}
      <Field
        label={c.evidence === 'note' ? 'Note (required)' : 'Note'}
        errors={error && c.evidence !== 'photo' ? [error] : []}
      >
        {(id) => <textarea id={id} value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />}
      </Field>
      {c.evidence === 'photo' && (
        <Field
          label={photo ? 'Photo' : 'Photo (required)'}
          errors={error ? [error] : []}
          hint="Opens the camera. The photo is sent with the task, later if the tablet is offline."
        >
          {(id) => <CameraInput id={id} photo={photo} onPhoto={setPhoto} />}
        </Field>
      )}
      <button type="submit" className="ok">
        Mark as done
      </button>
    </form>
  );
}

/** A pulse survey (issue 21): one answer per question; sent without the person's name. */
function SurveyForm({ item, done, tablet }: { item: FeedItem; done: boolean; tablet: Tablet }) {
  const questions = item.communication.survey?.questions ?? [];
  const [answers, setAnswers] = useState<Array<number | string | undefined>>(() => questions.map(() => undefined));
  if (done) return <p className="notice notice--ok">Thank you. Your answers are anonymous.</p>;
  const set = (q: number, value: number | string) =>
    setAnswers((current) => current.map((a, i) => (i === q ? value : a)));
  const complete = answers.every((answer) => answer !== undefined && answer !== '');
  return (
    <form
      className="card"
      aria-label="Survey"
      onSubmit={(event) => {
        event.preventDefault();
        if (complete) tablet.answerSurvey(item.communication.id, answers as Array<number | string>);
      }}
    >
      <h3>Your opinion</h3>
      <p className="muted">Anonymous: head office sees results only for groups of 5 people or more.</p>
      {questions.map((question, q) => (
        <fieldset key={q}>
          <legend>{question.prompt}</legend>
          {question.type === 'scale' &&
            Array.from(
              { length: (question.max ?? 5) - (question.min ?? 1) + 1 },
              (_, k) => (question.min ?? 1) + k,
            ).map((value) => (
              <label key={value} className="check quiz-option">
                <input type="radio" name={`s${q}`} checked={answers[q] === value} onChange={() => set(q, value)} />
                {value}
              </label>
            ))}
          {question.type === 'choice' &&
            question.options.map((option, o) => (
              <label key={o} className="check quiz-option">
                <input type="radio" name={`s${q}`} checked={answers[q] === o} onChange={() => set(q, o)} />
                {option}
              </label>
            ))}
          {question.type === 'text' && (
            <textarea
              aria-label={question.prompt}
              maxLength={500}
              value={(answers[q] as string | undefined) ?? ''}
              onChange={(e) => set(q, e.target.value)}
            />
          )}
        </fieldset>
      ))}
      <button type="submit" className="primary" disabled={!complete}>
        Send my answers
      </button>
    </form>
  );
}

function QuizForm({ item, done, tablet }: { item: FeedItem; done: boolean; tablet: Tablet }) {
  const questions = item.communication.questions ?? [];
  const [answers, setAnswers] = useState<Array<number | undefined>>(() => questions.map(() => undefined));
  if (done) return <p className="notice notice--ok">Answers sent. Thank you.</p>;
  const complete = answers.every((answer) => answer !== undefined);
  return (
    <form
      className="card"
      aria-label="Questions"
      onSubmit={(event) => {
        event.preventDefault();
        if (complete) tablet.answer(item.communication.id, answers as number[]);
      }}
    >
      <h3>Check your understanding</h3>
      {questions.map((question, q) => (
        <fieldset key={q}>
          <legend>{question.prompt}</legend>
          {question.options.map((option, o) => (
            <label key={o} className="check quiz-option">
              <input
                type="radio"
                name={`q${q}`}
                checked={answers[q] === o}
                onChange={() => setAnswers((current) => current.map((a, i) => (i === q ? o : a)))}
              />
              {option}
            </label>
          ))}
        </fieldset>
      ))}
      <button type="submit" className="primary" disabled={!complete}>
        Send answers
      </button>
    </form>
  );
}
