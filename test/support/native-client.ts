import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { findExecutable } from '@lastmeter/infra';

/**
 * The native tablet client of the e2e tests: socket.io-client-java (test/native/java),
 * the Socket.IO library of Android apps, built with Maven and run as a child process
 * that takes JSON commands on stdin and prints one JSON line per event.
 */
export const NATIVE_CLIENT_DIR = join(__dirname, '..', 'native', 'java');
const TARGET = join(NATIVE_CLIENT_DIR, 'target');
const MARKER = join(TARGET, 'lastmeter-build.sha256');
const MAIN_CLASS = 'lastmeter.nativeclient.NativeTerminal';

/** One line to show when a tool is missing: the suite fails, it never passes by not running. */
function missing(tool: string, why: string, debianPackage: string): Error {
  return new Error(`${tool} not found: ${why}; install it with \`apt-get install ${debianPackage}\``);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? sources(path) : [path];
    })
    .sort();
}

/** A digest of what the build reads: the pom and every source file. */
function sourceDigest(): string {
  const hash = createHash('sha256');
  for (const file of [join(NATIVE_CLIENT_DIR, 'pom.xml'), ...sources(join(NATIVE_CLIENT_DIR, 'src'))]) {
    hash.update(relative(NATIVE_CLIENT_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: NATIVE_CLIENT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function javac(): string | undefined {
  const fromHome = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'javac') : undefined;
  return fromHome && existsSync(fromHome) ? fromHome : findExecutable('javac');
}

/**
 * Builds the native client once and returns the `java` to run it with and its classpath.
 * The build output (target/, git-ignored) is kept with a digest of the sources: when it
 * matches, Maven does not run at all. Otherwise `mvn -q -o package` (everything in the
 * local repository already), else `mvn -q package` (fetches from Maven Central once).
 */
export async function buildNativeClient(): Promise<{ java: string; classpath: string }> {
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : findExecutable('java');
  if (!java || !existsSync(java))
    throw missing('java', 'the native client test runs socket.io-client-java on Java 17+', 'openjdk-17-jdk-headless');
  const classpath = [join(TARGET, 'native-terminal.jar'), join(TARGET, 'lib', '*')].join(delimiter);
  const digest = sourceDigest();
  const built =
    existsSync(MARKER) &&
    readFileSync(MARKER, 'utf8').trim() === digest &&
    existsSync(join(TARGET, 'native-terminal.jar')) &&
    statSync(join(TARGET, 'lib')).isDirectory();
  if (built) return { java, classpath };

  const mvn = findExecutable('mvn');
  if (!mvn) throw missing('mvn', 'the native client test builds socket.io-client-java with Maven', 'maven');
  if (!javac())
    throw missing(
      'javac',
      'building the native client test needs a JDK 17+, not only a JRE',
      'openjdk-17-jdk-headless',
    );
  let result = await run(mvn, ['-B', '-q', '-o', 'package']);
  if (result.code !== 0) result = await run(mvn, ['-B', '-q', 'package']);
  if (result.code !== 0) {
    const errors = result.output
      .split('\n')
      .filter((line) => /ERROR/.test(line))
      .slice(0, 3)
      .join(' | ');
    throw new Error(`mvn could not build the native client in ${NATIVE_CLIENT_DIR} (exit ${result.code}): ${errors}`);
  }
  writeFileSync(MARKER, `${digest}\n`);
  return { java, classpath };
}

/** A line the native client printed: `{ event, data?, feedSeq?, id?, reason? }`. */
export interface NativeEvent {
  event: string;
  data?: unknown;
  feedSeq?: number;
  id?: string;
  reason?: string;
  message?: string;
}

/** One running native client (a JVM), driven by commands, recording what it prints. */
export class NativeTerminal {
  readonly events: NativeEvent[] = [];
  /** Lines that were not JSON events (the JVM's or the library's own output). */
  readonly other: string[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(java: string, classpath: string, gatewayUrl: string) {
    this.child = spawn(java, ['-cp', classpath, MAIN_CLASS, gatewayUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as NativeEvent);
      } catch {
        this.other.push(line);
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.other.push(line));
  }

  /** Sends one command (see NativeTerminal.java). */
  command(command: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Connects with this auth: strings only, as the Java library takes it. */
  connect(auth: Record<string, string>): void {
    this.command({ cmd: 'connect', auth });
  }

  /** The same socket connects again (after a refusal), its auth map's values replaced by `auth` if given. */
  reconnect(auth?: Record<string, string>): void {
    this.command({ cmd: 'reconnect', ...(auth ? { auth } : {}) });
  }

  disconnect(): void {
    this.command({ cmd: 'disconnect' });
  }

  emit(id: string, event: string, payload: object): void {
    this.command({ cmd: 'emit', id, event, payload });
  }

  /** The events printed since `from` (an index into `events`). */
  since(from: number): NativeEvent[] {
    return this.events.slice(from);
  }

  /** What it printed besides events, for failure messages. */
  diagnostics(): string {
    return this.other.slice(-20).join('\n');
  }

  /** Quits (and kills it if it does not exit within 5 s). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.command({ cmd: 'quit' });
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
