#!/usr/bin/env python3
"""Trains the independent PyTorch language model for a fixed number of steps and writes down everything another
implementation needs to take the very same steps: the initial weights, every batch's target positions, the
vocabulary, and the validation perplexity along the way.

The model is ../shared/reference/memn2n_lm.py (written apart from this project; see its README); this script
only drives its own train_step and evaluate, in float32 on the CPU, at a fixed learning rate (the recipe's lr
does not change before the end of epoch 2, so two epochs need no annealing). tools/reference/lm-trajectory.ts
then runs our kernel from the same weights over the same batches and prints both curves side by side.

Why: with a different seed, two runs of the same recipe differ by several percent at a given epoch (the
validation perplexity of the last weights swings with the last batches), so one run against one run cannot
tell a difference of recipe from chance. Run from identical weights over identical batches, the two curves
may only drift apart through float rounding.

    /usr/bin/python3 tools/reference/lm_trajectory.py --out /tmp/lm-trajectory --steps 14526 --every 1000
    node --import tsx tools/reference/lm-trajectory.ts /tmp/lm-trajectory
"""
import argparse
import contextlib
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.normpath(os.path.join(ROOT, "..", "shared", "reference")))
import memn2n_lm as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "ptb"))
    ap.add_argument("--out", required=True, help="folder for the weights, positions and curve")
    ap.add_argument("--hops", type=int, default=3)
    ap.add_argument("--memory", type=int, default=100)
    ap.add_argument("--dim", type=int, default=150)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=50.0)
    ap.add_argument("--steps", type=int, default=14526, help="SGD steps (7,263 an epoch)")
    ap.add_argument("--every", type=int, default=1000, help="score the validation text every this many steps")
    ap.add_argument("--eval-words", type=int, default=0, help="validation words scored (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--no-train", action="store_true",
                    help="write the weights and positions only: memn2n_lm.py run with the same seed takes these very "
                         "steps, so its own per-epoch log can stand for the curve (lm-trajectory.ts --reference-log)")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)

    vocab = {"<eos>": 0}
    words = {s: ref.read_corpus(os.path.join(a.data, "ptb.%s.txt" % s), vocab) for s in ("train", "valid", "test")}
    V, N, B = len(vocab), a.memory, a.batch
    train, valid = ref.Split(words["train"], N), ref.Split(words["valid"], N)
    n_train = words["train"].numel()
    model = ref.MemN2NLM(V, N, a.dim, a.dim // 2, a.hops, 0.05, 0.1, torch.device("cpu"), seed=a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1000)
    positions = torch.randint(N, n_train, (a.steps, B), generator=gen)

    with open(os.path.join(a.out, "vocab.txt"), "w") as f:
        f.write("\n".join(sorted(vocab, key=vocab.get)) + "\n")
    for name, p in zip(model.names, model.params):
        p.detach().numpy().astype("<f4").tofile(os.path.join(a.out, name + ".f32"))
    positions.numpy().astype("<i4").tofile(os.path.join(a.out, "positions.i32"))
    meta = {k: getattr(a, k) for k in ("hops", "memory", "dim", "batch", "lr", "max_grad_norm", "steps", "every",
                                       "eval_words", "seed", "no_train")}
    meta.update(vocab_size=V, train_words=n_train, torch=torch.__version__, threads=torch.get_num_threads())
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f)

    if a.no_train:
        return 0
    neg_lr = torch.tensor(-a.lr, dtype=torch.float32)
    acc = torch.zeros((), dtype=torch.float64)
    null = contextlib.nullcontext
    curve = open(os.path.join(a.out, "reference.jsonl"), "w")

    def score(step, window_loss, window_steps):
        nll, n = model.evaluate(valid, 512, null, None, max_words=a.eval_words)
        row = {"step": step, "valid_ppl": math.exp(nll), "valid_words": n,
               "train_ppl": math.exp(window_loss / (window_steps * B)) if window_steps else None,
               "seconds": round(time.time() - t0, 1)}
        curve.write(json.dumps(row) + "\n")
        curve.flush()
        print(json.dumps(row), flush=True)

    t0 = time.time()
    score(0, 0.0, 0)
    last_acc, last_step = 0.0, 0
    for s in range(a.steps):
        model.train_step(train, positions[s], neg_lr, a.max_grad_norm, acc, null, None)
        done = s + 1
        if done % a.every == 0 or done == a.steps or done % 7263 == 0:
            total = float(acc)
            score(done, total - last_acc, done - last_step)
            last_acc, last_step = total, done
    curve.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
