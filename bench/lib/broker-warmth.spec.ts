import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { compilerCpuMs, COMPILERS_NICE, quietCompilers, warmBroker } from './broker-warmth';

describe('compilerCpuMs', () => {
  it('is undefined without a pid, or for a process that is gone', () => {
    expect(compilerCpuMs(undefined)).toBeUndefined();
    expect(compilerCpuMs(2 ** 22 + 1)).toBeUndefined();
  });

  it('counts only JIT compiler threads: none in a Node process', () => {
    expect(compilerCpuMs(process.pid)).toBe(0);
  });

  it("reads a JVM's C1/C2 compiler threads", async () => {
    // A JVM that compiles something hot for a moment, then sleeps while we read it.
    const jvm = spawn('jshell', ['-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      jvm.stdin.write(
        'long s = 0; for (int i = 0; i < 50_000_000; i++) s += Long.hashCode(i * 31L);\nThread.sleep(60_000);\n',
      );
      let ms = 0;
      for (let i = 0; i < 100 && !(ms > 0); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        ms = compilerCpuMs(jvm.pid) ?? 0;
      }
      expect(ms).toBeGreaterThan(0);
    } finally {
      jvm.kill('SIGKILL');
    }
  }, 30_000);
});

describe('warmBroker', () => {
  it('sends every id in blocks when the broker cannot be read, and says it did not settle', async () => {
    const sent: string[] = [];
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const warmth = await warmBroker(undefined, ids, async (id) => void sent.push(id), { block: 4, concurrency: 2 });
    // Whole blocks only: 2 × 4 of the 10.
    expect(warmth).toEqual({ publishes: 8, lastBlockMsPerPublish: undefined, settled: false });
    expect(sent.sort()).toEqual(ids.slice(0, 8).sort());
  });

  it('stops after two quiet blocks in a row when the compilers are idle', async () => {
    // This Node process has no compiler threads: every block costs 0 ms.
    const sent: string[] = [];
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const warmth = await warmBroker(process.pid, ids, async (id) => void sent.push(id), { block: 3 });
    expect(warmth).toEqual({ publishes: 6, lastBlockMsPerPublish: 0, settled: true });
    expect(sent).toHaveLength(6);
  });
});

describe('quietCompilers', () => {
  /** The nice value of each of the JVM's C1/C2 compiler threads. */
  const compilerNices = (pid: number) =>
    readdirSync(`/proc/${pid}/task`)
      .filter((tid) => /^C[12] Compiler/.test(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8')))
      .map((tid) => getPriority(Number(tid)));

  it("runs a JVM's compiler threads at the lowest priority, its other threads as they were, until stopped", async () => {
    const jvm = spawn('jshell', ['-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      jvm.stdin.write('Thread.sleep(60_000);\n');
      let before: number[] = [];
      for (let i = 0; i < 100 && before.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        before = compilerNices(jvm.pid!);
      }
      expect(before.length).toBeGreaterThan(0);
      expect(before.every((nice) => nice === 0)).toBe(true);
      // Off: nothing changes.
      process.env.BENCH_QUIET_COMPILERS = '0';
      try {
        quietCompilers(jvm.pid);
      } finally {
        delete process.env.BENCH_QUIET_COMPILERS;
      }
      expect(compilerNices(jvm.pid!)).toEqual(before);
      const stop = quietCompilers(jvm.pid);
      expect(compilerNices(jvm.pid!).every((nice) => nice === COMPILERS_NICE)).toBe(true);
      expect(getPriority(jvm.pid!)).toBe(0);
      stop();
      // Back (raising a priority again takes root, as CI runs).
      const after = process.getuid?.() === 0 ? 0 : COMPILERS_NICE;
      expect(compilerNices(jvm.pid!).every((nice) => nice === after)).toBe(true);
    } finally {
      jvm.kill('SIGKILL');
    }
  }, 30_000);

  it('does nothing without a pid (an external broker)', () => {
    expect(() => quietCompilers(undefined)()).not.toThrow();
  });
});
