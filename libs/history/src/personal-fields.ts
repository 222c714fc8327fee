import { ERASED_PERSON, openText } from '@lastmeter/auth';
import type { SealedText } from '@lastmeter/contracts';
import { sealedOf, type Replayed } from './sealed-fields';

/** The keys of those persons that still have one (erased persons have none). */
export type PersonKeyLookup = (personIds: readonly string[]) => Promise<Map<string, Buffer>>;

/** What every sealed field looks like in a logged line (JSON.stringify writes no spaces). */
const SEALED = Buffer.from('"enc":"A256GCM"');
const NEWLINE = 0x0a;

/**
 * A signed-in person's sealed note opened in place: `note`, or `noteErased` once their key
 * is gone; `sealedNote` is removed either way (replay, the board and the evidence pages).
 */
export function openNoteInPlace(
  item: { staffId?: string; sealedNote?: SealedText; note?: string; noteErased?: true },
  key: Buffer | undefined,
): void {
  const note = openText(key, item.staffId ?? '', 'note', item.sealedNote);
  delete item.sealedNote;
  if (note === undefined) item.noteErased = true;
  else item.note = note;
}

/**
 * Opens the sealed personal fields of replayed NDJSON (issue 21, docs/privacy.md), so that
 * a replay or an export reads like the screens do:
 *
 * - `staff.added` / `staff.updated`: `data.name` is the name, or "Erased person" with
 *   `data.nameErased: true` once the person's key is gone;
 * - `task.completed` by a signed-in person: `data.sealedNote` becomes `data.note`, or
 *   `data.noteErased: true`.
 *
 * A chunk without a sealed value (nearly all of them) is handed back as it is after one
 * byte search; only the lines holding one are parsed. Keys are looked up once per chunk for
 * the persons not seen before in this replay, and kept for the rest of it.
 */
export class PersonalFieldOpener {
  private readonly known = new Map<string, Buffer | null>();

  constructor(private readonly keysOf: PersonKeyLookup) {}

  async open(chunk: Buffer): Promise<Buffer> {
    if (chunk.indexOf(SEALED) === -1) return chunk;
    const lines: Array<Buffer | Replayed> = [];
    for (let start = 0; start < chunk.length;) {
      let end = chunk.indexOf(NEWLINE, start);
      if (end === -1) end = chunk.length - 1;
      const line = chunk.subarray(start, end + 1);
      lines.push(line.indexOf(SEALED) === -1 ? line : (JSON.parse(line.toString('utf8')) as Replayed));
      start = end + 1;
    }
    const wanted = new Set<string>();
    for (const line of lines) {
      if (Buffer.isBuffer(line)) continue;
      const personId = sealedOf(line)?.personId;
      if (personId !== undefined && !this.known.has(personId)) wanted.add(personId);
    }
    if (wanted.size > 0) {
      const found = await this.keysOf([...wanted]);
      for (const personId of wanted) this.known.set(personId, found.get(personId) ?? null);
    }
    return Buffer.concat(
      lines.map((line) => {
        if (Buffer.isBuffer(line)) return line;
        const sealed = sealedOf(line);
        const key = sealed && (this.known.get(sealed.personId) ?? undefined);
        if (sealed?.field === 'note') openNoteInPlace(line.data, key);
        else if (sealed) {
          const name = openText(key, sealed.personId, 'name', sealed.sealed);
          line.data.name = name ?? ERASED_PERSON;
          if (name === undefined) line.data.nameErased = true;
        }
        return Buffer.from(`${JSON.stringify(line)}\n`);
      }),
    );
  }
}
