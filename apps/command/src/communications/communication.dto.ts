import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Equals,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { OptionalTags } from '../http/tags.decorator';
import { OptionalLanguage, OptionalTranslations } from '../http/translations.decorator';
import {
  COMMUNICATION_KINDS,
  EVIDENCE,
  TASK_MANDATES,
  SURVEY_QUESTION_TYPES,
  type SurveyQuestion,
  type TaskMandate,
  MAX_COMMUNICATION_ATTACHMENTS,
  PRIORITIES,
  STORE_ROLES,
  type CommunicationKind,
  type Evidence,
  type Priority,
  DELIVERIES,
  type Delivery,
  type Translations,
  type StoreRole,
} from '@lastmeter/contracts';

export class AudienceDto {
  @ApiPropertyOptional({ description: 'every store' })
  @IsOptional()
  @IsBoolean()
  @Equals(true, { message: 'all may only be true (omit it otherwise)' })
  all?: true;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @IsUUID('all', { each: true })
  regionIds?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(5000)
  @IsUUID('all', { each: true })
  storeIds?: string[];

  @ApiPropertyOptional({ enum: STORE_ROLES, isArray: true })
  @IsOptional()
  @IsArray()
  @IsIn(STORE_ROLES, { each: true })
  roles?: StoreRole[];

  @OptionalTags()
  tags?: string[];
}

export class QuestionDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(500) prompt!: string;

  @ApiProperty({ type: [String] })
  @IsArray()
  @ArrayMinSize(2)
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  options!: string[];

  @ApiProperty({ description: 'index of the right option (kept server-side)' }) @IsInt() @Min(0) answer!: number;
}

/** A pulse survey's question (issue 21); what each type needs is the domain's rule. */
export class SurveyQuestionDto {
  @ApiProperty({ enum: SURVEY_QUESTION_TYPES }) @IsIn(SURVEY_QUESTION_TYPES) type!: SurveyQuestion['type'];
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(500) prompt!: string;

  @ApiPropertyOptional({ type: [String], description: 'choice: 2 to 10 options' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  options?: string[];

  @ApiPropertyOptional({ description: 'scale: the lowest value (default 1)' }) @IsOptional() @IsInt() min?: number;
  @ApiPropertyOptional({ description: 'scale: the highest value (default 5)' }) @IsOptional() @IsInt() max?: number;
}

export class SurveyDto {
  @ApiProperty({ type: [SurveyQuestionDto] })
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => SurveyQuestionDto)
  questions!: SurveyQuestionDto[];
}

export class AttachmentInputDto {
  @ApiProperty({ description: 'A head office medium: POST /v1/media on the gateway' }) @IsUUID() mediaId!: string;
  @ApiPropertyOptional({ maxLength: 100, description: 'Shown on the card; default: the uploaded file name' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name?: string;
}

export class CoverInputDto {
  @ApiProperty({ description: 'A head office image: POST /v1/media on the gateway' }) @IsUUID() mediaId!: string;
}

export class DraftCommunicationDto {
  @ApiProperty({ enum: COMMUNICATION_KINDS }) @IsIn(COMMUNICATION_KINDS) kind!: CommunicationKind;
  @ApiProperty({ maxLength: 200 }) @IsString() @MinLength(1) @MaxLength(200) title!: string;
  @ApiProperty({ maxLength: 20000 }) @IsString() @MinLength(1) @MaxLength(20_000) body!: string;
  @ApiPropertyOptional({ enum: PRIORITIES }) @IsOptional() @IsIn(PRIORITIES) priority?: Priority;

  @ApiPropertyOptional({
    enum: DELIVERIES,
    description:
      "A normal item's delivery: now (when absent), or in each store's daily brief at its next opening (in the store's time zone). Refused on urgent and critical items, which are always delivered at once",
  })
  @IsOptional()
  @IsIn(DELIVERIES)
  delivery?: Delivery;

  @ApiProperty({ type: AudienceDto })
  @ValidateNested()
  @Type(() => AudienceDto)
  audience!: AudienceDto;

  @ApiPropertyOptional() @IsOptional() @IsISO8601({ strict: true }) dueAt?: string;
  @ApiPropertyOptional({ enum: EVIDENCE }) @IsOptional() @IsIn(EVIDENCE) evidence?: Evidence;

  @ApiPropertyOptional({
    enum: TASK_MANDATES,
    description:
      'A task only: mandated (default; the store must do it) or suggested (a store manager may dismiss or assign it)',
  })
  @IsOptional()
  @IsIn(TASK_MANDATES)
  mandate?: TaskMandate;

  @ApiPropertyOptional({ type: [QuestionDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => QuestionDto)
  questions?: QuestionDto[];

  @ApiPropertyOptional({ type: SurveyDto, description: 'A survey only: its questions (anonymous answers)' })
  @IsOptional()
  @ValidateNested()
  @Type(() => SurveyDto)
  survey?: SurveyDto;

  @ApiPropertyOptional({ type: [AttachmentInputDto], maxItems: MAX_COMMUNICATION_ATTACHMENTS })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_COMMUNICATION_ATTACHMENTS)
  @ValidateNested({ each: true })
  @Type(() => AttachmentInputDto)
  attachments?: AttachmentInputDto[];

  @ApiPropertyOptional({ type: CoverInputDto, nullable: true, description: 'null in a revision removes the cover' })
  @IsOptional()
  @ValidateNested()
  @Type(() => CoverInputDto)
  cover?: CoverInputDto | null;

  @OptionalLanguage()
  language?: string;

  @OptionalTranslations()
  translations?: Translations;
}

export class ReviseCommunicationDto extends PartialType(DraftCommunicationDto) {}

export class PublishDto {
  @ApiPropertyOptional() @IsOptional() @IsISO8601({ strict: true }) publishAt?: string;
  @ApiPropertyOptional() @IsOptional() @IsISO8601({ strict: true }) expiresAt?: string;
}

export class RejectDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(2000) reason!: string;
}

export class RetractDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(2000) reason?: string;
}
