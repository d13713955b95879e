/* SPDX-License-Identifier: MIT
 * One variant of the small products (matmul_small.c), included once per
 * variant with SM_NAME (the function to define), SM_T (the element type),
 * SM_NC (columns of C per register chunk), SM_L (lanes of the dot form),
 * SM_MADD(s, x, y) (s + x y, fused where the variant has FMA) and SM_ATTR
 * (its target attribute, or nothing). Defines static SM_NAME and its two
 * forms, and undefines the parameters. */

#define SM_CAT_(a, b) a##_##b
#define SM_CAT(a, b)  SM_CAT_(a, b)
#define SM_AXPY       SM_CAT(axpy, SM_NAME)
#define SM_DOT        SM_CAT(dot, SM_NAME)

/* Broadcast form: C[i, j0..j0+NC) += op(A)[i,p] op(B)[p, j0..j0+NC) over p.
 * op(B) is read in place when it is B itself and whole chunks cover n;
 * otherwise it is copied (transposed if tb) into bp, zero-padded to np
 * columns. */
SM_ATTR static void SM_AXPY(bool ta, bool tb, size_t m, size_t n, size_t k, const SM_T *a,
                            size_t lda, const SM_T *b, size_t ldb, bool acc, SM_T *c, size_t ldc)
{
    _Alignas(PAD_BYTES) SM_T bp[PACK_BYTES / sizeof(SM_T)];
    const SM_T *bm = b;
    size_t np = ldb;
    if (tb || n % SM_NC) {
        np = (n + SM_NC - 1) / SM_NC * SM_NC;
        if (np != n) memset(bp, 0, k * np * sizeof(SM_T));
        if (tb)
            for (size_t j = 0; j < n; j++)
                for (size_t p = 0; p < k; p++)
                    bp[p * np + j] = b[j * ldb + p];
        else
            for (size_t p = 0; p < k; p++)
                for (size_t j = 0; j < n; j++)
                    bp[p * np + j] = b[p * ldb + j];
        bm = bp;
    }
    const size_t si = ta ? 1 : lda, sp = ta ? lda : 1;
    for (size_t i0 = 0; i0 < m; i0 += 4) {
        SMALL_ROWS(SM_T)
        for (size_t j0 = 0; j0 < n; j0 += SM_NC) {
            SM_T c0[SM_NC] = {0}, c1[SM_NC] = {0}, c2[SM_NC] = {0}, c3[SM_NC] = {0};
            const SM_T *bj = bm + j0;
            for (size_t p = 0; p < k; p++, bj += np) {
                SM_T x0 = a0[p * sp], x1 = a1[p * sp], x2 = a2[p * sp], x3 = a3[p * sp];
                for (size_t q = 0; q < SM_NC; q++) {
                    c0[q] = SM_MADD(c0[q], x0, bj[q]);
                    c1[q] = SM_MADD(c1[q], x1, bj[q]);
                    c2[q] = SM_MADD(c2[q], x2, bj[q]);
                    c3[q] = SM_MADD(c3[q], x3, bj[q]);
                }
            }
            size_t ne = n - j0 < SM_NC ? n - j0 : SM_NC;
            SMALL_STORE(SM_T, SM_NC, 0)
            SMALL_STORE(SM_T, SM_NC, 1) SMALL_STORE(SM_T, SM_NC, 2) SMALL_STORE(SM_T, SM_NC, 3)
        }
    }
}

/* Dot form for A . B^T (both read along k in place): C[i,j] = sum over
 * lanes of L-wide partial sums of A[i,:] B[j,:], then the last k % L terms.
 * Beats copying B^T when k is at least a vector long. */
SM_ATTR static void SM_DOT(size_t m, size_t n, size_t k, const SM_T *a, size_t lda, const SM_T *b,
                           size_t ldb, bool acc, SM_T *c, size_t ldc)
{
    const size_t si = lda, kl = k / SM_L * SM_L;
    for (size_t i0 = 0; i0 < m; i0 += 4) {
        SMALL_ROWS(SM_T)
        for (size_t j = 0; j < n; j++) {
            const SM_T *bj = b + j * ldb;
            SM_T s0[SM_L] = {0}, s1[SM_L] = {0}, s2[SM_L] = {0}, s3[SM_L] = {0};
            for (size_t p = 0; p < kl; p += SM_L)
                for (size_t q = 0; q < SM_L; q++) {
                    s0[q] = SM_MADD(s0[q], a0[p + q], bj[p + q]);
                    s1[q] = SM_MADD(s1[q], a1[p + q], bj[p + q]);
                    s2[q] = SM_MADD(s2[q], a2[p + q], bj[p + q]);
                    s3[q] = SM_MADD(s3[q], a3[p + q], bj[p + q]);
                }
            SMALL_LANES(SM_T, SM_L, SM_MADD, 0)
            SMALL_LANES(SM_T, SM_L, SM_MADD, 1)
            SMALL_LANES(SM_T, SM_L, SM_MADD, 2)
            SMALL_LANES(SM_T, SM_L, SM_MADD, 3)
            SMALL_DOT_STORE(SM_T, 0)
            SMALL_DOT_STORE(SM_T, 1)
            SMALL_DOT_STORE(SM_T, 2)
            SMALL_DOT_STORE(SM_T, 3)
        }
    }
}

/* 4 x NC accumulators: 8 of the 16 SSE registers, or 8 of 16 ymm with AVX2;
 * the dot form's 4 x L partial sums likewise */
SM_ATTR static void SM_NAME(bool ta, bool tb, size_t m, size_t n, size_t k, const SM_T *a,
                            size_t lda, const SM_T *b, size_t ldb, bool acc, SM_T *c, size_t ldc)
{
    if (tb && !ta && k >= SM_L)
        SM_DOT(m, n, k, a, lda, b, ldb, acc, c, ldc);
    else
        SM_AXPY(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
}

#undef SM_CAT_
#undef SM_CAT
#undef SM_AXPY
#undef SM_DOT
#undef SM_NAME
#undef SM_T
#undef SM_NC
#undef SM_L
#undef SM_MADD
#undef SM_ATTR
