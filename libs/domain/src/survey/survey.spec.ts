import type { SurveyQuestion } from '@lastmeter/contracts';
import { surveyAnswersProblem } from './survey';

const QUESTIONS: SurveyQuestion[] = [
  { type: 'scale', prompt: 'How busy was today?', min: 1, max: 5 },
  { type: 'choice', prompt: 'Best shift?', options: ['morning', 'evening'] },
  { type: 'text', prompt: 'Anything else?' },
];

describe('surveyAnswersProblem', () => {
  it('takes one answer per question of the right shape', () => {
    expect(surveyAnswersProblem(QUESTIONS, [3, 1, 'More staff on Saturdays'])).toBeUndefined();
  });

  it.each([
    ['too few answers', [3, 1]],
    ['a scale out of range', [6, 1, 'x']],
    ['a fractional scale', [2.5, 1, 'x']],
    ['an option that does not exist', [3, 2, 'x']],
    ['a text where a number goes', ['3', 1, 'x']],
    ['an empty text', [3, 1, '  ']],
    ['an oversized text', [3, 1, 'x'.repeat(501)]],
  ])('refuses %s', (_case, answers) => {
    expect(surveyAnswersProblem(QUESTIONS, answers)).toEqual(expect.any(String));
  });
});
