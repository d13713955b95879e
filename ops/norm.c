/* SPDX-License-Identifier: MIT
 * Normalisation: layer_norm over the last k dims and batch_norm over the
 * channels of [N,C] or [N,C,...] inputs, each with an optional affine
 * weight and bias (the node's inputs are x, then the weight and the bias
 * that are given; attr_i[1] says which). The forwards save (mean, rstd) per
 * row or channel in the node's ctx, so the fused backwards read them
 * instead of recomputing the statistics. */
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define T   float
#define SUF f32
#include "norm_tmpl.h"
#define T   double
#define SUF f64
#include "norm_tmpl.h"

enum { HAS_WEIGHT = 1, HAS_BIAS = 2 };

/* An absent optional operand is a handle without a tape (AD_TENSOR_NONE or
 * a zeroed one); a failed op's invalid handle names its tape, so it counts
 * as given and its tape's error stops the op. */
static bool given(ad_tensor h)
{
    return h.tape_ != NULL;
}

/* x, then the weight and bias that are given; their flags into *flags. */
static size_t affine_inputs(ad_tensor x, ad_tensor w, ad_tensor b, ad_tensor ins[3], int64_t *flags)
{
    size_t n = 0;
    ins[n++] = x;
    *flags = 0;
    if (given(w)) ins[n++] = w, *flags |= HAS_WEIGHT;
    if (given(b)) ins[n++] = b, *flags |= HAS_BIAS;
    return n;
}

/* The weight and bias nodes of y (NULL when absent). */
static void affine_of(ad_tape *t, const ad_node *y, const ad_node **w, const ad_node **b)
{
    size_t k = 1;
    *w = y->attr_i[1] & HAS_WEIGHT ? ad_node_input(t, y, k++) : NULL;
    *b = y->attr_i[1] & HAS_BIAS ? ad_node_input(t, y, k) : NULL;
}

static void *affine_grad(ad_tape *t, const ad_node *y, int64_t which)
{
    if (!(y->attr_i[1] & which)) return NULL;
    size_t k = which == HAS_BIAS && (y->attr_i[1] & HAS_WEIGHT) ? 2 : 1;
    return ad_input_grad(t, y, k);
}

static bool eps_ok(ad_tape *t, const char *fn, double eps)
{
    if (eps > 0 && isfinite(eps)) return true;
    ad_tape_fail(t, AD_ERR_INVALID, "%s: eps is %g; it must be > 0 and finite", fn, eps);
    return false;
}

/* Fails unless the affine operand (what: "weight", "bias") has shape
 * (nd, dims), named as `expect` ("the last 2 dims of x [3,4,5]"). */
static bool affine_shape_ok(ad_tape *t, const char *fn, const char *what, const ad_node *p,
                            size_t nd, const size_t *dims, const char *expect)
{
    if (!p || (p->ndim == nd && memcmp(p->dims, dims, nd * sizeof *dims) == 0)) return true;
    char sp[AD_SHAPE_STR], se[AD_SHAPE_STR];
    ad_tape_fail(t, AD_ERR_SHAPE, "%s: %s has shape %s; expected %s (%s)", fn, what,
                 ad_shape_str(p->ndim, p->dims, sp), ad_shape_str(nd, dims, se), expect);
    return false;
}

/* ---- layer_norm: attr_i[0] = k (dims normalised), attr_i[1] = flags, attr_f[0] = eps */

bool ad_shape_layer_norm(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0), *w, *b;
    affine_of(t, y, &w, &b);
    char sx[AD_SHAPE_STR];
    int64_t k = y->attr_i[0];
    if (k < 1 || k > (int64_t)x->ndim) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: k is %lld; x %s has %u dims, so k must be in [1, %u]",
                     fn, (long long)k, ad_shape_str(x->ndim, x->dims, sx), (unsigned)x->ndim,
                     (unsigned)x->ndim);
        return false;
    }
    if (!eps_ok(t, fn, y->attr_f[0])) return false;
    size_t nd = (size_t)k;
    const size_t *last = x->dims + x->ndim - nd;
    char expect[AD_SHAPE_STR + 40];
    snprintf(expect, sizeof expect, "the last %zu dims of x %s", nd,
             ad_shape_str(x->ndim, x->dims, sx));
    if (!affine_shape_ok(t, fn, "weight", w, nd, last, expect) ||
        !affine_shape_ok(t, fn, "bias", b, nd, last, expect))
        return false;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    return true;
}

/* rows x n: n is the product of the last k dims */
static size_t ln_row_len(const ad_node *x, int64_t k)
{
    size_t n = 1;
    for (size_t d = x->ndim - (size_t)k; d < x->ndim; d++)
        n *= x->dims[d];
    return n;
}

void ad_layer_norm_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0), *w, *b;
    affine_of(t, y, &w, &b);
    size_t n = ln_row_len(x, y->attr_i[0]), rows = n ? x->numel / n : 0;
    double *stats = ad_tape_alloc(t, (2 * rows + 2) * sizeof *stats, "ad_layer_norm");
    if (!stats) return; /* the tape has failed */
    y->ctx = stats;
    if (y->dtype == AD_F32)
        ln_forward_f32(x->value, w ? w->value : NULL, b ? b->value : NULL, y->value, stats, rows, n,
                       y->attr_f[0]);
    else
        ln_forward_f64(x->value, w ? w->value : NULL, b ? b->value : NULL, y->value, stats, rows, n,
                       y->attr_f[0]);
}

void ad_layer_norm_backward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0), *w, *b;
    affine_of(t, y, &w, &b);
    void *gx = ad_input_grad(t, y, 0), *gw = affine_grad(t, y, HAS_WEIGHT),
         *gb = affine_grad(t, y, HAS_BIAS);
    size_t n = ln_row_len(x, y->attr_i[0]), rows = n ? x->numel / n : 0;
    if (y->dtype == AD_F32)
        ln_backward_f32(x->value, w ? w->value : NULL, y->grad, y->ctx, gx, gw, gb, rows, n);
    else
        ln_backward_f64(x->value, w ? w->value : NULL, y->grad, y->ctx, gx, gw, gb, rows, n);
}

ad_tensor ad_layer_norm(ad_tensor x, size_t k, ad_tensor weight, ad_tensor bias, double eps)
{
    ad_tensor ins[3];
    ad_op_attrs at = {{eps, 0}, {k > INT64_MAX ? INT64_MAX : (int64_t)k, 0, 0, 0}, NULL};
    size_t n = affine_inputs(x, weight, bias, ins, &at.i[1]);
    return ad_op_record(__func__, AD_OP_LAYER_NORM, ins, n, &at);
}

/* ---- batch_norm: attr_i[1] = flags, attr_i[2] = training, attr_f = {eps, momentum}.
 * ctx: the running statistics (bn_running) while recording, then the saved
 * (mean, rstd) per channel. */

typedef struct bn_running {
    ad_param *mean, *var;
} bn_running;

/* x [N, C, S...] as (N, C, S) */
static void bn_dims(const ad_node *x, size_t *nb, size_t *c, size_t *s)
{
    *nb = x->dims[0], *c = x->dims[1], *s = 1;
    for (size_t d = 2; d < x->ndim; d++)
        *s *= x->dims[d];
}

static bool running_ok(ad_tape *t, const char *fn, const char *what, const ad_param *p,
                       const ad_node *x)
{
    char sp[AD_SHAPE_STR], sx[AD_SHAPE_STR];
    if (p->dtype != x->dtype) {
        ad_tape_fail(t, AD_ERR_DTYPE, "%s: %s is %s; x is %s", fn, what,
                     ad_dtype_name((ad_dtype)p->dtype), ad_dtype_name((ad_dtype)x->dtype));
        return false;
    }
    if (p->ndim != 1 || p->dims[0] != x->dims[1]) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: %s has shape %s; expected [%zu] (the channels of x %s)",
                     fn, what, ad_shape_str(p->ndim, p->dims, sp), x->dims[1],
                     ad_shape_str(x->ndim, x->dims, sx));
        return false;
    }
    return true;
}

bool ad_shape_batch_norm(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0), *w, *b;
    affine_of(t, y, &w, &b);
    const bn_running *run = y->ctx;
    char sx[AD_SHAPE_STR], expect[AD_SHAPE_STR + 40];
    if (x->ndim < 2) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: x must be [N,C] or [N,C,...], got %s", fn,
                     ad_shape_str(x->ndim, x->dims, sx));
        return false;
    }
    if (!eps_ok(t, fn, y->attr_f[0])) return false;
    double mom = y->attr_f[1];
    if (!(mom >= 0 && mom <= 1)) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: momentum is %g; it must be in [0, 1]", fn, mom);
        return false;
    }
    snprintf(expect, sizeof expect, "the channels of x %s", ad_shape_str(x->ndim, x->dims, sx));
    if (!affine_shape_ok(t, fn, "weight", w, 1, x->dims + 1, expect) ||
        !affine_shape_ok(t, fn, "bias", b, 1, x->dims + 1, expect))
        return false;
    if (!run->mean != !run->var) {
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: running_mean is %s but running_var is %s; give both or neither", fn,
                     run->mean ? "given" : "NULL", run->var ? "given" : "NULL");
        return false;
    }
    if (run->mean && (!running_ok(t, fn, "running_mean", run->mean, x) ||
                      !running_ok(t, fn, "running_var", run->var, x)))
        return false;
    size_t nb, c, s;
    bn_dims(x, &nb, &c, &s);
    if (y->attr_i[2]) {
        if (c > 0 && nb * s < 2) {
            ad_tape_fail(t, AD_ERR_INVALID,
                         "%s: training needs more than one value per channel, got %zu (x %s)", fn,
                         nb * s, sx);
            return false;
        }
    } else if (!run->mean) {
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: evaluation (training false) needs running_mean and running_var", fn);
        return false;
    }
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    return true;
}

/* PyTorch's update: running = (1 - momentum) running + momentum batch,
 * with the unbiased variance (m / (m - 1)) of the m values per channel. */
#define BN_UPDATE(TY)                                                                              \
    do {                                                                                           \
        TY *rm_ = run->mean->value, *rv_ = run->var->value;                                        \
        for (size_t ch_ = 0; ch_ < c; ch_++) {                                                     \
            rm_[ch_] = (TY)((1 - mom) * (double)rm_[ch_] + mom * mean[ch_]);                       \
            rv_[ch_] = (TY)((1 - mom) * (double)rv_[ch_] + mom * var[ch_] * unbias);               \
        }                                                                                          \
    } while (0)

#define BN_READ(TY)                                                                                \
    do {                                                                                           \
        const TY *rm_ = run->mean->value, *rv_ = run->var->value;                                  \
        for (size_t ch_ = 0; ch_ < c; ch_++)                                                       \
            mean[ch_] = (double)rm_[ch_], var[ch_] = (double)rv_[ch_];                             \
    } while (0)

void ad_batch_norm_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0), *w, *b;
    affine_of(t, y, &w, &b);
    const bn_running *run = y->ctx;
    size_t nb, c, s;
    bn_dims(x, &nb, &c, &s);
    double *stats = ad_tape_alloc(t, (4 * c + 4) * sizeof *stats, "ad_batch_norm");
    if (!stats) return; /* the tape has failed */
    double *mean = stats + 2 * c, *var = stats + 3 * c, mom = y->attr_f[1];
    bool f32 = y->dtype == AD_F32;
    if (y->attr_i[2]) {
        if (f32)
            bn_stats_f32(x->value, nb, c, s, mean, var);
        else
            bn_stats_f64(x->value, nb, c, s, mean, var);
        double m = (double)(nb * s), unbias = m / (m - 1);
        if (run->mean && f32)
            BN_UPDATE(float);
        else if (run->mean)
            BN_UPDATE(double);
    } else if (f32) {
        BN_READ(float);
    } else {
        BN_READ(double);
    }
    for (size_t ch = 0; ch < c; ch++) {
        stats[2 * ch] = mean[ch];
        stats[2 * ch + 1] = 1.0 / sqrt(var[ch] + y->attr_f[0]);
    }
    y->ctx = stats; /* the running parameters are not needed past this point */
    if (f32)
        bn_apply_f32(x->value, w ? w->value : NULL, b ? b->value : NULL, stats, y->value, nb, c, s);
    else
        bn_apply_f64(x->value, w ? w->value : NULL, b ? b->value : NULL, stats, y->value, nb, c, s);
}

void ad_batch_norm_backward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0), *w, *b;
    affine_of(t, y, &w, &b);
    void *gx = ad_input_grad(t, y, 0), *gw = affine_grad(t, y, HAS_WEIGHT),
         *gb = affine_grad(t, y, HAS_BIAS);
    size_t nb, c, s;
    bn_dims(x, &nb, &c, &s);
    bool training = y->attr_i[2] != 0;
    if (y->dtype == AD_F32)
        bn_backward_f32(x->value, w ? w->value : NULL, y->grad, y->ctx, gx, gw, gb, nb, c, s,
                        training);
    else
        bn_backward_f64(x->value, w ? w->value : NULL, y->grad, y->ctx, gx, gw, gb, nb, c, s,
                        training);
}

ad_tensor ad_batch_norm(ad_tensor x, ad_tensor weight, ad_tensor bias, ad_param *running_mean,
                        ad_param *running_var, bool training, double momentum, double eps)
{
    ad_tensor ins[3];
    bn_running run = {running_mean, running_var};
    ad_op_attrs at = {{eps, momentum}, {0, 0, training, 0}, &run};
    size_t n = affine_inputs(x, weight, bias, ins, &at.i[1]);
    return ad_op_record(__func__, AD_OP_BATCH_NORM, ins, n, &at);
}
