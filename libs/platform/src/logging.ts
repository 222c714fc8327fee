import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { SharedConfig } from '@lastmeter/config';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes a sane caller-provided `x-request-id` or makes one, and echoes it back. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const header = req.headers['x-request-id'];
  const id = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/** JSON logs (pino) with the app name on every line and the request id on request lines. */
export function loggingModule(app: string, config: SharedConfig) {
  return LoggerModule.forRoot({
    // Nest 11 route syntax; nestjs-pino's default ('*') triggers a legacy-route warning.
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      level: config.LOG_LEVEL,
      base: { app, pid: process.pid },
      genReqId: requestId,
      // Top-level on every line logged while serving the request (nestjs-pino binds it).
      customProps: (req) => ({ requestId: req.id }),
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      autoLogging: { ignore: (req) => /^\/(v1\/health|metrics)/.test(req.url ?? '') },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  });
}
