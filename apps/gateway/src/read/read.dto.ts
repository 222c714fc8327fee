import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { COMMUNICATION_STATUSES } from '@lastmeter/domain';
import { STORE_ROLES, type StoreRole } from '@lastmeter/contracts';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

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

/** A list query parameter as comma-separated values (`?regionIds=a,b`) or repeated (`?regionIds=a&regionIds=b`). */
const commaList = ({ value }: { value: unknown }) =>
  (Array.isArray(value) ? value : [value])
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);

/** A page of a directory-index walk (stores, terminals, a region's reach): `limit` and `next`'s cursor. */
export class DirectoryPageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'Opaque cursor from the previous page (`next`)' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,400}$/, { message: 'cursor must be a cursor returned by a previous page' })
  cursor?: string;
}

/** Paging and search over the directory index (stores, and the boards joined to it). */
export class DirectoryQuery extends DirectoryPageQuery {
  @ApiPropertyOptional({ description: 'Prefix of the store code or of a word of its name, case-insensitive' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  q?: string;

  @ApiPropertyOptional({ description: 'Only stores of this region' })
  @IsOptional()
  @IsUUID()
  regionId?: string;

  @ApiPropertyOptional({ description: 'Only stores with this tag' })
  @IsOptional()
  @IsString()
  @Length(1, 50)
  tag?: string;
}

/** `GET /stores`: a directory page, or with `ids` those stores by id (names for the rows on a screen). */
export class StoresQuery extends DirectoryQuery {
  @ApiPropertyOptional({
    type: [String],
    description: 'Store ids, comma-separated (at most 500): those stores, by code; combines with nothing else',
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(500)
  @IsUUID('all', { each: true })
  ids?: string[];
}

export class StoreDirectoryQuery extends DirectoryQuery {
  @ApiPropertyOptional({ description: 'Only this store' })
  @IsOptional()
  @IsUUID()
  storeId?: string;
}

export class TerminalsQuery extends DirectoryPageQuery {
  @ApiPropertyOptional({ description: 'Only this store' })
  @IsOptional()
  @IsUUID()
  storeId?: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'Store ids, comma-separated (at most 100): every terminal of those stores, unpaged',
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(100)
  @IsUUID('all', { each: true })
  storeIds?: string[];
}

export class AudienceCountQuery {
  @ApiPropertyOptional({ description: 'Every store' })
  @IsOptional()
  @IsIn(['true', 'false'])
  all?: 'true' | 'false';

  @ApiPropertyOptional({ type: [String], description: 'Region ids, comma-separated' })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(500)
  @IsUUID('all', { each: true })
  regionIds?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Store ids, comma-separated' })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(200)
  @IsUUID('all', { each: true })
  storeIds?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Store tags, comma-separated' })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(50, { each: true })
  tags?: string[];

  @ApiPropertyOptional({
    type: [String],
    description: 'Store roles, comma-separated: count only terminals serving one',
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @IsIn(STORE_ROLES, { each: true })
  roles?: StoreRole[];

  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: 'Also count the stores by locale (`locales`), to see which translations are missing',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  locales?: 'true' | 'false';
}

export class ReachQuery extends DirectoryPageQuery {
  @ApiPropertyOptional({
    enum: ['region', 'language'],
    description:
      'Counts by region, or by region and by store locale (`byLanguage`, with the language each is shown), without per-store rows',
  })
  @IsOptional()
  @IsIn(['region', 'language'])
  by?: 'region' | 'language';

  @ApiPropertyOptional({
    description: 'The stores of this region, a page at a time (`unknown`: stores not in the directory)',
  })
  @IsOptional()
  @Matches(/^([0-9a-fA-F-]{36}|unknown)$/, { message: 'regionId must be a UUID or "unknown"' })
  regionId?: string;
}

export class EvidenceQuery {
  @ApiPropertyOptional({ description: 'The `next` of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,20}$/, { message: 'cursor must be the next of a previous page' })
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class StaffQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'Also the people removed or erased' })
  @IsOptional()
  @IsIn(['true', 'false'])
  all?: 'true' | 'false';
}

export class PeopleReachQuery {
  @ApiPropertyOptional({ description: 'Only this region, with its stores (`byStore`)' })
  @IsOptional()
  @IsUUID()
  regionId?: string;

  @ApiPropertyOptional({ description: 'Only this store, with its people (`people`)' })
  @IsOptional()
  @IsUUID()
  storeId?: string;
}

export class SurveyQuery {
  @ApiPropertyOptional({ description: 'Also the stores of this region (`byStore`)' })
  @IsOptional()
  @IsUUID()
  regionId?: string;
}
