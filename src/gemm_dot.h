/* SPDX-License-Identifier: MIT
 * The dot-product GEMM path, C = alpha A B^T + beta C with the rows of A
 * [m,k] and of B [n,k] both contiguous along k: no packing, each entry of C
 * is a dot product. For narrow products (a layer with 10 outputs, x . w^T)
 * where packing pads B's few rows to a whole register tile. A 4 x 3 tile of
 * C keeps 12 vector accumulators along k, so each step loads 4 + 3 vectors
 * for 12 FMAs; a short tile repeats its last row of A or B (results
 * dropped). Instantiated in each kernel file with DOT_T, DOT_SUF, DOT_ATTR
 * and the vector macros DV, DW (lanes), DLOAD, DFMA, DZERO, DHSUM (the sum
 * of the lanes). */

#define DOT_CAT_(a, b) a##b
#define DOT_CAT(a, b)  DOT_CAT_(a, b)
#define DOT_FN(name)   DOT_CAT(name, DOT_SUF)

#ifndef DOT_RA
#define DOT_RA          4
#define DOT_RB          3
#define DOT_A(X)        X(0) X(1) X(2) X(3)
#define DOT_ACC_DECL(i) DV s##i##0 = DZERO(), s##i##1 = DZERO(), s##i##2 = DZERO();
#define DOT_STEP(i)                                                                                \
    {                                                                                              \
        DV x = DLOAD(a##i + p);                                                                    \
        s##i##0 = DFMA(x, y0, s##i##0);                                                            \
        s##i##1 = DFMA(x, y1, s##i##1);                                                            \
        s##i##2 = DFMA(x, y2, s##i##2);                                                            \
    }
#define DOT_SUM(i) r[i][0] = DHSUM(s##i##0), r[i][1] = DHSUM(s##i##1), r[i][2] = DHSUM(s##i##2);
#endif

DOT_ATTR
static void DOT_FN(dot_)(size_t m, size_t n, size_t k, DOT_T alpha, const DOT_T *a, size_t lda,
                         const DOT_T *b, size_t ldb, DOT_T beta, DOT_T *c, size_t ldc)
{
    const size_t kv = k / DW * DW; /* vector steps; the rest one by one */
    for (size_t i0 = 0; i0 < m; i0 += DOT_RA) {
        size_t ri = m - i0 < DOT_RA ? m - i0 : DOT_RA;
        const DOT_T *a0 = a + i0 * lda, *a1 = a + (i0 + (ri > 1 ? 1 : 0)) * lda;
        const DOT_T *a2 = a + (i0 + (ri > 2 ? 2 : ri - 1)) * lda;
        const DOT_T *a3 = a + (i0 + (ri > 3 ? 3 : ri - 1)) * lda;
        const DOT_T *ar[DOT_RA] = {a0, a1, a2, a3};
        for (size_t j0 = 0; j0 < n; j0 += DOT_RB) {
            size_t rj = n - j0 < DOT_RB ? n - j0 : DOT_RB;
            const DOT_T *b0 = b + j0 * ldb, *b1 = b + (j0 + (rj > 1 ? 1 : 0)) * ldb;
            const DOT_T *b2 = b + (j0 + (rj > 2 ? 2 : rj - 1)) * ldb;
            const DOT_T *br[DOT_RB] = {b0, b1, b2};
            DOT_A(DOT_ACC_DECL)
            for (size_t p = 0; p < kv; p += DW) {
                DV y0 = DLOAD(b0 + p), y1 = DLOAD(b1 + p), y2 = DLOAD(b2 + p);
                DOT_A(DOT_STEP)
            }
            DOT_T r[DOT_RA][DOT_RB];
            DOT_A(DOT_SUM)
            for (size_t i = 0; i < ri; i++)
                for (size_t j = 0; j < rj; j++) {
                    DOT_T s = r[i][j];
                    for (size_t p = kv; p < k; p++)
                        s += ar[i][p] * br[j][p];
                    DOT_T *cij = c + (i0 + i) * ldc + j0 + j;
                    *cij = beta == (DOT_T)0 ? alpha * s : alpha * s + beta * *cij;
                }
        }
    }
}

#undef DOT_FN
#undef DOT_CAT
#undef DOT_CAT_
