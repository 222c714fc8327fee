/**
 * What a failed e2e test reports of the app processes its suite started: their warnings
 * and errors since the test began, and each app's last lines. A CI run keeps no app logs
 * (LASTMETER_TEST_APP_LOGS is for local runs), so without this a failure that depends on
 * what an app did (a projector that fell behind, a consumer that rebalanced) says only
 * what the test saw. The e2e environment (test/setup/e2e-environment.ts) adds it to the
 * failed test's errors.
 */

/** An app process as the digest sees it (RunningApp, test/support/apps.ts). */
export interface DigestedApp {
  name: string;
  pid: number | undefined;
  output: readonly string[];
  /** Exit code or signal once it has ended. */
  ended(): string | undefined;
}

/** Where apps.ts registers the apps a suite starts (the suite's global, which the environment shares). */
export const SUITE_APPS = '__lastmeterSuiteApps';

const WARN = 40;
const MAX_NOTABLE_PER_APP = 12;
const TAIL_PER_APP = 3;
const MAX_LINE = 300;

interface LogLine {
  level?: number;
  time?: number;
  context?: string;
  msg?: string;
  err?: { message?: string };
}

function parse(line: string): LogLine | undefined {
  try {
    const parsed = JSON.parse(line) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function render(line: string, parsed: LogLine | undefined): string {
  const text = parsed
    ? [
        parsed.time !== undefined ? new Date(parsed.time).toISOString().slice(11, 23) : '',
        LEVELS[parsed.level ?? 0] ?? String(parsed.level),
        parsed.context ? `[${parsed.context}]` : '',
        parsed.msg ?? '',
        parsed.err?.message ? `(${parsed.err.message})` : '',
      ]
        .filter(Boolean)
        .join(' ')
    : line;
  return text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text;
}

/**
 * The digest of `apps` for a test that began at `since` (epoch ms): per app, its
 * warnings and errors logged since then (the last MAX_NOTABLE_PER_APP) and its last
 * lines, whatever their level. Undefined when no app was started.
 */
export function appDigest(apps: readonly DigestedApp[], since: number): string | undefined {
  if (apps.length === 0) return undefined;
  const sections = apps.map((app) => {
    const lines = app.output.map((line) => ({ line, parsed: parse(line) }));
    const recent = lines.filter(({ parsed }) => parsed?.time === undefined || parsed.time >= since);
    const notable = recent.filter(({ parsed }) => (parsed?.level ?? WARN) >= WARN).slice(-MAX_NOTABLE_PER_APP);
    const tail = lines.slice(-TAIL_PER_APP).filter((entry) => !notable.includes(entry));
    const ended = app.ended();
    const header = `${app.name} (pid ${app.pid ?? '?'}${ended ? `, ended: ${ended}` : ''}): ${notable.length} warnings or errors during the test`;
    return [
      header,
      ...notable.map(({ line, parsed }) => `  ${render(line, parsed)}`),
      ...(tail.length > 0 ? ['  … last lines:', ...tail.map(({ line, parsed }) => `  ${render(line, parsed)}`)] : []),
    ].join('\n');
  });
  return `The suite's apps, as they logged during the failed test:\n${sections.join('\n')}`;
}
