#!/usr/bin/python3
"""PyTorch peer of tests/bench/bench_rnn.c: one char-RNN training step with torch.nn.GRU.

Run with Debian's interpreter (python3-torch is not visible to other pythons):
    OPENBLAS_NUM_THREADS=B /usr/bin/python3 tests/bench/peers/torch_gru.py THREADS
THREADS goes to torch.set_num_threads; as in ../shared/peers/torch_bench.py the prefix is
"torch.tT" when OPENBLAS_NUM_THREADS == THREADS, else "torch.tT.blasB".
The step, as bench_rnn.c: the GPL-3 text's characters (sorted byte values) one-hot as
x [T=64, B=32, V], nn.GRU(V, 256) from h0 = 0, nn.Linear(256, V), cross-entropy against the
next character averaged over T*B, backward, Adam (lr 2e-3), zero_grad. The same batch every
step; 5 warm-up steps, then the median of at least 10 steps (and 2 s).
Prints "name value unit  # comment" lines.
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

T_STEPS, BATCH, HIDDEN = 64, 32, 256
PATH = "/usr/share/common-licenses/GPL-3"
now = time.perf_counter

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
P = f"torch.t{threads}" if blas == str(threads) else f"torch.t{threads}.blas{blas}"

try:
    data = open(PATH, "rb").read()
except OSError:  # the synthetic text bench_rnn.c falls back to
    data = bytes(32 + (n * 7 + n // 13) % 76 for n in range(35000))
chars = sorted(set(data))
index = {c: i for i, c in enumerate(chars)}
text = torch.tensor([index[c] for c in data])
V = len(chars)

torch.manual_seed(42)
offs = torch.randint(0, len(text) - T_STEPS - 1, (BATCH,))
rows = torch.stack([text[o:o + T_STEPS + 1] for o in offs.tolist()], dim=1)  # [T+1, B]
x = F.one_hot(rows[:-1], V).float()  # [T, B, V]
labels = rows[1:].reshape(-1)  # row t*B + b, as bench_rnn.c

gru = nn.GRU(V, HIDDEN)
out = nn.Linear(HIDDEN, V)
params = list(gru.parameters()) + list(out.parameters())
opt = torch.optim.Adam(params, lr=2e-3)
h0 = torch.zeros(1, BATCH, HIDDEN)


def step():
    c0 = time.process_time()  # CPU time of all threads, as bench_rnn.c's step_cpu_ms
    t0 = now()
    y, _ = gru(x, h0)
    loss = F.cross_entropy(out(y.reshape(-1, HIDDEN)), labels)
    t1 = now()
    loss.backward()
    t2 = now()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return t1 - t0, t2 - t1, now() - t0, time.process_time() - c0, loss.item()


first = step()[4]
for _ in range(4):
    step()
fw, bw, st, cpu = [], [], [], []
start = now()
while len(st) < 500 and (len(st) < 10 or now() - start < 2.0):
    f, b, s, c, last = step()
    fw.append(f), bw.append(b), st.append(s), cpu.append(c)
assert last < first, (first, last)


def emit(name, xs):
    xs = sorted(xs)
    print(f"{name} {1e3 * xs[len(xs) // 2]:.4g} ms  # min {1e3 * xs[0]:.4g} max {1e3 * xs[-1]:.4g}, "
          f"n={len(xs)}, T={T_STEPS} B={BATCH} H={HIDDEN} V={V}, loss {first:.4f} -> {last:.4f}")


print(f"# torch {torch.__version__}, threads={torch.get_num_threads()}, OPENBLAS_NUM_THREADS={blas}")
emit(f"{P}.rnn.gru.step", st)
emit(f"{P}.rnn.gru.step_cpu", cpu)
emit(f"{P}.rnn.gru.forward", fw)
emit(f"{P}.rnn.gru.backward", bw)
