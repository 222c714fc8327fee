import { BadRequestException, Controller, Get, Header, NotFoundException, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { IsISO8601, IsOptional } from 'class-validator';
import { Roles } from '@lastmeter/auth';
import { RawAnswer } from '@lastmeter/platform';
import { AUDIT_COLUMNS, auditRowStream, communicationsInFeed, safeCsv, type AuditRow } from '@lastmeter/history';
import { getCommunication, getStore, readFeed } from '@lastmeter/read-models';
import { ReadModels } from '../read/read-models.service';
import { HQ_READERS } from '../read/scope';

const CSV_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.csv$/i;

export class RangeQuery {
  @ApiPropertyOptional({ description: 'Feed entries at or after this instant (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'Feed entries at or before this instant (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

function idOf(file: string): string {
  const match = CSV_FILE.exec(file);
  if (!match) throw new NotFoundException('expected <uuid>.csv');
  return match[1].toLowerCase();
}

/**
 * Streams rows as RFC 4180 CSV (UTF-8 with BOM, so spreadsheets read accents right), with
 * cells that a spreadsheet would run as a formula neutralised (`safeCsv`).
 */
async function sendCsv(res: Response, filename: string, rows: AsyncIterable<AuditRow> | AuditRow[]): Promise<void> {
  res.setHeader('content-type', 'text/csv; charset=utf-8');
  res.setHeader('content-disposition', `attachment; filename="${filename}"`);
  const csv = safeCsv({ header: true, columns: [...AUDIT_COLUMNS], bom: true });
  csv.pipe(res);
  for await (const row of rows) {
    if (!csv.write(row)) await new Promise((resolve) => csv.once('drain', resolve));
  }
  csv.end();
}

@ApiTags('history')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(private readonly models: ReadModels) {}

  @Get('communications/:file')
  @Roles(...HQ_READERS)
  @ApiProduces('text/csv')
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Audit of one communication as CSV: `/audit/communications/<id>.csv`',
    description:
      'One row per targeted store and terminal: revision seen, first delivered / read / acknowledged / completed ' +
      'times, quiz score, field reports filed since it was published; then one row per person it reaches in the ' +
      'store (`staffId`, `staffName`, `readAt` as seen, `acknowledgedAt`, `overdue`).',
  })
  @RawAnswer('text/csv', 'The audit rows, streamed (`Content-Disposition: attachment`)')
  async communication(@Param('file') file: string, @Res() res: Response): Promise<void> {
    const id = idOf(file);
    const keys = await this.models.keys();
    const communication = await getCommunication(this.models.redis, keys, id);
    if (!communication) throw new NotFoundException('no such communication');
    // Streamed a chunk of stores at a time: a communication to 50,000 stores is never held whole.
    await sendCsv(res, `communication-${id}.csv`, auditRowStream(this.models.redis, keys, communication));
  }

  @Get('stores/:file')
  @Roles(...HQ_READERS)
  @ApiProduces('text/csv')
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Audit of one store over a time range as CSV: `/audit/stores/<id>.csv?from=&to=`',
    description: 'The same rows as the communication audit, for every communication its feed carried in the range.',
  })
  @RawAnswer('text/csv', 'The audit rows, streamed (`Content-Disposition: attachment`)')
  async store(@Param('file') file: string, @Query() query: RangeQuery, @Res() res: Response): Promise<void> {
    const storeId = idOf(file);
    const from = query.from ? new Date(query.from) : undefined;
    const to = query.to ? new Date(query.to) : undefined;
    if (from && to && from > to) {
      throw new BadRequestException({ message: 'invalid request: to', fields: { to: ['must not be before from'] } });
    }
    const keys = await this.models.keys();
    if (!(await getStore(this.models.redis, keys, storeId))) throw new NotFoundException('no such store');
    const { items } = await readFeed(this.models.redis, keys, storeId, 0, 1_000_000);
    const models = this.models;
    async function* rows(): AsyncIterable<AuditRow> {
      for (const id of communicationsInFeed(items, from, to)) {
        const communication = await getCommunication(models.redis, keys, id);
        if (communication) yield* auditRowStream(models.redis, keys, communication, storeId);
      }
    }
    await sendCsv(res, `store-${storeId}.csv`, rows());
  }
}
