/* SPDX-License-Identifier: MIT
 * Statistical reductions, over all elements or along an axis: logsumexp
 * (stable: the group's maximum is subtracted), var and std with a
 * correction (the divisor is n - correction, as in PyTorch), and the L1 and
 * L2 norms. Sums run in double for both dtypes; var and std keep each
 * group's mean (double, in y->ctx) for the backward. attr_f[0] is the
 * correction or the norm's p. */
#include "reduce.h"

#include "kernels/vmath.h"

#include <float.h>
#include <math.h>
#include <tgmath.h>

/* Elements per stack buffer for the vector exp. */
#define CHUNK 256

/* Contiguous-row sums in eight partial sums (row_sum_tmpl.h): of x, |x|,
 * x^2 and (x - mu)^2. */
#define RS_NAME    row_sum_f32
#define RS_ACC     double
#define RS_TERM(k) ((double)a[k])
#define RS_PARAMS  const float *a
#include "row_sum_tmpl.h"
#define RS_NAME    row_sum_f64
#define RS_ACC     double
#define RS_TERM(k) (a[k])
#define RS_PARAMS  const double *a
#include "row_sum_tmpl.h"
#define RS_NAME    row_abs_f32
#define RS_ACC     double
#define RS_TERM(k) fabs((double)a[k])
#define RS_PARAMS  const float *a
#include "row_sum_tmpl.h"
#define RS_NAME    row_abs_f64
#define RS_ACC     double
#define RS_TERM(k) fabs(a[k])
#define RS_PARAMS  const double *a
#include "row_sum_tmpl.h"
#define RS_NAME    row_sq_f32
#define RS_ACC     double
#define RS_TERM(k) ((double)a[k] * (double)a[k])
#define RS_PARAMS  const float *a
#include "row_sum_tmpl.h"
#define RS_NAME    row_sq_f64
#define RS_ACC     double
#define RS_TERM(k) (a[k] * a[k])
#define RS_PARAMS  const double *a
#include "row_sum_tmpl.h"
#define RS_NAME    row_dev_f32
#define RS_ACC     double
#define RS_TERM(k) (((double)a[k] - mu) * ((double)a[k] - mu))
#define RS_PARAMS  const float *a, double mu
#include "row_sum_tmpl.h"
#define RS_NAME    row_dev_f64
#define RS_ACC     double
#define RS_TERM(k) ((a[k] - mu) * (a[k] - mu))
#define RS_PARAMS  const double *a, double mu
#include "row_sum_tmpl.h"

/* out[o * inner + i] = sum over j of TERM(v, c) with v = x[o, j, i] as a
 * double and c = cen[o * inner + i] (cen may be unused by TERM). Contiguous
 * rows (inner 1) go to ROW; strided groups sum across i, which vectorises. */
#define GROUP_SUMS(T, ROW, ROW_ARGS, TERM)                                                         \
    do {                                                                                           \
        const T *xv = x->value;                                                                    \
        for (size_t o = 0; o < g.outer; o++) {                                                     \
            const T *xo = xv + o * g.n * g.inner;                                                  \
            double *out_o = out + o * g.inner;                                                     \
            const double *c_o = cen ? cen + o * g.inner : NULL;                                    \
            (void)c_o;                                                                             \
            if (g.inner == 1) {                                                                    \
                out_o[0] = ROW ROW_ARGS;                                                           \
                continue;                                                                          \
            }                                                                                      \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                out_o[i] = 0.0;                                                                    \
            for (size_t j = 0; j < g.n; j++)                                                       \
                for (size_t i = 0; i < g.inner; i++) {                                             \
                    const double v = (double)xo[j * g.inner + i];                                  \
                    out_o[i] += TERM;                                                              \
                }                                                                                  \
        }                                                                                          \
    } while (0)

enum sum_term { TERM_X, TERM_ABS, TERM_SQ, TERM_DEV };

/* out [outer * inner] = per-group sums of the term over x's groups. */
static void group_sums(const ad_node *x, red_dims g, enum sum_term term, const double *cen,
                       double *out)
{
    const bool f32 = x->dtype == AD_F32;
    switch (term) {
    case TERM_X:
        if (f32)
            GROUP_SUMS(float, row_sum_f32, (xo, g.n), v);
        else
            GROUP_SUMS(double, row_sum_f64, (xo, g.n), v);
        break;
    case TERM_ABS:
        if (f32)
            GROUP_SUMS(float, row_abs_f32, (xo, g.n), fabs(v));
        else
            GROUP_SUMS(double, row_abs_f64, (xo, g.n), fabs(v));
        break;
    case TERM_SQ:
        if (f32)
            GROUP_SUMS(float, row_sq_f32, (xo, g.n), v *v);
        else
            GROUP_SUMS(double, row_sq_f64, (xo, g.n), v *v);
        break;
    case TERM_DEV:
        if (f32)
            GROUP_SUMS(float, row_dev_f32, (xo, c_o[0], g.n), (v - c_o[i]) * (v - c_o[i]));
        else
            GROUP_SUMS(double, row_dev_f64, (xo, c_o[0], g.n), (v - c_o[i]) * (v - c_o[i]));
        break;
    }
}

/* y's elements from doubles. */
static void store(ad_node *y, const double *v)
{
    if (y->dtype == AD_F32) {
        float *yv = y->value;
        for (size_t k = 0; k < y->numel; k++)
            yv[k] = (float)v[k];
    } else {
        double *yv = y->value;
        for (size_t k = 0; k < y->numel; k++)
            yv[k] = v[k];
    }
}

/* Runs BODY for every element of x with j, i its place in the group and
 * k = o * inner + i its group's (y's) index; xi is its flat index. The
 * innermost loop runs along memory: over j for contiguous rows (inner 1),
 * else over i, so either vectorises. */
#define EACH_ELEMENT(BODY)                                                                         \
    do {                                                                                           \
        if (g.inner == 1) {                                                                        \
            for (size_t k = 0; k < g.outer; k++)                                                   \
                for (size_t xi = k * g.n; xi < (k + 1) * g.n; xi++) {                              \
                    BODY;                                                                          \
                }                                                                                  \
            break;                                                                                 \
        }                                                                                          \
        for (size_t o = 0; o < g.outer; o++)                                                       \
            for (size_t j = 0; j < g.n; j++)                                                       \
                for (size_t i = 0; i < g.inner; i++) {                                             \
                    const size_t k = o * g.inner + i, xi = (o * g.n + j) * g.inner + i;            \
                    BODY;                                                                          \
                }                                                                                  \
    } while (0)

/* ---- logsumexp: y = m + log(sum e^(x - m)), m the group's maximum, so no
 * term overflows and the largest is exactly 1. A group whose maximum is
 * +-Inf gives that infinity (all -Inf: -Inf); a NaN gives NaN. */

bool ad_shape_logsumexp(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_shape_reduce(t, y, fn) && ad_reduce_nonempty(t, y, fn, "logsumexp");
}

#define LSE_ROW(T, SUF)                                                                            \
    do {                                                                                           \
        T buf[CHUNK];                                                                              \
        const T *xr = (const T *)x->value + o * g.n;                                               \
        const T m = ad_vmax_##SUF(xr, g.n);                                                        \
        double s = 0.0;                                                                            \
        for (size_t c = 0; c < g.n; c += CHUNK)                                                    \
            s += (double)ad_vexp_shift_sum_##SUF(xr + c, m, buf,                                   \
                                                 g.n - c < CHUNK ? g.n - c : CHUNK);               \
        out[o] = (double)m + log(s);                                                               \
        if (!isfinite(m)) { /* e^(Inf - Inf) is NaN; vmax skips NaNs after the first element */    \
            out[o] = (double)m;                                                                    \
            for (size_t j = 0; j < g.n; j++)                                                       \
                out[o] = isnan(xr[j]) ? (double)xr[j] : out[o];                                    \
        }                                                                                          \
    } while (0)

#define LSE_STRIDED(T)                                                                             \
    do {                                                                                           \
        const T *xv = x->value;                                                                    \
        for (size_t k = 0; k < y->numel; k++) {                                                    \
            mx[k] = -(double)INFINITY;                                                             \
            out[k] = 0.0;                                                                          \
        }                                                                                          \
        EACH_ELEMENT(const double v = (double)xv[xi]; mx[k] = v > mx[k] || isnan(v) ? v : mx[k]);  \
        EACH_ELEMENT(out[k] += exp((double)xv[xi] - mx[k]));                                       \
        for (size_t k = 0; k < y->numel; k++)                                                      \
            out[k] = isfinite(mx[k]) ? mx[k] + log(out[k]) : mx[k];                                \
    } while (0)

void ad_logsumexp_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    double *out = ad_tape_alloc(t, 2 * y->numel * sizeof *out, "ad_logsumexp");
    if (!out) return;
    double *mx = out + y->numel;
    if (g.inner == 1) {
        for (size_t o = 0; o < g.outer; o++) {
            if (y->dtype == AD_F32)
                LSE_ROW(float, f32);
            else
                LSE_ROW(double, f64);
        }
    } else if (y->dtype == AD_F32) {
        LSE_STRIDED(float);
    } else {
        LSE_STRIDED(double);
    }
    store(y, out);
}

/* d lse / dx_j = e^(x_j - lse), the group's softmax: it sums to 1, and ties
 * share it equally. Where lse is infinite or NaN the softmax is undefined
 * and the gradient NaN (e^(Inf - Inf)). */
#define LSE_BACK(T, SUF)                                                                           \
    do {                                                                                           \
        const T *xv = x->value, *yv = y->value, *gy = y->grad;                                     \
        T *gx = gxv;                                                                               \
        if (g.inner == 1) {                                                                        \
            T buf[CHUNK];                                                                          \
            for (size_t o = 0; o < g.outer; o++)                                                   \
                for (size_t c = 0; c < g.n; c += CHUNK) {                                          \
                    const size_t m = g.n - c < CHUNK ? g.n - c : CHUNK;                            \
                    const T *xr = xv + o * g.n + c;                                                \
                    T *gr = gx + o * g.n + c;                                                      \
                    (void)ad_vexp_shift_sum_##SUF(xr, yv[o], buf, m);                              \
                    for (size_t j = 0; j < m; j++)                                                 \
                        gr[j] += gy[o] * buf[j];                                                   \
                }                                                                                  \
            break;                                                                                 \
        }                                                                                          \
        EACH_ELEMENT(gx[xi] += gy[k] * exp(xv[xi] - yv[k]));                                       \
    } while (0)

void ad_logsumexp_backward(ad_tape *t, ad_node *y)
{
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    if (y->dtype == AD_F32)
        LSE_BACK(float, f32);
    else
        LSE_BACK(double, f64);
}

ad_tensor ad_logsumexp(ad_tensor x)
{
    return ad_reduce_record(__func__, AD_OP_LOGSUMEXP, x, -1, false, false, 0);
}

ad_tensor ad_logsumexp_axis(ad_tensor x, int axis, bool keepdim)
{
    return ad_reduce_record(__func__, AD_OP_LOGSUMEXP, x, axis, keepdim, true, 0);
}

/* ---- var and std: var = sum (x - mean)^2 / (n - correction), std = sqrt(var) */

/* The correction must be a finite number >= 0 that leaves n - correction > 0. */
bool ad_shape_var(ad_tape *t, ad_node *y, const char *fn)
{
    if (!ad_shape_reduce(t, y, fn)) return false;
    const ad_node *x = ad_node_input(t, y, 0);
    const double c = y->attr_f[0];
    char s[AD_SHAPE_STR];
    if (!isfinite(c) || c < 0) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: correction %g is not a finite number >= 0", fn, c);
        return false;
    }
    size_t n = red_geometry(x, y->attr_i[0]).n;
    if ((double)n - c > 0) return true;
    ad_shape_str(x->ndim, x->dims, s);
    if (y->attr_i[0] < 0)
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: %zu elements (shape %s) minus correction %g leave %g degrees of freedom; "
                     "need more than 0",
                     fn, n, s, c, (double)n - c);
    else
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: %zu elements along axis %d of shape %s minus correction %g leave %g "
                     "degrees of freedom; need more than 0",
                     fn, n, (int)y->attr_i[0], s, c, (double)n - c);
    return false;
}

/* y->ctx: the means (double), then the variances (double) */
static void var_forward(ad_tape *t, ad_node *y, bool sd)
{
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    double *mean = ad_tape_alloc(t, 2 * y->numel * sizeof *mean, sd ? "ad_std" : "ad_var");
    if (!mean) return;
    double *var = mean + y->numel;
    y->ctx = mean;
    group_sums(x, g, TERM_X, NULL, mean);
    for (size_t k = 0; k < y->numel; k++)
        mean[k] /= (double)g.n;
    group_sums(x, g, TERM_DEV, mean, var);
    const double dof = (double)g.n - y->attr_f[0];
    for (size_t k = 0; k < y->numel; k++)
        var[k] = sd ? sqrt(var[k] / dof) : var[k] / dof;
    store(y, var);
}

/* d var / dx_j = 2 (x_j - mean) / (n - c) (the mean's own dependence on x_j
 * cancels, as the deviations sum to 0); d std / dx_j = (x_j - mean) /
 * ((n - c) std), taken as 0 where std = 0 (all x equal: a kink like |x| at
 * 0, which gets the subgradient 0, where PyTorch gives NaN). */
#define VAR_BACK(T)                                                                                \
    do {                                                                                           \
        const T *xv = x->value, *gy = y->grad;                                                     \
        T *gx = gxv;                                                                               \
        for (size_t k = 0; k < y->numel; k++)                                                      \
            coef[k] =                                                                              \
                (double)gy[k] * (sd ? (var[k] > 0 ? 1.0 / (dof * var[k]) : 0.0) : 2.0 / dof);      \
        EACH_ELEMENT(gx[xi] += (T)(coef[k] * ((double)xv[xi] - mean[k])));                         \
    } while (0)

static void var_backward(ad_tape *t, ad_node *y, bool sd)
{
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    const double *mean = y->ctx, *var = mean + y->numel;
    const double dof = (double)g.n - y->attr_f[0];
    double *coef = ad_tape_alloc(t, y->numel * sizeof *coef, "ad_backward");
    if (!coef) return;
    if (y->dtype == AD_F32)
        VAR_BACK(float);
    else
        VAR_BACK(double);
}

void ad_var_forward(ad_tape *t, ad_node *y)
{
    var_forward(t, y, false);
}

void ad_var_backward(ad_tape *t, ad_node *y)
{
    var_backward(t, y, false);
}

ad_tensor ad_var(ad_tensor x, double correction)
{
    return ad_reduce_record(__func__, AD_OP_VAR, x, -1, false, false, correction);
}

ad_tensor ad_var_axis(ad_tensor x, int axis, bool keepdim, double correction)
{
    return ad_reduce_record(__func__, AD_OP_VAR, x, axis, keepdim, true, correction);
}

void ad_std_forward(ad_tape *t, ad_node *y)
{
    var_forward(t, y, true);
}

void ad_std_backward(ad_tape *t, ad_node *y)
{
    var_backward(t, y, true);
}

ad_tensor ad_std(ad_tensor x, double correction)
{
    return ad_reduce_record(__func__, AD_OP_STD, x, -1, false, false, correction);
}

ad_tensor ad_std_axis(ad_tensor x, int axis, bool keepdim, double correction)
{
    return ad_reduce_record(__func__, AD_OP_STD, x, axis, keepdim, true, correction);
}

/* ---- norm: p = 1, sum |x|; p = 2, sqrt(sum x^2). An empty group's norm is 0. */

bool ad_shape_norm(ad_tape *t, ad_node *y, const char *fn)
{
    if (y->attr_f[0] != 1.0 && y->attr_f[0] != 2.0) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: p = %g is not supported (1 or 2)", fn, y->attr_f[0]);
        return false;
    }
    return ad_shape_reduce(t, y, fn);
}

/* sqrt(sum x^2) of one group by scaling with its largest |x|, for the
 * groups whose plain sum of squares overflowed or lost precision to
 * underflow (only float64 values reach either). */
#define L2_SCALED(T)                                                                               \
    do {                                                                                           \
        const T *xg = (const T *)x->value + o * g.n * g.inner + i;                                 \
        double big = 0.0;                                                                          \
        for (size_t j = 0; j < g.n; j++)                                                           \
            big = fabs((double)xg[j * g.inner]) > big || isnan((double)xg[j * g.inner])            \
                      ? fabs((double)xg[j * g.inner])                                              \
                      : big;                                                                       \
        double ss = 0.0;                                                                           \
        if (big > 0 && isfinite(big))                                                              \
            for (size_t j = 0; j < g.n; j++) {                                                     \
                const double v = (double)xg[j * g.inner] / big;                                    \
                ss += v * v;                                                                       \
            }                                                                                      \
        out[o * g.inner + i] = big > 0 && isfinite(big) ? big * sqrt(ss) : big;                    \
    } while (0)

void ad_norm_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    double *out = ad_tape_alloc(t, y->numel * sizeof *out, "ad_norm");
    if (!out) return;
    if (y->attr_f[0] == 1.0) {
        group_sums(x, g, TERM_ABS, NULL, out);
        store(y, out);
        return;
    }
    group_sums(x, g, TERM_SQ, NULL, out);
    for (size_t o = 0; o < g.outer; o++)
        for (size_t i = 0; i < g.inner; i++) {
            const double s = out[o * g.inner + i];
            /* outside, the sum overflowed or lost digits to underflow (a sum
             * of 0 too: squares of 1e-200 vanish); float32 squares land in
             * [2^-298, 2^256], so only their zeros take the scaled pass */
            if ((s >= 0x1p-900 && s <= 0x1p900) || isnan(s)) {
                out[o * g.inner + i] = sqrt(s);
                continue;
            }
            if (x->dtype == AD_F32)
                L2_SCALED(float);
            else
                L2_SCALED(double);
        }
    store(y, out);
}

/* L1: d/dx_j = sign(x_j), 0 at 0 (the subgradient |x|'(0) = 0); NaN at NaN.
 * L2: d/dx_j = x_j / norm, taken as 0 where the norm is 0 (x = 0, the
 * subgradient 0 as for |x|, and PyTorch's choice). */
#define NORM_BACK(T)                                                                               \
    do {                                                                                           \
        const T *xv = x->value, *yv = y->value, *gy = y->grad;                                     \
        T *gx = gxv;                                                                               \
        if (p1) {                                                                                  \
            EACH_ELEMENT(const T v = xv[xi]; gx[xi] += gy[k] * (v > 0    ? (T)1                    \
                                                                : v < 0  ? (T)-1                   \
                                                                : v == v ? (T)0                    \
                                                                         : v));                    \
            break;                                                                                 \
        }                                                                                          \
        for (size_t k = 0; k < y->numel; k++)                                                      \
            coef[k] = yv[k] != 0 ? (double)gy[k] / (double)yv[k] : 0.0;                            \
        EACH_ELEMENT(gx[xi] += (T)(coef[k] * (double)xv[xi]));                                     \
    } while (0)

void ad_norm_backward(ad_tape *t, ad_node *y)
{
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    const bool p1 = y->attr_f[0] == 1.0;
    double *coef = NULL;
    if (!p1 && !(coef = ad_tape_alloc(t, y->numel * sizeof *coef, "ad_backward"))) return;
    if (y->dtype == AD_F32)
        NORM_BACK(float);
    else
        NORM_BACK(double);
}

ad_tensor ad_norm(ad_tensor x, double p)
{
    return ad_reduce_record(__func__, AD_OP_NORM, x, -1, false, false, p);
}

ad_tensor ad_norm_axis(ad_tensor x, double p, int axis, bool keepdim)
{
    return ad_reduce_record(__func__, AD_OP_NORM, x, axis, keepdim, true, p);
}
