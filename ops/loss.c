/* SPDX-License-Identifier: MIT
 * Losses: each reduces a prediction and a target to a [1] tensor averaged
 * over the batch. B is dims[0] of a 2-D or larger input; a 1-D input is one
 * sample (B = 1). N is the element count.
 * Empty inputs follow IEEE rather than inventing a value: a mean over zero
 * terms is 0/0 = NaN (mse and bce when N = 0, half_sse and cross-entropy
 * when B = 0), and the gradient, having no elements, is empty. */
#include "ops.h"

#include "kernels/vmath.h"

#include <math.h>
#include <string.h>

static size_t batch_of(const ad_node *x)
{
    return x->ndim >= 2 ? x->dims[0] : 1;
}

/* mse, half_sse, bce: prediction [..] and target of exactly its shape -> [1] */
bool ad_shape_pair(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *a = ad_node_input(t, y, 0), *b = ad_node_input(t, y, 1);
    bool same = a->ndim == b->ndim;
    for (size_t d = 0; same && d < a->ndim; d++)
        same = a->dims[d] == b->dims[d];
    if (!same) {
        char sa[AD_SHAPE_STR], sb[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: target shape %s differs from prediction shape %s", fn,
                     ad_shape_str(b->ndim, b->dims, sb), ad_shape_str(a->ndim, a->dims, sa));
        return false;
    }
    y->ndim = 1;
    y->dims[0] = 1;
    return true;
}

#define CHUNK 256 /* elements per stack buffer of the vector kernels */

/* The sums and gradients of every loss for each dtype (loss_tmpl.h). */
#define T   float
#define SUF f32
#define LOG logf
#include "loss_tmpl.h"
#define T   double
#define SUF f64
#define LOG log
#include "loss_tmpl.h"

/* c in y = c sum (a - b)^2: mse has c = 1/N, half_sse c = 1/(2B). */
static double sq_coef(const ad_node *y, const ad_node *a)
{
    return y->op == AD_OP_MSE ? 1.0 / (double)a->numel : 0.5 / (double)batch_of(a);
}

static void sq_forward(ad_tape *t, ad_node *y)
{
    const ad_node *a = ad_node_input(t, y, 0), *b = ad_node_input(t, y, 1);
    double c = sq_coef(y, a);
    if (y->dtype == AD_F32)
        ((float *)y->value)[0] = (float)(c * sq_sum_float(a->value, b->value, a->numel));
    else
        ((double *)y->value)[0] = c * sq_sum_double(a->value, b->value, a->numel);
}

static void sq_backward(ad_tape *t, ad_node *y)
{
    const ad_node *a = ad_node_input(t, y, 0), *b = ad_node_input(t, y, 1);
    void *ga = ad_input_grad(t, y, 0), *gb = ad_input_grad(t, y, 1);
    double c = sq_coef(y, a);
    if (y->dtype == AD_F32) {
        float c2 = (float)(2.0 * c) * ((const float *)y->grad)[0];
        sq_backward_float(a->value, b->value, c2, ga, gb, a->numel);
    } else {
        double c2 = 2.0 * c * ((const double *)y->grad)[0];
        sq_backward_double(a->value, b->value, c2, ga, gb, a->numel);
    }
}

void ad_mse_loss_forward(ad_tape *t, ad_node *y)
{
    sq_forward(t, y);
}

void ad_mse_loss_backward(ad_tape *t, ad_node *y)
{
    sq_backward(t, y);
}

ad_tensor ad_mse_loss(ad_tensor y, ad_tensor target)
{
    ad_tensor ins[2] = {y, target};
    return ad_op_record(__func__, AD_OP_MSE, ins, 2, NULL);
}

void ad_half_sse_loss_forward(ad_tape *t, ad_node *y)
{
    sq_forward(t, y);
}

void ad_half_sse_loss_backward(ad_tape *t, ad_node *y)
{
    sq_backward(t, y);
}

ad_tensor ad_half_sse_loss(ad_tensor y, ad_tensor target)
{
    ad_tensor ins[2] = {y, target};
    return ad_op_record(__func__, AD_OP_HALF_SSE, ins, 2, NULL);
}

/* ---- bce_with_logits: l = softplus(z) - z t, softplus(z) = max(z,0) +
 * log1p(exp(-|z|)) (the vector kernel's form), which equals
 * softplus(z) - z t = -t log s(z) - (1-t) log(1-s(z)) without overflowing
 * exp for large |z| or taking log of a rounded-to-0 sigmoid. */

void ad_bce_with_logits_forward(ad_tape *t, ad_node *y)
{
    const ad_node *z = ad_node_input(t, y, 0), *tg = ad_node_input(t, y, 1);
    double c = 1.0 / (double)z->numel;
    if (y->dtype == AD_F32)
        ((float *)y->value)[0] = (float)(c * bce_sum_float(z->value, tg->value, z->numel));
    else
        ((double *)y->value)[0] = c * bce_sum_double(z->value, tg->value, z->numel);
}

void ad_bce_with_logits_backward(ad_tape *t, ad_node *y)
{
    const ad_node *z = ad_node_input(t, y, 0), *tg = ad_node_input(t, y, 1);
    void *gz = ad_input_grad(t, y, 0), *gt = ad_input_grad(t, y, 1);
    double c = 1.0 / (double)z->numel;
    if (y->dtype == AD_F32) {
        float cg = (float)c * ((const float *)y->grad)[0];
        bce_backward_float(z->value, tg->value, cg, gz, gt, z->numel);
    } else {
        double cg = c * ((const double *)y->grad)[0];
        bce_backward_double(z->value, tg->value, cg, gz, gt, z->numel);
    }
}

ad_tensor ad_bce_with_logits(ad_tensor logits, ad_tensor target)
{
    ad_tensor ins[2] = {logits, target};
    return ad_op_record(__func__, AD_OP_BCE_LOGITS, ins, 2, NULL);
}

/* ---- softmax_cross_entropy: z [B,C] (or [C], B = 1), labels (ctx) ->
 * [1] = (1/B) sum_b (lse(z_b) - z_b[label_b]). The forward keeps the row
 * softmax p so the backward is one fused pass, dz = g (p - onehot) / B,
 * instead of a chain of primitives. attr_i[0] = n (the label count). */

typedef struct ce_ctx {
    const int32_t *labels; /* n labels, copied into tape memory */
    void *prob;            /* [B,C] row softmax, written by the forward when needed */
} ce_ctx;

bool ad_shape_ce(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *z = ad_node_input(t, y, 0);
    const ce_ctx *c = y->ctx;
    char s[AD_SHAPE_STR];
    if (z->ndim > 2) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: logits must be [B,C] or [C], got %s", fn,
                     ad_shape_str(z->ndim, z->dims, s));
        return false;
    }
    size_t B = batch_of(z), C = z->dims[z->ndim - 1], n = (size_t)y->attr_i[0];
    if (n != B) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: %zu labels for a batch of %zu (logits %s)", fn, n, B,
                     ad_shape_str(z->ndim, z->dims, s));
        return false;
    }
    for (size_t b = 0; b < B; b++) {
        int32_t k = c->labels[b];
        if (k < 0 || (size_t)k >= C) {
            ad_tape_fail(t, AD_ERR_INVALID,
                         "%s: label %d in row %zu is out of range for %zu classes", fn, (int)k, b,
                         C);
            return false;
        }
    }
    y->ndim = 1;
    y->dims[0] = 1;
    return true;
}

void ad_softmax_cross_entropy_forward(ad_tape *t, ad_node *y)
{
    const ad_node *z = ad_node_input(t, y, 0);
    ce_ctx *c = y->ctx;
    size_t B = batch_of(z), C = z->dims[z->ndim - 1];
    c->prob = NULL;
    if (y->needs_grad) { /* only a sweep reads p */
        c->prob = ad_tape_alloc(t, z->numel * ad_dtype_size((ad_dtype)y->dtype),
                                "ad_softmax_cross_entropy");
        if (!c->prob) return;
    }
    double inv_b = 1.0 / (double)B;
    if (y->dtype == AD_F32)
        ((float *)y->value)[0] = (float)(inv_b * ce_sum_float(z->value, c->labels, c->prob, B, C));
    else
        ((double *)y->value)[0] = inv_b * ce_sum_double(z->value, c->labels, c->prob, B, C);
}

void ad_softmax_cross_entropy_backward(ad_tape *t, ad_node *y)
{
    void *gz = ad_input_grad(t, y, 0);
    if (!gz) return;
    const ad_node *z = ad_node_input(t, y, 0);
    const ce_ctx *c = y->ctx;
    size_t B = batch_of(z), C = z->dims[z->ndim - 1];
    double inv_b = 1.0 / (double)B;
    if (y->dtype == AD_F32) {
        float cg = (float)inv_b * ((const float *)y->grad)[0];
        ce_backward_float(c->prob, c->labels, cg, gz, B, C);
    } else {
        double cg = inv_b * ((const double *)y->grad)[0];
        ce_backward_double(c->prob, c->labels, cg, gz, B, C);
    }
}

ad_tensor ad_softmax_cross_entropy(ad_tensor logits, const int32_t *labels, size_t n)
{
    const char *fn = __func__;
    ad_tape *t = logits.tape_;
    ad_node *z = ad_tensor_node(logits, fn);
    if (!z) return ad_invalid_tensor(t);
    if (!labels && n > 0) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: labels is NULL", fn);
        return ad_invalid_tensor(t);
    }
    /* Copy only as many labels as the shape rule will read: a count that does
     * not match the batch fails there, with the shape in the message. */
    size_t keep = z->ndim <= 2 && n == batch_of(z) ? n : 0;
    ce_ctx *c = ad_tape_alloc(t, sizeof *c, fn);
    int32_t *lab = ad_tape_alloc(t, keep * sizeof *lab, fn);
    if (!c || !lab) return ad_invalid_tensor(t);
    if (keep) memcpy(lab, labels, keep * sizeof *lab);
    c->labels = lab;
    c->prob = NULL;
    ad_op_attrs at = {{0, 0}, {(int64_t)n, 0, 0, 0}, c};
    return ad_op_record(fn, AD_OP_SOFTMAX_CE, &logits, 1, &at);
}
