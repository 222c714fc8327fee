import type { SurveyQuestion } from '@lastmeter/contracts';

/** Longest free-text answer. */
export const MAX_SURVEY_TEXT = 500;

/** What is wrong with a person's answers to a survey's questions, or undefined. */
export function surveyAnswersProblem(
  questions: readonly SurveyQuestion[],
  answers: ReadonlyArray<unknown>,
): string | undefined {
  if (answers.length !== questions.length) return `answer each of the ${questions.length} questions, in order`;
  for (const [i, question] of questions.entries()) {
    const answer = answers[i];
    if (question.type === 'scale') {
      const { min = 1, max = 5 } = question;
      if (!Number.isInteger(answer) || (answer as number) < min || (answer as number) > max) {
        return `answer ${i + 1} must be a whole number from ${min} to ${max}`;
      }
    } else if (question.type === 'choice') {
      if (!Number.isInteger(answer) || (answer as number) < 0 || (answer as number) >= question.options.length) {
        return `answer ${i + 1} must be the index of one of the ${question.options.length} options`;
      }
    } else if (typeof answer !== 'string' || !answer.trim() || answer.length > MAX_SURVEY_TEXT) {
      return `answer ${i + 1} must be a text of 1 to ${MAX_SURVEY_TEXT} characters`;
    }
  }
  return undefined;
}
