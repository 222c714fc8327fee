import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { JwtService } from '@nestjs/jwt';
import { v5 as uuidv5 } from 'uuid';
import type Redis from 'ioredis';
import {
  storeActivityEvent,
  type Actor,
  type CommandResult,
  type TaskDecision,
  type TopicNames,
} from '@lastmeter/contracts';
import { Answer, Refuses } from '@lastmeter/platform';
import { CurrentActor, Roles, staffSessionOrForbidden } from '@lastmeter/auth';
import { KAFKA, LazyProducer, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { FactClaims, FactInFlight, REDIS } from '@lastmeter/redis';
import type { CommunicationState } from '@lastmeter/domain';
import { AGGREGATE_STORE, CLOCK, FeedLedger, type AggregateStore, type Clock } from '@lastmeter/write-engine';
import { DirectoryLookup } from '../directory/directory-lookup';
import { AssignTaskDto, DismissTaskDto } from './staff.dto';

const TASK_DECISIONS = '6d2f1c84-93a7-4f0e-8b51-2c7e9a40d3f6';

/**
 * A store manager's say over the tasks head office only suggests (issue 21): dismiss one
 * for their store, with a reason, or assign it to named staff. A mandated task is refused
 * (403) and nothing is written. "Store manager" is a store-manager login, or a staff member
 * with the store-manager role signed in on a tablet of the store (their session in `staff`).
 * The decisions are store facts (lastmeter.store-events.v1), once per store, task revision
 * and decision.
 */
@ApiTags('staff')
@ApiBearerAuth()
@Controller('stores/:storeId/tasks/:communicationId')
export class TasksController {
  private readonly producer: LazyProducer;
  private readonly claims: FactClaims;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) config: SharedConfig,
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly ledger: FeedLedger,
    private readonly lookup: DirectoryLookup,
    private readonly jwt: JwtService,
  ) {
    this.producer = new LazyProducer(kafka);
    this.claims = new FactClaims(redis, config.REDIS_KEY_PREFIX);
  }

  @Post('dismiss')
  @HttpCode(200)
  @Roles('store-manager', 'terminal')
  @Answer('CommandResult', { description: 'Dismissed for this store' })
  @Refuses(
    [403, 'A mandated task, another store, or no store manager signed in'],
    [409, 'The same decision is being recorded by another request'],
  )
  async dismiss(
    @Param('storeId', new ParseUUIDPipe()) storeId: string,
    @Param('communicationId', new ParseUUIDPipe()) communicationId: string,
    @Body() body: DismissTaskDto,
    @CurrentActor() actor: Actor,
  ): Promise<CommandResult> {
    const decision = await this.decision(actor, storeId, communicationId, body.staff);
    return this.record('task.dismissed', { ...decision, reason: body.reason }, 'dismissed');
  }

  @Post('assign')
  @HttpCode(200)
  @Roles('store-manager', 'terminal')
  @Answer('CommandResult', { description: 'Assigned to these staff of the store' })
  @Refuses(
    [403, 'A mandated task, another store, or no store manager signed in'],
    [409, 'The same decision is being recorded by another request'],
  )
  async assign(
    @Param('storeId', new ParseUUIDPipe()) storeId: string,
    @Param('communicationId', new ParseUUIDPipe()) communicationId: string,
    @Body() body: AssignTaskDto,
    @CurrentActor() actor: Actor,
  ): Promise<CommandResult> {
    const decision = await this.decision(actor, storeId, communicationId, body.staff);
    const staff = await Promise.all(body.staffIds.map((id) => this.lookup.staff(id)));
    const problems = body.staffIds
      .map((id, i) => (staff[i]?.storeId === storeId && staff[i]?.status === 'active' ? undefined : id))
      .filter((id): id is string => id !== undefined);
    if (problems.length) {
      throw new BadRequestException({
        message: 'invalid request: staffIds',
        fields: { staffIds: [`not active staff of this store: ${problems.join(', ')}`] },
      });
    }
    // The same people in any order are the same assignment.
    const staffIds = [...new Set(body.staffIds)].sort();
    return this.record('task.assigned', { ...decision, staffIds }, `assigned:${staffIds.join(',')}`);
  }

  /** Who decides, on what: refused before anything is written unless a store manager of this store may. */
  private async decision(
    actor: Actor,
    storeId: string,
    communicationId: string,
    session: string | undefined,
  ): Promise<TaskDecision> {
    if (actor.storeId !== storeId) throw new ForbiddenException("a store manager decides their own store's tasks");
    let by: TaskDecision['by'] = { userId: actor.id };
    if (actor.role === 'terminal') {
      const manager = staffSessionOrForbidden(this.jwt, session, { terminalId: actor.id, storeId });
      if (!manager?.roles.includes('store-manager')) {
        throw new ForbiddenException('a store manager signed in on this tablet decides the store’s tasks');
      }
      by = { staffId: manager.sub, terminalId: actor.id };
    }
    const communication = this.store.get('communication', communicationId).state as CommunicationState;
    if (
      !communication.exists ||
      communication.content.kind !== 'task' ||
      communication.status !== 'published' ||
      !this.ledger.holders(communicationId).has(storeId)
    ) {
      throw new NotFoundException(`no live task ${communicationId} in this store`);
    }
    if (communication.content.mandate !== 'suggested') {
      throw new ForbiddenException('head office mandates this task: it cannot be dismissed or reassigned');
    }
    return { storeId, communicationId, revision: communication.revision, by };
  }

  private async record<T extends 'task.dismissed' | 'task.assigned'>(
    type: T,
    data: TaskDecision & (T extends 'task.dismissed' ? { reason: string } : { staffIds: string[] }),
    what: string,
  ): Promise<CommandResult> {
    const { storeId, communicationId, revision, by } = data;
    // Once per store, task revision and decision: a retried request is the same fact.
    const id = uuidv5(`${storeId}/${communicationId}/${revision}/${what}`, TASK_DECISIONS);
    const actor: Actor =
      'userId' in by
        ? { id: by.userId, role: 'store-manager', storeId }
        : { id: by.terminalId, role: 'terminal', storeId };
    const event = storeActivityEvent(type, id, actor, data as never, this.clock.now().toISOString());
    try {
      await this.claims.once(event.id, () => this.producer.send(this.topics.storeEvents, storeId, event));
    } catch (error) {
      if (error instanceof FactInFlight) throw new ConflictException(error.message);
      throw new ServiceUnavailableException(
        `the event log is unreachable, nothing was recorded (${(error as Error).message})`,
      );
    }
    return { id, version: 1, eventIds: [id] };
  }
}
