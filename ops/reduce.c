/* SPDX-License-Identifier: MIT
 * Reductions: sum, mean and max over all elements (-> [1]) or along one axis.
 * Attributes (ops.h): attr_i[0] = normalised axis or -1 for all elements,
 * attr_i[1] = keepdim; attr_i[2] = 1 when an *_axis function recorded it, so
 * the shape rule can tell a user's axis -1 (the last) from "all elements". */
#include "reduce.h"

#include "kernels/vmath.h"

#include <math.h>
#include <string.h>

/* Shared by all three: [1] over all elements; along an axis the axis is
 * dropped, or kept as 1 with keepdim (a 1-D input without keepdim gives [1]). */
bool ad_shape_reduce(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    y->ndim = 1;
    y->dims[0] = 1;
    if (!y->attr_i[2]) {
        y->attr_i[0] = -1;
        y->attr_i[1] = 0;
        return true;
    }
    int a = ad_axis_norm(t, fn, (int)y->attr_i[0], x);
    if (a < 0) return false;
    y->attr_i[0] = a;
    y->attr_i[1] = y->attr_i[1] != 0;
    if (y->attr_i[1]) {
        y->ndim = x->ndim;
        memcpy(y->dims, x->dims, sizeof y->dims);
        y->dims[a] = 1;
    } else if (x->ndim > 1) {
        size_t nd = 0;
        for (size_t d = 0; d < x->ndim; d++)
            if (d != (size_t)a) y->dims[nd++] = x->dims[d];
        y->ndim = (uint8_t)nd;
    }
    return true;
}

/* The entry points' one line: attributes as ad_shape_reduce reads them. */
static ad_tensor reduce(const char *fn, uint16_t op, ad_tensor x, int axis, bool keepdim,
                        bool by_axis)
{
    ad_op_attrs at = {{0, 0}, {axis, keepdim, by_axis, 0}, NULL};
    return ad_op_record(fn, op, &x, 1, &at);
}

/* ---- sum and mean. Sums accumulate in double for both dtypes: float64
 * in y's own row, float32 in a row of double accumulators from the tape
 * (or local doubles when the reduced axis is the last). */

/* a contiguous row summed in double (row_sum_tmpl.h) */
#define RS_NAME    sum_contig_float
#define RS_ACC     double
#define RS_TERM(k) ((double)a[k])
#define RS_PARAMS  const float *a
#include "row_sum_tmpl.h"
#define RS_NAME    sum_contig_double
#define RS_ACC     double
#define RS_TERM(k) ((double)a[k])
#define RS_PARAMS  const double *a
#include "row_sum_tmpl.h"

#define SUM_KERNEL(T, ACC_ROW)                                                                     \
    do {                                                                                           \
        const T *xv = x->value;                                                                    \
        T *yv = y->value;                                                                          \
        for (size_t o = 0; o < g.outer; o++) {                                                     \
            const T *xo = xv + o * g.n * g.inner;                                                  \
            if (g.inner == 1) { /* the reduced axis is the last: contiguous */                     \
                double s = sum_contig_##T(xo, g.n);                                                \
                yv[o] = (T)(mean ? s / (double)g.n : s);                                           \
                continue;                                                                          \
            }                                                                                      \
            double *acc = (ACC_ROW);                                                               \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                acc[i] = 0.0;                                                                      \
            for (size_t j = 0; j < g.n; j++)                                                       \
                for (size_t i = 0; i < g.inner; i++)                                               \
                    acc[i] += (double)xo[j * g.inner + i];                                         \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                yv[o * g.inner + i] = (T)(mean ? acc[i] / (double)g.n : acc[i]);                   \
        }                                                                                          \
    } while (0)

/* mean divides by n: 0/0 gives NaN for an empty reduction, as IEEE says. */
static void sum_rows(ad_tape *t, ad_node *y, bool mean)
{
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    double *row = NULL;
    if (y->dtype == AD_F64) {
        SUM_KERNEL(double, (double *)y->value + o * g.inner);
        return;
    }
    if (g.inner > 1) {
        row = ad_tape_alloc(t, g.inner * sizeof *row, mean ? "ad_mean" : "ad_sum");
        if (!row) return;
    }
    SUM_KERNEL(float, row);
}

#define SPREAD_KERNEL(T)                                                                           \
    do {                                                                                           \
        T *gx = gxv;                                                                               \
        const T *gy = y->grad;                                                                     \
        T s = (T)scale;                                                                            \
        if (g.inner == 1) { /* the reduced axis is the last: one contiguous row per output */      \
            for (size_t o = 0; o < g.outer; o++) {                                                 \
                T v = s * gy[o], *gr = gx + o * g.n;                                               \
                for (size_t j = 0; j < g.n; j++)                                                   \
                    gr[j] += v;                                                                    \
            }                                                                                      \
            break;                                                                                 \
        }                                                                                          \
        for (size_t o = 0; o < g.outer; o++)                                                       \
            for (size_t j = 0; j < g.n; j++) {                                                     \
                T *gr = gx + (o * g.n + j) * g.inner;                                              \
                const T *go = gy + o * g.inner;                                                    \
                for (size_t i = 0; i < g.inner; i++)                                               \
                    gr[i] += s * go[i];                                                            \
            }                                                                                      \
    } while (0)

/* d sum / dx_j = 1 and d mean / dx_j = 1/n: every x in a group gets dy (/ n). */
static void spread(ad_tape *t, ad_node *y, bool mean)
{
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    red_dims g = red_geometry(ad_node_input(t, y, 0), y->attr_i[0]);
    if (g.n == 0) return;
    double scale = mean ? 1.0 / (double)g.n : 1.0;
    if (y->dtype == AD_F32)
        SPREAD_KERNEL(float);
    else
        SPREAD_KERNEL(double);
}

void ad_sum_forward(ad_tape *t, ad_node *y)
{
    sum_rows(t, y, false);
}

void ad_sum_backward(ad_tape *t, ad_node *y)
{
    spread(t, y, false);
}

ad_tensor ad_sum(ad_tensor x)
{
    return reduce(__func__, AD_OP_SUM, x, -1, false, false);
}

ad_tensor ad_sum_axis(ad_tensor x, int axis, bool keepdim)
{
    return reduce(__func__, AD_OP_SUM, x, axis, keepdim, true);
}

void ad_mean_forward(ad_tape *t, ad_node *y)
{
    sum_rows(t, y, true);
}

void ad_mean_backward(ad_tape *t, ad_node *y)
{
    spread(t, y, true);
}

ad_tensor ad_mean(ad_tensor x)
{
    return reduce(__func__, AD_OP_MEAN, x, -1, false, false);
}

ad_tensor ad_mean_axis(ad_tensor x, int axis, bool keepdim)
{
    return reduce(__func__, AD_OP_MEAN, x, axis, keepdim, true);
}

/* ---- max: y->ctx holds, per output element, the index j (along the reduced
 * extent) of the first maximum. A NaN wins over numbers, so it propagates. */

bool ad_shape_max(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_shape_reduce(t, y, fn) && ad_reduce_nonempty(t, y, fn, "maximum");
}

bool ad_reduce_nonempty(ad_tape *t, const ad_node *y, const char *fn, const char *what)
{
    const ad_node *x = ad_node_input(t, y, 0);
    if (red_geometry(x, y->attr_i[0]).n > 0) return true;
    char s[AD_SHAPE_STR];
    ad_shape_str(x->ndim, x->dims, s);
    if (y->attr_i[0] < 0)
        ad_tape_fail(t, AD_ERR_INVALID, "%s: empty tensor %s has no %s", fn, s, what);
    else
        ad_tape_fail(t, AD_ERR_INVALID, "%s: axis %d of shape %s is empty: no %s", fn,
                     (int)y->attr_i[0], s, what);
    return false;
}

#define MAX_KERNEL(T, SUF)                                                                         \
    do {                                                                                           \
        const T *xv = x->value;                                                                    \
        T *yv = y->value;                                                                          \
        for (size_t o = 0; o < g.outer; o++) {                                                     \
            const T *xo = xv + o * g.n * g.inner;                                                  \
            T *yo = yv + o * g.inner;                                                              \
            size_t *ao = arg + o * g.inner;                                                        \
            if (g.inner == 1) { /* the reduced axis is the last: a contiguous row */               \
                ao[0] = ad_vargmax_##SUF(xo, g.n);                                                 \
                yo[0] = xo[ao[0]];                                                                 \
                continue;                                                                          \
            }                                                                                      \
            for (size_t i = 0; i < g.inner; i++) {                                                 \
                yo[i] = xo[i];                                                                     \
                ao[i] = 0;                                                                         \
            }                                                                                      \
            for (size_t j = 1; j < g.n; j++)                                                       \
                for (size_t i = 0; i < g.inner; i++) {                                             \
                    T v = xo[j * g.inner + i];                                                     \
                    if (v > yo[i] || (isnan(v) && !isnan(yo[i]))) {                                \
                        yo[i] = v;                                                                 \
                        ao[i] = j;                                                                 \
                    }                                                                              \
                }                                                                                  \
        }                                                                                          \
    } while (0)

void ad_max_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    red_dims g = red_geometry(x, y->attr_i[0]);
    size_t *arg =
        ad_tape_alloc(t, y->numel * sizeof *arg, y->attr_i[0] < 0 ? "ad_max" : "ad_max_axis");
    if (!arg) return;
    y->ctx = arg;
    if (y->dtype == AD_F32)
        MAX_KERNEL(float, f32);
    else
        MAX_KERNEL(double, f64);
}

#define MAX_BACK_KERNEL(T)                                                                         \
    do {                                                                                           \
        T *gx = gxv;                                                                               \
        const T *gy = y->grad;                                                                     \
        for (size_t o = 0; o < g.outer; o++)                                                       \
            for (size_t i = 0; i < g.inner; i++)                                                   \
                gx[(o * g.n + arg[o * g.inner + i]) * g.inner + i] += gy[o * g.inner + i];         \
    } while (0)

/* d max / dx_j = 1 for the first maximum j, 0 for the others. */
void ad_max_backward(ad_tape *t, ad_node *y)
{
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    red_dims g = red_geometry(ad_node_input(t, y, 0), y->attr_i[0]);
    const size_t *arg = y->ctx;
    if (y->dtype == AD_F32)
        MAX_BACK_KERNEL(float);
    else
        MAX_BACK_KERNEL(double);
}

ad_tensor ad_max(ad_tensor x)
{
    return reduce(__func__, AD_OP_MAX, x, -1, false, false);
}

ad_tensor ad_max_axis(ad_tensor x, int axis, bool keepdim)
{
    return reduce(__func__, AD_OP_MAX, x, axis, keepdim, true);
}
