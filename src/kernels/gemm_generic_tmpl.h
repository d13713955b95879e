/* SPDX-License-Identifier: MIT
 * The portable GEMM micro-kernel (gemm_generic.c): a GMR x GNR tile of C
 * in a local array. Included once per dtype, after GMR and GNR, with KG_NAME
 * (the function to define) and KG_T (the element type) defined; undefines
 * them. */

static void KG_NAME(size_t kc, const KG_T *a, const KG_T *b, size_t bs, KG_T *c, size_t ldc,
                    KG_T alpha, KG_T beta)
{
    KG_T acc[GMR][GNR] = {{0}};
    for (size_t p = 0; p < kc; p++, a += GMR, b += bs)
        for (int i = 0; i < GMR; i++)
            for (int j = 0; j < GNR; j++)
                acc[i][j] += a[i] * b[j];
    for (int i = 0; i < GMR; i++) {
        KG_T *ci = c + (size_t)i * ldc;
        if (beta == (KG_T)0)
            for (int j = 0; j < GNR; j++)
                ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < GNR; j++)
                ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

#undef KG_NAME
#undef KG_T
