/**
 * `receipts { items: ReceiptPayload[] }` (issue 16): up to 500 receipts in one message, a
 * tablet's backlog. Each item is one fact: validated, authorised, rate-limited and
 * recorded on its own exactly as a `receipt` with that payload (ReceiptHandler), and
 * answered in `results` in order. The message itself is refused as a whole only when it
 * is not a batch of receipts at all (docs/design.md section 6, ReceiptsAck).
 */
import type { Logger } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { ArrayMaxSize, ArrayNotEmpty, IsArray } from 'class-validator';
import {
  MAX_RECEIPTS_BYTES,
  MAX_RECEIPTS_PER_MESSAGE,
  RATE_LIMITED,
  WRITER_BUSY,
  type Ack,
  type ReceiptsAck,
  NOT_RECORDED,
} from '@lastmeter/contracts';
import type { TerminalSession } from '../feed-relay';
import { StoreActivityWriter } from '../store-activity-writer';
import { ackOf, asError, parseMessage, Rejected } from './message';
import { ReceiptHandler } from './receipt.handler';

export class ReceiptsDto {
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_RECEIPTS_PER_MESSAGE)
  items!: unknown[];
}

const RATE_LIMITED_ACK: Ack = { ok: false, error: { message: RATE_LIMITED } };
const BUSY_ACK: Ack = { ok: false, error: { message: WRITER_BUSY } };

/**
 * The items of a well-formed message (`{ items }` and nothing else, 1 to 500 of them)
 * without class-transformer, which would copy every item; anything else goes through
 * ReceiptsDto for its per-field errors.
 */
function itemsOf(body: unknown): unknown[] | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { items } = body as { items?: unknown };
  const wellFormed =
    Object.keys(body).length === 1 &&
    Array.isArray(items) &&
    items.length >= 1 &&
    items.length <= MAX_RECEIPTS_PER_MESSAGE;
  return wellFormed ? items : undefined;
}

@Injectable()
export class ReceiptsHandler {
  constructor(
    private readonly receipts: ReceiptHandler,
    private readonly writer: StoreActivityWriter,
  ) {}

  /**
   * Tokens the message asks the terminal's budget for: one per item, before anything is
   * validated (a refused message costs no I/O). A body that is not a batch of at most
   * MAX_RECEIPTS_PER_MESSAGE items costs one, like any other refused message.
   */
  static cost(body: unknown): number {
    const items = (body as { items?: unknown } | null)?.items;
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_RECEIPTS_PER_MESSAGE) return 1;
    return items.length;
  }

  /** `granted`: how many items, from the first, the terminal's budget lets through; the rest are rate-limited. */
  async handle(session: TerminalSession, body: unknown, granted: number, logger: Logger): Promise<ReceiptsAck> {
    let items: unknown[];
    try {
      if (Buffer.byteLength(JSON.stringify(body ?? null)) > MAX_RECEIPTS_BYTES) {
        throw new Rejected(`message larger than ${MAX_RECEIPTS_BYTES} bytes`);
      }
      items = itemsOf(body) ?? (await parseMessage(ReceiptsDto, body)).items;
    } catch (error) {
      const refusal = ackOf(asError(error), session, logger);
      return { ok: false, error: refusal.error! };
    }
    // What the writer has no room for is answered busy at once, before any work on it.
    const taken = items.slice(0, Math.min(granted, this.writer.room));
    const outcomes = await this.receipts.handleMany(session, taken).catch((error: unknown) => {
      // The feed check could not ask Redis: no item was written.
      const failure = asError(error);
      return taken.map(() => failure);
    });
    // Logged once per message rather than per item (an outage would log every item).
    const results = items.map((_, i) =>
      i < taken.length ? ackOf(outcomes[i], session) : i < granted ? BUSY_ACK : RATE_LIMITED_ACK,
    );
    const failed = results.filter((ack) => ack.error?.message === NOT_RECORDED).length;
    if (failed > 0) {
      const reason = outcomes.find((o) => o instanceof Error && ackOf(o, session).error?.message === NOT_RECORDED);
      logger.warn(`${failed} receipts from ${session.terminalId} not recorded: ${(reason as Error).message}`);
    }
    return { ok: true, results };
  }
}
