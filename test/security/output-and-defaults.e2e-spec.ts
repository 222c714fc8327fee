import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { topicNames } from '@lastmeter/contracts';
import { freePort } from '@lastmeter/infra';
import { ACKS_ALL, createKafkaClient, createProducer } from '@lastmeter/kafka';
import { seedRefusal } from '../../apps/cli/src/seed';
import { spawnApp, startApp, startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { CLI, runCli } from '../support/cli';
import { requireEnv, testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 14, the output and defaults part: CSV cells a spreadsheet would run are
 * neutralised, every route has a Content-Security-Policy (strict for the web UIs, its own
 * for Swagger UI, nothing at all for the API), /metrics and /docs can leave the public
 * port, the write API accepts browsers of the gateway only, and the demo seed stays away
 * from production and from infrastructure the project did not start.
 */
const ns = testNamespace('security-output');
const topics = topicNames(ns.topicPrefix);
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let region: string;

beforeAll(async () => {
  // The command service with its defaults (CORS_ORIGINS not set).
  const { command } = (apps = await startAppsForBrowser(ns.env, {}));
  api = new Publisher(command.url, ns);
  region = await api.region('sec');
}, 120_000);

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns);
});

/** A CSV response as text (supertest leaves text/csv bodies alone) and its rows. */
async function auditCsv(path: string): Promise<{ text: string; rows: Array<Record<string, string>> }> {
  const response = await request(apps.gateway!.url)
    .get(path)
    .set(bearer(api.token('analyst')));
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
  return { text: response.text, rows: parse(response.text, { columns: true, bom: true }) };
}

/** Publishes a communication to a new store of the suite's region; waits until its audit has the store's row. */
async function publishedTo(title: string): Promise<{ id: string; storeId: string }> {
  const storeId = await api.store(`s-${randomUUID().slice(0, 8)}`, region);
  const id = await api.publish({ title, audience: { storeIds: [storeId] } });
  await eventually(async () => expect((await auditCsv(`/v1/audit/communications/${id}.csv`)).rows).toHaveLength(1), {
    what: `the audit of ${id}`,
  });
  return { id, storeId };
}

/** A Content-Security-Policy header as directive → sources. */
function directives(header: string | undefined): Record<string, string[]> {
  expect(header).toBeTruthy();
  return Object.fromEntries(
    header!
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name, sources]),
  );
}

describe('CSV exports', () => {
  it('an audit CSV shows a title like =HYPERLINK(…) as text, the other cells as they were', async () => {
    const title = '=HYPERLINK("http://x","y")';
    const { id, storeId } = await publishedTo(title);
    const { text, rows } = await auditCsv(`/v1/audit/communications/${id}.csv`);
    // Neutralised with a leading quote, then quoted as RFC 4180 requires (it holds `"` and `,`).
    expect(text).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(text.split('\n')[1].startsWith(`${id},"'=HYPERLINK(`)).toBe(true);
    expect(rows).toEqual([
      expect.objectContaining({
        communicationId: id,
        title: `'${title}`,
        currentRevision: '1',
        storeId,
        regionId: region,
        targeted: 'yes',
        terminalId: '',
        reportCount: '0',
      }),
    ]);
  });

  it.each([
    ['+', '+1+1'],
    ['-', '-2+3'],
    ['@', '@SUM(1+1)'],
    ['tab', '\t=1+1'],
    ['carriage return', '\r=1+1'],
  ])('an audit CSV neutralises a title starting with %s', async (_, title) => {
    const { id } = await publishedTo(title);
    const { rows } = await auditCsv(`/v1/audit/communications/${id}.csv`);
    expect(rows.map((row) => row.title)).toEqual([`'${title}`]);
  });

  it('the store audit CSV neutralises the same cells', async () => {
    const { id, storeId } = await publishedTo('@cmd|" /C calc"!A0');
    const { rows } = await auditCsv(`/v1/audit/stores/${storeId}.csv`);
    expect(rows.map((row) => [row.communicationId, row.title])).toEqual([[id, `'@cmd|" /C calc"!A0`]]);
  });

  it('lastmeter replay --format csv neutralises any cell; the NDJSON replay keeps the values as they are', async () => {
    const aggregateId = randomUUID();
    const actors = ['=1+1', '+1', '-1', '@A1', '\tcmd', '\rcmd'];
    const producer = createProducer(
      createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'security-test' }),
    );
    await producer.connect();
    try {
      for (const [index, actorId] of actors.entries()) {
        const occurredAt = new Date(Date.now() - (actors.length - index) * 1_000).toISOString();
        const event = {
          id: randomUUID(),
          type: index === 0 ? 'communication.drafted' : 'communication.revised',
          schemaVersion: 1,
          aggregateType: 'communication',
          aggregateId,
          aggregateVersion: index + 1,
          occurredAt,
          actor: { id: actorId, role: 'hq-editor' },
          commandId: randomUUID(),
          correlationId: randomUUID(),
          causationId: randomUUID(),
          data:
            index === 0
              ? {
                  kind: 'notice',
                  title: '=HYPERLINK("http://x","y")',
                  body: 'b',
                  priority: 'normal',
                  audience: { all: true },
                  revision: 1,
                }
              : { revision: index + 1, changes: { title: `-${index}` } },
        };
        await producer.send({
          topic: topics.events,
          acks: ACKS_ALL,
          messages: [{ key: aggregateId, value: JSON.stringify(event), timestamp: String(Date.parse(occurredAt)) }],
        });
      }
    } finally {
      await producer.disconnect();
    }

    const file = join(requireEnv('LASTMETER_TEST_ROOT'), `security-replay-${randomUUID()}.csv`);
    const csv = await runCli(['replay', '--aggregate-id', aggregateId, '--format', 'csv', '-o', file], ns.env);
    expect(csv.code).toBe(0);
    const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((row) => row.actorId)).toEqual(actors.map((actor) => `'${actor}`));
    // Cells that start otherwise are untouched: the data column is JSON and still parses.
    expect(rows.map((row) => row.aggregateId)).toEqual(actors.map(() => aggregateId));
    expect(JSON.parse(rows[0].data)).toMatchObject({ title: '=HYPERLINK("http://x","y")' });
    expect(rows.every((row) => !Number.isNaN(Date.parse(row.occurredAt)))).toBe(true);

    const ndjson = await runCli(['replay', '--aggregate-id', aggregateId], ns.env);
    expect(ndjson.code).toBe(0);
    const events = ndjson.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { actor: { id: string } });
    expect(events.map((event) => event.actor.id)).toEqual(actors);
  });
});

describe('Content-Security-Policy', () => {
  it.each(['/', '/store/', '/store/screen/', '/analyst/'])(
    'the web UI page %s has a strict policy and needs nothing it forbids',
    async (path) => {
      const gateway = apps.gateway!;
      const response = await request(gateway.url).get(path);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      const header = response.headers['content-security-policy'] as string;
      expect(header).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|\*/);
      const policy = directives(header);
      expect(policy).toMatchObject({
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        'frame-ancestors': ["'none'"],
        'form-action': ["'self'"],
      });
      // The read API and Socket.IO of this gateway, and the write API the page is told about.
      expect(policy['connect-src']).toEqual(
        expect.arrayContaining([
          "'self'",
          `ws://127.0.0.1:${gateway.port}`,
          `wss://127.0.0.1:${gateway.port}`,
          new URL(apps.command!.url).origin,
        ]),
      );
      expect((await request(gateway.url).get('/v1/ui/config')).body).toEqual({ commandUrl: apps.command!.url });
      // What the page loads is allowed by it: no inline script or style, same-origin files only.
      const html = response.text;
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attributes, body] of scripts) {
        expect(attributes).toMatch(/\bsrc="\/assets\/[^"]+\.js"/);
        expect(body.trim()).toBe('');
      }
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
      for (const [, href] of html.matchAll(/<link\b[^>]*\bhref="([^"]+)"/g)) {
        // Same-origin files only: the bundles, and the tablet's web app manifest and icons.
        expect(href).toMatch(/^\/assets\/|^\/store\/(manifest\.webmanifest|icon-\d+\.png)$|^data:image\//);
        if (href.startsWith('/')) expect((await request(gateway.url).get(href)).status).toBe(200);
      }
    },
  );

  it('every JSON, CSV and error response carries default-src none and frame-ancestors none', async () => {
    const gateway = apps.gateway!.url;
    const command = apps.command!.url;
    const { id } = await publishedTo('plain');
    const responses = [
      await request(gateway).get('/v1/health/live'),
      await request(gateway).get('/v1/ui/config'),
      await request(gateway).get('/v1/communications'),
      await request(gateway).get('/v1/no-such-route'),
      await request(gateway).get('/docs-json'),
      await request(gateway)
        .get(`/v1/audit/communications/${id}.csv`)
        .set(bearer(api.token('analyst'))),
      await request(command).get('/v1/health/ready'),
      await request(command).post('/v1/auth/login').send({ username: 'nobody', password: 'wrong' }),
    ];
    expect(responses.map((response) => response.status)).toEqual([200, 200, 401, 404, 200, 200, 200, 401]);
    for (const response of responses) {
      expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });

  it('/docs has its own policy: files for scripts, inline styles only, and it is still served', async () => {
    for (const app of [apps.gateway!, apps.command!]) {
      const response = await request(app.url).get('/docs');
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.text).toContain('swagger-ui-bundle.js');
      const policy = directives(response.headers['content-security-policy'] as string);
      expect(policy['script-src']).toEqual(["'self'"]);
      expect(policy['default-src']).toEqual(["'none'"]);
      expect(policy['style-src']).toEqual(["'self'", "'unsafe-inline'"]);
      expect(policy['frame-ancestors']).toEqual(["'none'"]);
      expect(policy['object-src']).toEqual(["'none'"]);
      // Its scripts are files the policy allows.
      for (const [, src] of response.text.matchAll(/<script src="([^"]+)"/g)) {
        expect((await request(app.url).get(new URL(src, `${app.url}/docs`).pathname)).status).toBe(200);
      }
      // Not the policy of the UI pages: that one stays strict.
      const page = directives((await request(app.url).get('/docs-json')).headers['content-security-policy'] as string);
      expect(page).toEqual({ 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] });
    }
  });

  it('in Chromium, the three pages and Swagger UI render under their policies without a single violation', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const console = watchConsole(page, 'security');
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      const gateway = apps.gateway!.url;
      for (const [path, text] of [
        ['/', 'Sign in'],
        ['/store/', 'Enroll tablet'],
        ['/store/screen/', 'Enroll screen'],
        ['/analyst/', 'Sign in'],
      ]) {
        await page.goto(`${gateway}${path}`);
        await page.getByRole('button', { name: text }).waitFor();
      }
      await page.goto(`${gateway}/docs`);
      await page.locator('.swagger-ui .info .title').waitFor();
      expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('Last Meter gateway');
      expect(await page.locator('.opblock').count()).toBeGreaterThan(5);
      expect(violations).toEqual([]);
      expect(console.errors()).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('internal port for /metrics and /docs', () => {
  it('with PROJECTOR_INTERNAL_PORT set, /metrics, /docs and /docs-json are 404 on the public port and 200 on the internal one', async () => {
    const internalPort = await freePort();
    const projector = await startApp('projector', { ...ns.env, PROJECTOR_INTERNAL_PORT: String(internalPort) });
    try {
      const internal = `http://127.0.0.1:${internalPort}`;
      for (const path of ['/metrics', '/docs', '/docs-json', '/METRICS', '/docs/swagger-ui-init.js']) {
        expect([path, (await fetch(`${projector.url}${path}`)).status]).toEqual([path, 404]);
        expect([path, (await fetch(`${internal}${path}`)).status]).toEqual([path, 200]);
      }
      expect(await (await fetch(`${internal}/metrics`)).text()).toMatch(/^process_cpu_user_seconds_total/m);
      expect((await fetch(`${internal}/docs`)).headers.get('content-type')).toMatch(/^text\/html/);
      // The public port keeps serving everything else.
      expect((await fetch(`${projector.url}/v1/health/live`)).status).toBe(200);
      expect(projector.output.join('\n')).toContain(
        `internal listener (metrics, docs) on http://127.0.0.1:${internalPort}`,
      );
    } finally {
      await projector.stop();
    }
    // Without it, they stay on the public port (as the other apps of this suite show).
    expect((await fetch(`${apps.projector!.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${apps.gateway!.url}/docs`)).status).toBe(200);
  });

  it('an internal port equal to the public one is refused in one line, exit code 1', async () => {
    const port = await freePort();
    const app = spawnApp('projector', {
      ...ns.env,
      PROJECTOR_PORT: String(port),
      PROJECTOR_INTERNAL_PORT: String(port),
    });
    expect(await app.exited).toBe(1);
    // (its last line may reach us a moment after the exit)
    await eventually(() =>
      expect(app.output).toEqual([
        `lastmeter-projector: invalid configuration: PROJECTOR_INTERNAL_PORT: ${port} is also the public port`,
      ]),
    );
  });
});

describe('CORS default of the write API', () => {
  const preflight = (origin: string) =>
    request(apps.command!.url)
      .options('/v1/communications')
      .set('origin', origin)
      .set('access-control-request-method', 'POST')
      .set('access-control-request-headers', 'authorization,content-type');

  it("allows the gateway's default origins and refuses any other", async () => {
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:3000']) {
      const response = await preflight(origin);
      expect(response.status).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(origin);
    }
    for (const origin of ['http://evil.example', 'http://127.0.0.1:3001', 'null']) {
      const response = await preflight(origin);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    }
    // A simple request from a foreign page is answered without the header: its script cannot read it.
    const login = await request(apps.command!.url)
      .post('/v1/auth/login')
      .set('origin', 'http://evil.example')
      .send({ username: 'admin', password: 'admin-password-for-tests' });
    expect(login.status).toBe(200);
    expect(login.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('demo seed', () => {
  it('is refused under NODE_ENV=production and against infrastructure the project did not start', () => {
    const local = { kafkaBrokers: '127.0.0.1:40001', redisUrl: 'redis://127.0.0.1:40002' };
    // What `npm start` on its own infrastructure does: seeds.
    expect(seedRefusal({ local })).toBeUndefined();
    expect(seedRefusal({ nodeEnv: 'development', local: {} })).toBeUndefined();
    // `infra up`'s addresses exported by hand are still the project's own.
    expect(seedRefusal({ kafkaBrokers: '127.0.0.1:40001', redisUrl: 'redis://127.0.0.1:40002/0', local })).toBe(
      undefined,
    );
    expect(seedRefusal({ nodeEnv: 'production', local })).toMatch(/^NODE_ENV=production/);
    expect(seedRefusal({ nodeEnv: 'production', kafkaBrokers: 'kafka:9092', local: {} })).toMatch(
      /^NODE_ENV=production/,
    );
    expect(seedRefusal({ kafkaBrokers: 'kafka:9092', local })).toBe(
      'KAFKA_BROKERS=kafka:9092 is a broker this project did not start',
    );
    const redis = seedRefusal({ redisUrl: 'redis://user:s3cret@cache.internal:6379', local });
    expect(redis).toBe('REDIS_URL (cache.internal:6379) is a Redis this project did not start');
  });

  it('lastmeter start on a Kafka and Redis it did not start says why it skips the seed, leaves the log empty, and lets the gateway origin call the write API', async () => {
    const started = testNamespace('security-start');
    const home = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'security-start-'));
    const ports = { gateway: await freePort(), command: await freePort(), projector: await freePort() };
    const child = spawn(process.execPath, [CLI, 'start'], {
      env: {
        HOME: process.env.HOME,
        PATH: process.env.PATH,
        NO_COLOR: '1',
        LOG_LEVEL: 'warn',
        LASTMETER_HOME: home,
        KAFKA_BROKERS: started.env.KAFKA_BROKERS,
        REDIS_URL: started.env.REDIS_URL,
        KAFKA_TOPIC_PREFIX: started.topicPrefix,
        REDIS_KEY_PREFIX: started.keyPrefix,
        KAFKA_PARTITIONS: '3',
        GATEWAY_PORT: String(ports.gateway),
        COMMAND_PORT: String(ports.command),
        PROJECTOR_PORT: String(ports.projector),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(
        () => {
          if (child.exitCode !== null) throw new Error(`start exited early:\n${output}`);
          expect(output).toContain('Last Meter is up');
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'Last Meter is up' },
      );
      const skipped = output.split('\n').filter((line) => line.includes('demo seed skipped'));
      expect(skipped).toEqual([
        `lastmeter demo seed skipped: KAFKA_BROKERS=${started.env.KAFKA_BROKERS} is a broker this project did not start`,
      ]);
      expect(output).not.toMatch(/seeding the demo|demo logins/);
      const admin = createKafkaClient({ brokers: started.env.KAFKA_BROKERS!.split(','), clientId: 'test' }).admin();
      await admin.connect();
      try {
        const offsets = await admin.fetchTopicOffsets(topicNames(started.topicPrefix).events);
        expect(offsets.map(({ high }) => high)).toEqual(['0', '0', '0']);
      } finally {
        await admin.disconnect();
      }
      // npm start keeps the web UIs working: its gateway's pages may call the write API.
      const allowed = `http://127.0.0.1:${ports.gateway}`;
      const response = await fetch(`http://127.0.0.1:${ports.command}/v1/communications`, {
        method: 'OPTIONS',
        headers: { origin: allowed, 'access-control-request-method': 'POST' },
      });
      expect(response.headers.get('access-control-allow-origin')).toBe(allowed);
      const foreign = await fetch(`http://127.0.0.1:${ports.command}/v1/communications`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await cleanupNamespace(started);
    }
  });
});
