"""Times the PyTorch reference MemN2N (memn2n_ref.py) training and answering on the data the bench exports.

Idiomatic batched PyTorch, as public implementations are written: one padded batch tensor per step,
autograd, plain SGD with the loss summed over the batch and per-matrix gradient clipping. Used by
`npm run bench` to measure our speed against a peer in the same run.

Usage: /usr/bin/python3 tools/reference/train_ref.py DATA.json THREADS EPOCHS
       /usr/bin/python3 tools/reference/train_ref.py --peak THREADS   (float32 matmul GFLOP/s of this machine)
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
    dtype = torch.float32
    torch.set_default_dtype(dtype)

    g = torch.Generator().manual_seed(1)
    tensors = {}
    for k in range(K + 1):
        tensors[f"E{k}"] = ((torch.randn(V, dim, generator=g) * 0.1).tolist(), [V, dim])
        if cfg["temporal"]:
            tensors[f"T{k}"] = ((torch.randn(cfg["memorySize"], dim, generator=g) * 0.1).tolist(), [cfg["memorySize"], dim])
    model_cfg = dict(V=V, d=dim, M=M, J=J, timeSize=cfg["memorySize"], hops=K, encoding=cfg["encoding"],
                     tying="adjacent", temporal=cfg["temporal"])
    model = MemN2N(model_cfg, tensors).to(dtype)
    model.pe = model.pe.to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    bs = cfg["batchSize"]

    def epoch():
        order = torch.randperm(n)
        for s in range(0, n, bs):
            idx = order[s:s + bs]
            logits, _ = model(memory[idx], mem_len[idx], time_ix[idx], query[idx], False)
            loss = torch.nn.functional.cross_entropy(logits, answer[idx], reduction="sum")
            opt.zero_grad()
            loss.backward()
            for p in model.parameters():
                torch.nn.utils.clip_grad_norm_([p], cfg["maxGradNorm"])
            opt.step()
            with torch.no_grad():
                for nm, p in model.t.items():
                    if nm.startswith("E"):
                        p[:2] = 0

    epoch()  # warm-up
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    train_s = (time.perf_counter() - t0) / epochs

    # one question at a time, as a service answers
    lat = []
    with torch.no_grad():
        for i in range(min(n, 300)):
            t1 = time.perf_counter()
            logits, _ = model(memory[i:i + 1], mem_len[i:i + 1], time_ix[i:i + 1], query[i:i + 1], False)
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
