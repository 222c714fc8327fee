import type { TerminalRecord } from './terminals';

/** A store's feed as the log has it: the communication id at each feedSeq ('' for an entry that hides one). */
export type StoreFeeds = Map<string, Map<number, string>>;

export interface DeliveryCount {
  /** Entries of the terminal's store in the log that it never got. */
  lost: number;
  /** Messages for an entry it had already got. */
  duplicated: number;
  /** Messages that came after one with a higher feedSeq (first time seen). */
  outOfOrder: number;
  /** Messages whose communication is not the one the log has at that feedSeq. */
  mismatched: number;
  /** A few of the above, for the report. */
  examples: string[];
}

/**
 * Holds each terminal's messages, as they came off the socket, against its store's feed
 * in the Kafka log: every entry once, in feedSeq order, with the log's content.
 */
export function countDeliveries(terminals: TerminalRecord[], feeds: StoreFeeds): DeliveryCount {
  const total: DeliveryCount = { lost: 0, duplicated: 0, outOfOrder: 0, mismatched: 0, examples: [] };
  const example = (text: string) => total.examples.length < 10 && total.examples.push(text);
  for (const terminal of terminals) {
    const feed = feeds.get(terminal.storeId) ?? new Map<number, string>();
    const seen = new Map<number, number>();
    let highest = 0;
    terminal.seqs.forEach((seq, i) => {
      const first = seen.get(seq);
      if (first !== undefined) {
        total.duplicated++;
        const via = (at: number) => terminal.via[at] ?? '?';
        example(
          `terminal ${terminal.terminalId}: feedSeq ${seq} again (${via(i)}, after ${terminal.seqs[i - 1] ?? 'nothing'}; first ${via(first)})`,
        );
        return;
      }
      seen.set(seq, i);
      if (seq < highest) {
        total.outOfOrder++;
        example(`terminal ${terminal.terminalId}: feedSeq ${seq} after ${highest}`);
      }
      highest = Math.max(highest, seq);
      if (feed.get(seq) !== terminal.ids[i]) {
        total.mismatched++;
        example(
          `terminal ${terminal.terminalId}: feedSeq ${seq} is "${terminal.ids[i]}", the log has "${feed.get(seq)}"`,
        );
      }
    });
    for (const seq of feed.keys()) {
      if (seen.has(seq)) continue;
      total.lost++;
      example(`terminal ${terminal.terminalId}: feedSeq ${seq} never came`);
    }
  }
  return total;
}

/** Acknowledged `delivered` receipts against the store-events topic: each acked one there exactly once. */
export function countReceipts(
  terminals: TerminalRecord[],
  logged: Array<{ terminalId: string; communicationId: string }>,
): { acked: number; lost: number; duplicated: number } {
  const inLog = new Map<string, number>();
  for (const { terminalId, communicationId } of logged) {
    const key = `${terminalId}/${communicationId}`;
    inLog.set(key, (inLog.get(key) ?? 0) + 1);
  }
  let acked = 0;
  let lost = 0;
  for (const terminal of terminals) {
    for (const id of new Set(terminal.acked)) {
      acked++;
      if (!inLog.has(`${terminal.terminalId}/${id}`)) lost++;
    }
  }
  const duplicated = [...inLog.values()].reduce((n, count) => n + count - 1, 0);
  return { acked, lost, duplicated };
}

/**
 * Seconds from the fault until the first publish tried after it, to a whole region, had
 * reached every terminal: how long before the system delivered to everyone again.
 * Undefined when no such publish reached them all.
 */
export function recoverySeconds(
  faultAt: number,
  published: Array<{ id: string; stores: string[]; tried: number }>,
  terminals: TerminalRecord[],
  regionSize: number,
): number | undefined {
  const firstArrival = new Map<string, Map<string, number>>();
  for (const terminal of terminals) {
    terminal.ids.forEach((id, i) => {
      if (!id) return;
      const byTerminal = firstArrival.get(id) ?? new Map<string, number>();
      if (!byTerminal.has(terminal.terminalId)) byTerminal.set(terminal.terminalId, terminal.at[i]!);
      firstArrival.set(id, byTerminal);
    });
  }
  const candidates = published
    .filter((p) => p.tried >= faultAt && p.stores.length === regionSize)
    .sort((a, b) => a.tried - b.tried);
  for (const publish of candidates) {
    const arrivals = firstArrival.get(publish.id);
    if (arrivals?.size === terminals.length) return (Math.max(...arrivals.values()) - faultAt) / 1_000;
  }
  return undefined;
}
