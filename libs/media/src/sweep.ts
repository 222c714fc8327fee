import type { MediaRecord, MediaSweepReport } from '@lastmeter/contracts';
import { blobKey, recordKey } from './media-library';
import type { ObjectStore } from './object-store';

/** What uses a medium (from the read models: `mediaUseOf`). */
export interface MediaUseView {
  report: boolean;
  communications: Array<{ id: string; endedAt?: string }>;
}

export interface SweepOptions {
  now: Date;
  /** An upload nothing uses yet is kept this long (it is about to be attached). */
  unreferencedGraceMs: number;
  /** Media of a retracted or expired communication stay this long after it ended, for the audit. */
  retentionMs: number;
  /** Count only: delete nothing. */
  dryRun?: boolean;
}

/** What a sweep deleted (the body of `POST /v1/media/sweep`). */
export type SweepReport = MediaSweepReport;

/**
 * The media sweep (docs/media.md, "Retention"). A medium is kept while a field report
 * carries it, or one of its communications is not over or ended less than `retentionMs`
 * ago, or (used by nothing) it is younger than `unreferencedGraceMs`. Otherwise its record
 * goes, then every blob that no remaining record names and that is older than the grace
 * (an upload in progress writes its blobs before its record).
 */
export async function sweepMedia(
  store: ObjectStore,
  useOf: (mediaId: string) => Promise<MediaUseView>,
  options: SweepOptions,
): Promise<SweepReport> {
  const now = options.now.getTime();
  const report: SweepReport = {
    records: 0,
    kept: 0,
    deleted: { unreferenced: 0, retention: 0 },
    blobs: 0,
    bytes: 0,
    dryRun: !!options.dryRun,
  };
  const live = new Set<string>();
  for await (const object of store.list('records/')) {
    const bytes = await store.read(object.key);
    if (!bytes) continue;
    const record = JSON.parse(bytes.toString('utf8')) as MediaRecord;
    report.records++;
    const verdict = judge(record, await useOf(record.mediaId), now, options);
    if (verdict === 'keep') {
      report.kept++;
      live.add(record.sha256);
      if (record.thumbnail) live.add(record.thumbnail.sha256);
      continue;
    }
    report.deleted[verdict]++;
    if (!options.dryRun) await store.delete(recordKey(record.mediaId));
  }
  for await (const object of store.list('blobs/')) {
    const sha256 = object.key.slice(object.key.lastIndexOf('/') + 1);
    if (live.has(sha256) || now - object.modifiedAt.getTime() < options.unreferencedGraceMs) continue;
    report.blobs++;
    report.bytes += object.size;
    if (!options.dryRun) await store.delete(blobKey(sha256));
  }
  return report;
}

function judge(
  record: MediaRecord,
  use: MediaUseView,
  now: number,
  options: SweepOptions,
): 'keep' | 'unreferenced' | 'retention' {
  if (use.report) return 'keep';
  if (use.communications.length === 0) {
    return now - Date.parse(record.uploadedAt) < options.unreferencedGraceMs ? 'keep' : 'unreferenced';
  }
  const needed = use.communications.some(
    ({ endedAt }) => endedAt === undefined || now - Date.parse(endedAt) < options.retentionMs,
  );
  return needed ? 'keep' : 'retention';
}
