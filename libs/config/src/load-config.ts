import { cleanEnv, type CleanedEnv, type CleanedEnvAccessors, type ReporterOptions, type ValidatorSpec } from 'envalid';
import { APP_ENV_SPECS, type AppName, type sharedEnv } from './env';

type Values<S> = Omit<CleanedEnv<S>, keyof CleanedEnvAccessors>;
export type AppConfig<N extends AppName> = Values<(typeof APP_ENV_SPECS)[N]>;
/** The part every app has: what libs (kafka, redis, logging) may rely on. */
export type SharedConfig = Values<typeof sharedEnv>;

/** A configuration that cannot start an app. `message` is one line, meant for humans. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

function reporter({ errors }: ReporterOptions<unknown>): void {
  const problems = Object.entries(errors).map(([name, error]) => {
    const reason = (error as Error).message || 'missing';
    return /^Missing/i.test(reason) || error?.constructor.name === 'EnvMissingError'
      ? `${name} is required`
      : `${name}: ${reason.replace(/^Invalid \w+ input: /, 'invalid value ')}`;
  });
  if (problems.length > 0) throw new ConfigError(problems);
}

export function loadConfig<N extends AppName>(app: N, env: NodeJS.ProcessEnv = process.env): AppConfig<N> {
  return loadSpec(APP_ENV_SPECS[app], env) as AppConfig<N>;
}

/** Validates any subset of the specs (the CLI reads only what it needs). */
export function loadSpec<S extends Record<string, ValidatorSpec<unknown>>>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
): Values<S> {
  const cleaned = cleanEnv(env, spec, { reporter }) as Record<string, unknown>;
  // A plain frozen object: envalid's strict proxy throws on unknown property reads,
  // which Nest's lifecycle-hook discovery does on every provider value.
  const config: Record<string, unknown> = {};
  for (const name of Object.keys(spec)) config[name] = cleaned[name];
  return Object.freeze(config) as Values<S>;
}
