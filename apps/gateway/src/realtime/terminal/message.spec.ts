import type { Logger } from '@nestjs/common';
import { IsString } from 'class-validator';
import { FactInFlight } from '@lastmeter/redis';
import type { TerminalSession } from '../feed-relay';
import {
  answerMessage,
  InvalidMessage,
  MAX_MESSAGE_BYTES,
  parseMessage,
  Rejected,
  type TerminalMessageHandler,
} from './message';

class NoteDto {
  @IsString() note!: string;
}

const session = {
  terminalId: 'terminal-1',
  storeId: 'store-1',
  claims: { sub: 'terminal-1', role: 'terminal', storeId: 'store-1' },
} as TerminalSession;
const logger = { warn: jest.fn() } as unknown as Logger;
const handler = (handle: TerminalMessageHandler['handle']): TerminalMessageHandler => ({ handle });

describe('answerMessage: the ack of a /terminal message', () => {
  it('acks a recorded fact with { ok: true }, and a resend with duplicate', async () => {
    expect(
      await answerMessage(
        handler(async () => ({ duplicate: false })),
        session,
        {},
        logger,
      ),
    ).toEqual({ ok: true });
    expect(
      await answerMessage(
        handler(async () => ({ duplicate: true })),
        session,
        {},
        logger,
      ),
    ).toEqual({
      ok: true,
      duplicate: true,
    });
  });

  it('refuses a message over the size limit without handling it', async () => {
    const handle = jest.fn();
    const body = { note: 'x'.repeat(MAX_MESSAGE_BYTES) };
    expect(await answerMessage(handler(handle), session, body, logger)).toEqual({
      ok: false,
      error: { message: `message larger than ${MAX_MESSAGE_BYTES} bytes` },
    });
    expect(MAX_MESSAGE_BYTES).toBe(16 * 1024);
    expect(handle).not.toHaveBeenCalled();
  });

  it('answers field errors, refusals and a fact in flight with their message', async () => {
    const fail = (error: Error) =>
      answerMessage(
        handler(() => Promise.reject(error)),
        session,
        {},
        logger,
      );
    expect(await fail(new InvalidMessage({ answers: ['must answer each of the 2 questions'] }))).toEqual({
      ok: false,
      error: { message: 'invalid message: answers', fields: { answers: ['must answer each of the 2 questions'] } },
    });
    expect(await fail(new Rejected('communication c has no questions'))).toEqual({
      ok: false,
      error: { message: 'communication c has no questions' },
    });
    const inFlight = new FactInFlight();
    expect(await fail(inFlight)).toEqual({ ok: false, error: { message: inFlight.message } });
  });

  it('hides any other failure behind a retry message', async () => {
    expect(
      await answerMessage(
        handler(() => Promise.reject(new Error('broker down'))),
        session,
        {},
        logger,
      ),
    ).toEqual({ ok: false, error: { message: 'not recorded, the event log is unreachable; retry' } });
  });
});

describe('parseMessage', () => {
  it.each([
    ['a string', 'hello'],
    ['null', null],
    ['an array', [1]],
  ])('refuses %s as not a JSON object', async (_case, body) => {
    await expect(parseMessage(NoteDto, body)).rejects.toMatchObject({ fields: { $: ['must be a JSON object'] } });
  });

  it('refuses unknown and mistyped fields, per field', async () => {
    await expect(parseMessage(NoteDto, { note: 3, extra: true })).rejects.toMatchObject({
      fields: { note: expect.any(Array), extra: expect.any(Array) },
    });
  });

  it('answers the typed message', async () => {
    await expect(parseMessage(NoteDto, { note: 'done' })).resolves.toEqual({ note: 'done' });
  });
});
