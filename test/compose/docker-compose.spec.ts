import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { APP_ENV_SPECS, APP_NAMES } from '@lastmeter/config';

/**
 * There is no Docker engine on our machines, so the compose file is checked against the
 * apps' config schema instead: same services, same variable names, same ports.
 */
interface Service {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
}

const root = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};

it('runs Kafka 3.9 (KRaft) and Redis 7 with health checks', () => {
  const { kafka, redis } = compose.services;
  expect(kafka.image).toMatch(/^apache\/kafka:3\.9(\.\d+)?$/);
  expect(kafka.environment).toMatchObject({
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
  });
  expect(redis.image).toMatch(/^redis:7/);
  expect(kafka.healthcheck).toBeDefined();
  expect(redis.healthcheck).toBeDefined();
});

describe.each(APP_NAMES)('the %s service', (name) => {
  const service = compose.services[name];
  const spec = APP_ENV_SPECS[name] as Record<string, { default?: unknown }>;

  it('builds the shared Dockerfile for this app', () => {
    expect(service.build).toEqual({ context: '.', args: { APP: name } });
    expect(service.depends_on).toEqual({
      kafka: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  });

  it('sets only variables the app reads, and every one it requires', () => {
    const names = Object.keys(service.environment ?? {});
    expect(names.filter((variable) => !(variable in spec))).toEqual([]);
    const required = Object.entries(spec)
      .filter(([, validator]) => validator.default === undefined)
      .map(([variable]) => variable);
    expect(required.filter((variable) => !names.includes(variable))).toEqual([]);
  });

  it('publishes the port the app listens on', () => {
    const variable = `${name.toUpperCase()}_PORT`;
    const port = String(service.environment?.[variable] ?? spec[variable].default);
    expect(port).toBe(String(spec[variable].default));
    expect(service.ports).toContain(`${port}:${port}`);
  });

  it('reaches Kafka and Redis by their service names', () => {
    expect(service.environment?.KAFKA_BROKERS).toBe('kafka:9092');
    expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(service.environment?.HOST).toBe('0.0.0.0');
  });
});

it('the Dockerfile is multi-stage and starts the app named by APP', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  expect(dockerfile.match(/^FROM node:20\S* AS \w+$/gm)).toHaveLength(2);
  expect(dockerfile).toMatch(/COPY --from=build /);
  expect(dockerfile).toContain('dist/apps/${APP}/src/main.js');
});
