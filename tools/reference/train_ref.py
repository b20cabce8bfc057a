"""Times a PyTorch MemN2N training and answering on the data the bench exports: the peer of `npm run bench`.

Idiomatic batched PyTorch, written for speed as well as a PyTorch user would write it: one padded batch
tensor per step, the K+1 tied embedding matrices stacked in one tensor and applied to the memory once per
batch (adjacent tying: hop k's output matrix is hop k+1's input one), batched matrix products for the hops,
autograd, plain SGD with the loss summed over the batch and per-matrix gradient clipping. No Python loop over
examples; the only loop is over the hops. Before timing, its answers are checked against the plain reference
model of memn2n_ref.py on the same weights.

Usage: /usr/bin/python3 tools/reference/train_ref.py DATA.json THREADS EPOCHS
       /usr/bin/python3 tools/reference/train_ref.py --peak THREADS   (float32 matmul GFLOP/s through PyTorch)
Prints one JSON object.
"""

import json
import sys
import time

import torch

from memn2n_ref import MemN2N


def peak(threads):
    """The machine's float32 throughput as PyTorch's matmul reaches it: a reference ceiling."""
    torch.set_num_threads(threads)
    a = torch.randn(1024, 1024, dtype=torch.float32)
    b = torch.randn(1024, 1024, dtype=torch.float32)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(10):
            a @ b
        dt = time.perf_counter() - t0
        best = max(best, 10 * 2 * 1024 ** 3 / dt / 1e9)
    print(json.dumps({"threads": threads, "gflops": best}))


class FastMemN2N(torch.nn.Module):
    """MemN2N with adjacent tying: E[0] embeds the question, E[k] is hop k's input memory and hop k-1's
    output memory, E[K] is the answer layer; T[k] are the temporal rows of the same tying."""

    def __init__(self, E, T, pe, K, slots):
        super().__init__()
        self.E = torch.nn.Parameter(E)  # [K+1, V, d]
        self.T = torch.nn.Parameter(T) if T is not None else None  # [K+1, timeSize, d]
        self.register_buffer("pe", pe)  # [J, d]
        self.K = K
        self.slots = slots

    def forward(self, memory, mem_len, time, query):
        n, M, _ = memory.shape
        # Every matrix over the memory at once: [K+1, n, M, d]. Null words have zero rows.
        mem = (self.E[:, memory] * self.pe).sum(-2)
        if self.T is not None:
            mem = mem + self.T[:, time.clamp(max=self.T.shape[1] - 1)]
        u = (self.E[0][query] * self.pe).sum(-2)
        used = torch.arange(M).unsqueeze(0) < mem_len.unsqueeze(1)
        empty = (self.slots - mem_len).clamp(min=0).unsqueeze(1).to(u.dtype) if self.slots else None
        attention = []
        for k in range(self.K):
            scores = torch.bmm(mem[k], u.unsqueeze(2)).squeeze(2).masked_fill(~used, float("-inf"))
            if empty is None:
                p = torch.softmax(scores, dim=1)
            else:
                # empty slots score 0 and take their share of the softmax (the official code's memory)
                top = torch.clamp(scores.max(1, keepdim=True).values, min=0)
                e = torch.exp(scores - top)
                p = e / (e.sum(1, keepdim=True) + empty * torch.exp(-top))
            attention.append(p)
            u = u + torch.bmm(p.unsqueeze(1), mem[k + 1]).squeeze(1)
        return u @ self.E[self.K].T, torch.stack(attention, 1)


def position_encoding(J, d, encoding):
    """The official code's position weights (J: the longest sentence), or ones for a bag of words."""
    if encoding == "bow":
        return torch.ones(J, d)
    j = torch.arange(1, J + 1).unsqueeze(1).float()
    k = torch.arange(1, d + 1).unsqueeze(0).float()
    return 1 + 4 * (k - (d + 1) / 2) * (j - (J + 1) / 2) / (d * J)


def check_against_reference(model, memory, mem_len, time_ix, query, cfg):
    """The fast model answers as memn2n_ref.MemN2N does on the same weights (a bag of words, both)."""
    K, V, d = model.K, model.E.shape[1], model.E.shape[2]
    J = memory.shape[2]
    tensors = {f"E{k}": (model.E[k].detach().double().flatten().tolist(), [V, d]) for k in range(K + 1)}
    if model.T is not None:
        for k in range(K + 1):
            tensors[f"T{k}"] = (model.T[k].detach().double().flatten().tolist(), list(model.T[k].shape))
    ref_cfg = dict(V=V, d=d, M=memory.shape[1], J=J, timeSize=cfg["memorySize"], hops=K, encoding="bow",
                   tying="adjacent", temporal=model.T is not None, slots=model.slots)
    ref = MemN2N(ref_cfg, tensors)
    bow = FastMemN2N(model.E.detach().double(), None if model.T is None else model.T.detach().double(),
                     torch.ones(J, d, dtype=torch.float64), K, model.slots)
    idx = torch.arange(min(64, memory.shape[0]))
    with torch.no_grad():
        a, _ = bow(memory[idx], mem_len[idx], time_ix[idx], query[idx])
        b, _ = ref(memory[idx], mem_len[idx], time_ix[idx], query[idx], False)
    err = float((a - b).abs().max())
    if err > 1e-9:
        raise SystemExit(f"the fast PyTorch model disagrees with memn2n_ref.py by {err}")


def main():
    if sys.argv[1] == "--peak":
        peak(int(sys.argv[2]))
        return
    path, threads, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    with open(path) as f:
        d = json.load(f)
    cfg = d["config"]
    n, M, J = d["n"], d["M"], d["J"]
    V, dim, K = d["V"], cfg["dim"], cfg["hops"]
    # the bench exports each statement once (a sentence table) and memory slots as rows of it
    sentences = torch.tensor(d["sentences"]).reshape(-1, J)
    memory = sentences[torch.tensor(d["memory"]).reshape(n, M)]
    mem_len = torch.tensor(d["memLen"])
    time_ix = torch.tensor(d["time"]).reshape(n, M)
    query = torch.tensor(d["query"]).reshape(n, J)
    answer = torch.tensor(d["answer"])

    g = torch.Generator().manual_seed(1)
    E = torch.randn(K + 1, V, dim, generator=g) * cfg["initStd"]
    E[:, :2] = 0  # null and unknown words embed to zero
    T = torch.randn(K + 1, cfg["memorySize"], dim, generator=g) * cfg["initStd"] if cfg["temporal"] else None
    slots = M if cfg.get("attendEmpty") else 0
    model = FastMemN2N(E, T, position_encoding(J, dim, cfg["encoding"]), K, slots)
    check_against_reference(model, memory, mem_len, time_ix, query, cfg)
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    bs = cfg["batchSize"]

    def epoch():
        order = torch.randperm(n)
        for s in range(0, n, bs):
            idx = order[s:s + bs]
            logits, _ = model(memory[idx], mem_len[idx], time_ix[idx], query[idx])
            loss = torch.nn.functional.cross_entropy(logits, answer[idx], reduction="sum")
            opt.zero_grad()
            loss.backward()
            # per-matrix clipping, as the official code clips each tensor's gradient on its own
            for grads in (model.E.grad, *((model.T.grad,) if model.T is not None else ())):
                norms = grads.flatten(1).norm(dim=1).clamp(min=1e-12)
                grads.mul_((cfg["maxGradNorm"] / norms).clamp(max=1).view(-1, 1, 1))
            opt.step()
            with torch.no_grad():
                model.E[:, :2] = 0

    epoch()  # warm-up
    # the best of 3 timings of `epochs` epochs, as the bench times ours
    train_s = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(epochs):
            epoch()
        train_s = min(train_s, (time.perf_counter() - t0) / epochs)

    # one question at a time, as a service answers
    lat = []
    with torch.no_grad():
        for i in range(min(n, 300)):
            t1 = time.perf_counter()
            logits, _ = model(memory[i:i + 1], mem_len[i:i + 1], time_ix[i:i + 1], query[i:i + 1])
            int(logits.argmax())
            lat.append(time.perf_counter() - t1)
    lat.sort()
    print(json.dumps({
        "torch": torch.__version__,
        "threads": threads,
        "ms_per_epoch": train_s * 1000,
        "train_examples_per_sec": n / train_s,
        "p50_ms": lat[len(lat) // 2] * 1000,
        "answers_per_sec": len(lat) / sum(lat),
    }))


if __name__ == "__main__":
    main()
