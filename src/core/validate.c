/* SPDX-License-Identifier: MIT
 * Checks every op relies on: handles (invalid, stale, foreign), axes, shape
 * sizes, and anomaly mode's scan for NaN and Inf in values and gradients. */
#include "op.h"

#include "alloc.h"
#include "last_error.h"

#include <math.h>
#include <stdio.h>

ad_scalar ad_invalid_scalar(ad_tape *t)
{
    ad_scalar s = {t, AD_INVALID_INDEX, 0, (double)NAN, 0.0};
    return s;
}

ad_node *ad_tensor_node(ad_tensor x, const char *fn)
{
    ad_tape *t = x.tape_;
    if (!t) { /* no tape to fail */
        ad_no_tape("%s: the tensor handle has no tape (zero-initialised?)", fn);
        return NULL;
    }
    if (t->err != AD_OK) return NULL;
    if (x.index_ == AD_INVALID_INDEX || x.gen_ == 0) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: invalid tensor handle (the result of a failed op)",
                     fn);
        return NULL;
    }
    if (x.gen_ != t->hot.gen) {
        ad_tape_fail(t, AD_ERR_STALE,
                     "%s: tensor handle #%u was recorded before the last ad_tape_reset", fn,
                     x.index_);
        return NULL;
    }
    if (x.index_ >= t->nn) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: tensor handle #%u is not on this tape", fn, x.index_);
        return NULL;
    }
    return &t->nodes[x.index_];
}

int ad_axis_norm(ad_tape *t, const char *fn, int axis, const ad_node *x)
{
    int nd = (int)x->ndim;
    int a = axis < 0 ? axis + nd : axis;
    if (a < 0 || a >= nd) {
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID, "%s: axis %d out of range for shape %s", fn, axis,
                     ad_shape_str(x->ndim, x->dims, s));
        return -1;
    }
    return a;
}

size_t ad_shape_nonzero_product(size_t ndim, const size_t *dims)
{
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++)
        if (dims[i] != 0) n = ad_mul_size(n, dims[i]);
    return n;
}

/* Anomaly mode: the first non-finite element, or SIZE_MAX. */
static size_t first_nonfinite(const void *buf, ad_dtype dt, size_t n)
{
    if (dt == AD_F32) {
        const float *p = buf;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(p[i])) return i;
    } else {
        const double *p = buf;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(p[i])) return i;
    }
    return SIZE_MAX;
}

bool ad_anomaly_check_leaf(ad_tape *t, const char *fn, const char *what, size_t k)
{
    const ad_node *y = &t->nodes[k];
    size_t bad = first_nonfinite(y->value, (ad_dtype)y->dtype, y->numel);
    if (bad == SIZE_MAX) return true;
    double v = y->dtype == AD_F32 ? (double)((const float *)y->value)[bad]
                                  : ((const double *)y->value)[bad];
    char s[AD_SHAPE_STR];
    ad_tape_fail(t, AD_ERR_NUMERIC,
                 "%s: anomaly in the forward sweep: %s (node %zu, shape %s) has %g at element %zu",
                 fn, what, k, ad_shape_str(y->ndim, y->dims, s), v, bad);
    return false;
}

bool ad_anomaly_check(ad_tape *t, const ad_node *y, const void *buf, size_t n, bool backward)
{
    return ad_anomaly_check_dt(t, y, buf, (ad_dtype)y->dtype, n, backward);
}

bool ad_anomaly_check_dt(ad_tape *t, const ad_node *y, const void *buf, ad_dtype dt, size_t n,
                         bool backward)
{
    size_t bad = first_nonfinite(buf, dt, n);
    if (bad == SIZE_MAX) return true;
    char ins[4 * AD_SHAPE_STR] = "";
    size_t off = 0;
    for (size_t k = 0; k < y->n_in && k < 3; k++) {
        char s[AD_SHAPE_STR];
        const ad_node *x = ad_node_input(t, y, k);
        off += (size_t)snprintf(ins + off, sizeof ins - off, "%s%s", k ? " " : "",
                                ad_shape_str(x->ndim, x->dims, s));
    }
    double v = dt == AD_F32 ? (double)((const float *)buf)[bad] : ((const double *)buf)[bad];
    /* like every message, it starts with the public function that failed:
     * the op's own (ad_<name>, ad_custom_op for a named node) in the forward
     * sweep, ad_backward after it */
    ad_tape_fail(t, AD_ERR_NUMERIC,
                 "ad_%s: anomaly in the %s sweep: op %s (node %zu, inputs %s) produced %g at "
                 "element %zu",
                 backward   ? "backward"
                 : y->named ? "custom_op"
                            : ad_op_table[y->op]->name,
                 backward ? "backward" : "forward", ad_node_op_name(y), (size_t)(y - t->nodes),
                 off ? ins : "none", v, bad);
    return false;
}
