/* SPDX-License-Identifier: MIT
 * ad_checkpoint: a function run once in the forward pass and again in the
 * backward sweep, with only its inputs and outputs kept in between.
 *
 * Where the re-run lives: at the end of the same tape, above a mark, and
 * forgotten (truncated) once swept. Why not a scratch tape: the re-run
 * then uses the caller's own input handles, so its records and nodes point
 * at the inputs' and the sweep of the piece adds straight into their
 * adjoints, the parameters' gradients and anything else recorded before
 * that the function reaches, with no copying in or out; a nested
 * checkpoint is one more piece on top (marks nest like a stack); and the
 * memory (arena blocks, record segments, node slots) is the tape's own,
 * reused by the next piece and freed with the tape. The first run is
 * recorded the same way (recording on, truncated at once), which gives the
 * fingerprint the re-run is checked against: as many scalar records, the
 * same tensor ops and shapes, the same output bits. */
#include "checkpoint.h"

#include "core/alloc.h"
#include "core/last_error.h"

#include <string.h>

typedef struct ad_ckpt_ctx {
    ad_ckpt_hub h; /* first */
    ad_checkpoint_fn f;
    void *ctx;
    /* the first run's fingerprint */
    size_t records, nodes;
    uint64_t hash;
} ad_ckpt_ctx;

/* Runs f with its failures named; true when it ran and left valid outputs. */
static bool run_fn(ad_tape *t, const char *label, const char *where, ad_checkpoint_fn f,
                   const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    uint32_t gen = t->hot.gen;
    ad_ckpt_io_invalidate(t, out);
    ad_status st = f(t, in, out, ctx);
    if (t->hot.gen != gen) {
        /* the tape was reset under us: nothing recorded before is valid */
        ad_tape_fail(t, AD_ERR_INVALID, "%s: %s: the function reset the tape", label, where);
        return false;
    }
    if (st != AD_OK || t->err != AD_OK) {
        ad_ckpt_fail_from(t, st == AD_OK ? t->err : st, label, where);
        return false;
    }
    return ad_ckpt_io_ok(t, label, "output", out, true);
}

static ad_ckpt_ctx *make_ctx(ad_tape *t, const char *label, const ad_checkpoint_io *in)
{
    size_t ll = strlen(label) + 1;
    ad_ckpt_ctx *c = ad_tape_alloc(t, sizeof *c, label);
    char *l = c ? ad_tape_alloc(t, ll, label) : NULL;
    ad_tensor *it = l ? ad_tape_alloc(t, in->n_tensors * sizeof *it, label) : NULL;
    ad_scalar *is = it ? ad_tape_alloc(t, in->n_scalars * sizeof *is, label) : NULL;
    if (!is) return NULL;
    memset(c, 0, sizeof *c);
    memcpy(l, label, ll);
    if (in->n_tensors) memcpy(it, in->tensors, in->n_tensors * sizeof *it);
    if (in->n_scalars) memcpy(is, in->scalars, in->n_scalars * sizeof *is);
    c->h.label = l;
    c->h.in_t = it;
    c->h.in_s = is;
    c->h.n_in_t = in->n_tensors;
    c->h.n_in_s = in->n_scalars;
    return c;
}

/* The work of ad_checkpoint once the arguments are checked. The inputs
 * are copied first (into the context, below the mark), so out may be the
 * same arrays as in. */
static bool checkpoint(ad_tape *t, const char *label, ad_checkpoint_fn f,
                       const ad_checkpoint_io *in_arg, ad_checkpoint_io *out, void *ctx)
{
    ad_ckpt_ctx *c = make_ctx(t, label, in_arg);
    if (!c) return false;
    ad_checkpoint_io in = {c->h.in_t, c->h.n_in_t, c->h.in_s, c->h.n_in_s};
    if (!t->recording) /* evaluation mode: just the function */
        return run_fn(t, label, "in evaluation mode", f, &in, out, ctx);
    ad_tape_mark m;
    ad_tape_mark_take(t, &m);
    ad_ckpt_first o = {0};
    if (!run_fn(t, label, "in the forward pass", f, &in, out, ctx) ||
        !ad_ckpt_copy_outputs(t, label, out, &o)) {
        ad_tape_truncate(t, &m);
        return false;
    }
    c->records = t->hot.ns - m.ns;
    c->nodes = t->nn - m.nn;
    c->hash = ad_ckpt_node_hash(t, m.nn);
    ad_tape_truncate(t, &m);
    c->f = f;
    c->ctx = ctx;
    c->h.n_out_t = out->n_tensors;
    c->h.n_out_s = out->n_scalars;
    c->h.anomaly = t->anomaly;
    bool ok = ad_ckpt_emit(t, AD_OP_CHECKPOINT, &c->h, o.d, o.sv, o.kinds, out);
    ad_free(o.block);
    return ok;
}

ad_status ad_checkpoint(ad_tape *t, const char *name, ad_checkpoint_fn f,
                        const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    if (!t) return ad_no_tape("ad_checkpoint: the tape is NULL");
    char label[CKPT_LABEL];
    ad_ckpt_label(label, "ad_checkpoint", name, t->nn);
    const ad_checkpoint_io none = {NULL, 0, NULL, 0};
    if (!in) in = &none;
    bool out_ok = out && ad_ckpt_io_ok(t, label, "out", out, false);
    if (t->err == AD_OK && (!f || !out))
        ad_ckpt_fail(t, AD_ERR_INVALID, label, "%s is NULL", !f ? "the function" : "out");
    if (t->err == AD_OK && ad_ckpt_io_ok(t, label, "input", in, true))
        checkpoint(t, label, f, in, out, ctx);
    if (t->err != AD_OK && out_ok) ad_ckpt_io_invalidate(t, out);
    return t->err;
}

/* ---- the hub: its rule is the re-run */

void ad_checkpoint_forward(ad_tape *t, ad_node *y)
{
    (void)t;
    (void)y; /* the outputs carry the values */
}

/* Whether the re-run recorded what the first run did. */
static bool same_recording(ad_tape *t, const ad_ckpt_ctx *c, const ad_tape_mark *m)
{
    size_t records = t->hot.ns - m->ns, nodes = t->nn - m->nn;
    bool counts = (records == c->records || t->anomaly != c->h.anomaly) && nodes == c->nodes;
    if (counts && ad_ckpt_node_hash(t, m->nn) == c->hash) return true;
    ad_ckpt_fail(
        t, AD_ERR_INVALID, c->h.label,
        "the re-run in the backward sweep recorded %zu scalar records and %zu tensor nodes, "
        "the forward pass %zu and %zu%s; the function must compute the same thing every "
        "time (a branch on a global? an unseeded random number?)",
        records, nodes, c->records, c->nodes,
        counts ? " (the same counts, but other ops or shapes)" : "");
    return false;
}

/* Runs f again above a mark, seeds its outputs with the adjoints of the
 * kept outputs, sweeps it (the inputs, parameters and anything else it read
 * receive their share) and forgets it. */
void ad_checkpoint_backward(ad_tape *t, ad_node *y)
{
    const ad_ckpt_ctx *c = y->ctx;
    const ad_ckpt_hub *h = &c->h;
    const char *label = h->label;
    bool was = ad_ckpt_recording_on(t);
    ad_tape_mark m;
    ad_tape_mark_take(t, &m);
    /* fresh copies of the handle arrays: the function may write its own */
    ad_tensor *it = ad_tape_alloc(t, (h->n_in_t + h->n_out_t) * sizeof *it, label);
    ad_scalar *is = it ? ad_tape_alloc(t, (h->n_in_s + h->n_out_s) * sizeof *is, label) : NULL;
    const void **gt = is ? ad_tape_alloc(t, h->n_out_t * sizeof *gt, label) : NULL;
    ad_ckpt_tensor *d = gt ? ad_tape_alloc(t, h->n_out_t * sizeof *d, label) : NULL;
    if (!d) goto done;
    memcpy(it, h->in_t, h->n_in_t * sizeof *it);
    memcpy(is, h->in_s, h->n_in_s * sizeof *is);
    ad_checkpoint_io in = {it, h->n_in_t, is, h->n_in_s};
    ad_checkpoint_io out = {it + h->n_in_t, h->n_out_t, is + h->n_in_s, h->n_out_s};
    for (size_t j = 0; j < h->n_out_t; j++) {
        gt[j] = ad_ckpt_out_grad(t, h, j);
        const ad_node *o = &t->nodes[h->out0 + j];
        d[j] = (ad_ckpt_tensor){o->dtype, o->ndim, 0, 0, {0}, o->numel, o->value};
        memcpy(d[j].dims, o->dims, sizeof d[j].dims);
    }
    const double *gs = ad_ckpt_out_scalar_grad(t, h);
    const double *sv = h->n_out_s ? t->nodes[h->out0 + h->n_out_t].value : NULL;
    ad_tape_mark run;
    ad_tape_mark_take(t, &run);
    if (!run_fn(t, label, "re-run in the backward sweep", c->f, &in, &out, c->ctx)) goto done;
    if (!same_recording(t, c, &run)) goto done;
    if (!ad_ckpt_same_shapes(t, label, "output", &out, d)) goto done;
    if (!ad_ckpt_same_values(t, label, "output", &out, d, sv)) goto done;
    if (!ad_ckpt_seed(t, label, &out, gt, gs)) goto done;
    ad_sweep_tail(t, m.nn, m.ns, label);
done:
    ad_tape_truncate(t, &m);
    ad_ckpt_recording_restore(t, was);
}
