/* SPDX-License-Identifier: MIT
 * The GEMM driver for one dtype, included twice by gemm.c with
 * T (float/double), SUF (f32/f64) and IMPL (the kernel table type).
 * Loops, outermost first: rows of C in blocks of mc (A block packed into
 * L3/L2-resident micro-panels), depth in blocks of kc, columns in blocks of
 * nc (B block packed to stay in L2), then micro-tiles: each mr x kc A panel
 * stays in L1 while nr-wide B panels stream past it. */

#define CAT_(a, b) a##b
#define CAT(a, b)  CAT_(a, b)
#define FN(name)   CAT(name, SUF)

typedef struct FN(job_) {
    bool ta, tb;
    size_t m, n, k;
    T alpha, beta;
    const T *a, *b;
    T *c;
    size_t lda, ldb, ldc;
    const IMPL *im;
} FN(job_);

/* Unpacked loops: tiny products, and the fallback when no buffer can be had. */
static void FN(direct_)(const FN(job_) * J, size_t i0, size_t m, size_t j0, size_t n)
{
    const T *a = J->a, *b = J->b;
    const size_t lda = J->lda, ldb = J->ldb;
    for (size_t i = i0; i < i0 + m; i++) {
        T *ci = J->c + i * J->ldc;
        if (J->beta == (T)0)
            for (size_t j = j0; j < j0 + n; j++)
                ci[j] = (T)0;
        else if (J->beta != (T)1)
            for (size_t j = j0; j < j0 + n; j++)
                ci[j] *= J->beta;
        if (J->tb) { /* rows of B are contiguous in p: dot products */
            const T *ai = J->ta ? NULL : a + i * lda;
            for (size_t j = j0; j < j0 + n; j++) {
                const T *bj = b + j * ldb;
                T s = (T)0;
                if (ai)
                    for (size_t p = 0; p < J->k; p++)
                        s += ai[p] * bj[p];
                else
                    for (size_t p = 0; p < J->k; p++)
                        s += a[p * lda + i] * bj[p];
                ci[j] += J->alpha * s;
            }
        } else { /* axpy along the contiguous rows of B */
            for (size_t p = 0; p < J->k; p++) {
                T aip = J->alpha * (J->ta ? a[p * lda + i] : a[i * lda + p]);
                const T *bp = b + p * ldb;
                for (size_t j = j0; j < j0 + n; j++)
                    ci[j] += aip * bp[j];
            }
        }
    }
}

/* C[i0..i0+m, j0..j0+n] by packing into this thread's buffer. */
static void FN(blocked_)(const FN(job_) * J, size_t i0, size_t m, size_t j0, size_t n)
{
    const IMPL *im = J->im;
    const size_t mr = im->mr, nr = im->nr;
    size_t kcmax = J->k < im->kc ? J->k : im->kc;
    size_t mcmax = (m < im->mc ? m : im->mc) + mr - 1, ncmax = (n < im->nc ? n : im->nc) + nr - 1;
    mcmax -= mcmax % mr;
    ncmax -= ncmax % nr;
    T *abuf = ad_gemm_thread_buffer((mcmax + ncmax) * kcmax * sizeof(T));
    if (!abuf) {
        FN(direct_)(J, i0, m, j0, n);
        return;
    }
    T *bbuf = abuf + mcmax * kcmax;
    T tile[AD_GEMM_MAX_MR * AD_GEMM_MAX_NR];
    for (size_t ic = 0; ic < m; ic += im->mc) {
        size_t mc = m - ic < im->mc ? m - ic : im->mc;
        for (size_t pc = 0; pc < J->k; pc += im->kc) {
            size_t kc = J->k - pc < im->kc ? J->k - pc : im->kc;
            T beta = pc == 0 ? J->beta : (T)1; /* later depth blocks accumulate */
            im->pack_a(J->ta, J->a, J->lda, i0 + ic, mc, pc, kc, abuf);
            for (size_t jc = 0; jc < n; jc += im->nc) {
                size_t nc = n - jc < im->nc ? n - jc : im->nc;
                im->pack_b(J->tb, J->b, J->ldb, j0 + jc, nc, pc, kc, bbuf);
                for (size_t ir = 0; ir < mc; ir += mr) {
                    size_t me = mc - ir < mr ? mc - ir : mr;
                    const T *ap = abuf + ir * kc;
                    for (size_t jr = 0; jr < nc; jr += nr) {
                        size_t ne = nc - jr < nr ? nc - jr : nr;
                        T *cc = J->c + (i0 + ic + ir) * J->ldc + j0 + jc + jr;
                        const T *bp = bbuf + jr * kc;
                        if (me == mr && ne == nr) {
                            im->kern(kc, ap, bp, cc, J->ldc, J->alpha, beta);
                            continue;
                        }
                        /* edge tile: full tile into `tile`, then the valid part */
                        im->kern(kc, ap, bp, tile, nr, J->alpha, (T)0);
                        for (size_t i = 0; i < me; i++)
                            for (size_t j = 0; j < ne; j++)
                                cc[i * J->ldc + j] =
                                    beta == (T)0 ? tile[i * nr + j]
                                                 : tile[i * nr + j] + beta * cc[i * J->ldc + j];
                    }
                }
            }
        }
    }
}

/* Part i of n of a threaded product: a band of rows (or columns) of C whose
 * edges fall on register-tile boundaries. */
static void FN(part_)(void *ctx, int i, int n)
{
    const FN(job_) *J = ctx;
    bool by_rows = J->m >= J->n;
    size_t len = by_rows ? J->m : J->n, q = by_rows ? J->im->mr : J->im->nr;
    size_t tiles = (len + q - 1) / q;
    size_t t0 = tiles * (size_t)i / (size_t)n, t1 = tiles * (size_t)(i + 1) / (size_t)n;
    size_t b0 = t0 * q, b1 = t1 * q < len ? t1 * q : len;
    if (b0 >= b1) return;
    if (by_rows)
        FN(blocked_)(J, b0, b1 - b0, 0, J->n);
    else
        FN(blocked_)(J, 0, J->m, b0, b1 - b0);
}

static void FN(gemm_)(bool ta, bool tb, size_t m, size_t n, size_t k, T alpha, const T *a,
                      size_t lda, const T *b, size_t ldb, T beta, T *c, size_t ldc, const IMPL *im)
{
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == (T)0) { /* C = beta C, without reading C when beta = 0 */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == (T)0 ? (T)0 : beta * c[i * ldc + j];
        return;
    }
    FN(job_) J = {ta, tb, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, im};
    double work = (double)m * (double)n * (double)k;
    if (work <= SMALL_WORK) {
        FN(direct_)(&J, 0, m, 0, n);
        return;
    }
    int nt = ad_get_num_threads();
    double by_work = work / THREAD_WORK;
    if (by_work < nt) nt = (int)by_work;
    /* each thread needs at least a couple of register tiles along the split */
    size_t along = m >= n ? m / (2 * im->mr) : n / (2 * im->nr);
    if ((size_t)nt > along) nt = (int)along;
    if (nt <= 1)
        FN(part_)(&J, 0, 1);
    else
        ad_pool_run(nt, FN(part_), &J);
}

#undef FN
#undef CAT
#undef CAT_
