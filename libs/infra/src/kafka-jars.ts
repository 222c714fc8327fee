import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { infraAsset } from './paths';
import { requireMaven } from './prerequisites';

export interface KafkaJars {
  /** Directory holding the broker's classpath (`<dir>/*`). */
  libs: string;
  version: string;
  /** True when this call fetched them (first start). */
  fetched: boolean;
}

function pomDigest(): { version: string; digest: string } {
  const pom = readFileSync(infraAsset('pom.xml'), 'utf8');
  return {
    version: /<kafka\.version>([^<]+)</.exec(pom)?.[1] ?? 'unknown',
    digest: createHash('sha256').update(pom).digest('hex'),
  };
}

/** True when `dir` holds the jars of the current pom: no mvn, no network needed. */
export function kafkaJarsCached(dir: string): boolean {
  const marker = join(dir, 'complete.sha256');
  return existsSync(marker) && readFileSync(marker, 'utf8').trim() === pomDigest().digest;
}

/**
 * Makes sure the Kafka broker jars are cached under `dir`. The cache is keyed by a digest
 * of the pom: when it matches, nothing runs and the network is never touched.
 */
export async function ensureKafkaJars(
  dir: string,
  options: { env?: NodeJS.ProcessEnv; onProgress?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<KafkaJars> {
  const pomPath = infraAsset('pom.xml');
  const { version, digest } = pomDigest();
  const libs = join(dir, 'libs');
  const marker = join(dir, 'complete.sha256');
  if (kafkaJarsCached(dir)) return { libs, version, fetched: false };
  options.signal?.throwIfAborted();

  const mvn = requireMaven(options.env);
  rmSync(libs, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  options.onProgress?.(`fetching Apache Kafka ${version} broker jars from Maven Central (first start only)`);

  const child = spawn(
    mvn,
    ['-B', '-f', pomPath, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
    // Aborting (Ctrl-C while it runs) ends mvn; the caller is stopping anyway.
    { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal },
  );
  const tail: string[] = [];
  let downloaded = 0;
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    if (/^\[INFO\] Downloaded from /.test(line)) {
      downloaded++;
      if (downloaded % 10 === 0) options.onProgress?.(`  ${downloaded} files downloaded`);
    }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) {
    const reason = tail
      .filter((l) => /ERROR|Could not|refused|resolve/i.test(l))
      .slice(0, 3)
      .join(' | ');
    throw new Error(`mvn could not fetch the Kafka jars (exit ${code}): ${reason || tail.slice(-3).join(' | ')}`);
  }

  const jars = readdirSync(libs);
  for (const needed of [`kafka_2.13-${version}.jar`, `kafka-tools-${version}.jar`, 'reload4j-', 'slf4j-reload4j-']) {
    if (!jars.some((jar) => jar.startsWith(needed))) throw new Error(`mvn did not bring ${needed}* into ${libs}`);
  }
  writeFileSync(marker, `${digest}\n`);
  options.onProgress?.(`Kafka ${version}: ${jars.length} jars cached in ${libs}`);
  return { libs, version, fetched: true };
}
