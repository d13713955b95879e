/* SPDX-License-Identifier: MIT
 * The dot-product GEMM path, C = alpha A B^T + beta C with the rows of A
 * [m,k] and of B [n,k] both contiguous along k: no packing, each entry of C
 * is a dot product. For narrow products (a layer with 10 outputs, x . w^T)
 * where packing pads B's few rows to a whole register tile. A 4 x 3 tile of
 * C keeps 12 vector accumulators along k, so each step loads 4 + 3 vectors
 * for 12 FMAs; with 32 vector registers (DOT_WIDE) a 4 x 5 tile (20
 * accumulators, 9 loads) covers n = 10 in two tiles instead of four. A short
 * tile repeats its last row of A or B (results dropped). The accumulators
 * of one column of a tile are summed four at once (DHSUM4, a shuffle tree),
 * which matters when k is short. Instantiated in each kernel file with
 * DOT_T, DOT_SUF, DOT_ATTR, DOT_WIDE (0 or 1) and the vector macros DV, DW
 * (lanes), DLOAD, DFMA, DZERO, DHSUM4(v0, v1, v2, v3, out) (out[i] = sum of
 * the lanes of vi); the per-type ones are undefined again at the end. The
 * tiles are gemm_dot_tile_tmpl.h. */

#define DOT_CAT_(a, b) a##b
#define DOT_CAT(a, b)  DOT_CAT_(a, b)
#define DOT_FN(name)   DOT_CAT(name, DOT_SUF)

#ifndef DOT_RA
#define DOT_RA       4
#define DOT_B3(X)    X(0) X(1) X(2)
#define DOT_B5(X)    X(0) X(1) X(2) X(3) X(4)
#define DOT_ACC(j)   DV s0##j = DZERO(), s1##j = DZERO(), s2##j = DZERO(), s3##j = DZERO();
#define DOT_LOADB(j) DV y##j = DLOAD(b##j + p);
#define DOT_FMA(j)                                                                                 \
    s0##j = DFMA(x0, y##j, s0##j);                                                                 \
    s1##j = DFMA(x1, y##j, s1##j);                                                                 \
    s2##j = DFMA(x2, y##j, s2##j);                                                                 \
    s3##j = DFMA(x3, y##j, s3##j);
#define DOT_BPTR(j) const DOT_T *b##j = br[j];
#define DOT_SUM(j)  DHSUM4(s0##j, s1##j, s2##j, s3##j, r[j]);
#endif

/* the tiles, 4 x 3 and (DOT_WIDE) 4 x 5 */
#define DT_NAME  DOT_FN(dot_tile3_)
#define DT_BCOLS DOT_B3
#include "gemm_dot_tile_tmpl.h"
#if DOT_WIDE
#define DT_NAME  DOT_FN(dot_tile5_)
#define DT_BCOLS DOT_B5
#include "gemm_dot_tile_tmpl.h"
#endif

DOT_ATTR
static void DOT_FN(dot_)(size_t m, size_t n, size_t k, DOT_T alpha, const DOT_T *a, size_t lda,
                         const DOT_T *b, size_t ldb, DOT_T beta, DOT_T *c, size_t ldc)
{
    const size_t kv = k / DW * DW; /* vector steps; the rest one by one */
    for (size_t i0 = 0; i0 < m; i0 += DOT_RA) {
        size_t ri = m - i0 < DOT_RA ? m - i0 : DOT_RA;
        const DOT_T *ar[DOT_RA];
        for (size_t i = 0; i < DOT_RA; i++)
            ar[i] = a + (i0 + (i < ri ? i : ri - 1)) * lda;
        for (size_t j0 = 0; j0 < n;) {
            size_t left = n - j0, rb = 3;
#if DOT_WIDE
            if (left >= 5 && left != 6) rb = 5; /* 10 = 5 + 5, 16 = 5 + 5 + 3 + 3 */
#endif
            size_t rj = left < rb ? left : rb;
            const DOT_T *br[5];
            for (size_t j = 0; j < rb; j++)
                br[j] = b + (j0 + (j < rj ? j : rj - 1)) * ldb;
            DOT_T r[5][DOT_RA];
#if DOT_WIDE
            if (rb == 5)
                DOT_FN(dot_tile5_)(kv, ar, br, r);
            else
#endif
                DOT_FN(dot_tile3_)(kv, ar, br, r);
            for (size_t i = 0; i < ri; i++)
                for (size_t j = 0; j < rj; j++) {
                    DOT_T s = r[j][i];
                    for (size_t p = kv; p < k; p++)
                        s += ar[i][p] * br[j][p];
                    DOT_T *cij = c + (i0 + i) * ldc + j0 + j;
                    *cij = beta == (DOT_T)0 ? alpha * s : alpha * s + beta * *cij;
                }
            j0 += rj;
        }
    }
}

#undef DOT_FN
#undef DOT_CAT
#undef DOT_CAT_
/* the per-type parameters: the includer defines them again for the next type */
#undef DOT_T
#undef DOT_SUF
#undef DV
#undef DW
#undef DLOAD
#undef DFMA
#undef DZERO
#undef DHSUM4
