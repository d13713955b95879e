/* SPDX-License-Identifier: MIT
 * Recording tensor nodes: the one routine (ad_op_record) through which
 * every tensor op passes (input checks, the node, its shape rule, output
 * buffer, forward kernel, anomaly check), and leaves. */
#include "op.h"

#include "alloc.h"
#include "last_error.h"

#include <string.h>

static bool numel_checked(ad_tape *t, const char *fn, size_t ndim, const size_t *dims,
                          size_t *numel)
{
    char s[AD_SHAPE_STR];
    if (ndim < 1 || ndim > AD_MAX_DIMS) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: %zu dimensions; tensors have 1 to %d", fn, ndim,
                     AD_MAX_DIMS);
        return false;
    }
    /* A 0 makes the shape empty, but the other dimensions must multiply to a
     * size a tensor could hold, as NumPy requires: the verdict does not
     * depend on where the 0 is, and no op loops over a huge empty axis. */
    size_t n = ad_shape_nonzero_product(ndim, dims);
    bool empty = false;
    for (size_t i = 0; i < ndim; i++)
        empty |= dims[i] == 0;
    if (n < SIZE_MAX / 16) {
        *numel = empty ? 0 : n;
        return true;
    }
    if (empty) /* nothing to allocate: the shape itself is the error */
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: shape %s is too large (its dimensions other than 0 must multiply to "
                     "less than %zu)",
                     fn, ad_shape_str(ndim, dims, s), SIZE_MAX / 16);
    else if (n == SIZE_MAX)
        ad_tape_fail(t, AD_ERR_INVALID, "%s: shape %s has too many elements", fn,
                     ad_shape_str(ndim, dims, s));
    else
        ad_tape_fail(t, AD_ERR_NOMEM, "%s: shape %s is too large", fn, ad_shape_str(ndim, dims, s));
    return false;
}

/* Below this, a product of AD_MAX_DIMS dimensions stays under SIZE_MAX / 16,
 * so the common shape needs no overflow checks. */
#if SIZE_MAX > 0xFFFFFFFFu
#define SMALL_DIM ((size_t)1 << 15)
#else
#define SMALL_DIM ((size_t)1 << 7)
#endif
_Static_assert(AD_MAX_DIMS == 4, "SMALL_DIM assumes at most 4 dimensions");

/* The element count of a shape, or false with the tape failed (naming fn)
 * when the shape is malformed or too large. */
static inline bool numel_of(ad_tape *t, const char *fn, size_t ndim, const size_t *dims,
                            size_t *numel)
{
    if (AD_LIKELY(ndim - 1 < AD_MAX_DIMS)) {
        size_t n = dims[0], any = dims[0];
        for (size_t i = 1; i < ndim; i++) {
            n *= dims[i];
            any |= dims[i];
        }
        if (AD_LIKELY(any < SMALL_DIM)) {
            *numel = n;
            return true;
        }
    }
    return numel_checked(t, fn, ndim, dims, numel);
}

/* The checks of ad_op_record one by one, in the order the messages promise:
 * the tape (from the first input that has one, so a zeroed handle among the
 * inputs is reported there rather than silently ignored), inputs without a
 * tape, an unimplemented op, then per input: foreign, invalid, stale, not on
 * the tape, another dtype. Fills *idx (allocated from the arena for more
 * than AD_NODE_INLINE_INPUTS inputs) and *want (bit 0: an input needs a
 * gradient, bit 1: an input is unrecorded) and returns true, or
 * false when a check failed (the tape failed when there is one). *tp is the
 * tape either way (NULL when no input has one). */
static bool check_inputs(const char *fn, const ad_op_def *def, const ad_tensor *ins, size_t n_in,
                         ad_tape **tp, uint32_t **idx, uint8_t *want)
{
    ad_tape *t = NULL;
    for (size_t k = 0; k < n_in && !t; k++)
        t = ins[k].tape_;
    *tp = t;
    if (!t) {
        ad_no_tape(n_in == 1 ? "%s: the input has no tape (a zero-initialised handle?)"
                             : "%s: none of the inputs has a tape (zero-initialised handles?)",
                   fn);
        return false;
    }
    if (t->err != AD_OK) return false;
    for (size_t k = 0; k < n_in; k++)
        if (!ins[k].tape_) {
            ad_tape_fail(t, AD_ERR_INVALID, "%s: input %zu is not a tensor handle (no tape)", fn,
                         k);
            return false;
        }
    if (!def->forward) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: not implemented", fn);
        return false;
    }
    if (n_in > AD_NODE_INLINE_INPUTS) {
        *idx = ad_tape_alloc(t, n_in * sizeof **idx, fn);
        if (!*idx) return false;
    }
    for (size_t k = 0; k < n_in; k++) {
        if (ins[k].tape_ != t) {
            ad_tape_fail(t, AD_ERR_FOREIGN, "%s: input %zu belongs to a different tape", fn, k);
            return false;
        }
        ad_node *x = ad_tensor_node(ins[k], fn);
        if (!x) return false;
        if (x->dtype != t->nodes[ins[0].index_].dtype) {
            ad_tape_fail(t, AD_ERR_DTYPE, "%s: dtypes differ: input 0 is %s, input %zu is %s", fn,
                         ad_dtype_name((ad_dtype)t->nodes[ins[0].index_].dtype), k,
                         ad_dtype_name((ad_dtype)x->dtype));
            return false;
        }
        (*idx)[k] = ins[k].index_;
        *want |= (uint8_t)(x->needs_grad | x->unrecorded << 1);
    }
    return true;
}

/* The common case in one pass: at most AD_NODE_INLINE_INPUTS inputs, a
 * healthy tape, an implemented op, and every input a current handle on
 * ins[0]'s tape with ins[0]'s dtype. False leaves the verdict (and the
 * message) to check_inputs. */
static inline bool inputs_fast(const ad_tape *t, const ad_op_def *def, const ad_tensor *ins,
                               size_t n_in, uint32_t *idx, uint8_t *want)
{
    if (!t || n_in > AD_NODE_INLINE_INPUTS || t->err != AD_OK || !def->forward) return false;
    uint32_t gen = t->hot.gen;
    size_t nn = t->nn;
    if (ins[0].gen_ != gen || ins[0].index_ >= nn) return false;
    uint8_t dt = t->nodes[ins[0].index_].dtype, ng = 0;
    for (size_t k = 0; k < n_in; k++) {
        /* gen >= 1, so a match also rules out invalid handles (gen_ 0) */
        if (ins[k].tape_ != t || ins[k].gen_ != gen || ins[k].index_ >= nn) return false;
        const ad_node *x = &t->nodes[ins[k].index_];
        if (x->dtype != dt) return false;
        idx[k] = ins[k].index_;
        ng |= (uint8_t)(x->needs_grad | x->unrecorded << 1);
    }
    *want = ng;
    return true;
}

/* The next node slot (room reserved) with the fields every node sets the
 * same way; the caller fills the rest: inputs (in_inline, in_ext) and, for
 * op nodes, attributes and ctx. Field by field: a memset or struct literal
 * of the whole node becomes `rep stos`, slow to start for 160 bytes, and
 * most fields are overwritten right after anyway. */
static inline ad_node *push_node(ad_tape *t, uint16_t op, uint8_t dtype)
{
    ad_node *y = &t->nodes[t->nn];
    y->op = op;
    y->dtype = dtype;
    y->ndim = 0;
    y->needs_grad = 0;
    y->grad_from_scalar = 0;
    y->unrecorded = 0;
    y->named = 0;
    y->n_in = 0;
    y->scalar_mark = (uint32_t)t->hot.ns;
    y->grad_sweep = 0;
    for (size_t i = 0; i < AD_MAX_DIMS; i++)
        y->dims[i] = 0;
    y->numel = 0;
    y->value = NULL;
    y->grad = NULL;
    y->param = NULL;
    return y;
}

/* A leaf has no inputs, attributes or context: zero them all. */
static inline void clear_op_fields(ad_node *y)
{
    for (size_t k = 0; k < AD_NODE_INLINE_INPUTS; k++)
        y->in_inline[k] = 0;
    y->in_ext = NULL;
    y->ctx = NULL;
    y->attr_f[0] = y->attr_f[1] = 0.0;
    for (size_t i = 0; i < 4; i++)
        y->attr_i[i] = 0;
}

ad_tensor ad_op_record(const char *fn, uint16_t op, const ad_tensor *ins, size_t n_in,
                       const ad_op_attrs *attrs)
{
    if (n_in == 0 || !ins) {
        ad_no_tape("%s: no inputs", fn);
        return ad_invalid_tensor(NULL);
    }
    const ad_op_def *def = ad_op_table[op];
    ad_tape *t = ins[0].tape_;
    uint8_t want = 0;
    ad_node *y;
    /* the fast check writes the input indices straight into the next slot,
     * which is only claimed (t->nn++) once the op has succeeded */
    if (AD_LIKELY(t && t->nn < t->ncap &&
                  inputs_fast(t, def, ins, n_in, t->nodes[t->nn].in_inline, &want))) {
        y = push_node(t, op, t->nodes[ins[0].index_].dtype);
        y->in_ext = NULL;
    } else {
        uint32_t small[AD_NODE_INLINE_INPUTS];
        uint32_t *idx = small;
        if (!check_inputs(fn, def, ins, n_in, &t, &idx, &want)) return ad_invalid_tensor(t);
        if (!ad_node_reserve(t, fn)) return ad_invalid_tensor(t);
        y = push_node(t, op, t->nodes[idx[0]].dtype);
        y->in_ext = n_in > AD_NODE_INLINE_INPUTS ? idx : NULL;
        for (size_t k = 0; k < n_in && k < AD_NODE_INLINE_INPUTS; k++)
            y->in_inline[k] = idx[k];
    }
    y->n_in = (uint32_t)n_in;
    if (attrs) {
        memcpy(y->attr_f, attrs->f, sizeof y->attr_f);
        memcpy(y->attr_i, attrs->i, sizeof y->attr_i);
        y->ctx = attrs->ctx;
    } else {
        y->attr_f[0] = y->attr_f[1] = 0.0;
        for (size_t i = 0; i < 4; i++)
            y->attr_i[i] = 0;
        y->ctx = NULL;
    }
    if (!def->shape(t, y, fn)) return ad_invalid_tensor(t);
    if (!numel_of(t, fn, y->ndim, y->dims, &y->numel)) return ad_invalid_tensor(t);
    y->value = ad_tape_alloc(t, y->numel * ad_dtype_size((ad_dtype)y->dtype), fn);
    if (!y->value) return ad_invalid_tensor(t);
    ad_node_set_grad(t, y, want & 1, (want & 2) != 0);
    def->forward(t, y);
    if (t->err != AD_OK) return ad_invalid_tensor(t); /* a forward may fail (labels) */
    if (t->anomaly && !ad_anomaly_check(t, y, y->value, y->numel, false))
        return ad_invalid_tensor(t);
    return ad_node_commit(t);
}

ad_tensor ad_leaf_new(ad_tape *t, const char *fn, ad_dtype dt, size_t ndim, const size_t *dims,
                      const void *data, bool variable)
{
    if (!t) {
        ad_no_tape("%s: the tape is NULL", fn);
        return ad_invalid_tensor(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_tensor(t);
    if (dt != AD_F32 && dt != AD_F64) {
        ad_tape_fail(t, AD_ERR_DTYPE, "%s: unknown dtype %d", fn, (int)dt);
        return ad_invalid_tensor(t);
    }
    if (!dims && ndim) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: dims is NULL", fn);
        return ad_invalid_tensor(t);
    }
    size_t numel;
    if (!numel_of(t, fn, ndim, dims, &numel)) return ad_invalid_tensor(t);
    if (!ad_node_reserve(t, fn)) return ad_invalid_tensor(t);
    ad_node *y = push_node(t, AD_OP_LEAF, (uint8_t)dt);
    clear_op_fields(y);
    y->ndim = (uint8_t)ndim;
    for (size_t i = 0; i < ndim; i++)
        y->dims[i] = dims[i];
    y->numel = numel;
    size_t bytes = numel * ad_dtype_size(dt);
    y->value = ad_tape_alloc(t, bytes, fn);
    if (!y->value) return ad_invalid_tensor(t);
    if (data)
        memcpy(y->value, data, bytes);
    else
        memset(y->value, 0, bytes);
    ad_node_set_grad(t, y, variable, false);
    return ad_node_commit(t);
}
