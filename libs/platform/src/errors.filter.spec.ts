import { type ArgumentsHost, HttpException, ServiceUnavailableException } from '@nestjs/common';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { KafkaUnavailable } from '@lastmeter/kafka';
import { ErrorsFilter } from './errors.filter';

/** Runs the filter on `exception`; returns the status, headers and body it answered with. */
function answerTo(exception: unknown) {
  const answer = { status: 0, headers: {} as Record<string, string>, body: undefined as unknown };
  const response = {
    setHeader: (name: string, value: string) => (answer.headers[name.toLowerCase()] = value),
    status(code: number) {
      answer.status = code;
      return this;
    },
    json: (body: unknown) => (answer.body = body),
  };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  new ErrorsFilter().catch(exception, host);
  return answer;
}

describe('ErrorsFilter', () => {
  it('answers a 503 with Retry-After 5 by default', () => {
    const answer = answerTo(new ServiceUnavailableException({ statusCode: 503, message: 'log unreachable' }));
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(answer.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: 'log unreachable' });
  });

  it("takes Retry-After from the error's retryAfter (a busy answer) and keeps it in the body", () => {
    const answer = answerTo(new ServiceUnavailableException({ statusCode: 503, message: 'busy', retryAfter: 1 }));
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.body).toMatchObject({ statusCode: 503, retryAfter: 1 });
  });

  it('sets no Retry-After on other errors', () => {
    const answer = answerTo(new HttpException({ statusCode: 409, message: 'version mismatch' }, 409));
    expect(answer.status).toBe(409);
    expect(answer.headers).toEqual({});
  });

  it('answers Redis failing over (a command given up while reconnecting) with 503 and Retry-After', () => {
    const answer = answerTo(new MaxRetriesPerRequestError(2));
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('2');
    expect(answer.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
  });

  it('answers Kafka not answering in time (a broker starting) with 503 and Retry-After', () => {
    const answer = answerTo(new KafkaUnavailable('the offsets of events are not available yet'));
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('2');
    expect(answer.body).toMatchObject({
      statusCode: 503,
      message: 'the event log is unavailable for a moment; retry shortly',
    });
  });

  it('answers anything unknown with a 500 that reveals nothing', () => {
    const answer = answerTo(new TypeError('secret internals'));
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain('secret internals');
  });
});
