/**
 * `receipt { communicationId, kind: delivered|read|acknowledged, revision }`: a store
 * terminal received, read or acknowledged a communication; recorded once per terminal,
 * kind and revision as `receipt.<kind>`. `handleMany` is the same for each item of a
 * `receipts` message, with one feed check for all of them.
 */
import { Injectable } from '@nestjs/common';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, MaxLength, Min } from 'class-validator';
import { RECEIPT_KINDS, type ReceiptData, type ReceiptKind, type ReceiptPayload } from '@lastmeter/contracts';
import type { TerminalSession } from '../feed-relay';
import { StoreActivityWriter, WriterBusy } from '../store-activity-writer';
import { FeedCheck } from './feed-check';
import { asError, parseMessage, type TerminalMessageHandler } from './message';
import { StaffSessions } from './staff-sessions';
import { actorOf } from './terminal-socket';

export class ReceiptDto {
  @IsUUID() communicationId!: string;
  @IsIn(RECEIPT_KINDS) kind!: ReceiptKind;
  @IsInt() @Min(1) revision!: number;
  @IsOptional() @IsString() @MaxLength(4_096) staff?: string;
}

/** validator's isUUID('all') (what @IsUUID() checks), which a well-formed receipt matches. */
const UUID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$/i;
const FIELDS = ['communicationId', 'kind', 'revision'];
const STAFF_TOKEN = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/**
 * A well-formed receipt (the rule, thousands a second), recognised by a few direct checks
 * that accept nothing ReceiptDto would refuse; undefined for anything else.
 */
export function wellFormedReceipt(body: unknown): ReceiptPayload | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { communicationId, kind, revision, staff } = body as Record<string, unknown>;
  const withStaff = staff !== undefined;
  if (
    Object.keys(body).length === FIELDS.length + (withStaff ? 1 : 0) &&
    (!withStaff || (typeof staff === 'string' && staff.length <= 4_096 && STAFF_TOKEN.test(staff))) &&
    FIELDS.every((field) => Object.prototype.hasOwnProperty.call(body, field)) &&
    typeof communicationId === 'string' &&
    UUID.test(communicationId) &&
    typeof kind === 'string' &&
    (RECEIPT_KINDS as readonly string[]).includes(kind) &&
    typeof revision === 'number' &&
    Number.isInteger(revision) &&
    revision >= 1
  ) {
    return withStaff
      ? { communicationId, kind: kind as ReceiptKind, revision, staff: staff as string }
      : { communicationId, kind: kind as ReceiptKind, revision };
  }
  return undefined;
}

/**
 * A receipt, validated like ReceiptDto: a well-formed one directly, any other body
 * through class-validator, which refuses it with its per-field errors (or accepts it
 * after all).
 */
export async function parseReceipt(body: unknown): Promise<ReceiptPayload> {
  const receipt = wellFormedReceipt(body);
  if (receipt) return receipt;
  const { communicationId, kind, revision, staff } = await parseMessage(ReceiptDto, body);
  return staff === undefined ? { communicationId, kind, revision } : { communicationId, kind, revision, staff };
}

@Injectable()
export class ReceiptHandler implements TerminalMessageHandler {
  constructor(
    private readonly writer: StoreActivityWriter,
    private readonly feed: FeedCheck,
    private readonly staff: StaffSessions,
  ) {}

  async handle(session: TerminalSession, body: unknown): Promise<{ duplicate: boolean }> {
    // No room in the writer: refused before any work (the client resends shortly).
    if (this.writer.room === 0) throw new WriterBusy();
    const receipt = await parseReceipt(body);
    const staffId = this.staff.staffIdOf(session, receipt.staff);
    await this.feed.requireInFeed(session, receipt.communicationId, receipt.revision);
    return this.record(session, receipt, staffId);
  }

  /**
   * Each item as `handle` would treat it, all at once: validated one by one, authorised
   * with one feed check for all valid items, and recorded through the fact writer (which
   * batches them). One outcome per item, in order: recorded (duplicate or not) or the
   * reason it was not. An invalid or refused item is not written.
   */
  async handleMany(session: TerminalSession, items: unknown[]): Promise<Array<{ duplicate: boolean } | Error>> {
    const outcomes: Array<{ duplicate: boolean } | Error> = new Array(items.length);
    const valid: Array<{ receipt: ReceiptPayload; i: number; staffId?: string }> = [];
    // The people of one message are few: each session is checked once.
    const people = new Map<string, string | Error>();
    for (const [i, item] of items.entries()) {
      const receipt = wellFormedReceipt(item) ?? (await parseReceipt(item).catch(asError));
      if (receipt instanceof Error) {
        outcomes[i] = receipt;
        continue;
      }
      if (receipt.staff === undefined) {
        valid.push({ receipt, i });
        continue;
      }
      let staffId = people.get(receipt.staff);
      if (staffId === undefined) {
        try {
          staffId = this.staff.staffIdOf(session, receipt.staff)!;
        } catch (error) {
          staffId = asError(error);
        }
        people.set(receipt.staff, staffId);
      }
      if (staffId instanceof Error) outcomes[i] = staffId;
      else valid.push({ receipt, i, staffId });
    }
    const problems = await this.feed.check(
      session,
      valid.map(({ receipt }) => receipt),
    );
    // One promise for the message, not one per item: the writer calls back per fact.
    return new Promise((resolve) => {
      let open = 1;
      const settled = () => {
        if (--open === 0) resolve(outcomes);
      };
      const actor = actorOf(session);
      valid.forEach(({ receipt, i, staffId }, j) => {
        if (problems[j]) {
          outcomes[i] = problems[j];
          return;
        }
        open++;
        const { id, data } = this.fact(session, receipt, staffId);
        try {
          this.writer.submit(`receipt.${receipt.kind}`, id, actor, data, (outcome) => {
            outcomes[i] = outcome;
            settled();
          });
        } catch (error) {
          outcomes[i] = asError(error);
          settled();
        }
      });
      settled();
    });
  }

  private record(session: TerminalSession, receipt: ReceiptPayload, staffId: string | undefined) {
    const { id, data } = this.fact(session, receipt, staffId);
    return this.writer.record(`receipt.${receipt.kind}`, id, actorOf(session), data);
  }

  /** Once per terminal, kind and revision, and per person when a staff member did it. */
  private fact(session: TerminalSession, { communicationId, kind, revision }: ReceiptPayload, staffId?: string) {
    const id = staffId
      ? this.writer.factId(session.terminalId, kind, communicationId, String(revision), staffId)
      : this.writer.factId(session.terminalId, kind, communicationId, String(revision));
    const data: ReceiptData = { storeId: session.storeId, terminalId: session.terminalId, communicationId, revision };
    if (staffId) data.staffId = staffId;
    return { id, data };
  }
}
