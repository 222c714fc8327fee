/**
 * Whether an item of this priority interrupts the store (the tablet's banner and sound,
 * the break-room screen's pinned notices): urgent and critical ones; outside opening
 * hours (quiet), critical ones only (issue 22).
 */
export function interrupts(priority: string, quiet: boolean): boolean {
  return priority === 'critical' || (priority === 'urgent' && !quiet);
}
