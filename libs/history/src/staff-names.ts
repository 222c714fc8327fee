import type Redis from 'ioredis';
import { ERASED_PERSON, openText } from '@lastmeter/auth';
import type { SealedText } from '@lastmeter/contracts';
import { openNoteInPlace } from './personal-fields';
import { listStaff, PersonKeyMirror, type RedisKeys, type StaffEntry } from '@lastmeter/read-models';

export interface NamedStaff extends StaffEntry {
  /** Opened now, or "Erased person" (no key: docs/privacy.md). */
  displayName: string;
}

/**
 * The staff of some stores with their names opened: the one place the read side turns a
 * sealed name into text, with the keys the projector mirrors from
 * lastmeter.person-keys.v1. A person without a key, or erased, is "Erased person".
 */
export async function namedStaff(redis: Redis, keys: RedisKeys, storeIds: readonly string[]): Promise<NamedStaff[]> {
  const staff = (await Promise.all(storeIds.map((storeId) => listStaff(redis, keys, storeId)))).flat();
  const personKeys = await new PersonKeyMirror(redis, keys).keysOf(staff.map((person) => person.id));
  return staff.map((person) => ({
    ...person,
    displayName:
      (person.status !== 'erased' && openText(personKeys.get(person.id), person.id, 'name', person.name)) ||
      ERASED_PERSON,
  }));
}

interface NoteBearer {
  staffId?: string;
  note?: string;
  noteErased?: true;
  sealedNote?: SealedText;
}

/**
 * Opens the sealed notes of task evidence (a signed-in person's free text, issue 21) in
 * place: the note, or `noteErased` once the person's key is gone. Nothing sealed leaves.
 */
export async function openNotes(redis: Redis, keys: RedisKeys, evidence: NoteBearer[]): Promise<void> {
  const sealed = evidence.filter((item) => item.sealedNote);
  if (sealed.length === 0) return;
  const personKeys = await new PersonKeyMirror(redis, keys).keysOf(sealed.map((item) => item.staffId ?? ''));
  for (const item of sealed) openNoteInPlace(item, personKeys.get(item.staffId ?? ''));
}
