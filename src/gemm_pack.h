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

/* The whole product without packing, one row of C at a time: for a few
 * rows of C (a matrix-vector product, bound by reading B once), for tiny
 * products, and as the fallback when no packing buffer can be had. Chunks of
 * 16 are copied through local arrays so the compiler sees no aliasing and
 * turns each chunk into vector code. */
PK_ATTR
static void PK_FN(rows_)(bool ta, bool tb, size_t m, size_t n, size_t k, PK_T alpha, const PK_T *a,
                         size_t lda, const PK_T *b, size_t ldb, PK_T beta, PK_T *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++) {
        PK_T *ci = c + i * ldc;
        const PK_T *ai = ta ? a + i : a + i * lda; /* op(A)[i,p] = ai[p * sa] */
        size_t sa = ta ? lda : 1;
        if (tb) { /* C[i,j] = alpha dot(op(A)[i,:], B[j,:]) + beta C[i,j] */
            for (size_t j = 0; j < n; j++) {
                const PK_T *bj = b + j * ldb;
                PK_T s = 0;
                size_t p = 0;
                if (sa == 1 && k >= 16) {
                    PK_T acc[16] = {0}, x[16], y[16];
                    for (; p + 16 <= k; p += 16) {
                        memcpy(x, ai + p, sizeof x);
                        memcpy(y, bj + p, sizeof y);
                        for (size_t q = 0; q < 16; q++)
                            acc[q] += x[q] * y[q];
                    }
                    for (size_t q = 0; q < 8; q++) /* a tree, not a 16-long chain */
                        acc[q] += acc[q + 8];
                    for (size_t q = 0; q < 4; q++)
                        acc[q] += acc[q + 4];
                    s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
                }
                for (; p < k; p++)
                    s += ai[p * sa] * bj[p];
                ci[j] = beta == (PK_T)0 ? alpha * s : alpha * s + beta * ci[j];
            }
        } else { /* C[i,:] = beta C[i,:] + sum_p alpha op(A)[i,p] B[p,:] */
            size_t j = 0;
            for (; j + 16 <= n; j += 16) { /* a chunk of C stays in registers over p */
                PK_T y[16], z[16] = {0};
                for (size_t p = 0; p < k; p++) {
                    PK_T x = alpha * ai[p * sa];
                    memcpy(y, b + p * ldb + j, sizeof y);
                    for (size_t q = 0; q < 16; q++)
                        z[q] += x * y[q];
                }
                if (beta != (PK_T)0) {
                    memcpy(y, ci + j, sizeof y);
                    for (size_t q = 0; q < 16; q++)
                        z[q] += beta * y[q];
                }
                memcpy(ci + j, z, sizeof z);
            }
            for (; j < n; j++) {
                PK_T s = 0;
                for (size_t p = 0; p < k; p++)
                    s += ai[p * sa] * b[p * ldb + j];
                ci[j] = beta == (PK_T)0 ? alpha * s : alpha * s + beta * ci[j];
            }
        }
    }
}

#undef PK_FN
#undef PK_CAT
#undef PK_CAT_
