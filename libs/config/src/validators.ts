import { EnvError, makeValidator } from 'envalid';
import { parseSentinelUrl } from './redis-url';

/** `host:port[,host:port...]`, e.g. `127.0.0.1:9092`. */
export const brokerList = makeValidator<string[]>((input) => {
  const brokers = input
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new EnvError('expected host:port[,host:port...]');
  for (const broker of brokers) {
    const match = /^([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(broker);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new EnvError(`"${broker}" is not host:port`);
    }
  }
  return brokers;
});

export const positiveInt = makeValidator<number>((input) => {
  if (!/^\d+$/.test(input.trim()) || Number(input) < 1) throw new EnvError(`"${input}" is not a positive integer`);
  return Number(input);
});

export const nonNegativeInt = makeValidator<number>((input) => {
  if (!/^\d+$/.test(input.trim())) throw new EnvError(`"${input}" is not a non-negative integer`);
  return Number(input);
});

/** A Kafka topic-name or Redis key prefix: letters, digits, `.`, `_`, `-`, `:`. */
export const namePrefix = makeValidator<string>((input) => {
  if (!/^[A-Za-z0-9._:-]*$/.test(input)) throw new EnvError(`"${input}" may only hold letters, digits, . _ - :`);
  return input;
});

export const redisUrl = makeValidator<string>((input) => {
  if (input.startsWith('redis+sentinel:')) {
    try {
      parseSentinelUrl(input);
    } catch (error) {
      throw new EnvError((error as Error).message);
    }
    return input;
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new EnvError(`"${input}" is not a URL`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new EnvError(`"${input}" is neither a redis:// nor a redis+sentinel:// URL`);
  return input;
});

export const secret = makeValidator<string>((input) => {
  if (input.length < 32) throw new EnvError('must be at least 32 characters');
  return input;
});
