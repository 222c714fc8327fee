import {
  Controller,
  Get,
  Global,
  Header,
  Inject,
  Injectable,
  Module,
  RequestMethod,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { Public } from '@lastmeter/auth';
import { kafkaRequestCounts } from '@lastmeter/kafka';

export const APP_NAME = Symbol('APP_NAME');

/** The app's Prometheus registry; other modules register their own metrics on it. */
@Injectable()
export class MetricsRegistry extends Registry {
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(@Inject(APP_NAME) app: string) {
    super();
    this.setDefaultLabels({ app });
    collectDefaultMetrics({ register: this });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, matched route and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this],
    });
    new Counter({
      name: 'lastmeter_kafka_requests_total',
      help: 'Kafka requests this app has sent, by API (Produce, Fetch, AddPartitionsToTxn…), over all its kafkajs clients',
      labelNames: ['api'],
      registers: [this],
      collect() {
        this.reset();
        for (const [api, count] of kafkaRequestCounts()) this.inc({ api }, count);
      },
    });
  }
}

@Injectable()
class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly registry: MetricsRegistry) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.registry.httpDuration.startTimer();
    res.once('finish', () => {
      // The matched route pattern (not the raw URL) keeps label cardinality bounded.
      const route = (req.route as { path?: string } | undefined)?.path;
      end({ method: req.method, route: route ? `${req.baseUrl}${route}` : 'unmatched', status_code: res.statusCode });
    });
    next();
  }
}

@ApiExcludeController()
@Public()
@Controller('metrics')
class MetricsController {
  constructor(private readonly registry: MetricsRegistry) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsRegistry, HttpMetricsMiddleware],
  exports: [MetricsRegistry],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
