import Ajv2020 from 'ajv/dist/2020';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Middleware } from 'openapi-fetch';
import request from 'supertest';
import { startApps, stopApps, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';

/**
 * Issue 20, item 1: both OpenAPI documents, fetched from the running apps, validate; every
 * route documents its success body and its refusals; a client generated from them
 * (openapi-typescript + openapi-fetch) type-checks a scenario with tsc and runs it against
 * the live apps, each response checked against the documented schema of its status.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const ns = testNamespace('openapi');
const suffix = randomBytes(3).toString('hex');
const work = join(ROOT, '.lastmeter', 'tmp', `openapi-${suffix}`);

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema?: Json }>; headers?: Record<string, unknown> }>;
  security?: unknown[];
}

/** What the spec reads of scenario.ts's result (its own types come from the generated clients). */
type RunScenario = (options: {
  commandUrl: string;
  gatewayUrl: string;
  username: string;
  password: string;
  suffix: string;
  middleware: Middleware;
}) => Promise<{
  role: string;
  enrollmentCode: string;
  feedTitles: string[];
  reachTargeted: number;
  refusals: Record<string, number>;
}>;

let apps: Record<'command' | 'projector' | 'gateway', RunningApp>;
const documents: Record<'command' | 'gateway', Json> = { command: {}, gateway: {} };

function operationsOf(document: Json): Array<{ path: string; method: string; operation: Operation }> {
  return Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
  );
}

beforeAll(async () => {
  apps = await startApps(ns.env);
  for (const name of ['command', 'gateway'] as const) {
    documents[name] = (await request(apps[name].url).get('/docs-json').expect(200)).body as Json;
  }
  await mkdir(work, { recursive: true });
});

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns);
  await rm(work, { recursive: true, force: true });
});

describe.each(['command', 'gateway'] as const)('the %s API document', (name) => {
  it('is valid OpenAPI 3.1 with a bearer security scheme', async () => {
    const document = documents[name];
    expect(document.openapi).toBe('3.1.0');
    // @apidevtools/swagger-parser is ESM inside (jest's module system cannot load it): node runs it.
    const file = join(work, `${name}.validate.json`);
    await writeFile(file, JSON.stringify(document));
    const script = `require('@apidevtools/swagger-parser').validate(process.argv[1]).then(() => console.log('valid'))`;
    const validated = await run(process.execPath, ['-e', script, file], { cwd: ROOT }).then(
      (output) => output.stdout.trim(),
      (error: { stderr?: string }) => error.stderr ?? String(error),
    );
    expect(validated).toBe('valid');
    expect((document.components as Json).securitySchemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' } });
  });

  it('documents a success body and every refusal of each route', () => {
    const gaps: string[] = [];
    const operations = operationsOf(documents[name]);
    expect(operations.length).toBeGreaterThan(name === 'command' ? 20 : 24);
    for (const { path, method, operation } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      const statuses = Object.keys(operation.responses);
      const successes = statuses.filter((status) => /^2/.test(status));
      if (successes.length === 0) gaps.push(`${where}: no 2xx`);
      for (const status of successes) {
        const content = operation.responses[status].content ?? {};
        if (Object.keys(content).length === 0) gaps.push(`${where} ${status}: no body`);
        const json = content['application/json']?.schema;
        if (json && !json.$ref && !(json.type === 'object' && json.properties)) {
          gaps.push(`${where} ${status}: JSON body without a schema`);
        }
      }
      const refusals = statuses.filter((status) => /^[45]/.test(status));
      for (const status of refusals) {
        const schema = operation.responses[status].content?.['application/json']?.schema;
        // Terminus' readiness answers its own 503 body; everything else is the one error body.
        if (path !== '/v1/health/ready' && schema?.$ref !== '#/components/schemas/ApiErrorBody') {
          gaps.push(`${where} ${status}: not the error body`);
        }
        if ((status === '429' || status === '503') && path !== '/v1/health/ready') {
          if (!operation.responses[status].headers?.['Retry-After']) gaps.push(`${where} ${status}: no Retry-After`);
        }
      }
      const secured = (operation.security?.length ?? 0) > 0;
      for (const status of secured ? ['401', '403', '503'] : []) {
        if (!statuses.includes(status)) gaps.push(`${where}: no ${status}`);
      }
      if ((operation.parameters?.length ?? 0) > 0 || operation.requestBody) {
        if (!statuses.includes('400')) gaps.push(`${where}: input but no 400`);
      }
      if (operation.parameters?.some((p) => p.in === 'path') && !statuses.includes('404')) {
        gaps.push(`${where}: an id but no 404`);
      }
      if (operation.requestBody?.content['application/json'] && !statuses.includes('413')) {
        gaps.push(`${where}: a JSON body but no 413`);
      }
    }
    expect(gaps).toEqual([]);
  });
});

it('documents the routes a client needs as secured or public, as the apps enforce them', async () => {
  const secured = (path: string, method: string) =>
    (documents.gateway.paths as Record<string, Record<string, Operation>>)[path]?.[method]?.security?.length ??
    (documents.command.paths as Record<string, Record<string, Operation>>)[path]?.[method]?.security?.length ??
    0;
  expect(secured('/v1/auth/login', 'post')).toBe(0);
  expect(secured('/v1/terminals/enroll', 'post')).toBe(0);
  expect(secured('/v1/ui/config', 'get')).toBe(0);
  expect(secured('/v1/regions', 'post')).toBe(1);
  expect(secured('/v1/stores/{id}/feed', 'get')).toBe(1);
  // What the documents say about the token is what the apps do.
  await request(apps.command.url).post('/v1/regions').send({ code: 'x', name: 'x' }).expect(401);
  await request(apps.gateway.url).get('/v1/ui/config').expect(200);
});

it('generates a typed client that type-checks and runs an integrator scenario against the live apps', async () => {
  // 1. The clients, generated from the documents the apps serve.
  for (const name of ['command', 'gateway'] as const) {
    const source = join(work, `${name}.openapi.json`);
    await writeFile(source, JSON.stringify(documents[name]));
    await run(process.execPath, [
      join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'),
      source,
      '--output',
      join(work, `${name}-api.d.ts`),
      '--silent',
    ]);
  }
  // 2. The scenario type-checks against them (strict, as an integrator's project would).
  await copyFile(join(__dirname, 'scenario.ts'), join(work, 'scenario.ts'));
  await writeFile(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        skipLibCheck: true,
        types: [],
      },
      files: ['scenario.ts'],
    }),
  );
  const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', work]).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  expect(tsc).toBe('');

  // 3. It runs against the live apps; every response is checked against its documented schema.
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  for (const name of ['command', 'gateway'] as const) ajv.addSchema(documents[name], `${name}.json`);
  const seen: string[] = [];
  const problems: string[] = [];
  const middleware: Middleware = {
    async onResponse({ request: sent, response, schemaPath }) {
      const name = sent.url.startsWith(apps.command.url) ? 'command' : 'gateway';
      const method = sent.method.toLowerCase();
      const where = `${sent.method} ${schemaPath} ${response.status}`;
      seen.push(where);
      const operation = (documents[name].paths as Record<string, Record<string, Operation>>)[schemaPath]?.[method];
      const documented = operation?.responses[String(response.status)];
      if (!documented) return void problems.push(`${where}: status not documented`);
      const body = await response.clone().text();
      if (!documented.content?.['application/json']) return;
      const pointer = [
        'paths',
        schemaPath,
        method,
        'responses',
        String(response.status),
        'content',
        'application/json',
        'schema',
      ]
        .map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1'))
        .join('/');
      const validate = ajv.getSchema(`${name}.json#/${pointer}`);
      if (!validate) return void problems.push(`${where}: no schema`);
      if (!validate(JSON.parse(body))) problems.push(`${where}: ${ajv.errorsText(validate.errors)} in ${body}`);
    },
  };
  // The very file tsc checked (scenario.ts is not in the root tsconfig: its clients are generated here).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runScenario } = require(join(work, 'scenario.ts')) as { runScenario: RunScenario };
  const result = await runScenario({
    commandUrl: apps.command.url,
    gatewayUrl: apps.gateway.url,
    username: ns.env.LASTMETER_ADMIN_USER!,
    password: ns.env.LASTMETER_ADMIN_PASSWORD!,
    suffix,
    middleware,
  });

  expect(problems).toEqual([]);
  expect(result.role).toBe('hq-admin');
  expect(result.enrollmentCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  expect(result.feedTitles).toContain('Winter opening hours');
  expect(result.reachTargeted).toBe(1);
  expect(result.refusals).toEqual({
    'invalid region': 400,
    'no token': 401,
    'unknown communication': 404,
    'stale If-Match': 409,
  });
  expect(seen).toEqual(
    expect.arrayContaining([
      'POST /v1/auth/login 200',
      'POST /v1/regions 201',
      'POST /v1/stores 201',
      'POST /v1/terminals 201',
      'POST /v1/communications 201',
      'POST /v1/communications/{id}/publish 200',
      'GET /v1/stores/{id}/feed 200',
      'GET /v1/communications/{id}/reach 200',
    ]),
  );
});
