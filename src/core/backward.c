/* SPDX-License-Identifier: MIT
 * The backward sweep. Tape order is execution order, so walking it backwards
 * is a valid topological order: no graph search, no sort, no recursion.
 * Scalar records and tensor nodes interleave; each tensor node remembers how
 * many scalar records preceded it, which tells the sweep when to run the
 * scalar multiply-add loop between two tensor nodes. */
#include "op.h"

#include "alloc.h"
#include "last_error.h"

#include <math.h>
#include <string.h>

/* adj[a] += da adj[i]; adj[b] += db adj[i], for i from hi-1 down to lo,
 * one segment at a time. Leaves and unused operands point at dummy records
 * (AD_DUMMIES_ in adtape/inline.h), so the loop has one branch: records with a zero
 * adjoint pass nothing on. Without it a record the output does not depend
 * on, with an infinite or NaN partial (log of 0, sqrt of 0 or of -1, kept
 * for some other output or just computed on the side), would add 0 * inf =
 * NaN to its operands and on down to the variables. The branch is taken
 * the same way for long runs (records on the output's path, or not), so it
 * predicts well: a few per cent of the sweep, the price of correct
 * gradients. */
void ad_scalar_sweep(const ad_tape *t, size_t lo, size_t hi)
{
    double *adj = t->hot.adj;
    /* the leading leaves pass nothing on, and their records are not written */
    if (lo < t->hot.leaf_run) lo = t->hot.leaf_run;
    if (hi <= lo) return;
    size_t k = 0;
    while (hi > 0 && ad_seg_start(k + 1) < hi)
        k++;
    for (;; k--) {
        size_t base = ad_seg_start(k);
        const ad_srec *seg = t->seg[k];
        size_t stop = lo > base ? lo : base;
        for (size_t i = hi; i-- > stop;) {
            const ad_srec *r = &seg[i - base];
            double g = adj[i];
            if (g == 0.0) continue;
            adj[r->a] += r->da * g;
            adj[r->b] += r->db * g;
        }
        if (stop == lo || k == 0) break;
        hi = base;
    }
}

/* Makes x's gradient buffer a valid zero-based sum. Parameters keep their
 * buffer as it is: their gradients accumulate across sweeps and steps. */
static bool make_live_slow(ad_tape *t, ad_node *x, const char *fn)
{
    size_t bytes = x->numel * ad_dtype_size((ad_dtype)x->dtype);
    if (!x->grad) x->grad = ad_tape_alloc(t, bytes, fn);
    if (!x->grad) return false;
    memset(x->grad, 0, bytes);
    x->grad_sweep = t->sweep;
    return true;
}

static inline bool make_live(ad_tape *t, ad_node *x, const char *fn)
{
    if (x->grad_sweep == t->sweep) return true;
    if (!x->param) return make_live_slow(t, x, fn);
    x->grad_sweep = t->sweep;
    return true;
}

static void prepare(ad_tape *t)
{
    /* records zero their adjoints when written; only what sweeps wrote since */
    size_t dirty = t->adj_dirty < t->hot.ns ? t->adj_dirty : t->hot.ns;
    memset(t->hot.adj, 0, dirty * sizeof *t->hot.adj);
    t->adj_dirty = t->hot.ns;
    /* a new sweep number makes every gradient stale at once; when it wraps
     * (after 2^32 sweeps) the old numbers are wiped so none can match again */
    if (++t->sweep == 0) {
        for (size_t k = 0; k < t->nn; k++)
            t->nodes[k].grad_sweep = 0;
        t->sweep = 1;
    }
}

/* Variables off the output's path still report a gradient after a sweep:
 * zeros (also when the output depends on no variable at all). */
static ad_status zero_unreached_variables(ad_tape *t, const char *fn)
{
    for (size_t k = 0; k < t->nn; k++) {
        ad_node *x = &t->nodes[k];
        if (x->op == AD_OP_LEAF && x->needs_grad && !make_live(t, x, fn)) break;
    }
    return t->err;
}

/* Whether anything flowed into y in this sweep. A bridge from a scalar is
 * reached when the scalar's adjoint is nonzero: the scalar sweep skips
 * zero adjoints, and so does this. */
static inline bool reached(const ad_tape *t, const ad_node *y)
{
    if (y->grad_from_scalar) return t->hot.adj[y->attr_i[1]] != 0.0;
    return y->grad_sweep == t->sweep;
}

/* A parameter may enter a tape several times (weight sharing, two forward
 * passes); its gradient is final only at its lowest leaf, since every op
 * that reads it comes after that. Marks each parameter's lowest leaf. */
static void mark_ready_nodes(ad_tape *t)
{
    for (size_t k = t->nn; k-- > 0;)
        if (t->nodes[k].op == AD_OP_LEAF && t->nodes[k].param) t->nodes[k].param->ready_node = k;
}

/* The sweep has passed every op above leaf k: when k is its parameter's
 * lowest leaf, the gradient holds this sweep's whole contribution. */
static void grad_ready(ad_tape *t, size_t k)
{
    ad_param *p = t->nodes[k].param;
    if (p && p->ready_node == k) t->grad_ready(p, t->grad_ready_user);
}

/* Sweeps nodes n_lo.. and records s_lo.. (all of them: 0 and
 * AD_DUMMIES_). A rule may fail the tape (a checkpoint whose function
 * fails when re-run) and may record on the tape and forget it again
 * (ops/checkpoint.c), which can move the node array: y is read anew after
 * every rule. Parameters are announced ready only in the whole sweep
 * (n_lo 0): a checkpoint's re-run tail lies above the marks, and a
 * parameter used only inside it is left to the hook's owner to finish. */
static ad_status run_range(ad_tape *t, size_t n_lo, size_t s_lo, const char *fn)
{
    size_t cur = t->hot.ns;
    bool announce = t->grad_ready && n_lo == 0;
    if (announce) mark_ready_nodes(t);
    for (size_t k = t->nn; k-- > n_lo;) {
        ad_node *y = &t->nodes[k];
        if (y->scalar_mark < cur) {
            ad_scalar_sweep(t, y->scalar_mark, cur);
            cur = y->scalar_mark;
        }
        if (y->op == AD_OP_LEAF) {
            if (announce) grad_ready(t, k);
            continue;
        }
        if (!y->needs_grad) continue;
        if (!reached(t, y)) continue;
        for (size_t i = 0; i < y->n_in; i++) {
            ad_node *x = ad_node_input(t, y, i);
            if (x->needs_grad && !make_live(t, x, fn)) return t->err;
        }
        ad_op_table[y->op]->backward(t, y);
        /* a rule may fail the tape (a custom op's callback, memory, a
         * checkpoint's re-run): the gradients so far are partial, and the
         * sweep says so */
        if (t->err != AD_OK) return t->err;
        y = &t->nodes[k];
        if (t->anomaly) {
            for (size_t i = 0; i < y->n_in; i++) {
                ad_node *x = ad_node_input(t, y, i);
                /* the message names y: its rule produced the bad input gradient */
                if (x->needs_grad &&
                    !ad_anomaly_check_dt(t, y, x->grad, (ad_dtype)x->dtype, x->numel, true))
                    break;
            }
            if (t->err != AD_OK) return t->err;
        }
    }
    if (cur > s_lo) ad_scalar_sweep(t, s_lo, cur); /* any records left */
    if (t->anomaly) {                              /* the sweep reaches the highest record first */
        for (size_t i = t->hot.ns; i-- > s_lo;)
            if (!isfinite(t->hot.adj[i]))
                return ad_tape_fail(t, AD_ERR_NUMERIC,
                                    "%s: anomaly in the backward sweep: scalar record %zu has "
                                    "adjoint %g",
                                    fn, ad_srec_number(i), t->hot.adj[i]);
    }
    return AD_OK;
}

static ad_status run(ad_tape *t, const char *fn)
{
    if (run_range(t, 0, AD_DUMMIES_, fn) != AD_OK) return t->err;
    return zero_unreached_variables(t, fn);
}

void ad_tape_set_grad_ready(ad_tape *t, ad_grad_ready_fn fn, void *user)
{
    if (!t) {
        ad_no_tape("ad_tape_set_grad_ready: the tape is NULL");
        return;
    }
    t->grad_ready = fn;
    t->grad_ready_user = fn ? user : NULL;
}

ad_status ad_sweep_tail(ad_tape *t, size_t n_lo, size_t s_lo, const char *fn)
{
    return run_range(t, n_lo, s_lo < AD_DUMMIES_ ? AD_DUMMIES_ : s_lo, fn);
}

bool ad_node_make_live(ad_tape *t, ad_node *x, const char *fn)
{
    return make_live(t, x, fn);
}

static ad_status tensor_sweep(ad_tensor y, const double *seed, const char *fn)
{
    ad_tape *t = y.tape_;
    if (!t) return ad_no_tape("%s: the output has no tape (a zero-initialised handle?)", fn);
    if (t->err != AD_OK) return t->err;
    ad_node *n = ad_tensor_node(y, fn);
    if (!n) return t->err;
    if (!seed) {
        if (n->numel != 1) {
            char s[AD_SHAPE_STR];
            return ad_tape_fail(t, AD_ERR_SHAPE,
                                "%s: output has shape %s, not one element; use "
                                "ad_backward_seeded with a seed for a non-scalar output",
                                fn, ad_shape_str(n->ndim, n->dims, s));
        }
    }
    if (n->unrecorded)
        return ad_tape_fail(t, AD_ERR_INVALID,
                            "%s: the output was computed with recording off (evaluation mode, "
                            "ad_tape_set_recording(t, false)), so no gradient can reach the "
                            "variables and parameters it depends on; record it with recording on",
                            fn);
    prepare(t);
    if (!n->needs_grad) return zero_unreached_variables(t, fn); /* y depends on no variable */
    if (!make_live(t, n, fn)) return t->err;
    for (size_t i = 0; i < n->numel; i++) {
        double s = seed ? seed[i] : 1.0;
        if (n->dtype == AD_F32)
            ((float *)n->grad)[i] += (float)s;
        else
            ((double *)n->grad)[i] += s;
    }
    return run(t, fn);
}

ad_status ad_backward(ad_tensor y)
{
    return tensor_sweep(y, NULL, "ad_backward");
}

ad_status ad_backward_seeded(ad_tensor y, const double *seed)
{
    if (!seed) {
        if (y.tape_)
            return ad_tape_fail(y.tape_, AD_ERR_INVALID, "ad_backward_seeded: seed is NULL");
        return ad_no_tape("ad_backward_seeded: seed is NULL and the output has no tape");
    }
    return tensor_sweep(y, seed, "ad_backward_seeded");
}

ad_status ad_backward_scalar_seeded(ad_scalar y, double seed)
{
    const char *fn = "ad_backward_scalar";
    ad_tape *t = y.tape_;
    if (!t) return ad_no_tape("%s: the output has no tape (a zero-initialised handle?)", fn);
    if (t->err != AD_OK) return t->err;
    if (y.index_ == AD_INVALID_INDEX || y.gen_ == 0)
        return ad_tape_fail(t, AD_ERR_INVALID, "%s: output is an invalid scalar", fn);
    if ((y.gen_ & AD_GEN_MASK_) != t->hot.gen)
        return ad_tape_fail(t, AD_ERR_STALE,
                            "%s: output was recorded before the last ad_tape_reset", fn);
    if (y.index_ < AD_DUMMIES_ && y.index_ != 0)
        return ad_tape_fail(t, AD_ERR_INVALID,
                            "%s: the output was computed with recording off (evaluation mode, "
                            "ad_tape_set_recording(t, false)), so no gradient can reach the "
                            "variables it depends on; record it with recording on",
                            fn);
    prepare(t);
    if (y.index_ == 0) return zero_unreached_variables(t, fn); /* a constant: all adjoints 0 */
    /* a folded y seeds the record it depends on, times its derivative */
    t->hot.adj[y.index_] = ad_chain_(seed, y.mult_);
    return run(t, fn);
}

ad_status ad_backward_scalar(ad_scalar y)
{
    return ad_backward_scalar_seeded(y, 1.0);
}
