import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Min,
  MinLength,
  ValidateNested,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { ACTOR_ROLES } from './roles';
import { AGGREGATE_TYPES, STREAM_TYPES, type EventEnvelope } from './envelope';
import { EVENT_TYPES } from './event-types';

class ActorShape {
  @IsString() @MinLength(1) id!: string;
  @IsIn(ACTOR_ROLES) role!: string;
  @IsOptional() @IsString() storeId?: string;
}

class EnvelopeShape {
  @IsUUID() id!: string;
  @IsIn(EVENT_TYPES) type!: string;
  @IsInt() @Min(1) schemaVersion!: number;
  @IsIn([...AGGREGATE_TYPES, ...STREAM_TYPES]) aggregateType!: string;
  @IsString() @MinLength(1) aggregateId!: string;
  @IsInt() @Min(1) aggregateVersion!: number;
  @IsISO8601({ strict: true }) occurredAt!: string;
  @ValidateNested() @Type(() => ActorShape) actor!: ActorShape;
  @IsString() @MinLength(1) commandId!: string;
  @IsString() @MinLength(1) correlationId!: string;
  @IsString() @MinLength(1) causationId!: string;
  @IsOptional() @IsString() commandHash?: string;
  @IsObject() data!: Record<string, unknown>;
}

export class InvalidEnvelope extends Error {
  override name = 'InvalidEnvelope';
  constructor(readonly fields: Record<string, string[]>) {
    super(
      `invalid event envelope: ${Object.entries(fields)
        .map(([f, m]) => `${f}: ${m.join(', ')}`)
        .join('; ')}`,
    );
  }
}

export function flattenValidationErrors(errors: ValidationError[], parent = ''): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) fields[path] = Object.values(error.constraints);
    Object.assign(fields, flattenValidationErrors(error.children ?? [], path));
  }
  return fields;
}

/**
 * Checks the shape of a message read from an event topic (before upcasting). Whatever
 * fails here goes to the DLQ with these field errors instead of stopping a consumer.
 */
export function parseEnvelope(raw: Buffer | string | unknown): EventEnvelope {
  let value: unknown = raw;
  if (Buffer.isBuffer(raw) || typeof raw === 'string') {
    try {
      value = JSON.parse(raw.toString());
    } catch (error) {
      throw new InvalidEnvelope({ $: [`not JSON: ${(error as Error).message}`] });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEnvelope({ $: ['not a JSON object'] });
  }
  const errors = validateSync(plainToInstance(EnvelopeShape, value), { forbidUnknownValues: true });
  if (errors.length > 0) throw new InvalidEnvelope(flattenValidationErrors(errors));
  return value as EventEnvelope;
}
