/* SPDX-License-Identifier: MIT
 * AVX2+FMA GEMM micro-kernels: a 6 x 2-vector tile of C (6 x 16 floats,
 * 6 x 8 doubles) in 12 ymm accumulators; each step of k loads two vectors
 * of the B panel and broadcasts 6 values of the A panel. 12 independent
 * FMA chains cover the 4-cycle latency of two FMA pipes; 15 of 16 ymm used. */
#include "cpu.h"
#include "gemm_kernels.h"

#include <stdbool.h>
#include <string.h>

#if AD_X86
#include <immintrin.h>

#define ISA "avx2,fma"

#define ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)

#define MR      6
#define ROWS(X) ROWS6(X)

#define MK_NAME kern_f32
#define MK_T    float
#define V       __m256
#define W       8
#define VSET1   _mm256_set1_ps
#define VLOAD   _mm256_loadu_ps
#define VSTORE  _mm256_storeu_ps
#define VFMA    _mm256_fmadd_ps
#define VMUL    _mm256_mul_ps
#define VZERO   _mm256_setzero_ps
#include "gemm_microkernel_tmpl.h"

#define MK_NAME kern_f64
#define MK_T    double
#define V       __m256d
#define W       4
#define VSET1   _mm256_set1_pd
#define VLOAD   _mm256_loadu_pd
#define VSTORE  _mm256_storeu_pd
#define VFMA    _mm256_fmadd_pd
#define VMUL    _mm256_mul_pd
#define VZERO   _mm256_setzero_pd
#include "gemm_microkernel_tmpl.h"

#define PK_ATTR AD_TARGET(ISA)
#define PK_T    float
#define PK_SUF  f32
#define PMR     6
#define PNR     16
#include "gemm_pack.h"
#undef PK_T
#undef PK_SUF
#undef PMR
#undef PNR
#define PK_T   double
#define PK_SUF f64
#define PMR    6
#define PNR    8
#include "gemm_pack.h"
#undef PK_T
#undef PK_SUF
#undef PMR
#undef PNR
#undef PK_ATTR

#define DOT_ATTR AD_TARGET(ISA)
#define DOT_WIDE 0
/* The lane sums of four vectors at once (horizontal adds, then the halves). */
AD_TARGET(ISA) static inline void hsum4_f32(__m256 a, __m256 b, __m256 c, __m256 d, float *out)
{
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}
AD_TARGET(ISA) static inline void hsum4_f64(__m256d a, __m256d b, __m256d c, __m256d d, double *out)
{
    __m256d ab = _mm256_hadd_pd(a, b), cd = _mm256_hadd_pd(c, d); /* [a01 b01 a23 b23] */
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(ab, cd, 0x20),
                                        _mm256_permute2f128_pd(ab, cd, 0x31)));
}
#define DOT_T   float
#define DOT_SUF f32
#define DV      __m256
#define DW      8
#define DLOAD   _mm256_loadu_ps
#define DFMA    _mm256_fmadd_ps
#define DZERO   _mm256_setzero_ps
#define DHSUM4  hsum4_f32
#include "gemm_dot.h"
#define DOT_T   double
#define DOT_SUF f64
#define DV      __m256d
#define DW      4
#define DLOAD   _mm256_loadu_pd
#define DFMA    _mm256_fmadd_pd
#define DZERO   _mm256_setzero_pd
#define DHSUM4  hsum4_f64
#include "gemm_dot.h"
#undef DOT_ATTR
#undef DOT_WIDE

#include "gemm_transpose.h"
/* the table's packers: A and B panels for each dtype */
#define TP_NAME     pack_a_fast_f32
#define TP_T        float
#define TP_MR       6
#define TP_BLOCKS   transpose4_f32
#define TP_PORTABLE pack_a_f32
#define TP_PLAIN    ta
#include "gemm_transpose_pack_tmpl.h"
#define TP_NAME     pack_b_fast_f32
#define TP_T        float
#define TP_MR       16
#define TP_BLOCKS   transpose4_f32
#define TP_PORTABLE pack_b_f32
#define TP_PLAIN    !ta
#include "gemm_transpose_pack_tmpl.h"
#define TP_NAME     pack_a_fast_f64
#define TP_T        double
#define TP_MR       6
#define TP_BLOCKS   transpose4_f64
#define TP_PORTABLE pack_a_f64
#define TP_PLAIN    ta
#include "gemm_transpose_pack_tmpl.h"
#define TP_NAME     pack_b_fast_f64
#define TP_T        double
#define TP_MR       8
#define TP_BLOCKS   transpose4_f64
#define TP_PORTABLE pack_b_f64
#define TP_PLAIN    !ta
#include "gemm_transpose_pack_tmpl.h"

const ad_gemm_impl_f32 ad_gemm_avx2_f32 = {
    6, 16, 384, 768, 320, kern_f32, pack_a_fast_f32, pack_b_fast_f32, rows_f32, dot_f32};
const ad_gemm_impl_f64 ad_gemm_avx2_f64 = {
    6, 8, 256, 768, 256, kern_f64, pack_a_fast_f64, pack_b_fast_f64, rows_f64, dot_f64};

#else
/* Not x86: empty rows that the dispatcher never selects. */
const ad_gemm_impl_f32 ad_gemm_avx2_f32 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
const ad_gemm_impl_f64 ad_gemm_avx2_f64 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
