import { HandshakeRefusals, UNAVAILABLE_WARN_EVERY_MS } from './handshake-refusals';

function refusals() {
  const counted: string[] = [];
  const warned: string[] = [];
  let now = 1_000_000;
  const subject = new HandshakeRefusals(
    { count: (namespace, reason) => counted.push(`${namespace}/${reason}`), warn: (line) => warned.push(line) },
    () => now,
  );
  return { subject, counted, warned, advance: (ms: number) => (now += ms) };
}

describe('HandshakeRefusals', () => {
  it("counts a client's refusal by namespace and reason, and logs nothing for it", () => {
    const { subject, counted, warned } = refusals();
    subject.refused('terminal', 'token-invalid');
    subject.refused('console', 'forbidden');
    expect(counted).toEqual(['terminal/token-invalid', 'console/forbidden']);
    expect(warned).toEqual([]);
  });

  it("logs the cause of a refusal 'unavailable', which the client never sees", () => {
    const { subject, counted, warned } = refusals();
    subject.unavailable('terminal', new Error('Connection is closed.'));
    expect(counted).toEqual(['terminal/unavailable']);
    expect(warned).toEqual(["refused a /terminal handshake 'unavailable': Error: Connection is closed."]);
  });

  it('says it at most once per interval and namespace, with how many it did not say', () => {
    const { subject, counted, warned, advance } = refusals();
    subject.unavailable('terminal', new Error('first'));
    for (let i = 0; i < 4; i++) subject.unavailable('terminal', new Error('storm'));
    subject.unavailable('console', 'not an Error');
    advance(UNAVAILABLE_WARN_EVERY_MS - 1);
    subject.unavailable('terminal', new Error('still inside'));
    advance(1);
    subject.unavailable('terminal', new Error('next'));
    advance(UNAVAILABLE_WARN_EVERY_MS);
    subject.unavailable('terminal', new Error('alone'));
    expect(counted).toHaveLength(9);
    expect(warned).toEqual([
      "refused a /terminal handshake 'unavailable': Error: first",
      "refused a /console handshake 'unavailable': not an Error",
      "refused a /terminal handshake 'unavailable' (and 5 more since the last such line): Error: next",
      "refused a /terminal handshake 'unavailable': Error: alone",
    ]);
  });
});
