import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  validate,
} from 'class-validator';
import { flattenValidationErrors, RECEIPT_KINDS, type ReceiptKind } from '@lastmeter/contracts';

export class ReceiptDto {
  @IsUUID() communicationId!: string;
  @IsIn(RECEIPT_KINDS) kind!: ReceiptKind;
  @IsInt() @Min(1) revision!: number;
}

export class TaskCompleteDto {
  @IsUUID() communicationId!: string;
  @IsInt() @Min(1) revision!: number;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(2_000) note?: string;
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true }) @MaxLength(2_000) photoUrl?: string;
}

export class QuizAnswerDto {
  @IsUUID() communicationId!: string;
  @IsInt() @Min(1) revision!: number;
  @IsArray()
  @ArrayMaxSize(50)
  @IsInt({ each: true })
  @Min(0, { each: true })
  @Max(20, { each: true })
  @Type(() => Number)
  answers!: number[];
}

export class ReportFileDto {
  @IsOptional() @IsUUID() reportId?: string;
  @IsString() @MinLength(1) @MaxLength(200) title!: string;
  @IsString() @MinLength(1) @MaxLength(5_000) body!: string;
}

export class InvalidMessage extends Error {
  constructor(readonly fields: Record<string, string[]>) {
    super(`invalid message: ${Object.keys(fields).join(', ')}`);
  }
}

/** Validates a socket message like the HTTP pipe does: whitelist, no unknown fields, per-field errors. */
export async function parseMessage<T extends object>(type: new () => T, body: unknown): Promise<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidMessage({ $: ['must be a JSON object'] });
  }
  const instance = plainToInstance(type, body);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw new InvalidMessage(flattenValidationErrors(errors));
  return instance;
}
