import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
  IsTimeZone,
  IsLocale,
  ValidateNested,
} from 'class-validator';
import { OptionalOpeningHours } from '../http/opening-hours.decorator';
import { OptionalTags } from '../http/tags.decorator';
import {
  MAX_REPORT_ATTACHMENTS,
  STORE_ROLES,
  TERMINAL_KINDS,
  USER_ROLES,
  type OpeningHours,
  type TerminalKind,
  type StoreRole,
  type UserRole,
} from '@lastmeter/contracts';

/** Region and store codes (natural keys). */
export const CODE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
export const CODE_MESSAGE = 'must be 1-40 letters, digits, _ or -, starting with a letter or digit';

export class DefineRegionDto {
  @ApiProperty({ example: 'north' }) @IsString() @Matches(CODE, { message: `code ${CODE_MESSAGE}` }) code!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(120) name!: string;
}

export class RegisterStoreDto {
  @ApiProperty({ example: 'paris-01' }) @IsString() @Matches(CODE, { message: `code ${CODE_MESSAGE}` }) code!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(120) name!: string;
  @ApiProperty() @IsUUID() regionId!: string;

  @OptionalTags()
  tags?: string[];

  @ApiPropertyOptional({ example: 'fr-FR' }) @IsOptional() @IsLocale() locale?: string;
  @ApiPropertyOptional({ example: 'Europe/Paris' }) @IsOptional() @IsTimeZone() timezone?: string;

  @OptionalOpeningHours()
  openingHours?: OpeningHours;
}

export class UpdateStoreDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(120) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() regionId?: string;

  @OptionalTags()
  tags?: string[];

  @ApiPropertyOptional() @IsOptional() @IsLocale() locale?: string;
  @ApiPropertyOptional() @IsOptional() @IsTimeZone() timezone?: string;

  @OptionalOpeningHours()
  openingHours?: OpeningHours;
}

export class RegisterTerminalDto {
  @ApiProperty() @IsUUID() storeId!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(120) name?: string;

  @ApiPropertyOptional({ enum: STORE_ROLES, isArray: true, description: 'empty = shared store tablet' })
  @IsOptional()
  @IsArray()
  @IsIn(STORE_ROLES, { each: true })
  roles?: StoreRole[];

  @ApiPropertyOptional({
    enum: TERMINAL_KINDS,
    description: 'tablet (default), or screen: a break-room TV whose device token only reads (role `screen`)',
  })
  @IsOptional()
  @IsIn(TERMINAL_KINDS)
  kind?: TerminalKind;
}

export class EnrollTerminalDto {
  @ApiProperty({ example: 'K7QM-2XPD-9WRT' }) @IsString() @MinLength(4) @MaxLength(40) code!: string;
}

export class RevokeTerminalDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) reason?: string;
}

export class CreateUserDto {
  @ApiProperty()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9._-]{1,39}$/, { message: 'username must be 2-40 of a-z 0-9 . _ -' })
  username!: string;

  @ApiProperty() @IsString() @MinLength(8) @MaxLength(200) password!: string;
  @ApiProperty({ enum: USER_ROLES }) @IsIn(USER_ROLES) role!: UserRole;
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
}

export class DisableUserDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) reason?: string;
}

export class ResetPasswordDto {
  @ApiProperty() @IsString() @MinLength(8) @MaxLength(200) password!: string;
}

export class ChangeOwnPasswordDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(200) currentPassword!: string;
  @ApiProperty() @IsString() @MinLength(8) @MaxLength(200) newPassword!: string;
}

export class ChangeRoleDto {
  @ApiProperty({ enum: USER_ROLES }) @IsIn(USER_ROLES) role!: UserRole;
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
}

export class LoginDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(100) username!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(200) password!: string;
}

export class ReportAttachmentDto {
  @ApiProperty({ description: 'A medium of the store (POST /v1/media on the gateway)' }) @IsUUID() mediaId!: string;
}

export class FileReportDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(200) title!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(20_000) body!: string;

  @ApiPropertyOptional({ type: [ReportAttachmentDto], maxItems: MAX_REPORT_ATTACHMENTS })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_REPORT_ATTACHMENTS)
  @ValidateNested({ each: true })
  @Type(() => ReportAttachmentDto)
  attachments?: ReportAttachmentDto[];
}
