import { Command, Option } from 'commander';
import { kafkaJarsCached, lastmeterHome, systemProbes, type Purpose } from '@lastmeter/infra';
import { aptGet, DoctorFailure, runDoctor } from '../doctor';
import { color } from '../output';

/**
 * `lastmeter doctor [--for start|test]`: what `npm start` and `npm test` run first (after
 * the build). Checks Java 17+, Maven, redis-server and (tests) Chromium; as root with
 * apt-get it installs what is missing, otherwise it stops with one line naming the
 * install command.
 */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check the system tools npm start / npm test need; as root, install the missing ones with apt-get')
    .addOption(
      new Option('--for <purpose>', 'what to check for: start (no Chromium) or test (everything)')
        .choices(['start', 'test'])
        .default('test'),
    )
    .action(async (options: { for: Purpose }) => {
      const line = (text: string) => process.stderr.write(`${color.dim('lastmeter doctor:')} ${text}\n`);
      try {
        const summary = await runDoctor(options.for, {
          env: process.env,
          probes: systemProbes(process.env),
          uid: process.getuid?.(),
          kafkaJarsCached: kafkaJarsCached(lastmeterHome().kafkaJars),
          aptGet,
          say: line,
        });
        line(summary);
      } catch (error) {
        if (!(error instanceof DoctorFailure)) throw error;
        process.stderr.write(`${color.red('lastmeter doctor:')} ${error.message}\n`);
        process.exit(1);
      }
    });
}
