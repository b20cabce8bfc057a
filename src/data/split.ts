// The validation split: a fraction of the training questions held out, taken whole stories at a time so that
// no story is seen in both parts, and chosen by a seeded shuffle so the same seed gives the same split.

import { Rng } from "../util/random.js";
import type { Example } from "./babi.js";

export interface Split {
  train: Example[];
  valid: Example[];
}

export function splitByStory(examples: Example[], fraction: number, seed: number): Split {
  if (fraction <= 0) return { train: examples.slice(), valid: [] };
  const byStory = new Map<number, Example[]>();
  for (const ex of examples) {
    const list = byStory.get(ex.story);
    if (list) list.push(ex);
    else byStory.set(ex.story, [ex]);
  }
  const stories = [...byStory.keys()];
  new Rng(seed).shuffle(stories);
  const target = Math.round(examples.length * fraction);
  const validStories = new Set<number>();
  let taken = 0;
  for (const s of stories) {
    if (taken >= target || validStories.size === stories.length - 1) break;
    validStories.add(s);
    taken += byStory.get(s)!.length;
  }
  const train: Example[] = [];
  const valid: Example[] = [];
  for (const ex of examples) (validStories.has(ex.story) ? valid : train).push(ex);
  return { train, valid };
}
