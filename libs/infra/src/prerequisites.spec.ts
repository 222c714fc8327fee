import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findExecutable,
  parseJavaMajor,
  PrerequisiteMissing,
  requireJava,
  requireRedisServer,
  systemProbes,
} from './prerequisites';

describe('prerequisites', () => {
  const dirWith = (name: string, script: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'lm-path-'));
    writeFileSync(join(dir, name), `#!/bin/sh\n${script}\n`);
    chmodSync(join(dir, name), 0o755);
    return dir;
  };

  it('finds executables on PATH only', () => {
    const dir = dirWith('redis-server', 'exit 0');
    expect(findExecutable('redis-server', { PATH: `/nonexistent:${dir}` })).toBe(join(dir, 'redis-server'));
    expect(findExecutable('redis-server', { PATH: '/nonexistent' })).toBeUndefined();
    expect(requireRedisServer({ PATH: dir })).toBe(join(dir, 'redis-server'));
  });

  it('refuses a Java older than 17 in one line', () => {
    const dir = dirWith('java', 'echo \'openjdk version "11.0.2" 2019-01-15\' >&2');
    expect(() => requireJava({ PATH: dir })).toThrow(PrerequisiteMissing);
    expect(() => requireJava({ PATH: dir })).toThrow(/is not Java 17\+ \(found 11\).*docker compose up/);
  });

  it('accepts Java 17 and later', () => {
    const dir = dirWith('java', 'echo \'openjdk version "21.0.1" 2023-10-17\' >&2');
    expect(requireJava({ PATH: dir })).toBe(join(dir, 'java'));
  });

  it('reads the major version of old and new java -version formats', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajor('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaMajor('openjdk version "21" 2023-09-19')).toBe(21);
    expect(parseJavaMajor('no java here')).toBeUndefined();
    const dir = dirWith('java', 'exit 3');
    expect(systemProbes({ PATH: dir }).javaMajor(join(dir, 'java'))).toBeUndefined();
  });
});
