/* SPDX-License-Identifier: MIT
 * Internal contract between the GEMM driver (gemm.c) and its micro-kernels.
 * A micro-kernel computes one MR x NR tile of C from packed panels:
 *   a: kc steps of MR values (column p of the A micro-panel, op(A)[i0+i, p])
 *   b: kc steps of NR values (row p of the B micro-panel, op(B)[p, j0+j]),
 *      bs apart: NR when packed, ldb when read from B itself (not transposed)
 *   C[i, j] = alpha sum_p a[p*MR+i] b[p*bs+j] + beta C[i, j]
 * beta == 0 must not read C. Blocking sizes come with the kernel. */
#ifndef AD_GEMM_KERNELS_H
#define AD_GEMM_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

typedef void (*ad_gemm_kern_f32)(size_t kc, const float *a, const float *b, size_t bs, float *c,
                                 size_t ldc, float alpha, float beta);
typedef void (*ad_gemm_kern_f64)(size_t kc, const double *a, const double *b, size_t bs, double *c,
                                 size_t ldc, double alpha, double beta);

/* Packers (see gemm_pack.h): rows [i0, i0+mc) of op(A) or columns
 * [j0, j0+nc) of op(B), depth [p0, p0+kc), into micro-panels at dst. */
typedef void (*ad_gemm_pack_f32)(bool trans, const float *x, size_t ldx, size_t r0, size_t len,
                                 size_t p0, size_t kc, float *dst);
typedef void (*ad_gemm_pack_f64)(bool trans, const double *x, size_t ldx, size_t r0, size_t len,
                                 size_t p0, size_t kc, double *dst);

/* The unpacked product (gemm_pack.h rows_): few rows, tiny sizes, fallback. */
typedef void (*ad_gemm_rows_f32)(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                                 const float *a, size_t lda, const float *b, size_t ldb, float beta,
                                 float *c, size_t ldc);
typedef void (*ad_gemm_rows_f64)(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                                 const double *a, size_t lda, const double *b, size_t ldb,
                                 double beta, double *c, size_t ldc);

/* The dot-product path (gemm_dot.h): C = alpha A B^T + beta C, A [m,k] and
 * B [n,k] row-major, for narrow products. */
typedef void (*ad_gemm_dot_f32)(size_t m, size_t n, size_t k, float alpha, const float *a,
                                size_t lda, const float *b, size_t ldb, float beta, float *c,
                                size_t ldc);
typedef void (*ad_gemm_dot_f64)(size_t m, size_t n, size_t k, double alpha, const double *a,
                                size_t lda, const double *b, size_t ldb, double beta, double *c,
                                size_t ldc);

/* mr, nr: register tile; kc: depth of one packed block; mc: rows of A
 * packed at once (multiple of mr); nc: columns of B packed at once (a
 * multiple of nr, sized so kc x nc stays in L2). */
typedef struct ad_gemm_impl_f32 {
    size_t mr, nr, kc, mc, nc;
    ad_gemm_kern_f32 kern;
    ad_gemm_pack_f32 pack_a, pack_b;
    ad_gemm_rows_f32 rows;
    ad_gemm_dot_f32 dot;
} ad_gemm_impl_f32;

typedef struct ad_gemm_impl_f64 {
    size_t mr, nr, kc, mc, nc;
    ad_gemm_kern_f64 kern;
    ad_gemm_pack_f64 pack_a, pack_b;
    ad_gemm_rows_f64 rows;
    ad_gemm_dot_f64 dot;
} ad_gemm_impl_f64;

/* Largest register tile of any kernel: the driver's edge buffer. */
#define AD_GEMM_MAX_MR 16
#define AD_GEMM_MAX_NR 32

extern const ad_gemm_impl_f32 ad_gemm_generic_f32, ad_gemm_avx2_f32, ad_gemm_avx512_f32;
extern const ad_gemm_impl_f64 ad_gemm_generic_f64, ad_gemm_avx2_f64, ad_gemm_avx512_f64;

#endif
