import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { flattenValidationErrors } from '@lastmeter/contracts';

/**
 * Whitelist + forbidNonWhitelisted + transform, with per-field errors:
 * `{ statusCode: 400, error, message, fields: { "audience.regionIds": ["..."] } }`.
 */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => {
      const fields = flattenValidationErrors(errors);
      return new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: `invalid request: ${Object.keys(fields).join(', ')}`,
        fields,
      });
    },
  });
}
