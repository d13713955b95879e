/* SPDX-License-Identifier: MIT
 * softmax and log_softmax along one axis. The tensor is viewed as
 * [outer, n, inner] with n the axis length, so every (outer, inner) pair is
 * one lane of n elements spaced `inner` apart. Both subtract the lane's max
 * before exp, so logits of any magnitude give finite results. */
#include "ops.h"

#include "../src/vmath.h"

#include <math.h>

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
static bool softmax_shape(ad_tape *t, ad_node *y, const char *fn)
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

/* ---- softmax: y_k = exp(x_k - m) / sum_j exp(x_j - m), m = max_j x_j */

#define SOFTMAX_FORWARD(T, EXP)                                                                    \
    static void softmax_forward_##T(const T *x, T *y, lanes l)                                     \
    {                                                                                              \
        for (size_t o = 0; o < l.outer; o++)                                                       \
            for (size_t i = 0; i < l.inner; i++) {                                                 \
                const T *xl = x + o * l.n * l.inner + i;                                           \
                T *yl = y + o * l.n * l.inner + i;                                                 \
                T m = xl[0];                                                                       \
                for (size_t k = 1; k < l.n; k++)                                                   \
                    m = xl[k * l.inner] > m ? xl[k * l.inner] : m;                                 \
                T s = 0;                                                                           \
                for (size_t k = 0; k < l.n; k++) {                                                 \
                    yl[k * l.inner] = EXP(xl[k * l.inner] - m);                                    \
                    s += yl[k * l.inner];                                                          \
                }                                                                                  \
                T r = 1 / s;                                                                       \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    yl[k * l.inner] *= r;                                                          \
            }                                                                                      \
    }
SOFTMAX_FORWARD(float, expf)
SOFTMAX_FORWARD(double, exp)

/* Contiguous lanes (the last axis): a vector max pass, a fused exp-and-sum
 * pass (src/vmath.h) and a scaling pass, each over one row. */
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

static void softmax_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    lanes l = lanes_of(x, y->attr_i[0]);
    if (l.n == 0) return;
    if (l.inner == 1 && y->dtype == AD_F32)
        softmax_rows_float(x->value, y->value, l.outer, l.n);
    else if (l.inner == 1)
        softmax_rows_double(x->value, y->value, l.outer, l.n);
    else if (y->dtype == AD_F32)
        softmax_forward_float(x->value, y->value, l);
    else
        softmax_forward_double(x->value, y->value, l);
}

/* dy_k/dx_j = y_k (delta_kj - y_j), so dx_j = y_j (g_j - sum_k g_k y_k). */
#define SOFTMAX_BACKWARD(T)                                                                        \
    static void softmax_backward_##T(const T *y, const T *g, T *gx, lanes l)                       \
    {                                                                                              \
        for (size_t o = 0; o < l.outer; o++)                                                       \
            for (size_t i = 0; i < l.inner; i++) {                                                 \
                size_t base = o * l.n * l.inner + i;                                               \
                T dot = 0;                                                                         \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    dot += g[base + k * l.inner] * y[base + k * l.inner];                          \
                for (size_t k = 0; k < l.n; k++) {                                                 \
                    size_t e = base + k * l.inner;                                                 \
                    gx[e] += y[e] * (g[e] - dot);                                                  \
                }                                                                                  \
            }                                                                                      \
    }
SOFTMAX_BACKWARD(float)
SOFTMAX_BACKWARD(double)

static void softmax_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    lanes l = lanes_of(ad_node_input(t, y, 0), y->attr_i[0]);
    if (y->dtype == AD_F32)
        softmax_backward_float(y->value, y->grad, gx, l);
    else
        softmax_backward_double(y->value, y->grad, gx, l);
}

const ad_op_def ad_op_def_softmax = {"softmax", 1, softmax_shape, softmax_forward,
                                     softmax_backward};

/* ---- log_softmax: y_k = (x_k - m) - log sum_j exp(x_j - m), the
 * log-sum-exp form: never exp of a large number, never log of 0 for the max. */

#define LOG_SOFTMAX_FORWARD(T, EXP, LOG)                                                           \
    static void log_softmax_forward_##T(const T *x, T *y, lanes l)                                 \
    {                                                                                              \
        for (size_t o = 0; o < l.outer; o++)                                                       \
            for (size_t i = 0; i < l.inner; i++) {                                                 \
                const T *xl = x + o * l.n * l.inner + i;                                           \
                T *yl = y + o * l.n * l.inner + i;                                                 \
                T m = xl[0];                                                                       \
                for (size_t k = 1; k < l.n; k++)                                                   \
                    m = xl[k * l.inner] > m ? xl[k * l.inner] : m;                                 \
                T s = 0;                                                                           \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    s += EXP(xl[k * l.inner] - m);                                                 \
                T ls = LOG(s);                                                                     \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    yl[k * l.inner] = (xl[k * l.inner] - m) - ls;                                  \
            }                                                                                      \
    }
LOG_SOFTMAX_FORWARD(float, expf, logf)
LOG_SOFTMAX_FORWARD(double, exp, log)

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

static void log_softmax_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    lanes l = lanes_of(x, y->attr_i[0]);
    if (l.n == 0) return;
    if (l.inner == 1 && y->dtype == AD_F32)
        log_softmax_rows_float(x->value, y->value, l.outer, l.n);
    else if (l.inner == 1)
        log_softmax_rows_double(x->value, y->value, l.outer, l.n);
    else if (y->dtype == AD_F32)
        log_softmax_forward_float(x->value, y->value, l);
    else
        log_softmax_forward_double(x->value, y->value, l);
}

/* dy_k/dx_j = delta_kj - softmax_j, so dx_j = g_j - exp(y_j) sum_k g_k;
 * softmax is recovered from the saved output as exp(y), which is <= 1. */
#define LOG_SOFTMAX_BACKWARD(T, EXP)                                                               \
    static void log_softmax_backward_##T(const T *y, const T *g, T *gx, lanes l)                   \
    {                                                                                              \
        for (size_t o = 0; o < l.outer; o++)                                                       \
            for (size_t i = 0; i < l.inner; i++) {                                                 \
                size_t base = o * l.n * l.inner + i;                                               \
                T sg = 0;                                                                          \
                for (size_t k = 0; k < l.n; k++)                                                   \
                    sg += g[base + k * l.inner];                                                   \
                for (size_t k = 0; k < l.n; k++) {                                                 \
                    size_t e = base + k * l.inner;                                                 \
                    gx[e] += g[e] - EXP(y[e]) * sg;                                                \
                }                                                                                  \
            }                                                                                      \
    }
LOG_SOFTMAX_BACKWARD(float, expf)
LOG_SOFTMAX_BACKWARD(double, exp)

/* Contiguous lanes: exp(y) a chunk at a time through the vector kernel. */
#define LOG_SOFTMAX_BACKWARD_ROWS(T, SUF)                                                          \
    static void log_softmax_backward_rows_##T(const T *y, const T *g, T *gx, size_t rows,          \
                                              size_t n)                                            \
    {                                                                                              \
        T e[256];                                                                                  \
        for (size_t o = 0; o < rows; o++) {                                                        \
            const T *yl = y + o * n, *gl = g + o * n;                                              \
            T *gxl = gx + o * n;                                                                   \
            T sg = 0;                                                                              \
            for (size_t k = 0; k < n; k++)                                                         \
                sg += gl[k];                                                                       \
            for (size_t c = 0; c < n; c += 256) {                                                  \
                size_t len = n - c < 256 ? n - c : 256;                                            \
                ad_vexp_##SUF(yl + c, e, len);                                                     \
                for (size_t k = 0; k < len; k++)                                                   \
                    gxl[c + k] += gl[c + k] - e[k] * sg;                                           \
            }                                                                                      \
        }                                                                                          \
    }
LOG_SOFTMAX_BACKWARD_ROWS(float, f32)
LOG_SOFTMAX_BACKWARD_ROWS(double, f64)

static void log_softmax_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    lanes l = lanes_of(ad_node_input(t, y, 0), y->attr_i[0]);
    if (l.inner == 1 && y->dtype == AD_F32)
        log_softmax_backward_rows_float(y->value, y->grad, gx, l.outer, l.n);
    else if (l.inner == 1)
        log_softmax_backward_rows_double(y->value, y->grad, gx, l.outer, l.n);
    else if (y->dtype == AD_F32)
        log_softmax_backward_float(y->value, y->grad, gx, l);
    else
        log_softmax_backward_double(y->value, y->grad, gx, l);
}

const ad_op_def ad_op_def_log_softmax = {"log_softmax", 1, softmax_shape, log_softmax_forward,
                                         log_softmax_backward};

ad_tensor ad_softmax(ad_tensor x, int axis)
{
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, NULL};
    return ad_op_record("ad_softmax", AD_OP_SOFTMAX, &x, 1, &at);
}

ad_tensor ad_log_softmax(ad_tensor x, int axis)
{
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, NULL};
    return ad_op_record("ad_log_softmax", AD_OP_LOG_SOFTMAX, &x, 1, &at);
}
