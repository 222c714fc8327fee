import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type OpenAPIObject } from '@nestjs/swagger';
import { PUBLIC_EXTENSION } from '@lastmeter/auth';
import { CONTRACT_SCHEMAS, type HttpAnswerName, type HttpAnswers } from '@lastmeter/contracts';

/**
 * The OpenAPI documents (docs/design.md section 7; ADR 0007). Bodies are JSON Schemas
 * generated from the types of libs/contracts (`CONTRACT_SCHEMAS`); a route names its
 * answer with `@Answer`, its route-specific refusals with `@Refuses`, and
 * `completeOpenApi` adds what every route of a kind can answer (401/403 behind a token,
 * 400 on input, 404 on an id, 413 on a JSON body, 503 on a dependency).
 */

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Why each refusal happens, on every route that can answer it. */
const REFUSALS: Record<number, string> = {
  400: 'Invalid input: `fields` names each offending field with its errors; nothing was written',
  401: 'No bearer token, or one that is malformed, expired, revoked or of a disabled user',
  403: 'The token is valid but its role or store may not do this',
  404: 'No such resource, or one outside the caller’s store',
  409: 'Conflict: If-Match names an older version (`currentVersion` says which), or the natural key is taken',
  413: 'The request body is over its size limit; nothing was read past it',
  415: 'The body is not of an accepted media type',
  422: 'Well-formed, but refused by a business rule (`message` says which)',
  429: 'Too many requests: wait Retry-After seconds',
  503: 'A dependency (Kafka or Redis) is unavailable or the service is saturated: retry after Retry-After seconds',
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 1 } },
};

function refusal(status: number, description?: string) {
  return {
    description: description ?? REFUSALS[status] ?? 'Refused',
    content: { 'application/json': { schema: schemaRef('ApiErrorBody') } },
    ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
  };
}

type Handler<N extends HttpAnswerName> = (...args: never[]) => HttpAnswers[N] | Promise<HttpAnswers[N]>;

/**
 * The JSON body of the route's success. Only compiles on a handler that returns
 * `HttpAnswers[name]` (libs/contracts), so the document says what the code returns.
 */
export function Answer<N extends HttpAnswerName>(name: N, options: { status?: number; description?: string } = {}) {
  return <T extends Handler<N>>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<T>): void => {
    ApiResponse({
      status: options.status ?? 200,
      description: options.description ?? 'OK',
      content: { 'application/json': { schema: schemaRef(name) } },
    })(target, key, descriptor);
  };
}

/** A success that is not JSON (a file, a CSV, an NDJSON stream) or has no body. */
export function RawAnswer(contentTypes: string | readonly string[], description: string, status = 200) {
  const types = typeof contentTypes === 'string' ? [contentTypes] : contentTypes;
  const content = Object.fromEntries(
    types.map((type) => [
      type,
      {
        schema:
          type.startsWith('text/') || type.includes('json') ? { type: 'string' } : { type: 'string', format: 'binary' },
      },
    ]),
  );
  return ApiResponse({ status, description, content });
}

/**
 * Refusals particular to a route, beyond the ones `completeOpenApi` adds to every route of
 * its kind: `@Refuses(409, 422)`, or with its own reason `@Refuses([429, 'too many replays'])`.
 */
export function Refuses(...statuses: Array<number | [number, string]>) {
  return applyDecorators(
    ...statuses.map((entry) => {
      const [status, description] = Array.isArray(entry) ? entry : [entry, undefined];
      const { description: text, ...rest } = refusal(status, description);
      return ApiResponse({ status, description: text, ...rest });
    }),
  );
}

/**
 * A route that sends a command to the decider: 202 when the decision is still pending after
 * the wait, 409 on a conflict, 422 on a business rule, 503 with Retry-After when Kafka is
 * unreachable or the service is saturated.
 */
export function DecidedCommand() {
  return applyDecorators(
    ApiResponse({
      status: 202,
      description: 'Accepted: the decision is pending and will be made (follow `id` in the read API)',
      content: { 'application/json': { schema: schemaRef('CommandPending') } },
    }),
    Refuses(409, 422, 503),
  );
}

type Operation = {
  parameters?: Array<{ in: string }>;
  requestBody?: { content?: Record<string, unknown> };
  responses: Record<string, unknown>;
  security?: unknown[];
  [PUBLIC_EXTENSION]?: boolean;
};

/**
 * Adds the contract schemas and, to each operation, the refusals every route of its kind
 * can answer. Route-specific ones (`@Refuses`) keep their own descriptions.
 */
export function completeOpenApi(document: OpenAPIObject): OpenAPIObject {
  document.components = {
    ...document.components,
    schemas: {
      ...(CONTRACT_SCHEMAS as NonNullable<typeof document.components>['schemas']),
      ...document.components?.schemas,
    },
  };
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path) as Operation[]) {
      if (!operation || typeof operation !== 'object' || !operation.responses) continue;
      if (operation[PUBLIC_EXTENSION]) {
        delete operation[PUBLIC_EXTENSION];
        delete operation.security;
      }
      const add = (status: number) => {
        operation.responses[status] ??= refusal(status);
      };
      const parameters = operation.parameters ?? [];
      if (parameters.length > 0 || operation.requestBody) add(400);
      if (operation.security?.length) {
        add(401);
        add(403);
        add(503);
      }
      if (parameters.some((p) => p.in === 'path')) add(404);
      if (operation.requestBody?.content?.['application/json']) add(413);
    }
  }
  return document;
}
