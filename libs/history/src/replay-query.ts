import { ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  validateSync,
} from 'class-validator';
import { EVENT_TYPES, flattenValidationErrors } from '@lastmeter/contracts';
import type { ReplayFilter } from './replay-filter';

/** The filters of GET /v1/events and `lastmeter replay`, as they arrive (strings). */
export class ReplayQuery {
  @ApiPropertyOptional({ description: 'occurredAt >= from (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'occurredAt <= to (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ description: 'Event types, comma-separated', example: 'communication.published,receipt.read' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').map((t) => t.trim()) : value))
  @ArrayMaxSize(50)
  @IsIn(EVENT_TYPES, { each: true, message: 'each type must be an event type' })
  type?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  aggregateId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  storeId?: string;
}

export class InvalidReplayFilter extends Error {
  constructor(readonly fields: Record<string, string[]>) {
    super(
      `invalid filter: ${Object.entries(fields)
        .map(([f, m]) => `${f}: ${m.join(', ')}`)
        .join('; ')}`,
    );
  }
}

/** A validated query as a filter; `to` before `from` is refused. */
export function replayFilterOf(query: ReplayQuery): ReplayFilter {
  const filter: ReplayFilter = {
    from: query.from ? new Date(query.from) : undefined,
    to: query.to ? new Date(query.to) : undefined,
    types: query.type,
    aggregateId: query.aggregateId,
    storeId: query.storeId,
  };
  if (filter.from && filter.to && filter.from > filter.to) {
    throw new InvalidReplayFilter({ to: ['must not be before from'] });
  }
  return filter;
}

/** Validates raw options (CLI) like the HTTP pipe does, then builds the filter. */
export function parseReplayFilter(raw: Record<string, unknown>): ReplayFilter {
  const query = plainToInstance(ReplayQuery, raw);
  const errors = validateSync(query, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw new InvalidReplayFilter(flattenValidationErrors(errors));
  return replayFilterOf(query);
}
