import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { requireJava, requireMaven } from './prerequisites';
import { spawnDaemon, stopProcess, waitUntil } from './processes';

/**
 * S3Proxy (`org.gaul:s3proxy`, Apache 2.0, maintained since 2014): an S3 API in one jar
 * from Maven Central (Java 17), here over its filesystem backend, for the tests of the S3
 * media driver. Chosen over Adobe's S3Mock because S3Proxy binds only the address it is
 * given (S3Mock's plain-HTTP connector listens on every interface) and checks AWS
 * signatures, presigned URLs included, as S3 does (S3Mock accepts any).
 */
export const S3PROXY_VERSION = '4.1.0';

/** The jar with its dependencies, fetched with `mvn dependency:copy` into `dir` on first use. */
export async function ensureS3ProxyJar(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const jar = join(dir, `s3proxy-${S3PROXY_VERSION}-jar-with-dependencies.jar`);
  if (existsSync(jar)) return jar;
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    requireMaven(env),
    [
      '-B',
      'dependency:copy',
      `-Dartifact=org.gaul:s3proxy:${S3PROXY_VERSION}:jar:jar-with-dependencies`,
      `-DoutputDirectory=${dir}`,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    });
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0 || !existsSync(jar)) {
    const reason =
      tail
        .filter((l) => /ERROR/.test(l))
        .slice(0, 3)
        .join(' | ') || tail.slice(-3).join(' | ');
    throw new Error(`mvn could not fetch S3Proxy ${S3PROXY_VERSION} (exit ${code}): ${reason}`);
  }
  return jar;
}

/** One S3Proxy on 127.0.0.1:`port`, buckets as directories under `dataDir`, AWS v2/v4 signatures required. */
export class LocalS3Proxy {
  private child?: ChildProcess;
  private exited?: string;

  constructor(
    private readonly options: {
      jar: string;
      port: number;
      dataDir: string;
      logDir: string;
      credentials: { accessKeyId: string; secretAccessKey: string };
      env?: NodeJS.ProcessEnv;
    },
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const { jar, dataDir, logDir, credentials } = this.options;
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    const properties = join(logDir, 's3proxy.conf');
    writeFileSync(
      properties,
      [
        `s3proxy.endpoint=${this.endpoint}`,
        's3proxy.authorization=aws-v2-or-v4',
        `s3proxy.identity=${credentials.accessKeyId}`,
        `s3proxy.credential=${credentials.secretAccessKey}`,
        'jclouds.provider=filesystem',
        `jclouds.filesystem.basedir=${dataDir}`,
        '',
      ].join('\n'),
    );
    this.exited = undefined;
    const child = spawnDaemon(requireJava(this.options.env), ['-Xmx256m', '-jar', jar, '--properties', properties], {
      logFile: join(logDir, 's3proxy.log'),
      env: this.options.env,
    });
    this.child = child;
    child.once('exit', (code, signal) => {
      this.exited = `S3Proxy exited (${signal ?? `code ${code}`}); see ${join(logDir, 's3proxy.log')}`;
    });
    // Any HTTP answer (403 to an unsigned request) means it serves.
    await waitUntil(
      `S3Proxy on ${this.endpoint}`,
      async () => (await fetch(`${this.endpoint}/`, { signal: AbortSignal.timeout(2_000) })).status < 500,
      { timeoutMs, intervalMs: 250, failed: () => this.exited },
    );
  }

  async stop(): Promise<void> {
    await stopProcess(this.child?.pid, 10_000);
    this.child = undefined;
  }
}
