import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  Inject,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { v5 as uuidv5 } from 'uuid';
import { randomUUID } from 'node:crypto';
import {
  CURRENT_SCHEMA_VERSIONS,
  type Actor,
  type CommandResult,
  type DomainEvent,
  type TopicNames,
} from '@lastmeter/contracts';
import { Answer, Refuses } from '@lastmeter/platform';
import { CurrentActor, Roles } from '@lastmeter/auth';
import { KAFKA, LazyProducer, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';
import type Redis from 'ioredis';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { FactClaims, FactInFlight, REDIS } from '@lastmeter/redis';
import { MediaLibrary, storeMediaRefs } from '@lastmeter/media';
import { IdempotencyKey } from '../http/headers';
import { DirectoryLookup } from './directory-lookup';
import { FileReportDto } from './directory.dto';

const REPORT_IDS = '3f0c9a52-8f3e-4b8e-9a4d-0d6f7f1c2b11';

/** Field reports from a store manager: a store fact on lastmeter.store-events.v1. */
@ApiTags('reports')
@ApiBearerAuth()
@Controller('stores/:storeId/reports')
export class ReportsController {
  private readonly producer: LazyProducer;
  private readonly claims: FactClaims;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    private readonly lookup: DirectoryLookup,
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) config: SharedConfig,
    private readonly media: MediaLibrary,
  ) {
    this.producer = new LazyProducer(kafka);
    this.claims = new FactClaims(redis, config.REDIS_KEY_PREFIX);
  }

  @Post()
  @Roles('store-manager')
  @Answer('CommandResult', { status: 201, description: 'Filed' })
  @Refuses([409, 'The same report (Idempotency-Key) is being filed by another request'])
  async file(
    @Param('storeId', new ParseUUIDPipe()) storeId: string,
    @Body() body: FileReportDto,
    @CurrentActor() actor: Actor,
    @IdempotencyKey() key?: string,
  ): Promise<CommandResult> {
    if (actor.storeId !== storeId)
      throw new ForbiddenException('a store manager files reports for their own store only');
    if (!(await this.lookup.storeExists(storeId))) throw new NotFoundException('no such store');
    const ids = (body.attachments ?? []).map((a) => a.mediaId);
    const { refs: attachments, problems } = await storeMediaRefs(this.media, storeId, ids);
    if (problems.some(Boolean)) {
      const fields = Object.fromEntries(
        problems.flatMap((problem, i) => (problem ? [[`attachments.${i}.mediaId`, [problem]]] : [])),
      );
      throw new BadRequestException({ message: `invalid request: ${Object.keys(fields).join(', ')}`, fields });
    }
    const commandId = key ? `${actor.id}:${key}` : randomUUID();
    // The same Idempotency-Key gives the same report and event id: consumers keep one.
    const reportId = key ? uuidv5(commandId, REPORT_IDS) : randomUUID();
    const event: DomainEvent<'report.filed'> = {
      id: uuidv5(`${reportId}:filed`, REPORT_IDS),
      type: 'report.filed',
      schemaVersion: CURRENT_SCHEMA_VERSIONS['report.filed'],
      aggregateType: 'store-activity',
      aggregateId: reportId,
      aggregateVersion: 1,
      occurredAt: new Date().toISOString(),
      actor,
      commandId,
      correlationId: commandId,
      causationId: commandId,
      data: {
        storeId,
        reportId,
        title: body.title,
        body: body.body,
        authorId: actor.id,
        ...(attachments.length ? { attachments } : {}),
      },
    };
    try {
      // Once per fact even when the same Idempotency-Key is sent twice at once or to
      // another instance (the same Redis claim as the gateway's facts).
      await this.claims.once(event.id, () => this.producer.send(this.topics.storeEvents, storeId, event));
    } catch (error) {
      if (error instanceof FactInFlight) throw new ConflictException(error.message);
      throw new ServiceUnavailableException(
        `the event log is unreachable, nothing was recorded (${(error as Error).message})`,
      );
    }
    return { id: reportId, version: 1, eventIds: [event.id] };
  }
}
