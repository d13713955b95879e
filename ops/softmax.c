/* SPDX-License-Identifier: MIT
 * softmax and log_softmax along one axis. The tensor is viewed as
 * [outer, n, inner] with n the axis length, so every (outer, inner) pair is
 * one lane of n elements spaced `inner` apart. Both subtract the lane's max
 * before exp, so logits of any magnitude give finite results.
 * Along the last axis (inner = 1) a lane is a contiguous row and each pass
 * runs along it. Along another axis the lanes of one outer block are taken
 * side by side, up to BLOCK at a time: element k of all of them is a
 * contiguous row, so the passes run along rows there too (a lane at a time
 * would stride through memory and could not vectorise). */
#include "ops.h"
#include "row_sum.h"

#include "kernels/vmath.h"

#include <math.h>

/* Lanes taken side by side along a non-last axis, at most this many (the
 * stack buffers of the block passes). */
enum { BLOCK = 256 };

/* The lanes of y's input: attr_i[0] holds the normalised axis. */
typedef struct lanes {
    size_t outer, n, inner;
} lanes;

static lanes lanes_of(const ad_node *x, int64_t axis)
{
    lanes l = {1, x->dims[axis], 1};
    for (int64_t d = 0; d < axis; d++)
        l.outer *= x->dims[d];
    for (int64_t d = axis + 1; d < (int64_t)x->ndim; d++)
        l.inner *= x->dims[d];
    return l;
}

/* Both ops keep x's shape; the axis is normalised once, here. */
bool ad_shape_axis(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    int a = ad_axis_norm(t, fn, (int)y->attr_i[0], x);
    if (a < 0) return false;
    y->attr_i[0] = a;
    y->ndim = x->ndim;
    for (size_t d = 0; d < x->ndim; d++)
        y->dims[d] = x->dims[d];
    return true;
}

/* row dots and sums in eight partial sums (row_sum.h) */
#define DOT_TERM(k) (a[k] * b[k])
#define SUM_TERM(k) (a[k])
AD_ROW_SUM(row_dot_float, float, DOT_TERM, const float *a, const float *b)
AD_ROW_SUM(row_dot_double, double, DOT_TERM, const double *a, const double *b)
AD_ROW_SUM(row_sum_float, float, SUM_TERM, const float *a)
AD_ROW_SUM(row_sum_double, double, SUM_TERM, const double *a)

/* Along a non-last axis: the w <= BLOCK lanes starting at lane i0 of one
 * outer block, as rows k = 0..n-1 of w contiguous elements (stride inner).
 * The two passes both forward forms share: m[i] = max_k x[k][i] (a NaN in
 * row 0 is kept, later NaNs skipped, as the last-axis vector max does),
 * y[k][i] = exp(x[k][i] - m[i]) a row at a time through the vector exp,
 * and s[i] = sum_k y[k][i]. */
#define BLOCK_EXP_SUM(T, SUF)                                                                      \
    static void block_exp_sum_##T(const T *x, T *y, size_t n, size_t inner, size_t w, T *m, T *s)  \
    {                                                                                              \
        for (size_t i = 0; i < w; i++)                                                             \
            m[i] = x[i], s[i] = 0;                                                                 \
        for (size_t k = 1; k < n; k++)                                                             \
            for (size_t i = 0; i < w; i++)                                                         \
                m[i] = x[k * inner + i] > m[i] ? x[k * inner + i] : m[i];                          \
        for (size_t k = 0; k < n; k++) {                                                           \
            const T *xr = x + k * inner;                                                           \
            T *yr = y + k * inner;                                                                 \
            for (size_t i = 0; i < w; i++)                                                         \
                yr[i] = xr[i] - m[i];                                                              \
            ad_vexp_##SUF(yr, yr, w);                                                              \
            for (size_t i = 0; i < w; i++)                                                         \
                s[i] += yr[i];                                                                     \
        }                                                                                          \
    }
BLOCK_EXP_SUM(float, f32)
BLOCK_EXP_SUM(double, f64)

/* ---- softmax: y_k = exp(x_k - m) / sum_j exp(x_j - m), m = max_j x_j */

/* Contiguous lanes (the last axis): a vector max pass, a fused exp-and-sum
 * pass (src/kernels/vmath.h) and a scaling pass, each over one row. */
#define SOFTMAX_ROWS(T, SUF)                                                                       \
    static void softmax_rows_##T(const T *x, T *y, size_t rows, size_t n)                          \
    {                                                                                              \
        for (size_t o = 0; o < rows; o++) {                                                        \
            const T *xl = x + o * n;                                                               \
            T *yl = y + o * n;                                                                     \
            T m = ad_vmax_##SUF(xl, n);                                                            \
            T r = 1 / ad_vexp_shift_sum_##SUF(xl, m, yl, n);                                       \
            for (size_t k = 0; k < n; k++)                                                         \
                yl[k] *= r;                                                                        \
        }                                                                                          \
    }
SOFTMAX_ROWS(float, f32)
SOFTMAX_ROWS(double, f64)

/* Lanes side by side: the shared passes, then y row k *= 1 / s. */
#define SOFTMAX_BLOCKS(T, SUF)                                                                     \
    static void softmax_blocks_##T(const T *x, T *y, lanes l)                                      \
    {                                                                                              \
        T m[BLOCK], s[BLOCK];                                                                      \
        for (size_t o = 0; o < l.outer; o++)                                                       \
            for (size_t i0 = 0; i0 < l.inner; i0 += BLOCK) {                                       \
                size_t w = l.inner - i0 < BLOCK ? l.inner - i0 : BLOCK;                            \
                T *yb = y + o * l.n * l.inner + i0;                                                \
                block_exp_sum_##T(x + o * l.n * l.inner + i0, yb, l.n, l.inner, w, m, s);          \
                for (size_t i = 0; i < w; i++)                                                     \
                    s[i] = 1 / s[i];                                                               \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    for (size_t i = 0; i < w; i++)                                                 \
                        yb[k * l.inner + i] *= s[i];                                               \
            }                                                                                      \
    }
SOFTMAX_BLOCKS(float, f32)
SOFTMAX_BLOCKS(double, f64)

void ad_softmax_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    lanes l = lanes_of(x, y->attr_i[0]);
    if (l.n == 0) return;
    if (l.inner == 1 && y->dtype == AD_F32)
        softmax_rows_float(x->value, y->value, l.outer, l.n);
    else if (l.inner == 1)
        softmax_rows_double(x->value, y->value, l.outer, l.n);
    else if (y->dtype == AD_F32)
        softmax_blocks_float(x->value, y->value, l);
    else
        softmax_blocks_double(x->value, y->value, l);
}

/* dy_k/dx_j = y_k (delta_kj - y_j), so dx_j = y_j (g_j - sum_k g_k y_k). */
#define SOFTMAX_BACKWARD(T)                                                                        \
    static void softmax_backward_##T(const T *y, const T *g, T *gx, lanes l)                       \
    {                                                                                              \
        T dot[BLOCK];                                                                              \
        for (size_t o = 0; o < l.outer; o++) {                                                     \
            size_t base = o * l.n * l.inner;                                                       \
            if (l.inner == 1) { /* one contiguous row */                                           \
                T d = row_dot_##T(g + base, y + base, l.n);                                        \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    gx[base + k] += y[base + k] * (g[base + k] - d);                               \
                continue;                                                                          \
            }                                                                                      \
            for (size_t i0 = 0; i0 < l.inner; i0 += BLOCK) {                                       \
                size_t w = l.inner - i0 < BLOCK ? l.inner - i0 : BLOCK, b = base + i0;             \
                for (size_t i = 0; i < w; i++)                                                     \
                    dot[i] = 0;                                                                    \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    for (size_t i = 0; i < w; i++)                                                 \
                        dot[i] += g[b + k * l.inner + i] * y[b + k * l.inner + i];                 \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    for (size_t i = 0; i < w; i++) {                                               \
                        size_t e = b + k * l.inner + i;                                            \
                        gx[e] += y[e] * (g[e] - dot[i]);                                           \
                    }                                                                              \
            }                                                                                      \
        }                                                                                          \
    }
SOFTMAX_BACKWARD(float)
SOFTMAX_BACKWARD(double)

void ad_softmax_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    lanes l = lanes_of(ad_node_input(t, y, 0), y->attr_i[0]);
    if (y->dtype == AD_F32)
        softmax_backward_float(y->value, y->grad, gx, l);
    else
        softmax_backward_double(y->value, y->grad, gx, l);
}

ad_tensor ad_softmax(ad_tensor x, int axis)
{
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_SOFTMAX, &x, 1, &at);
}

/* ---- log_softmax: y_k = (x_k - m) - log sum_j exp(x_j - m), the
 * log-sum-exp form: never exp of a large number, never log of 0 for the max. */

/* Contiguous lanes: the exp pass writes into y, which the last pass then
 * overwrites, so the row needs no scratch memory. */
#define LOG_SOFTMAX_ROWS(T, SUF, LOG)                                                              \
    static void log_softmax_rows_##T(const T *x, T *y, size_t rows, size_t n)                      \
    {                                                                                              \
        for (size_t o = 0; o < rows; o++) {                                                        \
            const T *xl = x + o * n;                                                               \
            T *yl = y + o * n;                                                                     \
            T m = ad_vmax_##SUF(xl, n);                                                            \
            T ls = LOG(ad_vexp_shift_sum_##SUF(xl, m, yl, n));                                     \
            for (size_t k = 0; k < n; k++)                                                         \
                yl[k] = (xl[k] - m) - ls;                                                          \
        }                                                                                          \
    }
LOG_SOFTMAX_ROWS(float, f32, logf)
LOG_SOFTMAX_ROWS(double, f64, log)

/* Lanes side by side: the shared passes (y's rows as the exp scratch),
 * then y = (x - m) - log s. */
#define LOG_SOFTMAX_BLOCKS(T, SUF)                                                                 \
    static void log_softmax_blocks_##T(const T *x, T *y, lanes l)                                  \
    {                                                                                              \
        T m[BLOCK], s[BLOCK];                                                                      \
        for (size_t o = 0; o < l.outer; o++)                                                       \
            for (size_t i0 = 0; i0 < l.inner; i0 += BLOCK) {                                       \
                size_t w = l.inner - i0 < BLOCK ? l.inner - i0 : BLOCK;                            \
                const T *xb = x + o * l.n * l.inner + i0;                                          \
                T *yb = y + o * l.n * l.inner + i0;                                                \
                block_exp_sum_##T(xb, yb, l.n, l.inner, w, m, s);                                  \
                ad_vlog_##SUF(s, s, w);                                                            \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    for (size_t i = 0; i < w; i++) {                                               \
                        size_t e = k * l.inner + i;                                                \
                        yb[e] = (xb[e] - m[i]) - s[i];                                             \
                    }                                                                              \
            }                                                                                      \
    }
LOG_SOFTMAX_BLOCKS(float, f32)
LOG_SOFTMAX_BLOCKS(double, f64)

void ad_log_softmax_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    lanes l = lanes_of(x, y->attr_i[0]);
    if (l.n == 0) return;
    if (l.inner == 1 && y->dtype == AD_F32)
        log_softmax_rows_float(x->value, y->value, l.outer, l.n);
    else if (l.inner == 1)
        log_softmax_rows_double(x->value, y->value, l.outer, l.n);
    else if (y->dtype == AD_F32)
        log_softmax_blocks_float(x->value, y->value, l);
    else
        log_softmax_blocks_double(x->value, y->value, l);
}

/* dy_k/dx_j = delta_kj - softmax_j, so dx_j = g_j - exp(y_j) sum_k g_k;
 * softmax is recovered from the saved output as exp(y), which is <= 1,
 * through the vector exp a row (or a chunk of one) at a time. */
#define LOG_SOFTMAX_BACKWARD(T, SUF)                                                               \
    static void log_softmax_backward_##T(const T *y, const T *g, T *gx, lanes l)                   \
    {                                                                                              \
        T e[BLOCK], sg[BLOCK];                                                                     \
        for (size_t o = 0; o < l.outer; o++) {                                                     \
            size_t base = o * l.n * l.inner;                                                       \
            if (l.inner == 1) { /* one contiguous row, in chunks */                                \
                T s = row_sum_##T(g + base, l.n);                                                  \
                for (size_t c = 0; c < l.n; c += BLOCK) {                                          \
                    size_t len = l.n - c < BLOCK ? l.n - c : BLOCK, b = base + c;                  \
                    ad_vexp_##SUF(y + b, e, len);                                                  \
                    for (size_t k = 0; k < len; k++)                                               \
                        gx[b + k] += g[b + k] - e[k] * s;                                          \
                }                                                                                  \
                continue;                                                                          \
            }                                                                                      \
            for (size_t i0 = 0; i0 < l.inner; i0 += BLOCK) {                                       \
                size_t w = l.inner - i0 < BLOCK ? l.inner - i0 : BLOCK, b = base + i0;             \
                for (size_t i = 0; i < w; i++)                                                     \
                    sg[i] = 0;                                                                     \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    for (size_t i = 0; i < w; i++)                                                 \
                        sg[i] += g[b + k * l.inner + i];                                           \
                for (size_t k = 0; k < l.n; k++) {                                                 \
                    size_t r = b + k * l.inner;                                                    \
                    ad_vexp_##SUF(y + r, e, w);                                                    \
                    for (size_t i = 0; i < w; i++)                                                 \
                        gx[r + i] += g[r + i] - e[i] * sg[i];                                      \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }
LOG_SOFTMAX_BACKWARD(float, f32)
LOG_SOFTMAX_BACKWARD(double, f64)

void ad_log_softmax_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    lanes l = lanes_of(ad_node_input(t, y, 0), y->attr_i[0]);
    if (y->dtype == AD_F32)
        log_softmax_backward_float(y->value, y->grad, gx, l);
    else
        log_softmax_backward_double(y->value, y->grad, gx, l);
}

ad_tensor ad_log_softmax(ad_tensor x, int axis)
{
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_LOG_SOFTMAX, &x, 1, &at);
}
