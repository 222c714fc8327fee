import { HandshakeWatch } from './handshake-watch';

describe('HandshakeWatch', () => {
  let lines: string[];
  const logger = { warn: (line: string) => lines.push(line) };

  beforeEach(() => {
    lines = [];
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('says nothing of a handshake that ends in time', () => {
    const steps = new HandshakeWatch(logger, 5_000).begin('socket a');
    steps.at('verify token');
    jest.advanceTimersByTime(4_000);
    steps.done('served');
    jest.advanceTimersByTime(10_000);
    expect(lines).toEqual([]);
  });

  it('names the step a slow handshake waits on, once, and how it ended', () => {
    const steps = new HandshakeWatch(logger, 5_000).begin('socket a');
    steps.at('verify token');
    steps.identify('terminal t1 (socket a)');
    steps.at('read models: terminal status');
    jest.advanceTimersByTime(5_000);
    jest.advanceTimersByTime(20_000);
    expect(lines).toEqual([
      'terminal handshake terminal t1 (socket a) slow: waiting on "read models: terminal status" after 5000 ms',
    ]);
    steps.at('feed epoch');
    steps.done('served');
    steps.done('served');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      'terminal handshake terminal t1 (socket a) ended (served) after 25000 ms, last step "feed epoch"',
    );
  });

  it('says nothing when the client has left before the handshake got slow', () => {
    let gone = false;
    const steps = new HandshakeWatch(logger, 5_000).begin('socket a', () => gone);
    steps.at('accepted: connection handler');
    gone = true;
    jest.advanceTimersByTime(6_000);
    steps.done('served');
    expect(lines).toEqual([]);
  });
});
