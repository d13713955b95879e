/* SPDX-License-Identifier: MIT
 * General matrix products, row-major: C = alpha op(A) op(B) + beta C, where
 * op(X) is X or X^T (trans_a / trans_b), op(A) is [m,k], op(B) is [k,n],
 * C is [m,n]; lda/ldb/ldc are row strides in elements. Transposes are read
 * in place, never materialised. beta = 1 accumulates (backward rules use
 * it); beta = 0 overwrites without reading C (NaNs in C are not kept).
 * Safe to call from several threads at once; large products use the
 * library's thread pool (ad_set_num_threads). */
#ifndef AD_GEMM_H
#define AD_GEMM_H

#include "cpu.h"

#include <stdbool.h>
#include <stddef.h>

void ad_gemm_f32(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc);
void ad_gemm_f64(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
                 const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
                 size_t ldc);

/* Testing hook: forces a kernel family for every later call (process-wide).
 * A family the CPU lacks falls back to the best one it has, never crashes. */
void ad_gemm_force_isa(int isa);
/* The family the next call will use (never AD_ISA_AUTO). */
int ad_gemm_isa(void);

#endif
