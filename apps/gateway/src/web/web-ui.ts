import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';

/** Where `vite build` puts the three UIs (dist/web next to dist/apps). */
export const WEB_DIST = join(__dirname, '..', '..', '..', '..', 'web');

const PAGES = ['/', '/store', '/analyst'];

/**
 * The web UIs at `/` (head office), `/store` (tablet) and `/analyst`: static files built
 * by Vite. Hashed assets are cached for a year, the HTML pages never, so a deploy is
 * picked up on the next load. Without a build, the pages say how to make one.
 */
export function serveWebUi(app: NestExpressApplication, dir = WEB_DIST): void {
  if (!existsSync(join(dir, 'index.html'))) {
    app.use(PAGES, (request: Request, response: Response, next: NextFunction) => {
      if (request.path !== '/') return next();
      response.status(503).type('text/plain').send('The web UI is not built: run `npm run build`, then reload.\n');
    });
    return;
  }
  app.useStaticAssets(dir, {
    index: 'index.html',
    setHeaders: (response, path) => {
      response.setHeader(
        'cache-control',
        path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
