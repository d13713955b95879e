/* SPDX-License-Identifier: MIT
 * The GEMM driver for one dtype, included twice by gemm.c with
 * T (float/double), SUF (f32/f64) and IMPL (the kernel table type).
 * Loops, outermost first: rows of C in blocks of mc and depth in blocks of
 * kc (that A block packed once, mc x kc, read from L2/L3), columns in blocks
 * of nc (B block packed, kc x nc, sized to stay in L2), then micro-tiles:
 * each mr x kc A micro-panel stays in L1 while the nr-wide B micro-panels
 * stream past it from L2. On several threads each thread takes one band of
 * C and runs the same loops on it, packing its own blocks of both operands
 * right before it uses them. Narrow products with A not transposed take the
 * dot path (gemm_dot.h). */

#define CAT_(a, b) a##b
#define CAT(a, b)  CAT_(a, b)
#define FN(name)   CAT(name, SUF)

typedef struct FN(job_) {
    bool ta, tb;
    bool tc; /* the job computes C^T = op(B)^T op(A)^T: entry (i,j) lands at C[j,i] */
    size_t m, n, k;
    T alpha, beta;
    const T *a, *b;
    T *c;
    size_t lda, ldb, ldc;
    const IMPL *im;
} FN(job_);

/* The unpacked path on a sub-block of C. */
static void FN(direct_)(const FN(job_) * J, size_t i0, size_t m, size_t j0, size_t n)
{
    if (J->tc) { /* undo the swap: block [i0,j0] of C^T is block [j0,i0] of C */
        FN(job_)
        O = {!J->tb, !J->ta, false, J->n,   J->m,   J->k,   J->alpha, J->beta,
             J->b,   J->a,   J->c,  J->ldb, J->lda, J->ldc, J->im};
        FN(direct_)(&O, j0, n, i0, m);
        return;
    }
    const T *a = J->ta ? J->a + i0 : J->a + i0 * J->lda;
    const T *b = J->tb ? J->b + j0 * J->ldb : J->b + j0;
    J->im->rows(J->ta, J->tb, m, n, J->k, J->alpha, a, J->lda, b, J->ldb, J->beta,
                J->c + i0 * J->ldc + j0, J->ldc);
}

/* Part i of n of an unpacked product: a band of columns of C (whole cache
 * lines of it), so each thread streams its own share of B. */
static void FN(direct_part_)(void *ctx, size_t i, size_t n)
{
    const FN(job_) *J = ctx;
    size_t b0, b1;
    band(J->n, 64 / sizeof(T), i, n, &b0, &b1);
    if (b0 < b1) FN(direct_)(J, 0, J->m, b0, b1 - b0);
}

/* An unpacked product of a few rows: one pass over B, so memory-bound once B
 * outgrows the caches; then each core streams a band of B's columns. */
static void FN(direct_split_)(FN(job_) * J)
{
    /* the size test first: tiny layers take this path on every product */
    int nt = J->n * J->k * sizeof(T) >= SPLIT_BYTES ? ad_get_num_threads() : 1;
    size_t lines = (J->n * sizeof(T) + 63) / 64;
    if (nt > 1 && lines >= 2 * (size_t)nt)
        ad_pool_run(nt, (size_t)nt, FN(direct_part_), J);
    else
        FN(direct_)(J, 0, J->m, 0, J->n);
}

/* The valid me x ne part of an edge tile (row stride nr) into C, or into
 * C^T (tc). Rows of C are contiguous loops, so they vectorise: with k as
 * short as 10, a quarter of the time went to a strided element-wise copy. */
static void FN(untile_)(const T *tile, size_t nr, size_t me, size_t ne, bool tc, T beta, T *c,
                        size_t ldc)
{
    if (tc) {
        for (size_t j = 0; j < ne; j++)
            for (size_t i = 0; i < me; i++) {
                T *cij = c + j * ldc + i;
                *cij = beta == (T)0 ? tile[i * nr + j] : tile[i * nr + j] + beta * *cij;
            }
        return;
    }
    for (size_t i = 0; i < me; i++) {
        T *ci = c + i * ldc;
        const T *ti = tile + i * nr;
        if (beta == (T)0)
            for (size_t j = 0; j < ne; j++)
                ci[j] = ti[j];
        else
            for (size_t j = 0; j < ne; j++)
                ci[j] = ti[j] + beta * ci[j];
    }
}

/* C[i0..i0+m, j0..j0+n] by packing into this thread's buffer. */
static void FN(blocked_)(const FN(job_) * J, size_t i0, size_t m, size_t j0, size_t n)
{
    const IMPL *im = J->im;
    const size_t mr = im->mr, nr = im->nr;
    /* equal blocks no larger than the kernel's sizes, so no block is a sliver */
    size_t kcb = balanced(J->k, im->kc, 1), mcb = balanced(m, im->mc, mr);
    size_t ncb = balanced(n, im->nc, nr);
    T *abuf = ad_gemm_thread_buffer((mcb + ncb) * kcb * sizeof(T) + 64);
    if (!abuf) {
        FN(direct_)(J, i0, m, j0, n);
        return;
    }
    T *bbuf = abuf + mcb * kcb;
    T tile[AD_GEMM_MAX_MR * AD_GEMM_MAX_NR];
    /* few row tiles read each B panel once or twice, and a depth of 16 or
     * less makes a panel a few cache lines: the kernel reads full panels of
     * B (not transposed) in place, only an edge panel is packed */
    bool bdirect = !J->tb && (m <= BDIRECT_TILES * mr || J->k <= 16);
    for (size_t ic = 0; ic < m; ic += mcb) {
        size_t mc = m - ic < mcb ? m - ic : mcb;
        for (size_t pc = 0; pc < J->k; pc += kcb) {
            size_t kc = J->k - pc < kcb ? J->k - pc : kcb;
            T beta = pc == 0 ? J->beta : (T)1; /* later depth blocks accumulate */
            /* a panel of mr rows (nr columns) starts every ir * kc (jr * kc) */
            im->pack_a(J->ta, J->a, J->lda, i0 + ic, mc, pc, kc, abuf);
            for (size_t jc = 0; jc < n; jc += ncb) {
                size_t nc = n - jc < ncb ? n - jc : ncb;
                if (!bdirect) im->pack_b(J->tb, J->b, J->ldb, j0 + jc, nc, pc, kc, bbuf);
                for (size_t ir = 0; ir < mc; ir += mr) {
                    size_t me = mc - ir < mr ? mc - ir : mr;
                    const T *ap = abuf + ir * kc;
                    for (size_t jr = 0; jr < nc; jr += nr) {
                        size_t ne = nc - jr < nr ? nc - jr : nr;
                        const T *bp = bbuf + jr * kc;
                        size_t bs = nr;
                        if (bdirect && ne == nr)
                            bp = J->b + pc * J->ldb + j0 + jc + jr, bs = J->ldb;
                        else if (bdirect)
                            im->pack_b(J->tb, J->b, J->ldb, j0 + jc + jr, ne, pc, kc, bbuf),
                                bp = bbuf;
                        if (me == mr && ne == nr && !J->tc) {
                            T *cc = J->c + (i0 + ic + ir) * J->ldc + j0 + jc + jr;
                            im->kern(kc, ap, bp, bs, cc, J->ldc, J->alpha, beta);
                            continue;
                        }
                        /* edge or transposed tile: full tile into `tile`, then the
                         * valid part */
                        im->kern(kc, ap, bp, bs, tile, nr, J->alpha, (T)0);
                        FN(untile_)
                        (tile, nr, me, ne, J->tc, beta,
                         J->tc ? J->c + (j0 + jc + jr) * J->ldc + i0 + ic + ir
                               : J->c + (i0 + ic + ir) * J->ldc + j0 + jc + jr,
                         J->ldc);
                    }
                }
            }
        }
    }
}

/* Part i of n of a threaded product: a band of rows (or columns) of C whose
 * edges fall on register-tile boundaries. */
static void FN(part_)(void *ctx, size_t i, size_t n)
{
    const FN(job_) *J = ctx;
    bool by_rows = J->m >= J->n;
    size_t b0, b1;
    band(by_rows ? J->m : J->n, by_rows ? J->im->mr : J->im->nr, i, n, &b0, &b1);
    if (b0 >= b1) return;
    if (by_rows)
        FN(blocked_)(J, b0, b1 - b0, 0, J->n);
    else
        FN(blocked_)(J, 0, J->m, b0, b1 - b0);
}

/* Part i of n of a dot-path product: a band of rows of C, C = alpha A B^T +
 * beta C with J->b already laid out as B^T rows ([n,k], stride ldb). */
static void FN(dot_part_)(void *ctx, size_t i, size_t n)
{
    const FN(job_) *J = ctx;
    size_t b0, b1;
    band(J->m, 4, i, n, &b0, &b1); /* the dot tile has 4 rows */
    if (b0 < b1)
        J->im->dot(b1 - b0, J->n, J->k, J->alpha, J->a + b0 * J->lda, J->lda, J->b, J->ldb, J->beta,
                   J->c + b0 * J->ldc, J->ldc);
}

/* The dot path for a narrow product with A not transposed (see gemm_dot.h);
 * B [k,n] not transposed is first copied as B^T [n,k] (n k values against
 * m n k multiply-adds). False when no buffer can be had. */
static bool FN(narrow_dot_)(FN(job_) * J, int nt)
{
    if (!J->tb) {
        T *bt = ad_gemm_thread_buffer(J->n * J->k * sizeof(T));
        if (!bt) return false;
        for (size_t p = 0; p < J->k; p++)
            for (size_t j = 0; j < J->n; j++)
                bt[j * J->k + p] = J->b[p * J->ldb + j];
        J->b = bt;
        J->ldb = J->k;
        J->tb = true;
    }
    if (nt <= 1)
        FN(dot_part_)(J, 0, 1);
    else
        ad_pool_run(nt, parts(J->m * J->n * J->k, (J->m + 3) / 4, nt), FN(dot_part_), J);
    return true;
}

/* A product on nt threads: one band of C per thread, each packing its own
 * blocks of both operands just before it uses them, so they are in its own
 * L2 when the micro-kernel reads them. Packing the operand the bands share
 * once for all threads (a pass of its own, then read cold from L3), or
 * cutting more bands than threads (each reusing a B block for fewer rows of
 * A), is slower on 2 threads for square products of n = 512 to 2048. A
 * worker that wakes late still leaves its band to the caller (see
 * pool.h). */
static void FN(threaded_)(FN(job_) * J, int nt)
{
    ad_pool_run(nt, (size_t)nt, FN(part_), J);
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
    FN(job_) J = {ta, tb, false, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, im};
    double work = (double)m * (double)n * (double)k;
    if (work <= SMALL_WORK) {
        FN(direct_)(&J, 0, m, 0, n);
        return;
    }
    if (m <= FEW_ROWS) {
        FN(direct_split_)(&J);
        return;
    }
    int nt = ad_get_num_threads();
    double by_work = work / THREAD_WORK;
    if (by_work < nt) nt = (int)by_work;
    /* each thread needs at least a couple of register tiles along the split */
    size_t along = m >= n ? m / (2 * im->mr) : n / (2 * im->nr);
    if ((size_t)nt > along) nt = (int)along;
    if (nt <= 1 && tb && m <= FEW_ROWS_T) {
        FN(direct_split_)(&J);
        return;
    }
    if (!ta && n <= DOT_N && k >= DOT_K && FN(narrow_dot_)(&J, nt)) return;
    if (n < im->nr && narrow_gain(m, n, im->mr, im->nr)) /* e.g. [B,H] . [H,10] */
        J = (FN(job_)){!tb, !ta, true, n, m, k, alpha, beta, b, a, c, ldb, lda, ldc, im};
    /* thin: one thread, unless big in work or in the operand it streams */
    size_t streamed = (m > n ? m : n) * k * sizeof(T);
    if ((m < THREAD_MIN_DIM || n < THREAD_MIN_DIM || k < THREAD_MIN_DIM) && work < THIN_WORK &&
        streamed < SPLIT_BYTES)
        nt = 1;
    if (nt <= 1)
        FN(part_)(&J, 0, 1);
    else
        FN(threaded_)(&J, nt);
}

#undef FN
#undef CAT
#undef CAT_
