/* SPDX-License-Identifier: MIT
 * A sum over a contiguous row in eight partial sums, so the adds pipeline
 * and vectorise: a single running sum waits on every add (4 cycles an
 * element). The order is fixed by the code, not the machine.
 * AD_ROW_SUM(name, ACC, TERM, params...) defines
 * `static ACC name(params..., size_t n)`, the sum of TERM(k), k < n, in ACC. */
#ifndef AD_OPS_ROW_SUM_H
#define AD_OPS_ROW_SUM_H

#include <stddef.h>

#define AD_ROW_SUM(name, ACC, TERM, ...)                                                           \
    static ACC name(__VA_ARGS__, size_t n)                                                         \
    {                                                                                              \
        ACC s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0, tail = 0;              \
        size_t k = 0;                                                                              \
        for (; k + 8 <= n; k += 8) {                                                               \
            s0 += TERM(k), s1 += TERM(k + 1), s2 += TERM(k + 2), s3 += TERM(k + 3);                \
            s4 += TERM(k + 4), s5 += TERM(k + 5), s6 += TERM(k + 6), s7 += TERM(k + 7);            \
        }                                                                                          \
        for (; k < n; k++)                                                                         \
            tail += TERM(k);                                                                       \
        return (((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))) + tail;                         \
    }

#endif
