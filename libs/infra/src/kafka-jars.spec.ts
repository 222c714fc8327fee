import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKafkaJars } from './kafka-jars';
import { infraAsset } from './paths';
import { PrerequisiteMissing } from './prerequisites';

describe('ensureKafkaJars', () => {
  it('serves a complete cache without running mvn (no network on the second start)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lm-jars-'));
    const digest = createHash('sha256')
      .update(readFileSync(infraAsset('pom.xml')))
      .digest('hex');
    writeFileSync(join(dir, 'complete.sha256'), `${digest}\n`);
    const jars = await ensureKafkaJars(dir, { env: { PATH: '' } });
    expect(jars).toEqual({ libs: join(dir, 'libs'), version: '3.9.1', fetched: false });
  });

  it('needs mvn when the cache is missing or was made from another pom', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lm-jars-'));
    writeFileSync(join(dir, 'complete.sha256'), 'stale\n');
    await expect(ensureKafkaJars(dir, { env: { PATH: '' } })).rejects.toBeInstanceOf(PrerequisiteMissing);
  });
});
