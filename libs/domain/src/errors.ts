/**
 * Typed refusals of the domain. apps/command maps them to HTTP in one exception filter
 * (status is part of the type so the mapping cannot drift).
 */
export abstract class DomainError extends Error {
  abstract readonly status: 400 | 403 | 404 | 409 | 422;
  abstract readonly error: string;
}

/** The command is malformed for this aggregate (field-level, like a DTO failure). */
export class InvalidCommand extends DomainError {
  readonly status = 400;
  readonly error = 'Bad Request';
  constructor(readonly fields: Record<string, string[]>) {
    super(
      Object.entries(fields)
        .map(([field, messages]) => `${field}: ${messages.join(', ')}`)
        .join('; '),
    );
  }
}

export class Forbidden extends DomainError {
  readonly status = 403;
  readonly error = 'Forbidden';
}

export class NotFound extends DomainError {
  readonly status = 404;
  readonly error = 'Not Found';
}

export class Conflict extends DomainError {
  readonly status = 409;
  readonly error = 'Conflict';
  constructor(
    message: string,
    readonly currentVersion?: number,
  ) {
    super(message);
  }
}

/** A business rule refuses it (e.g. publishing a draft that is not approved). */
export class RuleViolation extends DomainError {
  readonly status = 422;
  readonly error = 'Unprocessable Entity';
}
