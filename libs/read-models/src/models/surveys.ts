import type Redis from 'ioredis';
import {
  SURVEY_THRESHOLD,
  type DomainEvent,
  type SurveyGroupResult,
  type SurveyQuestion,
  type SurveyQuestionResult,
  type SurveyResults,
} from '@lastmeter/contracts';
import { requireStrings, type ProjectionContext, type ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';
import type { CatalogueEntry } from './catalogue';

/** The keys of a survey's results (one hash tag: the script writes both atomically). */
function surveyKeys(keys: RedisKeys, communicationId: string) {
  return {
    ids: keys.model('survey', `{${communicationId}}`, 'ids'),
    counts: keys.model('survey', `{${communicationId}}`, 'counts'),
  };
}

/**
 * The gateway's one-answer-per-person state of a survey (issue 21): the survey's key and
 * the keyed hashes of those who answered. Not read models: deleted when the survey closes.
 */
export function surveyPersonKeys(keys: RedisKeys, communicationId: string) {
  return {
    key: keys.meta(`survey-key:${communicationId}`),
    answered: keys.meta(`survey-answered:${communicationId}`),
    pending: (token: string) => keys.meta(`survey-pending:${communicationId}:${token}`),
  };
}

/**
 * Pulse survey results (issue 21): per store, how many answered and each question's
 * counts (`q:<i>:<store>:<value>`) and texts (`t:<i>:<store>:<answer id>`), counted once per
 * answer id. Nothing here names a person or a terminal: the facts do not. When the survey
 * closes (retracted or expired), the gateway's key and keyed hashes are deleted, so no
 * stored value can tell who answered any more.
 */
export const surveys: ReadModel = {
  name: 'surveys',
  project(event: DomainEvent, context: ProjectionContext): void {
    if (event.type === 'survey.answered') {
      requireStrings(event.data, 'storeId', 'communicationId');
      const { storeId, communicationId, answers } = event.data;
      const { ids, counts } = surveyKeys(context.keys, communicationId);
      const fields = answers.flatMap((answer, i) =>
        typeof answer === 'string' ? [`t:${i}:${storeId}:${event.id}`, answer] : [`q:${i}:${storeId}:${answer}`, ''],
      );
      context.script('lmSurveyAnswer', ids, counts, event.id, storeId, ...fields);
      context.announce({ kind: 'reach-changed', communicationId });
    } else if (event.type === 'communication.retracted' || event.type === 'communication.expired') {
      const person = surveyPersonKeys(context.keys, event.aggregateId);
      context.write('DEL', person.key, person.answered);
    }
  },
};

interface StoreAnswers {
  respondents: number;
  /** By question: value → count (scale, choice), or the texts. */
  counts: Map<number, Map<string, number>>;
  texts: Map<number, string[]>;
}

/** Results overall, by region, and by store within one region, each group shown only from SURVEY_THRESHOLD respondents. */
export async function readSurveyResults(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
  scope: { regionId?: string },
): Promise<SurveyResults> {
  const questions = communication.survey?.questions ?? [];
  const flat = await redis.hgetall(surveyKeys(keys, communication.id).counts);
  const stores = new Map<string, StoreAnswers>();
  const of = (storeId: string) => {
    let found = stores.get(storeId);
    if (!found) stores.set(storeId, (found = { respondents: 0, counts: new Map(), texts: new Map() }));
    return found;
  };
  for (const [field, value] of Object.entries(flat)) {
    const [kind, ...rest] = field.split(':');
    if (kind === 'n') of(rest[0]!).respondents = Number(value);
    else if (kind === 'q') {
      const [i, storeId, answer] = rest as [string, string, string];
      const counts = of(storeId).counts;
      const question = counts.get(Number(i)) ?? new Map<string, number>();
      counts.set(Number(i), question.set(answer, Number(value)));
    } else if (kind === 't') {
      const [i, storeId] = rest as [string, string];
      const texts = of(storeId).texts;
      texts.set(Number(i), [...(texts.get(Number(i)) ?? []), value]);
    }
  }
  const ids = [...stores.keys()];
  const regions = ids.length ? await redis.hmget(keys.index('region-of'), ...ids) : [];
  const regionOf = new Map(ids.map((id, i) => [id, regions[i] ?? 'unknown']));
  const group = (members: string[]): SurveyGroupResult =>
    result(
      questions,
      members.map((id) => stores.get(id)!),
    );
  const byRegion = new Map<string, string[]>();
  for (const id of ids) byRegion.set(regionOf.get(id)!, [...(byRegion.get(regionOf.get(id)!) ?? []), id]);
  return {
    communicationId: communication.id,
    threshold: SURVEY_THRESHOLD,
    overall: group(ids),
    byRegion: [...byRegion]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([regionId, members]) => ({ regionId, ...group(members) })),
    ...(scope.regionId
      ? {
          byStore: (byRegion.get(scope.regionId) ?? []).sort().map((storeId) => ({ storeId, ...group([storeId]) })),
        }
      : {}),
  };
}

/** A group's results, or only that it is below the threshold (no number at all). */
function result(questions: readonly SurveyQuestion[], members: StoreAnswers[]): SurveyGroupResult {
  const respondents = members.reduce((sum, store) => sum + store.respondents, 0);
  if (respondents < SURVEY_THRESHOLD) return { belowThreshold: true };
  return {
    respondents,
    belowThreshold: false,
    questions: questions.map((question, i): SurveyQuestionResult => {
      const counts = new Map<string, number>();
      for (const store of members) {
        for (const [value, n] of store.counts.get(i) ?? []) counts.set(value, (counts.get(value) ?? 0) + n);
      }
      if (question.type === 'text') {
        // Sorted, not in the order they came: the order would say more than the texts.
        return { type: 'text', prompt: question.prompt, texts: members.flatMap((s) => s.texts.get(i) ?? []).sort() };
      }
      if (question.type === 'choice') {
        return {
          type: 'choice',
          prompt: question.prompt,
          options: question.options,
          counts: question.options.map((_, option) => counts.get(String(option)) ?? 0),
        };
      }
      const { min = 1, max = 5 } = question;
      const scale: Record<string, number> = {};
      let total = 0;
      let answered = 0;
      for (let value = min; value <= max; value++) {
        const n = counts.get(String(value)) ?? 0;
        scale[value] = n;
        total += n * value;
        answered += n;
      }
      return { type: 'scale', prompt: question.prompt, counts: scale, mean: answered ? total / answered : 0 };
    }),
  };
}
