#!/bin/sh
# SPDX-License-Identifier: MIT
# The libraries' public surface: the shared library exports only ad_ symbols
# and every AD_API function the headers declare; the static library defines
# no global symbol outside the ad_ prefix (a user's program links it whole
# into its own namespace); the shared library carries the expected soname.
# usage: check_symbols.sh build/libadtape.so.X.Y.Z build/libadtape.a libadtape.so.X [headers]
# headers: the public headers whose AD_API functions the library exports;
# default: all but adtape/mpi.h, which belongs to libadtape_mpi (make MPI=1).
set -u
so=$1
ar=$2
soname=$3
headers=${4:-$(ls include/*.h include/adtape/*.h | grep -v '^include/adtape/mpi\.h$')}
fail=0

# nm prints "address type name"; only defined symbols are asked for. An
# AddressSanitizer build adds an __odr_asan.X companion per global X: judge X.
names() {
    awk 'NF == 3 { print $3 }' | sed 's/^__odr_asan[._]//' | sort -u
}
exported=$(nm -D --defined-only "$so" | names)
if [ -z "$exported" ]; then
    echo "check-symbols: $so exports nothing (nm -D failed?)" >&2
    exit 1
fi
stray=$(printf '%s\n' "$exported" | grep -v '^ad_')
if [ -n "$stray" ]; then
    echo "check-symbols: $so exports symbols outside the ad_ prefix:" >&2
    printf '    %s\n' $stray >&2
    fail=1
fi

globals=$(nm -g --defined-only "$ar" | names)
stray=$(printf '%s\n' "$globals" | grep -v '^ad_')
if [ -n "$stray" ]; then
    echo "check-symbols: $ar defines global symbols outside the ad_ prefix:" >&2
    printf '    %s\n' $stray >&2
    fail=1
fi

# Every function declared AD_API in a public header must be exported, or a
# user's program fails to link against the shared library; so must the
# library's copies of the inline scalar ops (declared AD_INLINE_API).
declared=$(cat $headers 2>/dev/null | grep -E 'AD_API|AD_INLINE_API' |
    grep -v '#define' |
    sed -nE 's/^(AD_API|AD_INLINE_API)[^(]*[ *](ad_[A-Za-z0-9_]*)\(.*/\2/p' | sort -u)
missing=$(printf '%s\n' "$declared" | while read -r f; do
    printf '%s\n' "$exported" | grep -qx "$f" || echo "$f"
done)
if [ -n "$missing" ]; then
    echo "check-symbols: declared AD_API but not exported by $so:" >&2
    printf '    %s\n' $missing >&2
    fail=1
fi

got=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$got" != "$soname" ]; then
    echo "check-symbols: $so has soname '$got', expected '$soname'" >&2
    fail=1
fi

[ $fail = 0 ] && echo "check-symbols: $(printf '%s\n' "$exported" | wc -l) exported symbols, all ad_; soname $got"
exit $fail
