import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { isRedisUnavailable } from './unavailable';

describe('isRedisUnavailable', () => {
  const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

  it('recognises a command given up while disconnected, a closed connection and a failover reply', () => {
    const gaveUp = Object.assign(new Error('Reached the max retries per request limit (which is 2).'), {
      name: 'MaxRetriesPerRequestError',
    });
    expect(isRedisUnavailable(gaveUp)).toBe(true);
    expect(isRedisUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisUnavailable(replyError("READONLY You can't write against a read only replica."))).toBe(true);
    expect(isRedisUnavailable(replyError('LOADING Redis is loading the dataset in memory'))).toBe(true);
  });

  it('leaves other errors alone', () => {
    expect(isRedisUnavailable(replyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      false,
    );
    expect(isRedisUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isRedisUnavailable('READONLY')).toBe(false);
  });

  it("recognises ioredis's own error classes", () => {
    expect(isRedisUnavailable(new MaxRetriesPerRequestError(2))).toBe(true);
    expect(isRedisUnavailable(new ReplyError('MASTERDOWN Link with MASTER is down'))).toBe(true);
  });
});
