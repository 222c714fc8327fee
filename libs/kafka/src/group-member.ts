/**
 * The group member a kafkajs GROUP_JOIN event names, as transactional offsets must name it
 * (KIP-447). kafkajs 2.2.4 does not put the generation in the event; our patch does
 * (patches/kafkajs+2.2.4.patch), so this is the one place that reads it.
 */
import type { ConsumerGroupJoinEvent } from 'kafkajs';

/**
 * The member and generation of a GROUP_JOIN payload (the write engine's `GroupMember`);
 * undefined without the patch.
 */
export function joinedMember(
  payload: ConsumerGroupJoinEvent['payload'],
): { generationId: number; memberId: string } | undefined {
  const { generationId } = payload as typeof payload & { generationId?: unknown };
  return typeof generationId === 'number' ? { generationId, memberId: payload.memberId } : undefined;
}
