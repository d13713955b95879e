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

/* row dots and sums in eight partial sums (row_sum_tmpl.h) */
#define RS_NAME    row_dot_float
#define RS_ACC     float
#define RS_TERM(k) (a[k] * b[k])
#define RS_PARAMS  const float *a, const float *b
#include "row_sum_tmpl.h"
#define RS_NAME    row_dot_double
#define RS_ACC     double
#define RS_TERM(k) (a[k] * b[k])
#define RS_PARAMS  const double *a, const double *b
#include "row_sum_tmpl.h"
#define RS_NAME    row_sum_float
#define RS_ACC     float
#define RS_TERM(k) (a[k])
#define RS_PARAMS  const float *a
#include "row_sum_tmpl.h"
#define RS_NAME    row_sum_double
#define RS_ACC     double
#define RS_TERM(k) (a[k])
#define RS_PARAMS  const double *a
#include "row_sum_tmpl.h"

/* The passes of both ops for each dtype (softmax_tmpl.h): the block passes
 * along a non-last axis, the row passes along the last, and the backwards. */
#define T   float
#define SUF f32
#define LOG logf
#include "softmax_tmpl.h"
#define T   double
#define SUF f64
#define LOG log
#include "softmax_tmpl.h"

/* ---- softmax: y_k = exp(x_k - m) / sum_j exp(x_j - m), m = max_j x_j */

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
