import type { Admin } from 'kafkajs';
import { topicOffsets } from './topic-offsets';

describe('topicOffsets', () => {
  const offsets = [{ partition: 0, offset: '5', high: '5', low: '0' }];

  it('tries again, with fresh metadata, while kafkajs finds no offsets yet', async () => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: jest.fn(async () => {
        if (++calls < 3)
          throw new TypeError("Cannot destructure property 'partitions' of 'high.pop(...)' as it is undefined.");
        return offsets;
      }),
      fetchTopicMetadata: jest.fn(async () => ({ topics: [] })),
    } as unknown as Admin;
    await expect(topicOffsets(admin, 'events', { delayMs: 1 })).resolves.toEqual(offsets);
    expect(admin.fetchTopicMetadata).toHaveBeenCalledTimes(2);
  });

  it('gives up with what happened after its attempts', async () => {
    const admin = {
      fetchTopicOffsets: jest.fn(async () => {
        throw new Error('leader not available');
      }),
      fetchTopicMetadata: jest.fn(async () => ({ topics: [] })),
    } as unknown as Admin;
    await expect(topicOffsets(admin, 'events', { attempts: 3, delayMs: 1 })).rejects.toThrow(
      'the offsets of events are not available yet: leader not available',
    );
    expect(admin.fetchTopicOffsets).toHaveBeenCalledTimes(3);
  });
});
