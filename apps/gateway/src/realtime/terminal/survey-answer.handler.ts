/**
 * `survey.answer { communicationId, revision, answers[], staff }` (issue 21): a signed-in
 * person's answers to a pulse survey of their store, recorded once per person and
 * anonymously by the SurveyBatcher (`survey.answered`: no person, no terminal).
 */
import { Injectable } from '@nestjs/common';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsString, IsUUID, MaxLength, Min } from 'class-validator';
import { surveyAnswersProblem } from '@lastmeter/domain';
import type { TerminalSession } from '../feed-relay';
import { SurveyBatcher } from '../survey-batcher';
import { FeedCheck } from './feed-check';
import { InvalidMessage, parseMessage, Rejected, type TerminalMessageHandler } from './message';
import { StaffSessions } from './staff-sessions';

export class SurveyAnswerDto {
  @IsUUID() communicationId!: string;
  @IsInt() @Min(1) revision!: number;
  /** Numbers and texts, checked against the survey's questions below. */
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(20) answers!: Array<number | string>;
  @IsString() @MaxLength(4_096) staff!: string;
}

@Injectable()
export class SurveyAnswerHandler implements TerminalMessageHandler {
  constructor(
    private readonly surveys: SurveyBatcher,
    private readonly feed: FeedCheck,
    private readonly staff: StaffSessions,
  ) {}

  async handle(session: TerminalSession, body: unknown): Promise<{ duplicate: boolean }> {
    const answer = await parseMessage(SurveyAnswerDto, body);
    const staffId = this.staff.staffIdOf(session, answer.staff)!;
    await this.feed.requireInFeed(session, answer.communicationId, answer.revision);
    // The terminal may hold the survey from its commit, before a projector wrote it published.
    const communication = await this.feed.communicationFor(
      session,
      answer.communicationId,
      (view) => view.kind === 'survey' && view.status === 'published',
    );
    const questions = communication?.survey?.questions;
    if (communication?.kind !== 'survey' || !questions) {
      throw new Rejected(`communication ${answer.communicationId} is not a survey`);
    }
    if (communication.status !== 'published') throw new Rejected('the survey is closed');
    const problem = surveyAnswersProblem(questions, answer.answers);
    if (problem) throw new InvalidMessage({ answers: [problem] });
    return this.surveys.submit({
      storeId: session.storeId,
      communicationId: answer.communicationId,
      revision: answer.revision,
      answers: answer.answers,
      staffId,
    });
  }
}
