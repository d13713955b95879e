/* SPDX-License-Identifier: MIT
 * The skinny GEMM shapes of the gemm bench group, shared with the OpenBLAS
 * peer (peers/blas_skinny.c) so both time the same products: MLP layers
 * with batch 1..128 against wide layers and 10-wide outputs, forward
 * (x . w^T) and backward (A^T.B, A.B with k = 10). Row-major, op(A) [m,k],
 * op(B) [k,n]; the figure is named gemm.<dtype>.t<threads>.<name>.gflops. */
#ifndef AD_BENCH_SKINNY_SHAPES_H
#define AD_BENCH_SKINNY_SHAPES_H

#include <stddef.h>

typedef struct skinny_shape {
    const char *name;
    size_t m, n, k;
    int ta, tb;
} skinny_shape;

static const skinny_shape skinny_shapes[] = {
    {"skinny_m128_n10_k256", 128, 10, 256, 0, 0},        /* [128,256] . [256,10] */
    {"skinny_m256_n10_k1024", 256, 10, 1024, 0, 0},      /* [256,1024] . [1024,10] */
    {"skinny_m64_n10_k1024_bt", 64, 10, 1024, 0, 1},     /* last layer forward, x . w^T */
    {"skinny_m10_n256_k128_at", 10, 256, 128, 1, 0},     /* its weight gradient gy^T . x */
    {"skinny_m128_n256_k10", 128, 256, 10, 0, 0},        /* its input gradient gy . w */
    {"skinny_m1_n1024_k1024_bt", 1, 1024, 1024, 0, 1},   /* batch 1 against a wide layer */
    {"skinny_m16_n1024_k1024", 16, 1024, 1024, 0, 0},    /* batch 16, A . B */
    {"skinny_m64_n1024_k1024_bt", 64, 1024, 1024, 0, 1}, /* batch 64 forward */
    {"skinny_m1024_n64_k1024_at", 1024, 64, 1024, 1, 0}, /* weight gradient, batch 64 */
};
enum { N_SKINNY = sizeof skinny_shapes / sizeof skinny_shapes[0] };

#endif
