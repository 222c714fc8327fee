/**
 * Generates docs/asyncapi.yaml (AsyncAPI 3.0): the Socket.IO namespaces `/terminal` and
 * `/console` of the gateway and the Kafka topics, with every payload, ack, header and
 * key. The channels, operations and messages are described here; every payload schema
 * is one of the JSON Schemas generated from the contract types (CONTRACT_SCHEMAS, ADR
 * 0007), with the schemas they refer to, so the document cannot drift from the types.
 * Topic names, event types and refusal reasons come from the contracts' constants.
 *
 *   npm run asyncapi      rewrites docs/asyncapi.yaml
 *
 * tools/asyncapi.spec.ts fails when the committed file is stale; test/asyncapi checks it
 * with @asyncapi/parser and against the messages of a live scenario.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import {
  CREDENTIAL_RECORD,
  PERSON_KEY_RECORD,
  CONNECT_REFUSALS,
  CONSOLE_NAMESPACE,
  CONSOLE_REACH_UPDATES_PER_SECOND,
  CONSOLE_REFUSALS,
  CONTRACT_SCHEMAS,
  CURRENT_SCHEMA_VERSIONS,
  EARLIER_DEFAULT_LIMIT,
  EARLIER_MAX_LIMIT,
  EVENT_TYPES,
  FEED_BATCH,
  FEED_NOTICED_HEADER,
  MAX_RECEIPTS_BYTES,
  MAX_RECEIPTS_PER_MESSAGE,
  MAX_REPORT_ATTACHMENTS,
  FEED_ITEMS_MAX,
  SNAPSHOT_CHUNK_ITEMS,
  TERMINAL_NAMESPACE,
  TOPICS,
  isStoreActivity,
  type EventType,
  type TopicRole,
} from '@lastmeter/contracts';

/** The repository (this file runs from tools/ under jest and from dist/tools/ when built). */
function repositoryRoot(from: string): string {
  return existsSync(join(from, 'nest-cli.json')) ? from : repositoryRoot(dirname(from));
}

const ROOT = repositoryRoot(__dirname);
export const ASYNCAPI_FILE = join(ROOT, 'docs/asyncapi.yaml');

type Json = Record<string, unknown>;
const ref = (path: string): Json => ({ $ref: path });
const schemaRef = (name: string): Json => {
  if (!CONTRACT_SCHEMAS[name])
    throw new Error(`no generated schema ${name} (add its type to tools/contract-schemas.ts)`);
  return ref(`#/components/schemas/${name}`);
};
const list = (values: readonly string[]) => values.map((value) => `\`${value}\``).join(', ');

// ---------------------------------------------------------------------------------------
// Socket.IO: one channel per namespace. The document describes the gateway: `send` is
// what the gateway emits, `receive` what a client emits to it. An event with an ack is a
// `receive` operation whose `reply` is the ack (AsyncAPI 3 models acks as replies).
// ---------------------------------------------------------------------------------------

interface SocketMessage {
  /** Key in the channel's `messages`; the component is `<channel>.<id>`. */
  id: string;
  /**
   * The Socket.IO event name (`emit(name, payload)`). `connect` and `connect_error` are
   * the CONNECT and CONNECT_ERROR packets (the handshake's `auth`, its refusal); an ack
   * has no name of its own.
   */
  name?: string;
  /** Who emits it: `client` messages are `receive` operations of the gateway, `server` ones `send`. */
  from: 'client' | 'server' | 'ack';
  /** The ack (`from: 'ack'`) answers these client messages (ids). */
  answers?: string[];
  schema: string;
  title: string;
  summary: string;
  description?: string;
}

interface Namespace {
  channel: 'terminal' | 'console';
  address: string;
  security: 'deviceToken' | 'userToken';
  title: string;
  description: string;
  messages: SocketMessage[];
}

const SINGLE_FACT_ACK =
  'Sent only once Kafka has the fact: `{ ok: true }`, `{ ok: true, duplicate: true }` (already recorded: a ' +
  'resend is always safe) or `{ ok: false, error: { message, fields? } }`. Retryable errors (resend the same ' +
  'fact later; `isRetryable` in the contracts): `rate-limited`, `busy: …`, `not confirmed …`, `not recorded …`, ' +
  '`not checked: the read models are unavailable …`, `… is being recorded by another request …`. Anything else: ' +
  'the fact is refused, drop it.';

const TERMINAL: Namespace = {
  channel: 'terminal',
  address: TERMINAL_NAMESPACE,
  security: 'deviceToken',
  title: 'Store tablets',
  description:
    'The namespace of store terminals (docs/design.md section 6, docs/terminal-protocol.md). A terminal connects ' +
    "with its device token and its cursor in `auth`, gets `hello`, then its store's feed after the cursor (or the " +
    'live set) and live entries, and sends receipts and other store facts, each acked once Kafka has it. Rooms are ' +
    "the server's choice: a terminal cannot subscribe to anything. Messages are limited to 16 KiB (64 KiB for " +
    '`receipts`) and to a per-terminal rate (TERMINAL_MESSAGE_RATE, _BURST); a flooding terminal is disconnected.',
  messages: [
    {
      id: 'connect',
      name: 'connect',
      from: 'client',
      schema: 'TerminalAuth',
      title: 'Handshake',
      summary: 'The `auth` of the CONNECT packet: `io(url + "/terminal", { auth })`.',
      description:
        "Not an event: the `auth` object of Socket.IO's CONNECT packet for the namespace. Every value may be " +
        'sent as a string (socket.io-client-java sends `auth` as strings only). Other keys are ignored. Accepted: ' +
        'the gateway sends `hello`. Refused: `connect_error`.',
    },
    {
      id: 'connect_error',
      name: 'connect_error',
      from: 'ack',
      answers: ['connect'],
      schema: 'TerminalConnectError',
      title: 'Handshake refused',
      summary: `A refused handshake (CONNECT_ERROR packet): \`data.reason\` is one of ${list(CONNECT_REFUSALS)}.`,
      description:
        "The client's `connect_error` event gets an Error with this `message` and `data`. Socket.IO never " +
        'retries a refused handshake by itself. `unavailable`: connect again in a few seconds (keep the ' +
        'enrollment and cursor); `bad-cursor`: drop cursor and epoch and connect again; `token-*`, ' +
        '`not-a-terminal`, `terminal-revoked`: enroll again. A terminal revoked between the handshake and ' +
        '`hello` sees the server close the socket (`io server disconnect`) before any `hello`: a refusal too.',
    },
    {
      id: 'hello',
      name: 'hello',
      from: 'server',
      schema: 'Hello',
      title: 'Hello',
      summary: 'The first message after connecting: the epoch, the head, and how the feed follows.',
      description:
        'With a cursor of this epoch: `feed` messages after the cursor follow, then live ones. Without a cursor ' +
        "(or with one that cannot be trusted): `snapshot` items of the store's live set follow, flagged " +
        '`snapshot: true`, and the cursor becomes `headSeq` once all have arrived. `token`: a renewed device ' +
        'token, keep it in place of the old one.',
    },
    {
      id: 'feed',
      name: 'feed',
      from: 'server',
      schema: 'FeedMessage',
      title: 'Feed item',
      summary: "The next entry of the store's feed, in feedSeq order, with no gap and no duplicate.",
      description:
        'An entry restricted to roles the terminal was not enrolled with comes as `{ feedSeq, hidden: true }`: ' +
        'move the cursor, show nothing. `snapshot: true`: an item of the live set announced by `hello.snapshot` ' +
        '(it does not move the cursor). `reset: true`: the first item after an epoch change, replace what is ' +
        'shown. Persist `feedSeq` (and `hello.epoch`) as the cursor after each live item.',
    },
    {
      id: 'feed.snapshot',
      name: 'feed.snapshot',
      from: 'server',
      schema: 'LiveSetChunk',
      title: 'Live set chunk',
      summary: `Up to ${SNAPSHOT_CHUNK_ITEMS} items of the live set, to a terminal that connected with \`snapshotChunks: true\`.`,
      description:
        'Each item is exactly what its `feed` message would have been. The chunks of one live set hold ' +
        '`hello.snapshot` items together; an empty live set sends none.',
    },
    {
      id: 'feed.items',
      name: 'feed.items',
      from: 'server',
      schema: 'FeedItems',
      title: 'Feed items',
      summary: `Two to ${FEED_ITEMS_MAX} consecutive feed items at once, to a terminal that connected with \`feedBatches: true\`.`,
      description:
        'Sent when more than one item is due at once (a backlog after reconnecting, a burst of publishes while ' +
        'the socket was busy). Each item is exactly what its `feed` message would have been: take them in order ' +
        'as `feed` messages. A single due item still comes as `feed`.',
    },
    {
      id: 'token',
      name: 'token',
      from: 'server',
      schema: 'TokenRenewed',
      title: 'Token renewed',
      summary: "A renewed device token, for a terminal connected past half of its token's maximum age.",
    },
    {
      id: 'token-expired',
      name: 'token-expired',
      from: 'server',
      schema: 'TokenExpired',
      title: 'Token expired',
      summary: 'The device token expired: the server disconnects the socket next. Enroll again.',
    },
    {
      id: 'revoked',
      name: 'revoked',
      from: 'server',
      schema: 'Revoked',
      title: 'Revoked',
      summary: 'Head office revoked this terminal: the server disconnects it next. Stop reconnecting.',
    },
    {
      id: 'reminder',
      name: 'reminder',
      from: 'server',
      schema: 'Reminder',
      title: 'Reminder',
      summary:
        'A communication of the store is due and these people have not acknowledged it (issue 21): sent once, at ' +
        'the due time, to the tablets connected then.',
    },
    {
      id: 'slow-consumer',
      name: 'slow-consumer',
      from: 'server',
      schema: 'SlowConsumer',
      title: 'Slow consumer',
      summary: 'The terminal stopped reading (its buffer stayed full): the server disconnects it next.',
      description: 'It resumes from its own cursor when it connects again.',
    },
    {
      id: 'feed.earlier',
      name: 'feed.earlier',
      from: 'client',
      schema: 'EarlierPayload',
      title: 'Earlier items',
      summary: `Older entries of the store's feed (feedSeq < before), ${EARLIER_DEFAULT_LIMIT} by default, at most ${EARLIER_MAX_LIMIT}: a read, nothing is written.`,
    },
    {
      id: 'feed.earlier.ack',
      from: 'ack',
      answers: ['feed.earlier'],
      schema: 'EarlierAck',
      title: 'Earlier items (ack)',
      summary: 'A page of entries, newest first; `next` is the `before` of the next page. They never move the cursor.',
    },
    {
      id: 'receipt',
      name: 'receipt',
      from: 'client',
      schema: 'ReceiptPayload',
      title: 'Receipt',
      summary: 'The terminal delivered, read or acknowledged a communication at a revision (`receipt.*` in Kafka).',
    },
    {
      id: 'receipts',
      name: 'receipts',
      from: 'client',
      schema: 'ReceiptsPayload',
      title: 'Receipts (batch)',
      summary: `Many receipts in one message (a backlog): 1 to ${MAX_RECEIPTS_PER_MESSAGE} items, at most ${MAX_RECEIPTS_BYTES / 1024} KiB.`,
      description:
        'Each item is one fact, validated, authorised, rate-limited and recorded on its own, exactly as a ' +
        '`receipt` with that payload.',
    },
    {
      id: 'receipts.ack',
      from: 'ack',
      answers: ['receipts'],
      schema: 'ReceiptsAck',
      title: 'Receipts (ack)',
      summary: 'Once every item has its answer: `results[i]` answers `items[i]`, or the message is refused as a whole.',
      description:
        '`ok: true` does not say every item was recorded: read each result (each is what `receipt` would have ' +
        "answered). Items beyond the terminal's message budget are answered `rate-limited`: resend those.",
    },
    {
      id: 'task.complete',
      name: 'task.complete',
      from: 'client',
      schema: 'TaskCompletePayload',
      title: 'Task complete',
      summary: 'The store completed a task, with its evidence (`task.completed` in Kafka).',
    },
    {
      id: 'quiz.answer',
      name: 'quiz.answer',
      from: 'client',
      schema: 'QuizAnswerPayload',
      title: 'Quiz answer',
      summary: "The answers to a training's questions (`quiz.answered` in Kafka, with its score).",
    },
    {
      id: 'survey.answer',
      name: 'survey.answer',
      from: 'client',
      schema: 'SurveyAnswerPayload',
      title: 'Survey answer',
      summary:
        "A signed-in person's answers to a pulse survey, once per person, recorded anonymously (`survey.answered`: " +
        'no person, no terminal, the hour; written in shuffled batches, acked once the batch is in Kafka).',
    },
    {
      id: 'report.file',
      name: 'report.file',
      from: 'client',
      schema: 'ReportFilePayload',
      title: 'Field report',
      summary: `A field report from the store, with up to ${MAX_REPORT_ATTACHMENTS} attachments (\`report.filed\` in Kafka).`,
    },
    {
      id: 'ack',
      from: 'ack',
      answers: ['receipt', 'task.complete', 'quiz.answer', 'survey.answer', 'report.file'],
      schema: 'Ack',
      title: 'Fact ack',
      summary: 'The ack of a fact: recorded, already recorded, or refused.',
      description: SINGLE_FACT_ACK,
    },
  ],
};

const CONSOLE: Namespace = {
  channel: 'console',
  address: CONSOLE_NAMESPACE,
  security: 'userToken',
  title: 'Head office consoles',
  description:
    'Live boards for head office (hq-admin, hq-editor and analyst user tokens): the reach of watched ' +
    `communications (at most ${CONSOLE_REACH_UPDATES_PER_SECOND} updates per communication per second, overall and ` +
    'by region, never per store), presence per store, and field reports as they are filed. Everything is read ' +
    'from the read models when the projector announces a change, so any gateway serves any console.',
  messages: [
    {
      id: 'connect',
      name: 'connect',
      from: 'client',
      schema: 'ConsoleAuth',
      title: 'Handshake',
      summary: 'The `auth` of the CONNECT packet: `io(url + "/console", { auth: { token } })`.',
    },
    {
      id: 'connect_error',
      name: 'connect_error',
      from: 'ack',
      answers: ['connect'],
      schema: 'ConsoleConnectError',
      title: 'Handshake refused',
      summary: `A refused handshake (CONNECT_ERROR packet): \`data.reason\` is one of ${list(CONSOLE_REFUSALS)}.`,
    },
    {
      id: 'token-expired',
      name: 'token-expired',
      from: 'server',
      schema: 'TokenExpired',
      title: 'Token expired',
      summary: 'The user token expired: the server disconnects the socket next. Log in again.',
      description:
        'A user who is disabled, or whose password or role changes, has every console closed at once ' +
        '(`io server disconnect`, no message).',
    },
    {
      id: 'watch',
      name: 'watch',
      from: 'client',
      schema: 'ConsoleWatchPayload',
      title: 'Watch a communication',
      summary: 'Live `reach` of one communication from now on.',
    },
    {
      id: 'watch.ack',
      from: 'ack',
      answers: ['watch'],
      schema: 'ConsoleWatchAck',
      title: 'Watch (ack)',
      summary: 'The reach now (as `GET /v1/communications/:id/reach?by=region`), or why not.',
    },
    {
      id: 'unwatch',
      name: 'unwatch',
      from: 'client',
      schema: 'ConsoleWatchPayload',
      title: 'Stop watching',
      summary: 'No more `reach` for this communication.',
    },
    {
      id: 'unwatch.ack',
      from: 'ack',
      answers: ['unwatch'],
      schema: 'ConsoleUnwatchAck',
      title: 'Unwatch (ack)',
      summary: 'Always `{ ok: true }`.',
    },
    {
      id: 'reach',
      name: 'reach',
      from: 'server',
      schema: 'ReachByRegion',
      title: 'Reach',
      summary: "A watched communication's reach moved: overall and by region, the same size at 50 or 50,000 stores.",
      description:
        "A console that shows one region's stores reads that page over HTTP " +
        '(`GET /v1/communications/:id/reach?regionId=`) again when a push moves the counts.',
    },
    {
      id: 'presence',
      name: 'presence',
      from: 'server',
      schema: 'StorePresence',
      title: 'Presence',
      summary: 'Who is online in a store whose presence changed (to every console).',
    },
    {
      id: 'report',
      name: 'report',
      from: 'server',
      schema: 'ReportView',
      title: 'Field report',
      summary: 'A field report was filed (to every console).',
    },
  ],
};

const NAMESPACES = [TERMINAL, CONSOLE];

// ---------------------------------------------------------------------------------------
// Kafka: one channel per topic (TOPICS), one message per record kind. Envelopes are one
// message per event type, narrowed from EventEnvelopeJson with the event's data schema.
// ---------------------------------------------------------------------------------------

interface KafkaMessage {
  id: string;
  /** What the `type` header (or `kind`, on the DLQ) says, when records carry one. */
  name?: string;
  title: string;
  summary: string;
  description?: string;
  payload: Json;
  headers?: Json;
  key: Json;
}

const CHANNEL_OF: Record<TopicRole, string> = {
  commands: 'commands',
  events: 'events',
  storeEvents: 'store-events',
  feed: 'feed',
  credentials: 'credentials',
  personKeys: 'person-keys',
  dlq: 'dlq',
};

/** The generated maps from event type to data, one per event family. */
const DATA_MAPS = ['DirectoryEventData', 'CommunicationEventData', 'StoreActivityEventData', 'FeedEventData'];

function dataSchemaOf(type: EventType): Json {
  for (const map of DATA_MAPS) {
    const properties = (CONTRACT_SCHEMAS[map]?.properties ?? {}) as Record<string, Json>;
    if (properties[type]) return properties[type];
  }
  throw new Error(`no data schema for event type ${type} in ${DATA_MAPS.join(', ')}`);
}

function topicOf(type: EventType): TopicRole {
  if (type === 'feed.appended') return 'feed';
  return isStoreActivity(type) ? 'storeEvents' : 'events';
}

const keyOf = (role: TopicRole, extra: Json = {}): Json => ({
  type: 'string',
  description: TOPICS[role].key,
  ...extra,
});

/** W3C trace context, on the records of a traced request (OTEL_TRACES_EXPORTER=otlp; docs/observability.md). */
const TRACE_HEADERS: Json = {
  traceparent: {
    type: 'string',
    pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
    description: 'W3C trace context of the span that wrote the record (only while tracing is on)',
  },
  tracestate: { type: 'string', description: 'W3C tracestate, when the trace has one' },
};

/** `noticed: true` on the records of a transaction whose feed entries the notice on commit carried (FEED_NOTICED_HEADER). */
const noticedHeader = (what: string): Json => ({
  [FEED_NOTICED_HEADER]: {
    type: 'string',
    const: 'true',
    description:
      `The command service's notice on commit carried every feed entry of ${what} transaction to ` +
      'the gateways, so a projector may let it wait (PROJECTOR_LINGER_MS) while the fan-out runs; absent otherwise.',
  },
});

function typeHeader(type: string, description: string, traced = true, optional: Json = {}): Json {
  return {
    type: 'object',
    properties: { type: { type: 'string', const: type, description }, ...optional, ...(traced ? TRACE_HEADERS : {}) },
    required: ['type'],
    additionalProperties: false,
  };
}

function envelopeMessage(type: EventType, legacy = false): KafkaMessage {
  const role = topicOf(type);
  return {
    id: legacy ? `${type}.legacy` : type,
    name: type,
    title: type,
    summary: legacy
      ? 'A feed entry as one record of its own, keyed by store id (written before issue 16; still read).'
      : `The \`${type}\` event in its envelope.`,
    description:
      `Written at schemaVersion ${CURRENT_SCHEMA_VERSIONS[type]}; \`data\` is that version's. Older versions in the ` +
      'log are upcast on read (libs/contracts/src/upcasters.ts).',
    payload: {
      allOf: [
        schemaRef('EventEnvelopeJson'),
        { type: 'object', properties: { type: { type: 'string', const: type }, data: dataSchemaOf(type) } },
      ],
    },
    headers: typeHeader(
      type,
      'The event type, as in the payload.',
      true,
      role === 'events' ? noticedHeader("the event's") : {},
    ),
    key: legacy ? { type: 'string', description: 'store id' } : keyOf(role),
  };
}

function kafkaMessages(role: TopicRole): KafkaMessage[] {
  switch (role) {
    case 'commands':
      return [
        {
          id: 'command',
          title: 'Command',
          summary: 'An accepted command awaiting decision by the decider that owns its partition.',
          description:
            'The command service appends it after validating the request; the decider replies on the Redis ' +
            'channel `replyTo` with the outcome for `requestId`. `payload` is the validated request body.',
          payload: schemaRef('CommandEnvelopeJson'),
          headers: {
            type: 'object',
            properties: {
              type: { type: 'string', description: 'The command type, as in the payload.' },
              ...TRACE_HEADERS,
            },
            required: ['type'],
            additionalProperties: false,
          },
          key: keyOf(role),
        },
      ];
    case 'events':
    case 'storeEvents':
      return EVENT_TYPES.filter((type) => topicOf(type) === role).map((type) => envelopeMessage(type));
    case 'feed':
      return [
        {
          id: FEED_BATCH,
          name: FEED_BATCH,
          title: FEED_BATCH,
          summary: 'The feed entries one writer transaction appends (at most 500, all for stores of its partition).',
          description:
            "Each communication's content is in it once. `parseRecord` (libs/contracts/src/parse-envelope.ts) " +
            'turns it into its `feed.appended` events, exactly the envelopes a record per entry would have held.',
          payload: schemaRef('FeedBatchRecord'),
          headers: typeHeader(FEED_BATCH, `Always \`${FEED_BATCH}\`.`, true, noticedHeader("the record's")),
          key: keyOf(role, { const: FEED_BATCH }),
        },
        envelopeMessage('feed.appended', true),
      ];
    case 'credentials':
      return [
        {
          id: 'credential',
          title: 'Credential',
          summary: 'A password or enrollment-code hash, appended with the event that says what happened.',
          description:
            'Compacted: only the latest record per key is kept. Only the command service reads this topic; no ' +
            'read path, replay or export touches it (docs/security.md).',
          payload: schemaRef('CredentialRecord'),
          headers: typeHeader(CREDENTIAL_RECORD, `Always \`${CREDENTIAL_RECORD}\`.`, false),
          key: keyOf(role),
        },
        {
          id: 'tombstone',
          title: 'Tombstone',
          summary: 'A null value: the secret stopped being valid (a redeemed code, a revoked terminal).',
          payload: { type: 'null' },
          headers: typeHeader(CREDENTIAL_RECORD, `Always \`${CREDENTIAL_RECORD}\`.`, false),
          key: keyOf(role),
        },
      ];
    case 'personKeys':
      return [
        {
          id: 'person-key',
          title: 'Person key',
          summary: "A staff member's data key, written before the command that adds them.",
          description:
            'Compacted. It seals their personal fields in the events (`SealedText`, AES-256-GCM). The projector ' +
            'mirrors it to Redis for the read paths; nothing else reads it (docs/privacy.md).',
          payload: schemaRef('PersonKeyRecord'),
          headers: typeHeader(PERSON_KEY_RECORD, `Always \`${PERSON_KEY_RECORD}\`.`, false),
          key: keyOf(role),
        },
        {
          id: 'person-key-tombstone',
          title: 'Erasure',
          summary: 'A null value: the person was erased (in the transaction of `staff.erased`).',
          payload: { type: 'null' },
          headers: typeHeader(PERSON_KEY_RECORD, `Always \`${PERSON_KEY_RECORD}\`.`, false),
          key: keyOf(role),
        },
      ];
    case 'dlq':
      return [
        {
          id: 'dead-letter',
          name: 'dead-letter',
          title: 'Dead letter',
          summary: 'A record a projector could not apply, with why and its original bytes.',
          description: '`lastmeter dlq list` shows the unresolved ones, `lastmeter dlq retry` applies them again.',
          payload: schemaRef('DeadLetter'),
          headers: {
            type: 'object',
            properties: {
              kind: { type: 'string', const: 'dead-letter' },
              error: { type: 'string', maxLength: 500, description: 'The first 500 characters of `error`.' },
            },
            required: ['kind', 'error'],
            additionalProperties: false,
          },
          key: keyOf(role, { description: "the original record's key (absent when it had none)" }),
        },
        {
          id: 'resolved',
          name: 'resolved',
          title: 'Resolved',
          summary: 'A retry applied a dead letter.',
          payload: schemaRef('DeadLetterResolved'),
          headers: {
            type: 'object',
            properties: { kind: { type: 'string', const: 'resolved' } },
            required: ['kind'],
            additionalProperties: false,
          },
          key: keyOf(role, { description: "the original record's key (absent when it had none)" }),
        },
      ];
  }
}

/** Who writes and who reads each topic (the `send` and `receive` operations). */
const KAFKA_SIDES: Record<TopicRole, { send: string; receive: string }> = {
  commands: {
    send: 'The command service appends each accepted command (acks=all), keyed by aggregate id.',
    receive: 'The deciders (command service) decide each command of the partitions they own.',
  },
  events: {
    send: 'The partition writers (command service) append the decided events in transactions.',
    receive: 'The projector builds the read models; the command service tails them; replay and audit read them.',
  },
  storeEvents: {
    send: 'The gateway appends store facts (receipts, tasks, quizzes, reports, presence); the command service appends reports filed over HTTP.',
    receive: 'The projector counts reach, compliance, reports and presence.',
  },
  feed: {
    send: 'The partition writers append feed batches in the same transactions as the events they follow.',
    receive: "The projector builds each store's feed; the command service keeps its feed ledger.",
  },
  credentials: {
    send: 'The partition writers append records and tombstones in the same transactions as their events.',
    receive: 'The command service only (logins, enrollment).',
  },
  personKeys: {
    send: 'The command service, before the command that adds a person; the partition writers append tombstones (erasure).',
    receive: 'The projector, which mirrors the keys to Redis for the read paths (docs/privacy.md).',
  },
  dlq: {
    send: 'The projector, before it moves past a record it could not apply; `lastmeter dlq retry` appends `resolved`.',
    receive: '`lastmeter dlq list` and `lastmeter dlq retry`.',
  },
};

/** A topic's broker configs as the Kafka binding types them. */
function topicConfiguration(role: TopicRole): Json {
  const out: Json = {};
  for (const [name, value] of Object.entries(TOPICS[role].config as Record<string, string>)) {
    out[name] = name === 'cleanup.policy' ? value.split(',') : /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The document.
// ---------------------------------------------------------------------------------------

const socketComponent = (ns: Namespace, message: SocketMessage) => `${ns.channel}.${message.id}`;
const kafkaComponent = (role: TopicRole, message: KafkaMessage) => `${CHANNEL_OF[role]}.${message.id}`;

/** Every component schema `node` refers to, transitively. */
function referencedSchemas(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) referencedSchemas(item, found);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
        const name = value.slice('#/components/schemas/'.length);
        if (found.has(name)) continue;
        if (!CONTRACT_SCHEMAS[name]) throw new Error(`${value} is not a generated schema`);
        found.add(name);
        referencedSchemas(CONTRACT_SCHEMAS[name], found);
      } else {
        referencedSchemas(value, found);
      }
    }
  }
  return found;
}

function version(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildAsyncApi(): Json {
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};

  for (const ns of NAMESPACES) {
    const channelMessages: Json = {};
    for (const message of ns.messages) {
      const component = socketComponent(ns, message);
      messages[component] = {
        ...(message.name ? { name: message.name } : {}),
        title: message.title,
        summary: message.summary,
        ...(message.description ? { description: message.description } : {}),
        contentType: 'application/json',
        payload: schemaRef(message.schema),
        ...(message.from === 'ack' ? { 'x-ack-of': message.answers } : {}),
      };
      channelMessages[message.id] = ref(`#/components/messages/${component}`);
    }
    channels[ns.channel] = {
      address: ns.address,
      title: ns.title,
      description: ns.description,
      servers: [ref('#/servers/gateway')],
      messages: channelMessages,
    };
    const channel = ref(`#/channels/${ns.channel}`);
    for (const message of ns.messages) {
      if (message.from === 'ack') continue;
      const replies = ns.messages.filter((m) => m.from === 'ack' && m.answers?.includes(message.id));
      operations[`${ns.channel}.${message.from === 'server' ? 'send' : 'receive'}.${message.id}`] = {
        action: message.from === 'server' ? 'send' : 'receive',
        channel,
        title: message.title,
        summary: message.summary,
        security: [ref(`#/components/securitySchemes/${ns.security}`)],
        messages: [ref(`#/channels/${ns.channel}/messages/${message.id}`)],
        ...(replies.length
          ? {
              reply: {
                channel,
                messages: replies.map((reply) => ref(`#/channels/${ns.channel}/messages/${reply.id}`)),
              },
            }
          : {}),
      };
    }
  }

  for (const role of Object.keys(TOPICS) as TopicRole[]) {
    const topic = TOPICS[role];
    const name = CHANNEL_OF[role];
    const channelMessages: Json = {};
    for (const message of kafkaMessages(role)) {
      const component = kafkaComponent(role, message);
      messages[component] = {
        ...(message.name ? { name: message.name } : {}),
        title: message.title,
        summary: message.summary,
        ...(message.description ? { description: message.description } : {}),
        contentType: 'application/json',
        ...(message.headers ? { headers: message.headers } : {}),
        payload: message.payload,
        bindings: { kafka: { key: message.key, bindingVersion: '0.5.0' } },
      };
      channelMessages[message.id] = ref(`#/components/messages/${component}`);
    }
    channels[name] = {
      address: `{prefix}${topic.name}`,
      title: topic.name,
      description: `${topic.purpose[0].toUpperCase()}${topic.purpose.slice(1)}. Key: ${topic.key}.`,
      servers: [ref('#/servers/kafka')],
      parameters: { prefix: ref('#/components/parameters/topicPrefix') },
      messages: channelMessages,
      bindings: { kafka: { topicConfiguration: topicConfiguration(role), bindingVersion: '0.5.0' } },
    };
    for (const action of ['send', 'receive'] as const) {
      operations[`${name}.${action}`] = {
        action,
        channel: ref(`#/channels/${name}`),
        summary: KAFKA_SIDES[role][action],
        messages: Object.keys(channelMessages).map((id) => ref(`#/channels/${name}/messages/${id}`)),
      };
    }
  }

  const schemas: Json = {};
  for (const name of [...referencedSchemas(messages)].sort()) schemas[name] = CONTRACT_SCHEMAS[name];

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Last Meter: store tablets, head office consoles and the event log',
      version: version(),
      description: [
        'The asynchronous interfaces of Last Meter: the Socket.IO namespaces of the gateway (`/terminal` for ' +
          'store tablets, `/console` for head office) and the Kafka topics the services share.',
        '',
        "The application described is Last Meter's server side: `send` is what the gateway (or a service) " +
          'sends, `receive` what it receives; a tablet or a console does the opposite. An event with a Socket.IO ' +
          'ack is a `receive` operation whose `reply` is the ack.',
        '',
        'Generated by `npm run asyncapi` (tools/asyncapi.ts): every payload schema is generated from the ' +
          'TypeScript types of libs/contracts (ADR 0007). Do not edit this file. Prose: docs/design.md sections ' +
          '2, 3 and 6, docs/terminal-protocol.md.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: 'localhost:3000',
        protocol: 'ws',
        pathname: '/socket.io/',
        title: 'Gateway (Socket.IO 4)',
        description:
          "The gateway's HTTP port (GATEWAY_PORT). AsyncAPI has no Socket.IO binding, so the framing is " +
          'described here: Socket.IO 4 (Engine.IO protocol 4) over websocket or HTTP long-polling, at ' +
          '`/socket.io/?EIO=4&transport=websocket`. Each channel below is a namespace (`/terminal`, ' +
          '`/console`), joined with a CONNECT packet whose `auth` is the `connect` message of the channel; a ' +
          'refusal is a CONNECT_ERROR packet (`connect_error`). Each other message is one EVENT packet ' +
          '`[name, payload]` with a single JSON payload; a message with a reply is emitted with an ack ' +
          "callback, and the reply is the ACK packet's single argument.",
      },
      kafka: {
        host: 'localhost:9092',
        protocol: 'kafka',
        title: 'Kafka',
        description:
          'KAFKA_BROKERS. Values are JSON (UTF-8), keys UTF-8 strings, headers UTF-8 strings. Producers use ' +
          'acks=all; consumers that build state read with read_committed (the write engine appends events, ' +
          'feed and credentials in transactions). Every topic has KAFKA_PARTITIONS partitions and one ' +
          "partitioner (murmur2): an aggregate's commands, events and credentials, and a store's feed and " +
          'store events, share a partition number.',
      },
    },
    channels,
    operations,
    components: {
      schemas,
      messages,
      parameters: {
        topicPrefix: {
          description: 'KAFKA_TOPIC_PREFIX of the deployment: empty in production, one per suite in the tests.',
          default: '',
        },
      },
      securitySchemes: {
        deviceToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'The device token of an enrolled terminal (`POST /v1/terminals/enroll`, or a renewed one from ' +
            '`hello.token` / `token`), valid DEVICE_TOKEN_MAX_AGE_DAYS. Not an HTTP header: it goes in the ' +
            'handshake, `auth.token` of the CONNECT packet (`io(url + "/terminal", { auth: { token } })`).',
        },
        userToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A user token (`POST /v1/auth/login`) of hq-admin, hq-editor or analyst. Not an HTTP header: it ' +
            'goes in the handshake, `auth.token` of the CONNECT packet (`io(url + "/console", { auth: { token } })`).',
        },
      },
    },
  };
}

/** The document as YAML (no anchors: repeated objects are written out). */
export function renderAsyncApi(document: Json = buildAsyncApi()): string {
  return [
    '# Generated by `npm run asyncapi` (tools/asyncapi.ts) from the contract types and constants of',
    '# libs/contracts. Do not edit: change them (or the tool) and run it again.',
    stringify(document, { aliasDuplicateObjects: false, lineWidth: 0, singleQuote: true }),
  ].join('\n');
}

if (require.main === module) {
  writeFileSync(ASYNCAPI_FILE, renderAsyncApi());
  console.log(`wrote ${ASYNCAPI_FILE.slice(ROOT.length + 1)}`);
}
