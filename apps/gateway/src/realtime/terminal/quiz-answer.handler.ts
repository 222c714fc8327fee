/**
 * `quiz.answer { communicationId, revision, answers[] }`: a store terminal answered a
 * communication's comprehension questions. Scored here, at head office, by the domain's
 * scoreQuiz (the correct answers never reach a terminal); recorded once per terminal and
 * revision as `quiz.answered` with the answers and the score.
 */
import { Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { quizAnswersProblem, scoreQuiz } from '@lastmeter/domain';
import type { TerminalSession } from '../feed-relay';
import { StoreActivityWriter } from '../store-activity-writer';
import { FeedCheck } from './feed-check';
import { InvalidMessage, parseMessage, Rejected, type TerminalMessageHandler } from './message';
import { StaffSessions } from './staff-sessions';
import { actorOf } from './terminal-socket';

export class QuizAnswerDto {
  @IsUUID() communicationId!: string;
  @IsInt() @Min(1) revision!: number;
  @IsArray()
  @ArrayMaxSize(50)
  @IsInt({ each: true })
  @Min(0, { each: true })
  @Max(20, { each: true })
  @Type(() => Number)
  answers!: number[];

  /** A signed-in staff member's session (issue 21): the answers are then theirs. */
  @IsOptional() @IsString() @MaxLength(4_096) staff?: string;
}

@Injectable()
export class QuizAnswerHandler implements TerminalMessageHandler {
  constructor(
    private readonly writer: StoreActivityWriter,
    private readonly feed: FeedCheck,
    private readonly staff: StaffSessions,
  ) {}

  async handle(session: TerminalSession, body: unknown): Promise<{ duplicate: boolean }> {
    const quiz = await parseMessage(QuizAnswerDto, body);
    const staffId = this.staff.staffIdOf(session, quiz.staff);
    await this.feed.requireInFeed(session, quiz.communicationId, quiz.revision);
    // Scored against the questions of the answered revision, which a projector may not have written yet.
    const communication = await this.feed.communicationFor(
      session,
      quiz.communicationId,
      (view) => view.revision >= quiz.revision,
    );
    const questions = communication?.questions ?? [];
    const problem = quizAnswersProblem(questions, quiz.answers);
    if (problem?.kind === 'no-questions') throw new Rejected(`communication ${quiz.communicationId} has no questions`);
    if (problem) throw new InvalidMessage({ answers: [problem.message] });
    const id = this.writer.factId(
      session.terminalId,
      'quiz',
      quiz.communicationId,
      String(quiz.revision),
      ...(staffId ? [staffId] : []),
    );
    return this.writer.record('quiz.answered', id, actorOf(session), {
      storeId: session.storeId,
      terminalId: session.terminalId,
      communicationId: quiz.communicationId,
      revision: quiz.revision,
      answers: quiz.answers,
      score: scoreQuiz(questions, quiz.answers),
      ...(staffId ? { staffId } : {}),
    });
  }
}
