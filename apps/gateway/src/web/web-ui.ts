import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { cspHeader } from '@lastmeter/platform';
import { MediaLibrary, S3ObjectStore } from '@lastmeter/media';

/** Where `vite build` puts the three UIs (dist/web next to dist/apps). */
export const WEB_DIST = join(__dirname, '..', '..', '..', '..', 'web');

const PAGES = ['/', '/store', '/analyst'];

/** The port the web UIs fall back to for the write API when COMMAND_PUBLIC_URL is empty (web/src/shared/api.ts). */
const DEFAULT_COMMAND_PORT = 3001;
/** A Host header we are willing to echo into a policy: a DNS name, IPv4 or [IPv6], and a port. */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;

/**
 * The Content-Security-Policy of the web UI pages (and their assets). Vite builds them into
 * files: module scripts and stylesheets from /assets, no inline script, no eval, no inline
 * `<style>` (React's `style` props go through the CSSOM, which style-src does not govern),
 * so scripts and styles are 'self' only. The one image is the favicon, a data: URI in the
 * HTML. Connections: the gateway itself (read API, Socket.IO: ws/wss named explicitly,
 * as not every browser lets 'self' cover them) and the write API, which the browser
 * calls at COMMAND_PUBLIC_URL or, when that is empty, at the page's host on port 3001
 * (`GET /v1/ui/config`). Host-derived parts are added only for a well-formed Host header.
 */
export function uiContentSecurityPolicy(
  request: IncomingMessage,
  commandPublicUrl: string,
  mediaOrigin?: string,
): string {
  const host = HOST_HEADER.exec(request.headers.host ?? '');
  const connect = ["'self'"];
  if (host) connect.push(`ws://${host[0]}`, `wss://${host[0]}`);
  if (commandPublicUrl) {
    try {
      connect.push(new URL(commandPublicUrl).origin);
    } catch {
      // Not a URL: the browser could not call it either.
    }
  } else if (host) {
    connect.push(`http://${host[1]}:${DEFAULT_COMMAND_PORT}`, `https://${host[1]}:${DEFAULT_COMMAND_PORT}`);
  }
  return cspHeader({
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    // blob: a photo the tablet shows before sending it; mediaOrigin: the bucket of
    // MEDIA_S3_DIRECT_LINKS, where the signed links of pictures point.
    'img-src': ["'self'", 'data:', 'blob:', ...(mediaOrigin ? [mediaOrigin] : [])],
    'connect-src': connect,
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  });
}

/**
 * The web UIs at `/` (head office), `/store` (tablet) and `/analyst`: static files built
 * by Vite, under the strict policy of `uiContentSecurityPolicy` (every other route keeps
 * the platform's API or /docs policy). Hashed assets are cached for a year, the HTML
 * pages never, so a deploy is picked up on the next load. Without a build, the pages say
 * how to make one.
 */
export function serveWebUi(app: NestExpressApplication, dir = WEB_DIST): void {
  if (!existsSync(join(dir, 'index.html'))) {
    app.use(PAGES, (request: Request, response: Response, next: NextFunction) => {
      if (request.path !== '/') return next();
      response.status(503).type('text/plain').send('The web UI is not built: run `npm run build`, then reload.\n');
    });
    return;
  }
  const config = app.get<AppConfig<'gateway'>>(APP_CONFIG);
  const commandPublicUrl = config.COMMAND_PUBLIC_URL;
  const library = app.get(MediaLibrary);
  const mediaOrigin =
    config.MEDIA_S3_DIRECT_LINKS && library.store instanceof S3ObjectStore ? library.store.publicOrigin() : undefined;
  app.useStaticAssets(dir, {
    index: 'index.html',
    setHeaders: (response, path) => {
      response.setHeader(
        'content-security-policy',
        uiContentSecurityPolicy(response.req, commandPublicUrl, mediaOrigin),
      );
      response.setHeader(
        'cache-control',
        path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
