/* SPDX-License-Identifier: MIT
 * AVX-512 GEMM micro-kernels: a 12 x 2-vector tile of C (12 x 32 floats,
 * 12 x 16 doubles) in 24 zmm accumulators; each step of k loads two vectors
 * of the B panel and broadcasts 12 values of the A panel. 24 independent
 * FMA chains cover the 4-cycle FMA latency on both pipes. */
#include "cpu.h"
#include "gemm_kernels.h"

#include <stdbool.h>
#include <string.h>

#if AD_X86
#include <immintrin.h>

#define ISA "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"

#define ROWS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

#define MR      12
#define ROWS(X) ROWS12(X)

#define MK_NAME kern_f32
#define MK_T    float
#define V       __m512
#define W       16
#define VSET1   _mm512_set1_ps
#define VLOAD   _mm512_loadu_ps
#define VSTORE  _mm512_storeu_ps
#define VFMA    _mm512_fmadd_ps
#define VMUL    _mm512_mul_ps
#define VZERO   _mm512_setzero_ps
#include "gemm_microkernel_tmpl.h"

#define MK_NAME kern_f64
#define MK_T    double
#define V       __m512d
#define W       8
#define VSET1   _mm512_set1_pd
#define VLOAD   _mm512_loadu_pd
#define VSTORE  _mm512_storeu_pd
#define VFMA    _mm512_fmadd_pd
#define VMUL    _mm512_mul_pd
#define VZERO   _mm512_setzero_pd
#include "gemm_microkernel_tmpl.h"

#define PK_ATTR AD_TARGET(ISA)
#define PK_T    float
#define PK_SUF  f32
#define PMR     12
#define PNR     32
#include "gemm_pack.h"
#undef PK_T
#undef PK_SUF
#undef PMR
#undef PNR
#define PK_T   double
#define PK_SUF f64
#define PMR    12
#define PNR    16
#include "gemm_pack.h"
#undef PK_T
#undef PK_SUF
#undef PMR
#undef PNR
#undef PK_ATTR

#define DOT_ATTR AD_TARGET(ISA)
#define DOT_WIDE 1
/* The lane sums of four vectors at once: halves, then quarters of each are
 * added pairwise across vectors (one shuffle pair per level), so four sums
 * cost about 14 instructions instead of 4 x 8. */
AD_TARGET(ISA) static inline void hsum4_f32(__m512 a, __m512 b, __m512 c, __m512 d, float *out)
{
    __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
    /* 128-bit lane q now holds 4 partial sums of vector q (a, b, c, d) */
    __m512 s =
        _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0x4E));
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0xB1));
    __m512 t = _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), s);
    _mm_storeu_ps(out, _mm512_castps512_ps128(t));
}
AD_TARGET(ISA) static inline void hsum4_f64(__m512d a, __m512d b, __m512d c, __m512d d, double *out)
{
    __m512d ab = _mm512_add_pd(_mm512_shuffle_f64x2(a, b, 0x44), _mm512_shuffle_f64x2(a, b, 0xEE));
    __m512d cd = _mm512_add_pd(_mm512_shuffle_f64x2(c, d, 0x44), _mm512_shuffle_f64x2(c, d, 0xEE));
    __m512d s =
        _mm512_add_pd(_mm512_shuffle_f64x2(ab, cd, 0x88), _mm512_shuffle_f64x2(ab, cd, 0xDD));
    s = _mm512_add_pd(s, _mm512_permute_pd(s, 0x55));
    __m512d t = _mm512_permutexvar_pd(_mm512_setr_epi64(0, 2, 4, 6, 0, 0, 0, 0), s);
    _mm256_storeu_pd(out, _mm512_castpd512_pd256(t));
}
#define DOT_T   float
#define DOT_SUF f32
#define DV      __m512
#define DW      16
#define DLOAD   _mm512_loadu_ps
#define DFMA    _mm512_fmadd_ps
#define DZERO   _mm512_setzero_ps
#define DHSUM4  hsum4_f32
#include "gemm_dot.h"
#define DOT_T   double
#define DOT_SUF f64
#define DV      __m512d
#define DW      8
#define DLOAD   _mm512_loadu_pd
#define DFMA    _mm512_fmadd_pd
#define DZERO   _mm512_setzero_pd
#define DHSUM4  hsum4_f64
#include "gemm_dot.h"
#undef DOT_ATTR
#undef DOT_WIDE

#include "gemm_transpose.h"
/* the table's packers: A and B panels for each dtype */
#define TP_NAME     pack_a_fast_f32
#define TP_T        float
#define TP_MR       12
#define TP_BLOCKS   transpose4_f32
#define TP_PORTABLE pack_a_f32
#define TP_PLAIN    ta
#include "gemm_transpose_pack_tmpl.h"
#define TP_NAME     pack_b_fast_f32
#define TP_T        float
#define TP_MR       32
#define TP_BLOCKS   transpose4_f32
#define TP_PORTABLE pack_b_f32
#define TP_PLAIN    !ta
#include "gemm_transpose_pack_tmpl.h"
#define TP_NAME     pack_a_fast_f64
#define TP_T        double
#define TP_MR       12
#define TP_BLOCKS   transpose4_f64
#define TP_PORTABLE pack_a_f64
#define TP_PLAIN    ta
#include "gemm_transpose_pack_tmpl.h"
#define TP_NAME     pack_b_fast_f64
#define TP_T        double
#define TP_MR       16
#define TP_BLOCKS   transpose4_f64
#define TP_PORTABLE pack_b_f64
#define TP_PLAIN    !ta
#include "gemm_transpose_pack_tmpl.h"

/* f32 blocks: depth 256 keeps the A micro-panel (12 KB) and a B micro-panel
 * (32 KB) together in a 48 KB L1; at depth 384 they no longer fit. 1032 rows
 * = 86 micro-panels: each thread's band of a 2048-row product on two threads
 * is one block. */
const ad_gemm_impl_f32 ad_gemm_avx512_f32 = {
    12, 32, 256, 1032, 320, kern_f32, pack_a_fast_f32, pack_b_fast_f32, rows_f32, dot_f32};
/* f64: 1032 rows too: with fewer, a band splits into two row blocks and
 * every B block is packed twice. */
const ad_gemm_impl_f64 ad_gemm_avx512_f64 = {
    12, 16, 256, 1032, 256, kern_f64, pack_a_fast_f64, pack_b_fast_f64, rows_f64, dot_f64};

#else
/* Not x86: empty rows that the dispatcher never selects. */
const ad_gemm_impl_f32 ad_gemm_avx512_f32 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
const ad_gemm_impl_f64 ad_gemm_avx512_f64 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
