import { Command } from 'commander';
import type { CommandResult } from '@lastmeter/contracts';
import { adminToken, call, commandUrl } from '../admin-api';
import { info, UserFacingError } from '../output';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `lastmeter people forget <id>`: erases a staff member's personal data
 * (DELETE /v1/staff/:id/personal-data, hq-admin; docs/privacy.md).
 */
export function peopleCommand(): Command {
  const people = new Command('people').description("store staff: erase a person's personal data");
  people
    .command('forget')
    .description('delete a staff member\'s key: every replay, rebuild, export and screen shows "Erased person"')
    .argument('<id>', 'the staff member id')
    .option('--url <url>', 'the command service (default http://127.0.0.1:$COMMAND_PORT, port 3001)')
    .action(async (id: string, options: { url?: string }) => {
      if (!UUID.test(id)) throw new UserFacingError(`${id} is not a staff member id (a UUID)`);
      const url = commandUrl(options.url);
      const token = await adminToken(url);
      const response = await call(`${url}/v1/staff/${id}/personal-data`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      const body = (await response.json().catch(() => ({}))) as Partial<CommandResult> & { message?: string };
      if (!response.ok) {
        throw new UserFacingError(`erasure of ${id} refused: ${response.status} ${body.message ?? ''}`.trim());
      }
      info(`${id}: personal data erased (key deleted; event version ${body.version})`);
    });
  return people;
}
