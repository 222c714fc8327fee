import type { NextFunction, Request, Response } from 'express';

/** A Content-Security-Policy header value from directives in a readable form. */
export function cspHeader(directives: Record<string, string[]>): string {
  return Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(' '))
    .join('; ');
}

/**
 * JSON, NDJSON, CSV, metrics, errors: nothing a browser should render as a document. If one
 * is opened as a page anyway (a crafted link, a sniffed type), it may load nothing, run
 * nothing and be framed by nobody.
 */
export const API_CSP = cspHeader({ 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] });

/**
 * Swagger UI at /docs (@nestjs/swagger 11, swagger-ui-dist 5): what it needs and nothing
 * more. Its scripts are files (`swagger-ui-bundle.js`, `swagger-ui-standalone-preset.js`
 * and the generated `swagger-ui-init.js`), so scripts stay 'self' with no inline script and
 * no eval. Its HTML carries two inline `<style>` blocks and a `style` attribute (the SVG
 * icon sprite), hence 'unsafe-inline' for styles only: styles cannot run script, and the
 * page shows nothing but our own OpenAPI document. Icons are data: URIs in its CSS. "Try
 * it out" calls the same origin. The online validator badge (an image from
 * validator.swagger.io) is switched off in bootstrap (`validatorUrl: null`).
 */
export const DOCS_CSP = cspHeader({
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
});

/** Swagger UI: /docs and its assets (its JSON and YAML documents get the API policy). */
export const DOCS_PATH = /^\/docs(?:$|\/)/i;
/**
 * What moves to the internal listener when `<APP>_INTERNAL_PORT` is set. Case-insensitive
 * and with a trailing slash, as express routes match (`/METRICS/` is /metrics).
 */
export const INTERNAL_PATH = /^\/(?:metrics\/?$|docs(?:$|\/|-json\/?$|-yaml\/?$))/i;

/**
 * Sets the API policy on every response, or the docs policy under /docs. Later middleware
 * may replace it (the gateway's web UI sets its own on the pages it serves).
 */
export function contentSecurityPolicy() {
  return (request: Request, response: Response, next: NextFunction): void => {
    response.setHeader('content-security-policy', DOCS_PATH.test(request.path) ? DOCS_CSP : API_CSP);
    next();
  };
}

/**
 * With an internal listener (`internalPort` > 0) on the same express app: /metrics and
 * /docs answer only there, and 404 on the public port as if they did not exist. The
 * internal port serves the HTTP API too, so Swagger UI's "Try it out" works from there
 * (Socket.IO stays on the public server). Told apart by the local port of the socket.
 */
export function internalRoutes(internalPort: number) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (request.socket.localPort === internalPort || !INTERNAL_PATH.test(request.path)) return next();
    response
      .status(404)
      .json({ statusCode: 404, error: 'Not Found', message: `Cannot ${request.method} ${request.path}` });
  };
}
