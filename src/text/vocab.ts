// Word <-> id. Id 0 is the null (padding) word and id 1 stands for every word never seen in training; both
// have embeddings held at zero, so an unknown word is counted and then ignored rather than being a crash.

export const NULL_ID = 0;
export const UNK_ID = 1;
export const NULL_WORD = "<nil>";
export const UNK_WORD = "<unk>";

export class Vocab {
  readonly words: string[];
  private readonly index: Map<string, number>;

  private constructor(words: string[]) {
    this.words = words;
    this.index = new Map(words.map((w, i) => [w, i]));
  }

  /** Builds a vocabulary from words in a fixed (sorted) order, so that ids do not depend on file order. */
  static build(words: Iterable<string>): Vocab {
    const set = new Set<string>();
    for (const w of words) if (w !== NULL_WORD && w !== UNK_WORD) set.add(w);
    return new Vocab([NULL_WORD, UNK_WORD, ...[...set].sort()]);
  }

  static fromWords(words: string[]): Vocab {
    if (words[NULL_ID] !== NULL_WORD || words[UNK_ID] !== UNK_WORD) {
      throw new Error(`vocabulary must start with ${NULL_WORD} and ${UNK_WORD}`);
    }
    if (new Set(words).size !== words.length) throw new Error("vocabulary has a repeated word");
    return new Vocab(words.slice());
  }

  get size(): number {
    return this.words.length;
  }

  has(word: string): boolean {
    return this.index.has(word);
  }

  /** The id of a word; unknown words give UNK_ID and are reported to `onUnknown`. */
  id(word: string, onUnknown?: (word: string) => void): number {
    const i = this.index.get(word);
    if (i !== undefined) return i;
    onUnknown?.(word);
    return UNK_ID;
  }

  word(id: number): string {
    return this.words[id] ?? UNK_WORD;
  }
}
