import { BadRequestException, Controller, Get, Inject, Logger, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { once } from 'node:events';
import { Roles } from '@lastmeter/auth';
import type { TopicNames } from '@lastmeter/contracts';
import { InvalidReplayFilter, LogReplay, replayFilterOf, ReplayQuery, type ReplayFilter } from '@lastmeter/history';
import { KAFKA, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';

@ApiTags('history')
@ApiBearerAuth()
@Controller('events')
export class EventsController {
  private readonly logger = new Logger(EventsController.name);
  private readonly replay: LogReplay;

  constructor(@Inject(KAFKA) kafka: Kafka, @Inject(TOPIC_NAMES) topics: TopicNames) {
    this.replay = new LogReplay(kafka, topics);
  }

  @Get()
  @Roles('analyst', 'hq-admin')
  @ApiProduces('application/x-ndjson')
  @ApiOperation({
    summary: 'Replay the log as NDJSON',
    description:
      'Every fact matching the filters, one JSON event per line, upcast to the current schema: in log order per ' +
      'partition and, across partitions, by occurredAt (a k-way merge of the partitions). Streams with backpressure.',
  })
  async events(@Query() query: ReplayQuery, @Res() res: Response): Promise<void> {
    let filter: ReplayFilter;
    try {
      filter = replayFilterOf(query);
    } catch (error) {
      if (!(error instanceof InvalidReplayFilter)) throw error;
      throw new BadRequestException({ message: 'invalid request: to', fields: error.fields });
    }
    res.status(200).type('application/x-ndjson');
    res.setHeader('cache-control', 'no-store');
    const events = this.replay.entries(filter);
    let closed = false;
    res.once('close', () => (closed = true));
    // Lines go out in chunks of about 64 KiB (one write per event costs more than the
    // event), and at least every 100 ms when events trickle in.
    let chunk = '';
    const flush = async () => {
      if (chunk === '' || closed) return;
      const full = !res.write(chunk);
      chunk = '';
      if (full) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    };
    const timer = setInterval(() => {
      if (chunk !== '' && !closed && res.writableLength === 0) {
        res.write(chunk);
        chunk = '';
      }
    }, 100);
    try {
      for await (const { json } of events) {
        if (closed) break;
        chunk += `${json}\n`;
        if (chunk.length >= 64 * 1024) await flush();
      }
      await flush();
    } catch (error) {
      // Headers are gone: all a client can be told is that the stream ends early.
      this.logger.warn(`replay stopped: ${(error as Error).message}`);
    } finally {
      clearInterval(timer);
      await events.return(undefined);
      res.end();
    }
  }
}
