/* SPDX-License-Identifier: MIT
 * A packer for the kernel table (gemm_transpose.h): full panels that need a
 * transpose (A not transposed, B transposed: TP_PLAIN is false) go through
 * the 4 x 4 blocks (rows beyond a multiple of 4 and the last kc % 4 steps
 * one by one); everything else takes the portable packer. The flag is named
 * ta in both. Included once per packer, after gemm_transpose.h, with
 * TP_NAME (the function to define), TP_T (the element type), TP_MR (rows of
 * a panel), TP_BLOCKS (transpose4_f32 or _f64), TP_PORTABLE (pack_a_f32 ...)
 * and TP_PLAIN (ta or !ta) defined; undefines them. */

AD_TARGET(ISA)
static void TP_NAME(bool ta, const TP_T *a, size_t lda, size_t i0, size_t mc, size_t p0, size_t kc,
                    TP_T *dst)
{
    for (size_t ip = 0; ip < mc; ip += TP_MR, dst += TP_MR * kc) {
        size_t me = mc - ip < TP_MR ? mc - ip : TP_MR;
        if ((TP_PLAIN) || me < TP_MR) {
            TP_PORTABLE(ta, a, lda, i0 + ip, me, p0, kc, dst);
            continue;
        }
        const TP_T *src = a + (i0 + ip) * lda + p0;
        size_t kc4 = kc & ~(size_t)3;
        TP_BLOCKS(src, lda, TP_MR / 4, kc4, TP_MR, dst);
        for (size_t p = 0; p < kc; p++)
            for (size_t i = p < kc4 ? TP_MR / 4 * 4 : 0; i < TP_MR; i++)
                dst[p * TP_MR + i] = src[i * lda + p];
    }
}

#undef TP_NAME
#undef TP_T
#undef TP_MR
#undef TP_BLOCKS
#undef TP_PORTABLE
#undef TP_PLAIN
