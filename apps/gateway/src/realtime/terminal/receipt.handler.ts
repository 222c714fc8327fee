/**
 * `receipt { communicationId, kind: delivered|read|acknowledged, revision }`: a store
 * terminal received, read or acknowledged a communication; recorded once per terminal,
 * kind and revision as `receipt.<kind>`.
 */
import { Injectable } from '@nestjs/common';
import { IsIn, IsInt, IsUUID, Min } from 'class-validator';
import { RECEIPT_KINDS, type ReceiptKind } from '@lastmeter/contracts';
import type { TerminalSession } from '../feed-relay';
import { StoreActivityWriter } from '../store-activity-writer';
import { FeedCheck } from './feed-check';
import { parseMessage, type TerminalMessageHandler } from './message';
import { actorOf } from './terminal-socket';

export class ReceiptDto {
  @IsUUID() communicationId!: string;
  @IsIn(RECEIPT_KINDS) kind!: ReceiptKind;
  @IsInt() @Min(1) revision!: number;
}

@Injectable()
export class ReceiptHandler implements TerminalMessageHandler {
  constructor(
    private readonly writer: StoreActivityWriter,
    private readonly feed: FeedCheck,
  ) {}

  async handle(session: TerminalSession, body: unknown): Promise<{ duplicate: boolean }> {
    const receipt = await parseMessage(ReceiptDto, body);
    await this.feed.requireInFeed(session, receipt.communicationId, receipt.revision);
    const { communicationId, kind, revision } = receipt;
    const id = this.writer.factId(session.terminalId, kind, communicationId, String(revision));
    return this.writer.record(`receipt.${kind}`, id, actorOf(session), {
      storeId: session.storeId,
      terminalId: session.terminalId,
      communicationId,
      revision,
    });
  }
}
