import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, registerDecorator, type ValidationArguments } from 'class-validator';
import { languageTagProblem, MAX_TRANSLATIONS, translationsProblems } from '@lastmeter/contracts';

function check(name: string, problemsOf: (value: unknown) => string[]): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => problemsOf(value).length === 0,
        defaultMessage: (args?: ValidationArguments) => problemsOf(args?.value).join('; '),
      },
    });
}

/** An optional language tag in canonical BCP 47 form (`fr-BE`), as `Intl.getCanonicalLocales` writes it. */
export function OptionalLanguage(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      description: 'The language of title, body and questions (BCP 47, such as fr-BE); absent: en',
      example: 'en',
    }),
    IsOptional(),
    check('isLanguageTag', (value) => {
      const problem = languageTagProblem(value);
      return problem ? [problem] : [];
    }),
  );
}

/** Optional translations (libs/contracts translations.ts), every problem named in the field's error. */
export function OptionalTranslations(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      description:
        `Up to ${MAX_TRANSLATIONS} languages: a BCP 47 tag (such as fr-BE) → { title, body, questions? } ` +
        "(a training's questions: prompt and options, same count and order). Each store is shown its locale's, " +
        'else its language’s, else the default text. In a revision the whole map is replaced; a translation ' +
        'the revision leaves alone while changing the default text is marked stale (shown as the default) ' +
        'until it is updated',
      example: { 'fr-BE': { title: 'Nouvel horaire', body: 'À partir de lundi…' } },
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          title: { type: 'string' },
          body: { type: 'string' },
          questions: {
            type: 'array',
            items: {
              type: 'object',
              properties: { prompt: { type: 'string' }, options: { type: 'array', items: { type: 'string' } } },
              required: ['prompt', 'options'],
            },
          },
        },
        required: ['title', 'body'],
      },
    }),
    IsOptional(),
    check('isTranslations', translationsProblems),
  );
}
