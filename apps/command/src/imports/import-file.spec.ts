import { IMPORT_MAX_ROWS } from '@lastmeter/contracts';
import { ImportFileError, parseImportFile, TooManyRows } from './import-file';
import { checkRow } from './import-rows';

describe('parseImportFile (CSV)', () => {
  it('reads rows by header name, with the line each starts on; empty cells are left out, lists split on ;', () => {
    const csv = [
      'kind,code,name,region,tags,locale,timezone,store,roles',
      'region,north,North,,,,,,',
      '',
      'store,paris-01, Paris Opéra ,north,flagship; city,fr-FR,Europe/Paris,,',
      'terminal,,Till 1,,,,,paris-01,cashier;sales',
    ].join('\r\n');
    expect(parseImportFile(csv, 'csv')).toEqual([
      { line: 2, values: { kind: 'region', code: 'north', name: 'North' } },
      {
        line: 4,
        values: {
          kind: 'store',
          code: 'paris-01',
          name: 'Paris Opéra',
          region: 'north',
          tags: ['flagship', 'city'],
          locale: 'fr-FR',
          timezone: 'Europe/Paris',
        },
      },
      { line: 5, values: { kind: 'terminal', name: 'Till 1', store: 'paris-01', roles: ['cashier', 'sales'] } },
    ]);
  });

  it('takes columns in any order and in any case, and a byte order mark', () => {
    expect(parseImportFile('\ufeffName,KIND,code\nNorth,region,north\n', 'csv')).toEqual([
      { line: 2, values: { kind: 'region', code: 'north', name: 'North' } },
    ]);
  });

  it('reads quoted cells with commas, quotes and line breaks, and counts their lines', () => {
    const csv = 'kind,code,name\nregion,a,"North, ""upper""\nside"\nregion,b,B\n';
    expect(parseImportFile(csv, 'csv')).toEqual([
      { line: 2, values: { kind: 'region', code: 'a', name: 'North, "upper"\nside' } },
      { line: 4, values: { kind: 'region', code: 'b', name: 'B' } },
    ]);
  });

  it('marks a row whose cell count differs from the header', () => {
    expect(parseImportFile('kind,code,name\nregion,a\n', 'csv')).toEqual([
      { line: 2, values: {}, problem: '2 cell(s) where the header has 3' },
    ]);
  });

  it.each([
    ['an empty file', '', /empty/],
    ['an unknown column', 'kind,code,colour\n', /unknown column\(s\) "colour"/],
    ['no kind column', 'code,name\n', /no "kind" column/],
    ['a column named twice', 'kind,code,code\n', /named twice: code/],
    ['a quote never closed', 'kind,code,name\nregion,a,"North\n', /opened on line 2 is never closed/],
  ])('refuses %s as a whole', (_what, csv, message) => {
    expect(() => parseImportFile(csv, 'csv')).toThrow(ImportFileError);
    expect(() => parseImportFile(csv, 'csv')).toThrow(message);
  });

  it('refuses more than IMPORT_MAX_ROWS rows', () => {
    const csv = `kind,code,name\n${'region,a,A\n'.repeat(IMPORT_MAX_ROWS + 1)}`;
    expect(() => parseImportFile(csv, 'csv')).toThrow(TooManyRows);
  });
});

describe('parseImportFile (NDJSON)', () => {
  it('reads one object per line, skips blank lines, trims strings, and marks lines that are not objects', () => {
    const ndjson = [
      '{"kind":"region","code":"north","name":" North "}',
      '',
      '{"kind":"store","code":"s1","tags":[" a ","b"]}',
      'not json',
      '[1,2]',
    ].join('\n');
    expect(parseImportFile(ndjson, 'ndjson')).toEqual([
      { line: 1, values: { kind: 'region', code: 'north', name: 'North' } },
      { line: 3, values: { kind: 'store', code: 's1', tags: ['a', 'b'] } },
      { line: 4, values: {}, problem: 'not valid JSON' },
      { line: 5, values: {}, problem: 'not a JSON object' },
    ]);
  });
});

describe('checkRow', () => {
  const row = (values: Record<string, unknown>) => checkRow({ line: 7, values });

  it('types a valid row with its natural key', () => {
    expect(row({ kind: 'store', code: 'Paris-01', name: 'Paris', region: 'north', timezone: 'Europe/Paris' })).toEqual({
      checked: expect.objectContaining({ line: 7, kind: 'store', key: 'paris-01', label: 'Paris-01' }),
    });
    expect(row({ kind: 'terminal', store: 'Paris-01', name: 'Till 1', roles: ['cashier'] })).toEqual({
      checked: expect.objectContaining({ kind: 'terminal', key: 'paris-01/till 1', label: 'Paris-01/Till 1' }),
    });
  });

  it.each([
    ['a bad timezone', { timezone: 'Mars/Olympus' }, ['timezone']],
    ['an oversized name', { name: 'x'.repeat(121) }, ['name']],
    ['a bad code', { code: 'no spaces please' }, ['code']],
    ['too many tags', { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, ['tags']],
    ['an oversized tag', { tags: ['y'.repeat(51)] }, ['tags']],
    ['a bad locale', { locale: 'not a locale!' }, ['locale']],
    ['a field of another kind', { roles: ['cashier'] }, ['roles']],
    ['a missing region', { region: undefined }, ['region']],
  ])('refuses a store with %s, naming the field', (_what, change, fields) => {
    const result = row({ kind: 'store', code: 's1', name: 'S', region: 'north', ...change });
    expect(result).toEqual({
      refusal: expect.objectContaining({
        line: 7,
        kind: 'store',
        key: expect.any(String),
        message: expect.any(String),
      }),
    });
    expect(Object.keys((result as { refusal: { fields: object } }).refusal.fields)).toEqual(fields);
  });

  it('refuses an unknown kind, an unknown role and a terminal without a name', () => {
    expect(row({ kind: 'warehouse', code: 'w' })).toMatchObject({
      refusal: { fields: { kind: [expect.any(String)] } },
    });
    expect(row({ kind: 'terminal', store: 's1', name: 'T', roles: ['boss'] })).toMatchObject({
      refusal: { fields: { roles: [expect.any(String)] } },
    });
    expect(row({ kind: 'terminal', store: 's1' })).toMatchObject({ refusal: { fields: { name: expect.any(Array) } } });
  });

  it('passes a row that could not be read on as a refusal', () => {
    expect(checkRow({ line: 3, values: {}, problem: 'not valid JSON' })).toEqual({
      refusal: { line: 3, message: 'not valid JSON', fields: { row: ['not valid JSON'] } },
    });
  });
});
