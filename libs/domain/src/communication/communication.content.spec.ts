import type { CommunicationInput } from '../commands';
import { at, envelope, expectInvalid, NOW } from '../testing';
import { communicationDecider } from './communication.decider';
import { contentChanges, normalizeContent } from './communication.content';
import { decide, NEW, NOTICE, NOTICE_INPUT, stateAt, TASK, TRAINING } from './communication.testing';

const draft = (payload: CommunicationInput) => decide({ type: 'communication.draft', payload }, NEW);
const draftData = (payload: CommunicationInput) => draft(payload)[0].data;

describe('communication content', () => {
  describe('defaults and shape of the drafted event', () => {
    it('defaults priority to normal and writes revision 1', () => {
      expect(draftData(NOTICE_INPUT)).toEqual({ ...NOTICE_INPUT, priority: 'normal', revision: 1 });
    });

    it('defaults evidence to none on a task', () => {
      const { evidence: _evidence, ...task } = TASK;
      expect(draftData(task)).toMatchObject({ kind: 'task', evidence: 'none' });
    });

    it('leaves undefined optionals out of the event data', () => {
      const data = draftData({
        ...NOTICE_INPUT,
        dueAt: undefined,
        evidence: undefined,
        questions: undefined,
        audience: { regionIds: ['region-north'], tags: undefined },
      });
      expect(Object.keys(data as object).sort()).toEqual(['audience', 'body', 'kind', 'priority', 'revision', 'title']);
      expect(Object.keys((data as { audience: object }).audience)).toEqual(['regionIds']);
    });

    it('reads evidence none on a non-task and empty questions as absent', () => {
      const data = draftData({ ...NOTICE_INPUT, evidence: 'none', questions: [] });
      expect(data).not.toHaveProperty('evidence');
      expect(data).not.toHaveProperty('questions');
    });
  });

  describe('mandated and suggested tasks (issue 21)', () => {
    it('keeps only `suggested`: a task is mandated unless head office says otherwise', () => {
      expect(draftData({ ...TASK, mandate: 'suggested' })).toMatchObject({ mandate: 'suggested' });
      expect(draftData({ ...TASK, mandate: 'mandated' })).not.toHaveProperty('mandate');
      expect(draftData(TASK)).not.toHaveProperty('mandate');
    });

    it('refuses a mandate on anything but a task', () => {
      expectInvalid(() => draft({ ...NOTICE_INPUT, mandate: 'suggested' }), ['mandate']);
    });

    it('says a suggested task made mandated again as `mandated` in the revision', () => {
      const suggested = normalizeContent({ ...TASK, mandate: 'suggested' });
      expect(contentChanges(suggested, normalizeContent(TASK))).toEqual({ mandate: 'mandated' });
      expect(normalizeContent({ ...suggested, mandate: 'mandated' })).not.toHaveProperty('mandate');
    });
  });

  describe('pulse surveys (issue 21)', () => {
    const SURVEY: CommunicationInput = {
      ...NOTICE_INPUT,
      kind: 'survey',
      survey: {
        questions: [
          { type: 'scale', prompt: 'How was the week?' },
          { type: 'choice', prompt: 'Best shift?', options: ['morning', 'evening'] },
          { type: 'text', prompt: 'Anything else?' },
        ],
      },
    };

    it('keeps a survey’s questions', () => {
      expect(draftData(SURVEY)).toMatchObject({ kind: 'survey', survey: SURVEY.survey });
    });

    it.each([
      ['no question', { ...SURVEY, survey: { questions: [] } }, ['survey.questions']],
      ['survey questions on a notice', { ...SURVEY, kind: 'notice' as const }, ['survey']],
      [
        'a scale upside down',
        { ...SURVEY, survey: { questions: [{ type: 'scale' as const, prompt: 'x', min: 5, max: 1 }] } },
        ['survey.questions.0'],
      ],
      [
        'a choice of one',
        { ...SURVEY, survey: { questions: [{ type: 'choice' as const, prompt: 'x', options: ['only'] }] } },
        ['survey.questions.0.options'],
      ],
      [
        'an empty prompt',
        { ...SURVEY, survey: { questions: [{ type: 'text' as const, prompt: ' ' }] } },
        ['survey.questions.0.prompt'],
      ],
    ])('refuses %s', (_case, input, fields) => {
      expectInvalid(() => draft(input), fields);
    });
  });

  describe('delivery (daily brief)', () => {
    it('keeps next-brief on a normal item and reads now as absent', () => {
      expect(draftData({ ...NOTICE_INPUT, delivery: 'next-brief' })).toMatchObject({ delivery: 'next-brief' });
      expect(draftData({ ...NOTICE_INPUT, delivery: 'now' })).not.toHaveProperty('delivery');
    });

    it('refuses any delivery named on an urgent or critical item, and unknown deliveries', () => {
      expectInvalid(() => draft({ ...NOTICE_INPUT, priority: 'urgent', delivery: 'next-brief' }), ['delivery']);
      expectInvalid(() => draft({ ...NOTICE_INPUT, priority: 'critical', delivery: 'now' }), ['delivery']);
      expectInvalid(() => draft({ ...NOTICE_INPUT, delivery: 'tomorrow' as never }), ['delivery']);
    });

    it('sends a next-brief item at once when a revision raises its priority, and says so in the changes', () => {
      const state = stateAt('drafted', undefined, { ...NOTICE, delivery: 'next-brief' });
      const [event] = decide({ type: 'communication.revise', payload: { priority: 'urgent' } }, state);
      expect(event.data).toMatchObject({ changes: { priority: 'urgent', delivery: 'now' } });
      expectInvalid(
        () => decide({ type: 'communication.revise', payload: { priority: 'urgent', delivery: 'now' } }, state),
        ['delivery'],
      );
    });
  });

  describe('translations', () => {
    const FR = { title: 'Étiquettes', body: 'Remplacez les étiquettes.' };
    const ES = { title: 'Etiquetas', body: 'Cambie las etiquetas.' };
    const translated = () => stateAt('published', undefined, { ...NOTICE, translations: { 'fr-BE': FR, 'es-ES': ES } });
    const revise = (payload: Partial<CommunicationInput>, state = translated()) =>
      decide({ type: 'communication.revise', payload }, state)[0].data as { changes: Record<string, unknown> };

    it('keeps translations and a default language other than en; en is the default', () => {
      expect(draftData({ ...NOTICE_INPUT, language: 'nl', translations: { 'fr-BE': FR } })).toMatchObject({
        language: 'nl',
        translations: { 'fr-BE': FR },
      });
      expect(draftData({ ...NOTICE_INPUT, language: 'en', translations: {} })).not.toHaveProperty('language');
    });

    it('refuses a translation into the default language, and questions that do not match the quiz', () => {
      expectInvalid(
        () => draft({ ...NOTICE_INPUT, language: 'fr-BE', translations: { 'fr-BE': FR } }),
        ['translations'],
      );
      const questions = [{ prompt: 'Limite ?', options: ['50', '100', '200'] }];
      expectInvalid(() => draft({ ...TRAINING, translations: { fr: { ...FR, questions } } }), ['translations']);
      expectInvalid(() => draft({ ...NOTICE_INPUT, language: 'en_GB' }), ['language']);
    });

    it('marks the translations a revision of the default text leaves alone as stale, until they are updated', () => {
      const { changes } = revise({
        body: 'Replace the labels in aisles 3 and 4.',
        translations: { 'fr-BE': { ...FR, body: 'Allées 3 et 4.' }, 'es-ES': ES },
      });
      expect(changes.translations).toEqual({
        'fr-BE': { ...FR, body: 'Allées 3 et 4.' },
        'es-ES': { ...ES, stale: true },
      });
      // Without translations in the revision, all of them are left behind.
      expect(revise({ title: 'Winter price labels' }).changes.translations).toEqual({
        'fr-BE': { ...FR, stale: true },
        'es-ES': { ...ES, stale: true },
      });
      // A revision of something else leaves them as they are.
      expect(revise({ priority: 'urgent' }).changes).not.toHaveProperty('translations');
    });

    it('keeps a stale translation stale when it is sent again unchanged, and current once it changes', () => {
      const [event] = decide({ type: 'communication.revise', payload: { title: 'Winter price labels' } }, translated());
      const stale = communicationDecider.evolve(
        translated(),
        envelope('communication.revised', event!.data as never, { version: 5 }),
      );
      expect(
        revise({ translations: { 'fr-BE': FR, 'es-ES': { ...ES, title: 'Etiquetas de invierno' } } }, stale).changes
          .translations,
      ).toEqual({
        'fr-BE': { ...FR, stale: true },
        'es-ES': { ...ES, title: 'Etiquetas de invierno' },
      });
    });
  });

  describe('audience', () => {
    it.each([
      ['all stores', { all: true }],
      ['regions', { regionIds: ['region-south'] }],
      ['stores', { storeIds: ['store-2'] }],
      ['tags', { tags: ['flagship'] }],
    ])('accepts an audience of %s', (_name, audience) => {
      expect(draft({ ...NOTICE_INPUT, audience })).toHaveLength(1);
    });

    it.each([
      ['nothing', {}],
      ['roles alone', { roles: ['cashier' as const] }],
      ['all: false', { all: false }],
      ['empty lists', { regionIds: [], storeIds: [], tags: [] }],
    ])('refuses an audience that targets %s', (_name, audience) => {
      expectInvalid(() => draft({ ...NOTICE_INPUT, audience }), ['audience']);
    });

    it('names the unknown regions and stores, not the known ones', () => {
      const error = expectInvalid(
        () =>
          draft({
            ...NOTICE_INPUT,
            audience: { regionIds: ['region-north', 'region-x'], storeIds: ['store-1', 'store-y', 'store-z'] },
          }),
        ['audience.regionIds', 'audience.storeIds'],
      );
      expect(error.fields['audience.regionIds'].join()).toContain('region-x');
      expect(error.fields['audience.regionIds'].join()).not.toContain('region-north');
      expect(error.fields['audience.storeIds'].join()).toMatch(/store-y.*store-z/);
    });
  });

  describe('due date and evidence', () => {
    it('requires a due date on a task', () => {
      const { dueAt: _dueAt, ...task } = TASK;
      expectInvalid(() => draft(task), ['dueAt']);
    });

    it.each([
      ['in the past', at(-1)],
      ['now', NOW.toISOString()],
      ['not a date', 'next tuesday'],
    ])('refuses a due date %s, on any kind', (_name, dueAt) => {
      expectInvalid(() => draft({ ...TASK, dueAt }), ['dueAt']);
      expectInvalid(() => draft({ ...NOTICE_INPUT, dueAt }), ['dueAt']);
    });

    it('accepts a future due date on a notice', () => {
      expect(draftData({ ...NOTICE_INPUT, dueAt: at(30) })).toMatchObject({ dueAt: at(30) });
    });

    it.each(['note', 'photo'] as const)('allows evidence %s only on a task', (evidence) => {
      expect(draftData({ ...TASK, evidence })).toMatchObject({ evidence });
      expectInvalid(() => draft({ ...NOTICE_INPUT, evidence }), ['evidence']);
    });
  });

  describe('quiz questions', () => {
    const question = TRAINING.questions![0];

    it('keeps the questions of a training', () => {
      expect(draftData(TRAINING)).toMatchObject({ questions: TRAINING.questions });
    });

    it.each(['notice', 'task', 'campaign'] as const)('refuses questions on a %s', (kind) => {
      const content = { ...TRAINING, kind, dueAt: at(60) };
      expectInvalid(() => draft(content), ['questions']);
    });

    it('needs at least two options and an answer that indexes them, per question', () => {
      const questions = [
        { ...question, options: ['only one'], answer: 0 },
        { ...question, answer: 2 },
        { ...question, answer: 0.5 },
        { ...question, answer: -1 },
        { ...question, prompt: ' ' },
        question,
      ];
      expectInvalid(
        () => draft({ ...TRAINING, questions }),
        ['questions.0.options', 'questions.1.answer', 'questions.2.answer', 'questions.3.answer', 'questions.4.prompt'],
      );
    });
  });

  it('names every broken field of one draft at once', () => {
    expectInvalid(
      () => draft({ kind: 'task', title: ' ', body: '', audience: { regionIds: ['region-x'] }, evidence: 'photo' }),
      ['title', 'body', 'audience.regionIds', 'dueAt'],
    );
  });

  describe('revisions', () => {
    it('checks the merged content, not only the changed fields', () => {
      const state = stateAt('drafted', undefined, TASK);
      expectInvalid(
        () => decide({ type: 'communication.revise', payload: { audience: { roles: ['cashier'] } } }, state),
        ['audience'],
      );
      expectInvalid(() => decide({ type: 'communication.revise', payload: { kind: 'training' } }, state), ['evidence']);
    });

    it('holds a due date to "in the future" only when the revision sets it', () => {
      const state = stateAt('drafted', undefined, TASK);
      const later = { now: new Date(Date.parse(TASK.dueAt!) + 60_000) };
      expect(decide({ type: 'communication.revise', payload: { title: 'Recount' } }, state, undefined, later)).toEqual([
        { type: 'communication.revised', data: { revision: 2, changes: { title: 'Recount' } } },
      ]);
      expectInvalid(() => decide({ type: 'communication.revise', payload: { dueAt: at(-5) } }, state), ['dueAt']);
    });

    it('requires a due date when a revision turns the content into a task', () => {
      expectInvalid(
        () => decide({ type: 'communication.revise', payload: { kind: 'task' } }, stateAt('drafted')),
        ['dueAt'],
      );
    });
  });

  describe('normalizeContent and contentChanges', () => {
    it('is idempotent', () => {
      for (const content of [NOTICE, TASK, TRAINING]) {
        expect(normalizeContent(normalizeContent(content))).toEqual(normalizeContent(content));
      }
    });

    it('writes a field that became absent with its absent value', () => {
      const notice = normalizeContent({ ...TRAINING, kind: 'notice', questions: [] });
      expect(contentChanges(TRAINING, notice)).toEqual({ kind: 'notice', questions: [] });
      const fromTask = normalizeContent({ ...TASK, kind: 'notice', evidence: 'none' });
      expect(contentChanges(TASK, fromTask)).toEqual({ kind: 'notice', evidence: 'none' });
    });
  });

  describe('attachments and cover', () => {
    const photo = { mediaId: 'm-photo', sha256: 'a'.repeat(64), contentType: 'image/jpeg' as const, size: 1000 };
    const pdf = { mediaId: 'm-pdf', sha256: 'b'.repeat(64), contentType: 'application/pdf' as const, size: 2000 };
    const withMedia = { ...NOTICE_INPUT, attachments: [{ ...pdf, name: 'Guide.pdf' }], cover: photo };

    it('keeps them in the drafted event and the feed snapshot carries them', () => {
      expect(draftData(withMedia)).toMatchObject({ attachments: [{ ...pdf, name: 'Guide.pdf' }], cover: photo });
      expect(draftData({ ...NOTICE_INPUT, attachments: [], cover: null })).not.toHaveProperty('cover');
    });

    it('refuses a cover that is not an image, more than 10 attachments and nameless ones', () => {
      expectInvalid(() => draft({ ...NOTICE_INPUT, cover: pdf }), ['cover']);
      const eleven = Array.from({ length: 11 }, () => ({ ...photo, name: 'x.jpg' }));
      expectInvalid(() => draft({ ...NOTICE_INPUT, attachments: eleven }), ['attachments']);
      expectInvalid(() => draft({ ...NOTICE_INPUT, attachments: [{ ...photo, name: ' ' }] }), ['attachments.0.name']);
    });

    it('a revision that removes them writes their absent values, and state drops them', () => {
      const before = normalizeContent(withMedia);
      const after = normalizeContent({ ...before, attachments: [], cover: null });
      expect(after).not.toHaveProperty('attachments');
      expect(after).not.toHaveProperty('cover');
      const changes = contentChanges(before, after);
      expect(changes).toEqual({ attachments: [], cover: null });
      expect(normalizeContent({ ...before, ...changes })).toEqual(after);
    });
  });
});
