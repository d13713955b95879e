/* SPDX-License-Identifier: MIT
 * Test matrices for the GEMM-family tests (test_gemm.c, test_matmul_small.c):
 * float or double arrays filled from a per-file xorshift stream, and reads
 * of either dtype as double. */
#ifndef AD_TEST_MATRIX_HELPERS_H
#define AD_TEST_MATRIX_HELPERS_H

#include "common.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Uniform on [-0.5, 0.5), the next value of the stream *s. */
static inline double test_rnd(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0 - 0.5;
}

/* rows x ld values of the dtype (double when dbl), random from *s, or all
 * NaN; at least one element, so an empty matrix is still a valid pointer. */
static inline void *test_matrix(int dbl, size_t rows, size_t ld, bool nan, uint64_t *s)
{
    size_t len = rows * ld > 0 ? rows * ld : 1;
    void *x = malloc(len * (dbl ? sizeof(double) : sizeof(float)));
    cr_assert_not_null(x);
    for (size_t i = 0; i < len; i++) {
        double v = nan ? (double)NAN : test_rnd(s);
        if (dbl)
            ((double *)x)[i] = v;
        else
            ((float *)x)[i] = (float)v;
    }
    return x;
}

/* element i of a float or double array, as double */
static inline double test_get(const void *x, int dbl, size_t i)
{
    return dbl ? ((const double *)x)[i] : (double)((const float *)x)[i];
}

#endif
