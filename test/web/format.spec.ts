import { when } from '../../web/src/shared/format';

/** `when` keeps one formatter (a card per live item built one each): the same text as before. */
describe('when', () => {
  const options: Intl.DateTimeFormatOptions = {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  };

  it('formats as toLocaleString with its options did, call after call', () => {
    for (const iso of ['2026-11-24T09:30:00.000Z', '2026-01-01T23:59:00.000Z', '2027-06-15T12:00:00.000Z']) {
      expect(when(iso)).toBe(new Date(iso).toLocaleString(undefined, options));
    }
  });

  it('shows a dash for nothing and the text itself for what is not a date', () => {
    expect(when(undefined)).toBe('—');
    expect(when('not a date')).toBe('not a date');
  });
});
