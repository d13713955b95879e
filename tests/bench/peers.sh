#!/usr/bin/env bash
# make bench-peers: our benchmark suite and the peer scripts in
# ../shared/peers/ (ADOL-C, OpenBLAS, PyTorch), run alternately RUNS times
# (default 3) so machine drift hits both alike; then the median of each
# figure over the runs and one ratio line per comparable pair.
# Needs: apt-get install -y python3-torch libadolc-dev libopenblas-dev
set -euo pipefail
cd "$(dirname "$0")/../.."
PEERS=${PEERS:-../shared/peers}
RUNS=${RUNS:-3}
OUT=${OUT:-build/bench-peers}
[ -f "$PEERS/run_all.sh" ] || { echo "bench-peers: no peer scripts at $PEERS" >&2; exit 1; }
for pkg in python3-torch libadolc-dev libopenblas-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || {
        echo "bench-peers: $pkg is missing: apt-get install -y python3-torch libadolc-dev libopenblas-dev" >&2
        exit 1
    }
done
make -s build/bench
# the OpenBLAS side of the skinny gemm figures (measurement only: adtape links no BLAS)
${CC:-cc} -O2 -Itests/bench -o build/blas_skinny tests/bench/peers/blas_skinny.c -lopenblas
mkdir -p "$OUT"
for r in $(seq 1 "$RUNS"); do
    echo "# run $r of $RUNS: adtape" >&2
    build/bench > "$OUT/ours.$r.txt"
    echo "# run $r of $RUNS: peers" >&2
    bash "$PEERS/run_all.sh" gemm adolc torch conv > "$OUT/peers.$r.txt" 2> "$OUT/peers.$r.err"
    for t in 1 2; do
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$t build/blas_skinny $t
    done >> "$OUT/peers.$r.txt"
    # the char-RNN step with torch.nn.GRU (bench_rnn.c's rnn.* figures): t1, t2, t1.blas2
    for tb in "1 1" "2 2" "1 2"; do
        set -- $tb
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$2 \
            /usr/bin/python3 tests/bench/peers/torch_gru.py "$1"
    done >> "$OUT/peers.$r.txt" 2>> "$OUT/peers.$r.err"
done
python3 tests/bench/peers_ratio.py "$OUT"/ours.*.txt -- "$OUT"/peers.*.txt
