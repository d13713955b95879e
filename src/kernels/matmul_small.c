/* SPDX-License-Identifier: MIT
 * Small matrix products (see matmul_small.h). op(B) is copied into a
 * zero-padded [k, np] block on the stack, so both transposes become one
 * loop: four rows of C by one chunk of NC columns live in registers while
 * p runs over the depth, each step a broadcast of op(A)[i,p] times a row
 * chunk of op(B). matmul_small_tmpl.h is compiled four times: portable and
 * for AVX2+FMA machines, each in float32 and float64. */
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

/* The dot form's tree of lane sums (L <= 8), its k % L tail, and its store. */
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

#define MADD_PLAIN(s, x, y) ((s) + (x) * (y))
#define MADD_FMAF(s, x, y)  fmaf(x, y, s)
#define MADD_FMA(s, x, y)   fma(x, y, s)

/* The variants: matmul_small_tmpl.h once each. */
#define SM_NAME portable_f32
#define SM_T    float
#define SM_NC   4
#define SM_L    4
#define SM_MADD MADD_PLAIN
#define SM_ATTR
#include "matmul_small_tmpl.h"

#define SM_NAME portable_f64
#define SM_T    double
#define SM_NC   2
#define SM_L    2
#define SM_MADD MADD_PLAIN
#define SM_ATTR
#include "matmul_small_tmpl.h"

#if AD_X86
#define SM_NAME avx2_f32
#define SM_T    float
#define SM_NC   8
#define SM_L    8
#define SM_MADD MADD_FMAF
#define SM_ATTR AD_TARGET("avx2,fma")
#include "matmul_small_tmpl.h"

#define SM_NAME avx2_f64
#define SM_T    double
#define SM_NC   4
#define SM_L    4
#define SM_MADD MADD_FMA
#define SM_ATTR AD_TARGET("avx2,fma")
#include "matmul_small_tmpl.h"
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
