import { RedisKeys } from './redis-keys';

describe('RedisKeys', () => {
  const keys = new RedisKeys('lm:', 'g7');

  it('builds read-model keys under the prefix and generation, parts joined by colons', () => {
    expect(keys.model('feed')).toBe('lm:g7:feed');
    expect(keys.model('reach', 'c1', 'read')).toBe('lm:g7:reach:c1:read');
  });

  it('puts every directory-index key under one hash tag per deployment, in every generation', () => {
    expect(keys.index()).toBe('lm:g7:{lm:dir}');
    expect(keys.index('reach', 'c1', 'by-region')).toBe('lm:g7:{lm:dir}:reach:c1:by-region');
    expect(keys.withGeneration('g8').index('region-of')).toBe('lm:g8:{lm:dir}:region-of');
  });

  it('keeps meta keys out of the generations', () => {
    expect(keys.meta('live')).toBe('lm:meta:live');
    expect(keys.position('t', 3)).toBe('lm:meta:g7:position:t:3');
    expect(keys.withGeneration('g8').model('feed', 's1')).toBe('lm:g8:feed:s1');
  });
});
