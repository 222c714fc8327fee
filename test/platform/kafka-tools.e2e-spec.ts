import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TOPICS, type TopicRole } from '@lastmeter/contracts';
import { createKafkaClient, readWholeTopic } from '@lastmeter/kafka';
import { ensureKafkaJars, findExecutable, lastmeterHome } from '@lastmeter/infra';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { StoreEventWriter } from '../support/store-events';
import { Publisher } from '../support/write-api';

/**
 * Issue 20, item 7: every topic reads with Kafka's standard tools, with the commands of
 * docs/operations.md ("Reading the topics") exactly as written there, and every record
 * says what it is in its headers.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const ns = testNamespace('kafkatools');
let apps: Record<AppName, RunningApp>;
const clients: TerminalClient[] = [];
/** The key of the junk record this test writes (for a dead letter): not Last Meter's. */
const INJECTED = 'kafka-tools-test';

/** The shell command after `<!-- read-topic:<name> -->` in docs/operations.md. */
function documented(name: string): string {
  const docs = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const block = new RegExp(`<!-- read-topic:${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(docs);
  if (!block) throw new Error(`docs/operations.md has no read-topic:${name} command`);
  return block[1]!.replace(/\\\n\s*/g, ' ').trim();
}

/** Runs a documented command for one topic (the docs' example topic replaced), as sh would. */
async function read(command: string, topic: string, env: NodeJS.ProcessEnv): Promise<string> {
  const forTopic = command.replace(/lastmeter\.events\.v1/g, topic);
  const { stdout } = await run('sh', ['-c', forTopic], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

beforeAll(async () => {
  apps = await startApps(ns.env);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

it('reads every topic with kcat and kafka-console-consumer as the docs say, each record typed by a header', async () => {
  for (const tool of ['kcat', 'java']) {
    if (!findExecutable(tool))
      throw new Error(
        `${tool} not found: install it (Debian: apt-get install ${tool === 'java' ? 'openjdk-17-jre-headless' : 'kcat'})`,
      );
  }
  // Something in every topic: commands, events, credentials (an enrollment code), a feed
  // batch, a receipt, a person's key (a staff member), and a dead letter.
  const api = new Publisher(apps.command.url, ns);
  const store = await api.store('KT1', await api.region('kt'));
  const { token } = await api.terminal(store);
  await api.send('post', `/v1/stores/${store}/staff`, { name: 'Kay Tools', roles: ['stock'], pin: '4826' }, 'hq-admin');
  const client = new TerminalClient({ url: apps.gateway.url, token, cursors: new MemoryCursorStore() });
  clients.push(client);
  const seen: string[] = [];
  client.onItem((item) => {
    if ('communication' in item) seen.push(item.communication.id);
  });
  await client.connect();
  const id = await api.publish({ audience: { storeIds: [store] } });
  await eventually(() => expect(seen).toContain(id));
  expect(await client.receipt({ communicationId: id, revision: 1, kind: 'read' })).toMatchObject({ ok: true });
  const writer = new StoreEventWriter(ns);
  await writer.send(INJECTED, ['{ not json']);
  await writer.close();

  const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-kafka-tools' });
  const topics = Object.keys(TOPICS) as TopicRole[];
  const counts = await eventually(
    async () => {
      const counted: Record<string, number> = {};
      for (const role of topics)
        counted[role] = (await readWholeTopic(kafka, `${ns.topicPrefix}${TOPICS[role].name}`)).length;
      expect(Object.entries(counted).filter(([, n]) => n === 0)).toEqual([]);
      return counted;
    },
    { timeoutMs: 30_000, what: 'a record in every topic' },
  );

  const jars = process.env.LASTMETER_KAFKA_JARS ?? (await ensureKafkaJars(lastmeterHome().kafkaJars)).libs;
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, BROKERS: ns.env.KAFKA_BROKERS };
  // The console consumers run three at a time: each waits out its --timeout-ms after the
  // last record, and seven JVMs starting at once on two cores may not fetch anything within it.
  const consoleCommand = documented('console-consumer').replace("'.lastmeter/kafka/libs/*'", `'${jars}/*'`);
  const consume = async (role: TopicRole) => {
    const stdout = await read(consoleCommand, `${ns.topicPrefix}${TOPICS[role].name}`, env);
    return stdout.split('\n').filter((line) => line.startsWith('Partition:'));
  };
  const consumedByTopic: string[][] = [];
  for (let i = 0; i < topics.length; i += 3) {
    consumedByTopic.push(...(await Promise.all(topics.slice(i, i + 3).map(consume))));
  }
  // --timeout-ms counts from the first poll, group join included: on a box busy with
  // another suite, a consumer started beside two others can give up before its first
  // fetch. One that came back short runs once more, alone; a wrong count is still wrong.
  for (const [i, role] of topics.entries()) {
    if (consumedByTopic[i]!.length < counts[role]!) consumedByTopic[i] = await consume(role);
  }
  for (const [i, role] of topics.entries()) {
    const topic = `${ns.topicPrefix}${TOPICS[role].name}`;
    const header = role === 'dlq' ? 'kind' : 'type';

    // kcat: `<topic>[<p>]@<o> key=<key> headers=<name>=<value>,...` then the value.
    const kcat = (await read(documented('kcat'), topic, env))
      .split('\n')
      .filter((line) => line.startsWith(`${topic}[`));
    expect({ topic, records: kcat.length }).toEqual({ topic, records: counts[role] });
    // Every record Last Meter wrote says what it is (not the junk this test injected).
    for (const line of kcat.filter((l) => !l.includes(`key=${INJECTED}`))) {
      expect(line).toMatch(new RegExp(`headers=(.*,)?${header}=[a-z]`));
    }

    // kafka-console-consumer: `Partition:<p>\tOffset:<o>\t<headers>\t<key>\t<value>`.
    const consumed = consumedByTopic[i]!;
    expect({ topic, records: consumed.length }).toEqual({ topic, records: counts[role] });
    for (const line of consumed.filter((l) => l.split('\t')[3] !== INJECTED)) {
      expect(line.split('\t')[2]).toMatch(new RegExp(`(^|,)${header}:[a-z]`));
    }
  }
});
