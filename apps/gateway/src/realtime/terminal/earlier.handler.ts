/**
 * `feed.earlier { before, limit? }`: older entries of the terminal's own store's feed,
 * newest first, for "earlier items" (docs/design.md section 6). A terminal that started
 * from the live set never received them; nothing is written.
 */
import { Injectable } from '@nestjs/common';
import {
  EARLIER_DEFAULT_LIMIT,
  EARLIER_MAX_LIMIT,
  type EarlierAck,
  type EarlierPayload,
  type FeedItem,
} from '@lastmeter/contracts';
import { readFeedBefore } from '@lastmeter/read-models';
import { ReadModels } from '../../read/read-models.service';
import { visibleTo } from '../../read/scope';
import type { TerminalSession } from '../feed-relay';

/** The request, or the per-field errors that refuse it. */
export function parseEarlier(body: unknown): EarlierPayload | { fields: Record<string, string[]> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { fields: { body: ['must be an object { before, limit? }'] } };
  }
  const fields: Record<string, string[]> = {};
  for (const key of Object.keys(body)) {
    if (key !== 'before' && key !== 'limit') fields[key] = ['property should not exist'];
  }
  const { before, limit } = body as Record<string, unknown>;
  if (typeof before !== 'number' || !Number.isSafeInteger(before) || before < 1) {
    fields.before = ['before must be a positive integer (a feedSeq)'];
  }
  if (
    limit !== undefined &&
    (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > EARLIER_MAX_LIMIT)
  ) {
    fields.limit = [`limit must be an integer from 1 to ${EARLIER_MAX_LIMIT}`];
  }
  if (Object.keys(fields).length > 0) return { fields };
  return { before: before as number, limit: (limit as number | undefined) ?? EARLIER_DEFAULT_LIMIT };
}

/**
 * The page after reading `limit` entries before `before`: the next `before` is the
 * smallest feedSeq returned, unless that was the first entry or the page came short.
 */
export function nextBefore(items: readonly Pick<FeedItem, 'feedSeq'>[], limit: number): number | undefined {
  const smallest = items.at(-1)?.feedSeq;
  return items.length === limit && smallest !== undefined && smallest > 1 ? smallest : undefined;
}

@Injectable()
export class EarlierHandler {
  constructor(private readonly models: ReadModels) {}

  async handle(session: TerminalSession, body: unknown): Promise<EarlierAck> {
    const request = parseEarlier(body);
    if ('fields' in request) return { ok: false, error: { message: 'invalid feed.earlier', fields: request.fields } };
    const limit = request.limit ?? EARLIER_DEFAULT_LIMIT;
    const keys = await this.models.keys();
    const entries = await readFeedBefore(this.models.redis, keys, session.storeId, request.before, limit);
    const next = nextBefore(entries, limit);
    return {
      ok: true,
      items: entries.map((entry) => visibleTo(session.claims, entry)),
      ...(next !== undefined ? { next } : {}),
    };
  }
}
