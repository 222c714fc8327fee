/** A feed item the size of a typical notice, so both sides push the same bytes. */
export function samplePayload() {
  return {
    change: 'published',
    at: '2026-11-24T09:00:00.000Z',
    communication: {
      id: '00000000-0000-4000-8000-000000000000',
      revision: 1,
      kind: 'notice',
      title: 'Price change on coffee from Monday',
      body: 'New shelf labels are in the back office. Replace the old ones before opening and check aisle 3. '.repeat(
        3,
      ),
      priority: 'normal',
    },
  };
}
