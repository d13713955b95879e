# SPDX-License-Identifier: MIT
# PyTorch DDP on the same problem as bench_mpi.c: the 1024-1024-1024-10 ReLU
# MLP, softmax cross-entropy, float32, SGD lr 0.01, a global batch of 256
# split over 2 processes x 1 thread, gloo backend on this machine; 5 warm-up
# steps, then the median of 20. Prints `ddp.p2.t1.samples_per_s V samples/s`.
# Run with Debian's python3-torch: /usr/bin/python3 tests/bench/mpi/ddp_bench.py
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

GLOBAL_BATCH, WARM, STEPS = 256, 5, 20


def worker(rank, size, port, out):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 10))
    model = torch.nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(3)
    x = torch.rand(GLOBAL_BATCH, 1024, generator=g)
    y = torch.randint(0, 10, (GLOBAL_BATCH,), generator=g)
    lo, hi = GLOBAL_BATCH * rank // size, GLOBAL_BATCH * (rank + 1) // size
    xs, ys = x[lo:hi], y[lo:hi]
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for i in range(WARM + STEPS):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(xs), ys).backward()  # DDP overlaps its bucketed allreduce
        opt.step()
        if i >= WARM:
            times.append(time.perf_counter() - t0)
    t = torch.tensor([statistics.median(times)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    if rank == 0:
        out.put(GLOBAL_BATCH / t.item())
    dist.destroy_process_group()


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    port = 29500 + os.getpid() % 1000
    procs = [ctx.Process(target=worker, args=(r, size, port, q)) for r in range(size)]
    for p in procs:
        p.start()
    rate = q.get()
    for p in procs:
        p.join()
    print(f"ddp.p{size}.t1.samples_per_s {rate:.4g} samples/s")
