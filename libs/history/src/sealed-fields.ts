import type { SealedText } from '@lastmeter/contracts';

/** What a replayed line holding a sealed personal field looks like (docs/privacy.md). */
export interface Replayed {
  type: string;
  aggregateId: string;
  data: {
    name?: SealedText | string;
    nameErased?: true;
    staffId?: string;
    sealedNote?: SealedText;
    note?: string;
    noteErased?: true;
  };
}

/** The person and field a line's sealed value belongs to, by event type (docs/privacy.md). */
export function sealedOf(
  event: Replayed,
): { personId: string; field: 'name' | 'note'; sealed: SealedText } | undefined {
  const { data } = event;
  if ((event.type === 'staff.added' || event.type === 'staff.updated') && typeof data.name === 'object')
    return { personId: event.aggregateId, field: 'name', sealed: data.name };
  if (data.sealedNote && data.staffId) return { personId: data.staffId, field: 'note', sealed: data.sealedNote };
  return undefined;
}
