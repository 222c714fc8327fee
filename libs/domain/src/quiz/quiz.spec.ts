import type { QuizQuestion } from '@lastmeter/contracts';
import { quizAnswersProblem, scoreQuiz, UnscorableQuiz } from './quiz';

const question = (answer: number, options = ['a', 'b', 'c']): QuizQuestion => ({
  prompt: `pick ${options[answer]}`,
  options,
  answer,
});

/** Correct answers: 1, 0, 2, 1. */
const QUIZ = [question(1), question(0), question(2), question(1, ['yes', 'no'])];

describe('quiz scoring', () => {
  it.each([
    ['every answer correct', [1, 0, 2, 1], 1],
    ['no answer correct', [0, 1, 0, 0], 0],
    ['two of four correct', [1, 0, 0, 0], 0.5],
    ['three of four correct', [1, 0, 2, 0], 0.75],
    ['one of four correct (the same option everywhere)', [2, 2, 2, 2], 0.25],
    ['indexes beyond the options (wrong answers)', [1, 0, 7, 20], 0.5],
  ] as const)('scores %s', (_case, answers, score) => {
    expect(scoreQuiz(QUIZ, answers)).toBe(score);
  });

  it('scores in question order, not as a set of answers', () => {
    expect(scoreQuiz([question(0), question(1)], [1, 0])).toBe(0);
    expect(scoreQuiz([question(0), question(1)], [0, 1])).toBe(1);
  });

  it('scores a single question as 0 or 1', () => {
    expect(scoreQuiz([question(2)], [2])).toBe(1);
    expect(scoreQuiz([question(2)], [1])).toBe(0);
  });

  it('keeps the share exact enough for thirds', () => {
    expect(scoreQuiz([question(0), question(0), question(0)], [0, 1, 1])).toBeCloseTo(1 / 3, 12);
  });

  it('needs nothing of a question but its answer', () => {
    expect(scoreQuiz([{ answer: 3 }, { answer: 0 }], [3, 1])).toBe(0.5);
  });

  describe('the rule answers must meet', () => {
    it('accepts one answer per question', () => {
      expect(quizAnswersProblem(QUIZ, [0, 0, 0, 0])).toBeUndefined();
    });

    it('refuses answers to a communication without questions', () => {
      expect(quizAnswersProblem([], [])).toEqual({ kind: 'no-questions' });
      expect(quizAnswersProblem([], [0])).toEqual({ kind: 'no-questions' });
    });

    it.each([
      ['too few answers', [1, 0, 2]],
      ['too many answers', [1, 0, 2, 1, 0]],
      ['no answers', []],
    ] as const)('refuses %s, with the field message for answers', (_case, answers) => {
      expect(quizAnswersProblem(QUIZ, answers)).toEqual({
        kind: 'answer-count',
        expected: 4,
        message: 'must answer each of the 4 questions',
      });
    });

    it('is enforced by scoreQuiz: it never returns a score for answers that break it', () => {
      expect(() => scoreQuiz([], [])).toThrow(UnscorableQuiz);
      expect(() => scoreQuiz(QUIZ, [1])).toThrow('answers: must answer each of the 4 questions');
      try {
        scoreQuiz(QUIZ, []);
      } catch (error) {
        expect((error as UnscorableQuiz).problem).toMatchObject({ kind: 'answer-count', expected: 4 });
      }
      expect.assertions(3);
    });
  });
});
