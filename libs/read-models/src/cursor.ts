/**
 * Opaque list cursors. Lists are lexicographic sorted sets whose members sort newest
 * first (`<inverted ms>|<id>`); the cursor is the last member a page returned.
 */
const MAX_MS = 9_999_999_999_999;

export function newestFirst(at: string, id: string): string {
  return `${String(MAX_MS - Date.parse(at)).padStart(13, '0')}|${id}`;
}

export function idOfMember(member: string): string {
  return member.slice(member.indexOf('|') + 1);
}

export function encodeCursor(member: string): string {
  return Buffer.from(member, 'utf8').toString('base64url');
}

/** The member a cursor stands for, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): string | undefined {
  const member = Buffer.from(cursor, 'base64url').toString('utf8');
  return /^\d{13}\|[\w-]{1,100}$/.test(member) ? member : undefined;
}
