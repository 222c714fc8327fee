import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from '@lastmeter/infra';
import { requireEnv } from './env';

export const CLI = join(__dirname, '..', '..', 'dist', 'apps', 'cli', 'src', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lastmeter <args>` as a user would, with exactly the given environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lastmeter ${args.join(' ')} took over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A PATH holding only the named tools (symlinked from the real PATH), to show what the
 * CLI does when java, mvn or redis-server is not installed.
 */
export function pathWith(tools: string[]): string {
  const dir = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'bin-'));
  mkdirSync(dir, { recursive: true });
  for (const tool of tools) {
    const real = findExecutable(tool);
    if (!real) throw new Error(`${tool} is needed on this machine for this test`);
    symlinkSync(real, join(dir, tool));
  }
  return dir;
}
