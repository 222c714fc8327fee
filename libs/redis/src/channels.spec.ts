import { decodeFeedNotice, encodeFeedNotice } from './channels';

describe('feed notices', () => {
  it('carry each store once, at its highest feedSeq of the batch', () => {
    const message = encodeFeedNotice([
      { storeId: 'a', feedSeq: 3 },
      { storeId: 'b', feedSeq: 1 },
      { storeId: 'a', feedSeq: 4 },
    ]);
    expect(decodeFeedNotice(message)).toEqual([
      { storeId: 'a', feedSeq: 4 },
      { storeId: 'b', feedSeq: 1 },
    ]);
  });

  it('still read the one-store form older projectors send', () => {
    expect(decodeFeedNotice(JSON.stringify({ storeId: 's', feedSeq: 7 }))).toEqual([{ storeId: 's', feedSeq: 7 }]);
  });

  it('refuse anything else', () => {
    expect(() => decodeFeedNotice('{"hello":1}')).toThrow('not a feed notice');
    expect(() => decodeFeedNotice('nope')).toThrow();
  });
});
