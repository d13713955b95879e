/* SPDX-License-Identifier: MIT
 * Leaves, and the bridges between scalar records and tensor nodes:
 * a tensor element becomes a scalar leaf whose adjoint a sink node carries
 * back into the tensor; scalars stacked into a tensor send the tensor's
 * gradient back into their adjoints. */
#include "ops.h"

#include "core/alloc.h"
#include "core/last_error.h"

#include <string.h>

/* ---- to_scalar: x [..] -> scalar leaf s; the node itself is empty ([0]).
 * attr_i[0] = element index, attr_i[1] = the scalar record of s. It is made
 * right after s, so the sweep reaches it only once every use of s is swept.
 * Its gradient is s's adjoint: the sweep runs it only when that is nonzero,
 * so an element read out for logging passes nothing (not zeros, which unused
 * rules with infinite partials would turn into NaN). */

bool ad_shape_to_scalar(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    if ((size_t)y->attr_i[0] >= x->numel) {
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID, "%s: element %lld out of range for shape %s", fn,
                     (long long)y->attr_i[0], ad_shape_str(x->ndim, x->dims, s));
        return false;
    }
    y->ndim = 1;
    y->dims[0] = 0;
    return true;
}

void ad_tensor_to_scalar_forward(ad_tape *t, ad_node *y)
{
    (void)t;
    y->grad_from_scalar = 1;
}

/* d s / d x[i] = 1 */
void ad_tensor_to_scalar_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    size_t i = (size_t)y->attr_i[0];
    double g = t->hot.adj[y->attr_i[1]];
    if (y->dtype == AD_F32)
        ((float *)gx)[i] += (float)g;
    else
        ((double *)gx)[i] += g;
}

ad_scalar ad_tensor_to_scalar(ad_tensor x, size_t i)
{
    const char *fn = __func__;
    ad_tape *t = x.tape_;
    ad_node *n = ad_tensor_node(x, fn);
    if (!n) return ad_invalid_scalar(t);
    if (i >= n->numel) {
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID, "%s: element %zu out of range for shape %s", fn, i,
                     ad_shape_str(n->ndim, n->dims, s));
        return ad_invalid_scalar(t);
    }
    double v =
        n->dtype == AD_F32 ? (double)((const float *)n->value)[i] : ((const double *)n->value)[i];
    if (!n->needs_grad || !t->recording) { /* no record: a constant, or a value without gradient */
        ad_scalar c = ad_constant(t, v);
        if (n->needs_grad || n->unrecorded) c.index_ = AD_UNRECORDED;
        return c;
    }
    ad_scalar s = ad_scalar_leaf(t, v, fn);
    if (!ad_scalar_ok(s)) return s;
    ad_op_attrs at = {{0, 0}, {(int64_t)i, (int64_t)s.index_, 0, 0}, NULL};
    ad_tensor b = ad_op_record(fn, AD_OP_TO_SCALAR, &x, 1, &at);
    if (!ad_tensor_ok(b)) return ad_invalid_scalar(t);
    return s;
}

ad_scalar ad_tensor_item(ad_tensor x)
{
    ad_tape *t = x.tape_;
    ad_node *n = ad_tensor_node(x, "ad_tensor_item");
    if (!n) return ad_invalid_scalar(t);
    if (n->numel != 1) {
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_SHAPE, "ad_tensor_item: shape %s has %zu elements, not one",
                     ad_shape_str(n->ndim, n->dims, s), n->numel);
        return ad_invalid_scalar(t);
    }
    return ad_tensor_to_scalar(x, 0);
}

/* ---- stack: n scalars -> float64 tensor. A stack has no tensor inputs; a
 * one-element constant leaf stands in as input 0 so it has a tape and a
 * dtype. ctx keeps the scalar record indices (0 for constants) for the
 * backward rule, and, while recording only, the handles for the values. */

typedef struct stack_ctx {
    uint32_t *idx;
    const ad_scalar *xs; /* valid only during ad_stack_scalars */
    size_t ndim;
    size_t dims[AD_MAX_DIMS];
} stack_ctx;

bool ad_shape_stack(ad_tape *t, ad_node *y, const char *fn)
{
    (void)t;
    (void)fn;
    const stack_ctx *c = y->ctx;
    y->dtype = AD_F64;
    y->ndim = (uint8_t)c->ndim;
    memcpy(y->dims, c->dims, sizeof y->dims);
    return true;
}

void ad_stack_scalars_forward(ad_tape *t, ad_node *y)
{
    (void)t;
    stack_ctx *c = y->ctx;
    double *v = y->value;
    for (size_t i = 0; i < y->numel; i++)
        v[i] = c->xs[i].value_;
    c->xs = NULL;
}

/* d y[i] / d s_i = 1 */
void ad_stack_scalars_backward(ad_tape *t, ad_node *y)
{
    const stack_ctx *c = y->ctx;
    const double *g = y->grad;
    for (size_t i = 0; i < y->numel; i++)
        t->hot.adj[c->idx[i]] += g[i];
}

const uint32_t *ad_stack_scalars_inputs(const ad_node *y)
{
    return ((const stack_ctx *)y->ctx)->idx;
}

ad_tensor ad_stack_scalars(const ad_scalar *xs, size_t n, size_t ndim, const size_t *dims)
{
    const char *fn = __func__;
    /* without a scalar that has a tape there is no tape to fail: the reason
     * goes to ad_last_error (a zeroed scalar among others is reported on
     * their tape by the loop below) */
    if (n == 0 || !xs) {
        ad_last_error_set("%s: %s", fn,
                          n == 0 ? "no scalars (n is 0), so no tape to record on" : "xs is NULL");
        return ad_invalid_tensor(NULL);
    }
    ad_tape *t = NULL;
    for (size_t i = 0; i < n && !t; i++)
        t = xs[i].tape_;
    if (!t) {
        ad_last_error_set("%s: none of the %zu scalars has a tape (zero-initialised handles?)", fn,
                          n);
        return ad_invalid_tensor(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_tensor(t);
    if (!dims || ndim < 1 || ndim > AD_MAX_DIMS) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: %zu dimensions; tensors have 1 to %d", fn, ndim,
                     AD_MAX_DIMS);
        return ad_invalid_tensor(t);
    }
    size_t numel = 1;
    for (size_t d = 0; d < ndim; d++)
        numel = ad_mul_size(numel, dims[d]);
    if (numel != n) {
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: %zu scalars do not fill shape %s", fn, n,
                     ad_shape_str(ndim, dims, s));
        return ad_invalid_tensor(t);
    }
    bool needs_grad = false, lost = false;
    for (size_t i = 0; i < n; i++) {
        const ad_scalar *x = &xs[i];
        if (!x->tape_) {
            ad_tape_fail(t, AD_ERR_INVALID,
                         "%s: scalar %zu is not a scalar handle (no tape: zero-initialised?)", fn,
                         i);
            return ad_invalid_tensor(t);
        }
        if (x->tape_ != t) {
            ad_tape_fail(t, AD_ERR_FOREIGN, "%s: scalar %zu belongs to a different tape", fn, i);
            return ad_invalid_tensor(t);
        }
        if (x->index_ == AD_INVALID_INDEX || x->gen_ == 0) {
            ad_tape_fail(t, AD_ERR_INVALID, "%s: scalar %zu is invalid", fn, i);
            return ad_invalid_tensor(t);
        }
        if ((x->gen_ & AD_GEN_MASK_) != t->hot.gen) {
            ad_tape_fail(t, AD_ERR_STALE, "%s: scalar %zu was recorded before the last reset", fn,
                         i);
            return ad_invalid_tensor(t);
        }
        needs_grad |= x->index_ >= AD_DUMMIES_;
        lost |= x->index_ != 0 && x->index_ < AD_DUMMIES_; /* computed with recording off */
    }
    ad_tensor anchor = ad_leaf_new(t, fn, AD_F64, 1, (size_t[]){1}, NULL, false);
    stack_ctx *c = ad_tape_alloc(t, sizeof *c, fn);
    uint32_t *idx = ad_tape_alloc(t, n * sizeof *idx, fn);
    if (!ad_tensor_ok(anchor) || !c || !idx) return ad_invalid_tensor(t);
    /* a folded scalar gets a record of its own first (ad_keep), so the
     * backward rule adds plain adjoints and export sees every input */
    for (size_t i = 0; i < n; i++) {
        ad_scalar kept = ad_keep(xs[i]);
        if (!ad_scalar_ok(kept)) return ad_invalid_tensor(t);
        idx[i] = kept.index_;
    }
    c->idx = idx;
    c->xs = xs;
    c->ndim = ndim;
    memset(c->dims, 0, sizeof c->dims);
    memcpy(c->dims, dims, ndim * sizeof *dims);
    ad_op_attrs at = {{0, 0}, {0, 0, 0, 0}, c};
    ad_tensor y = ad_op_record(fn, AD_OP_STACK, &anchor, 1, &at);
    if (ad_tensor_ok(y)) ad_node_set_grad(t, &t->nodes[y.index_], needs_grad, lost);
    return y;
}
