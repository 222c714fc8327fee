/**
 * Translations of a communication (issue 22; docs/design.md section 7): head office writes
 * once in a default language and adds the text per store locale; each store's feed shows
 * its locale's text, or the default.
 *
 *   { "language": "en", "translations": { "fr-BE": { "title": "…", "body": "…" } } }
 *
 * Keys are BCP 47 language tags in their canonical form (`fr-BE`, `es-ES`, `pt`), as
 * `Intl.getCanonicalLocales` writes them. A training's translation may carry its quiz's
 * questions (prompts and options, same count and order; the answers are the default's).
 */
export interface TranslatedQuestion {
  prompt: string;
  options: string[];
}

export interface Translation {
  title: string;
  body: string;
  questions?: TranslatedQuestion[];
  /**
   * Set by the write side, never sent: a revision changed the default text and not this
   * translation. Stores are shown the default text until the translation is updated.
   */
  stale?: true;
}

export type Translations = Record<string, Translation>;

/** The default language of a communication that does not say. */
export const DEFAULT_LANGUAGE = 'en';
/** Most translations one communication carries. */
export const MAX_TRANSLATIONS = 50;
export const MAX_TRANSLATED_TITLE = 200;
export const MAX_TRANSLATED_BODY = 20_000;

/** The tag as `Intl.getCanonicalLocales` writes it, or undefined when it is no BCP 47 tag. */
function canonicalTag(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** A language tag in canonical form, or undefined when it is not one (`fr_BE` → `fr-BE`). */
export function canonicalLocale(tag: string): string | undefined {
  return canonicalTag(tag.replace(/_/g, '-'));
}

/** A translation's text, without the write side's `stale` mark. */
export function translationText({ stale: _stale, ...text }: Translation): Translation {
  return text;
}

/** Translations as a client sends them: without the write side's `stale` marks. */
export function withoutStaleMarks(translations: Translations): Translations {
  return Object.fromEntries(Object.entries(translations).map(([tag, t]) => [tag, translationText(t)]));
}

/** What is wrong with a language tag used as a key or as `language`; undefined when fine. */
export function languageTagProblem(tag: unknown): string | undefined {
  if (typeof tag !== 'string' || tag === '') return 'must be a language tag such as fr-BE';
  const canonical = canonicalTag(tag);
  if (!canonical) {
    const hint = canonicalLocale(tag);
    return `${JSON.stringify(tag)} is not a language tag (BCP 47, such as fr-BE)${hint ? `: ${hint}?` : ''}`;
  }
  if (canonical !== tag) return `${JSON.stringify(tag)} must be written ${canonical}`;
  return undefined;
}

const TRANSLATION_KEYS = new Set(['title', 'body', 'questions']);

function textProblem(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'must not be empty';
  if (value.length > max) return `at most ${max} characters`;
  return undefined;
}

/**
 * Every problem of a `translations` value as given by a client, each prefixed by where it
 * is (`fr-BE.title: must not be empty`); empty when valid. Shape only: whether its
 * questions match the communication's is the write side's check.
 */
export function translationsProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return ['must be an object of language tags (such as fr-BE) to { title, body, questions? }'];
  }
  const entries = Object.entries(value);
  const problems: string[] = [];
  if (entries.length > MAX_TRANSLATIONS) problems.push(`at most ${MAX_TRANSLATIONS} languages`);
  for (const [tag, translation] of entries) {
    const tagProblem = languageTagProblem(tag);
    if (tagProblem) {
      problems.push(`${tag}: ${tagProblem}`);
      continue;
    }
    if (typeof translation !== 'object' || translation === null || Array.isArray(translation)) {
      problems.push(`${tag}: must be { title, body, questions? }`);
      continue;
    }
    for (const key of Object.keys(translation)) {
      if (!TRANSLATION_KEYS.has(key))
        problems.push(`${tag}.${key}: not a field of a translation (title, body, questions)`);
    }
    const t = translation as Record<string, unknown>;
    const title = textProblem(t.title, MAX_TRANSLATED_TITLE);
    if (title) problems.push(`${tag}.title: ${title}`);
    const body = textProblem(t.body, MAX_TRANSLATED_BODY);
    if (body) problems.push(`${tag}.body: ${body}`);
    if (t.questions !== undefined) {
      if (!Array.isArray(t.questions)) problems.push(`${tag}.questions: must be a list of { prompt, options }`);
      else {
        t.questions.forEach((question: unknown, i) => {
          const q = question as Record<string, unknown> | null;
          if (typeof q !== 'object' || q === null)
            return problems.push(`${tag}.questions.${i}: must be { prompt, options }`);
          const prompt = textProblem(q.prompt, 500);
          if (prompt) problems.push(`${tag}.questions.${i}.prompt: ${prompt}`);
          if (!Array.isArray(q.options) || !q.options.every((o) => typeof o === 'string' && o.trim() !== '')) {
            problems.push(`${tag}.questions.${i}.options: must be a list of non-empty texts`);
          }
          const extra = Object.keys(q).filter((key) => key !== 'prompt' && key !== 'options');
          if (extra.length)
            problems.push(`${tag}.questions.${i}: ${extra.join(', ')} not allowed (the answer is the default's)`);
          return undefined;
        });
      }
    }
  }
  return problems;
}

/**
 * The text a store of `locale` is shown: the translation for its locale, else for its
 * language (`fr` for `fr-BE`), else the default; a stale translation is skipped. Returns
 * the language shown and the translation (undefined: the default text).
 */
export function translationFor(
  locale: string,
  translations: Translations | undefined,
  language = DEFAULT_LANGUAGE,
): { language: string; translation?: Translation } {
  if (!translations) return { language };
  const canonical = canonicalLocale(locale) ?? locale;
  const base = canonical.split('-')[0]!;
  for (const tag of [canonical, base]) {
    const translation = translations[tag];
    if (translation && !translation.stale) return { language: tag, translation };
  }
  return { language };
}
