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

/**
 * The system tools of this project, the Debian package of each and what needs it: the one
 * list that `lastmeter doctor` (before `npm start` / `npm test`, and in CI) installs from and
 * the `require*` checks below name.
 */
export const TOOLS = {
  java: { debianPackage: 'openjdk-17-jre-headless', neededFor: 'the local Kafka broker runs on Java 17+' },
  javac: {
    debianPackage: 'openjdk-17-jdk-headless',
    neededFor: 'the native client test builds its socket.io-client-java program',
  },
  mvn: { debianPackage: 'maven', neededFor: 'it fetches the Kafka broker jars once' },
  'redis-server': { debianPackage: 'redis-server', neededFor: 'the local Redis' },
  chromium: { debianPackage: 'chromium', neededFor: 'browser tests drive it' },
  haproxy: { debianPackage: 'haproxy', neededFor: 'the cluster profile balances the gateways and command services' },
  promtool: {
    debianPackage: 'prometheus',
    neededFor: 'the observability test checks the alert rules in ops/prometheus',
  },
  kcat: { debianPackage: 'kcat', neededFor: 'the Kafka tools test reads every topic as docs/operations.md shows' },
} as const;

export type Tool = keyof typeof TOOLS;

/** What the tools are checked for: `npm start` (`lastmeter start`) or `npm test`. */
export type Purpose = 'start' | 'test';

/** Debian's Chromium, unless LASTMETER_CHROMIUM names another binary. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.LASTMETER_CHROMIUM || DEFAULT_CHROMIUM;
}

/** How the machine is looked at; tests pass their own. */
export interface Probes {
  /** An executable on PATH, as a shell would find it. */
  which(name: string): string | undefined;
  /** The file exists and may be executed. */
  isExecutable(path: string): boolean;
  /** The major version `<java> -version` reports (8 for 1.8), undefined when it does not run. */
  javaMajor(java: string): number | undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks an executable up on PATH the way a shell would. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** Parses `java -version` output: `version "17.0.2"` → 17, `version "1.8.0_392"` → 8. */
export function parseJavaMajor(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) return undefined;
  return match[1] === '1' ? Number(match[2]) : Number(match[1]);
}

export function systemProbes(env: NodeJS.ProcessEnv = process.env): Probes {
  return {
    which: (name) => findExecutable(name, env),
    isExecutable: executable,
    javaMajor: (java) => {
      const probe = spawnSync(java, ['-version'], { encoding: 'utf8', env, timeout: 30_000 });
      if (probe.status !== 0) return undefined;
      return parseJavaMajor(`${probe.stderr}${probe.stdout}`);
    },
  };
}

/** What is wrong with one tool, in words, and the package that fixes it when one can. */
export interface Finding {
  tool: Tool;
  /** e.g. `chromium is missing (browser tests drive it)` */
  problem: string;
  /** Absent when only a setting of the user's can fix it (JAVA_HOME, LASTMETER_CHROMIUM). */
  debianPackage?: string;
  /** What to change instead of installing, when no package applies. */
  remedy?: string;
}

/** JAVA_HOME's java when JAVA_HOME is set, else the one on PATH. */
export function locateJava(env: NodeJS.ProcessEnv, probes: Probes): string | undefined {
  return env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : probes.which('java');
}

export function checkTool(tool: Tool, env: NodeJS.ProcessEnv, probes: Probes): Finding | undefined {
  const { debianPackage, neededFor } = TOOLS[tool];
  switch (tool) {
    case 'java': {
      const java = locateJava(env, probes);
      if (env.JAVA_HOME && (!java || !probes.isExecutable(java))) {
        return {
          tool,
          problem: `JAVA_HOME=${env.JAVA_HOME} has no bin/java (${neededFor})`,
          remedy: 'point JAVA_HOME at a Java 17+ or unset it',
        };
      }
      if (!java) return { tool, problem: `java is missing (${neededFor})`, debianPackage };
      const major = probes.javaMajor(java);
      if (major !== undefined && major >= 17) return undefined;
      const found = `${java} is Java ${major ?? '(unknown version)'}`;
      return env.JAVA_HOME
        ? { tool, problem: `${found} (${neededFor})`, remedy: 'point JAVA_HOME at a Java 17+ or unset it' }
        : { tool, problem: `${found} (${neededFor})`, debianPackage };
    }
    case 'chromium': {
      const path = chromiumPath(env);
      if (probes.isExecutable(path)) return undefined;
      return env.LASTMETER_CHROMIUM
        ? {
            tool,
            problem: `LASTMETER_CHROMIUM=${path} is not an executable (${neededFor})`,
            remedy: `fix it or unset it to use ${DEFAULT_CHROMIUM}`,
          }
        : { tool, problem: `chromium is missing (${neededFor})`, debianPackage };
    }
    default:
      return probes.which(tool) ? undefined : { tool, problem: `${tool} is missing (${neededFor})`, debianPackage };
  }
}

/**
 * The tools `npm start` or `npm test` needs on this machine.
 *
 * - start: java and mvn unless KAFKA_BROKERS names a Kafka (mvn only while the jar cache
 *   is not filled), redis-server unless REDIS_URL names a Redis. No Chromium.
 * - test: all of them, whatever the environment: besides the shared Kafka and Redis (which
 *   KAFKA_BROKERS / REDIS_URL may provide), some suites start their own broker and
 *   redis-server, run the CLI with exactly java, mvn and redis-server on PATH, drive
 *   Chromium, and build and run a socket.io-client-java program (javac: a JDK, not only a
 *   JRE), put HAProxy in front of the cluster profile, and check the alert rules with
 *   promtool, and read the topics with kcat. A missing tool fails `npm test`
 *   here instead of skipping those suites.
 */
export function toolsNeeded(purpose: Purpose, env: NodeJS.ProcessEnv, kafkaJarsCached: boolean): Tool[] {
  if (purpose === 'test') return ['java', 'javac', 'mvn', 'redis-server', 'chromium', 'haproxy', 'promtool', 'kcat'];
  const tools: Tool[] = [];
  if (!env.KAFKA_BROKERS) {
    tools.push('java');
    if (!kafkaJarsCached) tools.push('mvn');
  }
  if (!env.REDIS_URL) tools.push('redis-server');
  return tools;
}

const KAFKA_ALTERNATIVES = 'or run `docker compose up`, or set KAFKA_BROKERS=host:port to use an existing Kafka 3.9';

export function requireJava(env: NodeJS.ProcessEnv = process.env): string {
  const probes = systemProbes(env);
  const java = locateJava(env, probes);
  const install = `install Java 17+ (Debian: apt-get install ${TOOLS.java.debianPackage})`;
  if (!java)
    throw new PrerequisiteMissing(
      `java not found: the local Kafka broker needs Java 17+; ${install}, ${KAFKA_ALTERNATIVES}`,
    );
  const major = probes.javaMajor(java);
  if (major === undefined || major < 17) {
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
      `mvn not found: the first start fetches the Kafka broker from Maven Central; install Maven (Debian: apt-get install ${TOOLS.mvn.debianPackage}), ${KAFKA_ALTERNATIVES}`,
    );
  }
  return mvn;
}

export function requireRedisServer(env: NodeJS.ProcessEnv = process.env): string {
  const redis = findExecutable('redis-server', env);
  if (!redis) {
    throw new PrerequisiteMissing(
      `redis-server not found: install it (Debian: apt-get install ${TOOLS['redis-server'].debianPackage}), or run \`docker compose up\`, or set REDIS_URL=redis://host:port to use an existing Redis`,
    );
  }
  return redis;
}

export function requireHaproxy(env: NodeJS.ProcessEnv = process.env): string {
  const haproxy = findExecutable('haproxy', env);
  if (!haproxy) {
    throw new PrerequisiteMissing(
      `haproxy not found: the cluster profile puts it in front of the gateways and command services; install it (Debian: apt-get install ${TOOLS.haproxy.debianPackage})`,
    );
  }
  return haproxy;
}
