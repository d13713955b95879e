/* SPDX-License-Identifier: MIT
 * Small matrix products (see matmul_small.h). op(B) is copied into a
 * zero-padded [k, np] block on the stack, so both transposes become one
 * loop: four rows of C by one chunk of NC columns live in registers while
 * p runs over the depth, each step a broadcast of op(A)[i,p] times a row
 * chunk of op(B). Compiled twice: portable, and for AVX2+FMA machines. */
#include "matmul_small.h"

#include "cpu.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* Up to this many multiply-adds the general GEMM's setup (kernel choice,
 * thread checks, per-call edge handling) outweighs the arithmetic. */
#define SMALL_WORK 8192.0
/* The packed op(B) block on the stack; rows padded to 64 bytes. */
enum { PACK_BYTES = 8192, PAD_BYTES = 64 };

bool ad_small_gemm_fits(size_t m, size_t n, size_t k, size_t elem)
{
    if ((double)m * (double)n * (double)k > SMALL_WORK) return false;
    size_t row = (n * elem + PAD_BYTES - 1) / PAD_BYTES * PAD_BYTES;
    return row <= PACK_BYTES && k <= PACK_BYTES / row;
}

/* One row of C's chunk out of its accumulator: C = acc (+ C). A whole
 * chunk is stored with constant bounds, so the accumulators stay in
 * registers; the short last chunk goes through a copy. */
#define SMALL_STORE(T, NC, r)                                                                      \
    if ((r) < rn) {                                                                                \
        T *cr = c + (i0 + (r)) * ldc + j0;                                                         \
        if (ne == NC && acc) {                                                                     \
            for (size_t q = 0; q < NC; q++)                                                        \
                cr[q] += c##r[q];                                                                  \
        } else if (ne == NC) {                                                                     \
            for (size_t q = 0; q < NC; q++)                                                        \
                cr[q] = c##r[q];                                                                   \
        } else {                                                                                   \
            T tmp[NC]; /* a copy by value: c##r itself never has its address taken */              \
            for (size_t q = 0; q < NC; q++)                                                        \
                tmp[q] = c##r[q];                                                                  \
            for (size_t q = 0; q < ne; q++)                                                        \
                cr[q] = acc ? cr[q] + tmp[q] : tmp[q];                                             \
        }                                                                                          \
    }

/* Rows of C past m repeat the last row (their results are dropped), so
 * four accumulators run without bounds checks. op(A)[i,p] = a[i si + p sp]. */
#define SMALL_ROWS(T)                                                                              \
    size_t rn = m - i0 < 4 ? m - i0 : 4;                                                           \
    const T *a0 = a + i0 * si, *a1 = a + (i0 + (rn > 1)) * si;                                     \
    const T *a2 = a + (i0 + (rn > 2 ? 2 : rn - 1)) * si, *a3 = a + (i0 + rn - 1) * si;

/* Broadcast form: C[i, j0..j0+NC) += op(A)[i,p] op(B)[p, j0..j0+NC) over p.
 * op(B) is read in place when it is B itself and whole chunks cover n;
 * otherwise it is copied (transposed if tb) into bp, zero-padded to np
 * columns. MADD(s, x, y) is s + x y, fused where the variant has FMA. */
#define SMALL_AXPY(NAME, T, NC, MADD, ATTR)                                                        \
    ATTR static void NAME(bool ta, bool tb, size_t m, size_t n, size_t k, const T *a, size_t lda,  \
                          const T *b, size_t ldb, bool acc, T *c, size_t ldc)                      \
    {                                                                                              \
        _Alignas(PAD_BYTES) T bp[PACK_BYTES / sizeof(T)];                                          \
        const T *bm = b;                                                                           \
        size_t np = ldb;                                                                           \
        if (tb || n % NC) {                                                                        \
            np = (n + NC - 1) / NC * NC;                                                           \
            if (np != n) memset(bp, 0, k *np * sizeof(T));                                         \
            if (tb)                                                                                \
                for (size_t j = 0; j < n; j++)                                                     \
                    for (size_t p = 0; p < k; p++)                                                 \
                        bp[p * np + j] = b[j * ldb + p];                                           \
            else                                                                                   \
                for (size_t p = 0; p < k; p++)                                                     \
                    for (size_t j = 0; j < n; j++)                                                 \
                        bp[p * np + j] = b[p * ldb + j];                                           \
            bm = bp;                                                                               \
        }                                                                                          \
        const size_t si = ta ? 1 : lda, sp = ta ? lda : 1;                                         \
        for (size_t i0 = 0; i0 < m; i0 += 4) {                                                     \
            SMALL_ROWS(T)                                                                          \
            for (size_t j0 = 0; j0 < n; j0 += NC) {                                                \
                T c0[NC] = {0}, c1[NC] = {0}, c2[NC] = {0}, c3[NC] = {0};                          \
                const T *bj = bm + j0;                                                             \
                for (size_t p = 0; p < k; p++, bj += np) {                                         \
                    T x0 = a0[p * sp], x1 = a1[p * sp], x2 = a2[p * sp], x3 = a3[p * sp];          \
                    for (size_t q = 0; q < NC; q++) {                                              \
                        c0[q] = MADD(c0[q], x0, bj[q]);                                            \
                        c1[q] = MADD(c1[q], x1, bj[q]);                                            \
                        c2[q] = MADD(c2[q], x2, bj[q]);                                            \
                        c3[q] = MADD(c3[q], x3, bj[q]);                                            \
                    }                                                                              \
                }                                                                                  \
                size_t ne = n - j0 < NC ? n - j0 : NC;                                             \
                SMALL_STORE(T, NC, 0)                                                              \
                SMALL_STORE(T, NC, 1) SMALL_STORE(T, NC, 2) SMALL_STORE(T, NC, 3)                  \
            }                                                                                      \
        }                                                                                          \
    }

/* Dot form for A . B^T (both read along k in place): C[i,j] = sum over
 * lanes of L-wide partial sums of A[i,:] B[j,:], then the last k % L terms.
 * Beats copying B^T when k is at least a vector long. */
#define SMALL_HALVE(L, s, w)                                                                       \
    if (L >= 2 * (w))                                                                              \
        for (size_t q = 0; q < (w); q++)                                                           \
            s[q] += s[q + (w)];
#define SMALL_LANES(T, L, MADD, r)                                                                 \
    SMALL_HALVE(L, s##r, 4)                                                                        \
    SMALL_HALVE(L, s##r, 2)                                                                        \
    SMALL_HALVE(L, s##r, 1) /* tree, L <= 8 */                                                     \
    T d##r = s##r[0];                                                                              \
    for (size_t p = kl; p < k; p++)                                                                \
        d##r = MADD(d##r, a##r[p], bj[p]);
#define SMALL_DOT_STORE(T, r)                                                                      \
    if ((r) < rn) {                                                                                \
        T *cij = c + (i0 + (r)) * ldc + j;                                                         \
        *cij = acc ? *cij + d##r : d##r;                                                           \
    }
/* clang-format off: it re-indents these statement macros on every pass */
#define SMALL_DOT(NAME, T, L, MADD, ATTR)                                                          \
    ATTR static void NAME(size_t m, size_t n, size_t k, const T *a, size_t lda, const T *b,        \
                          size_t ldb, bool acc, T *c, size_t ldc)                                  \
    {                                                                                              \
        const size_t si = lda, kl = k / L * L;                                                     \
        for (size_t i0 = 0; i0 < m; i0 += 4) {                                                     \
            SMALL_ROWS(T)                                                                          \
            for (size_t j = 0; j < n; j++) {                                                       \
                const T *bj = b + j * ldb;                                                         \
                T s0[L] = {0}, s1[L] = {0}, s2[L] = {0}, s3[L] = {0};                              \
                for (size_t p = 0; p < kl; p += L)                                                 \
                    for (size_t q = 0; q < L; q++) {                                               \
                        s0[q] = MADD(s0[q], a0[p + q], bj[p + q]);                                 \
                        s1[q] = MADD(s1[q], a1[p + q], bj[p + q]);                                 \
                        s2[q] = MADD(s2[q], a2[p + q], bj[p + q]);                                 \
                        s3[q] = MADD(s3[q], a3[p + q], bj[p + q]);                                 \
                    }                                                                              \
                SMALL_LANES(T, L, MADD, 0)                                                         \
                SMALL_LANES(T, L, MADD, 1)                                                         \
                SMALL_LANES(T, L, MADD, 2)                                                         \
                SMALL_LANES(T, L, MADD, 3)                                                         \
                SMALL_DOT_STORE(T, 0)                                                              \
                SMALL_DOT_STORE(T, 1)                                                              \
                SMALL_DOT_STORE(T, 2)                                                              \
                SMALL_DOT_STORE(T, 3)                                                              \
            }                                                                                      \
        }                                                                                          \
    }
/* clang-format on */

#define MADD_PLAIN(s, x, y) ((s) + (x) * (y))
#define MADD_FMAF(s, x, y)  fmaf(x, y, s)
#define MADD_FMA(s, x, y)   fma(x, y, s)

/* 4 x NC accumulators: 8 of the 16 SSE registers, or 8 of 16 ymm with AVX2;
 * the dot form's 4 x L partial sums likewise */
#define VARIANT(SUF, T, NC, L, MADD, ATTR)                                                         \
    SMALL_AXPY(axpy_##SUF, T, NC, MADD, ATTR)                                                      \
    SMALL_DOT(dot_##SUF, T, L, MADD, ATTR)                                                         \
    ATTR static void SUF(bool ta, bool tb, size_t m, size_t n, size_t k, const T *a, size_t lda,   \
                         const T *b, size_t ldb, bool acc, T *c, size_t ldc)                       \
    {                                                                                              \
        if (tb && !ta && k >= L)                                                                   \
            dot_##SUF(m, n, k, a, lda, b, ldb, acc, c, ldc);                                       \
        else                                                                                       \
            axpy_##SUF(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);                              \
    }
VARIANT(portable_f32, float, 4, 4, MADD_PLAIN, )
VARIANT(portable_f64, double, 2, 2, MADD_PLAIN, )
#if AD_X86
VARIANT(avx2_f32, float, 8, 8, MADD_FMAF, AD_TARGET("avx2,fma"))
VARIANT(avx2_f64, double, 4, 4, MADD_FMA, AD_TARGET("avx2,fma"))
#endif

static atomic_int forced_portable;
static atomic_int wide = -1; /* -1: not yet asked the CPU */

void ad_small_gemm_force_portable(bool on)
{
    atomic_store(&forced_portable, on);
}

static bool use_wide(void)
{
    if (!AD_X86 || atomic_load_explicit(&forced_portable, memory_order_relaxed)) return false;
    int w = atomic_load_explicit(&wide, memory_order_relaxed);
    if (w < 0) {
        w = ad_cpu_has_avx2_fma();
        atomic_store_explicit(&wide, w, memory_order_relaxed);
    }
    return w;
}

void ad_small_gemm_f32(bool ta, bool tb, size_t m, size_t n, size_t k, const float *a, size_t lda,
                       const float *b, size_t ldb, bool acc, float *c, size_t ldc)
{
#if AD_X86
    if (use_wide()) {
        avx2_f32(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
        return;
    }
#endif
    portable_f32(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
}

void ad_small_gemm_f64(bool ta, bool tb, size_t m, size_t n, size_t k, const double *a, size_t lda,
                       const double *b, size_t ldb, bool acc, double *c, size_t ldc)
{
#if AD_X86
    if (use_wide()) {
        avx2_f64(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
        return;
    }
#endif
    portable_f64(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
}
