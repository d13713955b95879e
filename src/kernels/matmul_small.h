/* SPDX-License-Identifier: MIT
 * Small matrix products for the matmul family: C [m,n] = op(A) op(B), or
 * C += op(A) op(B) when `acc`, row-major with row strides lda/ldb/ldc, for
 * products so small (a tiny MLP's 4x16x16) that the general GEMM's dispatch
 * and packing cost more than the arithmetic. Never touches the thread pool;
 * without `acc`, C is written without being read. */
#ifndef AD_MATMUL_SMALL_H
#define AD_MATMUL_SMALL_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the small path takes a product of these sizes (all nonzero) with
 * elements of elem bytes. */
bool ad_small_gemm_fits(size_t m, size_t n, size_t k, size_t elem);

void ad_small_gemm_f32(bool ta, bool tb, size_t m, size_t n, size_t k, const float *a, size_t lda,
                       const float *b, size_t ldb, bool acc, float *c, size_t ldc);
void ad_small_gemm_f64(bool ta, bool tb, size_t m, size_t n, size_t k, const double *a, size_t lda,
                       const double *b, size_t ldb, bool acc, double *c, size_t ldc);

/* Testing hook: true makes later calls (process-wide) use the portable code
 * even where the AVX2 variant would run; false restores the automatic choice. */
void ad_small_gemm_force_portable(bool on);

#endif
