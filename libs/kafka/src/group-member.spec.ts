import type { ConsumerGroupJoinEvent } from 'kafkajs';
import { joinedMember } from './group-member';

const payload = (extra: object) =>
  ({
    groupId: 'g',
    memberId: 'member-1',
    leaderId: 'member-1',
    isLeader: true,
    memberAssignment: { commands: [0, 1] },
    groupProtocol: 'RoundRobinAssigner',
    duration: 12,
    ...extra,
  }) as ConsumerGroupJoinEvent['payload'];

it('reads the member and the generation the patched kafkajs adds to GROUP_JOIN', () => {
  expect(joinedMember(payload({ generationId: 7 }))).toEqual({ generationId: 7, memberId: 'member-1' });
});

it('names no member when the event has no generation (kafkajs unpatched)', () => {
  expect(joinedMember(payload({}))).toBeUndefined();
  expect(joinedMember(payload({ generationId: '7' }))).toBeUndefined();
});
