/** A master found through Redis Sentinel: `redis+sentinel://host:port,host:port/<master>[/<db>]`. */
export interface SentinelAddress {
  sentinels: Array<{ host: string; port: number }>;
  name: string;
  db: number;
}

const SENTINEL_URL = /^redis\+sentinel:\/\/([^/]+)\/([A-Za-z0-9._-]+)(?:\/(\d+))?$/;

/**
 * The Sentinel form of REDIS_URL (the cluster profile: a master, replicas and three
 * Sentinels, ADR 0006), or undefined for a plain `redis://` URL. Throws on a malformed one.
 */
export function parseSentinelUrl(url: string): SentinelAddress | undefined {
  if (!url.startsWith('redis+sentinel:')) return undefined;
  const match = SENTINEL_URL.exec(url);
  if (!match) throw new Error(`"${url}" is not redis+sentinel://host:port[,host:port…]/<master name>[/<db>]`);
  const sentinels = match[1]!.split(',').map((address) => {
    const at = address.lastIndexOf(':');
    const host = address.slice(0, at);
    const port = Number(address.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`"${address}" in "${url}" is not host:port`);
    return { host, port };
  });
  return { sentinels, name: match[2]!, db: Number(match[3] ?? 0) };
}
