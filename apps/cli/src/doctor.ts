import { spawn } from 'node:child_process';
import { checkTool, type Finding, type Probes, type Purpose, type Tool, toolsNeeded } from '@lastmeter/infra';

/** The doctor could not make the machine ready; `message` is the one line to show. */
export class DoctorFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DoctorFailure';
  }
}

export interface AptResult {
  code: number | null;
  output: string;
}

export interface DoctorDeps {
  env: NodeJS.ProcessEnv;
  probes: Probes;
  /** process.getuid(); undefined where there is none (Windows). */
  uid: number | undefined;
  /** The Kafka jar cache is filled: `npm start` needs no mvn. */
  kafkaJarsCached: boolean;
  /** Runs `apt-get <args>` (non-interactive), output captured. */
  aptGet: (args: string[]) => Promise<AptResult>;
  /** One line of progress. */
  say: (line: string) => void;
}

const WHAT_INSTEAD: Partial<Record<Tool, string>> = {
  java: 'KAFKA_BROKERS=host:port',
  mvn: 'KAFKA_BROKERS=host:port',
  'redis-server': 'REDIS_URL=redis://host:port',
};

/**
 * Checks the system tools `npm start` or `npm test` needs (see toolsNeeded) and, as root
 * with apt-get, installs the missing ones (one `apt-get update`, one `apt-get install`).
 * Otherwise it fails with one line naming the install command. Resolves with a one-line
 * summary of what was found.
 */
export async function runDoctor(purpose: Purpose, deps: DoctorDeps): Promise<string> {
  const tools = toolsNeeded(purpose, deps.env, deps.kafkaJarsCached);
  const check = () => tools.map((tool) => checkTool(tool, deps.env, deps.probes)).filter((f) => f !== undefined);
  let findings = check();
  if (findings.length === 0) return summary(purpose, tools, deps);

  const apt = deps.probes.which('apt-get');
  const packages = [...new Set(findings.flatMap((f) => (f.debianPackage ? [f.debianPackage] : [])))];
  const unfixable = findings.filter((f) => !f.debianPackage);
  if (unfixable.length > 0 || deps.uid !== 0 || !apt || packages.length === 0) {
    throw new DoctorFailure(advice(purpose, findings, Boolean(apt), deps.uid === 0));
  }

  deps.say(
    `installing ${packages.join(' ')} with apt-get (${findings.map((f) => f.tool).join(', ')} missing; this can take a few minutes)`,
  );
  const update = await deps.aptGet(['update', '-qq']);
  if (update.code !== 0) throw new DoctorFailure(`apt-get update failed (exit ${update.code}): ${lastLine(update)}`);
  const install = await deps.aptGet(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  if (install.code !== 0) {
    throw new DoctorFailure(
      `apt-get install ${packages.join(' ')} failed (exit ${install.code}): ${lastLine(install)}`,
    );
  }
  findings = check();
  if (findings.length > 0) {
    throw new DoctorFailure(
      `${findings.map((f) => f.problem).join('; ')}, even after apt-get install ${packages.join(' ')}` +
        (findings.some((f) => f.tool === 'java')
          ? ': choose Java 17 with `update-alternatives --config java` or set JAVA_HOME'
          : ''),
    );
  }
  return summary(purpose, tools, deps);
}

/** One line: every problem, then one install command for all of them. */
function advice(purpose: Purpose, findings: Finding[], hasApt: boolean, root: boolean): string {
  const packages = [...new Set(findings.flatMap((f) => (f.debianPackage ? [f.debianPackage] : [])))];
  const parts = [findings.map((f) => (f.remedy ? `${f.problem}: ${f.remedy}` : f.problem)).join('; ')];
  if (packages.length > 0) {
    const command = `${root ? '' : 'sudo '}apt-get install ${packages.join(' ')}`;
    const them = findings.filter((f) => f.debianPackage).length > 1 ? 'them' : 'it';
    let line = hasApt ? `install ${them} with: ${command}` : `install ${them} (Debian: ${command})`;
    const instead = [...new Set(findings.flatMap((f) => (WHAT_INSTEAD[f.tool] ? [WHAT_INSTEAD[f.tool]!] : [])))];
    if (purpose === 'start' && instead.length > 0) line += `, or set ${instead.join(' and ')} to use running ones`;
    parts.push(line);
  }
  return parts.join(': ');
}

function summary(purpose: Purpose, tools: Tool[], deps: DoctorDeps): string {
  const skipped: string[] = [];
  if (purpose === 'start') {
    if (deps.env.KAFKA_BROKERS) skipped.push('KAFKA_BROKERS set: no java or mvn needed');
    else if (deps.kafkaJarsCached) skipped.push('Kafka jars cached: no mvn needed');
    if (deps.env.REDIS_URL) skipped.push('REDIS_URL set: no redis-server needed');
  }
  const found = tools.length > 0 ? `${tools.join(', ')} found` : 'nothing to check';
  return `ready for npm ${purpose}: ${found}${skipped.length > 0 ? ` (${skipped.join('; ')})` : ''}`;
}

function lastLine({ output }: AptResult): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.filter((l) => /^E:/.test(l)).join(' ') || lines.at(-1) || 'no output';
}

/** The real apt-get: non-interactive, output kept for the error line. */
export function aptGet(args: string[]): Promise<AptResult> {
  return new Promise((resolve) => {
    const child = spawn('apt-get', args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => resolve({ code: null, output: error.message }));
    child.once('close', (code) => resolve({ code, output }));
  });
}
