import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsUUID,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { STORE_ROLES, type StoreRole } from '@lastmeter/contracts';
import { PIN } from '@lastmeter/auth';

const PIN_MESSAGE = 'pin must be 4 to 6 digits (a string, so that leading zeros count)';

function Roles(): PropertyDecorator {
  return (target, key) => {
    ApiProperty({ enum: STORE_ROLES, isArray: true, description: 'the store roles this person works in' })(target, key);
    IsArray()(target, key);
    ArrayMinSize(1)(target, key);
    ArrayMaxSize(STORE_ROLES.length)(target, key);
    ArrayUnique()(target, key);
    IsIn(STORE_ROLES, { each: true, message: `each value in roles must be one of: ${STORE_ROLES.join(', ')}` })(
      target,
      key,
    );
  };
}

export class AddStaffDto {
  @ApiProperty({ example: 'Camille Martin', description: 'personal data: sealed in the log (docs/privacy.md)' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @Roles()
  roles!: StoreRole[];

  @ApiProperty({ example: '4821', description: '4 to 6 digits; only its peppered hash is kept' })
  @IsString()
  @Matches(PIN, { message: PIN_MESSAGE })
  pin!: string;
}

export class UpdateStaffDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(100) name?: string;

  @IsOptional()
  @Roles()
  roles?: StoreRole[];

  @ApiPropertyOptional({ example: '4821' })
  @IsOptional()
  @IsString()
  @Matches(PIN, { message: PIN_MESSAGE })
  pin?: string;
}

export class RemoveStaffDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(500) reason?: string;
}

export class SignInDto {
  @ApiProperty({ example: '4821' })
  @IsString()
  @Matches(PIN, { message: PIN_MESSAGE })
  pin!: string;
}

export class UnlockStaffDto {
  @ApiPropertyOptional({
    description:
      'From a tablet: the staff session of the store manager signed in on it (a store-manager login needs none)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(4_096)
  staff?: string;
}

export class DismissTaskDto {
  @ApiProperty({ example: 'We have no freezer in this store' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason!: string;

  @ApiPropertyOptional({ description: 'From a tablet: the session of the store manager signed in on it' })
  @IsOptional()
  @IsString()
  @MaxLength(4_096)
  staff?: string;
}

export class AssignTaskDto {
  @ApiProperty({ type: [String], description: 'Staff members of this store (1 to 50)' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsUUID('all', { each: true })
  staffIds!: string[];

  @ApiPropertyOptional({ description: 'From a tablet: the session of the store manager signed in on it' })
  @IsOptional()
  @IsString()
  @MaxLength(4_096)
  staff?: string;
}
