/**
 * Errors that mean "Redis cannot answer right now" rather than a bug: the connection is
 * down or reconnecting (ioredis gave up on the command after `maxRetriesPerRequest`), or
 * the server is a replica, loading its data, or has lost its master during a failover.
 * Callers answer them like any unavailable dependency (503 with Retry-After, a
 * retryable ack), never as an internal error.
 */
const UNAVAILABLE_REPLIES = ['READONLY', 'LOADING', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN'];

export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  if (error.message === 'Connection is closed.') return true;
  if (error.message.startsWith("Stream isn't writeable")) return true;
  return error.name === 'ReplyError' && UNAVAILABLE_REPLIES.some((reply) => error.message.startsWith(reply));
}

/** Seconds a client is told to wait when Redis is unavailable: a Sentinel failover takes a few. */
export const REDIS_UNAVAILABLE_RETRY_AFTER_S = 2;
