/* SPDX-License-Identifier: MIT
 * The typed passes of softmax and log_softmax (softmax.c), included once per
 * dtype with T (float or double), SUF (f32 or f64: the vector kernels of
 * src/kernels/vmath.h that T takes) and LOG (logf or log) defined, after the
 * lanes type, BLOCK and the row sums row_dot_T and row_sum_T. Defines the
 * static functions named with a _T suffix (softmax_rows_float) and
 * undefines the parameters. */

#define SX_CAT_(a, b) a##b
#define SX_CAT(a, b)  SX_CAT_(a, b)
#define FN(name)      SX_CAT(name, T)   /* a function of this file: softmax_rows_float */
#define VK(name)      SX_CAT(name, SUF) /* a vector kernel: ad_vexp_f32 */

/* Along a non-last axis: the w <= BLOCK lanes starting at lane i0 of one
 * outer block, as rows k = 0..n-1 of w contiguous elements (stride inner).
 * The two passes both forward forms share: m[i] = max_k x[k][i] (a NaN in
 * row 0 is kept, later NaNs skipped, as the last-axis vector max does),
 * y[k][i] = exp(x[k][i] - m[i]) a row at a time through the vector exp,
 * and s[i] = sum_k y[k][i]. */
static void FN(block_exp_sum_)(const T *x, T *y, size_t n, size_t inner, size_t w, T *m, T *s)
{
    for (size_t i = 0; i < w; i++)
        m[i] = x[i], s[i] = 0;
    for (size_t k = 1; k < n; k++)
        for (size_t i = 0; i < w; i++)
            m[i] = x[k * inner + i] > m[i] ? x[k * inner + i] : m[i];
    for (size_t k = 0; k < n; k++) {
        const T *xr = x + k * inner;
        T *yr = y + k * inner;
        for (size_t i = 0; i < w; i++)
            yr[i] = xr[i] - m[i];
        VK(ad_vexp_)(yr, yr, w);
        for (size_t i = 0; i < w; i++)
            s[i] += yr[i];
    }
}

/* ---- softmax */

/* Contiguous lanes (the last axis): a vector max pass, a fused exp-and-sum
 * pass (src/kernels/vmath.h) and a scaling pass, each over one row. */
static void FN(softmax_rows_)(const T *x, T *y, size_t rows, size_t n)
{
    for (size_t o = 0; o < rows; o++) {
        const T *xl = x + o * n;
        T *yl = y + o * n;
        T m = VK(ad_vmax_)(xl, n);
        T r = 1 / VK(ad_vexp_shift_sum_)(xl, m, yl, n);
        for (size_t k = 0; k < n; k++)
            yl[k] *= r;
    }
}

/* Lanes side by side: the shared passes, then y row k *= 1 / s. */
static void FN(softmax_blocks_)(const T *x, T *y, lanes l)
{
    T m[BLOCK], s[BLOCK];
    for (size_t o = 0; o < l.outer; o++)
        for (size_t i0 = 0; i0 < l.inner; i0 += BLOCK) {
            size_t w = l.inner - i0 < BLOCK ? l.inner - i0 : BLOCK;
            T *yb = y + o * l.n * l.inner + i0;
            FN(block_exp_sum_)(x + o * l.n * l.inner + i0, yb, l.n, l.inner, w, m, s);
            for (size_t i = 0; i < w; i++)
                s[i] = 1 / s[i];
            for (size_t k = 0; k < l.n; k++)
                for (size_t i = 0; i < w; i++)
                    yb[k * l.inner + i] *= s[i];
        }
}

/* dy_k/dx_j = y_k (delta_kj - y_j), so dx_j = y_j (g_j - sum_k g_k y_k). */
static void FN(softmax_backward_)(const T *y, const T *g, T *gx, lanes l)
{
    T dot[BLOCK];
    for (size_t o = 0; o < l.outer; o++) {
        size_t base = o * l.n * l.inner;
        if (l.inner == 1) { /* one contiguous row */
            T d = FN(row_dot_)(g + base, y + base, l.n);
            for (size_t k = 0; k < l.n; k++)
                gx[base + k] += y[base + k] * (g[base + k] - d);
            continue;
        }
        for (size_t i0 = 0; i0 < l.inner; i0 += BLOCK) {
            size_t w = l.inner - i0 < BLOCK ? l.inner - i0 : BLOCK, b = base + i0;
            for (size_t i = 0; i < w; i++)
                dot[i] = 0;
            for (size_t k = 0; k < l.n; k++)
                for (size_t i = 0; i < w; i++)
                    dot[i] += g[b + k * l.inner + i] * y[b + k * l.inner + i];
            for (size_t k = 0; k < l.n; k++)
                for (size_t i = 0; i < w; i++) {
                    size_t e = b + k * l.inner + i;
                    gx[e] += y[e] * (g[e] - dot[i]);
                }
        }
    }
}

/* ---- log_softmax */

/* Contiguous lanes: the exp pass writes into y, which the last pass then
 * overwrites, so the row needs no scratch memory. */
static void FN(log_softmax_rows_)(const T *x, T *y, size_t rows, size_t n)
{
    for (size_t o = 0; o < rows; o++) {
        const T *xl = x + o * n;
        T *yl = y + o * n;
        T m = VK(ad_vmax_)(xl, n);
        T ls = LOG(VK(ad_vexp_shift_sum_)(xl, m, yl, n));
        for (size_t k = 0; k < n; k++)
            yl[k] = (xl[k] - m) - ls;
    }
}

/* Lanes side by side: the shared passes (y's rows as the exp scratch),
 * then y = (x - m) - log s. */
static void FN(log_softmax_blocks_)(const T *x, T *y, lanes l)
{
    T m[BLOCK], s[BLOCK];
    for (size_t o = 0; o < l.outer; o++)
        for (size_t i0 = 0; i0 < l.inner; i0 += BLOCK) {
            size_t w = l.inner - i0 < BLOCK ? l.inner - i0 : BLOCK;
            const T *xb = x + o * l.n * l.inner + i0;
            T *yb = y + o * l.n * l.inner + i0;
            FN(block_exp_sum_)(xb, yb, l.n, l.inner, w, m, s);
            VK(ad_vlog_)(s, s, w);
            for (size_t k = 0; k < l.n; k++)
                for (size_t i = 0; i < w; i++) {
                    size_t e = k * l.inner + i;
                    yb[e] = (xb[e] - m[i]) - s[i];
                }
        }
}

/* dy_k/dx_j = delta_kj - softmax_j, so dx_j = g_j - exp(y_j) sum_k g_k;
 * softmax is recovered from the saved output as exp(y), which is <= 1,
 * through the vector exp a row (or a chunk of one) at a time. */
static void FN(log_softmax_backward_)(const T *y, const T *g, T *gx, lanes l)
{
    T e[BLOCK], sg[BLOCK];
    for (size_t o = 0; o < l.outer; o++) {
        size_t base = o * l.n * l.inner;
        if (l.inner == 1) { /* one contiguous row, in chunks */
            T s = FN(row_sum_)(g + base, l.n);
            for (size_t c = 0; c < l.n; c += BLOCK) {
                size_t len = l.n - c < BLOCK ? l.n - c : BLOCK, b = base + c;
                VK(ad_vexp_)(y + b, e, len);
                for (size_t k = 0; k < len; k++)
                    gx[b + k] += g[b + k] - e[k] * s;
            }
            continue;
        }
        for (size_t i0 = 0; i0 < l.inner; i0 += BLOCK) {
            size_t w = l.inner - i0 < BLOCK ? l.inner - i0 : BLOCK, b = base + i0;
            for (size_t i = 0; i < w; i++)
                sg[i] = 0;
            for (size_t k = 0; k < l.n; k++)
                for (size_t i = 0; i < w; i++)
                    sg[i] += g[b + k * l.inner + i];
            for (size_t k = 0; k < l.n; k++) {
                size_t r = b + k * l.inner;
                VK(ad_vexp_)(y + r, e, w);
                for (size_t i = 0; i < w; i++)
                    gx[r + i] += g[r + i] - e[i] * sg[i];
            }
        }
    }
}

#undef FN
#undef VK
#undef SX_CAT
#undef SX_CAT_
#undef T
#undef SUF
#undef LOG
