/* SPDX-License-Identifier: MIT
 * ad_checkpoint_loop: T steps of a step function, kept on the tape as the
 * first and last states plus the state at the start of every segment of L
 * steps (L = ceil(sqrt T) by default). The forward pass records one step
 * at a time above a mark and forgets it, carrying the state over as fresh
 * leaves; the sweep re-runs the segments from last to first, each recorded
 * whole above a mark, seeded with the adjoint of its final state, swept,
 * and forgotten, leaving the adjoint of its first state for the segment
 * before. Segment 0 starts from the caller's own handles, so its sweep adds
 * straight into their adjoints. Peak memory: T / L states plus one
 * segment's recording; every step runs twice. */
#include "checkpoint.h"

#include "core/alloc.h"
#include "core/last_error.h"

#include <stdio.h>
#include <string.h>

typedef struct loop_ctx {
    ad_ckpt_hub h; /* first */
    ad_step_fn step;
    void *ctx;
    size_t T, L, nseg;
    ad_ckpt_tensor *d;    /* the state's tensors (values unused) */
    size_t *off;          /* where tensor j sits in a state image; scalars at off[n] */
    size_t image;         /* bytes of one state image */
    unsigned char *snap;  /* images of the states at the starts of segments 1 .. nseg-1 */
    uint8_t *snap_kinds;  /* n_t + n_s kinds (CKPT_CONST ...) per image */
    unsigned char *carry; /* the forward pass's state between steps */
    uint8_t *carry_kinds;
    ad_checkpoint_io cur, next; /* handle arrays of the forward pass */
} loop_ctx;

static size_t round8(size_t n)
{
    return (n + 7) / 8 * 8;
}

static size_t nkinds(const loop_ctx *c)
{
    return c->h.n_in_t + c->h.n_in_s;
}

/* io's values and kinds into an image (memmove: a step may pass a state
 * through, whose value is the image itself). */
static void store(const ad_tape *t, const loop_ctx *c, const ad_checkpoint_io *io,
                  unsigned char *img, uint8_t *kinds)
{
    for (size_t j = 0; j < io->n_tensors; j++) {
        const ad_node *x = &t->nodes[io->tensors[j].index_];
        memmove(img + c->off[j], x->value, x->numel * ad_dtype_size((ad_dtype)x->dtype));
        kinds[j] = x->needs_grad ? CKPT_RECORD : x->unrecorded ? CKPT_UNRECORDED : CKPT_CONST;
    }
    double *sv = (double *)(void *)(img + c->off[io->n_tensors]);
    for (size_t j = 0; j < io->n_scalars; j++) {
        sv[j] = io->scalars[j].value_;
        kinds[io->n_tensors + j] = ad_ckpt_kind(io->scalars[j]);
    }
}

/* Fresh leaves holding an image: variables where the state needed a
 * gradient, constants elsewhere. False (tape failed) when memory runs out. */
static bool load(ad_tape *t, const loop_ctx *c, const unsigned char *img, const uint8_t *kinds,
                 ad_checkpoint_io *io)
{
    const char *fn = c->h.label;
    size_t nt = c->h.n_in_t;
    for (size_t j = 0; j < nt; j++) {
        const ad_ckpt_tensor *d = &c->d[j];
        ad_tensor x = ad_leaf_new(t, fn, (ad_dtype)d->dtype, d->ndim, d->dims, img + c->off[j],
                                  kinds[j] == CKPT_RECORD);
        if (!ad_tensor_ok(x)) return false;
        t->nodes[x.index_].unrecorded = kinds[j] == CKPT_UNRECORDED;
        io->tensors[j] = x;
    }
    const double *sv = (const double *)(const void *)(img + c->off[nt]);
    for (size_t j = 0; j < c->h.n_in_s; j++) {
        ad_scalar s =
            kinds[nt + j] == CKPT_RECORD ? ad_scalar_leaf(t, sv[j], fn) : ad_constant(t, sv[j]);
        if (!ad_scalar_ok(s)) return false;
        if (kinds[nt + j] == CKPT_UNRECORDED) s.index_ = AD_UNRECORDED;
        io->scalars[j] = s;
    }
    return true;
}

static void copy_io(ad_checkpoint_io *to, const ad_checkpoint_io *from)
{
    if (from->n_tensors) memmove(to->tensors, from->tensors, from->n_tensors * sizeof *to->tensors);
    if (from->n_scalars) memmove(to->scalars, from->scalars, from->n_scalars * sizeof *to->scalars);
}

/* Whether next holds current handles on t with the state's dtypes and
 * shapes: the check every step passes, without formatting a message. */
static bool next_ok(const ad_tape *t, const loop_ctx *c, const ad_checkpoint_io *next)
{
    for (size_t j = 0; j < next->n_tensors; j++) {
        ad_tensor x = next->tensors[j];
        if (x.tape_ != t || x.gen_ != t->hot.gen || x.index_ >= t->nn) return false;
        const ad_node *n = &t->nodes[x.index_];
        const ad_ckpt_tensor *d = &c->d[j];
        if (n->dtype != d->dtype || n->ndim != d->ndim ||
            memcmp(n->dims, d->dims, sizeof n->dims) != 0)
            return false;
    }
    for (size_t j = 0; j < next->n_scalars; j++) {
        ad_scalar s = next->scalars[j];
        if (s.tape_ != t || (s.gen_ & AD_GEN_MASK_) != t->hot.gen || s.index_ >= t->hot.ns)
            return false;
    }
    return true;
}

/* One step with its failures named; true when next is a valid state.
 * Messages are formatted only on failure: this runs 2T times. */
static bool run_step(ad_tape *t, const loop_ctx *c, size_t i, const char *phase,
                     const ad_checkpoint_io *cur, ad_checkpoint_io *next)
{
    uint32_t gen = t->hot.gen;
    ad_ckpt_io_invalidate(t, next);
    ad_status st = c->step(t, i, cur, next, c->ctx);
    if (AD_LIKELY(t->hot.gen == gen && st == AD_OK && t->err == AD_OK && next_ok(t, c, next)))
        return true;
    char where[96];
    snprintf(where, sizeof where, "step %zu%s", i, phase);
    if (t->hot.gen != gen) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: %s: the step function reset the tape", c->h.label,
                     where);
        return false;
    }
    if (st != AD_OK || t->err != AD_OK) {
        ad_ckpt_fail_from(t, st == AD_OK ? t->err : st, c->h.label, where);
        return false;
    }
    char what[128];
    snprintf(what, sizeof what, "%s: next state", where);
    return ad_ckpt_same_shapes(t, c->h.label, what, next, c->d);
}

/* The context, the images and the handle arrays, all in tape memory. */
static loop_ctx *make_ctx(ad_tape *t, const char *label, const ad_checkpoint_io *s, size_t T,
                          size_t L)
{
    size_t nt = s->n_tensors, ns = s->n_scalars;
    loop_ctx *c = ad_tape_alloc(t, sizeof *c, label);
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    c->T = T;
    c->L = L;
    c->nseg = (T - 1) / L + 1;
    size_t ll = strlen(label) + 1;
    char *l = ad_tape_alloc(t, ll, label);
    c->h.in_t = ad_tape_alloc(t, nt * sizeof *c->h.in_t, label);
    c->h.in_s = ad_tape_alloc(t, ns * sizeof *c->h.in_s, label);
    c->d = ad_tape_alloc(t, nt * sizeof *c->d, label);
    c->off = ad_tape_alloc(t, (nt + 1) * sizeof *c->off, label);
    ad_tensor *ht = ad_tape_alloc(t, 2 * nt * sizeof *ht, label);
    ad_scalar *hs = ad_tape_alloc(t, 2 * ns * sizeof *hs, label);
    if (!l || !c->h.in_t || !c->h.in_s || !c->d || !c->off || !ht || !hs) return NULL;
    memcpy(l, label, ll);
    c->h.label = l;
    c->h.n_in_t = c->h.n_out_t = nt;
    c->h.n_in_s = c->h.n_out_s = ns;
    if (nt) memcpy(c->h.in_t, s->tensors, nt * sizeof *ht);
    if (ns) memcpy(c->h.in_s, s->scalars, ns * sizeof *hs);
    ad_ckpt_describe(t, s, c->d, NULL);
    size_t off = 0;
    for (size_t j = 0; j < nt; j++) {
        c->off[j] = off;
        off = ad_mul_size(c->d[j].numel, ad_dtype_size((ad_dtype)c->d[j].dtype));
        off = round8(c->off[j] + off);
    }
    c->off[nt] = off;
    c->image = off + ns * sizeof(double);
    c->cur = (ad_checkpoint_io){ht, nt, hs, ns};
    c->next = (ad_checkpoint_io){ht + nt, nt, hs + ns, ns};
    size_t images = c->nseg - 1 + 1; /* the snapshots and the carry */
    unsigned char *snap = ad_tape_alloc(t, ad_mul_size(images, c->image), label);
    uint8_t *kinds = snap ? ad_tape_alloc(t, ad_mul_size(images, nkinds(c)), label) : NULL;
    if (!kinds) return NULL;
    c->snap = snap;
    c->snap_kinds = kinds;
    c->carry = snap + (c->nseg - 1) * c->image;
    c->carry_kinds = kinds + (c->nseg - 1) * nkinds(c);
    return c;
}

/* Evaluation mode: the steps, one after another, nothing kept. */
static void run_plain(ad_tape *t, loop_ctx *c, ad_checkpoint_io *final_state)
{
    copy_io(&c->cur, &(ad_checkpoint_io){c->h.in_t, c->h.n_in_t, c->h.in_s, c->h.n_in_s});
    for (size_t i = 0; i < c->T; i++) {
        if (!run_step(t, c, i, " in evaluation mode", &c->cur, &c->next)) return;
        copy_io(&c->cur, &c->next);
    }
    copy_io(final_state, &c->cur);
}

/* The forward pass: each step above the mark, then forgotten. */
static bool run_forward(ad_tape *t, loop_ctx *c, const ad_tape_mark *m, ad_ckpt_first *o)
{
    copy_io(&c->cur, &(ad_checkpoint_io){c->h.in_t, c->h.n_in_t, c->h.in_s, c->h.n_in_s});
    for (size_t i = 0; i < c->T; i++) {
        if (i > 0) {
            if (i % c->L == 0) {
                size_t s = i / c->L - 1;
                memcpy(c->snap + s * c->image, c->carry, c->image);
                memcpy(c->snap_kinds + s * nkinds(c), c->carry_kinds, nkinds(c));
            }
            if (!load(t, c, c->carry, c->carry_kinds, &c->cur)) return false;
        }
        if (!run_step(t, c, i, " in the forward pass", &c->cur, &c->next)) return false;
        if (i + 1 < c->T) {
            store(t, c, &c->next, c->carry, c->carry_kinds);
            ad_tape_truncate(t, m);
        }
    }
    return ad_ckpt_copy_outputs(t, c->h.label, &c->next, o);
}

/* The work of ad_checkpoint_loop once the arguments are checked; the
 * state is copied into the context first, so final_state may be state. */
static void loop(ad_tape *t, const char *label, ad_step_fn step, size_t T, size_t segment,
                 const ad_checkpoint_io *state, ad_checkpoint_io *final_state, void *ctx)
{
    size_t L = segment ? segment : 1;
    while (!segment && L < T / L + (T % L != 0)) /* ceil(sqrt(T)) */
        L++;
    if (L > T) L = T;
    loop_ctx *c = make_ctx(t, label, state, T, L);
    if (!c) return;
    c->step = step;
    c->ctx = ctx;
    c->h.anomaly = t->anomaly;
    if (!t->recording) {
        run_plain(t, c, final_state);
        return;
    }
    ad_tape_mark m;
    ad_tape_mark_take(t, &m);
    ad_ckpt_first o = {0};
    bool ok = run_forward(t, c, &m, &o);
    ad_tape_truncate(t, &m);
    if (ok) ad_ckpt_emit(t, AD_OP_CHECKPOINT_LOOP, &c->h, o.d, o.sv, o.kinds, final_state);
    ad_free(o.block);
}

ad_status ad_checkpoint_loop(ad_tape *t, const char *name, ad_step_fn step, size_t T,
                             size_t segment, const ad_checkpoint_io *state,
                             ad_checkpoint_io *final_state, void *ctx)
{
    if (!t) return ad_no_tape("ad_checkpoint_loop: the tape is NULL");
    char label[CKPT_LABEL];
    ad_ckpt_label(label, "ad_checkpoint_loop", name, t->nn);
    bool out_ok = final_state && ad_ckpt_io_ok(t, label, "final_state", final_state, false);
    if (t->err != AD_OK) { /* a failed tape: nothing to run */
        (void)0;
    } else if (!step || !state || !final_state) {
        ad_ckpt_fail(t, AD_ERR_INVALID, label, "%s is NULL",
                     !step    ? "the step function"
                     : !state ? "state"
                              : "final_state");
    } else if (T == 0) {
        ad_ckpt_fail(t, AD_ERR_INVALID, label, "T is 0: a loop needs a step");
    } else if (final_state->n_tensors != state->n_tensors ||
               final_state->n_scalars != state->n_scalars) {
        ad_ckpt_fail(t, AD_ERR_INVALID, label,
                     "state has %zu tensors and %zu scalars, final_state %zu and %zu",
                     state->n_tensors, state->n_scalars, final_state->n_tensors,
                     final_state->n_scalars);
    } else if (ad_ckpt_io_ok(t, label, "state", state, true)) {
        loop(t, label, step, T, segment, state, final_state, ctx);
    }
    if (t->err != AD_OK && out_ok) ad_ckpt_io_invalidate(t, final_state);
    return t->err;
}

/* ---- the hub's rule: the segments again, last to first */

void ad_checkpoint_loop_forward(ad_tape *t, ad_node *y)
{
    (void)t;
    (void)y; /* the outputs carry the values */
}

/* The adjoint of a segment's first state (fresh leaves) into lam. */
static void read_lambda(const ad_tape *t, const loop_ctx *c, const ad_checkpoint_io *start,
                        unsigned char *lam)
{
    for (size_t j = 0; j < start->n_tensors; j++) {
        const ad_node *x = &t->nodes[start->tensors[j].index_];
        size_t bytes = x->numel * ad_dtype_size((ad_dtype)x->dtype);
        if (x->needs_grad && ad_grad_live(t, x))
            memcpy(lam + c->off[j], x->grad, bytes);
        else
            memset(lam + c->off[j], 0, bytes);
    }
    double *ls = (double *)(void *)(lam + c->off[start->n_tensors]);
    for (size_t j = 0; j < start->n_scalars; j++) {
        ad_scalar s = start->scalars[j];
        ls[j] = ad_ckpt_kind(s) == CKPT_RECORD ? t->hot.adj[s.index_] : 0.0;
    }
}

/* Segment s: its steps re-run from its first state, checked against the
 * state the forward pass kept at its end, seeded with lam, swept; lam then
 * holds the adjoint of its first state. */
static bool segment(ad_tape *t, const loop_ctx *c, size_t s, const ad_ckpt_tensor *d_end,
                    const double *sv_end, unsigned char *lam, const void **gt,
                    ad_checkpoint_io *cur, ad_checkpoint_io *next, ad_checkpoint_io *start)
{
    const char *label = c->h.label;
    ad_tape_mark m;
    ad_tape_mark_take(t, &m);
    bool ok = true;
    if (s == 0)
        copy_io(cur, &(ad_checkpoint_io){c->h.in_t, c->h.n_in_t, c->h.in_s, c->h.n_in_s});
    else
        ok = load(t, c, c->snap + (s - 1) * c->image, c->snap_kinds + (s - 1) * nkinds(c), cur);
    if (ok) copy_io(start, cur);
    size_t i0 = s * c->L, i1 = i0 + c->L < c->T ? i0 + c->L : c->T;
    for (size_t i = i0; ok && i < i1; i++) {
        ok = run_step(t, c, i, " re-run in the backward sweep", cur, next);
        if (ok) copy_io(cur, next);
    }
    char what[96];
    snprintf(what, sizeof what, "the state after step %zu:", i1 - 1);
    ok = ok && ad_ckpt_same_values(t, label, what, cur, d_end, sv_end);
    ok = ok &&
         ad_ckpt_seed(t, label, cur, gt, (const double *)(void *)(lam + c->off[cur->n_tensors]));
    ok = ok && ad_sweep_tail(t, m.nn, m.ns, label) == AD_OK;
    if (ok && s > 0) read_lambda(t, c, start, lam);
    ad_tape_truncate(t, &m);
    return ok;
}

void ad_checkpoint_loop_backward(ad_tape *t, ad_node *y)
{
    const loop_ctx *c = y->ctx;
    const char *label = c->h.label;
    size_t nt = c->h.n_in_t, ns = c->h.n_in_s;
    bool was = ad_ckpt_recording_on(t);
    ad_tape_mark m;
    ad_tape_mark_take(t, &m);
    unsigned char *lam = ad_tape_alloc(t, c->image, label);
    const void **gt = lam ? ad_tape_alloc(t, nt * sizeof *gt, label) : NULL;
    ad_ckpt_tensor *d = gt ? ad_tape_alloc(t, nt * sizeof *d, label) : NULL;
    ad_tensor *ht = d ? ad_tape_alloc(t, 3 * nt * sizeof *ht, label) : NULL;
    ad_scalar *hs = ht ? ad_tape_alloc(t, 3 * ns * sizeof *hs, label) : NULL;
    if (!hs) goto done;
    ad_checkpoint_io cur = {ht, nt, hs, ns}, next = {ht + nt, nt, hs + ns, ns},
                     start = {ht + 2 * nt, nt, hs + 2 * ns, ns};
    /* the final state's adjoint, and its values for the last segment's check */
    for (size_t j = 0; j < nt; j++) {
        const ad_node *o = &t->nodes[c->h.out0 + j];
        const void *g = ad_ckpt_out_grad(t, &c->h, j);
        size_t bytes = o->numel * ad_dtype_size((ad_dtype)o->dtype);
        if (g)
            memcpy(lam + c->off[j], g, bytes);
        else
            memset(lam + c->off[j], 0, bytes);
        gt[j] = lam + c->off[j];
        d[j] = c->d[j];
        d[j].value = o->value;
    }
    const double *gs = ad_ckpt_out_scalar_grad(t, &c->h);
    double *ls = (double *)(void *)(lam + c->off[nt]);
    for (size_t j = 0; j < ns; j++)
        ls[j] = gs ? gs[j] : 0.0;
    const double *sv = ns ? t->nodes[c->h.out0 + nt].value : NULL;
    for (size_t s = c->nseg; s-- > 0;) {
        if (s + 1 < c->nseg) { /* the end of segment s is the start of s + 1 */
            const unsigned char *img = c->snap + s * c->image;
            for (size_t j = 0; j < nt; j++)
                d[j].value = img + c->off[j];
            sv = (const double *)(const void *)(img + c->off[nt]);
        }
        if (!segment(t, c, s, d, sv, lam, gt, &cur, &next, &start)) break;
    }
done:
    ad_tape_truncate(t, &m);
    ad_ckpt_recording_restore(t, was);
}
