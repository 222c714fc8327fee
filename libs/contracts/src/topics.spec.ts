import { TOPICS, topicNames } from './topics';

describe('topics', () => {
  it('keeps the source of truth forever and commands for 7 days', () => {
    expect(TOPICS.events.config['retention.ms']).toBe('-1');
    expect(TOPICS.storeEvents.config['retention.ms']).toBe('-1');
    expect(TOPICS.feed.config['retention.ms']).toBe('-1');
    expect(TOPICS.commands.config['retention.ms']).toBe(String(7 * 86_400_000));
    expect(TOPICS.dlq.config['retention.ms']).toBe(String(30 * 86_400_000));
  });

  it('keeps credentials compacted: overwritten on change, deleted by tombstones', () => {
    expect(TOPICS.credentials.config['cleanup.policy']).toBe('compact');
  });

  it("deletes an erased person's key from the broker's disk within a bounded time", () => {
    // Compaction only cleans closed segments: an hour-long segment and a day's maximum lag
    // bound how long a deleted key's record can still be read from disk (docs/privacy.md).
    expect(TOPICS.personKeys.config).toMatchObject({
      'cleanup.policy': 'compact',
      'segment.ms': String(3_600_000),
      'max.compaction.lag.ms': String(86_400_000),
    });
  });

  it('prefixes every name for isolated deployments', () => {
    expect(topicNames('t1.')).toEqual({
      commands: 't1.lastmeter.commands.v1',
      events: 't1.lastmeter.events.v1',
      storeEvents: 't1.lastmeter.store-events.v1',
      feed: 't1.lastmeter.feed.v1',
      credentials: 't1.lastmeter.credentials.v1',
      personKeys: 't1.lastmeter.person-keys.v1',
      dlq: 't1.lastmeter.dlq.v1',
    });
  });
});

describe('redactCredentials', () => {
  it('replaces credential values, also inside escaped JSON, and leaves the rest', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { redactCredentials } = require('./credential-record') as typeof import('./credential-record');
    const inner = JSON.stringify({ data: { username: 'a', passwordHash: 'scrypt$1$x' } });
    expect(redactCredentials(inner)).toBe('{"data":{"username":"a","passwordHash":"[redacted]"}}');
    const outer = JSON.stringify({ payload: inner });
    expect(redactCredentials(outer)).not.toContain('scrypt');
    expect(JSON.parse(JSON.parse(redactCredentials(outer)).payload)).toEqual({
      data: { username: 'a', passwordHash: '[redacted]' },
    });
    expect(redactCredentials('{"enrollmentCodeHash": "abc", "name": "n"}')).toBe(
      '{"enrollmentCodeHash":"[redacted]", "name": "n"}',
    );
  });
});
