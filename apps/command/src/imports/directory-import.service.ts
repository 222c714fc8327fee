/** Bulk directory import: regions, stores and terminals from one file, through the batched command bus. */
import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import type {
  Actor,
  CommandOutcome,
  ImportedCode,
  ImportKind,
  ImportPending,
  ImportRefusal,
  ImportSummary,
} from '@lastmeter/contracts';
import type { AnyCommand, StaffState, TerminalState } from '@lastmeter/domain';
import { hashPin, openText, pinPepper, sealText } from '@lastmeter/auth';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { DirectoryLookup } from '../directory/directory-lookup';
import { PersonKeys } from '../staff/person-keys';
import {
  ACKNOWLEDGED_WRITES,
  AGGREGATE_STORE,
  CLOCK,
  type Clock,
  CommandBus,
  EventTail,
  naturalAggregateId,
  type AggregateStore,
  type BatchResult,
  type Dispatch,
} from '@lastmeter/write-engine';
import { enrollmentExpiry, hashEnrollmentCode, newEnrollmentCode } from '../directory/enrollment-code';
import { openingHoursOf } from '../http/opening-hours.decorator';
import type { RawRow } from './import-file';
import { checkRow, type CheckedRow, type StoreRow } from './import-rows';

export interface ImportOptions {
  /** Rows with a final status so far, of all rows; called as the import goes. */
  onProgress?: (done: number, total: number) => void;
  /** Once aborted (the client went away), nothing more is sent. */
  signal?: AbortSignal;
}

/** Where a field the decider names is in the file. */
const FILE_FIELDS: Record<string, string> = { regionId: 'region', storeId: 'store' };

type Row<K extends ImportKind> = Extract<CheckedRow, { kind: K }>;

/**
 * Imports a directory file row by row (docs/operations.md "Importing the directory").
 *
 * 1. Each row is checked on its own (kind, fields, class-validator rules as on the
 *    one-by-one routes); the second row with a natural key already in the file is refused.
 * 2. Regions, then stores, then terminals, each kind as one batch of the command bus
 *    (`dispatchMany`): a row refers to a region or store that exists or that a row above
 *    it in the file has imported. A store's region and a terminal's store are checked here
 *    and again by the decider.
 * 3. Each row is one `*.import` command on its natural-key aggregate, decided by the
 *    partition's single writer: created, updated (stores), unchanged (no event), or
 *    refused (no event). So running the same file again changes nothing.
 *
 * Enrollment codes are made here, as for POST /v1/terminals; only their hashes travel.
 * They are returned once in the summary and never logged.
 */
@Injectable()
export class DirectoryImport {
  private readonly logger = new Logger(DirectoryImport.name);
  private running = false;

  constructor(
    private readonly bus: CommandBus,
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    private readonly tail: EventTail,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly keys: PersonKeys,
    private readonly lookup: DirectoryLookup,
    @Inject(APP_CONFIG) config: AppConfig<'command'>,
  ) {
    this.pepper = pinPepper(config.LASTMETER_JWT_SECRET);
  }

  /** Keys the PIN hashes (hashPin). */
  private readonly pepper: Buffer;

  /** One import at a time per instance (bounded memory): the slot, or undefined when taken. */
  acquire(): { release(): void } | undefined {
    if (this.running) return undefined;
    this.running = true;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running = false;
      },
    };
  }

  async run(rows: readonly RawRow[], actor: Actor, options: ImportOptions = {}): Promise<ImportSummary> {
    const started = Date.now();
    const run = new ImportRun(rows.length, options);

    const valid = {
      region: [] as Row<'region'>[],
      store: [] as Row<'store'>[],
      terminal: [] as Row<'terminal'>[],
      staff: [] as Row<'staff'>[],
    };
    /** Line of the first row of each natural key, by kind: a later row with the key is a duplicate. */
    const firstLine: Record<ImportKind, Map<string, number>> = {
      region: new Map(),
      store: new Map(),
      terminal: new Map(),
      staff: new Map(),
    };
    const claim = (kind: ImportKind, key: string, line: number): number | undefined => {
      const first = firstLine[kind].get(key);
      if (first === undefined) firstLine[kind].set(key, line);
      return first;
    };
    for (const raw of rows) {
      const result = checkRow(raw);
      if ('refusal' in result) {
        // A refused row with a natural key still claims it.
        const { kind, key } = result.refusal;
        if (kind && key) claim(kind as ImportKind, key.toLowerCase(), raw.line);
        run.refuse(result.refusal);
        continue;
      }
      const { checked } = result;
      const first = claim(checked.kind, checked.key, checked.line);
      if (first !== undefined) {
        const [field, what] =
          checked.kind === 'terminal'
            ? ['name', `terminal ${checked.label}`]
            : checked.kind === 'staff'
              ? ['employee', `employee ${checked.label}`]
              : ['code', `${checked.kind} ${checked.label}`];
        const message = `duplicate: ${what} is already on line ${first}`;
        run.refuse({
          line: checked.line,
          kind: checked.kind,
          key: checked.label,
          message,
          fields: { [field]: [message] },
        });
        continue;
      }
      (valid[checked.kind] as CheckedRow[]).push(checked);
    }

    // What other instances committed a moment ago counts as existing (ACKNOWLEDGED_WRITES).
    // References are resolved against the directory as it was before this import, plus
    // the rows above.
    await this.tail.catchUp(undefined, ACKNOWLEDGED_WRITES);
    const existedBefore = {
      region: new Set(
        valid.store.map((row) => row.row.region.toLowerCase()).filter((key) => this.exists('region', key)),
      ),
      store: new Set(
        [...valid.terminal, ...valid.staff]
          .map((row) => row.row.store.toLowerCase())
          .filter((key) => this.exists('store', key)),
      ),
    };

    await run.dispatch(this.bus, 'region', valid.region, (row) => ({
      command: { type: 'region.import', payload: { code: row.row.code, name: row.row.name } },
      actor,
      naturalKey: row.key,
    }));

    const stores = valid.store.filter((row) =>
      run.resolves(row, 'region', row.row.region, firstLine.region, existedBefore.region),
    );
    await run.dispatch(this.bus, 'store', stores, (row) => ({
      command: { type: 'store.import', payload: storePayload(row.row) },
      actor,
      naturalKey: row.key,
    }));

    await this.loadTerminalsOf(run, valid.terminal);
    const terminals = valid.terminal.filter(
      (row) =>
        run.resolves(row, 'store', row.row.store, firstLine.store, existedBefore.store) &&
        !this.knownTerminal(run, row),
    );
    const expiresAt = enrollmentExpiry(this.clock.now());
    // Made for every terminal sent; only those the decider registers are ever valid.
    const codes = terminals.map(() => newEnrollmentCode());
    await run.dispatch(
      this.bus,
      'terminal',
      terminals,
      (row, i) => ({
        command: {
          type: 'terminal.import',
          payload: {
            storeId: naturalAggregateId('store.import', row.row.store.toLowerCase()),
            name: row.row.name,
            roles: row.row.roles ?? [],
            enrollmentCodeHash: hashEnrollmentCode(codes[i]!),
            enrollmentExpiresAt: expiresAt,
          },
        },
        actor,
        naturalKey: row.key,
      }),
      (row, i, result, status) => {
        if (status !== 'created' && status !== 'pending') return;
        run.codes.push({
          line: row.line,
          storeCode: row.row.store,
          terminalName: row.row.name,
          terminalId: result.aggregateId,
          enrollmentCode: codes[i]!,
          expiresAt,
          status,
        });
      },
    );

    await this.importStaff(run, actor, valid.staff, firstLine.store, existedBefore.store);

    const summary = run.summary();
    this.logger.log(
      `import by ${actor.id}: ${rows.length} rows in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `created ${counts(summary.created)}; updated ${counts(summary.updated)}; unchanged ${counts(summary.unchanged)}; ` +
        `refused ${summary.refused.length}; pending ${summary.pending.length}`,
    );
    return summary;
  }

  /**
   * Staff rows (issue 21), after their stores. A new person gets a key (written and
   * mirrored before the commands, as POST /v1/stores/:storeId/staff does) and their name
   * sealed with it; a known person's name is opened and compared, and sent sealed only
   * when it changed; a PIN only when new or different. Keys of people whose row was then
   * refused are deleted again.
   */
  private async importStaff(
    run: ImportRun,
    actor: Actor,
    rows: ReadonlyArray<Row<'staff'>>,
    storeLines: ReadonlyMap<string, number>,
    existedBefore: ReadonlySet<string>,
  ): Promise<void> {
    const staff = rows.filter((row) => run.resolves(row, 'store', row.row.store, storeLines, existedBefore));
    if (staff.length === 0) return;
    const ids = staff.map((row) => naturalAggregateId('staff.import', row.key));
    await this.store.load(ids.map((id) => ['staff', id] as const));
    const states = ids.map((id) => this.store.get('staff', id).state as StaffState);
    const fresh = ids.filter((_, i) => !states[i]!.exists && staff[i]!.row.pin);
    const keys = await this.keys.keysOf(ids.filter((_, i) => states[i]!.exists));
    for (const [id, key] of await this.keys.createMany(fresh, this.clock.now())) keys.set(id, key);
    const created = new Set(fresh);
    const payloads = staff.map((row, i) => {
      const id = ids[i]!;
      const state = states[i]!;
      const key = keys.get(id);
      const storeId = naturalAggregateId('store.import', row.row.store.toLowerCase());
      const sameName = state.exists && openText(key, id, 'name', state.name) === row.row.name;
      const storedPin = this.lookup.pinHashOf(id);
      const pinHash = row.row.pin ? hashPin(this.pepper, id, row.row.pin) : undefined;
      return {
        storeId,
        roles: row.row.roles,
        ...(key && !sameName ? { name: sealText(key, id, 'name', row.row.name) } : {}),
        ...(pinHash && pinHash !== storedPin ? { pinHash } : {}),
      };
    });
    const refusedNew: string[] = [];
    await run.dispatch(
      this.bus,
      'staff',
      staff,
      (row, i) => ({ command: { type: 'staff.import', payload: payloads[i]! }, actor, naturalKey: row.key }),
      (_row, i, _result, status) => {
        if (status === 'refused' && created.has(ids[i]!)) refusedNew.push(ids[i]!);
      },
    );
    await Promise.all(refusedNew.map((id) => this.keys.discard(id).catch(() => undefined)));
  }

  /** Whether the region or store of a natural key (lower-case code) is in the directory. */
  private exists(type: 'region' | 'store', key: string): boolean {
    const id = naturalAggregateId(`${type}.import`, key);
    return (this.store.get(type, id).state as { exists?: boolean }).exists === true;
  }

  /**
   * The terminals already registered in the stores that the file's terminal rows name, by
   * store and lower-cased name (terminals are not all in memory: loaded from snapshots).
   */
  private async loadTerminalsOf(run: ImportRun, rows: ReadonlyArray<Row<'terminal'>>): Promise<void> {
    const storeIds = new Set(rows.map((row) => naturalAggregateId('store.import', row.row.store.toLowerCase())));
    const ids = (await Promise.all([...storeIds].map((storeId) => this.store.terminalIdsOf(storeId)))).flat();
    run.terminalsByName = new Map();
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000);
      await this.store.load(chunk.map((id) => ['terminal', id] as const));
      for (const id of chunk) {
        const state = this.store.get('terminal', id).state as TerminalState;
        if (state.exists) run.terminalsByName.set(`${state.storeId}/${state.name.toLowerCase()}`, state);
      }
    }
  }

  /**
   * A terminal registered one by one (POST /v1/terminals, a random id) with the row's store
   * and name: the row is settled here, like the decider would (same roles: unchanged,
   * others: refused), so an import never makes a second terminal of that name.
   */
  private knownTerminal(run: ImportRun, row: Row<'terminal'>): boolean {
    const storeId = naturalAggregateId('store.import', row.row.store.toLowerCase());
    const found = run.terminalsByName?.get(`${storeId}/${row.row.name.toLowerCase()}`);
    if (!found || found.id === naturalAggregateId('terminal.import', row.key)) return false;
    const sorted = (roles: readonly string[]) => [...new Set(roles)].sort().join(',');
    if (sorted(found.roles) === sorted(row.row.roles ?? [])) {
      run.count('unchanged', 'terminal');
    } else {
      const message =
        `terminal "${found.name}" exists with roles [${found.roles.join(', ')}]; a terminal's roles cannot be ` +
        'changed (revoke it and import it under another name)';
      run.refuse({ line: row.line, kind: 'terminal', key: row.label, message, fields: { roles: [message] } });
    }
    return true;
  }
}

function storePayload(row: StoreRow): Extract<AnyCommand, { type: 'store.import' }>['payload'] {
  return {
    code: row.code,
    name: row.name,
    regionId: naturalAggregateId('region.import', row.region.toLowerCase()),
    ...(row.tags !== undefined ? { tags: row.tags } : {}),
    ...(row.locale !== undefined ? { locale: row.locale } : {}),
    ...(row.timezone !== undefined ? { timezone: row.timezone } : {}),
    ...(row.hours !== undefined ? { openingHours: openingHoursOf(row.hours) } : {}),
  };
}

function counts(c: ImportSummary['created']): string {
  return `${c.regions} regions, ${c.stores} stores, ${c.terminals} terminals, ${c.staff} staff`;
}

type RowStatus = 'created' | 'updated' | 'unchanged' | 'refused' | 'pending';

const COUNTED: Record<ImportKind, keyof ImportSummary['created']> = {
  region: 'regions',
  store: 'stores',
  terminal: 'terminals',
  staff: 'staff',
};

/** The state of one import as it goes: counts, refusals, progress, what the file imported. */
class ImportRun {
  readonly created = { regions: 0, stores: 0, terminals: 0, staff: 0 };
  readonly updated = { regions: 0, stores: 0, terminals: 0, staff: 0 };
  readonly unchanged = { regions: 0, stores: 0, terminals: 0, staff: 0 };
  readonly refused: ImportRefusal[] = [];
  readonly pending: ImportPending[] = [];
  readonly codes: ImportedCode[] = [];
  /** Natural keys of the regions and stores the file imported (not refused), with their line. */
  readonly imported = { region: new Map<string, number>(), store: new Map<string, number>() };
  terminalsByName?: Map<string, TerminalState>;
  private done = 0;
  /** Some command reached the log (decided or pending): from then on, no 503. */
  private reachedLog = false;

  constructor(
    private readonly total: number,
    private readonly options: ImportOptions,
  ) {}

  refuse(refusal: ImportRefusal): void {
    this.refused.push(refusal);
    this.done++;
  }

  count(what: 'created' | 'updated' | 'unchanged', kind: ImportKind): void {
    this[what][COUNTED[kind]]++;
    this.done++;
  }

  /**
   * Whether a row's reference (a store's region, a terminal's store) resolves: imported
   * by a row above, or in the directory before the import and not on a row below (a file
   * that names it below is refused every time, so a second run answers the same). If
   * not, the row is refused, naming the field.
   */
  resolves(
    row: CheckedRow,
    kind: 'region' | 'store',
    code: string,
    firstLine: ReadonlyMap<string, number>,
    existedBefore: ReadonlySet<string>,
  ): boolean {
    const key = code.toLowerCase();
    const inFile = firstLine.get(key);
    let problem: string | undefined;
    if (inFile !== undefined && inFile > row.line) {
      problem = `${kind} ${code} comes later in the file (line ${inFile}); put a ${kind} before the rows that use it`;
    } else if (!this.imported[kind].has(key) && !existedBefore.has(key)) {
      problem =
        inFile === undefined
          ? `unknown ${kind} ${code}`
          : `${kind} ${code} was not imported (line ${inFile} was refused)`;
    }
    if (problem) {
      this.refuse({ line: row.line, kind: row.kind, key: row.label, message: problem, fields: { [kind]: [problem] } });
    }
    return problem === undefined;
  }

  /** Sends one kind's rows as one batch and records each outcome. */
  async dispatch<K extends ImportKind>(
    bus: CommandBus,
    kind: K,
    rows: readonly Row<K>[],
    request: (row: Row<K>, index: number) => Dispatch,
    onResult?: (row: Row<K>, index: number, result: BatchResult, status: RowStatus) => void,
  ): Promise<void> {
    if (rows.length === 0) return;
    const base = this.done;
    const results = await bus.dispatchMany(rows.map(request), {
      signal: this.options.signal,
      onProgress: (settled, chunk) => {
        if (chunk.some((r) => r.status === 'decided' || r.status === 'pending')) this.reachedLog = true;
        if (this.reachedLog) this.options.onProgress?.(base + settled, this.total);
      },
    });
    if (!this.reachedLog && results.every((r) => r.status === 'unconfirmed' || r.status === 'unsent')) {
      const reason = results.find((r) => 'reason' in r) as { reason: string } | undefined;
      throw new ServiceUnavailableException({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `${reason?.reason ?? 'the event log is unreachable'}: nothing was imported; retry later`,
      });
    }
    results.forEach((result, i) => {
      const row = rows[i]!;
      const status = this.record(kind, row, result);
      onResult?.(row, i, result, status);
    });
  }

  private record(kind: ImportKind, row: CheckedRow, result: BatchResult): RowStatus {
    const where = { line: row.line, kind, key: row.label };
    switch (result.status) {
      case 'decided': {
        const { outcome } = result;
        if (!outcome.ok) {
          this.refuse({ ...where, message: outcome.message, ...fieldsOf(outcome) });
          return 'refused';
        }
        if (kind === 'region' || kind === 'store') this.imported[kind].set(row.key, row.line);
        const status = outcome.status === 201 ? 'created' : outcome.body.eventIds.length > 0 ? 'updated' : 'unchanged';
        this.count(status, kind);
        return status;
      }
      case 'pending':
      case 'unconfirmed':
        if (kind === 'region' || kind === 'store') this.imported[kind].set(row.key, row.line);
        this.pending.push({
          ...where,
          message:
            result.status === 'pending'
              ? 'sent, but no decision came back in time; it will be decided: run the same file again to see the outcome'
              : `${result.reason} while it was sent: it may or may not be written; run the same file again`,
        });
        this.done++;
        return 'pending';
      case 'unsent': {
        const message = `not imported: ${result.reason}; nothing was written for this row, run the same file again`;
        this.refuse({ ...where, message, fields: { row: [message] } });
        return 'refused';
      }
    }
  }

  summary(): ImportSummary {
    return {
      rows: this.total,
      created: this.created,
      updated: this.updated,
      unchanged: this.unchanged,
      refused: [...this.refused].sort((a, b) => a.line - b.line),
      pending: [...this.pending].sort((a, b) => a.line - b.line),
      codes: [...this.codes].sort((a, b) => a.line - b.line),
    };
  }
}

/** The decider's per-field errors under the file's column names. */
function fieldsOf(outcome: Extract<CommandOutcome, { ok: false }>): { fields?: Record<string, string[]> } {
  if (!outcome.fields) return {};
  return {
    fields: Object.fromEntries(
      Object.entries(outcome.fields).map(([field, messages]) => [FILE_FIELDS[field] ?? field, messages]),
    ),
  };
}
