import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, PrerequisiteMissing, requireJava, requireRedisServer } from './prerequisites';

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
});
