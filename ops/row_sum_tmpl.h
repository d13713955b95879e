/* SPDX-License-Identifier: MIT
 * A sum over a contiguous row in eight partial sums, so the adds pipeline
 * and vectorise: a single running sum waits on every add (4 cycles an
 * element). The order is fixed by the code, not the machine.
 * Included once per instantiation with RS_NAME (the function to define),
 * RS_ACC (the accumulator type), RS_TERM(k) (term k) and RS_PARAMS (the
 * parameters before n) defined; defines `static RS_ACC RS_NAME(RS_PARAMS,
 * size_t n)`, the sum of RS_TERM(k), k < n, in RS_ACC, and undefines them. */
#include <stddef.h>

static RS_ACC RS_NAME(RS_PARAMS, size_t n)
{
    RS_ACC s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0, tail = 0;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        s0 += RS_TERM(k), s1 += RS_TERM(k + 1), s2 += RS_TERM(k + 2), s3 += RS_TERM(k + 3);
        s4 += RS_TERM(k + 4), s5 += RS_TERM(k + 5), s6 += RS_TERM(k + 6), s7 += RS_TERM(k + 7);
    }
    for (; k < n; k++)
        tail += RS_TERM(k);
    return (((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))) + tail;
}

#undef RS_NAME
#undef RS_ACC
#undef RS_TERM
#undef RS_PARAMS
