/* SPDX-License-Identifier: MIT
 * The small-product path of the matmul family (src/kernels/matmul_small.c) against
 * a naive double-precision product: every transpose pair, both dtypes, the
 * portable and (where the CPU has it) AVX2 code, sizes 1, odd, around the
 * vector widths, padded leading dimensions, overwrite and accumulate. */
#include "common.h"
#include "kernels/cpu.h"
#include "kernels/matmul_small.h"
#include "matrix_helpers.h"

#include <math.h>
#include <stdlib.h>

static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17};
enum { N_SIZES = sizeof sizes / sizeof sizes[0] };

static uint64_t rng_state = 0x2545f4914f6cdd1du;

/* rows x ld values of the dtype, random, or all NaN */
static void *matrix(int dbl, size_t rows, size_t ld, bool nan)
{
    return test_matrix(dbl, rows, ld, nan, &rng_state);
}

/* One product; C's padding must stay as it was, and without acc C's old
 * contents (NaN) must not leak into the result. */
static void check(int dbl, bool ta, bool tb, size_t m, size_t n, size_t k, size_t pad, bool acc)
{
    cr_assert(ad_small_gemm_fits(m, n, k, dbl ? sizeof(double) : sizeof(float)));
    size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    void *a = matrix(dbl, ta ? k : m, lda, false), *b = matrix(dbl, tb ? n : k, ldb, false);
    void *c = matrix(dbl, m, ldc, !acc), *c0 = matrix(dbl, m, ldc, false);
    memcpy(c0, c, m * ldc * (dbl ? sizeof(double) : sizeof(float)));
    if (dbl)
        ad_small_gemm_f64(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
    else
        ad_small_gemm_f32(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
    double eps = dbl ? 2.3e-16 : 1.2e-7;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < ldc; j++) {
            double got = test_get(c, dbl, i * ldc + j), old = test_get(c0, dbl, i * ldc + j);
            if (j >= n) {
                cr_assert(got == old || (isnan(got) && isnan(old)), "padding C[%zu,%zu] changed", i,
                          j);
                continue;
            }
            double s = acc ? old : 0, mag = acc ? fabs(old) : 0;
            for (size_t p = 0; p < k; p++) {
                double x = test_get(a, dbl, ta ? p * lda + i : i * lda + p);
                double y = test_get(b, dbl, tb ? j * ldb + p : p * ldb + j);
                s += x * y, mag += fabs(x * y);
            }
            cr_assert(fabs(got - s) <= 4 * eps * (double)(k + 1) * mag + 1e-300,
                      "%s ta=%d tb=%d m=%zu n=%zu k=%zu pad=%zu acc=%d: C[%zu,%zu] = %.10g, "
                      "want %.10g",
                      dbl ? "f64" : "f32", ta, tb, m, n, k, pad, acc, i, j, got, s);
        }
    free(a), free(b), free(c), free(c0);
}

/* Every (m, n) pair of the sizes with k cycling through them, both
 * transposes of each operand, overwrite and accumulate, paddings rotating. */
static void sweep(int dbl)
{
    size_t idx = 0;
    for (int t = 0; t < 4; t++)
        for (size_t mi = 0; mi < N_SIZES; mi++)
            for (size_t ni = 0; ni < N_SIZES; ni++, idx++) {
                size_t k = sizes[(mi * 5 + ni * 3 + (size_t)t) % N_SIZES];
                check(dbl, t & 1, t & 2, sizes[mi], sizes[ni], k, idx % 3 == 2 ? 3 : 0,
                      idx % 2 == 1);
            }
}

Test(matmul_small, portable_code_matches_naive_product_f32_all_transposes_and_odd_sizes)
{
    ad_small_gemm_force_portable(true);
    sweep(0);
    ad_small_gemm_force_portable(false);
}

Test(matmul_small, portable_code_matches_naive_product_f64_all_transposes_and_odd_sizes)
{
    ad_small_gemm_force_portable(true);
    sweep(1);
    ad_small_gemm_force_portable(false);
}

Test(matmul_small, avx2_code_matches_naive_product_f32_all_transposes_and_odd_sizes)
{
    if (!ad_cpu_has_avx2_fma()) return; /* the portable code ran above */
    sweep(0);
}

Test(matmul_small, avx2_code_matches_naive_product_f64_all_transposes_and_odd_sizes)
{
    if (!ad_cpu_has_avx2_fma()) return; /* the portable code ran above */
    sweep(1);
}

Test(matmul_small, long_depths_and_wide_rows_up_to_the_limit_match_naive_product)
{
    /* the dot form's whole vectors plus a tail, and op(B) copies near the
     * stack block's size */
    for (int dbl = 0; dbl < 2; dbl++)
        for (int t = 0; t < 4; t++) {
            check(dbl, t & 1, t & 2, 2, 3, 120, 1, t & 1);
            check(dbl, t & 1, t & 2, 1, 64, 15, 0, !(t & 1));
            check(dbl, t & 1, t & 2, 4, 1, 64, 2, true);
        }
}

Test(matmul_small, takes_only_small_products_whose_copy_of_b_fits_its_block)
{
    cr_assert(ad_small_gemm_fits(4, 16, 16, sizeof(float)));
    cr_assert(ad_small_gemm_fits(1, 1, 1, sizeof(double)));
    cr_assert_not(ad_small_gemm_fits(64, 64, 64, sizeof(float)));  /* too much work */
    cr_assert_not(ad_small_gemm_fits(1, 8192, 1, sizeof(float)));  /* rows of B too wide */
    cr_assert_not(ad_small_gemm_fits(1, 16, 512, sizeof(double))); /* B too deep for the block */
}
