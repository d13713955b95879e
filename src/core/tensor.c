/* SPDX-License-Identifier: MIT
 * Tensor leaves (constants, variables, filled and random tensors) and the
 * accessors that hand values and gradients back to the user. */
#include "op.h"

#include "last_error.h"

#include <math.h>

/* Anomaly mode checks every value that enters the tape, leaves included:
 * the first NaN or Inf in a new leaf fails the tape where it was made (an op
 * that reads it later may hide it: relu(NaN) is 0). Like the ops' checks it
 * runs whether or not the tape records. The leaf stays on the failed tape,
 * so an exported graph shows where the value came in. */
static ad_tensor leaf_checked(ad_tape *t, const char *fn, ad_tensor h, bool variable)
{
    if (!ad_tensor_ok(h) || !t->anomaly) return h;
    if (ad_anomaly_check_leaf(t, fn, variable ? "variable" : "constant", h.index_)) return h;
    return ad_invalid_tensor(t);
}

ad_tensor ad_tensor_new(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims, const void *data)
{
    const char *fn = "ad_tensor_new";
    return leaf_checked(t, fn, ad_leaf_new(t, fn, dt, ndim, dims, data, false), false);
}

ad_tensor ad_tensor_variable(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims,
                             const void *data)
{
    const char *fn = "ad_tensor_variable";
    return leaf_checked(t, fn, ad_leaf_new(t, fn, dt, ndim, dims, data, true), true);
}

ad_tensor ad_tensor_zeros(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims)
{
    return ad_leaf_new(t, "ad_tensor_zeros", dt, ndim, dims, NULL, false);
}

static ad_tensor filled(ad_tape *t, const char *fn, ad_dtype dt, size_t ndim, const size_t *dims,
                        double value)
{
    ad_tensor h = ad_leaf_new(t, fn, dt, ndim, dims, NULL, false);
    if (!ad_tensor_ok(h)) return h;
    ad_node *n = &t->nodes[h.index_];
    for (size_t i = 0; i < n->numel; i++) {
        if (dt == AD_F32)
            ((float *)n->value)[i] = (float)value;
        else
            ((double *)n->value)[i] = value;
    }
    return leaf_checked(t, fn, h, false);
}

ad_tensor ad_tensor_ones(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims)
{
    return filled(t, "ad_tensor_ones", dt, ndim, dims, 1.0);
}

ad_tensor ad_tensor_fill(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims, double value)
{
    return filled(t, "ad_tensor_fill", dt, ndim, dims, value);
}

ad_tensor ad_tensor_uniform(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims, double lo,
                            double hi, uint64_t seed)
{
    const char *fn = "ad_tensor_uniform";
    ad_tensor h = ad_leaf_new(t, fn, dt, ndim, dims, NULL, false);
    if (!ad_tensor_ok(h)) return h;
    ad_node *n = &t->nodes[h.index_];
    ad_fill_uniform(n->value, dt, n->numel, lo, hi, seed);
    return leaf_checked(t, fn, h, false);
}

ad_tensor ad_tensor_normal(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims, double mean,
                           double std, uint64_t seed)
{
    const char *fn = "ad_tensor_normal";
    ad_tensor h = ad_leaf_new(t, fn, dt, ndim, dims, NULL, false);
    if (!ad_tensor_ok(h)) return h;
    ad_node *n = &t->nodes[h.index_];
    ad_fill_normal(n->value, dt, n->numel, mean, std, seed);
    return leaf_checked(t, fn, h, false);
}

bool ad_tensor_ok(ad_tensor x)
{
    return ad_handle_ok(x);
}

ad_tensor ad_tensor_invalid(ad_tape *t)
{
    return ad_invalid_tensor(t);
}

ad_tape *ad_tensor_tape(ad_tensor x)
{
    return x.tape_;
}

/* Accessors do not fail the tape: they answer "nothing" for a bad handle
 * (a handle with no tape leaves its message in ad_last_error). */
static const ad_node *peek(ad_tensor x, const char *fn)
{
    ad_tape *t = x.tape_;
    if (!t) {
        ad_no_tape("%s: the tensor handle has no tape (zero-initialised?)", fn);
        return NULL;
    }
    if (x.index_ == AD_INVALID_INDEX || x.gen_ != t->hot.gen || x.index_ >= t->nn) return NULL;
    return &t->nodes[x.index_];
}

ad_dtype ad_tensor_dtype(ad_tensor x)
{
    const ad_node *n = peek(x, "ad_tensor_dtype");
    return n ? (ad_dtype)n->dtype : AD_F32;
}

size_t ad_tensor_shape(ad_tensor x, size_t *dims)
{
    const ad_node *n = peek(x, "ad_tensor_shape");
    if (!n) return 0;
    if (dims)
        for (size_t i = 0; i < AD_MAX_DIMS; i++)
            dims[i] = i < n->ndim ? n->dims[i] : 1;
    return n->ndim;
}

size_t ad_tensor_numel(ad_tensor x)
{
    const ad_node *n = peek(x, "ad_tensor_numel");
    return n ? n->numel : 0;
}

const void *ad_tensor_data(ad_tensor x)
{
    const ad_node *n = peek(x, "ad_tensor_data");
    return n ? n->value : NULL;
}

const void *ad_tensor_grad(ad_tensor x)
{
    const ad_node *n = peek(x, "ad_tensor_grad");
    return n && n->needs_grad && ad_grad_live(x.tape_, n) ? n->grad : NULL;
}

double ad_tensor_get(ad_tensor x, size_t i)
{
    const ad_node *n = peek(x, "ad_tensor_get");
    if (!n || i >= n->numel) return (double)NAN;
    return n->dtype == AD_F32 ? (double)((const float *)n->value)[i]
                              : ((const double *)n->value)[i];
}
