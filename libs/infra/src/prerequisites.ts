import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * A tool the local infrastructure needs is missing. `message` is the one line shown to
 * the user: what to install, and how to do without it.
 */
export class PrerequisiteMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrerequisiteMissing';
  }
}

const KAFKA_ALTERNATIVES = 'or run `docker compose up`, or set KAFKA_BROKERS=host:port to use an existing Kafka 3.9';

/** Looks an executable up on PATH the way a shell would. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function requireJava(env: NodeJS.ProcessEnv = process.env): string {
  const java = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : findExecutable('java', env);
  const install = 'install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)';
  if (!java)
    throw new PrerequisiteMissing(
      `java not found: the local Kafka broker needs Java 17+; ${install}, ${KAFKA_ALTERNATIVES}`,
    );
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8', env });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${probe.stderr}${probe.stdout}`);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : 0;
  if (probe.status !== 0 || major < 17) {
    throw new PrerequisiteMissing(
      `${java} is not Java 17+ (found ${major || 'unknown'}); ${install}, ${KAFKA_ALTERNATIVES}`,
    );
  }
  return java;
}

export function requireMaven(env: NodeJS.ProcessEnv = process.env): string {
  const mvn = findExecutable('mvn', env);
  if (!mvn) {
    throw new PrerequisiteMissing(
      `mvn not found: the first start fetches the Kafka broker from Maven Central; install Maven (Debian: apt-get install maven), ${KAFKA_ALTERNATIVES}`,
    );
  }
  return mvn;
}

export function requireRedisServer(env: NodeJS.ProcessEnv = process.env): string {
  const redis = findExecutable('redis-server', env);
  if (!redis) {
    throw new PrerequisiteMissing(
      'redis-server not found: install it (Debian: apt-get install redis-server), or run `docker compose up`, or set REDIS_URL=redis://host:port to use an existing Redis',
    );
  }
  return redis;
}
