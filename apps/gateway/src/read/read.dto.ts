import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { COMMUNICATION_STATUSES } from '@lastmeter/domain';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';

export class PageQuery {
  @ApiPropertyOptional({ description: 'Opaque cursor from the previous page (`next`)' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,200}$/, { message: 'cursor must be a cursor returned by a previous page' })
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

export class ListCommunicationsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: COMMUNICATION_STATUSES })
  @IsOptional()
  @IsIn(COMMUNICATION_STATUSES)
  status?: (typeof COMMUNICATION_STATUSES)[number];
}

export class AsOfQuery {
  @ApiPropertyOptional({ description: 'Time travel: the state at this instant (ISO 8601), computed from the log' })
  @IsOptional()
  @IsISO8601({ strict: true })
  asOf?: string;
}

export class CommunicationQuery extends AsOfQuery {
  @ApiPropertyOptional({
    description:
      'Read your own write: wait (up to 5 s) until the read side holds at least this version, e.g. the `version` a command just answered',
    minimum: 1,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  minVersion?: number;
}

export class FeedQuery extends AsOfQuery {
  @ApiPropertyOptional({ description: 'Return items with feedSeq greater than this (the cursor)', default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class StoreFilterQuery {
  @ApiPropertyOptional({ description: 'Only this store' })
  @IsOptional()
  @IsUUID()
  storeId?: string;
}

export class ReportsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only this store' })
  @IsOptional()
  @IsUUID()
  storeId?: string;
}
