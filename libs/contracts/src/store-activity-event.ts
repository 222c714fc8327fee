import type { Actor } from './roles';
import { CURRENT_SCHEMA_VERSIONS, type DomainEvent, type EventDataByType, type EventType } from './event-types';

/**
 * The envelope of a fact from a store (lastmeter.store-events.v1): not decided by an
 * aggregate, so it is its own aggregate (`aggregateId` = the fact's id, version 1), and
 * its id doubles as command, correlation and causation id.
 */
export function storeActivityEvent<T extends EventType>(
  type: T,
  id: string,
  actor: Actor,
  data: EventDataByType[T],
  occurredAt = new Date().toISOString(),
): DomainEvent<T> {
  return {
    id,
    type,
    schemaVersion: CURRENT_SCHEMA_VERSIONS[type],
    aggregateType: 'store-activity',
    aggregateId: id,
    aggregateVersion: 1,
    occurredAt,
    actor,
    commandId: id,
    correlationId: id,
    causationId: id,
    data,
  } as DomainEvent<T>;
}
