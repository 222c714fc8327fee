import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, registerDecorator, type ValidationArguments } from 'class-validator';
import { openingHoursProblems, parseOpeningHoursText, type OpeningHours } from '@lastmeter/contracts';

/**
 * What is wrong with opening hours as given: an object, or (`text`: an import's CSV cell)
 * the compact text form `mon-fri 08:00-20:00; 2026-12-25 closed`.
 */
function problemsOf(value: unknown, text: boolean): string[] {
  if (text && typeof value === 'string') {
    try {
      return openingHoursProblems(parseOpeningHoursText(value));
    } catch (error) {
      return [(error as Error).message];
    }
  }
  return openingHoursProblems(value);
}

/** Opening hours as the domain takes them: an import cell's text form read into the object. */
export function openingHoursOf(value: OpeningHours | string | undefined): OpeningHours | undefined {
  return typeof value === 'string' ? parseOpeningHoursText(value) : value;
}

/** Optional opening hours (libs/contracts opening-hours.ts), every problem named in the field's error. */
export function OptionalOpeningHours(options: { text?: boolean } = {}): PropertyDecorator {
  const text = options.text ?? false;
  return applyDecorators(
    ApiPropertyOptional({
      description:
        'Per weekday `[opens, closes]` ("HH:MM", local time of `timezone`; a weekday left out is closed) and ' +
        '`exceptions` by date (YYYY-MM-DD; `null` = closed)',
      example: { mon: ['08:00', '20:00'], sat: ['09:00', '13:00'], exceptions: { '2026-12-25': null } },
      type: 'object',
      additionalProperties: true,
    }),
    IsOptional(),
    (target: object, propertyName: string | symbol) =>
      registerDecorator({
        name: 'isOpeningHours',
        target: target.constructor,
        propertyName: propertyName as string,
        validator: {
          validate: (value: unknown) => problemsOf(value, text).length === 0,
          defaultMessage: (args?: ValidationArguments) => problemsOf(args?.value, text).join('; '),
        },
      }),
  );
}
