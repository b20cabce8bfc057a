// Per-task figures that `memn2n data stats` prints: how much data there is and how large a model it needs.

import { type BabiFile, wordsOf } from "./babi.js";

export interface TaskStats {
  task: number;
  trainQuestions: number;
  testQuestions: number;
  trainStories: number;
  testStories: number;
  /** Distinct words of the training file, answers included (the model's vocabulary, less null and unknown). */
  vocab: number;
  /** Most statements any question has before it. */
  longestStory: number;
  /** Most words in a statement or question. */
  longestSentence: number;
  /** Mean words of a statement or question. */
  meanSentence: number;
  /** Distinct answers over training and test. */
  answerClasses: number;
}

export function taskStats(task: number, train: BabiFile, test: BabiFile): TaskStats {
  let longestStory = 0;
  let longestSentence = 0;
  let words = 0;
  let sentences = 0;
  const answers = new Set<string>();
  for (const f of [train, test]) {
    for (const ex of f.examples) {
      longestStory = Math.max(longestStory, ex.sentences.length);
      longestSentence = Math.max(longestSentence, ex.question.length);
      words += ex.question.length;
      sentences++;
      for (const s of ex.sentences) {
        longestSentence = Math.max(longestSentence, s.tokens.length);
        words += s.tokens.length;
        sentences++;
      }
      answers.add(ex.answer);
    }
  }
  return {
    task,
    trainQuestions: train.examples.length,
    testQuestions: test.examples.length,
    trainStories: train.stories,
    testStories: test.stories,
    vocab: new Set(wordsOf(train.examples)).size,
    longestStory,
    longestSentence,
    meanSentence: words / Math.max(1, sentences),
    answerClasses: answers.size,
  };
}
