import type { Probes } from '@lastmeter/infra';
import { DoctorFailure, runDoctor, type AptResult, type DoctorDeps } from './doctor';

/** A machine: the executables it has (name → path) and the Java version it reports. */
function machine(tools: string[], javaMajor = 17): { probes: Probes; installed: Set<string> } {
  const installed = new Set(tools);
  const path = (name: string) => (name === 'chromium' ? '/usr/bin/chromium' : `/usr/bin/${name}`);
  return {
    installed,
    probes: {
      which: (name) => (installed.has(name) ? path(name) : undefined),
      isExecutable: (file) => [...installed].some((name) => path(name) === file),
      javaMajor: () => javaMajor,
    },
  };
}

const PACKAGE_TOOLS: Record<string, string[]> = {
  'openjdk-17-jre-headless': ['java'],
  'openjdk-17-jdk-headless': ['java', 'javac'],
  maven: ['mvn'],
  'redis-server': ['redis-server'],
  chromium: ['chromium'],
  haproxy: ['haproxy'],
  prometheus: ['promtool'],
  kcat: ['kcat'],
};

function doctor(overrides: Partial<DoctorDeps> & { tools: string[]; javaMajor?: number }) {
  const { probes, installed } = machine(overrides.tools, overrides.javaMajor);
  const apt: string[][] = [];
  const said: string[] = [];
  const deps: DoctorDeps = {
    env: {},
    probes,
    uid: 1000,
    kafkaJarsCached: false,
    // A fake apt-get: `install` puts the packages' executables on the machine.
    aptGet: (args): Promise<AptResult> => {
      apt.push(args);
      if (args[0] === 'install') for (const pkg of args.slice(1)) PACKAGE_TOOLS[pkg]?.forEach((t) => installed.add(t));
      return Promise.resolve({ code: 0, output: '' });
    },
    say: (line) => said.push(line),
    ...overrides,
  };
  return { run: (purpose: 'start' | 'test') => runDoctor(purpose, deps), apt, said };
}

const ALL = ['java', 'javac', 'mvn', 'redis-server', 'chromium', 'haproxy', 'promtool', 'kcat', 'apt-get'];

describe('lastmeter doctor', () => {
  it('passes when everything is there, installing nothing', async () => {
    const d = doctor({ tools: ALL });
    await expect(d.run('test')).resolves.toBe(
      'ready for npm test: java, javac, mvn, redis-server, chromium, haproxy, promtool, kcat found',
    );
    await expect(d.run('start')).resolves.toBe('ready for npm start: java, mvn, redis-server found');
    expect(d.apt).toEqual([]);
    expect(d.said).toEqual([]);
  });

  it('as root, installs what is missing with apt-get: one update, one install of the right packages', async () => {
    const d = doctor({ tools: ['redis-server', 'apt-get'], uid: 0 });
    await expect(d.run('test')).resolves.toMatch(/^ready for npm test/);
    expect(d.apt).toEqual([
      ['update', '-qq'],
      [
        'install',
        '-y',
        '-qq',
        '--no-install-recommends',
        'openjdk-17-jre-headless',
        'openjdk-17-jdk-headless',
        'maven',
        'chromium',
        'haproxy',
        'prometheus',
        'kcat',
      ],
    ]);
    expect(d.said).toEqual([
      expect.stringMatching(
        /^installing openjdk-17-jre-headless openjdk-17-jdk-headless maven chromium haproxy prometheus kcat with apt-get/,
      ),
    ]);
  });

  it('as root, replaces a Java older than 17', async () => {
    const d = doctor({ tools: ALL, javaMajor: 11, uid: 0 });
    // The fake install does not change the version on PATH: the doctor says so in one line.
    await expect(d.run('start')).rejects.toThrow(
      /Java 11 .*even after apt-get install openjdk-17-jre-headless: choose Java 17 with `update-alternatives/,
    );
    expect(d.apt[1]).toEqual(['install', '-y', '-qq', '--no-install-recommends', 'openjdk-17-jre-headless']);
  });

  it('as root, a failing apt-get is one line with its error', async () => {
    const d = doctor({
      tools: ALL.filter((t) => t !== 'chromium'),
      uid: 0,
      aptGet: (args) =>
        Promise.resolve(
          args[0] === 'update'
            ? { code: 0, output: '' }
            : { code: 100, output: 'Reading package lists...\nE: Unable to locate package chromium\n' },
        ),
    });
    await expect(d.run('test')).rejects.toThrow(
      new DoctorFailure('apt-get install chromium failed (exit 100): E: Unable to locate package chromium'),
    );
  });

  it('as another user, stops with one line naming the install command, and installs nothing', async () => {
    const d = doctor({ tools: ALL.filter((t) => t !== 'chromium') });
    const failure = (await d.run('test').then(
      () => undefined,
      (error: unknown) => error,
    )) as Error;
    expect(failure).toBeInstanceOf(DoctorFailure);
    expect(failure.message).toBe(
      'chromium is missing (browser tests drive it): install it with: sudo apt-get install chromium',
    );
    expect(failure.message).not.toContain('\n');
    expect(d.apt).toEqual([]);

    const two = doctor({ tools: ['mvn', 'chromium', 'apt-get'] });
    await expect(two.run('start')).rejects.toThrow(
      'java is missing (the local Kafka broker runs on Java 17+); redis-server is missing (the local Redis): ' +
        'install them with: sudo apt-get install openjdk-17-jre-headless redis-server, ' +
        'or set KAFKA_BROKERS=host:port and REDIS_URL=redis://host:port to use running ones',
    );
  });

  it('without apt-get, names the Debian command as a hint', async () => {
    const d = doctor({ tools: ['java', 'javac', 'mvn', 'chromium', 'haproxy', 'promtool', 'kcat'], uid: 0 });
    await expect(d.run('test')).rejects.toThrow(
      'redis-server is missing (the local Redis): install it (Debian: apt-get install redis-server)',
    );
    expect(d.apt).toEqual([]);
  });

  it('npm start needs no Chromium', async () => {
    const d = doctor({ tools: ['java', 'mvn', 'redis-server'] });
    await expect(d.run('start')).resolves.toBe('ready for npm start: java, mvn, redis-server found');
    await expect(d.run('test')).rejects.toThrow(/chromium is missing/);
  });

  it('skips for npm start what the environment makes unnecessary', async () => {
    // KAFKA_BROKERS: no local broker, so no java and no mvn.
    const external = doctor({ tools: ['redis-server'], env: { KAFKA_BROKERS: 'kafka:9092' } });
    await expect(external.run('start')).resolves.toBe(
      'ready for npm start: redis-server found (KAFKA_BROKERS set: no java or mvn needed)',
    );
    // REDIS_URL as well: nothing to check at all.
    const both = doctor({ tools: [], env: { KAFKA_BROKERS: 'kafka:9092', REDIS_URL: 'redis://r:6379' } });
    await expect(both.run('start')).resolves.toMatch(/^ready for npm start: nothing to check/);
    // A filled jar cache: no mvn.
    const cached = doctor({ tools: ['java', 'redis-server'], kafkaJarsCached: true });
    await expect(cached.run('start')).resolves.toBe(
      'ready for npm start: java, redis-server found (Kafka jars cached: no mvn needed)',
    );
  });

  it('checks everything for npm test, whatever the environment (suites start their own broker and Redis)', async () => {
    const d = doctor({
      tools: ['redis-server', 'chromium', 'haproxy', 'promtool', 'kcat', 'apt-get'],
      env: { KAFKA_BROKERS: 'kafka:9092', REDIS_URL: 'redis://r:6379' },
      kafkaJarsCached: true,
    });
    await expect(d.run('test')).rejects.toThrow(
      /^java is missing .*; javac is missing .*; mvn is missing .*: install them with: sudo apt-get install openjdk-17-jre-headless openjdk-17-jdk-headless maven$/,
    );
  });

  it('settings only the user can fix are named, never "fixed" by installing', async () => {
    const d = doctor({ tools: ALL, uid: 0, env: { LASTMETER_CHROMIUM: '/opt/chrome/missing' } });
    await expect(d.run('test')).rejects.toThrow(
      'LASTMETER_CHROMIUM=/opt/chrome/missing is not an executable (browser tests drive it): fix it or unset it to use /usr/bin/chromium',
    );
    const java = doctor({ tools: ALL, uid: 0, env: { JAVA_HOME: '/opt/jdk8' } });
    await expect(java.run('start')).rejects.toThrow(
      /^JAVA_HOME=\/opt\/jdk8 has no bin\/java .*: point JAVA_HOME at a Java 17\+/,
    );
    expect(d.apt).toEqual([]);
    expect(java.apt).toEqual([]);
  });
});
