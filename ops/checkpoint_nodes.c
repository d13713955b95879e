/* SPDX-License-Identifier: MIT
 * The checkpoints' shared parts (checkpoint.h): handle checks, messages
 * that name the checkpoint, the hub and output nodes a checkpoint keeps,
 * and, in the sweep, the outputs' adjoints, seeds and the bit-for-bit
 * comparison of a re-run with the first run. */
#include "checkpoint.h"

#include "core/alloc.h"
#include "core/last_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ad_ckpt_label(char *buf, const char *fn, const char *name, size_t node)
{
    if (name)
        snprintf(buf, CKPT_LABEL, "%s '%.100s'", fn, name);
    else
        snprintf(buf, CKPT_LABEL, "%s at node %zu", fn, node);
}

ad_status ad_ckpt_fail(ad_tape *t, ad_status code, const char *label, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ad_tape_fail(t, code, "%s: %s", label, msg);
}

ad_status ad_ckpt_fail_from(ad_tape *t, ad_status st, const char *label, const char *where)
{
    if (t->err == AD_OK)
        return ad_ckpt_fail(t, st, label, "%s: the function returned %s without failing the tape",
                            where, ad_status_name(st));
    char prefix[CKPT_LABEL + 64];
    snprintf(prefix, sizeof prefix, "%s: %s", label, where);
    return ad_tape_error_context(t, prefix);
}

static bool scalar_ok(ad_tape *t, const char *label, const char *what, size_t i, ad_scalar s)
{
    const char *why = NULL;
    ad_status code = AD_ERR_INVALID;
    if (!s.tape_)
        why = "is not a scalar handle (no tape: unset or zero-initialised?)";
    else if (s.tape_ != t)
        why = "belongs to a different tape", code = AD_ERR_FOREIGN;
    else if (s.index_ == AD_INVALID_INDEX || s.gen_ == 0)
        why = "is invalid (unset, or the result of a failed op)";
    else if ((s.gen_ & AD_GEN_MASK_) != t->hot.gen)
        why = "was recorded before the last ad_tape_reset", code = AD_ERR_STALE;
    else if (s.index_ >= t->hot.ns)
        why = "is not on the tape (a handle kept from an earlier re-run?)";
    if (why) ad_ckpt_fail(t, code, label, "%s scalar %zu %s", what, i, why);
    return !why;
}

static bool tensor_ok(ad_tape *t, const char *label, const char *what, size_t i, ad_tensor x)
{
    const char *why = NULL;
    ad_status code = AD_ERR_INVALID;
    if (!x.tape_)
        why = "is not a tensor handle (no tape: unset or zero-initialised?)";
    else if (x.tape_ != t)
        why = "belongs to a different tape", code = AD_ERR_FOREIGN;
    else if (x.index_ == AD_INVALID_INDEX || x.gen_ == 0)
        why = "is invalid (unset, or the result of a failed op)";
    else if (x.gen_ != t->hot.gen)
        why = "was recorded before the last ad_tape_reset", code = AD_ERR_STALE;
    else if (x.index_ >= t->nn)
        why = "is not on the tape (a handle kept from an earlier re-run?)";
    if (why) ad_ckpt_fail(t, code, label, "%s tensor %zu %s", what, i, why);
    return !why;
}

bool ad_ckpt_io_ok(ad_tape *t, const char *label, const char *what, const ad_checkpoint_io *io,
                   bool handles)
{
    if ((io->n_tensors && !io->tensors) || (io->n_scalars && !io->scalars)) {
        ad_ckpt_fail(t, AD_ERR_INVALID, label,
                     "%s has %zu tensors and %zu scalars but its %s array is NULL", what,
                     io->n_tensors, io->n_scalars,
                     io->n_tensors && !io->tensors ? "tensors" : "scalars");
        return false;
    }
    if (!handles) return true;
    for (size_t i = 0; i < io->n_tensors; i++)
        if (!tensor_ok(t, label, what, i, io->tensors[i])) return false;
    for (size_t i = 0; i < io->n_scalars; i++)
        if (!scalar_ok(t, label, what, i, io->scalars[i])) return false;
    return true;
}

void ad_ckpt_io_invalidate(ad_tape *t, ad_checkpoint_io *io)
{
    for (size_t i = 0; io->tensors && i < io->n_tensors; i++)
        io->tensors[i] = ad_invalid_tensor(t);
    for (size_t i = 0; io->scalars && i < io->n_scalars; i++)
        io->scalars[i] = ad_invalid_scalar(t);
}

uint8_t ad_ckpt_kind(ad_scalar s)
{
    if (s.index_ == 0) return CKPT_CONST;
    return s.index_ < AD_DUMMIES_ ? CKPT_UNRECORDED : CKPT_RECORD;
}

void ad_ckpt_describe(const ad_tape *t, const ad_checkpoint_io *io, ad_ckpt_tensor *d,
                      uint8_t *kinds)
{
    for (size_t j = 0; j < io->n_tensors; j++) {
        const ad_node *x = &t->nodes[io->tensors[j].index_];
        d[j].dtype = x->dtype;
        d[j].ndim = x->ndim;
        memcpy(d[j].dims, x->dims, sizeof d[j].dims);
        d[j].numel = x->numel;
        d[j].needs_grad = x->needs_grad;
        d[j].unrecorded = x->unrecorded;
        d[j].value = x->value;
    }
    for (size_t j = 0; kinds && j < io->n_scalars; j++)
        kinds[j] = ad_ckpt_kind(io->scalars[j]);
}

/* FNV-1a over what a node is: the re-run must make the same sequence. */
uint64_t ad_ckpt_node_hash(const ad_tape *t, size_t k0)
{
    uint64_t h = 1469598103934665603u;
    for (size_t k = k0; k < t->nn; k++) {
        const ad_node *y = &t->nodes[k];
        uint64_t w[2 + AD_MAX_DIMS] = {y->op, (uint64_t)y->dtype << 8 | y->ndim};
        for (size_t i = 0; i < AD_MAX_DIMS; i++)
            w[2 + i] = y->dims[i];
        for (size_t i = 0; i < 2 + AD_MAX_DIMS; i++)
            h = (h ^ w[i]) * 1099511628211u;
    }
    return h;
}

/* One heap block: the descriptions, the scalars' values, the tensors'
 * values (8-byte aligned) and the scalars' kinds. */
bool ad_ckpt_copy_outputs(ad_tape *t, const char *label, const ad_checkpoint_io *out,
                          ad_ckpt_first *o)
{
    size_t bytes = out->n_tensors * sizeof *o->d + out->n_scalars * (sizeof(double) + 1);
    for (size_t j = 0; j < out->n_tensors; j++) {
        const ad_node *x = &t->nodes[out->tensors[j].index_];
        bytes += (x->numel * ad_dtype_size((ad_dtype)x->dtype) + 7) / 8 * 8;
    }
    o->block = ad_alloc(bytes);
    if (!o->block) {
        ad_ckpt_fail(t, AD_ERR_NOMEM, label, "out of memory copying the outputs (%zu bytes)",
                     bytes);
        return false;
    }
    char *p = o->block;
    o->d = (ad_ckpt_tensor *)(void *)p;
    p += out->n_tensors * sizeof *o->d;
    o->sv = (double *)(void *)p;
    p += out->n_scalars * sizeof(double);
    ad_ckpt_describe(t, out, o->d, NULL);
    for (size_t j = 0; j < out->n_tensors; j++) {
        size_t n = o->d[j].numel * ad_dtype_size((ad_dtype)o->d[j].dtype);
        memcpy(p, o->d[j].value, n);
        o->d[j].value = p;
        p += (n + 7) / 8 * 8;
    }
    o->kinds = (uint8_t *)p;
    for (size_t j = 0; j < out->n_scalars; j++) {
        o->sv[j] = out->scalars[j].value_;
        o->kinds[j] = ad_ckpt_kind(out->scalars[j]);
    }
    return true;
}

/* A node filled field by field; the caller sets its inputs and commits it. */
static ad_node *new_node(ad_tape *t, uint16_t op, uint8_t dtype, const char *fn)
{
    if (!ad_node_reserve(t, fn)) return NULL;
    ad_node *y = &t->nodes[t->nn];
    memset(y, 0, sizeof *y);
    y->op = op;
    y->dtype = dtype;
    y->scalar_mark = (uint32_t)t->hot.ns;
    return y;
}

/* A node of shape d holding a copy of d's value; input 0 is node `in`. */
static bool emit_tensor(ad_tape *t, uint16_t op, const ad_ckpt_tensor *d, uint32_t in, void *ctx,
                        const char *fn, ad_tensor *h)
{
    size_t bytes = d->numel * ad_dtype_size((ad_dtype)d->dtype);
    void *v = ad_tape_alloc(t, bytes, fn);
    ad_node *y = v ? new_node(t, op, d->dtype, fn) : NULL;
    if (!y) return false;
    memcpy(v, d->value, bytes);
    y->ndim = d->ndim;
    memcpy(y->dims, d->dims, sizeof y->dims);
    y->numel = d->numel;
    y->value = v;
    y->n_in = 1;
    y->in_inline[0] = in;
    y->ctx = ctx;
    y->needs_grad = d->needs_grad;
    y->unrecorded = d->unrecorded;
    *h = ad_node_commit(t);
    return true;
}

/* Outputs that need no gradient: constant leaves and scalars. */
static bool emit_constants(ad_tape *t, const char *fn, const ad_ckpt_tensor *d, const double *sv,
                           const uint8_t *kinds, ad_checkpoint_io *out)
{
    for (size_t j = 0; j < out->n_tensors; j++) {
        ad_tensor x =
            ad_leaf_new(t, fn, (ad_dtype)d[j].dtype, d[j].ndim, d[j].dims, d[j].value, false);
        if (!ad_tensor_ok(x)) return false;
        t->nodes[x.index_].unrecorded = d[j].unrecorded;
        out->tensors[j] = x;
    }
    for (size_t j = 0; j < out->n_scalars; j++) {
        out->scalars[j] = ad_constant(t, sv[j]);
        if (kinds[j] == CKPT_UNRECORDED) out->scalars[j].index_ = AD_UNRECORDED;
    }
    return true;
}

bool ad_ckpt_emit(ad_tape *t, uint16_t op, ad_ckpt_hub *h, const ad_ckpt_tensor *d,
                  const double *sv, const uint8_t *kinds, ad_checkpoint_io *out)
{
    const char *fn = h->label;
    bool any = false;
    for (size_t j = 0; j < out->n_tensors; j++)
        any |= d[j].needs_grad != 0;
    for (size_t j = 0; j < out->n_scalars; j++)
        any |= kinds[j] == CKPT_RECORD;
    if (!any) return emit_constants(t, fn, d, sv, kinds, out);
    /* the hub: [0] float64, its inputs the tensor inputs (any dtypes) */
    uint32_t *idx = NULL;
    if (h->n_in_t > AD_NODE_INLINE_INPUTS) {
        idx = ad_tape_alloc(t, h->n_in_t * sizeof *idx, fn);
        if (!idx) return false;
    }
    void *empty = ad_tape_alloc(t, 0, fn);
    ad_node *y = empty ? new_node(t, op, AD_F64, fn) : NULL;
    if (!y) return false;
    y->ndim = 1;
    y->value = empty;
    y->n_in = (uint32_t)h->n_in_t;
    y->in_ext = idx;
    for (size_t i = 0; i < h->n_in_t; i++) {
        if (idx) idx[i] = h->in_t[i].index_;
        if (i < AD_NODE_INLINE_INPUTS) y->in_inline[i] = h->in_t[i].index_;
    }
    y->needs_grad = 1;
    y->ctx = h;
    uint32_t hub = ad_node_commit(t).index_;
    h->out0 = hub + 1;
    for (size_t j = 0; j < out->n_tensors; j++)
        if (!emit_tensor(t, AD_OP_CHECKPOINT_OUTPUT, &d[j], hub, NULL, fn, &out->tensors[j]))
            return false;
    if (!out->n_scalars) return true;
    /* the scalar outputs: one float64 node of their values, whose elements
     * become scalars through the bridge (ad_tensor_to_scalar) */
    ad_ckpt_tensor s = {AD_F64, 1, 1, 0, {out->n_scalars}, out->n_scalars, sv};
    ad_tensor sn;
    if (!emit_tensor(t, AD_OP_CHECKPOINT_OUTPUT, &s, hub, NULL, fn, &sn)) return false;
    for (size_t j = 0; j < out->n_scalars; j++) {
        if (kinds[j] != CKPT_RECORD) {
            out->scalars[j] = ad_constant(t, sv[j]);
            if (kinds[j] == CKPT_UNRECORDED) out->scalars[j].index_ = AD_UNRECORDED;
            continue;
        }
        out->scalars[j] = ad_tensor_to_scalar(sn, j);
        if (!ad_scalar_ok(out->scalars[j])) return false;
    }
    return true;
}

const void *ad_ckpt_out_grad(const ad_tape *t, const ad_ckpt_hub *h, size_t j)
{
    const ad_node *y = &t->nodes[h->out0 + j];
    return y->needs_grad && ad_grad_live(t, y) ? y->grad : NULL;
}

const double *ad_ckpt_out_scalar_grad(const ad_tape *t, const ad_ckpt_hub *h)
{
    if (!h->n_out_s) return NULL;
    const ad_node *y = &t->nodes[h->out0 + h->n_out_t];
    return y->needs_grad && ad_grad_live(t, y) ? y->grad : NULL;
}

bool ad_ckpt_seed(ad_tape *t, const char *label, const ad_checkpoint_io *io, const void *const *gt,
                  const double *gs)
{
    for (size_t j = 0; j < io->n_tensors; j++) {
        ad_node *x = &t->nodes[io->tensors[j].index_];
        if (!gt[j] || !x->needs_grad) continue;
        if (!ad_node_make_live(t, x, label)) return false;
        if (x->dtype == AD_F32) {
            const float *g = gt[j];
            float *d = x->grad;
            for (size_t i = 0; i < x->numel; i++)
                d[i] += g[i];
        } else {
            const double *g = gt[j];
            double *d = x->grad;
            for (size_t i = 0; i < x->numel; i++)
                d[i] += g[i];
        }
    }
    for (size_t j = 0; gs && j < io->n_scalars; j++) {
        ad_scalar s = io->scalars[j];
        /* a folded output seeds the record it depends on, times its slope */
        if (ad_ckpt_kind(s) == CKPT_RECORD) t->hot.adj[s.index_] += ad_chain_(gs[j], s.mult_);
    }
    return true;
}

static double elem(const void *v, uint8_t dtype, size_t i)
{
    return dtype == AD_F32 ? (double)((const float *)v)[i] : ((const double *)v)[i];
}

bool ad_ckpt_same_values(ad_tape *t, const char *label, const char *what,
                         const ad_checkpoint_io *io, const ad_ckpt_tensor *d, const double *sv)
{
    for (size_t j = 0; j < io->n_tensors; j++) {
        const ad_node *x = &t->nodes[io->tensors[j].index_];
        size_t es = ad_dtype_size((ad_dtype)x->dtype);
        if (!memcmp(x->value, d[j].value, x->numel * es)) continue;
        size_t i = 0;
        while (memcmp((const char *)x->value + i * es, (const char *)d[j].value + i * es, es))
            i++;
        ad_ckpt_fail(t, AD_ERR_INVALID, label,
                     "the re-run in the backward sweep gave %s tensor %zu element %zu = %.17g, the "
                     "forward pass %.17g; the function must compute the same thing every time (a "
                     "branch on a global? an unseeded random number?)",
                     what, j, i, elem(x->value, x->dtype, i), elem(d[j].value, d[j].dtype, i));
        return false;
    }
    for (size_t j = 0; j < io->n_scalars; j++) {
        double v = io->scalars[j].value_;
        if (!memcmp(&v, &sv[j], sizeof v)) continue;
        ad_ckpt_fail(
            t, AD_ERR_INVALID, label,
            "the re-run in the backward sweep gave %s scalar %zu = %.17g, the forward pass "
            "%.17g; the function must compute the same thing every time (a branch on a "
            "global? an unseeded random number?)",
            what, j, v, sv[j]);
        return false;
    }
    return true;
}

bool ad_ckpt_same_shapes(ad_tape *t, const char *label, const char *what,
                         const ad_checkpoint_io *io, const ad_ckpt_tensor *d)
{
    if (!ad_ckpt_io_ok(t, label, what, io, true)) return false;
    for (size_t j = 0; j < io->n_tensors; j++) {
        const ad_node *x = &t->nodes[io->tensors[j].index_];
        if (x->dtype == d[j].dtype && x->ndim == d[j].ndim &&
            !memcmp(x->dims, d[j].dims, x->ndim * sizeof *x->dims))
            continue;
        char a[AD_SHAPE_STR], b[AD_SHAPE_STR];
        ad_ckpt_fail(t, AD_ERR_SHAPE, label, "%s tensor %zu is %s %s, expected %s %s", what, j,
                     ad_dtype_name((ad_dtype)x->dtype), ad_shape_str(x->ndim, x->dims, a),
                     ad_dtype_name((ad_dtype)d[j].dtype), ad_shape_str(d[j].ndim, d[j].dims, b));
        return false;
    }
    return true;
}

bool ad_ckpt_recording_on(ad_tape *t)
{
    bool was = t->recording;
    t->recording = true;
    ad_tape_update_live(t);
    return was;
}

void ad_ckpt_recording_restore(ad_tape *t, bool was)
{
    t->recording = was;
    ad_tape_update_live(t);
}

/* ---- the output nodes: values set when recorded; their adjoints are read
 * by the hub's rule (ad_ckpt_out_grad), so their own rules pass nothing on */

bool ad_shape_checkpoint(ad_tape *t, ad_node *y, const char *fn)
{
    (void)t;
    (void)y;
    (void)fn;
    return true; /* the recorder sets the shape: hubs and outputs skip ad_op_record */
}

void ad_checkpoint_output_forward(ad_tape *t, ad_node *y)
{
    (void)t;
    (void)y;
}

void ad_checkpoint_output_backward(ad_tape *t, ad_node *y)
{
    (void)t;
    (void)y;
}
