/* SPDX-License-Identifier: MIT
 * Packing routines, instantiated inside each kernel file with that file's
 * register tile (PMR x PNR, compile-time constants) and instruction set, so
 * the copies become straight-line vector moves. Included with PK_T (float
 * or double), PK_SUF, PMR, PNR and PK_ATTR (the target attribute) defined. */

#define PK_CAT_(a, b) a##b
#define PK_CAT(a, b)  PK_CAT_(a, b)
#define PK_FN(name)   PK_CAT(name, PK_SUF)

/* op(A)[i0.., p0..] as PMR-row micro-panels, zero-padded at the bottom edge:
 * dst[panel][p][i]. */
PK_ATTR
static void PK_FN(pack_a_)(bool ta, const PK_T *a, size_t lda, size_t i0, size_t mc, size_t p0,
                           size_t kc, PK_T *restrict dst)
{
    for (size_t ip = 0; ip < mc; ip += PMR, dst += PMR * kc) {
        size_t me = mc - ip < PMR ? mc - ip : PMR;
        if (ta) { /* op(A)[i,p] = a[p,i]: a contiguous run per step */
            const PK_T *src = a + p0 * lda + i0 + ip;
            if (me == PMR)
                for (size_t p = 0; p < kc; p++, src += lda)
                    for (size_t i = 0; i < PMR; i++)
                        dst[p * PMR + i] = src[i];
            else
                for (size_t p = 0; p < kc; p++, src += lda)
                    for (size_t i = 0; i < PMR; i++)
                        dst[p * PMR + i] = i < me ? src[i] : (PK_T)0;
        } else if (me == PMR) { /* a transpose: PMR row streams, one step each */
            const PK_T *rows[PMR];
            for (size_t i = 0; i < PMR; i++)
                rows[i] = a + (i0 + ip + i) * lda + p0;
            for (size_t p = 0; p < kc; p++)
                for (size_t i = 0; i < PMR; i++)
                    dst[p * PMR + i] = rows[i][p];
        } else {
            for (size_t p = 0; p < kc; p++)
                for (size_t i = 0; i < PMR; i++)
                    dst[p * PMR + i] = i < me ? a[(i0 + ip + i) * lda + p0 + p] : (PK_T)0;
        }
    }
}

/* op(B)[p0.., j0..] as PNR-column micro-panels, zero-padded at the right
 * edge: dst[panel][p][j]. */
PK_ATTR
static void PK_FN(pack_b_)(bool tb, const PK_T *b, size_t ldb, size_t j0, size_t nc, size_t p0,
                           size_t kc, PK_T *restrict dst)
{
    for (size_t jp = 0; jp < nc; jp += PNR, dst += PNR * kc) {
        size_t ne = nc - jp < PNR ? nc - jp : PNR;
        if (!tb) {
            const PK_T *src = b + p0 * ldb + j0 + jp;
            if (ne == PNR)
                for (size_t p = 0; p < kc; p++, src += ldb)
                    for (size_t j = 0; j < PNR; j++)
                        dst[p * PNR + j] = src[j];
            else
                for (size_t p = 0; p < kc; p++, src += ldb)
                    for (size_t j = 0; j < PNR; j++)
                        dst[p * PNR + j] = j < ne ? src[j] : (PK_T)0;
        } else { /* op(B)[p,j] = b[j,p]: a transpose of PNR row streams */
            for (size_t j = 0; j < ne; j++) {
                const PK_T *src = b + (j0 + jp + j) * ldb + p0;
                for (size_t p = 0; p < kc; p++)
                    dst[p * PNR + j] = src[p];
            }
            for (size_t j = ne; j < PNR; j++)
                for (size_t p = 0; p < kc; p++)
                    dst[p * PNR + j] = (PK_T)0;
        }
    }
}

/* Four rows spelled out (not a loop) so their accumulators stay in registers. */
#ifndef PK_ROWS4
#define PK_ROWS4(X) X(0) X(1) X(2) X(3)
#define PK_DOT(r)                                                                                  \
    memcpy(x, ar[r] + p0, sizeof x);                                                               \
    for (size_t q = 0; q < 16; q++)                                                                \
        acc##r[q] += x[q] * y[q];
#define PK_DOT_FINISH(r)                                                                           \
    if ((r) < rn) {                                                                                \
        PK_T s = 0;                                                                                \
        if (p0 > 0) {                                                                              \
            for (size_t q = 0; q < 8; q++) /* a tree, not a 16-long chain */                       \
                acc##r[q] += acc##r[q + 8];                                                        \
            for (size_t q = 0; q < 4; q++)                                                         \
                acc##r[q] += acc##r[q + 4];                                                        \
            s = (acc##r[0] + acc##r[2]) + (acc##r[1] + acc##r[3]);                                 \
        }                                                                                          \
        for (size_t p = p0; p < k; p++)                                                            \
            s += ar[r][p * sa] * bj[p];                                                            \
        PK_T *cij = c + (i0 + (r)) * ldc + j;                                                      \
        *cij = beta == (PK_T)0 ? alpha * s : alpha * s + beta * *cij;                              \
    }
#define PK_AXPY(r)                                                                                 \
    {                                                                                              \
        PK_T xr = ar[r][p * sa];                                                                   \
        for (size_t q = 0; q < 16; q++)                                                            \
            z##r[q] += xr * y[q];                                                                  \
    }
#define PK_AXPY_FINISH(r)                                                                          \
    if ((r) < rn) {                                                                                \
        PK_T *cr = c + (i0 + (r)) * ldc + j;                                                       \
        if (beta == (PK_T)0) {                                                                     \
            for (size_t q = 0; q < 16; q++)                                                        \
                y[q] = alpha * z##r[q];                                                            \
        } else {                                                                                   \
            memcpy(y, cr, sizeof y);                                                               \
            for (size_t q = 0; q < 16; q++)                                                        \
                y[q] = alpha * z##r[q] + beta * y[q];                                              \
        }                                                                                          \
        memcpy(cr, y, sizeof y);                                                                   \
    }
#endif

/* The whole product without packing, four rows of C at a time so each row
 * (or chunk) of B is read once per four rows: for a few rows of C (a
 * matrix-vector-like product, bound by reading B), for tiny products, and
 * as the fallback when no packing buffer can be had. Chunks of 16 go
 * through local arrays so the compiler sees no aliasing and emits vector
 * code; a short last group repeats its last row (results dropped). */
PK_ATTR
static void PK_FN(rows_)(bool ta, bool tb, size_t m, size_t n, size_t k, PK_T alpha, const PK_T *a,
                         size_t lda, const PK_T *b, size_t ldb, PK_T beta, PK_T *c, size_t ldc)
{
    const size_t sa = ta ? lda : 1; /* op(A)[i,p] = ar[i][p * sa] */
    for (size_t i0 = 0; i0 < m; i0 += 4) {
        size_t rn = m - i0 < 4 ? m - i0 : 4;
        const PK_T *ar[4];
        for (size_t r = 0; r < 4; r++) {
            size_t i = i0 + (r < rn ? r : rn - 1);
            ar[r] = ta ? a + i : a + i * lda;
        }
        if (tb) { /* C[i,j] = alpha dot(op(A)[i,:], B[j,:]) + beta C[i,j] */
            for (size_t j = 0; j < n; j++) {
                const PK_T *bj = b + j * ldb;
                PK_T acc0[16] = {0}, acc1[16] = {0}, acc2[16] = {0}, acc3[16] = {0};
                PK_T x[16], y[16];
                size_t p0 = 0;
                if (sa == 1)
                    for (; p0 + 16 <= k; p0 += 16) {
                        memcpy(y, bj + p0, sizeof y);
                        PK_ROWS4(PK_DOT)
                    }
                PK_ROWS4(PK_DOT_FINISH)
            }
        } else { /* C[i,:] = beta C[i,:] + sum_p alpha op(A)[i,p] B[p,:] */
            size_t j = 0;
            for (; j + 16 <= n; j += 16) { /* chunks of four rows of C stay live over p */
                PK_T y[16], z0[16] = {0}, z1[16] = {0}, z2[16] = {0}, z3[16] = {0};
                for (size_t p = 0; p < k; p++) {
                    memcpy(y, b + p * ldb + j, sizeof y);
                    PK_ROWS4(PK_AXPY)
                }
                PK_ROWS4(PK_AXPY_FINISH)
            }
            for (; j < n; j++)
                for (size_t r = 0; r < rn; r++) {
                    PK_T s = 0, *cij = c + (i0 + r) * ldc + j;
                    for (size_t p = 0; p < k; p++)
                        s += ar[r][p * sa] * b[p * ldb + j];
                    *cij = beta == (PK_T)0 ? alpha * s : alpha * s + beta * *cij;
                }
        }
    }
}

#undef PK_FN
#undef PK_CAT
#undef PK_CAT_
