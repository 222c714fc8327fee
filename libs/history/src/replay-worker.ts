/**
 * A replay's parsing thread (a piscina worker, see replay-parser.ts): the JSON parse,
 * envelope check, upcast and filter of a batch of records, off the thread that reads
 * Kafka and writes the HTTP response. Both buffers move between the threads (transfer).
 */
import { move } from 'piscina';
import type { WireFilter } from './replay-filter';
import { parseRecords } from './replay-records';

export interface ReplayTask {
  records: ArrayBuffer;
  filter: WireFilter;
}

export default function parse({ records, filter }: ReplayTask): unknown {
  return move(parseRecords(records, filter));
}
