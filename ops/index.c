/* SPDX-License-Identifier: MIT
 * Indexing by integer indices (int64_t, copied to the tape when recorded):
 * index_select (whole slices along an axis), gather (one element per index,
 * PyTorch's torch.gather), embedding (rows of a weight matrix), whose
 * backward rules scatter-add, so a repeated index accumulates; and one_hot,
 * a constant. An index outside [0, bound) fails the op naming the index,
 * its position and the bound. */
#include "ops.h"

#include "core/last_error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The indices an op is recorded with (y->ctx): the caller's array while the
 * shape rule runs, the tape's copy after it. */
typedef struct idx_spec {
    const int64_t *idx;
    size_t n;    /* number of indices */
    size_t ndim; /* their shape (gather, embedding); index_select: 1, [n] */
    size_t dims[AD_MAX_DIMS];
    bool no_dims; /* the caller passed dims NULL */
} idx_spec;

/* Checks every index against bound and copies the spec and the indices to
 * the tape (y->ctx); `what` says what bound is ("axis 1 of x [3,5]"). */
static bool take_indices(ad_tape *t, ad_node *y, const char *fn, size_t bound, const char *what)
{
    const idx_spec *s = y->ctx;
    if (s->n >= SIZE_MAX / 16) {
        char si[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID, "%s: index shape %s is too large", fn,
                     ad_shape_str(s->ndim, s->dims, si));
        return false;
    }
    if (!s->idx && s->n) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: the index array is NULL", fn);
        return false;
    }
    for (size_t k = 0; k < s->n; k++)
        if (s->idx[k] < 0 || (uint64_t)s->idx[k] >= bound) {
            ad_tape_fail(t, AD_ERR_INVALID,
                         "%s: index %" PRId64 " (position %zu) is out of range [0, %zu) for %s", fn,
                         s->idx[k], k, bound, what);
            return false;
        }
    idx_spec *c = ad_tape_alloc(t, sizeof *c + (s->n ? s->n : 1) * sizeof *s->idx, fn);
    if (!c) return false;
    *c = *s;
    int64_t *copy = (int64_t *)(void *)(c + 1);
    if (s->n) memcpy(copy, s->idx, s->n * sizeof *copy);
    c->idx = copy;
    y->ctx = c;
    return true;
}

/* The number of indices of a shape; SIZE_MAX when it overflows. */
static size_t count_of(size_t ndim, const size_t *dims)
{
    for (size_t d = 0; d < ndim; d++)
        if (dims[d] == 0) return 0;
    return ad_shape_nonzero_product(ndim, dims);
}

/* x as [outer, nx, inner] around axis a. */
static void slab(const ad_node *x, size_t a, size_t *outer, size_t *inner)
{
    *outer = *inner = 1;
    for (size_t d = 0; d < a; d++)
        *outer *= x->dims[d];
    for (size_t d = a + 1; d < x->ndim; d++)
        *inner *= x->dims[d];
}

/* y [outer, n, inner] = x [outer, nx, inner] at the indices along the middle
 * axis; backward: gx[o, idx[j], :] += gy[o, j, :]. */
#define SELECT_FWD(T)                                                                              \
    do {                                                                                           \
        const T *xv = x->value;                                                                    \
        T *yv = y->value;                                                                          \
        for (size_t o = 0; o < outer; o++)                                                         \
            for (size_t j = 0; j < s->n; j++)                                                      \
                memcpy(yv + (o * s->n + j) * inner, xv + (o * nx + (size_t)s->idx[j]) * inner,     \
                       inner * sizeof(T));                                                         \
    } while (0)

#define SELECT_BACK(T)                                                                             \
    do {                                                                                           \
        const T *gy = y->grad;                                                                     \
        T *gx = gxv;                                                                               \
        for (size_t o = 0; o < outer; o++)                                                         \
            for (size_t j = 0; j < s->n; j++) {                                                    \
                T *dst = gx + (o * nx + (size_t)s->idx[j]) * inner;                                \
                const T *src = gy + (o * s->n + j) * inner;                                        \
                for (size_t i = 0; i < inner; i++)                                                 \
                    dst[i] += src[i];                                                              \
            }                                                                                      \
    } while (0)

static void select_run(ad_tape *t, ad_node *y, size_t axis, bool backward)
{
    const ad_node *x = ad_node_input(t, y, 0);
    const idx_spec *s = y->ctx;
    size_t outer, inner, nx = x->dims[axis];
    slab(x, axis, &outer, &inner);
    if (!backward) {
        if (y->dtype == AD_F32)
            SELECT_FWD(float);
        else
            SELECT_FWD(double);
        return;
    }
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    if (y->dtype == AD_F32)
        SELECT_BACK(float);
    else
        SELECT_BACK(double);
}

/* ---- index_select(x, axis, idx[n]): x's shape with dims[axis] = n
 * (attr_i[0] = axis, normalised by the shape rule) */

bool ad_shape_index_select(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    int a = ad_axis_norm(t, fn, (int)y->attr_i[0], x);
    if (a < 0) return false;
    char s[AD_SHAPE_STR], what[2 * AD_SHAPE_STR];
    snprintf(what, sizeof what, "axis %d of x %s", a, ad_shape_str(x->ndim, x->dims, s));
    if (!take_indices(t, y, fn, x->dims[a], what)) return false;
    y->attr_i[0] = a;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    y->dims[a] = ((const idx_spec *)y->ctx)->n;
    return true;
}

void ad_index_select_forward(ad_tape *t, ad_node *y)
{
    select_run(t, y, (size_t)y->attr_i[0], false);
}

/* dy[.., j, ..] / dx[.., idx[j], ..] = 1: gradients scatter-add back. */
void ad_index_select_backward(ad_tape *t, ad_node *y)
{
    select_run(t, y, (size_t)y->attr_i[0], true);
}

ad_tensor ad_index_select(ad_tensor x, int axis, const int64_t *idx, size_t n)
{
    idx_spec s = {idx, n, 1, {n, 0, 0, 0}, false};
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, &s};
    return ad_op_record(__func__, AD_OP_INDEX_SELECT, &x, 1, &at);
}

/* ---- embedding(weight [V,D], idx of shape dims) -> dims + [D] */

/* The index shape: 1 to AD_MAX_DIMS - 1 dimensions whose product is n
 * (embedding adds one, one_hot too). */
static bool index_shape_ok(ad_tape *t, const char *fn, const idx_spec *s)
{
    if (s->no_dims) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: dims is NULL", fn);
        return false;
    }
    if (s->ndim < 1 || s->ndim > AD_MAX_DIMS - 1) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: the indices have %zu dimensions; 1 to %d allowed", fn,
                     s->ndim, AD_MAX_DIMS - 1);
        return false;
    }
    return true;
}

bool ad_shape_embedding(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *w = ad_node_input(t, y, 0);
    const idx_spec *s = y->ctx;
    char sw[AD_SHAPE_STR], what[2 * AD_SHAPE_STR];
    ad_shape_str(w->ndim, w->dims, sw);
    if (w->ndim != 2) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: weight must be [V,D], got %s", fn, sw);
        return false;
    }
    if (!index_shape_ok(t, fn, s)) return false;
    snprintf(what, sizeof what, "the %zu rows of weight %s", w->dims[0], sw);
    y->ndim = (uint8_t)(s->ndim + 1);
    for (size_t d = 0; d < s->ndim; d++)
        y->dims[d] = s->dims[d];
    y->dims[s->ndim] = w->dims[1];
    return take_indices(t, y, fn, w->dims[0], what);
}

void ad_embedding_forward(ad_tape *t, ad_node *y)
{
    select_run(t, y, 0, false);
}

/* Row idx[j] of the weight gets the gradient of output row j: a scatter-add,
 * so a token seen k times collects k gradients. */
void ad_embedding_backward(ad_tape *t, ad_node *y)
{
    select_run(t, y, 0, true);
}

ad_tensor ad_embedding(ad_tensor weight, const int64_t *idx, size_t ndim, const size_t *dims)
{
    idx_spec s = {idx, 0, ndim, {0}, !dims};
    if (dims && ndim <= AD_MAX_DIMS - 1) {
        memcpy(s.dims, dims, ndim * sizeof *dims);
        s.n = count_of(ndim, dims);
    }
    ad_op_attrs at = {{0, 0}, {0, 0, 0, 0}, &s};
    return ad_op_record(__func__, AD_OP_EMBEDDING, &weight, 1, &at);
}

/* ---- gather(x, axis, idx of shape dims): y has the index's shape, and
 * y[p] = x[p with its axis coordinate replaced by idx[p]] (torch.gather).
 * The index has x's number of dimensions and, off the axis, dimensions no
 * larger than x's. */

bool ad_shape_gather(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    const idx_spec *s = y->ctx;
    int a = ad_axis_norm(t, fn, (int)y->attr_i[0], x);
    if (a < 0) return false;
    if (s->no_dims) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: dims is NULL", fn);
        return false;
    }
    char sx[AD_SHAPE_STR], si[AD_SHAPE_STR], what[2 * AD_SHAPE_STR];
    ad_shape_str(x->ndim, x->dims, sx);
    if (s->ndim != x->ndim) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: the index has %zu dimensions, x %s has %u", fn, s->ndim,
                     sx, (unsigned)x->ndim);
        return false;
    }
    for (size_t d = 0; d < x->ndim; d++)
        if (d != (size_t)a && s->dims[d] > x->dims[d]) {
            ad_tape_fail(t, AD_ERR_SHAPE,
                         "%s: index shape %s exceeds x %s in dimension %zu (off the axis %d)", fn,
                         ad_shape_str(s->ndim, s->dims, si), sx, d, a);
            return false;
        }
    snprintf(what, sizeof what, "axis %d of x %s", a, sx);
    y->attr_i[0] = a;
    y->ndim = x->ndim;
    memcpy(y->dims, s->dims, sizeof y->dims);
    return take_indices(t, y, fn, x->dims[a], what);
}

/* The 4-D walk of gather: y (the index's shape) padded with leading 1s, x's
 * strides along the same dimensions, and the axis among them. */
typedef struct gather_walk {
    size_t d[4], xs[4], axis;
} gather_walk;

static gather_walk gather_plan(const ad_node *x, const ad_node *y)
{
    gather_walk w;
    size_t pad = 4 - (size_t)x->ndim, run = 1;
    for (size_t d = 4; d-- > 0;) {
        w.d[d] = d < pad ? 1 : y->dims[d - pad];
        w.xs[d] = d < pad ? 0 : run;
        run *= d < pad ? 1 : x->dims[d - pad];
    }
    w.axis = (size_t)y->attr_i[0] + pad;
    return w;
}

/* Runs BODY with q the flat index into y (and the index array) and xi the
 * flat index into x of the element it takes. base is the offset of the
 * three outer coordinates off the axis, so the inner loop adds the index
 * (and, when the axis is not the last, the inner coordinate). */
#define GATHER_EACH(w, idx, BODY)                                                                  \
    do {                                                                                           \
        const size_t sa_ = (w).xs[(w).axis], s3_ = (w).axis == 3 ? 0 : (w).xs[3];                  \
        size_t p = 0;                                                                              \
        for (size_t c0_ = 0; c0_ < (w).d[0]; c0_++)                                                \
            for (size_t c1_ = 0; c1_ < (w).d[1]; c1_++)                                            \
                for (size_t c2_ = 0; c2_ < (w).d[2]; c2_++, p += (w).d[3]) {                       \
                    const size_t base_ = ((w).axis == 0 ? 0 : c0_ * (w).xs[0]) +                   \
                                         ((w).axis == 1 ? 0 : c1_ * (w).xs[1]) +                   \
                                         ((w).axis == 2 ? 0 : c2_ * (w).xs[2]);                    \
                    const int64_t *ix_ = (idx) + p;                                                \
                    if (s3_ == 0) { /* along the last axis: a row of x */                          \
                        for (size_t c3_ = 0; c3_ < (w).d[3]; c3_++) {                              \
                            const size_t xi = base_ + (size_t)ix_[c3_], q = p + c3_;               \
                            BODY;                                                                  \
                        }                                                                          \
                        continue;                                                                  \
                    }                                                                              \
                    for (size_t c3_ = 0; c3_ < (w).d[3]; c3_++) {                                  \
                        const size_t xi = base_ + c3_ * s3_ + (size_t)ix_[c3_] * sa_;              \
                        const size_t q = p + c3_;                                                  \
                        BODY;                                                                      \
                    }                                                                              \
                }                                                                                  \
    } while (0)

void ad_gather_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    const idx_spec *s = y->ctx;
    gather_walk w = gather_plan(x, y);
    if (y->dtype == AD_F32) {
        const float *xv = x->value;
        float *yv = y->value;
        GATHER_EACH(w, s->idx, yv[q] = xv[xi]);
    } else {
        const double *xv = x->value;
        double *yv = y->value;
        GATHER_EACH(w, s->idx, yv[q] = xv[xi]);
    }
}

/* dy[p] / dx[xi(p)] = 1: scatter-add, repeated targets accumulate. */
void ad_gather_backward(ad_tape *t, ad_node *y)
{
    void *gxv = ad_input_grad(t, y, 0);
    if (!gxv) return;
    const ad_node *x = ad_node_input(t, y, 0);
    const idx_spec *s = y->ctx;
    gather_walk w = gather_plan(x, y);
    if (y->dtype == AD_F32) {
        const float *gy = y->grad;
        float *gx = gxv;
        GATHER_EACH(w, s->idx, gx[xi] += gy[q]);
    } else {
        const double *gy = y->grad;
        double *gx = gxv;
        GATHER_EACH(w, s->idx, gx[xi] += gy[q]);
    }
}

ad_tensor ad_gather(ad_tensor x, int axis, const int64_t *idx, size_t ndim, const size_t *dims)
{
    idx_spec s = {idx, 0, ndim, {0}, !dims};
    if (dims && ndim <= AD_MAX_DIMS) {
        memcpy(s.dims, dims, ndim * sizeof *dims);
        s.n = count_of(ndim, dims);
    }
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, &s};
    return ad_op_record(__func__, AD_OP_GATHER, &x, 1, &at);
}

/* ---- one_hot: a constant, dims + [classes], 1 at each index's class */

ad_tensor ad_one_hot(ad_tape *t, ad_dtype dt, const int64_t *idx, size_t ndim, const size_t *dims,
                     size_t classes)
{
    const char *fn = __func__;
    if (!t) {
        ad_no_tape("%s: the tape is NULL", fn);
        return ad_invalid_tensor(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_tensor(t);
    idx_spec s = {idx, 0, ndim, {0}, !dims};
    if (!index_shape_ok(t, fn, &s)) return ad_invalid_tensor(t);
    size_t od[AD_MAX_DIMS];
    memcpy(od, dims, ndim * sizeof *dims);
    od[ndim] = classes;
    s.n = count_of(ndim, dims);
    if (s.n >= SIZE_MAX / 16) {
        char si[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID, "%s: index shape %s is too large", fn,
                     ad_shape_str(ndim, dims, si));
        return ad_invalid_tensor(t);
    }
    if (!idx && s.n) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: the index array is NULL", fn);
        return ad_invalid_tensor(t);
    }
    for (size_t k = 0; k < s.n; k++)
        if (idx[k] < 0 || (uint64_t)idx[k] >= classes) {
            ad_tape_fail(t, AD_ERR_INVALID,
                         "%s: index %" PRId64 " (position %zu) is out of range [0, %zu) classes",
                         fn, idx[k], k, classes);
            return ad_invalid_tensor(t);
        }
    ad_tensor h = ad_leaf_new(t, fn, dt, ndim + 1, od, NULL, false);
    if (!ad_tensor_ok(h)) return h;
    void *v = t->nodes[h.index_].value;
    for (size_t k = 0; k < s.n; k++) {
        size_t at = k * classes + (size_t)idx[k];
        if (dt == AD_F32)
            ((float *)v)[at] = 1.0f;
        else
            ((double *)v)[at] = 1.0;
    }
    return h;
}
