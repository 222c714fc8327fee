import { bool, EnvError, host, makeValidator, port, str } from 'envalid';
import { availableParallelism } from 'node:os';
import { brokerList, namePrefix, nonNegativeInt, positiveInt, redisUrl, secret } from './validators';

/** A port, or 0 for "off" (the internal listener of /metrics and /docs). */
const portOrOff = makeValidator<number>((input) => {
  const value = Number(input);
  if (!/^\d{1,5}$/.test(input.trim()) || value > 65535) throw new EnvError(`"${input}" is not a port (0 = off)`);
  return value;
});

/** The internal listener of one app: /metrics, /docs and /docs-json move there when it is on. */
const internalPort = (app: string, example: number) =>
  portOrOff({
    default: 0,
    desc: `Port of the internal listener of apps/${app} on INTERNAL_HOST (e.g. ${example}); /metrics, /docs and /docs-json are then served only there (404 on the public port). 0 = off, they stay on the public port`,
  });

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
  INTERNAL_HOST: host({
    default: '127.0.0.1',
    desc: 'Interface of the internal listener (<APP>_INTERNAL_PORT): /metrics and /docs for operators, not the public',
  }),
  KAFKA_BROKERS: brokerList({ desc: 'Kafka bootstrap servers, host:port[,host:port]' }),
  KAFKA_CLIENT_ID: str({ default: 'lastmeter', desc: 'kafkajs client id prefix' }),
  KAFKA_TOPIC_PREFIX: namePrefix({ default: '', desc: 'Prefix for every topic name (tests isolate suites with it)' }),
  KAFKA_PARTITIONS: positiveInt({ default: 12, desc: 'Partitions of each topic when the project creates it' }),
  KAFKA_REPLICATION_FACTOR: positiveInt({ default: 1, desc: 'Replication factor of each topic it creates' }),
  REDIS_URL: redisUrl({
    desc: 'Redis connection URL, redis://host:port[/db], or redis+sentinel://host:port,host:port/<master>[/db] through Sentinel',
  }),
  REDIS_KEY_PREFIX: namePrefix({ default: 'lm:', desc: 'Prefix for every Redis key' }),
  TRUST_PROXY: str({
    default: 'false',
    desc: "Express 'trust proxy': false, true, a hop count or addresses/subnets of the proxies in front (client IP for rate limits)",
  }),
  OTEL_TRACES_EXPORTER: str({
    choices: ['none', 'otlp'],
    default: 'none',
    desc: 'Traces (docs/observability.md): none = off; otlp = OpenTelemetry spans over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT, W3C traceparent carried through the Kafka hops. The standard OTEL_* variables (sampler, headers, resource attributes) apply',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: str({
    default: '',
    desc: 'With OTEL_TRACES_EXPORTER=otlp: the collector, e.g. http://127.0.0.1:4318 (spans go to <endpoint>/v1/traces); empty = that default',
  }),
  OTEL_SERVICE_NAME: str({ default: '', desc: 'Service name of the spans; empty = lastmeter-<app>' }),
};

/**
 * Where media bytes live (docs/media.md): the gateway stores and serves them, the command
 * service reads the records of those a communication attaches.
 */
const mediaStoreEnv = {
  MEDIA_DRIVER: str({
    choices: ['fs', 's3'],
    default: 'fs',
    desc: "Where media bytes live (docs/media.md): fs = files under MEDIA_DIR, s3 = an S3 bucket (MEDIA_S3_*; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the rest of AWS's default chain)",
  }),
  MEDIA_DIR: str({
    default: '',
    desc: 'Directory of the media store (photos, attachments: docs/media.md), shared by every gateway; empty = .lastmeter/media (LASTMETER_HOME/media)',
  }),
  MEDIA_S3_BUCKET: str({ default: '', desc: 'Bucket of the media store when MEDIA_DRIVER=s3 (required then)' }),
  MEDIA_S3_PREFIX: makeValidator<string>((input) => {
    if (input !== '' && !/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*\/$/.test(input)) {
      throw new EnvError(
        `"${input}" is not a key prefix: empty, or segments of letters, digits, '.', '_', '-' ending with '/'`,
      );
    }
    return input;
  })({ default: '', desc: 'Key prefix in that bucket (several deployments in one bucket), e.g. lastmeter/' }),
  MEDIA_S3_REGION: str({ default: 'us-east-1', desc: 'Region of that bucket' }),
  MEDIA_S3_ENDPOINT: str({
    default: '',
    desc: 'URL of an S3-compatible server (MinIO, S3Mock, …); empty = AWS S3',
  }),
  MEDIA_S3_FORCE_PATH_STYLE: bool({
    default: false,
    desc: 'Path-style bucket URLs (endpoint/bucket/key), as most S3-compatible servers want',
  }),
};

/** Device tokens of both apps: issued by the command service, renewed by the gateway. */
const DEVICE_TOKEN_MAX_AGE_DAYS = positiveInt({
  default: 30,
  desc: 'Lifetime of a terminal device token; past half of it the gateway renews it on connect, past all of it the tablet enrolls again',
});

export const commandEnv = {
  ...sharedEnv,
  COMMAND_PORT: port({ default: 3001, desc: 'HTTP port of apps/command' }),
  COMMAND_INTERNAL_PORT: internalPort('command', 9101),
  LASTMETER_JWT_SECRET: secret({ desc: 'HS256 secret for user and device tokens (>= 32 chars)' }),
  ...mediaStoreEnv,
  LASTMETER_ADMIN_USER: str({ default: 'admin', desc: 'Username of the first hq-admin' }),
  LASTMETER_ADMIN_PASSWORD: str({ desc: 'Password of the first hq-admin' }),
  DEVICE_TOKEN_MAX_AGE_DAYS,
  LOGIN_LIMIT_PER_USERNAME: positiveInt({
    default: 10,
    desc: 'Login attempts per username per minute, all addresses and instances together (Redis); then 429',
  }),
  ENROLL_LIMIT_PER_IP: positiveInt({
    default: 60,
    desc: 'Terminal enrollment attempts (POST /v1/terminals/enroll) per client address per minute, shared by all instances; then 429',
  }),
  LOGIN_LIMIT_PER_IP: positiveInt({
    default: 30,
    desc: 'Login attempts per client address per minute, all usernames and instances together (Redis); then 429',
  }),
  COMMAND_FEED_IN_DECISION: bool({
    default: true,
    desc: 'A publish decision carries its feed entries for the partitions its instance owns (one transaction, not two in a row); false: the feed sequencer appends every feed entry in transactions of its own, after the decision (docs/write-side.md)',
  }),
  COMMAND_DECIDE_IN_REQUEST: bool({
    default: true,
    desc: "A command whose partition this instance owns is decided in its HTTP request, in that partition's queue (with the commands that arrive meanwhile), without going through the commands topic first; false: every command goes through the commands topic to the decider (docs/write-side.md)",
  }),
  COMMAND_FEED_NOTICE: bool({
    default: true,
    desc: 'When a transaction with feed entries commits, the command service announces them to the gateways with their items (while they fit in 64 KiB), so terminals get them without waiting for the projector; false: only the projector announces them, once they are in Redis (docs/realtime.md)',
  }),
  COMMAND_CACHE_AGGREGATES: positiveInt({
    default: 20_000,
    desc: 'Terminals and users the command service keeps in memory (least recently used; the rest are snapshots in Redis). Regions, stores and communications are always in memory',
  }),
  IDEMPOTENCY_WINDOW_HOURS: positiveInt({
    default: 24,
    desc: 'How long a finished command answers a replay of its Idempotency-Key with its first outcome; later the key is a new request',
  }),
  LASTMETER_CLOCK_FILE: str({
    default: '',
    desc: "Tests and demos only: a file holding a number of milliseconds the command service's clock runs ahead of the system clock (scheduled publishes, expiries, daily briefs), re-read as it changes; empty = the system clock",
  }),
  CORS_ORIGINS: str({
    // The web UIs are served by the gateway (port 3000 by default); `npm start` derives
    // this from its own GATEWAY_PORT. `*` = any origin, only when set explicitly.
    default: 'http://localhost:3000,http://127.0.0.1:3000',
    desc: "Browser origins allowed to call the write API (comma-separated; * = any); default the gateway's own origin. Bearer tokens, no cookies",
  }),
};

export const projectorEnv = {
  ...sharedEnv,
  PROJECTOR_PORT: port({ default: 3002, desc: 'HTTP port of apps/projector (health, metrics)' }),
  PROJECTOR_INTERNAL_PORT: internalPort('projector', 9102),
  PROJECTOR_LINGER_MS: nonNegativeInt({
    default: 50,
    desc: "How long a few records (fewer than 100) of a transaction whose feed items the command service's notice on commit already carried to the gateways (its feed records and its events, `noticed: true`) wait before they are projected, so the projector does not compete for the cores with the fan-out that commit starts, on a box it shares with gateways. Everything else (receipts, a national publish whose items only the projector announces, a backlog) is projected at once. 0 = project every fetch at once",
  }),
};

export const gatewayEnv = {
  ...sharedEnv,
  GATEWAY_PORT: port({ default: 3000, desc: 'HTTP and Socket.IO port of apps/gateway' }),
  GATEWAY_INTERNAL_PORT: internalPort('gateway', 9100),
  GATEWAY_MAX_BUFFERED_PACKETS: positiveInt({
    default: 1000,
    desc: 'Packets a terminal socket may have waiting before it is disconnected as a slow consumer',
  }),
  DEVICE_TOKEN_MAX_AGE_DAYS,
  TERMINAL_MESSAGE_RATE: positiveInt({
    default: 20,
    desc: 'Client → server messages per second a terminal may send on average (token bucket refill, all its sockets together)',
  }),
  TERMINAL_MESSAGE_BURST: positiveInt({
    default: 100,
    desc: 'Token bucket size: messages a terminal may send at once (an outbox flushed after being offline)',
  }),
  TERMINAL_FLOOD_STRIKES: positiveInt({
    default: 50,
    desc: 'Rate-limited messages in a row after which a flooding terminal socket is disconnected',
  }),
  TERMINAL_REPORTS_PER_HOUR: positiveInt({
    default: 60,
    desc: 'Field reports one terminal may file per clock hour',
  }),
  TERMINAL_MAX_SOCKETS: positiveInt({
    default: 3,
    desc: 'Live sockets per terminal id across all gateways; a newer connection drops the oldest',
  }),
  NOTICE_MAX_AGE_DAYS: positiveInt({
    default: 30,
    desc: 'Days after which a notice without an expiry leaves the store tablets\' active list (the live set a new tablet gets, and hello.noticeMaxAgeDays); it stays under "Earlier items"',
  }),
  REPLAY_MAX_PER_USER: positiveInt({
    default: 2,
    desc: 'Replays (GET /v1/events) one user may run at once on a gateway; more are refused with 429',
  }),
  REPLAY_MAX_PER_GATEWAY: positiveInt({
    default: 8,
    desc: 'Replays (GET /v1/events) one gateway process runs at once, all users together; more are refused with 429',
  }),
  REPLAY_WORKERS: nonNegativeInt({
    // As libs/history defaultReplayWorkers().
    default: Math.min(4, Math.max(2, availableParallelism() - 1)),
    desc: 'Worker threads that parse replayed records (GET /v1/events), shared by the replays of a gateway, at a lower CPU priority than its event loop; default: cores - 1, between 2 and 4; 0 parses on the main thread',
  }),
  LASTMETER_JWT_SECRET: secret({ desc: 'HS256 secret for user and device tokens (>= 32 chars)' }),
  ...mediaStoreEnv,
  MEDIA_S3_DIRECT_LINKS: bool({
    default: false,
    desc: 'GET /v1/media/:id/link answers a presigned URL of the bucket (media bytes then bypass the gateways) instead of a gateway link',
  }),
  MEDIA_UPLOAD_EXPIRY_S: positiveInt({
    default: 86_400,
    desc: 'Seconds an unfinished resumable upload (tus, /v1/media/uploads) is kept before it is swept',
  }),
  MEDIA_RETENTION_DAYS: nonNegativeInt({
    default: 365,
    desc: 'Days the media of a retracted or expired communication stay for the audit before the media sweep deletes them',
  }),
  MEDIA_UNREFERENCED_GRACE_S: positiveInt({
    default: 86_400,
    desc: 'Seconds an uploaded medium nothing uses (no communication, task or report) is kept before the media sweep deletes it',
  }),
  MEDIA_SWEEP_EVERY_S: nonNegativeInt({
    default: 21_600,
    desc: 'How often one gateway of the deployment runs the media sweep (a Redis lock picks it); 0 = only through POST /v1/media/sweep',
  }),
  SURVEY_BATCH_MIN: positiveInt({
    default: 5,
    desc: 'Anonymous survey answers a gateway holds before it writes them, shuffled, as one batch (issue 21)',
  }),
  SURVEY_BATCH_MS: positiveInt({
    default: 60_000,
    desc: 'Longest a survey answer waits for its batch (ms); the tablet is acked once the batch is in Kafka',
  }),
  MEDIA_UPLOADS_QUEUE: nonNegativeInt({
    default: 200,
    desc: 'Uploads that wait their turn (in arrival order, up to 30 s) when MEDIA_UPLOADS_MAX are being received; more are answered 503 with Retry-After',
  }),
  MEDIA_UPLOADS_MAX: positiveInt({
    default: 4,
    desc: 'Uploads (POST /v1/media) one gateway receives and processes at once (each up to 25 MB in memory); more wait (MEDIA_UPLOADS_QUEUE)',
  }),
  COMMAND_PUBLIC_URL: str({
    default: '',
    desc: 'Write API base URL as browsers reach it (the web UIs); empty = same host as the page, port 3001',
  }),
};

/** What the `lastmeter` CLI reads besides the apps' variables (not an app's configuration). */
export const cliEnv = {
  LASTMETER_TOKEN: str({
    default: '',
    desc: 'Bearer token of an hq-admin for `lastmeter import` (from POST /v1/auth/login); empty = log in as LASTMETER_ADMIN_USER with LASTMETER_ADMIN_PASSWORD, or as the dev admin of `npm start`',
  }),
};

export const APP_ENV_SPECS = {
  command: commandEnv,
  projector: projectorEnv,
  gateway: gatewayEnv,
} as const;

export type AppName = keyof typeof APP_ENV_SPECS;
export const APP_NAMES = Object.keys(APP_ENV_SPECS) as AppName[];
