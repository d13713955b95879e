/* SPDX-License-Identifier: MIT
 * Reference matrix products (see gemm.h). Straightforward loops ordered so
 * the inner one runs along contiguous memory where the layout allows. */
#include "gemm.h"

#define GEMM_BODY(T)                                                                             \
    for (size_t i = 0; i < m; i++) {                                                             \
        T *ci = c + i * ldc;                                                                     \
        if (beta == (T)0)                                                                        \
            for (size_t j = 0; j < n; j++)                                                       \
                ci[j] = (T)0;                                                                    \
        else if (beta != (T)1)                                                                   \
            for (size_t j = 0; j < n; j++)                                                       \
                ci[j] *= beta;                                                                   \
        for (size_t p = 0; p < k; p++) {                                                         \
            T aip = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);                         \
            if (!trans_b) {                                                                      \
                const T *bp = b + p * ldb;                                                       \
                for (size_t j = 0; j < n; j++)                                                   \
                    ci[j] += aip * bp[j];                                                        \
            } else {                                                                             \
                for (size_t j = 0; j < n; j++)                                                   \
                    ci[j] += aip * b[j * ldb + p];                                               \
            }                                                                                    \
        }                                                                                        \
    }

void ad_gemm_f32(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc)
{
    GEMM_BODY(float)
}

void ad_gemm_f64(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
                 const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
                 size_t ldc)
{
    GEMM_BODY(double)
}
