import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Min } from 'class-validator';
import type { MediaVariant } from '@lastmeter/media';

const VARIANTS: MediaVariant[] = ['original', 'thumbnail'];

export class MediaVariantQuery {
  @ApiPropertyOptional({
    enum: VARIANTS,
    default: 'original',
    description: 'thumbnail: a JPEG of at most 480 px (images)',
  })
  @IsOptional()
  @IsIn(VARIANTS)
  variant?: MediaVariant;
}

export class SignedMediaQuery {
  @ApiProperty({ enum: VARIANTS })
  @IsIn(VARIANTS)
  variant!: MediaVariant;

  @ApiProperty({ description: 'Unix seconds, from the link' })
  @Type(() => Number)
  @IsInt()
  @Min(0)
  expires!: number;

  @ApiProperty({ description: 'From the link' })
  @Matches(/^[A-Za-z0-9_-]{43}$/, { message: 'signature must be the one of the link' })
  signature!: string;
}

export class SweepQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], default: 'false', description: 'Count only, delete nothing' })
  @IsOptional()
  @IsIn(['true', 'false'])
  dryRun?: 'true' | 'false';
}
