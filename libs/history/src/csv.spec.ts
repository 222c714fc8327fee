import { parse } from 'csv-parse/sync';
import type { DomainEvent } from '@lastmeter/contracts';
import { EVENT_CSV_COLUMNS, eventCsv, eventCsvRow, safeCsv, safeCsvText } from './csv';

/** Everything a stringifier writes for the given rows, as one string. */
async function render(csv: ReturnType<typeof safeCsv>, rows: unknown[]): Promise<string> {
  const chunks: string[] = [];
  csv.on('data', (chunk: Buffer | string) => chunks.push(chunk.toString()));
  const done = new Promise<void>((resolve, reject) => {
    csv.once('end', resolve);
    csv.once('error', reject);
  });
  for (const row of rows) csv.write(row);
  csv.end();
  await done;
  return chunks.join('');
}

describe('safeCsv', () => {
  it.each([
    ['=', '=HYPERLINK("http://x","y")'],
    ['+', '+1+cmd|" /C calc"!A0'],
    ['-', '-2+3'],
    ['@', '@SUM(1+1)'],
    ['tab', '\t=1+1'],
    ['carriage return', '\r=1+1'],
    ['full-width =', '＝1+1'],
  ])('prefixes a cell starting with %s with a single quote', async (_, cell) => {
    const text = await render(safeCsv({ header: true, columns: ['cell', 'other'] }), [{ cell, other: 'plain' }]);
    const [row] = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(row).toEqual({ cell: `'${cell}`, other: 'plain' });
  });

  it('leaves every other cell byte for byte as csv-stringify writes it (RFC 4180)', async () => {
    const rows = [
      {
        a: '2026-11-01T08:00:00.000Z',
        b: 'Réassort café: "grains", moulu',
        c: '',
        d: '0.5',
        e: 'a=b',
        f: "'already quoted",
        g: 'line\nbreak',
      },
    ];
    const columns = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const text = await render(safeCsv({ header: true, columns, bom: true }), rows);
    expect(text).toBe(
      '\uFEFFa,b,c,d,e,f,g\n' +
        '2026-11-01T08:00:00.000Z,"Réassort café: ""grains"", moulu",,0.5,a=b,\'already quoted,"line\nbreak"\n',
    );
  });

  it('quotes a neutralised cell when it holds a delimiter, a quote or a line break', async () => {
    const text = await render(safeCsv(), [['=A1,B1', '@"x"', '\rcmd']]);
    expect(text).toBe('"\'=A1,B1","\'@""x""","\'\rcmd"\n');
    expect(parse(text)).toEqual([["'=A1,B1", '\'@"x"', "'\rcmd"]]);
  });
});

describe('safeCsvText (the enrollment codes of an import)', () => {
  it('writes the header and the rows in one string, formulas neutralised, quoting as RFC 4180', () => {
    const text = safeCsvText(
      ['store_code', 'terminal_name'],
      [
        ['paris-01', '=HYPERLINK("x")'],
        ['lyon-01', 'Till, 2'],
      ],
    );
    expect(text).toBe('store_code,terminal_name\nparis-01,"\'=HYPERLINK(""x"")"\nlyon-01,"Till, 2"\n');
    expect(parse(text, { columns: true })).toEqual([
      { store_code: 'paris-01', terminal_name: '\'=HYPERLINK("x")' },
      { store_code: 'lyon-01', terminal_name: 'Till, 2' },
    ]);
  });
});

describe('eventCsv (lastmeter replay --format csv)', () => {
  it('neutralises formulas in any column of an event row', async () => {
    const event = {
      id: '00000000-0000-4000-8000-000000000001',
      type: 'communication.drafted',
      schemaVersion: 2,
      aggregateType: 'communication',
      aggregateId: '00000000-0000-4000-8000-000000000002',
      aggregateVersion: 1,
      occurredAt: '2026-11-01T08:00:00.000Z',
      actor: { id: '=cmd|" /C calc"!A0', role: 'hq-editor' },
      correlationId: '-1',
      data: { title: '=HYPERLINK("http://x","y")' },
    } as unknown as DomainEvent;
    const text = await render(eventCsv(), [eventCsvRow(event)]);
    const [row] = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(row)).toEqual([...EVENT_CSV_COLUMNS]);
    expect(row.actorId).toBe('\'=cmd|" /C calc"!A0');
    expect(row.correlationId).toBe("'-1");
    // The data column is JSON (starts with `{`): unchanged, and still parses.
    expect(JSON.parse(row.data)).toEqual({ title: '=HYPERLINK("http://x","y")' });
    expect(row.occurredAt).toBe('2026-11-01T08:00:00.000Z');
    expect(row.schemaVersion).toBe('2');
  });
});
