import { newPersonKey, sealText } from '@lastmeter/auth';
import { PersonalFieldOpener } from './personal-fields';

const ana = { id: 'st-ana', key: newPersonKey() };
const bo = { id: 'st-bo', key: newPersonKey() };

const line = (event: object) => `${JSON.stringify(event)}\n`;
const added = (person: { id: string; key: Buffer }, name: string) => ({
  type: 'staff.added',
  aggregateId: person.id,
  data: { storeId: 's1', name: sealText(person.key, person.id, 'name', name), roles: ['cashier'] },
});
const completed = (person: { id: string; key: Buffer }, note: string) => ({
  type: 'task.completed',
  aggregateId: 's1',
  data: { communicationId: 'c1', staffId: person.id, sealedNote: sealText(person.key, person.id, 'note', note) },
});
const plain = { type: 'receipt.recorded', aggregateId: 's1', data: { staffId: ana.id } };

/** A lookup that knows Ana only (Bo is erased), counting the persons it was asked for. */
function lookup() {
  const asked: string[][] = [];
  return {
    asked,
    keysOf: (ids: readonly string[]) => {
      asked.push([...ids]);
      return Promise.resolve(new Map(ids.includes(ana.id) ? [[ana.id, ana.key]] : []));
    },
  };
}

const lines = (chunk: Buffer) =>
  chunk
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((text) => JSON.parse(text) as { type: string; data: Record<string, unknown> });

it('hands a chunk without sealed fields back as it is, asking for no key', async () => {
  const { asked, keysOf } = lookup();
  const chunk = Buffer.from(line(plain) + line(plain));
  expect(await new PersonalFieldOpener(keysOf).open(chunk)).toBe(chunk);
  expect(asked).toEqual([]);
});

it('opens names and notes, shows an erased person as erased, and leaves the other lines byte for byte', async () => {
  const { asked, keysOf } = lookup();
  const opener = new PersonalFieldOpener(keysOf);
  const chunk = Buffer.from(
    line(plain) + line(added(ana, 'Ana Lima')) + line(added(bo, 'Bo Berg')) + line(completed(ana, 'shelf 3 done')),
  );
  const opened = await opener.open(chunk);
  const [first, anaAdded, boAdded, note] = lines(opened);
  expect(opened.toString('utf8').split('\n')[0]).toBe(JSON.stringify(plain));
  expect(first).toEqual(plain);
  expect(anaAdded.data).toEqual({ storeId: 's1', name: 'Ana Lima', roles: ['cashier'] });
  expect(boAdded.data).toEqual({ storeId: 's1', name: 'Erased person', nameErased: true, roles: ['cashier'] });
  expect(note.data).toEqual({ communicationId: 'c1', staffId: ana.id, note: 'shelf 3 done' });
  expect(opened.toString('utf8')).not.toContain('A256GCM');
  expect(opened.toString('utf8').endsWith('\n')).toBe(true);
  // One lookup for the chunk; the persons are remembered for the rest of the replay.
  expect(asked).toEqual([[ana.id, bo.id]]);
  const again = lines(await opener.open(Buffer.from(line(completed(bo, 'left early')) + line(added(ana, 'Ana L.')))));
  expect(again[0].data).toEqual({ communicationId: 'c1', staffId: bo.id, noteErased: true });
  expect(again[1].data.name).toBe('Ana L.');
  expect(asked).toHaveLength(1);
});

it('never opens a value sealed for another field of the same person', async () => {
  const { keysOf } = lookup();
  // Ana's sealed name filed as her note: her key, but the additional data says "name".
  const misfiled = {
    ...completed(ana, 'x'),
    data: { staffId: ana.id, sealedNote: sealText(ana.key, ana.id, 'name', 'Ana Lima') },
  };
  const [note] = lines(await new PersonalFieldOpener(keysOf).open(Buffer.from(line(misfiled))));
  expect(note.data).toEqual({ staffId: ana.id, noteErased: true });
});
