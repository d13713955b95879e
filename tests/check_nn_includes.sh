#!/bin/sh
# The MLP client is written against the public API only: every quoted
# #include under src/nn/ (and in include/adtape/nn.h) must name adtape.h,
# adtape/<something>.h, or one of the client's own headers in src/nn/ (which
# are checked by the same rule). Angle-bracket (standard) headers are allowed.
# Exits non-zero, naming each offending line, when one is not.
cd "$(dirname "$0")/.." || exit 2
files=$(find src/nn -name '*.[ch]' 2>/dev/null; ls include/adtape/nn.h 2>/dev/null)
[ -n "$files" ] || { echo "check_nn_includes: no files under src/nn" >&2; exit 1; }
bad=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $files |
    grep -vE '#[[:space:]]*include[[:space:]]*"(adtape\.h|adtape/[A-Za-z0-9_]+\.h)"' |
    while IFS= read -r line; do
        name=$(printf '%s\n' "$line" | sed -n 's/.*#[[:space:]]*include[[:space:]]*"\([A-Za-z0-9_]*\.h\)".*/\1/p')
        [ -n "$name" ] && [ -f "src/nn/$name" ] && [ "${line#include/}" = "$line" ] && continue
        printf '%s\n' "$line"
    done)
if [ -n "$bad" ]; then
    echo "check_nn_includes: src/nn may include only public headers:" >&2
    echo "$bad" >&2
    exit 1
fi
# Engine internals reached by <...> or a relative path would dodge the check.
bad=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(tape|ops|alloc|arena|gemm)\.h>|\.\./' $files)
if [ -n "$bad" ]; then
    echo "check_nn_includes: src/nn reaches engine internals:" >&2
    echo "$bad" >&2
    exit 1
fi
echo "check_nn_includes: src/nn uses only public headers"
