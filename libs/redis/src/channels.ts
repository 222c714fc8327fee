/**
 * Every Redis pub/sub channel of Last Meter, in one place (docs/design.md section 9).
 * Channels are scoped by the deployment's key prefix, like keys, so test suites and
 * deployments sharing a Redis never hear each other.
 */

/** Projectors announce new feed items to gateways: `{ storeId, feedSeq, ... }` JSON. */
export function feedChannel(prefix: string): string {
  return `${prefix}feed`;
}

/** Announcements to gateways (terminal revoked, user sessions ended, socket dropped, ...). */
export function announcementChannel(prefix: string): string {
  return `${prefix}announcements`;
}

/** One per command instance: the decider replies here with the outcome of a command. */
export function commandReplyChannel(prefix: string, instanceId: string): string {
  return `${prefix}command-replies:${instanceId}`;
}
