import { canonicalLocale, languageTagProblem, translationFor, translationsProblems } from './translations';

describe('translations', () => {
  it('takes canonical language tags and names the right spelling of others', () => {
    expect(languageTagProblem('fr-BE')).toBeUndefined();
    expect(languageTagProblem('pt')).toBeUndefined();
    expect(languageTagProblem('fr-be')).toBe('"fr-be" must be written fr-BE');
    expect(languageTagProblem('fr_BE')).toBe('"fr_BE" is not a language tag (BCP 47, such as fr-BE): fr-BE?');
    expect(languageTagProblem('français')).toMatch(/is not a language tag/);
    expect(languageTagProblem('')).toMatch(/must be a language tag/);
    expect(canonicalLocale('es_es')).toBe('es-ES');
  });

  it('names every problem with where it is', () => {
    expect(
      translationsProblems({
        'fr-BE': { title: 'Bonjour', body: 'Texte' },
        'es-es': { title: 'Hola', body: 'Texto' },
        de: { title: '', body: 'Text', stale: true },
        nl: 'Hallo',
        it: { title: 'Ciao', body: 'Testo', questions: [{ prompt: 'Q', options: ['a', ''], answer: 1 }] },
      }),
    ).toEqual([
      'es-es: "es-es" must be written es-ES',
      'de.stale: not a field of a translation (title, body, questions)',
      'de.title: must not be empty',
      'nl: must be { title, body, questions? }',
      'it.questions.0.options: must be a list of non-empty texts',
      "it.questions.0: answer not allowed (the answer is the default's)",
    ]);
    expect(translationsProblems([])).toEqual([expect.stringMatching(/must be an object of language tags/)]);
  });

  it('shows a store its locale, else its language, else the default; never a stale translation', () => {
    const translations = {
      'fr-BE': { title: 'Belge', body: '…' },
      fr: { title: 'Français', body: '…' },
      es: { title: 'Español', body: '…', stale: true as const },
    };
    expect(translationFor('fr-BE', translations, 'en')).toMatchObject({
      language: 'fr-BE',
      translation: { title: 'Belge' },
    });
    expect(translationFor('fr-CA', translations, 'en')).toMatchObject({
      language: 'fr',
      translation: { title: 'Français' },
    });
    expect(translationFor('es-ES', translations, 'en')).toEqual({ language: 'en' });
    expect(translationFor('de-DE', translations, 'en')).toEqual({ language: 'en' });
    expect(translationFor('fr_be', translations)).toMatchObject({ language: 'fr-BE' });
    expect(translationFor('fr-BE', undefined, 'nl')).toEqual({ language: 'nl' });
  });
});
