/**
 * `task.complete { communicationId, revision, note?, photoMediaId?, photoUrl? }`: a store
 * terminal completed a task, with its evidence (a photo of this store, uploaded first);
 * recorded once per terminal and revision as `task.completed`, which carries the photo's
 * reference.
 */
import { Injectable } from '@nestjs/common';
import { IsInt, IsOptional, IsString, IsUrl, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import type { TerminalSession } from '../feed-relay';
import { StoreActivityWriter } from '../store-activity-writer';
import { FeedCheck } from './feed-check';
import { parseMessage, Rejected, type TerminalMessageHandler } from './message';
import { sealText } from '@lastmeter/auth';
import type { SealedText } from '@lastmeter/contracts';
import { PersonKeyMirror } from '@lastmeter/read-models';
import { ReadModels } from '../../read/read-models.service';
import { StoreMedia } from './store-media';
import { StaffSessions } from './staff-sessions';
import { actorOf } from './terminal-socket';

export class TaskCompleteDto {
  @IsUUID() communicationId!: string;
  @IsInt() @Min(1) revision!: number;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(2_000) note?: string;
  @IsOptional() @IsUUID() photoMediaId?: string;
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true }) @MaxLength(2_000) photoUrl?: string;
  /** After head office sent the evidence back: the item's `evidenceRejected.rejection`. */
  @IsOptional() @IsInt() @Min(0) @Max(1_000) attempt?: number;
  /** A signed-in staff member's session (issue 21): the task is then completed by them. */
  @IsOptional() @IsString() @MaxLength(4_096) staff?: string;
}

@Injectable()
export class TaskCompleteHandler implements TerminalMessageHandler {
  constructor(
    private readonly writer: StoreActivityWriter,
    private readonly feed: FeedCheck,
    private readonly media: StoreMedia,
    private readonly staff: StaffSessions,
    private readonly models: ReadModels,
  ) {}

  async handle(session: TerminalSession, body: unknown): Promise<{ duplicate: boolean }> {
    const task = await parseMessage(TaskCompleteDto, body);
    const staffId = this.staff.staffIdOf(session, task.staff);
    const [photo] = task.photoMediaId
      ? await this.media.refs(session.storeId, [task.photoMediaId], 'photoMediaId', { images: true })
      : [];
    await this.feed.requireInFeed(session, task.communicationId, task.revision);
    // A retake after a rejection is a new fact (attempt 0 keeps the id it always had).
    const attempt = task.attempt ?? 0;
    // Per person when a staff member completes it (the tablet's own id stays as it was).
    const id = this.writer.factId(
      session.terminalId,
      'completed',
      task.communicationId,
      String(task.revision),
      ...(attempt ? [String(attempt)] : []),
      ...(staffId ? [`staff:${staffId}`] : []),
    );
    // A person's note is free text they wrote: sealed with their key, like their name.
    const sealedNote = staffId && task.note !== undefined ? await this.sealNote(staffId, task.note) : undefined;
    return this.writer.record('task.completed', id, actorOf(session), {
      storeId: session.storeId,
      terminalId: session.terminalId,
      communicationId: task.communicationId,
      revision: task.revision,
      ...(sealedNote ? { sealedNote } : task.note !== undefined ? { note: task.note } : {}),
      ...(task.photoUrl !== undefined ? { photoUrl: task.photoUrl } : {}),
      ...(photo ? { photo } : {}),
      ...(attempt ? { attempt } : {}),
      ...(staffId ? { staffId } : {}),
    });
  }

  /** A signed-in person's note, sealed with their key (refused once they were erased). */
  private async sealNote(staffId: string, note: string): Promise<SealedText> {
    const keys = await this.models.keys();
    const key = await new PersonKeyMirror(this.models.redis, keys).keyOf(staffId);
    if (!key) throw new Rejected('this person’s personal data was erased: sign in again');
    return sealText(key, staffId, 'note', note);
  }
}
