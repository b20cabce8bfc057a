// Tokenization as in the paper's code: lower-case, punctuation split off as its own token, and the sentence
// marks "." and "?" dropped. Letters, combining marks and digits of any script count as word characters, so
// the Hindi tasks tokenize as well as the English ones.

const SPLIT = /([^\p{L}\p{M}\p{N}_]+)/u;
const DROPPED = new Set([".", "?"]);

export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.toLowerCase().split(SPLIT)) {
    const t = piece.trim();
    if (t.length > 0 && !DROPPED.has(t)) out.push(t);
  }
  return out;
}
