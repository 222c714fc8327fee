import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { Ack, Hello, ReachReport } from '@lastmeter/contracts';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { feedHeadReached } from '../support/read-side';
import { bearer, Publisher, tokenFor } from '../support/write-api';

/**
 * `@lastmeter/terminal-client` as a published package (issue 20, item 3): built with tsup,
 * packed with `npm pack`, installed from the tarball into an empty project outside this
 * repository, and used from there, as CommonJS and as ESM, against a live gateway; its
 * types checked by tsc against the installed .d.ts (and the README's example with them).
 * Every step that fails stops the suite with its command's output.
 */
const ROOT = join(__dirname, '..', '..');
const PACKAGE_DIR = join(ROOT, 'libs', 'terminal-client');
const PACKAGE = '@lastmeter/terminal-client';
const ns = testNamespace('terminal-client-package');
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let store: string;
let work: string;
let project: string;
let packed: { tarball: string; entries: string[]; version: string };
const children = new Set<ChildProcess>();

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child process, without what `npm run` or jest put there for this repository. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_(package|lifecycle|config_local_prefix)|INIT_CWD$|NODE_PATH$|NODE_OPTIONS$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed; a failure throws with everything it printed. */
async function must(command: string, args: string[], cwd: string): Promise<Result> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${cwd} exited with ${result.code}\n` +
        `stdout:\n${result.stdout.slice(-4_000)}\nstderr:\n${result.stderr.slice(-4_000)}`,
    );
  }
  return result;
}

/** Builds the package, packs it into `work`, and installs the tarball into an empty project. */
async function buildPackInstall(): Promise<void> {
  // With cwd the package: tsup takes its dependencies (external) from its package.json.
  await must(join(ROOT, 'node_modules', '.bin', 'tsup'), ['--config', 'tsup.config.ts'], PACKAGE_DIR);
  const pack = await must('npm', ['pack', '--json', '--pack-destination', work], PACKAGE_DIR);
  const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; version: string }>;
  const tarball = join(work, info.filename);
  // What is really in the tarball, not what npm says it would put there.
  const list = await must('tar', ['-tzf', tarball], work);
  packed = { tarball, version: info.version, entries: list.stdout.split('\n').filter(Boolean).sort() };

  await must('npm', ['init', '-y'], project);
  // socket.io-client and its dependencies from npm's cache; the registry only when the
  // cache lacks them.
  const flags = ['--no-audit', '--no-fund', '--no-package-lock'];
  const offline = await run('npm', ['install', tarball, '--offline', ...flags], project);
  if (offline.code !== 0) await must('npm', ['install', tarball, '--prefer-offline', ...flags], project);
}

beforeAll(async () => {
  // Outside this repository: nothing there can resolve to its node_modules or libs.
  work = await realpath(await mkdtemp(join(tmpdir(), 'lastmeter-terminal-client-')));
  project = join(work, 'consumer');
  await mkdir(project);
  [apps] = await Promise.all([startApps(ns.env), buildPackInstall()]);
  api = new Publisher(apps.command.url, ns);
  store = await api.store('P1', await api.region('package'));
}, 240_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (apps) await stopApps(apps);
  await cleanupNamespace(ns);
  if (work) await rm(work, { recursive: true, force: true });
});

it('packs dist (ESM, CJS, types), README and package.json, and no sources or specs', () => {
  const { entries, version } = packed;
  expect(version).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
  for (const file of [
    'package/package.json',
    'package/README.md',
    'package/dist/index.js',
    'package/dist/index.mjs',
    'package/dist/index.d.ts',
    'package/dist/index.d.mts',
  ]) {
    expect(entries).toContain(file);
  }
  expect(entries.filter((entry) => /^package\/src\/|\.spec\.|\.e2e-spec\.|tsup\.config|tsconfig/.test(entry))).toEqual(
    [],
  );
});

it('installs from the tarball with socket.io-client as its dependency and contracts bundled in', async () => {
  const installed = join(project, 'node_modules', ...PACKAGE.split('/'));
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };
  expect(manifest.version).toBe(packed.version);
  expect(Object.keys(manifest.dependencies)).toEqual(['socket.io-client']);
  expect(existsSync(join(project, 'node_modules', 'socket.io-client', 'package.json'))).toBe(true);
  // Nothing left pointing into this repository: no path alias in the code or the types.
  for (const file of ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts']) {
    const text = await readFile(join(installed, 'dist', file), 'utf8');
    expect({ file, alias: /@lastmeter\/(?!terminal-client)/.test(text) }).toEqual({ file, alias: false });
  }
  // socket.io-client is loaded from the consumer's node_modules, not bundled in.
  const cjs = await readFile(join(installed, 'dist', 'index.js'), 'utf8');
  const esm = await readFile(join(installed, 'dist', 'index.mjs'), 'utf8');
  expect(cjs).toMatch(/require\(['"]socket\.io-client['"]\)/);
  expect(esm).toMatch(/from ['"]socket\.io-client['"]/);
  expect(cjs + esm).not.toMatch(/engine\.io/);
});

it("type-checks a consumer against the installed package's types, as CommonJS and as ESM, and the README example", async () => {
  const consumer = `import {
  ConnectRefused,
  MemoryCursorStore,
  TerminalClient,
  type Ack,
  type CursorStore,
  type FeedMessage,
  type Hello,
  type TerminalClientOptions,
} from '${PACKAGE}';

const cursors: CursorStore = new MemoryCursorStore({ cursor: 3, epoch: 'e' });
const options: TerminalClientOptions = { url: 'http://127.0.0.1:1', token: 't', cursors, ackTimeoutMs: 1_000 };
const client = new TerminalClient(options).onItem((item: FeedMessage) => {
  if ('communication' in item) console.log(item.feedSeq, item.communication.title.toUpperCase());
});

export async function use(): Promise<number> {
  try {
    const hello: Hello = await client.connect();
    const ack: Ack = await client.receipt({ communicationId: 'c', kind: 'read', revision: 1 });
    // @ts-expect-error: not a receipt kind (the types are real, not any)
    await client.receipt({ communicationId: 'c', kind: 'seen', revision: 1 });
    client.socket.on('disconnect', (reason: string) => console.log(reason));
    return hello.headSeq + client.position + (ack.ok ? 1 : 0);
  } catch (error) {
    if (error instanceof ConnectRefused) console.log(error.reason.length);
    return -1;
  }
}
`;
  const readme = await readFile(join(project, 'node_modules', ...PACKAGE.split('/'), 'README.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toContain(`from '${PACKAGE}'`);
  await writeFile(join(project, 'consumer.cts'), consumer);
  await writeFile(join(project, 'consumer.mts'), consumer);
  await writeFile(join(project, 'readme-example.mts'), example!);
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2022',
        strict: true,
        noEmit: true,
        // The shipped .d.ts files are checked too, not only used.
        skipLibCheck: false,
        // Node's own types for the README example (console, process, node:fs): the repository's.
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['consumer.cts', 'consumer.mts', 'readme-example.mts'],
    }),
  );
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  await must(tsc, ['-p', 'tsconfig.json'], project);
  const files = (await must(tsc, ['-p', 'tsconfig.json', '--listFilesOnly'], project)).stdout.split('\n');
  // require (.cts) took the CommonJS types, import (.mts) the ESM ones, both from the tarball.
  const dist = join(project, 'node_modules', ...PACKAGE.split('/'), 'dist');
  expect(files).toContain(join(dist, 'index.d.ts'));
  expect(files).toContain(join(dist, 'index.d.mts'));
  expect(files.some((file) => file.startsWith(join(project, 'node_modules', 'socket.io-client')))).toBe(true);
});

/** A script using the installed package: prints one JSON line per step. */
function clientScript(format: 'cjs' | 'esm'): string {
  const load =
    format === 'cjs'
      ? `const pkg = require('${PACKAGE}');\nconst resolved = require.resolve('${PACKAGE}');`
      : `import * as pkg from '${PACKAGE}';\nconst resolved = import.meta.resolve('${PACKAGE}');`;
  return `${load}
const { MemoryCursorStore, TerminalClient } = pkg;
const say = (event, data) => process.stdout.write(JSON.stringify({ event, ...data }) + '\\n');
const { GATEWAY_URL, DEVICE_TOKEN, CURSOR, EPOCH } = process.env;

async function main() {
  const saved = CURSOR ? { cursor: Number(CURSOR), epoch: EPOCH } : undefined;
  const client = new TerminalClient({ url: GATEWAY_URL, token: DEVICE_TOKEN, cursors: new MemoryCursorStore(saved) });
  const items = [];
  let onLive;
  const live = new Promise((resolve) => (onLive = resolve));
  client.onItem((item) => {
    items.push({ feedSeq: item.feedSeq, id: item.communication?.id, snapshot: item.snapshot === true });
    if (!item.snapshot && 'communication' in item) onLive(item);
  });
  const hello = await client.connect();
  say('connected', { resolved, exports: Object.keys(pkg).filter((key) => key !== 'default').sort(), hello });
  const item = await live;
  const { id, revision } = item.communication;
  const ack = await client.receipt({ communicationId: id, kind: 'read', revision });
  say('done', { items, receipt: { id, revision }, ack, position: client.position });
  client.close();
}

const giveUp = setTimeout(() => {
  say('timeout', {});
  process.exit(2);
}, 30000);
main().then(
  () => clearTimeout(giveUp),
  (error) => {
    say('error', { message: error.message, reason: error.reason });
    process.exit(1);
  },
);
`;
}

interface Connected {
  event: 'connected';
  resolved: string;
  exports: string[];
  hello: Hello;
}
interface Done {
  event: 'done';
  items: Array<{ feedSeq: number; id?: string; snapshot: boolean }>;
  receipt: { id: string; revision: number };
  ack: Ack;
  position: number;
}

/**
 * Runs the script in the consumer project (so `@lastmeter/terminal-client` resolves to the
 * installed tarball), publishes one communication once it is connected, and returns what
 * it printed.
 */
async function runClient(
  file: string,
  env: Record<string, string>,
): Promise<{ connected: Connected; done: Done; published: string }> {
  const child = spawn(process.execPath, [file], {
    cwd: project,
    env: cleanEnv({ GATEWAY_URL: apps.gateway.url, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: Array<Record<string, unknown>> = [];
  const output: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    output.push(line);
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not one of the script's lines: kept in `output` for the failure message.
    }
  });
  createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const event = (name: string) =>
    eventually(
      () => {
        const found = lines.find((line) => line.event === name);
        if (!found) throw new Error(`no "${name}" from ${file} yet; it printed:\n${output.join('\n')}`);
        return found;
      },
      { timeoutMs: 30_000, what: `${file} to print "${name}"` },
    );
  try {
    const connected = (await event('connected')) as unknown as Connected;
    const published = await api.publish({ title: `Published to ${file}`, audience: { storeIds: [store] } });
    const done = (await event('done')) as unknown as Done;
    const code = await exited;
    expect({ file, code, output: code === 0 ? [] : output }).toEqual({ file, code: 0, output: [] });
    return { connected, done, published };
  } finally {
    children.delete(child);
    child.kill('SIGKILL');
  }
}

async function readBy(communicationId: string) {
  await eventually(
    async () => {
      const response = await fetch(`${apps.gateway.url}/v1/communications/${communicationId}/reach`, {
        headers: bearer(tokenFor(ns, 'analyst')),
      });
      expect(response.status).toBe(200);
      const reach = (await response.json()) as ReachReport;
      expect(reach.read).toEqual({ stores: 1, terminals: 1 });
      expect(reach.byStore).toEqual([expect.objectContaining({ storeId: store })]);
    },
    { what: `the read receipt of ${communicationId} in its reach` },
  );
}

it('connects from the installed package, as CommonJS then as ESM resuming from the cursor, and its receipts arrive', async () => {
  await writeFile(join(project, 'client.cjs'), clientScript('cjs'));
  await writeFile(join(project, 'client.mjs'), clientScript('esm'));
  const dist = join(project, 'node_modules', ...PACKAGE.split('/'), 'dist');
  const exports = ['ConnectRefused', 'MemoryCursorStore', 'TerminalClient'];

  // CommonJS, a new tablet (no cursor): an empty live set, then the item published now.
  const first = await api.terminal(store);
  const cjs = await runClient('client.cjs', { DEVICE_TOKEN: first.token });
  expect(cjs.connected.resolved).toBe(join(dist, 'index.js'));
  expect(cjs.connected.exports).toEqual(exports);
  expect(cjs.connected.hello).toMatchObject({ storeId: store, terminalId: first.terminalId, headSeq: 0, snapshot: 0 });
  expect(cjs.done.items).toEqual([{ feedSeq: 1, id: cjs.published, snapshot: false }]);
  expect(cjs.done.receipt).toEqual({ id: cjs.published, revision: 1 });
  expect(cjs.done.ack).toEqual({ ok: true });
  expect(cjs.done.position).toBe(1);

  // ESM, another tablet of the store that saved cursor 1 of this epoch: no live set, only
  // what comes after it. Its hello's headSeq is the read side's: wait for the projector.
  await feedHeadReached(apps.gateway.url, api.token('hq-admin'), store, 1);
  const second = await api.terminal(store);
  const esm = await runClient('client.mjs', {
    DEVICE_TOKEN: second.token,
    CURSOR: String(cjs.done.position),
    EPOCH: cjs.connected.hello.epoch,
  });
  expect(esm.connected.resolved).toBe(pathToFileURL(join(dist, 'index.mjs')).href);
  expect(esm.connected.exports).toEqual(exports);
  expect(esm.connected.hello).toMatchObject({ storeId: store, terminalId: second.terminalId, headSeq: 1 });
  expect(esm.connected.hello.snapshot).toBeUndefined();
  expect(esm.done.items).toEqual([{ feedSeq: 2, id: esm.published, snapshot: false }]);
  expect(esm.done.ack).toEqual({ ok: true });
  expect(esm.done.position).toBe(2);

  // The receipts are facts of the log: the read API's reach counts them.
  await readBy(cjs.published);
  await readBy(esm.published);
});
