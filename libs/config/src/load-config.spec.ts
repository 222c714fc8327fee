import { ConfigError, loadConfig } from './load-config';

const valid = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  REDIS_URL: 'redis://127.0.0.1:6380',
  LASTMETER_JWT_SECRET: 'x'.repeat(32),
  LASTMETER_ADMIN_PASSWORD: 'secret',
};

describe('loadConfig', () => {
  it('applies defaults and parses typed values', () => {
    const config = loadConfig('command', { ...valid, KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093' });
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(config.COMMAND_PORT).toBe(3001);
    expect(config.KAFKA_PARTITIONS).toBe(12);
    expect(config.REDIS_KEY_PREFIX).toBe('lm:');
  });

  it('reports every bad value on one line', () => {
    let error: unknown;
    try {
      loadConfig('gateway', { ...valid, KAFKA_PARTITIONS: 'abc', GATEWAY_PORT: '99999', REDIS_URL: 'http://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/KAFKA_PARTITIONS: .*"abc" is not a positive integer/);
    expect(message).toMatch(/GATEWAY_PORT/);
    expect(message).toMatch(/REDIS_URL: .*is neither a redis:\/\/ nor a redis\+sentinel:\/\/ URL/);
  });

  it('names missing required variables', () => {
    expect(() => loadConfig('projector', {})).toThrow(/KAFKA_BROKERS is required; REDIS_URL is required/);
  });

  it('rejects malformed broker lists and short secrets', () => {
    expect(() => loadConfig('projector', { ...valid, KAFKA_BROKERS: 'localhost' })).toThrow(/not host:port/);
    expect(() => loadConfig('gateway', { ...valid, LASTMETER_JWT_SECRET: 'short' })).toThrow(/at least 32/);
  });
});
