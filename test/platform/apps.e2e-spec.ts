import request from 'supertest';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { eventually } from '../support/eventually';
import { testNamespace } from '../support/env';

const ns = testNamespace('apps');
let apps: Record<AppName, RunningApp>;

beforeAll(async () => {
  apps = await startApps(ns.env);
});

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns);
});

describe.each(['command', 'projector', 'gateway'] as const)('the %s app', (name) => {
  it('is live, and ready once Kafka and Redis answer', async () => {
    const app = apps[name];
    await request(app.url).get('/v1/health/live').expect(200, { status: 'ok' });
    const ready = await eventually(async () => {
      const response = await request(app.url).get('/v1/health/ready');
      expect(response.status).toBe(200);
      return response.body as { status: string; details: Record<string, { status: string }> };
    });
    expect(ready.status).toBe('ok');
    expect(ready.details.kafka.status).toBe('up');
    expect(ready.details.redis.status).toBe('up');
  });

  it('exposes Prometheus metrics: process defaults and an HTTP histogram by route', async () => {
    const app = apps[name];
    await request(app.url).get('/v1/health/live').expect(200);
    const response = await request(app.url).get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.text).toMatch(new RegExp(`process_cpu_seconds_total\\{app="${name}"\\}`));
    expect(response.text).toMatch(
      new RegExp(
        `http_request_duration_seconds_count\\{app="${name}",method="GET",route="/v1/health/live",status_code="200"\\} [1-9]`,
      ),
    );
  });

  it('logs JSON lines that carry the request id it echoes back', async () => {
    const app = apps[name];
    const response = await request(app.url).get('/v1/nothing-here').set('x-request-id', `req-${name}-42`).expect(404);
    expect(response.headers['x-request-id']).toBe(`req-${name}-42`);
    const generated = await request(app.url).get('/v1/nothing-here').expect(404);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const line = await eventually(() => {
      const found = app.logs().find((entry) => entry.requestId === `req-${name}-42`);
      expect(found).toBeDefined();
      return found!;
    });
    expect(line).toMatchObject({ app: name, level: 30, res: { statusCode: 404 } });
  });

  it('serves its OpenAPI description at /docs', async () => {
    const response = await request(apps[name].url).get('/docs-json').expect(200);
    expect(response.body.openapi).toMatch(/^3\./);
    expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(['/v1/health/live', '/v1/health/ready']));
  });
});
