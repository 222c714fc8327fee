import type { AggregateType, EventEnvelope, StreamType } from './event-envelope';
import type { CommunicationEventData } from './events/communication';
import type { DirectoryEventData } from './events/directory';
import type { FeedEventData } from './events/feed';
import type { StoreActivityEventData } from './events/store-activity';

export type EventDataByType = DirectoryEventData & CommunicationEventData & StoreActivityEventData & FeedEventData;
export type EventType = keyof EventDataByType;

/** A typed event: `event.type` narrows `event.data`. */
export type DomainEvent<T extends EventType = EventType> = {
  [K in T]: EventEnvelope<K, EventDataByType[K]>;
}[T];

/** The schemaVersion producers write today; older ones are upcast on read. */
export const CURRENT_SCHEMA_VERSIONS: Readonly<Record<EventType, number>> = {
  'region.defined': 1,
  'store.registered': 1,
  'store.updated': 1,
  'terminal.registered': 2,
  'terminal.enrolled': 1,
  'terminal.revoked': 1,
  'user.created': 2,
  'user.password-set': 1,
  'user.disabled': 1,
  'user.enabled': 1,
  'user.role-changed': 1,
  'staff.added': 1,
  'staff.updated': 1,
  'staff.removed': 1,
  'staff.erased': 1,
  'communication.drafted': 2,
  'communication.revised': 1,
  'communication.submitted': 1,
  'communication.approved': 1,
  'communication.rejected': 1,
  'communication.scheduled': 1,
  'communication.published': 1,
  'communication.retracted': 1,
  'communication.expired': 1,
  'communication.due-reached': 1,
  'task.evidence-rejected': 1,
  'receipt.delivered': 1,
  'receipt.read': 1,
  'receipt.acknowledged': 1,
  'task.completed': 1,
  'quiz.answered': 1,
  'survey.answered': 1,
  'task.dismissed': 1,
  'task.assigned': 1,
  'report.filed': 1,
  'terminal.connected': 1,
  'terminal.disconnected': 1,
  'feed.appended': 1,
};

export const EVENT_TYPES = Object.keys(CURRENT_SCHEMA_VERSIONS) as EventType[];

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.hasOwn(CURRENT_SCHEMA_VERSIONS, value);
}

const STORE_ACTIVITY: ReadonlySet<string> = new Set([
  'receipt.delivered',
  'receipt.read',
  'receipt.acknowledged',
  'task.completed',
  'quiz.answered',
  'survey.answered',
  'task.dismissed',
  'task.assigned',
  'report.filed',
  'terminal.connected',
  'terminal.disconnected',
]);

/** Store activity goes to lastmeter.store-events.v1, everything else to lastmeter.events.v1. */
export function isStoreActivity(type: EventType): boolean {
  return STORE_ACTIVITY.has(type);
}

export function aggregateTypeOf(type: EventType): AggregateType | StreamType {
  if (type === 'feed.appended') return 'feed';
  if (type === 'task.evidence-rejected') return 'communication';
  return isStoreActivity(type) ? 'store-activity' : (type.split('.')[0] as AggregateType);
}
