/* SPDX-License-Identifier: MIT
 * Packing op(A) = A (not transposed) is a transpose: each step of k takes one
 * value from each of MR rows. Done in 4 x 4 register blocks (4 loads, 8
 * shuffles, 4 stores for 16 values) instead of 16 scalar loads and stores.
 * Included by the x86 kernel files after ISA is defined; needs
 * <immintrin.h>. The packers built on these blocks are
 * gemm_transpose_pack_tmpl.h. */

/* Rows r0.. r0+4*groups of the panel, steps [0, kc4) with kc4 a multiple of 4. */
AD_TARGET(ISA)
static void transpose4_f32(const float *src, size_t lda, size_t groups, size_t kc4, size_t mr,
                           float *dst)
{
    for (size_t p = 0; p < kc4; p += 4)
        for (size_t g = 0; g < groups; g++) {
            const float *s = src + 4 * g * lda + p;
            __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + lda);
            __m128 r2 = _mm_loadu_ps(s + 2 * lda), r3 = _mm_loadu_ps(s + 3 * lda);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            float *d = dst + p * mr + 4 * g;
            _mm_storeu_ps(d, r0);
            _mm_storeu_ps(d + mr, r1);
            _mm_storeu_ps(d + 2 * mr, r2);
            _mm_storeu_ps(d + 3 * mr, r3);
        }
}

AD_TARGET(ISA)
static void transpose4_f64(const double *src, size_t lda, size_t groups, size_t kc4, size_t mr,
                           double *dst)
{
    for (size_t p = 0; p < kc4; p += 4)
        for (size_t g = 0; g < groups; g++) {
            const double *s = src + 4 * g * lda + p;
            __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + lda);
            __m256d r2 = _mm256_loadu_pd(s + 2 * lda), r3 = _mm256_loadu_pd(s + 3 * lda);
            __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
            __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
            double *d = dst + p * mr + 4 * g;
            _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
            _mm256_storeu_pd(d + mr, _mm256_permute2f128_pd(t1, t3, 0x20));
            _mm256_storeu_pd(d + 2 * mr, _mm256_permute2f128_pd(t0, t2, 0x31));
            _mm256_storeu_pd(d + 3 * mr, _mm256_permute2f128_pd(t1, t3, 0x31));
        }
}
