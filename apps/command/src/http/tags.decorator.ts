import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString, MaxLength } from 'class-validator';

/** Store tags (on stores and in audiences): up to 50 strings of up to 50 characters. */
export function OptionalTags(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: [String], example: ['flagship'] }),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(50),
    IsString({ each: true }),
    MaxLength(50, { each: true }),
  );
}
