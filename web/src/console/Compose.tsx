import { isEditor } from '@lastmeter/domain';
import { useState, type FormEvent } from 'react';
import {
  canonicalLocale,
  COMMUNICATION_KINDS,
  DEFAULT_LANGUAGE,
  PRIORITIES,
  translationFor,
  translationText,
  withoutStaleMarks,
  type Translation,
  type Translations,
  type Audience,
  type CommunicationAttachment,
  type CommunicationView,
  type Delivery,
  type FeedCommunication,
  type MediaRef,
  type Priority,
  type QuizQuestion,
  type SurveyQuestion,
} from '@lastmeter/contracts';
import { FeedCard } from '../shared/FeedCard';
import { fromLocalInput, KIND_LABEL, toLocalInput } from '../shared/format';
import { ErrorNotice, Field, fieldErrors, fieldsOf, FieldErrorList } from '../shared/ui';
import { AudiencePicker } from './AudiencePicker';
import { MediaPicker } from './MediaPicker';
import { useAudienceCount, useCommand, useSessionToken } from '../shared/data';

export type ComposeTarget = { mode: 'new' } | { mode: 'revise'; communication: CommunicationView };

interface Form {
  kind: string;
  title: string;
  body: string;
  priority: Priority;
  /** A normal item's delivery: at once, or in each store's daily brief at its next opening. */
  delivery: Delivery;
  audience: Audience;
  dueAt: string;
  evidence: string;
  /** A task: mandated (the store must) or suggested (its manager may dismiss or assign it). */
  mandate: 'mandated' | 'suggested';
  questions: QuizQuestion[];
  /** A survey's questions (issue 21). */
  survey: SurveyQuestion[];
  attachments: CommunicationAttachment[];
  cover?: MediaRef;
  /** The default language (a BCP 47 tag). */
  language: string;
  /** By language tag, with the write side's stale marks as they came. */
  translations: Translations;
  publishAt: string;
  expiresAt: string;
}

function formOf(target: ComposeTarget): Form {
  if (target.mode === 'new') {
    return {
      kind: 'notice',
      title: '',
      body: '',
      priority: 'normal',
      // Normal items go in the stores' daily brief unless head office says now (issue 22).
      delivery: 'next-brief',
      audience: {},
      dueAt: '',
      evidence: 'none',
      mandate: 'mandated',
      questions: [],
      survey: [],
      attachments: [],
      language: DEFAULT_LANGUAGE,
      translations: {},
      publishAt: '',
      expiresAt: '',
    };
  }
  const c = target.communication;
  return {
    kind: c.kind,
    title: c.title,
    body: c.body,
    priority: (PRIORITIES as readonly string[]).includes(c.priority) ? (c.priority as Priority) : 'normal',
    delivery: c.delivery ?? 'now',
    audience: c.audience,
    dueAt: toLocalInput(c.dueAt),
    evidence: c.evidence ?? 'none',
    mandate: c.mandate ?? 'mandated',
    questions: c.questions ?? [],
    survey: c.survey?.questions ?? [],
    attachments: c.attachments ?? [],
    cover: c.cover,
    language: c.language ?? DEFAULT_LANGUAGE,
    translations: c.translations ?? {},
    publishAt: '',
    expiresAt: '',
  };
}

/** The content fields of the write API, from the form (only what the kind uses). */
function contentOf(form: Form) {
  return {
    kind: form.kind,
    title: form.title,
    body: form.body,
    priority: form.priority,
    // Urgent and critical items always go at once: the API refuses a delivery on them.
    ...(form.priority === 'normal' ? { delivery: form.delivery } : {}),
    audience: form.audience,
    ...(form.kind === 'task'
      ? {
          ...(form.dueAt ? { dueAt: fromLocalInput(form.dueAt) ?? form.dueAt } : {}),
          evidence: form.evidence,
          mandate: form.mandate,
        }
      : {}),
    ...(form.kind === 'training' && form.questions.length ? { questions: form.questions } : {}),
    ...(form.kind === 'survey' ? { survey: { questions: form.survey } } : {}),
    ...(form.attachments.length
      ? { attachments: form.attachments.map(({ mediaId, name }) => ({ mediaId, name })) }
      : {}),
    ...(form.cover ? { cover: { mediaId: form.cover.mediaId } } : {}),
    language: form.language,
    // Stale marks are the server's to set and clear: what is sent is the text.
    ...(Object.keys(form.translations).length ? { translations: withoutStaleMarks(form.translations) } : {}),
  };
}

/** Only the fields that differ from the communication as it is (a revision that changes nothing is refused). */
function changesOf(form: Form, original: CommunicationView): Record<string, unknown> {
  const next = contentOf(form) as Record<string, unknown>;
  const before: Record<string, unknown> = {
    kind: original.kind,
    title: original.title,
    body: original.body,
    priority: original.priority,
    delivery: original.delivery ?? 'now',
    audience: original.audience,
    dueAt: original.dueAt,
    evidence: original.evidence,
    mandate: original.kind === 'task' ? (original.mandate ?? 'mandated') : undefined,
    survey: original.survey,
    questions: original.questions,
    attachments: original.attachments?.map(({ mediaId, name }) => ({ mediaId, name })),
    cover: original.cover && { mediaId: original.cover.mediaId },
    language: original.language ?? DEFAULT_LANGUAGE,
    translations: original.translations && withoutStaleMarks(original.translations),
  };
  if (!('translations' in next) && original.translations) next.translations = {};
  // Removed media are sent with their "absent" values.
  if (!('attachments' in next) && original.attachments?.length) next.attachments = [];
  if (!('cover' in next) && original.cover) next.cover = null;
  return Object.fromEntries(
    Object.entries(next).filter(([key, value]) => JSON.stringify(value) !== JSON.stringify(before[key])),
  );
}

function previewOf(form: Form): FeedCommunication {
  const content = contentOf(form);
  return {
    id: 'preview',
    revision: 1,
    kind: form.kind as FeedCommunication['kind'],
    title: form.title,
    body: form.body,
    priority: content.priority as FeedCommunication['priority'],
    ...(form.audience.roles?.length ? { roles: form.audience.roles } : {}),
    ...('dueAt' in content ? { dueAt: content.dueAt } : {}),
    ...('evidence' in content ? { evidence: content.evidence as FeedCommunication['evidence'] } : {}),
    ...(form.kind === 'training'
      ? { questions: form.questions.map(({ prompt, options }) => ({ prompt, options })) }
      : {}),
    ...(form.kind === 'survey' ? { survey: { questions: form.survey } } : {}),
    ...(form.attachments.length ? { attachments: form.attachments } : {}),
    ...(form.cover ? { cover: form.cover } : {}),
    ...(form.expiresAt ? { expiresAt: fromLocalInput(form.expiresAt) } : {}),
  };
}

export function Compose(props: { target: ComposeTarget; onDone: (id: string) => void; onCancel: () => void }) {
  const session = useSessionToken();
  const command = useCommand();
  const editor = isEditor(session.role);
  const [form, setForm] = useState<Form>(() => formOf(props.target));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();
  const set = (patch: Partial<Form>) => setForm((current) => ({ ...current, ...patch }));
  const revising = props.target.mode === 'revise' ? props.target.communication : undefined;

  const schedule = () => ({
    ...(form.publishAt ? { publishAt: fromLocalInput(form.publishAt) } : {}),
    ...(form.expiresAt ? { expiresAt: fromLocalInput(form.expiresAt) } : {}),
  });

  const act = async (what: 'draft' | 'submit' | 'publish') => {
    setBusy(what);
    setError(undefined);
    try {
      let id: string;
      if (revising) {
        const changes = changesOf(form, revising);
        id = revising.id;
        if (Object.keys(changes).length > 0 || what === 'draft') {
          await command('PATCH', `/v1/communications/${id}`, { body: changes, ifMatch: revising.version }, id);
        }
      } else {
        id = (await command('POST', '/v1/communications', { body: contentOf(form) })).id;
      }
      if (what === 'submit') await command('POST', `/v1/communications/${id}/submit`, { body: {} }, id);
      if (what === 'publish') await command('POST', `/v1/communications/${id}/publish`, { body: schedule() }, id);
      props.onDone(id);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(undefined);
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void act('draft');
  };
  // `audience.regionIds`, `questions.0.options`, …: shown by the audience picker and the questions editor.
  const fields = fieldsOf(error);
  const nested = (prefix: string) => Object.keys(fields).filter((f) => f === prefix || f.startsWith(`${prefix}.`));
  const audienceErrors = fieldErrors(error, ...nested('audience'));
  const questionErrors = nested('questions').flatMap((f) => fields[f].map((message) => `${f}: ${message}`));
  const shown = [
    'kind',
    'title',
    'body',
    'priority',
    'dueAt',
    'evidence',
    'mandate',
    'publishAt',
    'expiresAt',
    ...nested('audience'),
    ...nested('questions'),
    ...nested('survey'),
    ...nested('attachments'),
    ...nested('cover'),
    'language',
    'translations',
  ];

  return (
    <div className="split">
      <form className="card" onSubmit={onSubmit} aria-labelledby="compose-title" noValidate>
        <div className="section-head">
          <h1 id="compose-title">{revising ? `Revise “${revising.title}”` : 'New communication'}</h1>
          {revising && (
            <button type="button" className="link" onClick={props.onCancel}>
              Start a new one instead
            </button>
          )}
        </div>
        <div className="row">
          <Field label="Kind" errors={fieldErrors(error, 'kind')}>
            {(id) => (
              <select id={id} value={form.kind} onChange={(e) => set({ kind: e.target.value })}>
                {COMMUNICATION_KINDS.map((kind) => (
                  <option key={kind} value={kind}>
                    {KIND_LABEL[kind]}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Priority" errors={fieldErrors(error, 'priority')}>
            {(id) => (
              <select id={id} value={form.priority} onChange={(e) => set({ priority: e.target.value as Priority })}>
                <option value="normal">Normal</option>
                <option value="urgent">Urgent: banner and sound on tablets, not outside opening hours</option>
                <option value="critical">Critical: banner and sound on tablets, always</option>
              </select>
            )}
          </Field>
          {form.priority === 'normal' && (
            <Field label="Delivery" errors={fieldErrors(error, 'delivery')}>
              {(id) => (
                <select id={id} value={form.delivery} onChange={(e) => set({ delivery: e.target.value as Delivery })}>
                  <option value="next-brief">In the daily brief, at each store's next opening</option>
                  <option value="now">Now, to every store at once</option>
                </select>
              )}
            </Field>
          )}
        </div>
        <Field label="Title" errors={fieldErrors(error, 'title')}>
          {(id, describedBy) => (
            <input
              id={id}
              aria-describedby={describedBy}
              value={form.title}
              maxLength={200}
              onChange={(e) => set({ title: e.target.value })}
            />
          )}
        </Field>
        <Field label="Message" errors={fieldErrors(error, 'body')} hint="Blank lines start a new paragraph.">
          {(id, describedBy) => (
            <textarea
              id={id}
              aria-describedby={describedBy}
              value={form.body}
              onChange={(e) => set({ body: e.target.value })}
            />
          )}
        </Field>

        {form.kind === 'task' && (
          <div className="row">
            <Field label="Due" errors={fieldErrors(error, 'dueAt')}>
              {(id) => (
                <input
                  id={id}
                  type="datetime-local"
                  value={form.dueAt}
                  onChange={(e) => set({ dueAt: e.target.value })}
                />
              )}
            </Field>
            <Field label="Evidence" errors={fieldErrors(error, 'evidence')}>
              {(id) => (
                <select id={id} value={form.evidence} onChange={(e) => set({ evidence: e.target.value })}>
                  <option value="none">None: done is done</option>
                  <option value="note">A note</option>
                  <option value="photo">A photo</option>
                </select>
              )}
            </Field>
            <Field label="Head office" errors={fieldErrors(error, 'mandate')}>
              {(id) => (
                <select
                  id={id}
                  value={form.mandate}
                  onChange={(e) => set({ mandate: e.target.value as Form['mandate'] })}
                >
                  <option value="mandated">Mandates it: every store must do it</option>
                  <option value="suggested">Suggests it: a store manager may dismiss or assign it</option>
                </select>
              )}
            </Field>
          </div>
        )}

        {form.kind === 'survey' && (
          <SurveyEditor
            questions={form.survey}
            onChange={(survey) => set({ survey })}
            errors={nested('survey').flatMap((f) => fields[f].map((message) => `${f}: ${message}`))}
          />
        )}

        {form.kind === 'training' && (
          <QuestionsEditor
            questions={form.questions}
            onChange={(questions) => set({ questions })}
            errors={questionErrors}
          />
        )}

        <MediaPicker
          token={session.token}
          attachments={form.attachments}
          cover={form.cover}
          onChange={(update) => setForm((current) => ({ ...current, ...update(current) }))}
          errors={nested('attachments')
            .concat(nested('cover'))
            .flatMap((f) => fields[f].map((message) => `${f}: ${message}`))}
        />

        <AudiencePicker value={form.audience} onChange={(audience) => set({ audience })} errors={audienceErrors} />

        <TranslationsEditor
          form={form}
          onChange={(patch) => set(patch)}
          errors={{ language: fieldErrors(error, 'language'), translations: fieldErrors(error, 'translations') }}
        />

        {editor && (
          <fieldset>
            <legend>Schedule (on publish)</legend>
            <div className="row">
              <Field label="Publish at" hint="Empty: now" errors={fieldErrors(error, 'publishAt')}>
                {(id) => (
                  <input
                    id={id}
                    type="datetime-local"
                    value={form.publishAt}
                    onChange={(e) => set({ publishAt: e.target.value })}
                  />
                )}
              </Field>
              <Field label="Expires at" hint="Empty: stays until retracted" errors={fieldErrors(error, 'expiresAt')}>
                {(id) => (
                  <input
                    id={id}
                    type="datetime-local"
                    value={form.expiresAt}
                    onChange={(e) => set({ expiresAt: e.target.value })}
                  />
                )}
              </Field>
            </div>
          </fieldset>
        )}

        <ErrorNotice error={error} shownFields={shown} />
        <div className="actions">
          <button type="submit" disabled={!!busy}>
            {busy === 'draft' ? 'Saving…' : revising ? 'Save revision' : 'Save draft'}
          </button>
          {!editor && (
            <button type="button" className="primary" disabled={!!busy} onClick={() => void act('submit')}>
              {busy === 'submit' ? 'Submitting…' : revising ? 'Save and resubmit' : 'Submit for approval'}
            </button>
          )}
          {editor && (!revising || ['drafted', 'submitted', 'approved'].includes(revising.status)) && (
            <button type="button" className="primary" disabled={!!busy} onClick={() => void act('publish')}>
              {busy === 'publish' ? 'Publishing…' : form.publishAt ? 'Schedule' : 'Publish now'}
            </button>
          )}
        </div>
      </form>

      <aside aria-label="Preview" className="stack preview">
        <h2>As a store tablet shows it</h2>
        <div className="tablet-frame">
          <div className="tablet-screen">
            {form.priority !== 'normal' && (
              <div className="urgent-banner preview-banner">
                <strong>{form.priority === 'critical' ? 'Critical' : 'Urgent'}</strong> {form.title || 'Untitled'}
              </div>
            )}
            <FeedCard communication={previewOf(form)} open token={session.token} />
          </div>
        </div>
      </aside>
    </div>
  );
}

/**
 * The default language and the translations by language tag (issue 22), and what the
 * targeted stores will be shown: a warning per store locale that gets the default text
 * because its translation is missing or out of date ("fr-BE missing for 12 targeted stores").
 */
function TranslationsEditor(props: {
  form: Form;
  onChange: (patch: Partial<Form>) => void;
  errors: { language: string[]; translations: string[] };
}) {
  const { form, onChange } = props;
  const [adding, setAdding] = useState('');
  const count = useAudienceCount(form.audience, { locales: true });
  const base = (tag: string) => tag.split('-')[0]!.toLowerCase();
  const warnings = Object.entries(count.data?.locales ?? {})
    .filter(([locale]) => locale !== 'unknown' && base(locale) !== base(form.language))
    .filter(([locale]) => translationFor(locale, form.translations, form.language).language === form.language)
    .map(([locale, stores]) => {
      const own = form.translations[locale] ?? form.translations[base(locale)];
      const storesText = stores === 1 ? '1 targeted store' : `${stores} targeted stores`;
      return own?.stale
        ? `${locale} out of date for ${storesText}: they are shown the ${form.language} text until it is updated`
        : `${locale} missing for ${storesText}`;
    })
    .sort();
  const update = (tag: string, patch: Partial<Translation>) => {
    const current = translationText(form.translations[tag] ?? { title: '', body: '' });
    onChange({ translations: { ...form.translations, [tag]: { ...current, ...patch } } });
  };
  const add = () => {
    const tag = canonicalLocale(adding.trim());
    if (!tag || form.translations[tag]) return;
    onChange({ translations: { ...form.translations, [tag]: { title: '', body: '' } } });
    setAdding('');
  };
  return (
    <fieldset className="stack">
      <legend>Languages</legend>
      <Field label="Default language" hint="BCP 47, such as en or fr-BE" errors={props.errors.language}>
        {(id) => (
          <input
            id={id}
            value={form.language}
            maxLength={35}
            onChange={(e) => onChange({ language: e.target.value })}
          />
        )}
      </Field>
      {warnings.length > 0 && (
        <div className="notice notice--wait" role="status" data-testid="translation-warnings">
          {warnings.map((warning) => (
            <div key={warning}>{warning}</div>
          ))}
        </div>
      )}
      {Object.entries(form.translations).map(([tag, translation]) => (
        <div key={tag} className="card stack translation" data-language={tag}>
          <div className="section-head">
            <strong>{tag}</strong>
            {translation.stale && <span className="badge badge--wait">Out of date</span>}
            <button
              type="button"
              className="link"
              onClick={() => {
                const { [tag]: _removed, ...rest } = form.translations;
                onChange({ translations: rest });
              }}
            >
              Remove {tag}
            </button>
          </div>
          <Field label={`Title (${tag})`}>
            {(id) => (
              <input
                id={id}
                value={translation.title}
                maxLength={200}
                onChange={(e) => update(tag, { title: e.target.value })}
              />
            )}
          </Field>
          <Field label={`Message (${tag})`}>
            {(id) => (
              <textarea
                id={id}
                rows={4}
                value={translation.body}
                onChange={(e) => update(tag, { body: e.target.value })}
              />
            )}
          </Field>
        </div>
      ))}
      <div className="row">
        <Field label="Add a language" hint="such as fr-BE">
          {(id) => (
            <input
              id={id}
              value={adding}
              onChange={(e) => setAdding(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  add();
                }
              }}
            />
          )}
        </Field>
        <div className="translation-add">
          <button type="button" onClick={add} disabled={!canonicalLocale(adding.trim())}>
            Add translation
          </button>
        </div>
      </div>
      <FieldErrorList errors={props.errors.translations} />
    </fieldset>
  );
}

/**
 * A pulse survey's questions (issue 21): a scale, a choice or a free text each. Answers
 * are anonymous and results show only for groups of 5 respondents or more.
 */
function SurveyEditor(props: {
  questions: SurveyQuestion[];
  onChange: (questions: SurveyQuestion[]) => void;
  errors: string[];
}) {
  const { questions, onChange } = props;
  const replace = (i: number, question: SurveyQuestion) => onChange(questions.map((q, j) => (j === i ? question : q)));
  const ofType = (type: SurveyQuestion['type'], prompt: string): SurveyQuestion =>
    type === 'scale'
      ? { type, prompt, min: 1, max: 5 }
      : type === 'choice'
        ? { type, prompt, options: ['', ''] }
        : { type, prompt };
  return (
    <fieldset aria-label="Survey questions">
      <legend>Survey questions</legend>
      <p className="muted">Answers are anonymous; results show only for groups of 5 people or more.</p>
      {questions.length === 0 && <p className="muted">No questions yet.</p>}
      {questions.map((question, i) => (
        <div key={i} className="question card">
          <div className="row">
            <Field label={`Survey question ${i + 1}`}>
              {(id) => (
                <input
                  id={id}
                  value={question.prompt}
                  onChange={(e) => replace(i, { ...question, prompt: e.target.value })}
                />
              )}
            </Field>
            <Field label={`Answered with (question ${i + 1})`}>
              {(id) => (
                <select
                  id={id}
                  value={question.type}
                  onChange={(e) => replace(i, ofType(e.target.value as SurveyQuestion['type'], question.prompt))}
                >
                  <option value="scale">A scale</option>
                  <option value="choice">A choice</option>
                  <option value="text">A text</option>
                </select>
              )}
            </Field>
          </div>
          {question.type === 'scale' && (
            <p className="muted">
              From {question.min ?? 1} to {question.max ?? 5}
            </p>
          )}
          {question.type === 'choice' && (
            <>
              {question.options.map((option, o) => (
                <input
                  key={o}
                  aria-label={`Survey question ${i + 1}, option ${o + 1}`}
                  value={option}
                  onChange={(e) =>
                    replace(i, { ...question, options: question.options.map((v, k) => (k === o ? e.target.value : v)) })
                  }
                />
              ))}
              <button type="button" onClick={() => replace(i, { ...question, options: [...question.options, ''] })}>
                Add option
              </button>
            </>
          )}
          <button type="button" className="link" onClick={() => onChange(questions.filter((_, j) => j !== i))}>
            Remove question {i + 1}
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...questions, ofType('scale', '')])}>
        Add a survey question
      </button>
      {props.errors.length > 0 && (
        <ul className="field-errors" role="alert">
          {props.errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

function QuestionsEditor(props: {
  questions: QuizQuestion[];
  onChange: (q: QuizQuestion[]) => void;
  errors: string[];
}) {
  const { questions, onChange } = props;
  const update = (i: number, patch: Partial<QuizQuestion>) =>
    onChange(questions.map((q, j) => (j === i ? { ...q, ...patch } : q)));
  return (
    <fieldset>
      <legend>Comprehension questions</legend>
      {questions.length === 0 && <p className="muted">No questions yet.</p>}
      {questions.map((question, i) => (
        <div key={i} className="question card">
          <Field label={`Question ${i + 1}`}>
            {(id) => <input id={id} value={question.prompt} onChange={(e) => update(i, { prompt: e.target.value })} />}
          </Field>
          {question.options.map((option, o) => (
            <div key={o} className="option-row">
              <input
                type="radio"
                name={`answer-${i}`}
                aria-label={`Option ${o + 1} is the right answer`}
                checked={question.answer === o}
                onChange={() => update(i, { answer: o })}
              />
              <input
                aria-label={`Question ${i + 1}, option ${o + 1}`}
                value={option}
                onChange={(e) => update(i, { options: question.options.map((v, k) => (k === o ? e.target.value : v)) })}
              />
              <button
                type="button"
                className="link"
                aria-label={`Remove option ${o + 1}`}
                disabled={question.options.length <= 2}
                onClick={() =>
                  update(i, {
                    options: question.options.filter((_, k) => k !== o),
                    answer: question.answer >= o && question.answer > 0 ? question.answer - 1 : question.answer,
                  })
                }
              >
                Remove
              </button>
            </div>
          ))}
          <div className="actions">
            <button type="button" onClick={() => update(i, { options: [...question.options, ''] })}>
              Add option
            </button>
            <button type="button" className="link" onClick={() => onChange(questions.filter((_, j) => j !== i))}>
              Remove question
            </button>
          </div>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...questions, { prompt: '', options: ['', ''], answer: 0 }])}>
        Add a question
      </button>
      <FieldErrorList errors={props.errors} />
    </fieldset>
  );
}
