/* SPDX-License-Identifier: MIT
 * Parameters: heap-owned value and gradient buffers that outlive tapes. */
#include "op.h"

#include "alloc.h"
#include "last_error.h"

#include <string.h>

ad_param *ad_param_new(ad_dtype dt, size_t ndim, const size_t *dims)
{
    static const char *fn = "ad_param_new";
    if (dt != AD_F32 && dt != AD_F64) {
        ad_last_error_set("%s: dtype %d is neither AD_F32 nor AD_F64", fn, (int)dt);
        return NULL;
    }
    if (ndim < 1 || ndim > AD_MAX_DIMS || !dims) {
        ad_last_error_set("%s: %s", fn, dims ? "ndim is not 1..4" : "dims is NULL");
        return NULL;
    }
    /* the rule tensors follow: an empty shape's other dimensions too */
    if (ad_shape_nonzero_product(ndim, dims) >= SIZE_MAX / 16) {
        char s[AD_SHAPE_STR];
        ad_last_error_set("%s: shape %s has more elements than memory", fn,
                          ad_shape_str(ndim, dims, s));
        return NULL;
    }
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++)
        n *= dims[i];
    size_t bytes = n * ad_dtype_size(dt);
    ad_param *p = ad_alloc(sizeof *p);
    if (p) {
        memset(p, 0, sizeof *p);
        p->value = ad_alloc(bytes);
        p->grad = ad_alloc(bytes);
    }
    if (!p || !p->value || !p->grad) {
        ad_param_free(p);
        ad_last_error_set("%s: out of memory", fn);
        return NULL;
    }
    memset(p->value, 0, bytes);
    memset(p->grad, 0, bytes);
    p->dtype = (uint8_t)dt;
    p->ndim = (uint8_t)ndim;
    memcpy(p->dims, dims, ndim * sizeof *dims);
    p->numel = n;
    ad_last_error_clear();
    return p;
}

void ad_param_free(ad_param *p)
{
    if (!p) return;
    ad_free(p->value);
    ad_free(p->grad);
    ad_free(p);
}

/* A NULL parameter: the accessors answer "nothing" and say why. */
static bool param_given(const ad_param *p, const char *fn)
{
    if (!p) ad_no_tape("%s: the parameter is NULL", fn);
    return p != NULL;
}

ad_dtype ad_param_dtype(const ad_param *p)
{
    return param_given(p, __func__) ? (ad_dtype)p->dtype : AD_F32;
}

size_t ad_param_shape(const ad_param *p, size_t *dims)
{
    if (!param_given(p, __func__)) return 0;
    if (dims) memcpy(dims, p->dims, p->ndim * sizeof *dims);
    return p->ndim;
}

size_t ad_param_numel(const ad_param *p)
{
    return param_given(p, __func__) ? p->numel : 0;
}

void *ad_param_value(ad_param *p)
{
    return param_given(p, __func__) ? p->value : NULL;
}

void *ad_param_grad(ad_param *p)
{
    return param_given(p, __func__) ? p->grad : NULL;
}

void ad_param_zero_grad(ad_param *p)
{
    if (param_given(p, __func__)) memset(p->grad, 0, p->numel * ad_dtype_size((ad_dtype)p->dtype));
}

void ad_param_uniform(ad_param *p, double lo, double hi, uint64_t seed)
{
    if (param_given(p, __func__))
        ad_fill_uniform(p->value, (ad_dtype)p->dtype, p->numel, lo, hi, seed);
}

void ad_param_normal(ad_param *p, double mean, double std, uint64_t seed)
{
    if (param_given(p, __func__))
        ad_fill_normal(p->value, (ad_dtype)p->dtype, p->numel, mean, std, seed);
}

static size_t param_bytes(const ad_param *p)
{
    return p->numel * ad_dtype_size((ad_dtype)p->dtype);
}

static bool listed(ad_param *const *ps, size_t n, const ad_param *p)
{
    for (size_t k = 0; k < n; k++)
        if (ps[k] == p) return true;
    return false;
}

ad_status ad_grads_put_aside(const ad_tape *t, ad_param *const *keep, size_t n_keep,
                             ad_grads_aside *a)
{
    size_t bytes = 0;
    *a = (ad_grads_aside){0};
    a->p = ad_alloc(ad_mul_size(t->nn ? t->nn : 1, sizeof *a->p));
    if (!a->p) return AD_ERR_NOMEM;
    for (size_t k = 0; k < t->nn; k++) {
        ad_param *p = t->nodes[k].param;
        if (!p || listed(keep, n_keep, p) || listed(a->p, a->n, p)) continue;
        a->p[a->n++] = p;
        bytes += param_bytes(p);
    }
    a->bytes = ad_alloc(bytes ? bytes : 1);
    if (!a->bytes) return AD_ERR_NOMEM;
    for (size_t k = 0, off = 0; k < a->n; off += param_bytes(a->p[k]), k++)
        memcpy(a->bytes + off, a->p[k]->grad, param_bytes(a->p[k]));
    return AD_OK;
}

void ad_grads_restore(ad_grads_aside *a)
{
    for (size_t k = 0, off = 0; a->bytes && k < a->n; off += param_bytes(a->p[k]), k++)
        memcpy(a->p[k]->grad, a->bytes + off, param_bytes(a->p[k]));
    ad_free(a->p);
    ad_free(a->bytes);
    *a = (ad_grads_aside){0};
}

/* A parameter as a leaf: the node borrows the parameter's buffers. */
ad_tensor ad_param_use(ad_tape *t, ad_param *p)
{
    if (!t) {
        ad_no_tape("ad_param_use: the tape is NULL");
        return ad_invalid_tensor(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_tensor(t);
    if (!p) {
        ad_tape_fail(t, AD_ERR_INVALID, "ad_param_use: parameter is NULL");
        return ad_invalid_tensor(t);
    }
    if (!ad_node_reserve(t, "ad_param_use")) return ad_invalid_tensor(t);
    /* every field written once: this runs for each parameter every step */
    ad_node *y = &t->nodes[t->nn];
    y->op = AD_OP_LEAF;
    y->dtype = p->dtype;
    y->ndim = p->ndim;
    ad_node_set_grad(t, y, true, false);
    y->grad_from_scalar = 0;
    y->named = 0;
    y->n_in = 0;
    for (size_t k = 0; k < AD_NODE_INLINE_INPUTS; k++)
        y->in_inline[k] = 0;
    y->in_ext = NULL;
    y->scalar_mark = (uint32_t)t->hot.ns;
    y->grad_sweep = 0;
    for (size_t i = 0; i < AD_MAX_DIMS; i++)
        y->dims[i] = p->dims[i];
    y->numel = p->numel;
    y->value = p->value;
    y->grad = p->grad;
    y->param = p;
    y->ctx = NULL;
    y->attr_f[0] = y->attr_f[1] = 0.0;
    for (size_t i = 0; i < 4; i++)
        y->attr_i[i] = 0;
    if (t->anomaly && !ad_anomaly_check_leaf(t, "ad_param_use", "parameter", t->nn))
        return ad_invalid_tensor(t);
    return ad_node_commit(t);
}
