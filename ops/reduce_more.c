/* SPDX-License-Identifier: MIT
 * More reductions: min (all elements or along an axis; the gradient goes
 * to the first minimum, as max's goes to the first maximum), prod (a
 * backward of prefix and suffix products, so zeros need no division),
 * cumsum along an axis, and argmax/argmin, which record nothing: they
 * write integer indices into the caller's buffer. */
#include "reduce.h"

#include "core/last_error.h"
#include "kernels/vmath.h"

#include <math.h>
#include <string.h>

/* Elements negated per stack buffer when argmin runs on the argmax kernel. */
#define CHUNK 256

/* ---- the first extreme of each group: arg[o * inner + i] = j.
 * A NaN beats every number (the first NaN wins), so it propagates through
 * min as through max. The first minimum of x is the first maximum of -x, so
 * contiguous rows run on the vector argmax (a chunk of -x at a time). */

#define ARGEXT_ROW(T, SUF, xr, n, want_max, out)                                                   \
    do {                                                                                           \
        if (want_max) {                                                                            \
            (out) = ad_vargmax_##SUF((xr), (n));                                                   \
            break;                                                                                 \
        }                                                                                          \
        T buf_[CHUNK], best_ = 0;                                                                  \
        for (size_t c_ = 0; c_ < (n); c_ += CHUNK) {                                               \
            const size_t m_ = (n)-c_ < CHUNK ? (n)-c_ : CHUNK;                                     \
            for (size_t j_ = 0; j_ < m_; j_++)                                                     \
                buf_[j_] = -(xr)[c_ + j_];                                                         \
            const size_t k_ = ad_vargmax_##SUF(buf_, m_);                                          \
            const T v_ = buf_[k_];                                                                 \
            if (c_ == 0 || v_ > best_ || (isnan(v_) && !isnan(best_))) {                           \
                best_ = v_;                                                                        \
                (out) = c_ + k_;                                                                   \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#define ARGEXT_KERNEL(T, SUF)                                                                      \
    do {                                                                                           \
        const T *xv = xvalue;                                                                      \
        const T sgn = want_max ? (T)1 : (T)-1;                                                     \
        for (size_t o = 0; o < g.outer; o++) {                                                     \
            const T *xo = xv + o * g.n * g.inner;                                                  \
            size_t *ao = arg + o * g.inner;                                                        \
            if (g.inner == 1) {                                                                    \
                ARGEXT_ROW(T, SUF, xo, g.n, want_max, ao[0]);                                      \
                continue;                                                                          \
            }                                                                                      \
            for (size_t i = 0; i < g.inner; i++) {                                                 \
                T best = sgn * xo[i];                                                              \
                ao[i] = 0;                                                                         \
                for (size_t j = 1; j < g.n; j++) {                                                 \
                    const T v = sgn * xo[j * g.inner + i];                                         \
                    if (v > best || (isnan(v) && !isnan(best))) {                                  \
                        best = v;                                                                  \
                        ao[i] = j;                                                                 \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* g.n >= 1. */
static void arg_extremes(ad_dtype dt, const void *xvalue, red_dims g, bool want_max, size_t *arg)
{
    if (dt == AD_F32)
        ARGEXT_KERNEL(float, f32);
    else
        ARGEXT_KERNEL(double, f64);
}

/* ---- min: y->ctx holds the index j of each group's first minimum */

bool ad_shape_min(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_shape_reduce(t, y, fn) && ad_reduce_nonempty(t, y, fn, "minimum");
}

#define GATHER_EXT(T)                                                                              \
    do {                                                                                           \
        const T *xv = x->value;                                                                    \
        T *yv = y->value;                                                                          \
        for (size_t o = 0; o < g.outer; o++)                                                       \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                yv[o * g.inner + i] = xv[(o * g.n + arg[o * g.inner + i]) * g.inner + i];          \
    } while (0)

void ad_min_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    size_t *arg =
        ad_tape_alloc(t, y->numel * sizeof *arg, y->attr_i[0] < 0 ? "ad_min" : "ad_min_axis");
    if (!arg) return;
    y->ctx = arg;
    arg_extremes((ad_dtype)y->dtype, x->value, g, false, arg);
    if (y->dtype == AD_F32)
        GATHER_EXT(float);
    else
        GATHER_EXT(double);
}

#define SCATTER_EXT(T)                                                                             \
    do {                                                                                           \
        T *gx = gxv;                                                                               \
        const T *gy = y->grad;                                                                     \
        for (size_t o = 0; o < g.outer; o++)                                                       \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                gx[(o * g.n + arg[o * g.inner + i]) * g.inner + i] += gy[o * g.inner + i];         \
    } while (0)

/* d min / dx_j = 1 for the first minimum j, 0 for the others (ties: the
 * first takes the whole gradient, as for max). */
void ad_min_backward(ad_tape *t, ad_node *y)
{
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    red_dims g = red_geometry(ad_node_input(t, y, 0), y->attr_i[0]);
    const size_t *arg = y->ctx;
    if (y->dtype == AD_F32)
        SCATTER_EXT(float);
    else
        SCATTER_EXT(double);
}

ad_tensor ad_min(ad_tensor x)
{
    return ad_reduce_record(__func__, AD_OP_MIN, x, -1, false, false, 0);
}

ad_tensor ad_min_axis(ad_tensor x, int axis, bool keepdim)
{
    return ad_reduce_record(__func__, AD_OP_MIN, x, axis, keepdim, true, 0);
}

/* ---- argmax, argmin: no node, indices into the caller's buffer */

/* The groups of x along axis (axis < 0: all elements) into idx[0..n),
 * after checking the handle, the axis, that no group is empty and that n
 * is the number of groups. Reports on x's tape. */
static ad_status argext(const char *fn, ad_tensor x, int axis, bool by_axis, int64_t *idx, size_t n,
                        bool want_max)
{
    ad_node *xn = ad_tensor_node(x, fn);
    if (!xn) return x.tape_ ? x.tape_->err : AD_ERR_INVALID;
    ad_tape *t = x.tape_;
    char s[AD_SHAPE_STR];
    int a = -1;
    if (by_axis && (a = ad_axis_norm(t, fn, axis, xn)) < 0) return t->err;
    red_dims g = red_geometry(xn, a);
    const char *what = want_max ? "maximum" : "minimum";
    if (g.n == 0) {
        ad_shape_str(xn->ndim, xn->dims, s);
        if (a < 0)
            return ad_tape_fail(t, AD_ERR_INVALID, "%s: empty tensor %s has no %s", fn, s, what);
        return ad_tape_fail(t, AD_ERR_INVALID, "%s: axis %d of shape %s is empty: no %s", fn, a, s,
                            what);
    }
    const size_t groups = g.outer * g.inner;
    if (n != groups)
        return ad_tape_fail(t, AD_ERR_SHAPE, "%s: room for %zu indices, but shape %s gives %zu", fn,
                            n, ad_shape_str(xn->ndim, xn->dims, s), groups);
    if (!idx && groups) return ad_tape_fail(t, AD_ERR_INVALID, "%s: idx is NULL", fn);
    size_t *arg = ad_tape_alloc(t, (groups ? groups : 1) * sizeof *arg, fn);
    if (!arg) return t->err;
    arg_extremes((ad_dtype)xn->dtype, xn->value, g, want_max, arg);
    for (size_t k = 0; k < groups; k++)
        idx[k] = (int64_t)arg[k];
    return AD_OK;
}

ad_status ad_argmax(ad_tensor x, int64_t *idx)
{
    return argext(__func__, x, 0, false, idx, 1, true);
}

ad_status ad_argmin(ad_tensor x, int64_t *idx)
{
    return argext(__func__, x, 0, false, idx, 1, false);
}

ad_status ad_argmax_axis(ad_tensor x, int axis, int64_t *idx, size_t n)
{
    return argext(__func__, x, axis, true, idx, n, true);
}

ad_status ad_argmin_axis(ad_tensor x, int axis, int64_t *idx, size_t n)
{
    return argext(__func__, x, axis, true, idx, n, false);
}

/* ---- prod: products accumulate in double for both dtypes (a float32
 * product of many terms would overflow or underflow midway). The product
 * of no elements is 1. */

#define PROD_KERNEL(T)                                                                             \
    do {                                                                                           \
        const T *xv = x->value;                                                                    \
        T *yv = y->value;                                                                          \
        for (size_t o = 0; o < g.outer; o++) {                                                     \
            const T *xo = xv + o * g.n * g.inner;                                                  \
            if (g.inner == 1) {                                                                    \
                double p0 = 1, p1 = 1, p2 = 1, p3 = 1;                                             \
                size_t j = 0;                                                                      \
                for (; j + 4 <= g.n; j += 4) {                                                     \
                    p0 *= (double)xo[j], p1 *= (double)xo[j + 1];                                  \
                    p2 *= (double)xo[j + 2], p3 *= (double)xo[j + 3];                              \
                }                                                                                  \
                for (; j < g.n; j++)                                                               \
                    p0 *= (double)xo[j];                                                           \
                yv[o] = (T)((p0 * p1) * (p2 * p3));                                                \
                continue;                                                                          \
            }                                                                                      \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                acc[i] = 1.0;                                                                      \
            for (size_t j = 0; j < g.n; j++)                                                       \
                for (size_t i = 0; i < g.inner; i++)                                               \
                    acc[i] *= (double)xo[j * g.inner + i];                                         \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                yv[o * g.inner + i] = (T)acc[i];                                                   \
        }                                                                                          \
    } while (0)

void ad_prod_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    double one, *acc = &one;
    if (g.inner > 1 && !(acc = ad_tape_alloc(t, g.inner * sizeof *acc, "ad_prod"))) return;
    if (y->dtype == AD_F32)
        PROD_KERNEL(float);
    else
        PROD_KERNEL(double);
}

/* d prod / dx_j = (product of the x before j) (product of the x after j):
 * exact with zeros among the x (one zero: only its own slope is nonzero;
 * two: all are zero), where prod / x_j would divide by zero. pre holds the
 * prefix products of one group row by row ([n, inner]), suf the running
 * suffix product. */
#define PROD_BACK_KERNEL(T)                                                                        \
    do {                                                                                           \
        const T *xv = x->value, *gy = y->grad;                                                     \
        T *gx = gxv;                                                                               \
        for (size_t o = 0; o < g.outer; o++) {                                                     \
            const T *xo = xv + o * g.n * g.inner;                                                  \
            const T *go = gy + o * g.inner;                                                        \
            T *gxo = gx + o * g.n * g.inner;                                                       \
            for (size_t i = 0; i < g.inner; i++) {                                                 \
                pre[i] = 1.0;                                                                      \
                suf[i] = 1.0;                                                                      \
            }                                                                                      \
            for (size_t j = 1; j < g.n; j++)                                                       \
                for (size_t i = 0; i < g.inner; i++)                                               \
                    pre[j * g.inner + i] =                                                         \
                        pre[(j - 1) * g.inner + i] * (double)xo[(j - 1) * g.inner + i];            \
            for (size_t j = g.n; j-- > 0;)                                                         \
                for (size_t i = 0; i < g.inner; i++) {                                             \
                    gxo[j * g.inner + i] += (T)((double)go[i] * pre[j * g.inner + i] * suf[i]);    \
                    suf[i] *= (double)xo[j * g.inner + i];                                         \
                }                                                                                  \
        }                                                                                          \
    } while (0)

void ad_prod_backward(ad_tape *t, ad_node *y)
{
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    if (g.n == 0) return;
    double *pre = ad_tape_alloc(t, (g.n + 1) * g.inner * sizeof *pre, "ad_backward");
    if (!pre) return;
    double *suf = pre + g.n * g.inner;
    if (y->dtype == AD_F32)
        PROD_BACK_KERNEL(float);
    else
        PROD_BACK_KERNEL(double);
}

ad_tensor ad_prod(ad_tensor x)
{
    return ad_reduce_record(__func__, AD_OP_PROD, x, -1, false, false, 0);
}

ad_tensor ad_prod_axis(ad_tensor x, int axis, bool keepdim)
{
    return ad_reduce_record(__func__, AD_OP_PROD, x, axis, keepdim, true, 0);
}

/* ---- cumsum along an axis (attr_i[0], normalised by the shape rule):
 * y[.., j, ..] = sum over k <= j of x[.., k, ..], shaped like x. Running
 * sums are double for both dtypes. */

bool ad_shape_cumsum(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    int a = ad_axis_norm(t, fn, (int)y->attr_i[0], x);
    if (a < 0) return false;
    y->attr_i[0] = a;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    return true;
}

/* dst[o, j, i] (+)= sum of src[o, k, i] over k <= j (forward) or k >= j
 * (reverse: the backward's sum of later gradients). */
#define CUMSUM_KERNEL(T)                                                                           \
    do {                                                                                           \
        const T *src = srcv;                                                                       \
        T *dst = dstv;                                                                             \
        if (g.inner == 1 && !reverse) { /* contiguous rows: the common case, one running sum */    \
            for (size_t o = 0; o < g.outer; o++) {                                                 \
                double s = 0.0;                                                                    \
                for (size_t j = o * g.n; j < (o + 1) * g.n; j++)                                   \
                    dst[j] = add ? dst[j] + (T)(s += (double)src[j]) : (T)(s += (double)src[j]);   \
            }                                                                                      \
            break;                                                                                 \
        }                                                                                          \
        if (g.inner == 1) {                                                                        \
            for (size_t o = 0; o < g.outer; o++) {                                                 \
                double s = 0.0;                                                                    \
                for (size_t j = (o + 1) * g.n; j-- > o * g.n;)                                     \
                    dst[j] = add ? dst[j] + (T)(s += (double)src[j]) : (T)(s += (double)src[j]);   \
            }                                                                                      \
            break;                                                                                 \
        }                                                                                          \
        for (size_t o = 0; o < g.outer; o++) {                                                     \
            const size_t base = o * g.n * g.inner;                                                 \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                acc[i] = 0.0;                                                                      \
            for (size_t s = 0; s < g.n; s++) {                                                     \
                const size_t j = reverse ? g.n - 1 - s : s;                                        \
                const T *sr = src + base + j * g.inner;                                            \
                T *dr = dst + base + j * g.inner;                                                  \
                for (size_t i = 0; i < g.inner; i++) {                                             \
                    acc[i] += (double)sr[i];                                                       \
                    dr[i] = add ? dr[i] + (T)acc[i] : (T)acc[i];                                   \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static void cumsum_run(ad_tape *t, const ad_node *x, int64_t axis, const void *srcv, void *dstv,
                       bool reverse, bool add, const char *fn)
{
    red_dims g = red_geometry(x, axis);
    double one, *acc = &one;
    if (g.inner > 1 && !(acc = ad_tape_alloc(t, g.inner * sizeof *acc, fn))) return;
    if (x->dtype == AD_F32)
        CUMSUM_KERNEL(float);
    else
        CUMSUM_KERNEL(double);
}

void ad_cumsum_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    cumsum_run(t, x, y->attr_i[0], x->value, y->value, false, false, "ad_cumsum");
}

/* dy_k / dx_j = 1 for k >= j: gx_j += sum of gy_k over k >= j. */
void ad_cumsum_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    cumsum_run(t, ad_node_input(t, y, 0), y->attr_i[0], y->grad, gx, true, true, "ad_backward");
}

ad_tensor ad_cumsum(ad_tensor x, int axis)
{
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_CUMSUM, &x, 1, &at);
}
