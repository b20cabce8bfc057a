"""An independent PyTorch implementation of the same MemN2N, for cross-checking the TypeScript model.

Batched and autograd-based (nothing shared with the hand-written TypeScript passes): it draws random
weights and a random batch, runs forward and backward in float64, and writes the weights, the batch, the
answer probabilities, the attention, the loss and every gradient to tests/fixtures/reference-*.json.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/memn2n_ref.py
"""

import json
import os
import sys

import torch

torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "fixtures")


def position_weights(J, d, pe):
    """w[L, j, k]: the weight of word j (0-based) in a sentence of L words, dimension k (0-based)."""
    w = torch.ones(J + 1, J, d)
    if pe:
        for L in range(1, J + 1):
            for j in range(1, L + 1):
                for k in range(1, d + 1):
                    w[L, j - 1, k - 1] = (1 - j / L) - (k / d) * (1 - 2 * j / L)
    return w


class MemN2N(torch.nn.Module):
    def __init__(self, cfg, tensors):
        super().__init__()
        self.cfg = cfg
        self.t = torch.nn.ParameterDict(
            {name: torch.nn.Parameter(torch.tensor(v).reshape(shape)) for name, (v, shape) in tensors.items()}
        )
        K = cfg["hops"]
        if cfg["tying"] == "adjacent":
            self.A = [f"E{k}" for k in range(K)]
            self.C = [f"E{k + 1}" for k in range(K)]
            self.TA = [f"T{k}" for k in range(K)]
            self.TC = [f"T{k + 1}" for k in range(K)]
            self.B, self.W = "E0", f"E{K}"
        else:
            self.A, self.C = ["A"] * K, ["C"] * K
            self.TA, self.TC = ["TA"] * K, ["TC"] * K
            self.B, self.W = "B", "W"
        self.pe = position_weights(cfg["J"], cfg["d"], cfg["encoding"] == "pe")

    def embed(self, E, words):
        """words [..., J] -> [..., d]: position-weighted sum over real words (null and unknown embed to 0)."""
        L = (words != 0).sum(-1)
        w = self.pe[L]  # [..., J, d]
        real = (words > 1).unsqueeze(-1).to(E.dtype)
        return (E[words] * w * real).sum(-2)

    def forward(self, memory, mem_len, time, query, linear):
        cfg = self.cfg
        n, M, _ = memory.shape
        slot_used = torch.arange(M).unsqueeze(0) < mem_len.unsqueeze(1)  # [n, M]
        t = time.clamp(max=cfg["timeSize"] - 1)
        u = self.embed(self.t[self.B], query)
        attention = []
        T = cfg["timeSize"]
        for k in range(cfg["hops"]):
            m = self.embed(self.t[self.A[k]], memory)
            c = self.embed(self.t[self.C[k]], memory)
            if cfg["temporal"]:
                m = m + self.t[self.TA[k]][t]
                c = c + self.t[self.TC[k]][t]
            scores = torch.einsum("nmd,nd->nm", m, u)
            if cfg.get("relativeTime"):
                # r[c]: hop k's score for a time offset c - (T - 1) from what the last hop read
                r = self.t["R"][k] + u @ self.t["Rv"].reshape(cfg["hops"], 2 * T, -1)[k].T  # [n, 2T]
                if k == 0:
                    col = t + T  # seen from the question, at time -1
                    scores = scores + torch.gather(r, 1, col)
                else:
                    col = (t.unsqueeze(2) - t.unsqueeze(1) + T - 1).reshape(n, M * M)  # [n, j, i]
                    pair = torch.gather(r, 1, col).reshape(n, M, M)
                    scores = scores + torch.einsum("nji,ni->nj", pair, attention[-1] * slot_used)
            if linear:
                p = scores * slot_used
            elif cfg.get("slots"):
                # the memory's empty slots (up to `slots`) score 0 and take their share of the softmax
                masked = scores.masked_fill(~slot_used, float("-inf"))
                top = torch.clamp(masked.max(1, keepdim=True).values, min=0)
                e = torch.exp(masked - top)
                empty = (cfg["slots"] - mem_len).clamp(min=0).unsqueeze(1)
                p = e / (e.sum(1, keepdim=True) + empty * torch.exp(-top))
            else:
                p = torch.softmax(scores.masked_fill(~slot_used, float("-inf")), dim=1)
            attention.append(p)
            o = torch.einsum("nm,nmd->nd", p, c)
            u = (u @ self.t["H"].T if "H" in self.t else u) + o
            if cfg.get("relu"):
                u = torch.relu(u)
        logits = u @ self.t[self.W].T
        return logits, torch.stack(attention, 1)


def make_case(name, cfg, linear, seed):
    g = torch.Generator().manual_seed(seed)
    V, d, M, J, n, K = cfg["V"], cfg["d"], cfg["M"], cfg["J"], cfg["n"], cfg["hops"]

    def randn(*shape):
        # Rounded to float32 so the TypeScript float32 model holds exactly these weights.
        return (torch.randn(*shape, generator=g) * 0.5).float().double()

    shapes = {}
    if cfg["tying"] == "adjacent":
        for k in range(K + 1):
            shapes[f"E{k}"] = (V, d)
        if cfg["temporal"]:
            for k in range(K + 1):
                shapes[f"T{k}"] = (cfg["timeSize"], d)
        if cfg.get("hopMap"):
            shapes["H"] = (d, d)
    else:
        for nm in ["A", "C", "B", "W"]:
            shapes[nm] = (V, d)
        if cfg["temporal"]:
            shapes["TA"] = (cfg["timeSize"], d)
            shapes["TC"] = (cfg["timeSize"], d)
        shapes["H"] = (d, d)
    if cfg.get("relativeTime"):
        shapes["R"] = (K, 2 * cfg["timeSize"])
        shapes["Rv"] = (K * 2 * cfg["timeSize"], d)
    tensors = {}
    for nm, shape in shapes.items():
        w = randn(*shape)
        if shape[0] == V and nm not in ("H", "R", "Rv"):
            w[:2] = 0  # null and unknown rows are held at zero
        tensors[nm] = (w.flatten().tolist(), list(shape))

    def word():
        return 1 if torch.rand(1, generator=g).item() < 0.1 else int(torch.randint(2, V, (1,), generator=g))

    memory = torch.zeros(n, M, J, dtype=torch.long)
    mem_len = torch.zeros(n, dtype=torch.long)
    time = torch.zeros(n, M, dtype=torch.long)
    query = torch.zeros(n, J, dtype=torch.long)
    for b in range(n):
        mem_len[b] = 1 + (b + int(torch.randint(0, M, (1,), generator=g))) % M
        for i in range(int(mem_len[b])):
            L = 1 + int(torch.randint(0, J, (1,), generator=g))
            for j in range(L):
                memory[b, i, j] = word()
        # noisy time indices, as random noise makes them (may exceed the table: clamped)
        time[b] = torch.randint(0, cfg["timeSize"] + 1, (M,), generator=g)
        L = 1 + int(torch.randint(0, J, (1,), generator=g))
        for j in range(L):
            query[b, j] = word()
    answer = torch.randint(2, V, (n,), generator=g)
    # Supporting facts (strong supervision): up to two memory slots per example, -1 for none. Drawn only
    # for the cases that use them, so the other cases' random draws are as they were.
    # Spread cases draw up to three, so that some examples have more facts than two hops.
    spread = cfg.get("superviseExtra") == "spread"
    supporting = torch.full((n, 3 if spread else 2), -1, dtype=torch.long)
    if cfg.get("supervise"):
        for b in range(n):
            if spread:
                # distinct slots, or sharing the last hop's target would teach it one fact again
                order = torch.randperm(int(mem_len[b]), generator=g)
                for k in range(min(b + 1, 3, int(mem_len[b]))):
                    supporting[b, k] = int(order[k])
                continue
            for k in range(b % 3):
                supporting[b, k] = int(torch.randint(0, int(mem_len[b]), (1,), generator=g))

    model = MemN2N(cfg, tensors)
    logits, attention = model(memory, mem_len, time, query, linear)
    losses = torch.nn.functional.cross_entropy(logits, answer, reduction="none")
    if cfg.get("supervise") and not linear:
        # hop k learns supporting fact k; past the last one: free, or the last ("last"); with "spread",
        # the last hop learns every fact from its own on, each with an equal share
        K = cfg["hops"]
        for b in range(n):
            facts = [int(x) for x in supporting[b] if x >= 0]
            for k in range(K):
                if k < len(facts):
                    targets = facts[k:] if spread and k == K - 1 else [facts[k]]
                elif cfg.get("superviseRest") == "last" and facts:
                    targets = [facts[-1]]
                else:
                    continue
                for t in targets:
                    losses[b] = losses[b] - cfg["supervise"] / len(targets) * torch.log(attention[b, k, t])
    loss = losses.sum()
    loss.backward()
    grads = {}
    for nm, prm in model.t.items():
        gr = prm.grad.clone()
        if prm.shape[0] == V and nm not in ("H", "R", "Rv"):
            gr[:2] = 0  # the constraint: reserved rows do not move
        grads[nm] = gr.flatten().tolist()

    case = {
        "name": name,
        "config": {**cfg, "linear": linear},
        "tensors": {nm: {"shape": s, "data": v} for nm, (v, s) in tensors.items()},
        "batch": {
            "memory": memory.flatten().tolist(),
            "memLen": mem_len.tolist(),
            "time": time.flatten().tolist(),
            "query": query.flatten().tolist(),
            "answer": answer.tolist(),
            "supporting": supporting.flatten().tolist(),
        },
        "probs": torch.softmax(logits, 1).flatten().tolist(),
        "attention": attention.flatten().tolist(),
        "losses": losses.tolist(),
        "loss": loss.item(),
        "grads": grads,
        "torch": torch.__version__,
    }
    path = os.path.join(OUT, f"reference-{name}.json")
    with open(path, "w") as f:
        json.dump(case, f, separators=(",", ":"))
    print(f"wrote {os.path.relpath(path)}: loss {loss.item():.6f}")


CASES = [
    ("pe-adjacent-te-3hops", dict(encoding="pe", tying="adjacent", temporal=True, hops=3), False),
    ("pe-adjacent-te-3hops-ls", dict(encoding="pe", tying="adjacent", temporal=True, hops=3), True),
    ("bow-adjacent-1hop", dict(encoding="bow", tying="adjacent", temporal=False, hops=1), False),
    ("bow-layerwise-te-3hops", dict(encoding="bow", tying="layerwise", temporal=True, hops=3), False),
    ("pe-layerwise-2hops-ls", dict(encoding="pe", tying="layerwise", temporal=False, hops=2), True),
    ("pe-layerwise-te-3hops-relu-slots", dict(encoding="pe", tying="layerwise", temporal=True, hops=3, relu=True, slots=7), False),
    ("pe-adjacent-te-2hops-relu-ls", dict(encoding="pe", tying="adjacent", temporal=True, hops=2, relu=True), True),
    ("pe-adjacent-te-3hops-hopmap-relu", dict(encoding="pe", tying="adjacent", temporal=True, hops=3, relu=True, hopMap=True), False),
    ("pe-adjacent-te-3hops-supervised-slots", dict(encoding="pe", tying="adjacent", temporal=True, hops=3, slots=7, supervise=0.7), False),
    ("pe-adjacent-te-3hops-supervised-last", dict(encoding="pe", tying="adjacent", temporal=True, hops=3, supervise=0.5, superviseRest="last"), False),
    ("pe-adjacent-te-3hops-relative-hopmap-relu-supervised-slots", dict(encoding="pe", tying="adjacent", temporal=True, hops=3, relativeTime=True, hopMap=True, relu=True, supervise=0.5, slots=7), False),
    ("pe-adjacent-2hops-relative-ls", dict(encoding="pe", tying="adjacent", temporal=False, hops=2, relativeTime=True), True),
    ("bow-layerwise-te-3hops-relative", dict(encoding="bow", tying="layerwise", temporal=True, hops=3, relativeTime=True), False),
    ("pe-adjacent-te-2hops-supervised-spread", dict(encoding="pe", tying="adjacent", temporal=True, hops=2, supervise=0.6, superviseExtra="spread"), False),
    ("pe-adjacent-te-2hops-relu-supervised-spread-last-slots", dict(encoding="pe", tying="adjacent", temporal=True, hops=2, relu=True, supervise=0.6, superviseExtra="spread", superviseRest="last", slots=7), False),
]

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    only = sys.argv[1:]  # names of cases to write; none: all
    for i, (name, c, linear) in enumerate(CASES):
        if only and name not in only:
            continue
        cfg = dict(V=12, d=6, M=5, J=5, n=4, timeSize=5, **c)
        make_case(name, cfg, linear, seed=1000 + i)
    sys.exit(0)
