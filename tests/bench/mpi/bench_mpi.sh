#!/bin/sh
# SPDX-License-Identifier: MIT
# make MPI=1 bench-mpi: the large MLP on 1 rank x 2 threads and on 2 ranks x
# 1 thread, and PyTorch DDP (gloo, 2 processes x 1 thread) when Debian's
# python3-torch is there, interleaved ROUNDS times (a shared machine is
# noisy); medians and ratios at the end, then the scaling projection from
# the last 2-rank run (table on stdout, plot in $BUILD/mpi_projection.svg).
# usage: bench_mpi.sh BUILD "MPIRUN FLAGS"
set -u
build=$1
mpirun=$2
rounds=${ROUNDS:-3}
py=${PYTHON:-/usr/bin/python3}
out=$build/bench_mpi.out
: >"$out"
have_torch=0
$py -c 'import torch.distributed' 2>/dev/null && have_torch=1
i=0
while [ $i -lt "$rounds" ]; do
    i=$((i + 1))
    echo "== round $i of $rounds" >&2
    ADTAPE_NUM_THREADS=2 $mpirun -x ADTAPE_NUM_THREADS -np 1 "$build/bench_mpi" | tee -a "$out"
    ADTAPE_NUM_THREADS=1 $mpirun -x ADTAPE_NUM_THREADS -np 2 "$build/bench_mpi" | tee -a "$out"
    [ $have_torch = 1 ] && $py tests/bench/mpi/ddp_bench.py 2 | tee -a "$out"
done
echo "== medians over $rounds rounds"
awk '{ v[$1] = v[$1] " " $2; u[$1] = $3 }
     END { for (k in v) { n = split(v[k], a, " "); asort_(a, n); m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2;
           printf "%s %.4g %s\n", k, m, u[k] } }
     function asort_(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }' \
    "$out" | sort | tee "$build/bench_mpi.medians"
get() { awk -v k="$1" '$1 == k { print $2 }' "$build/bench_mpi.medians"; }
p2=$(get mpi.p2.t1.overlap.samples_per_s)
p1=$(get mpi.p1.t2.overlap.samples_per_s)
ddp=$(get ddp.p2.t1.samples_per_s)
[ -n "$p2" ] && [ -n "$p1" ] && awk -v a="$p2" -v b="$p1" \
    'BEGIN { printf "ratio 2 ranks x 1 thread / 1 rank x 2 threads: %.3f (target >= 0.9)\n", a / b }'
[ -n "$p2" ] && [ -n "$ddp" ] && awk -v a="$p2" -v b="$ddp" \
    'BEGIN { printf "ratio adtape / PyTorch DDP (2 x 1 thread each): %.3f\n", a / b }'
echo "== scaling projection (from one more 2-rank run)"
ADTAPE_NUM_THREADS=1 $mpirun -x ADTAPE_NUM_THREADS -np 2 "$build/bench_mpi" --project \
    "$build/mpi_projection.svg" | grep '^#'
echo "plot: $build/mpi_projection.svg"
