import { ConfigError } from '@lastmeter/config';
import { PrerequisiteMissing } from '@lastmeter/infra';

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);

export const color = {
  bold: paint(1),
  dim: paint(2),
  red: paint(31),
  green: paint(32),
  yellow: paint(33),
  blue: paint(34),
  magenta: paint(35),
  cyan: paint(36),
};

export function info(line: string): void {
  process.stderr.write(`${color.dim('lastmeter')} ${line}\n`);
}

/** Expected failures (missing tool, bad setting) are one line and exit code 1, never a stack. */
export class UserFacingError extends Error {}

export function exitWithError(error: unknown): never {
  const expected =
    error instanceof PrerequisiteMissing || error instanceof UserFacingError || error instanceof ConfigError;
  const message = expected || !(error instanceof Error) ? String((error as Error).message ?? error) : error.message;
  process.stderr.write(`${color.red('lastmeter: error:')} ${message}\n`);
  if (!expected && process.env.LASTMETER_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exit(1);
}
