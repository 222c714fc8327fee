import { parseCursor, parseFlag, readHandshake } from './handshake';

describe('parseCursor: auth.cursor as JSON sends it or as its decimal string', () => {
  it('takes a non-negative safe integer', () => {
    expect(parseCursor(0)).toBe(0);
    expect(parseCursor(12)).toBe(12);
    expect(parseCursor(-0)).toBe(0);
    expect(Object.is(parseCursor(-0), 0)).toBe(true);
    expect(parseCursor(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('takes the decimal string of one (what a string-only client such as socket.io-client-java sends)', () => {
    expect(parseCursor('0')).toBe(0);
    expect(parseCursor('12')).toBe(12);
    expect(parseCursor('1004')).toBe(1004);
    expect(parseCursor(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('takes an absent (or null) cursor as 0: from the live set', () => {
    expect(parseCursor(undefined)).toBe(0);
    expect(parseCursor(null)).toBe(0);
  });

  it.each([
    '',
    '-1',
    '1.5',
    '1e3',
    ' 3',
    '3 ',
    '0x10',
    '+3',
    '012',
    '00',
    '-0',
    '3\n',
    '١٢', // Arabic-Indic digits
    '12abc',
    'NaN',
    'Infinity',
    String(Number.MAX_SAFE_INTEGER + 1),
    '9007199254740993',
    '99999999999999999999',
  ])('refuses the string %j', (value) => {
    expect(parseCursor(value)).toBeUndefined();
  });

  it.each([
    -1,
    1.5,
    Number.MAX_SAFE_INTEGER + 1,
    2 ** 60,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    true,
    false,
    {},
    [],
    [3],
    { cursor: 3 },
    BigInt(3),
  ])('refuses %p', (value) => {
    expect(parseCursor(value)).toBeUndefined();
  });
});

describe('parseFlag: auth.snapshotChunks and auth.feedBatches', () => {
  it('asks with true or "true" only', () => {
    expect(parseFlag(true)).toBe(true);
    expect(parseFlag('true')).toBe(true);
    for (const value of [undefined, null, false, 'false', '', 'TRUE', '1', 1, 'yes']) {
      expect(parseFlag(value)).toBe(false);
    }
  });
});

describe('readHandshake: the options of a /terminal handshake', () => {
  it('reads typed values and the all-strings auth of a native client alike', () => {
    expect(readHandshake({ token: 't' })).toEqual({ cursor: 0, snapshotChunks: false, feedBatches: false });
    expect(readHandshake({ token: 't', cursor: 12, epoch: 'e1', snapshotChunks: true, feedBatches: true })).toEqual({
      cursor: 12,
      epoch: 'e1',
      snapshotChunks: true,
      feedBatches: true,
    });
    expect(
      readHandshake({ token: 't', cursor: '12', epoch: 'e1', snapshotChunks: 'true', feedBatches: 'true' }),
    ).toEqual({
      cursor: 12,
      epoch: 'e1',
      snapshotChunks: true,
      feedBatches: true,
    });
    expect(readHandshake({ token: 't', cursor: '0', snapshotChunks: 'false', feedBatches: 'false' })).toEqual({
      cursor: 0,
      snapshotChunks: false,
      feedBatches: false,
    });
  });

  it('refuses a bad cursor or a non-string epoch, saying which', () => {
    expect(readHandshake({ cursor: '1e3' })).toEqual({ refused: expect.stringContaining('cursor must be') });
    expect(readHandshake({ cursor: -1 })).toEqual({ refused: expect.stringContaining('cursor must be') });
    expect(readHandshake({ cursor: '3', epoch: 7 })).toEqual({ refused: expect.stringContaining('epoch must be') });
    expect(readHandshake({ cursor: '3', epoch: null })).toEqual({ refused: expect.stringContaining('epoch must be') });
  });
});
