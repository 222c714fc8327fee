/**
 * `report.file { reportId?, title, body, attachments? }`: a store terminal files a field
 * report, with up to 10 of its store's media;
 * recorded once per report id as `report.filed`, within TERMINAL_REPORTS_PER_HOUR per
 * terminal (a resend of a filed report is free).
 */
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { MAX_REPORT_ATTACHMENTS } from '@lastmeter/contracts';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { REDIS } from '@lastmeter/redis';
import type { TerminalSession } from '../feed-relay';
import { ReportQuota } from '../limits/report-quota';
import { StoreActivityWriter } from '../store-activity-writer';
import { parseMessage, Rejected, type TerminalMessageHandler } from './message';
import { StoreMedia } from './store-media';
import { actorOf } from './terminal-socket';

export class AttachmentDto {
  @IsUUID() mediaId!: string;
}

export class ReportFileDto {
  @IsOptional() @IsUUID() reportId?: string;
  @IsString() @MinLength(1) @MaxLength(200) title!: string;
  @IsString() @MinLength(1) @MaxLength(5_000) body!: string;
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_REPORT_ATTACHMENTS)
  @ValidateNested({ each: true })
  @Type(() => AttachmentDto)
  attachments?: AttachmentDto[];
}

@Injectable()
export class ReportFileHandler implements TerminalMessageHandler {
  private readonly reports: ReportQuota;

  constructor(
    private readonly writer: StoreActivityWriter,
    @Inject(APP_CONFIG) config: AppConfig<'gateway'>,
    @Inject(REDIS) redis: Redis,
    private readonly media: StoreMedia,
  ) {
    this.reports = new ReportQuota(redis, config.REDIS_KEY_PREFIX, config.TERMINAL_REPORTS_PER_HOUR);
  }

  async handle(session: TerminalSession, body: unknown): Promise<{ duplicate: boolean }> {
    const report = await parseMessage(ReportFileDto, body);
    const attachments = report.attachments?.length
      ? await this.media.refs(
          session.storeId,
          report.attachments.map((a) => a.mediaId),
          'attachments',
        )
      : undefined;
    const reportId = report.reportId ?? randomUUID();
    const id = this.writer.factId(session.terminalId, 'report', reportId);
    // A resend of a filed report is answered as such, even with the hour's quota spent.
    if (await this.writer.recorded(id)) return { duplicate: true };
    // TERMINAL_REPORTS_PER_HOUR: a slot is reserved first and given back unless a new report was written.
    const slot = await this.reports.reserve(session.terminalId);
    if (!slot) throw new Rejected(`report limit reached: at most ${this.reports.perHour} reports an hour per terminal`);
    let written = false;
    try {
      const outcome = await this.writer.record('report.filed', id, actorOf(session), {
        storeId: session.storeId,
        reportId,
        title: report.title,
        body: report.body,
        authorId: session.terminalId,
        ...(attachments ? { attachments } : {}),
      });
      written = !outcome.duplicate;
      return outcome;
    } finally {
      if (!written) await slot.release().catch(() => undefined);
    }
  }
}
