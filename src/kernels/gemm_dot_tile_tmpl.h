/* SPDX-License-Identifier: MIT
 * One tile of the dot-product path (gemm_dot.h): rows ar[0..3] of A
 * against rows br[0..3) or br[0..5) of B, sums into r[j][i]. Included by
 * gemm_dot.h once per tile width with DT_NAME (the function to define) and
 * DT_BCOLS (DOT_B3 or DOT_B5: X applied to each column of B) defined;
 * undefines them. */

DOT_ATTR static inline void DT_NAME(size_t kv, const DOT_T *const *ar, const DOT_T *const *br,
                                    DOT_T r[][DOT_RA])
{
    const DOT_T *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3];
    DT_BCOLS(DOT_BPTR)
    DT_BCOLS(DOT_ACC)
    for (size_t p = 0; p < kv; p += DW) {
        DV x0 = DLOAD(a0 + p), x1 = DLOAD(a1 + p), x2 = DLOAD(a2 + p), x3 = DLOAD(a3 + p);
        DT_BCOLS(DOT_LOADB)
        DT_BCOLS(DOT_FMA)
    }
    DT_BCOLS(DOT_SUM)
}

#undef DT_NAME
#undef DT_BCOLS
