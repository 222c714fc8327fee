/** The app's shared ioredis connection for commands (not for blocking reads or pub/sub). */
export const REDIS = Symbol('REDIS');
