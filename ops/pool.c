/* SPDX-License-Identifier: MIT
 * Pooling, NCHW: max_pool2d and avg_pool2d over windows (kernel, stride,
 * padding), and global average pooling to [N,C]. max_pool2d keeps the
 * index of each window's winner for its backward. */
#include "ops.h"

#include <stdint.h>
#include <string.h>

/* The geometry a pooling node is recorded with (its ctx); the forward of
 * max_pool2d adds the winners' indices. */
typedef struct pool_geom {
    size_t kernel[2], stride[2], pad[2];
    bool exclude;
    uint32_t *arg; /* max_pool2d: per output element, the flat index in its plane */
} pool_geom;

typedef struct pool_dims {
    size_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
    bool exclude;
} pool_dims;

/* Windows and strides past this are refused: index arithmetic stays exact. */
#define POOL_MAX ((size_t)1 << 24)

/* The input rows [*i0, *i1) of output row o: o s - p .. o s - p + k, cut to
 * the input [0, n). The shape rule keeps it nonempty (p <= k / 2). */
static void pool_window(size_t o, size_t s, size_t p, size_t k, size_t n, size_t *i0, size_t *i1)
{
    size_t a = o * s, b = o * s + k;
    *i0 = a > p ? a - p : 0;
    *i1 = b - p < n ? b - p : n;
}

static pool_dims pool_dims_of(const ad_tape *t, const ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    const pool_geom *q = y->ctx;
    pool_dims d = {x->dims[0] * x->dims[1],
                   x->dims[2],
                   x->dims[3],
                   y->dims[2],
                   y->dims[3],
                   q->kernel[0],
                   q->kernel[1],
                   q->stride[0],
                   q->stride[1],
                   q->pad[0],
                   q->pad[1],
                   q->exclude};
    return d;
}

#define T   float
#define SUF f32
#include "pool_tmpl.h"
#undef T
#undef SUF

#define T   double
#define SUF f64
#include "pool_tmpl.h"
#undef T
#undef SUF

#define POOL_FAIL(code, ...)                                                                       \
    do {                                                                                           \
        ad_tape_fail(t, code, __VA_ARGS__);                                                        \
        return false;                                                                              \
    } while (0)

bool ad_shape_pool(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    const pool_geom *q = y->ctx;
    char s[AD_SHAPE_STR];
    ad_shape_str(x->ndim, x->dims, s);
    if (x->ndim != 4) POOL_FAIL(AD_ERR_SHAPE, "%s: x must be [N,C,H,W], got %s", fn, s);
    if (x->dims[2] == 0 || x->dims[3] == 0)
        POOL_FAIL(AD_ERR_SHAPE, "%s: x %s has empty planes: no window to pool", fn, s);
    if (x->dims[2] * x->dims[3] > UINT32_MAX)
        POOL_FAIL(AD_ERR_SHAPE, "%s: planes of x %s have over %u elements", fn, s, UINT32_MAX);
    static const char *const axis[2] = {"height", "width"};
    for (size_t a = 0; a < 2; a++) {
        size_t k = q->kernel[a], st = q->stride[a], p = q->pad[a], in = x->dims[2 + a];
        if (k == 0 || k > POOL_MAX)
            POOL_FAIL(AD_ERR_INVALID, "%s: kernel %s %zu is not in 1 .. %zu", fn, axis[a], k,
                      POOL_MAX);
        if (st == 0 || st > POOL_MAX)
            POOL_FAIL(AD_ERR_INVALID, "%s: stride %s %zu is not in 1 .. %zu", fn, axis[a], st,
                      POOL_MAX);
        if (p > k / 2)
            POOL_FAIL(AD_ERR_INVALID,
                      "%s: padding %s %zu is over half the kernel %zu (at most %zu)", fn, axis[a],
                      p, k, k / 2);
        if (k > in + 2 * p)
            POOL_FAIL(AD_ERR_SHAPE,
                      "%s: kernel %s %zu is larger than the padded input %zu (x %s, padding %zu)",
                      fn, axis[a], k, in + 2 * p, s, p);
        y->dims[2 + a] = (in + 2 * p - k) / st + 1;
    }
    y->ndim = 4;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    return true;
}

void ad_max_pool2d_forward(ad_tape *t, ad_node *y)
{
    pool_geom *q = y->ctx;
    pool_dims d = pool_dims_of(t, y);
    q->arg = ad_tape_alloc(t, y->numel * sizeof *q->arg, "ad_max_pool2d");
    if (!q->arg) return;
    const void *x = ad_node_input(t, y, 0)->value;
    if (y->dtype == AD_F32)
        max_fwd_f32(&d, x, y->value, q->arg);
    else
        max_fwd_f64(&d, x, y->value, q->arg);
}

/* d y / d x = 1 at the window's winner, 0 elsewhere. */
void ad_max_pool2d_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    const pool_geom *q = y->ctx;
    pool_dims d = pool_dims_of(t, y);
    if (y->dtype == AD_F32)
        max_bwd_f32(&d, q->arg, y->grad, gx);
    else
        max_bwd_f64(&d, q->arg, y->grad, gx);
}

void ad_avg_pool2d_forward(ad_tape *t, ad_node *y)
{
    pool_dims d = pool_dims_of(t, y);
    const void *x = ad_node_input(t, y, 0)->value;
    if (y->dtype == AD_F32)
        avg_fwd_f32(&d, x, y->value);
    else
        avg_fwd_f64(&d, x, y->value);
}

void ad_avg_pool2d_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    pool_dims d = pool_dims_of(t, y);
    if (y->dtype == AD_F32)
        avg_bwd_f32(&d, y->grad, gx);
    else
        avg_bwd_f64(&d, y->grad, gx);
}

static ad_tensor pool_record(const char *fn, uint16_t op, ad_tensor x, const ad_pool_opts *opts)
{
    ad_tape *t = x.tape_;
    if (t && t->err != AD_OK) return ad_invalid_tensor(t);
    if (t && !opts) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: opts is NULL (the kernel size is needed)", fn);
        return ad_invalid_tensor(t);
    }
    pool_geom *q = t ? ad_tape_alloc(t, sizeof *q, fn) : NULL;
    if (t && !q) return ad_invalid_tensor(t);
    if (q) {
        memcpy(q->kernel, opts->kernel, sizeof q->kernel);
        memcpy(q->stride, opts->stride, sizeof q->stride);
        memcpy(q->pad, opts->padding, sizeof q->pad);
        q->exclude = opts->exclude_padding;
        q->arg = NULL;
    }
    ad_op_attrs at = {{0, 0}, {0, 0, 0, 0}, q};
    return ad_op_record(fn, op, &x, 1, &at);
}

ad_tensor ad_max_pool2d(ad_tensor x, const ad_pool_opts *opts)
{
    return pool_record(__func__, AD_OP_MAX_POOL2D, x, opts);
}

ad_tensor ad_avg_pool2d(ad_tensor x, const ad_pool_opts *opts)
{
    return pool_record(__func__, AD_OP_AVG_POOL2D, x, opts);
}

/* ---- global_avg_pool2d: x [N,C,H,W] -> [N,C], the mean of each plane. */

bool ad_shape_global_pool(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    char s[AD_SHAPE_STR];
    if (x->ndim != 4) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: x must be [N,C,H,W], got %s", fn,
                     ad_shape_str(x->ndim, x->dims, s));
        return false;
    }
    if (x->dims[2] == 0 || x->dims[3] == 0) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: x %s has empty planes: no mean", fn,
                     ad_shape_str(x->ndim, x->dims, s));
        return false;
    }
    y->ndim = 2;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    return true;
}

void ad_global_avg_pool2d_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    size_t hw = x->dims[2] * x->dims[3];
    if (y->dtype == AD_F32)
        gap_fwd_f32(y->numel, hw, x->value, y->value);
    else
        gap_fwd_f64(y->numel, hw, x->value, y->value);
}

void ad_global_avg_pool2d_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    const ad_node *x = ad_node_input(t, y, 0);
    size_t hw = x->dims[2] * x->dims[3];
    if (y->dtype == AD_F32)
        gap_bwd_f32(y->numel, hw, y->grad, gx);
    else
        gap_bwd_f64(y->numel, hw, y->grad, gx);
}

ad_tensor ad_global_avg_pool2d(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_GLOBAL_AVG_POOL2D, &x, 1, NULL);
}
