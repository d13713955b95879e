/* SPDX-License-Identifier: MIT
 * Shape ops: transpose, reshape, slice and concat. They only move elements,
 * so each backward rule sends every output gradient back to the one input
 * element it was copied from. */
#include "ops.h"

#include "core/alloc.h"
#include "core/last_error.h"

#include <stdio.h>
#include <string.h>

/* dst[0..n) += src[0..n) in dtype dt. */
static void add_into(ad_dtype dt, void *dst, const void *src, size_t n)
{
    if (dt == AD_F32) {
        float *d = dst;
        const float *s = src;
        for (size_t i = 0; i < n; i++)
            d[i] += s[i];
    } else {
        double *d = dst;
        const double *s = src;
        for (size_t i = 0; i < n; i++)
            d[i] += s[i];
    }
}

static size_t prod(const size_t *dims, size_t lo, size_t hi)
{
    size_t n = 1;
    for (size_t i = lo; i < hi; i++)
        n *= dims[i];
    return n;
}

/* ---- transpose: swaps axes attr_i[0] and attr_i[1] (normalised by the shape rule) */

bool ad_shape_transpose(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    int a0 = ad_axis_norm(t, fn, (int)y->attr_i[0], x);
    if (a0 < 0) return false;
    int a1 = ad_axis_norm(t, fn, (int)y->attr_i[1], x);
    if (a1 < 0) return false;
    y->attr_i[0] = a0;
    y->attr_i[1] = a1;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    y->dims[a0] = x->dims[a1];
    y->dims[a1] = x->dims[a0];
    return true;
}

/* The output's shape padded to 4-D (leading 1s) and, per output axis, the
 * stride of the input element it reads: the input's strides, swapped. */
static void transpose_plan(const ad_tape *t, const ad_node *y, size_t od[4], size_t os[4])
{
    const ad_node *x = ad_node_input(t, y, 0);
    size_t pad = 4 - (size_t)x->ndim, xs[4];
    size_t s = 1;
    for (size_t d = 4; d-- > 0;) {
        size_t dim = d < pad ? 1 : x->dims[d - pad];
        od[d] = dim;
        xs[d] = s;
        s *= dim;
    }
    size_t a0 = (size_t)y->attr_i[0] + pad, a1 = (size_t)y->attr_i[1] + pad;
    memcpy(os, xs, sizeof xs);
    os[a0] = xs[a1];
    os[a1] = xs[a0];
    size_t tmp = od[a0];
    od[a0] = od[a1];
    od[a1] = tmp;
}

/* Runs STMT for every output element o (row-major) with `off` the flat index
 * of the input element it comes from. */
#define FOR_TRANSPOSED(od, os, STMT)                                                               \
    do {                                                                                           \
        size_t o = 0;                                                                              \
        for (size_t i0 = 0; i0 < od[0]; i0++)                                                      \
            for (size_t i1 = 0; i1 < od[1]; i1++)                                                  \
                for (size_t i2 = 0; i2 < od[2]; i2++) {                                            \
                    size_t base = i0 * os[0] + i1 * os[1] + i2 * os[2];                            \
                    for (size_t i3 = 0; i3 < od[3]; i3++, o++) {                                   \
                        size_t off = base + i3 * os[3];                                            \
                        STMT;                                                                      \
                    }                                                                              \
                }                                                                                  \
    } while (0)

void ad_transpose_forward(ad_tape *t, ad_node *y)
{
    size_t od[4], os[4];
    transpose_plan(t, y, od, os);
    const void *xv = ad_node_input(t, y, 0)->value;
    if (y->dtype == AD_F32) {
        const float *x = xv;
        float *v = y->value;
        FOR_TRANSPOSED(od, os, v[o] = x[off]);
    } else {
        const double *x = xv;
        double *v = y->value;
        FOR_TRANSPOSED(od, os, v[o] = x[off]);
    }
}

/* A permutation: each input element gets the gradient of its one image. */
void ad_transpose_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    size_t od[4], os[4];
    transpose_plan(t, y, od, os);
    if (y->dtype == AD_F32) {
        float *g = gx;
        const float *gy = y->grad;
        FOR_TRANSPOSED(od, os, g[off] += gy[o]);
    } else {
        double *g = gx;
        const double *gy = y->grad;
        FOR_TRANSPOSED(od, os, g[off] += gy[o]);
    }
}

ad_tensor ad_transpose(ad_tensor x, int axis0, int axis1)
{
    ad_op_attrs at = {{0, 0}, {axis0, axis1, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_TRANSPOSE, &x, 1, &at);
}

/* ---- reshape: attr_i[0..ndim) = the new dims, attr_i[ndim..4) = -1 */

bool ad_shape_reshape(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    size_t nd = 0, n = 1;
    while (nd < AD_MAX_DIMS && y->attr_i[nd] >= 0) {
        y->dims[nd] = (size_t)y->attr_i[nd];
        n = ad_mul_size(n, y->dims[nd]);
        nd++;
    }
    if (nd == 0 || n != x->numel) {
        char sx[AD_SHAPE_STR], sy[AD_SHAPE_STR], cnt[32] = "too many";
        if (n != SIZE_MAX) snprintf(cnt, sizeof cnt, "%zu", n);
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: cannot reshape %s (%zu elements) to %s (%s elements)",
                     fn, ad_shape_str(x->ndim, x->dims, sx), x->numel,
                     ad_shape_str(nd, y->dims, sy), cnt);
        return false;
    }
    y->ndim = (uint8_t)nd;
    return true;
}

void ad_reshape_forward(ad_tape *t, ad_node *y)
{
    memcpy(y->value, ad_node_input(t, y, 0)->value, y->numel * ad_dtype_size((ad_dtype)y->dtype));
}

/* Same elements in the same order: dx += dy. */
void ad_reshape_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (gx) add_into((ad_dtype)y->dtype, gx, y->grad, y->numel);
}

ad_tensor ad_reshape(ad_tensor x, size_t ndim, const size_t *dims)
{
    const char *fn = __func__;
    if (!dims || ndim < 1 || ndim > AD_MAX_DIMS) {
        ad_tape_fail(x.tape_, AD_ERR_INVALID, "%s: %zu dimensions%s; tensors have 1 to %d", fn,
                     ndim, dims ? "" : " (dims is NULL)", AD_MAX_DIMS);
        return ad_invalid_tensor(x.tape_);
    }
    ad_op_attrs at = {{0, 0}, {-1, -1, -1, -1}, NULL};
    for (size_t d = 0; d < ndim; d++) {
        if (dims[d] > (size_t)INT64_MAX) {
            ad_tape_fail(x.tape_, AD_ERR_INVALID, "%s: dimension %zu is too large (%zu)", fn, d,
                         dims[d]);
            return ad_invalid_tensor(x.tape_);
        }
        at.i[d] = (int64_t)dims[d];
    }
    return ad_op_record(fn, AD_OP_RESHAPE, &x, 1, &at);
}

/* ---- slice: attr_i = {axis, start, stop}; x viewed as [outer, dim, inner]
 * gives y [outer, stop - start, inner]. */

bool ad_shape_slice(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    int a = ad_axis_norm(t, fn, (int)y->attr_i[0], x);
    if (a < 0) return false;
    size_t start = (size_t)y->attr_i[1], stop = (size_t)y->attr_i[2], dim = x->dims[a];
    if (start > stop || stop > dim) {
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: range [%zu, %zu) is not within axis %d of shape %s (need start <= "
                     "stop <= %zu)",
                     fn, start, stop, a, ad_shape_str(x->ndim, x->dims, s), dim);
        return false;
    }
    y->attr_i[0] = a;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    y->dims[a] = stop - start;
    return true;
}

void ad_slice_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    size_t a = (size_t)y->attr_i[0], start = (size_t)y->attr_i[1];
    size_t outer = prod(x->dims, 0, a), inner = prod(x->dims, a + 1, x->ndim);
    size_t dim = x->dims[a], len = y->dims[a], es = ad_dtype_size((ad_dtype)y->dtype);
    if (len * inner == 0) return;
    for (size_t o = 0; o < outer; o++)
        memcpy((char *)y->value + o * len * inner * es,
               (const char *)x->value + (o * dim + start) * inner * es, len * inner * es);
}

/* y is a block of x: dx[block] += dy, the rest of dx gets nothing. */
void ad_slice_backward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    size_t a = (size_t)y->attr_i[0], start = (size_t)y->attr_i[1];
    size_t outer = prod(x->dims, 0, a), inner = prod(x->dims, a + 1, x->ndim);
    size_t dim = x->dims[a], len = y->dims[a], es = ad_dtype_size((ad_dtype)y->dtype);
    if (len * inner == 0) return;
    for (size_t o = 0; o < outer; o++)
        add_into((ad_dtype)y->dtype, (char *)gx + (o * dim + start) * inner * es,
                 (const char *)y->grad + o * len * inner * es, len * inner);
}

ad_tensor ad_slice(ad_tensor x, int axis, size_t start, size_t stop)
{
    /* sizes beyond INT64_MAX wrap to negatives and back: the shape rule sees them intact */
    ad_op_attrs at = {{0, 0}, {axis, (int64_t)start, (int64_t)stop, 0}, NULL};
    return ad_op_record(__func__, AD_OP_SLICE, &x, 1, &at);
}

/* ---- concat: attr_i[0] = axis; inputs viewed as [outer, dim_k, inner] are
 * laid side by side along the middle axis. */

bool ad_shape_concat(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x0 = ad_node_input(t, y, 0);
    int a = ad_axis_norm(t, fn, (int)y->attr_i[0], x0);
    if (a < 0) return false;
    size_t total = 0;
    for (size_t k = 0; k < y->n_in; k++) {
        const ad_node *x = ad_node_input(t, y, k);
        bool same = x->ndim == x0->ndim;
        for (size_t d = 0; same && d < x->ndim; d++)
            same = d == (size_t)a || x->dims[d] == x0->dims[d];
        if (!same) {
            char sx[AD_SHAPE_STR], s0[AD_SHAPE_STR];
            ad_tape_fail(t, AD_ERR_SHAPE,
                         "%s: input %zu has shape %s but input 0 has %s; only axis %d may differ",
                         fn, k, ad_shape_str(x->ndim, x->dims, sx),
                         ad_shape_str(x0->ndim, x0->dims, s0), a);
            return false;
        }
        if (total + x->dims[a] < total) {
            ad_tape_fail(t, AD_ERR_INVALID, "%s: axis %d grows too large", fn, a);
            return false;
        }
        total += x->dims[a];
    }
    y->attr_i[0] = a;
    y->ndim = x0->ndim;
    memcpy(y->dims, x0->dims, sizeof y->dims);
    y->dims[a] = total;
    return true;
}

void ad_concat_forward(ad_tape *t, ad_node *y)
{
    size_t a = (size_t)y->attr_i[0], es = ad_dtype_size((ad_dtype)y->dtype);
    size_t outer = prod(y->dims, 0, a), inner = prod(y->dims, a + 1, y->ndim);
    size_t row = y->dims[a] * inner, off = 0;
    for (size_t k = 0; k < y->n_in; k++) {
        const ad_node *x = ad_node_input(t, y, k);
        size_t chunk = x->dims[a] * inner;
        if (chunk)
            for (size_t o = 0; o < outer; o++)
                memcpy((char *)y->value + (o * row + off) * es,
                       (const char *)x->value + o * chunk * es, chunk * es);
        off += chunk;
    }
}

/* Each input owns one block of every output row: dx_k += dy[block k]. */
void ad_concat_backward(ad_tape *t, ad_node *y)
{
    size_t a = (size_t)y->attr_i[0], es = ad_dtype_size((ad_dtype)y->dtype);
    size_t outer = prod(y->dims, 0, a), inner = prod(y->dims, a + 1, y->ndim);
    size_t row = y->dims[a] * inner, off = 0;
    for (size_t k = 0; k < y->n_in; k++) {
        size_t chunk = ad_node_input(t, y, k)->dims[a] * inner;
        void *gx = ad_input_grad(t, y, k);
        if (gx)
            for (size_t o = 0; o < outer; o++)
                add_into((ad_dtype)y->dtype, (char *)gx + o * chunk * es,
                         (const char *)y->grad + (o * row + off) * es, chunk);
        off += chunk;
    }
}

ad_tensor ad_concat(const ad_tensor *xs, size_t n, int axis)
{
    /* without an input that has a tape there is no tape to fail: the reason
     * goes to ad_last_error (an input with one gets the error on its tape) */
    if (n == 0 || !xs) {
        ad_last_error_set("%s", n == 0 ? "ad_concat: no inputs (n is 0), so no tape to record on"
                                       : "ad_concat: xs is NULL");
        return ad_invalid_tensor(NULL);
    }
    size_t k = 0;
    while (k < n && !xs[k].tape_)
        k++;
    if (k == n) {
        ad_last_error_set(
            "ad_concat: none of the %zu inputs has a tape (zero-initialised handles?)", n);
        return ad_invalid_tensor(NULL);
    }
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_CONCAT, xs, n, &at);
}
