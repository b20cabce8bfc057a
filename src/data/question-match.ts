// Question-match words (config `matchQuestion`): in a question's memory, every word that also occurs in the
// question is replaced by a word naming where: "#q4" for the question's 4th word (its first occurrence).
//
// Why: tasks 17, 18 and 19 turn on whether the question's first or second entity is a fact's subject or its
// object. A model that embeds each word on its own must learn that comparison once per entity, through the
// position weights of two different words, and 1k training questions do not teach it (its test error on
// those questions is at chance). With match words the comparison is learned once for every entity: "#q4 at
// the start of the fact". The word's own identity is not lost to the answer, it is the question's word.
// The dialog paper's match-type features (Bordes et al. 2017) mark entities in the same spirit.
//
// The memory of a question then depends on the question, so a statement that several questions of a story
// share is stored once per distinct rewriting (vectorize keys its sentence table by Sentence object).

import type { Vocab } from "../text/vocab.js";
import type { Example, Sentence } from "./babi.js";

const PREFIX = "#q";

/** The match word of the question's `position`-th word (from 1). Tokenization never yields a "#". */
export function matchWord(position: number): string {
  return `${PREFIX}${position}`;
}

/**
 * The examples with their memories (the `memorySize` newest statements; older ones are never read, so they
 * stay as they are) rewritten. `known`: which match words a model has (a question longer than any seen in
 * training leaves the words past them as they are); by default, all.
 */
export function matchQuestions(
  examples: readonly Example[],
  memorySize: number,
  known?: (word: string) => boolean,
): Example[] {
  // One rewriting of a statement per pattern of positions, shared by every question that gives it.
  const shared = new Map<Sentence, Map<string, Sentence>>();
  return examples.map((ex) => {
    const position = new Map<string, number>();
    ex.question.forEach((w, j) => {
      if (!position.has(w) && (!known || known(matchWord(j + 1)))) position.set(w, j + 1);
    });
    const oldest = ex.sentences.length - memorySize;
    const sentences = ex.sentences.map((s, i) => {
      if (i < oldest) return s;
      const at = s.tokens.map((w) => position.get(w) ?? 0);
      if (at.every((p) => p === 0)) return s;
      const key = at.join(",");
      let forms = shared.get(s);
      if (!forms) {
        forms = new Map();
        shared.set(s, forms);
      }
      let form = forms.get(key);
      if (!form) {
        form = { id: s.id, tokens: s.tokens.map((w, j) => (at[j] > 0 ? matchWord(at[j]) : w)) };
        forms.set(key, form);
      }
      return form;
    });
    return { ...ex, sentences };
  });
}

/**
 * What a model with this config reads of the examples: their memories rewritten if it has match words,
 * else the examples themselves. `vocab`: the model's, whose match words are the ones it knows; none while
 * the vocabulary is being built from these examples.
 */
export function modelExamples(
  examples: Example[],
  cfg: { matchQuestion: boolean; memorySize: number },
  vocab?: Vocab,
): Example[] {
  if (!cfg.matchQuestion) return examples;
  return matchQuestions(examples, cfg.memorySize, vocab && ((w) => vocab.has(w)));
}
