import {
  isOpenAt,
  lastOpening,
  localTime,
  nextOpening,
  openingHoursProblems,
  parseOpeningHoursText,
  zonedInstant,
} from './opening-hours';

describe('opening hours', () => {
  it('accepts weekdays, midnight closing and exceptions (null = closed)', () => {
    expect(
      openingHoursProblems({
        mon: ['08:00', '20:00'],
        sun: ['10:00', '24:00'],
        exceptions: { '2026-12-24': ['08:00', '16:00'], '2026-12-25': null },
      }),
    ).toEqual([]);
    expect(openingHoursProblems({})).toEqual([]);
  });

  it('names every problem with where it is', () => {
    expect(
      openingHoursProblems({
        mon: ['20:00', '08:00'],
        tue: ['25:00', '26:00'],
        wed: ['08:00'],
        monday: ['08:00', '20:00'],
        thu: ['08:00', '08:00'],
        fri: ['24:00', '24:00'],
        exceptions: { '2026-02-30': null, '2026-12-24': ['9:00', '16:00'] },
      }),
    ).toEqual([
      'mon: closes at 08:00, not after it opens at 20:00',
      'tue: "25:00" is not a time of day (HH:MM, 00:00-23:59)',
      'wed: must be ["HH:MM", "HH:MM"]: when it opens and when it closes',
      'monday: not a weekday (mon, tue, wed, thu, fri, sat, sun) or "exceptions"',
      'thu: closes at 08:00, not after it opens at 08:00',
      'fri: "24:00" is not a time of day (HH:MM, 00:00-23:59)',
      'exceptions.2026-02-30: not a date (YYYY-MM-DD)',
      'exceptions.2026-12-24: "9:00" is not a time of day (HH:MM, 00:00-23:59)',
    ]);
    expect(openingHoursProblems('mon 08:00-20:00')).toEqual([
      'must be an object of weekdays (mon … sun) and exceptions',
    ]);
    expect(openingHoursProblems({ exceptions: [] })).toEqual([
      'exceptions: must be an object of dates (YYYY-MM-DD) to ["HH:MM", "HH:MM"] or null (closed)',
    ]);
  });

  it('reads the compact form of an import cell', () => {
    expect(
      parseOpeningHoursText('mon-fri 08:00-20:00; sat 09:00-13:00; 2026-12-24 08:00-16:00; 2026-12-25 closed'),
    ).toEqual({
      mon: ['08:00', '20:00'],
      tue: ['08:00', '20:00'],
      wed: ['08:00', '20:00'],
      thu: ['08:00', '20:00'],
      fri: ['08:00', '20:00'],
      sat: ['09:00', '13:00'],
      exceptions: { '2026-12-24': ['08:00', '16:00'], '2026-12-25': null },
    });
    expect(parseOpeningHoursText('mon-sun 08:00-20:00; wed closed')).not.toHaveProperty('wed');
    expect(() => parseOpeningHoursText('weekdays 08:00-20:00')).toThrow(/"weekdays": expected a weekday/);
    expect(() => parseOpeningHoursText('mon 8 to 20')).toThrow(/expected "<days> <HH:MM>-<HH:MM>"/);
    // The text form only reads; the hours it gives are checked like any others.
    expect(openingHoursProblems(parseOpeningHoursText('mon 20:00-08:00'))).toEqual([
      'mon: closes at 08:00, not after it opens at 20:00',
    ]);
  });
});

describe('isOpenAt', () => {
  const HOURS = {
    mon: ['08:00', '20:00'] as [string, string],
    sun: ['10:00', '24:00'] as [string, string],
    exceptions: { '2026-12-07': null, '2026-12-14': ['12:00', '13:00'] as [string, string] },
  };

  it('reads the instant in the store’s time zone', () => {
    // Monday 2026-11-30, 07:30 UTC = 08:30 in Paris (open), 02:30 in New York (closed).
    const at = new Date('2026-11-30T07:30:00Z');
    expect(isOpenAt(HOURS, 'Europe/Paris', at)).toBe(true);
    expect(isOpenAt(HOURS, 'America/New_York', at)).toBe(false);
    expect(localTime(at, 'Europe/Paris')).toEqual({ date: '2026-11-30', weekday: 'mon', time: '08:30' });
  });

  it('opens at the opening minute and closes at the closing one; 24:00 runs to midnight', () => {
    expect(isOpenAt(HOURS, 'UTC', new Date('2026-11-30T08:00:00Z'))).toBe(true);
    expect(isOpenAt(HOURS, 'UTC', new Date('2026-11-30T07:59:00Z'))).toBe(false);
    expect(isOpenAt(HOURS, 'UTC', new Date('2026-11-30T20:00:00Z'))).toBe(false);
    expect(isOpenAt(HOURS, 'UTC', new Date('2026-11-29T23:59:00Z'))).toBe(true); // Sunday
    expect(isOpenAt(HOURS, 'UTC', new Date('2026-12-01T09:00:00Z'))).toBe(false); // Tuesday: not given
  });

  it('takes a date’s exception over its weekday, and no hours as always open', () => {
    expect(isOpenAt(HOURS, 'UTC', new Date('2026-12-07T09:00:00Z'))).toBe(false); // a Monday, closed
    expect(isOpenAt(HOURS, 'UTC', new Date('2026-12-14T12:30:00Z'))).toBe(true);
    expect(isOpenAt(HOURS, 'UTC', new Date('2026-12-14T09:00:00Z'))).toBe(false);
    expect(isOpenAt(undefined, 'UTC', new Date())).toBe(true);
  });
});

describe('openings (daily brief)', () => {
  const weekdays = parseOpeningHoursText('mon-fri 09:00-18:00; 2026-12-25 closed; 2026-12-24 08:00-12:00');
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

  it('turns local wall times into instants, across DST', () => {
    expect(iso(zonedInstant('2026-12-02', '09:00', 'Europe/Paris'))).toBe('2026-12-02T08:00:00.000Z');
    expect(iso(zonedInstant('2026-07-02', '09:00', 'Europe/Paris'))).toBe('2026-07-02T07:00:00.000Z');
    expect(iso(zonedInstant('2026-12-02', '09:00', 'Asia/Tokyo'))).toBe('2026-12-02T00:00:00.000Z');
    expect(iso(zonedInstant('2026-12-02', '09:00', 'America/New_York'))).toBe('2026-12-02T14:00:00.000Z');
    expect(iso(zonedInstant('2026-03-08', '09:00', 'America/New_York'))).toBe('2026-03-08T13:00:00.000Z');
    // 02:30 does not happen in Paris on 2026-03-29: the same wall time an hour on.
    expect(iso(zonedInstant('2026-03-29', '02:30', 'Europe/Paris'))).toBe('2026-03-29T01:30:00.000Z');
  });

  it('finds the next opening in the store’s zone, skipping closed days and honouring exceptions', () => {
    // Wednesday 2026-12-02, 10:00 in Paris: open already, so the next opening is Thursday's.
    const wednesday = new Date('2026-12-02T09:00:00Z');
    expect(nextOpening(weekdays, 'Europe/Paris', wednesday)).toEqual({
      at: Date.parse('2026-12-03T08:00:00Z'),
      date: '2026-12-03',
    });
    // At the very instant it opens, that opening is the next one.
    expect(iso(nextOpening(weekdays, 'Europe/Paris', new Date('2026-12-03T08:00:00Z'))?.at)).toBe(
      '2026-12-03T08:00:00.000Z',
    );
    // Friday evening → Monday.
    expect(nextOpening(weekdays, 'Europe/Paris', new Date('2026-12-04T19:00:00Z'))?.date).toBe('2026-12-07');
    // Christmas Eve opens at 08:00; Christmas Day is closed.
    expect(iso(nextOpening(weekdays, 'Europe/Paris', new Date('2026-12-23T20:00:00Z'))?.at)).toBe(
      '2026-12-24T07:00:00.000Z',
    );
    expect(nextOpening(weekdays, 'Europe/Paris', new Date('2026-12-24T12:00:00Z'))?.date).toBe('2026-12-28');
    // Tokyo's Thursday 09:00 is Wednesday 00:00 UTC.
    expect(nextOpening(weekdays, 'Asia/Tokyo', new Date('2026-12-02T23:00:00Z'))).toEqual({
      at: Date.parse('2026-12-03T00:00:00Z'),
      date: '2026-12-03',
    });
    expect(nextOpening({}, 'Europe/Paris', wednesday)).toBeUndefined();
  });

  it('finds the latest opening at or before an instant', () => {
    expect(lastOpening(weekdays, 'Europe/Paris', new Date('2026-12-02T09:00:00Z'))).toEqual({
      at: Date.parse('2026-12-02T08:00:00Z'),
      date: '2026-12-02',
    });
    expect(lastOpening(weekdays, 'Europe/Paris', new Date('2026-12-06T09:00:00Z'))?.date).toBe('2026-12-04');
    expect(lastOpening(weekdays, 'America/New_York', new Date('2026-12-03T01:00:00Z'))?.date).toBe('2026-12-02');
    expect(lastOpening({}, 'Europe/Paris', new Date())).toBeUndefined();
  });
});
