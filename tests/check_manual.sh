#!/bin/sh
# SPDX-License-Identifier: MIT
# include/adtape.h is the manual and holds no private name: an identifier
# ending in `_` may appear there only as a handle's private field (tape_,
# index_, gen_, value_, mult_). The inline machinery lives in
# include/adtape/inline.h, included exactly once.
# usage: check_manual.sh [header]   (default include/adtape.h)
# Exits non-zero, naming each private name and the lines it is on.
cd "$(dirname "$0")/.." || exit 2
h=${1:-include/adtape.h}
[ -f "$h" ] || { echo "check_manual: no $h" >&2; exit 2; }
allowed='tape_ index_ gen_ value_ mult_'
# grep -w keeps names that begin with `_` (__GNUC__, __attribute__) out
names=$(grep -ow '[A-Za-z][A-Za-z0-9_]*_' "$h" | sort -u)
fail=0
for n in $names; do
    case " $allowed " in *" $n "*) continue ;; esac
    [ $fail = 1 ] || echo "check_manual: $h holds private names (move them to include/adtape/inline.h):" >&2
    fail=1
    echo "    $n: line $(grep -nw "$n" "$h" | cut -d: -f1 | tr '\n' ' ')" >&2
done
incl=$(grep -c '^#include "adtape/inline\.h"$' "$h")
if [ "$incl" != 1 ]; then
    echo "check_manual: $h must include \"adtape/inline.h\" exactly once (found $incl)" >&2
    fail=1
fi
[ $fail = 0 ] && echo "check_manual: $h holds no private name"
exit $fail
