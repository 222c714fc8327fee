/**
 * Quiz scoring: how a terminal's answers to a communication's comprehension questions
 * are scored. Pure; the gateway scores at head office, so the correct answers never
 * reach a terminal (docs/design.md section 6).
 */
import type { QuizQuestion } from '@lastmeter/contracts';

/** What scoring needs of a question: the index of its correct option. */
export type ScoredQuestion = Pick<QuizQuestion, 'answer'>;

/** Why a set of answers cannot be scored against a communication's questions. */
export type QuizAnswersProblem =
  /** The communication has no questions: there is nothing to answer. */
  | { kind: 'no-questions' }
  /** Not one answer per question; `message` is the field error for `answers`. */
  | { kind: 'answer-count'; expected: number; message: string };

/**
 * The rule answers must meet to be scored: the communication has questions, and there
 * is exactly one answer (an option index) per question, in order. An option index that
 * is not one of the question's options is simply a wrong answer.
 */
export function quizAnswersProblem(
  questions: readonly ScoredQuestion[],
  answers: readonly number[],
): QuizAnswersProblem | undefined {
  if (questions.length === 0) return { kind: 'no-questions' };
  if (answers.length !== questions.length) {
    return {
      kind: 'answer-count',
      expected: questions.length,
      message: `must answer each of the ${questions.length} questions`,
    };
  }
  return undefined;
}

/** Answers that break quizAnswersProblem's rule were given to scoreQuiz. */
export class UnscorableQuiz extends Error {
  constructor(readonly problem: QuizAnswersProblem) {
    super(problem.kind === 'no-questions' ? 'the quiz has no questions' : `answers: ${problem.message}`);
  }
}

/**
 * The share of correct answers, from 0 to 1: answer `i` is correct when it is question
 * `i`'s `answer`. Throws UnscorableQuiz when the answers break the rule above (check it
 * first with quizAnswersProblem to refuse them your own way).
 */
export function scoreQuiz(questions: readonly ScoredQuestion[], answers: readonly number[]): number {
  const problem = quizAnswersProblem(questions, answers);
  if (problem) throw new UnscorableQuiz(problem);
  const correct = questions.filter((question, i) => question.answer === answers[i]).length;
  return correct / questions.length;
}
