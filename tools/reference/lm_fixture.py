#!/usr/bin/env python3
"""Writes tests/fixtures/lm-torch.json from the independent PyTorch language model.

The model is ../shared/reference/memn2n_lm.py (written apart from this project; see its README). This script
only drives it: random float32-rounded weights, a random text, then in float64 the summed loss of a batch of
targets and its gradients, one training step (clip and SGD) from the model's own train_step, and the mean
loss over every target of the text with the masked memories of its first words (the model's evaluate).
tests/lm.test.ts loads the same weights into the TypeScript model and compares.

    apt-get install -y python3-torch
    /usr/bin/python3 tools/reference/lm_fixture.py
"""
import contextlib
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.normpath(os.path.join(ROOT, "..", "shared", "reference")))
import memn2n_lm as ref  # noqa: E402


def main():
    V, N, d, lin, K = 40, 7, 10, 5, 3
    lr, clip = 0.3, 0.5
    dt = torch.float64
    model = ref.MemN2NLM(V, N, d, lin, K, 0.3, 0.1, torch.device("cpu"), dt, seed=11)
    with torch.no_grad():
        for p in model.params:
            p.copy_(p.float().double())  # weights a float32 model holds exactly
    weights = {n: p.detach().clone() for n, p in zip(model.names, model.params)}
    gen = torch.Generator().manual_seed(12)
    words = torch.randint(0, V, (60,), generator=gen)
    split = ref.Split(words, N)
    pos = torch.tensor([7, 8, 15, 23, 31, 42, 50, 59])
    AC, T, H, W = [w.clone().requires_grad_(True) for w in weights.values()]
    loss = ref.lm_nll(AC, T, H, W, split.contexts(pos), split.targets(pos), K, model.slope, model.u0(len(pos)))
    grads = torch.autograd.grad(loss, (AC, T, H, W))
    mean_nll, count = model.evaluate(split, 16, contextlib.nullcontext, None)
    acc = torch.zeros((), dtype=dt)
    model.train_step(split, pos, torch.tensor(-lr, dtype=dt), clip, acc, contextlib.nullcontext, None)
    gnorm = float(torch.sqrt(sum((g * g).sum() for g in grads)))

    def flat(t):
        return [float(x) for x in t.reshape(-1)]

    out = {
        "source": "../shared/reference/memn2n_lm.py via tools/reference/lm_fixture.py (float64)",
        "shape": {"vocabSize": V, "memory": N, "dim": d, "linDim": lin, "hops": K, "initHid": 0.1},
        "words": [int(w) for w in words],
        "positions": [int(p) for p in pos],
        "weights": {n: flat(w) for n, w in weights.items()},
        "loss": float(loss),
        "grads": {n: flat(g) for n, g in zip(model.names, grads)},
        "gradNorm": gnorm,
        "lr": lr,
        "maxNorm": clip,
        "afterStep": {n: flat(p.detach()) for n, p in zip(model.names, model.params)},
        "evalMeanLoss": mean_nll,
        "evalTargets": count,
    }
    path = os.path.join(ROOT, "tests", "fixtures", "lm-torch.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote %s: loss %.6f, grad norm %.4f (clip %.1f), eval mean %.6f over %d targets" % (
        path, float(loss), gnorm, clip, mean_nll, count))


if __name__ == "__main__":
    main()
