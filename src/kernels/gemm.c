/* SPDX-License-Identifier: MIT
 * Matrix products (see gemm.h): kernel dispatch, per-thread packing
 * buffers, and the blocked driver instantiated for float and double from
 * gemm_tmpl.h. Micro-kernels live in gemm_avx512.c, gemm_avx2.c and
 * gemm_generic.c. */
#include "gemm.h"

#include "adtape.h"
#include "core/alloc.h"
#include "cpu.h"
#include "gemm_kernels.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Below this many multiply-adds, packing costs more than it saves. */
#define SMALL_WORK (24.0 * 24.0 * 24.0)
/* Up to this many rows of C, packing B costs more than it saves: packing is
 * a pass over all of B that so few rows cannot repay, so they read B in
 * place (A.B breaks even at 4 rows; A.B^T, read as dot products, wins by far
 * there). */
#define FEW_ROWS   4
#define FEW_ROWS_T 16 /* when B is transposed (dot products), single thread */
/* Up to this many columns of C (with A not transposed and depth at least
 * DOT_K), dot products beat padding B to a register tile. */
#define DOT_N 16
#define DOT_K 32
/* Up to this many row tiles of C (per part), the micro-kernel reads B (not
 * transposed) in place instead of packing it: packing costs a pass over B
 * that so few tiles cannot repay (A^T.B with 10 to 96 rows of C gains most).
 * Past a few tiles each panel of B is read many times, and packed it reads
 * contiguously: without a limit, tall products (f64 m = 1024, n = 64) lose. */
#ifndef BDIRECT_TILES
#define BDIRECT_TILES 8
#endif
/* Multiply-adds a thread must get before a second one is worth waking. */
#define THREAD_WORK (4.0 * 1024.0 * 1024.0)
/* ... and, past the narrow dot path, every dimension at least this long.
 * A product that is thin in one dimension (a batch of 128 rows, a depth of
 * 128) leaves half of C in the other core's cache, and the caller's next ops
 * (bias, activation, the optimiser's update of the weights the worker packed)
 * pull it back: a 784-256-256-10 training step (products of 8-26 M
 * multiply-adds, all thin) runs slower on 2 threads than on one, while square
 * products from n = 256 and the 1024-wide layers gain. */
#define THREAD_MIN_DIM 256
/* ... unless it is so big that each core's half repays the traffic: batch 64
 * against a 1024 x 1024 layer (67 M multiply-adds) gains on 2 threads; the
 * largest product of the 784-256-256-10 step (26 M) must stay below it. */
#define THIN_WORK (32.0 * 1024.0 * 1024.0)
/* ... or unless the operand it streams has SPLIT_BYTES or more: that no
 * longer stays in one core's cache, and two cores read it faster (batch 16
 * against a 1024 x 1024 layer, 17 M multiply-adds, is bound by reading the
 * weights; the 784-256-256-10 step's weights, 0.8 MB, stay under it).
 * A product of a few rows reads B once, unpacked; from this size of B on
 * each core streams a band of B's columns, so even a batch of one reads the
 * weights with both cores. */
#define SPLIT_BYTES ((size_t)4 << 20)
#define PART_WORK   ((size_t)1 << 20)

/* ---- kernel family */

static atomic_int forced_isa = AD_ISA_AUTO;

void ad_gemm_force_isa(int isa)
{
    atomic_store(&forced_isa, isa);
}

int ad_gemm_isa(void)
{
    int want = atomic_load(&forced_isa);
    if (want == AD_ISA_GENERIC) return AD_ISA_GENERIC;
    if ((want == AD_ISA_AUTO || want == AD_ISA_AVX512) && ad_cpu_has_avx512()) return AD_ISA_AVX512;
    if (ad_cpu_has_avx2_fma()) return AD_ISA_AVX2;
    return AD_ISA_GENERIC;
}

/* ---- per-thread packing buffer: grown on demand, kept for the next call,
 * freed when its thread exits (key destructor) or, for the thread that
 * calls exit(), by an atexit hook. Layout: [64-byte header: size][data]. */

static pthread_key_t buf_key;
static int buf_key_ok;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

static void buf_free_current(void)
{
    void *blk = pthread_getspecific(buf_key);
    pthread_setspecific(buf_key, NULL);
    ad_free(blk);
}

static void buf_init(void)
{
    buf_key_ok = pthread_key_create(&buf_key, ad_free) == 0;
    if (buf_key_ok) atexit(buf_free_current);
}

static void *ad_gemm_thread_buffer(size_t bytes)
{
    pthread_once(&buf_once, buf_init);
    if (!buf_key_ok) return NULL;
    unsigned char *blk = pthread_getspecific(buf_key);
    if (blk && *(size_t *)blk >= bytes) return blk + 64;
    ad_free(blk);
    pthread_setspecific(buf_key, NULL);
    size_t size = bytes + (bytes >> 2); /* headroom so nearby shapes reuse it */
    blk = size > SIZE_MAX - 64 ? NULL : ad_alloc(size + 64);
    if (!blk) return NULL;
    if (pthread_setspecific(buf_key, blk) != 0) {
        ad_free(blk);
        return NULL;
    }
    *(size_t *)blk = size;
    return blk + 64;
}

/* The block size for splitting len into equal blocks of at most max, rounded
 * up to a multiple of q (max is a multiple of q). */
static size_t balanced(size_t len, size_t max, size_t q)
{
    size_t blocks = (len + max - 1) / max;
    size_t b = (len + blocks - 1) / blocks;
    b = (b + q - 1) / q * q;
    return b < max ? b : max;
}

/* Whether computing C^T = op(B)^T op(A)^T fills the register tiles so much
 * better (a narrow C: n well below nr, m large) that it pays for storing
 * every tile transposed. Fill = useful share of the padded tiles. */
static bool narrow_gain(size_t m, size_t n, size_t mr, size_t nr)
{
    double fill = (double)(m * n) / (double)(((m + mr - 1) / mr * mr) * ((n + nr - 1) / nr * nr));
    double fill_t = (double)(m * n) / (double)(((n + mr - 1) / mr * mr) * ((m + nr - 1) / nr * nr));
    return fill_t > 1.5 * fill;
}

/* Part i of n of [0, len) cut at multiples of q: [*b0, *b1), possibly empty. */
static void band(size_t len, size_t q, size_t i, size_t n, size_t *b0, size_t *b1)
{
    size_t units = (len + q - 1) / q;
    *b0 = units * i / n * q;
    *b1 = units * (i + 1) / n * q;
    if (*b1 > len) *b1 = len;
}

/* How many pieces a threaded dot-path product is cut into, of `tiles`
 * four-row tiles: a few per thread, so a thread that starts late or is
 * preempted leaves its share to the others (see pool.h), but each piece
 * at least PART_WORK multiply-adds, as each reads all of B^T again. */
static size_t parts(size_t work, size_t tiles, int nt)
{
    size_t p = work / PART_WORK, most = 4 * (size_t)nt;
    if (p > most) p = most;
    if (p < (size_t)nt) p = (size_t)nt;
    return p < tiles ? p : tiles;
}

/* ---- the two instantiations */

#define T    float
#define SUF  f32
#define IMPL ad_gemm_impl_f32
#include "gemm_tmpl.h"
#undef T
#undef SUF
#undef IMPL

#define T    double
#define SUF  f64
#define IMPL ad_gemm_impl_f64
#include "gemm_tmpl.h"
#undef T
#undef SUF
#undef IMPL

void ad_gemm_f32(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc)
{
    int isa = ad_gemm_isa();
    const ad_gemm_impl_f32 *im = isa == AD_ISA_AVX512 ? &ad_gemm_avx512_f32
                                 : isa == AD_ISA_AVX2 ? &ad_gemm_avx2_f32
                                                      : &ad_gemm_generic_f32;
    gemm_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, im);
}

void ad_gemm_f64(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
                 const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
                 size_t ldc)
{
    int isa = ad_gemm_isa();
    const ad_gemm_impl_f64 *im = isa == AD_ISA_AVX512 ? &ad_gemm_avx512_f64
                                 : isa == AD_ISA_AVX2 ? &ad_gemm_avx2_f64
                                                      : &ad_gemm_generic_f64;
    gemm_f64(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, im);
}
