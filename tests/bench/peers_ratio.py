#!/usr/bin/env python3
"""Medians over runs of our figures and the peers', and ours/peer ratios.

Usage: peers_ratio.py OURS... -- PEERS...   (files of `name value unit` lines)
Each ratio line: `ratio.<our name> <ours/peer> x  # ours .. peer .. (peer name)`.
For times a ratio below 1 means adtape is faster; for GFLOP/s above 1 does."""
import statistics
import sys


def medians(paths):
    runs = {}
    for p in paths:
        for line in open(p):
            parts = line.split()
            if len(parts) < 3 or line.startswith("#"):
                continue
            try:
                runs.setdefault(parts[0], []).append(float(parts[1]))
            except ValueError:
                pass
    return {k: statistics.median(v) for k, v in runs.items()}


def main():
    cut = sys.argv.index("--")
    ours, peers = medians(sys.argv[1:cut]), medians(sys.argv[cut + 1:])
    pairs = []
    for fn in ("rosenbrock", "transcendental"):
        pairs.append((f"scalar.{fn}.grad_ms", [f"adolc.{fn}.default.record_plus_gradient"]))
    for dt, blas in (("f32", "sgemm"), ("f64", "dgemm")):
        for t in (1, 2):
            for n in (128, 256, 512, 1024, 2048):
                pairs.append((f"gemm.{dt}.t{t}.n{n}.gflops", [f"gemm.t{t}.env_unset.{blas}.n{n}"]))
    # skinny shapes (tests/bench/skinny_shapes.h): peers/blas_skinny.c names them blas.*
    for name in ours:
        if name.startswith("gemm.") and ".skinny_" in name:
            pairs.append((name, ["blas." + name[len("gemm."):]]))
    for net in ("tiny", "mnist", "medium", "large"):
        for part, peer in (("step", "step"), ("fwd", "forward"), ("bwd", "backward")):
            pairs.append((f"mlp.{net}.t1.{part}_ms", [f"torch.t1.mlp.{net}.{peer}"]))
            # the best two-core PyTorch setting of the three the peer script runs
            pairs.append((f"mlp.{net}.t2.{part}_ms",
                          [f"torch.t2.mlp.{net}.{peer}", f"torch.t1.blas2.mlp.{net}.{peer}"]))
    pairs.append(("memory.large.peak_rss_mib", ["torch.t1.mlp.large.peak_rss"]))
    # conv2d alone and the small CNN step (torch_second.py's conv2d and cnn parts, step `conv`)
    for part in ("fwd_bwd", "fwd", "bwd"):
        pairs.append((f"conv.f32.t1.{part}_ms", [f"torch.conv2d.t1.{part}_ms"]))
        pairs.append((f"conv.f32.t2.{part}_ms",
                      [f"torch.conv2d.t2.{part}_ms", f"torch.conv2d.t1.blas2.{part}_ms"]))
    for part, peer in (("step", "step"), ("fwd", "forward"), ("bwd", "backward")):
        pairs.append((f"cnn.f32.t1.{part}_ms", [f"torch.cnn.t1.{peer}_ms"]))
        pairs.append((f"cnn.f32.t2.{part}_ms", [f"torch.cnn.t2.{peer}_ms", f"torch.cnn.t1.blas2.{peer}_ms"]))
    # the char-RNN training step (bench_rnn.c against peers/torch_gru.py)
    for part, peer in (("step", "step"), ("step_cpu", "step_cpu"), ("fwd", "forward"),
                       ("bwd", "backward")):
        pairs.append((f"rnn.gru.t1.{part}_ms", [f"torch.t1.rnn.gru.{peer}"]))
        pairs.append((f"rnn.gru.t2.{part}_ms",
                      [f"torch.t2.rnn.gru.{peer}", f"torch.t1.blas2.rnn.gru.{peer}"]))
    for name, cands in pairs:
        have = [(peers[c], c) for c in cands if c in peers]
        if name not in ours or not have:
            continue
        higher_is_better = name.endswith("gflops")
        pv, pn = max(have) if higher_is_better else min(have)
        print(f"ratio.{name} {ours[name] / pv:.3f} x  # ours {ours[name]:.4g}, peer {pv:.4g} ({pn})")
    for name in sorted(ours):
        if name.startswith("scalar.") and name.endswith(("ns_per_op", "bytes_per_op", "primal_ms")):
            print(f"{name} {ours[name]:.4g}  # median over runs")
    for fn in ("rosenbrock", "transcendental"):
        g, p = ours.get(f"scalar.{fn}.grad_ms"), ours.get(f"scalar.{fn}.primal_ms")
        if g and p:
            print(f"scalar.{fn}.grad_over_primal {g / p:.2f} x")


if __name__ == "__main__":
    main()
