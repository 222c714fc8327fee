/** Row-by-row validation of an import file: one class-validator class per kind, like the directory DTOs. */
import { plainToInstance } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsLocale,
  IsOptional,
  isTimeZone,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateBy,
  validateSync,
} from 'class-validator';
import {
  flattenValidationErrors,
  IMPORT_FIELDS,
  IMPORT_KINDS,
  STORE_ROLES,
  type ImportKind,
  type ImportRefusal,
  type OpeningHours,
  type StoreRole,
} from '@lastmeter/contracts';
import { OptionalOpeningHours } from '../http/opening-hours.decorator';
import { OptionalTags } from '../http/tags.decorator';
import { CODE, CODE_MESSAGE } from '../directory/directory.dto';
import { PIN } from '@lastmeter/auth';
import type { RawRow } from './import-file';

/** Answers of class-validator's isTimeZone (an Intl.DateTimeFormat each, ~50 µs) by value; a file has few zones. */
const zones = new Map<string, boolean>();

/**
 * `@IsTimeZone()` of POST /v1/stores, the same check (Intl knows the IANA zone), memoised:
 * 50,000 rows naming a dozen zones ask Intl a dozen times.
 */
function IsKnownTimeZone(): PropertyDecorator {
  return ValidateBy({
    name: 'isTimeZone',
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || value.length > 64) return false;
        let known = zones.get(value);
        if (known === undefined) {
          known = isTimeZone(value);
          if (zones.size >= 10_000) zones.clear();
          zones.set(value, known);
        }
        return known;
      },
      defaultMessage: () => '$property must be a valid IANA time-zone',
    },
  });
}

/** Same rules as POST /v1/regions. */
export class RegionRow {
  @IsString() @Matches(CODE, { message: `code ${CODE_MESSAGE}` }) code!: string;
  @IsString() @MinLength(1) @MaxLength(120) name!: string;
}

/** Same rules as POST /v1/stores, with the region given by its code. */
export class StoreRow {
  @IsString() @Matches(CODE, { message: `code ${CODE_MESSAGE}` }) code!: string;
  @IsString() @MinLength(1) @MaxLength(120) name!: string;
  @IsString() @Matches(CODE, { message: `region ${CODE_MESSAGE}` }) region!: string;

  @OptionalTags()
  tags?: string[];

  @IsOptional() @IsLocale() locale?: string;
  @IsOptional() @IsKnownTimeZone() timezone?: string;

  /** Opening hours: the object (NDJSON), or in a CSV cell `mon-fri 08:00-20:00; 2026-12-25 closed`. */
  @OptionalOpeningHours({ text: true })
  hours?: OpeningHours | string;
}

/** Same rules as POST /v1/terminals, with the store given by its code and a name required (the natural key). */
export class TerminalRow {
  @IsString() @Matches(CODE, { message: `store ${CODE_MESSAGE}` }) store!: string;
  @IsString() @MinLength(1) @MaxLength(120) name!: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(STORE_ROLES.length)
  @IsIn(STORE_ROLES, { each: true })
  roles?: StoreRole[];
}

/** Same rules as POST /v1/stores/:storeId/staff, with the store given by its code and the person by their HR reference. */
export class StaffRow {
  @IsString() @Matches(CODE, { message: `store ${CODE_MESSAGE}` }) store!: string;
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: 'employee must be 1-64 letters, digits, ., _ or -: the reference of the person in your HR system',
  })
  employee!: string;
  @IsString() @MinLength(1) @MaxLength(100) name!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(STORE_ROLES.length)
  @ArrayUnique()
  @IsIn(STORE_ROLES, { each: true })
  roles!: StoreRole[];

  /** Required for a new person; absent on a re-import: the PIN stays. */
  @IsOptional() @IsString() @Matches(PIN, { message: 'pin must be 4 to 6 digits' }) pin?: string;
}

const ROW_CLASSES = { region: RegionRow, store: StoreRow, terminal: TerminalRow, staff: StaffRow } as const;

export type CheckedRow =
  | { line: number; kind: 'region'; key: string; label: string; row: RegionRow }
  | { line: number; kind: 'store'; key: string; label: string; row: StoreRow }
  | { line: number; kind: 'terminal'; key: string; label: string; row: TerminalRow }
  | { line: number; kind: 'staff'; key: string; label: string; row: StaffRow };

/** The natural key of a row (lower case), and how the file spells it; undefined when the row has none yet. */
export function naturalKeyOf(
  kind: ImportKind,
  values: Record<string, unknown>,
): { key: string; label: string } | undefined {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  if (kind === 'terminal' || kind === 'staff') {
    const store = text(values.store);
    // A person is known by their HR reference in the store, never by their name (personal data).
    const name = text(kind === 'staff' ? values.employee : values.name);
    return store && name
      ? { key: `${store.toLowerCase()}/${name.toLowerCase()}`, label: `${store}/${name}` }
      : undefined;
  }
  const code = text(values.code);
  return code ? { key: code.toLowerCase(), label: code } : undefined;
}

/**
 * One row checked on its own: readable, a known kind, only its kind's fields, each field
 * valid. Either the typed row or a refusal naming every field at fault.
 */
export function checkRow(raw: RawRow): { checked: CheckedRow } | { refusal: ImportRefusal } {
  if (raw.problem) return { refusal: { line: raw.line, message: raw.problem, fields: { row: [raw.problem] } } };
  const kind = raw.values.kind;
  if (typeof kind !== 'string' || !(IMPORT_KINDS as readonly string[]).includes(kind)) {
    const message = `kind must be one of ${IMPORT_KINDS.join(', ')}`;
    return { refusal: { line: raw.line, message, fields: { kind: [message] } } };
  }
  const { kind: _kind, ...values } = raw.values;
  const known = naturalKeyOf(kind as ImportKind, values);
  const fields: Record<string, string[]> = {};
  for (const field of Object.keys(values)) {
    if (!(IMPORT_FIELDS[kind as ImportKind] as readonly string[]).includes(field)) {
      fields[field] = [`not a field of a ${kind} row (its fields are ${IMPORT_FIELDS[kind as ImportKind].join(', ')})`];
      delete values[field];
    }
  }
  const row = plainToInstance(ROW_CLASSES[kind as ImportKind] as new () => object, values);
  Object.assign(fields, flattenValidationErrors(validateSync(row, { whitelist: true, stopAtFirstError: false })));
  if (Object.keys(fields).length > 0) {
    return {
      refusal: {
        line: raw.line,
        kind,
        ...(known ? { key: known.label } : {}),
        message: `invalid ${kind}: ${Object.keys(fields).join(', ')}`,
        fields,
      },
    };
  }
  return { checked: { line: raw.line, kind, key: known!.key, label: known!.label, row } as CheckedRow };
}
