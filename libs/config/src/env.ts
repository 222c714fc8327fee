import { host, port, str } from 'envalid';
import { brokerList, namePrefix, positiveInt, redisUrl, secret } from './validators';

/**
 * Every environment variable the apps read, in one place. The specs are plain data so
 * that the compose-file test and the README table can be checked against them.
 */
export const sharedEnv = {
  NODE_ENV: str({ choices: ['development', 'test', 'production'], default: 'development', desc: 'Runtime mode' }),
  LOG_LEVEL: str({
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    desc: 'pino log level',
  }),
  HOST: host({ default: '127.0.0.1', desc: 'Interface the HTTP server binds to (0.0.0.0 in containers)' }),
  KAFKA_BROKERS: brokerList({ desc: 'Kafka bootstrap servers, host:port[,host:port]' }),
  KAFKA_CLIENT_ID: str({ default: 'lastmeter', desc: 'kafkajs client id prefix' }),
  KAFKA_TOPIC_PREFIX: namePrefix({ default: '', desc: 'Prefix for every topic name (tests isolate suites with it)' }),
  KAFKA_PARTITIONS: positiveInt({ default: 12, desc: 'Partitions of each topic when the project creates it' }),
  KAFKA_REPLICATION_FACTOR: positiveInt({ default: 1, desc: 'Replication factor of each topic it creates' }),
  REDIS_URL: redisUrl({ desc: 'Redis connection URL, redis://host:port[/db]' }),
  REDIS_KEY_PREFIX: namePrefix({ default: 'lm:', desc: 'Prefix for every Redis key' }),
};

export const commandEnv = {
  ...sharedEnv,
  COMMAND_PORT: port({ default: 3001, desc: 'HTTP port of apps/command' }),
  LASTMETER_JWT_SECRET: secret({ desc: 'HS256 secret for user and device tokens (>= 32 chars)' }),
  LASTMETER_ADMIN_USER: str({ default: 'admin', desc: 'Username of the first hq-admin' }),
  LASTMETER_ADMIN_PASSWORD: str({ desc: 'Password of the first hq-admin' }),
  CORS_ORIGINS: str({
    default: '*',
    desc: 'Browser origins allowed to call the write API (comma-separated; * = any). Bearer tokens, no cookies',
  }),
};

export const projectorEnv = {
  ...sharedEnv,
  PROJECTOR_PORT: port({ default: 3002, desc: 'HTTP port of apps/projector (health, metrics)' }),
};

export const gatewayEnv = {
  ...sharedEnv,
  GATEWAY_PORT: port({ default: 3000, desc: 'HTTP and Socket.IO port of apps/gateway' }),
  GATEWAY_MAX_BUFFERED_PACKETS: positiveInt({
    default: 1000,
    desc: 'Packets a terminal socket may have waiting before it is disconnected as a slow consumer',
  }),
  LASTMETER_JWT_SECRET: secret({ desc: 'HS256 secret for user and device tokens (>= 32 chars)' }),
  COMMAND_PUBLIC_URL: str({
    default: '',
    desc: 'Write API base URL as browsers reach it (the web UIs); empty = same host as the page, port 3001',
  }),
};

export const APP_ENV_SPECS = {
  command: commandEnv,
  projector: projectorEnv,
  gateway: gatewayEnv,
} as const;

export type AppName = keyof typeof APP_ENV_SPECS;
export const APP_NAMES = Object.keys(APP_ENV_SPECS) as AppName[];
