import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest ancestor whose package.json is this project's. */
export function repoRoot(from: string = __dirname): string {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lastmeter') {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the lastmeter repository above ${from}`);
    dir = parent;
  }
}

/** Where local state lives: jars, broker and Redis data, logs, pid files, dev secrets. */
export interface LastmeterHome {
  root: string;
  kafkaJars: string;
  kafkaData: string;
  redisData: string;
  logs: string;
  run: string;
  secrets: string;
  /** The media store's files when MEDIA_DIR is not set (docs/media.md). */
  media: string;
}

export function lastmeterHome(env: NodeJS.ProcessEnv = process.env): LastmeterHome {
  const root = resolve(env.LASTMETER_HOME ?? join(repoRoot(), '.lastmeter'));
  return {
    root,
    kafkaJars: join(root, 'kafka'),
    kafkaData: join(root, 'data', 'kafka'),
    redisData: join(root, 'data', 'redis'),
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    secrets: join(root, 'secrets.json'),
    media: join(root, 'media'),
  };
}

/** Assets kept in the repository (pom, log4j config), read from source at run time. */
export function infraAsset(name: string): string {
  return join(repoRoot(), 'libs', 'infra', 'kafka', name);
}
