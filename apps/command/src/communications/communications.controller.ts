import { Body, Controller, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Actor } from '@lastmeter/contracts';
import { Answer, DecidedCommand } from '@lastmeter/platform';
import { CurrentActor, Roles } from '@lastmeter/auth';
import type { CommunicationInput } from '@lastmeter/domain';
import { EmptyDto } from '../http/empty.dto';
import { IdempotencyKey, IfMatch } from '../http/headers';
import { CommandBus } from '@lastmeter/write-engine';
import { CommunicationMedia } from './communication-media';
import { DraftCommunicationDto, PublishDto, RejectDto, RetractDto, ReviseCommunicationDto } from './communication.dto';

const id = new ParseUUIDPipe({ version: undefined });

/** Compose, review and publish. Rules live in libs/domain; this only translates HTTP. */
@ApiTags('communications')
@ApiBearerAuth()
@ApiHeader({ name: 'Idempotency-Key', required: false })
@DecidedCommand()
@Controller('communications')
export class CommunicationsController {
  constructor(
    private readonly bus: CommandBus,
    private readonly media: CommunicationMedia,
  ) {}

  @Post()
  @Roles('agency', 'hq-editor', 'hq-admin')
  @Answer('CommandResult', { status: 201, description: 'Drafted' })
  async draft(
    @Body() body: DraftCommunicationDto,
    @CurrentActor() actor: Actor,
    @IdempotencyKey() idempotencyKey?: string,
  ) {
    const { body: outcome } = await this.bus.dispatch({
      command: { type: 'communication.draft', payload: (await this.media.resolve(body)) as CommunicationInput },
      actor,
      idempotencyKey,
    });
    return outcome;
  }

  @Patch(':id')
  @HttpCode(200)
  @Roles('agency', 'hq-editor', 'hq-admin')
  @Answer('CommandResult')
  @ApiHeader({ name: 'If-Match', required: false, description: 'version the change is based on' })
  async revise(
    @Param('id', id) aggregateId: string,
    @Body() body: ReviseCommunicationDto,
    @CurrentActor() actor: Actor,
    @IfMatch() expectedVersion?: number,
    @IdempotencyKey() idempotencyKey?: string,
  ) {
    return this.run(
      aggregateId,
      { type: 'communication.revise', payload: await this.media.resolve(body) },
      actor,
      expectedVersion,
      idempotencyKey,
    );
  }

  @Post(':id/submit')
  @HttpCode(200)
  @Roles('agency', 'hq-editor', 'hq-admin')
  @Answer('CommandResult')
  submit(
    @Param('id', id) aggregateId: string,
    @Body() _body: EmptyDto,
    @CurrentActor() actor: Actor,
    @IfMatch() v?: number,
    @IdempotencyKey() key?: string,
  ) {
    return this.run(aggregateId, { type: 'communication.submit', payload: {} }, actor, v, key);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Roles('hq-editor', 'hq-admin')
  @Answer('CommandResult')
  approve(
    @Param('id', id) aggregateId: string,
    @Body() _body: EmptyDto,
    @CurrentActor() actor: Actor,
    @IfMatch() v?: number,
    @IdempotencyKey() key?: string,
  ) {
    return this.run(aggregateId, { type: 'communication.approve', payload: {} }, actor, v, key);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @Roles('hq-editor', 'hq-admin')
  @Answer('CommandResult')
  reject(
    @Param('id', id) aggregateId: string,
    @Body() body: RejectDto,
    @CurrentActor() actor: Actor,
    @IfMatch() v?: number,
    @IdempotencyKey() key?: string,
  ) {
    return this.run(aggregateId, { type: 'communication.reject', payload: { reason: body.reason } }, actor, v, key);
  }

  @Post(':id/publish')
  @HttpCode(200)
  @Roles('hq-editor', 'hq-admin')
  @Answer('CommandResult')
  publish(
    @Param('id', id) aggregateId: string,
    @Body() body: PublishDto,
    @CurrentActor() actor: Actor,
    @IfMatch() v?: number,
    @IdempotencyKey() key?: string,
  ) {
    return this.run(aggregateId, { type: 'communication.publish', payload: { ...body } }, actor, v, key);
  }

  @Post(':id/retract')
  @HttpCode(200)
  @Roles('hq-editor', 'hq-admin')
  @Answer('CommandResult')
  retract(
    @Param('id', id) aggregateId: string,
    @Body() body: RetractDto,
    @CurrentActor() actor: Actor,
    @IfMatch() v?: number,
    @IdempotencyKey() key?: string,
  ) {
    return this.run(aggregateId, { type: 'communication.retract', payload: { ...body } }, actor, v, key);
  }

  /** Sends a store's evidence of a task back (docs/media.md): the task reopens for that store. */
  @Post(':id/evidence/:storeId/reject')
  @HttpCode(200)
  @Roles('hq-editor', 'hq-admin')
  @Answer('CommandResult')
  rejectEvidence(
    @Param('id', id) aggregateId: string,
    @Param('storeId', id) storeId: string,
    @Body() body: RejectDto,
    @CurrentActor() actor: Actor,
    @IdempotencyKey() key?: string,
  ) {
    return this.run(
      aggregateId,
      { type: 'communication.reject-evidence', payload: { storeId, reason: body.reason } },
      actor,
      undefined,
      key,
    );
  }

  private async run(
    aggregateId: string,
    command: Parameters<CommandBus['dispatch']>[0]['command'],
    actor: Actor,
    expectedVersion?: number,
    idempotencyKey?: string,
  ) {
    const { body } = await this.bus.dispatch({ command, actor, aggregateId, expectedVersion, idempotencyKey });
    return body;
  }
}
