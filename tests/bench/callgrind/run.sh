#!/bin/sh
# Instructions per tiny MLP step under callgrind: the difference between
# 1100 and 100 steps, over 1000. Usage (from the repository root, after
# `make`): sh tests/bench/callgrind/run.sh [fused] [LIBRARY.a]
set -e
mode=${1:-plain}
lib=${2:-build/libadtape.a}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cc -std=c11 -O2 -g -Iinclude -o "$dir/tiny" tests/bench/callgrind/tiny_steps.c "$lib" -lm -lpthread
count() {
    valgrind --tool=callgrind --callgrind-out-file="$dir/out.$1" "$dir/tiny" "$1" "$mode" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
a=$(count 100)
b=$(count 1100)
echo "tiny $mode: $(( (b - a) / 1000 )) instructions per step"
