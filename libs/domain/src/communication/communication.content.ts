import {
  COMMUNICATION_KINDS,
  DEFAULT_LANGUAGE,
  DELIVERIES,
  EVIDENCE,
  languageTagProblem,
  translationsProblems,
  translationText,
  withoutStaleMarks,
  MAX_COMMUNICATION_ATTACHMENTS,
  PRIORITIES,
  type Audience,
  type CommunicationContent,
  type CommunicationRevised,
  type QuizQuestion,
  type Translations,
} from '@lastmeter/contracts';
import type { CommunicationInput } from '../commands';
import type { DirectoryView } from '../decider';
import { FieldProblems, instant, sameValue, withoutUndefined } from '../values';

export const CONTENT_FIELDS = [
  'kind',
  'title',
  'body',
  'priority',
  'delivery',
  'audience',
  'dueAt',
  'evidence',
  'mandate',
  'questions',
  'survey',
  'attachments',
  'cover',
  'language',
  'translations',
] as const satisfies readonly (keyof CommunicationContent)[];

/**
 * Content in the one shape events and state keep: defaults applied, undefined keys gone.
 * `evidence: 'none'` on a non-task and `questions: []` mean "absent": that is how a
 * revision that changes the kind clears the old kind's fields (JSON cannot carry undefined).
 * Idempotent, so evolve can apply it to `{ ...content, ...changes }` and get what decide saw.
 */
export function normalizeContent(input: CommunicationInput): CommunicationContent {
  const isTask = input.kind === 'task';
  const evidence = isTask ? (input.evidence ?? 'none') : input.evidence === 'none' ? undefined : input.evidence;
  const questions = input.questions?.length ? input.questions : undefined;
  const attachments = input.attachments?.length ? input.attachments : undefined;
  return withoutUndefined({
    kind: input.kind,
    title: input.title,
    body: input.body,
    priority: input.priority ?? 'normal',
    // Only a normal item waits for the brief: raising one to urgent or critical sends it at once.
    delivery: input.delivery === 'now' || (input.priority ?? 'normal') !== 'normal' ? undefined : input.delivery,
    audience: withoutUndefined(input.audience ?? {}),
    dueAt: input.dueAt,
    evidence,
    // Only `suggested` is said: a task is mandated unless head office says otherwise.
    mandate: input.mandate === 'suggested' ? 'suggested' : undefined,
    questions,
    // `{ questions: [] }` is "absent" (a revision that changes the kind clears it).
    survey: input.survey?.questions?.length ? input.survey : undefined,
    attachments,
    cover: input.cover ?? undefined,
    language: input.language === DEFAULT_LANGUAGE ? undefined : input.language,
    translations: input.translations && Object.keys(input.translations).length ? input.translations : undefined,
  });
}

/**
 * The fields of `next` that differ from `current`. A field that became absent is written
 * with its "absent" value (see normalizeContent) so the change survives JSON.
 */
export function contentChanges(
  current: CommunicationContent,
  next: CommunicationContent,
): CommunicationRevised['changes'] {
  const changes: CommunicationRevised['changes'] = {};
  for (const field of CONTENT_FIELDS) {
    if (sameValue(current[field], next[field])) continue;
    const value = next[field] ?? ABSENT[field];
    Object.assign(changes, { [field]: value });
  }
  return changes;
}

const ABSENT: CommunicationRevised['changes'] = {
  evidence: 'none',
  mandate: 'mandated',
  survey: { questions: [] },
  questions: [],
  attachments: [],
  cover: null,
  delivery: 'now',
  language: DEFAULT_LANGUAGE,
  translations: {},
};

const URGENT_AT_ONCE = 'is only for normal items: urgent and critical ones are always delivered at once';

/**
 * `delivery` given (even `now`) with an urgent or critical priority: refused, so a client
 * learns that those never wait for the brief (issue 22). A revision that only raises the
 * priority of a next-brief item is fine: the item then goes at once (normalizeContent).
 */
export function checkDeliveryGiven(input: Partial<CommunicationInput>, content: CommunicationContent): void {
  if (input.delivery === undefined || content.priority === 'normal') return;
  const problems = new FieldProblems();
  problems.add('delivery', URGENT_AT_ONCE);
  problems.throwIfAny();
}

export interface ContentCheck {
  now: Date;
  directory: DirectoryView;
  /** dueAt is only held to "in the future" when it is being set, not on every later revision. */
  dueAtIsNew: boolean;
}

/** Throws InvalidCommand naming every field of `content` that breaks a content rule. */
export function assertValidContent(content: CommunicationContent, check: ContentCheck): void {
  const problems = new FieldProblems();
  if (!COMMUNICATION_KINDS.includes(content.kind))
    problems.add('kind', `must be one of ${COMMUNICATION_KINDS.join(', ')}`);
  if (typeof content.title !== 'string' || content.title.trim() === '') problems.add('title', 'must not be empty');
  if (typeof content.body !== 'string' || content.body.trim() === '') problems.add('body', 'must not be empty');
  if (!PRIORITIES.includes(content.priority)) problems.add('priority', `must be one of ${PRIORITIES.join(', ')}`);
  if (content.delivery !== undefined && !DELIVERIES.includes(content.delivery)) {
    problems.add('delivery', `must be one of ${DELIVERIES.join(', ')}`);
  }
  checkAudience(content.audience, check.directory, problems);
  checkDueAt(content, check, problems);
  checkMandate(content, problems);
  checkSurvey(content, problems);
  if (content.evidence !== undefined) {
    if (content.kind !== 'task') problems.add('evidence', 'is only allowed on a task');
    else if (!EVIDENCE.includes(content.evidence)) problems.add('evidence', `must be one of ${EVIDENCE.join(', ')}`);
  }
  if (content.questions !== undefined) {
    if (content.kind !== 'training') problems.add('questions', 'are only allowed on a training');
    else checkQuestions(content.questions, problems);
  }
  checkTranslations(content, problems);
  if (content.attachments !== undefined && content.attachments.length > MAX_COMMUNICATION_ATTACHMENTS) {
    problems.add('attachments', `at most ${MAX_COMMUNICATION_ATTACHMENTS}`);
  }
  content.attachments?.forEach((attachment, i) => {
    if (typeof attachment.name !== 'string' || attachment.name.trim() === '') {
      problems.add(`attachments.${i}.name`, 'must not be empty');
    }
  });
  if (content.cover !== undefined && !content.cover.contentType?.startsWith('image/')) {
    problems.add('cover', 'must be an image (JPEG, PNG or WebP)');
  }
  problems.throwIfAny();
}

function checkAudience(audience: Audience, directory: DirectoryView, problems: FieldProblems): void {
  // Roles only narrow which terminals of a targeted store see it; alone they target nothing.
  const targets =
    audience.all === true || !!audience.regionIds?.length || !!audience.storeIds?.length || !!audience.tags?.length;
  if (!targets) problems.add('audience', 'must target all stores, or some regions, stores or tags');
  const unknownRegions = (audience.regionIds ?? []).filter((id) => !directory.regionExists(id));
  if (unknownRegions.length) problems.add('audience.regionIds', `unknown regions: ${unknownRegions.join(', ')}`);
  const unknownStores = (audience.storeIds ?? []).filter((id) => !directory.storeExists(id));
  if (unknownStores.length) problems.add('audience.storeIds', `unknown stores: ${unknownStores.join(', ')}`);
}

const MAX_SURVEY_QUESTIONS = 20;
const MAX_SCALE_STEPS = 11;

/** A survey's questions: on a survey only, and a survey has 1 to 20 well-formed ones. */
function checkSurvey(content: CommunicationContent, problems: FieldProblems): void {
  if (content.kind !== 'survey') {
    if (content.survey) problems.add('survey', 'only a survey has survey questions');
    return;
  }
  const questions = content.survey?.questions ?? [];
  if (questions.length === 0) problems.add('survey.questions', 'a survey needs at least one question');
  if (questions.length > MAX_SURVEY_QUESTIONS) {
    problems.add('survey.questions', `at most ${MAX_SURVEY_QUESTIONS} questions`);
  }
  questions.forEach((question, i) => {
    const at = `survey.questions.${i}`;
    if (typeof question.prompt !== 'string' || !question.prompt.trim())
      problems.add(`${at}.prompt`, 'must not be empty');
    if (question.type === 'scale') {
      const { min = 1, max = 5 } = question;
      if (!Number.isInteger(min) || !Number.isInteger(max) || min >= max || max - min + 1 > MAX_SCALE_STEPS) {
        problems.add(at, `a scale goes from min to max, whole numbers, min < max, at most ${MAX_SCALE_STEPS} steps`);
      }
    } else if (question.type === 'choice') {
      const options = question.options ?? [];
      if (options.length < 2 || options.length > 10 || options.some((o) => typeof o !== 'string' || !o.trim())) {
        problems.add(`${at}.options`, '2 to 10 options, none empty');
      }
    } else if (question.type !== 'text') {
      problems.add(`${at}.type`, 'must be one of scale, choice, text');
    }
  });
  if (content.questions?.length) problems.add('questions', 'a survey asks its `survey` questions, not quiz questions');
}

function checkMandate(content: CommunicationContent, problems: FieldProblems): void {
  if (content.mandate !== undefined && content.kind !== 'task') {
    problems.add('mandate', 'only a task is mandated or suggested');
  }
}

function checkDueAt(content: CommunicationContent, check: ContentCheck, problems: FieldProblems): void {
  if (content.dueAt === undefined) {
    if (content.kind === 'task') problems.add('dueAt', 'is required for a task');
    return;
  }
  const due = instant(content.dueAt);
  if (due === undefined) problems.add('dueAt', 'must be an ISO 8601 date-time');
  else if (check.dueAtIsNew && due <= check.now.getTime()) problems.add('dueAt', 'must be in the future');
}

function checkTranslations(content: CommunicationContent, problems: FieldProblems): void {
  if (content.language !== undefined) {
    const problem = languageTagProblem(content.language);
    if (problem) problems.add('language', problem);
  }
  if (content.translations === undefined) return;
  const shape = translationsProblems(withoutStaleMarks(content.translations));
  if (shape.length) return shape.forEach((problem) => problems.add('translations', problem));
  const language = content.language ?? DEFAULT_LANGUAGE;
  for (const [tag, translation] of Object.entries(content.translations)) {
    if (tag === language) problems.add('translations', `${tag}: is the default language: write it in title and body`);
    const questions = translation.questions;
    if (questions === undefined) continue;
    const own = content.questions ?? [];
    if (questions.length !== own.length) {
      problems.add('translations', `${tag}.questions: ${questions.length} given, the quiz has ${own.length}`);
      continue;
    }
    questions.forEach((question, i) => {
      if (question.options.length !== own[i]!.options.length) {
        problems.add(
          'translations',
          `${tag}.questions.${i}.options: ${question.options.length} given, the question has ${own[i]!.options.length}`,
        );
      }
    });
  }
}

/**
 * The translations after a revision (issue 22): a translation the revision changed (or
 * added) is current; one it left alone becomes stale when the revision changed the
 * default text (title, body or questions), and stays stale until it is updated.
 */
export function markStaleTranslations(
  before: CommunicationContent,
  next: CommunicationContent,
  given: Translations | undefined,
): Translations | undefined {
  if (!next.translations) return undefined;
  const defaultChanged = (['title', 'body', 'questions'] as const).some(
    (field) => !sameValue(before[field], next[field]),
  );
  const marked: Translations = {};
  for (const [tag, translation] of Object.entries(next.translations)) {
    const text = translationText(translation);
    const previous = before.translations?.[tag];
    const sent = given?.[tag];
    const updated = !previous || (sent !== undefined && !sameValue(translationText(previous), translationText(sent)));
    marked[tag] = !updated && (defaultChanged || previous?.stale) ? { ...text, stale: true } : text;
  }
  return marked;
}

function checkQuestions(questions: QuizQuestion[], problems: FieldProblems): void {
  questions.forEach((question, i) => {
    if (typeof question.prompt !== 'string' || question.prompt.trim() === '') {
      problems.add(`questions.${i}.prompt`, 'must not be empty');
    }
    const options = Array.isArray(question.options) ? question.options : [];
    if (options.length < 2) problems.add(`questions.${i}.options`, 'needs at least 2 options');
    if (!Number.isInteger(question.answer) || question.answer < 0 || question.answer >= options.length) {
      problems.add(`questions.${i}.answer`, 'must be the index of one of the options');
    }
  });
}
