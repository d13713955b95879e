/* SPDX-License-Identifier: MIT
 * Tape memory past the fast paths: the arena's slow allocation, the next
 * scalar-record segment (with its adjoints) and a larger tensor-node array,
 * each failing the tape with AD_ERR_NOMEM and the caller's name when memory
 * runs out. */
#include "op.h"

#include "alloc.h"

void *ad_tape_alloc_slow(ad_tape *t, size_t bytes, const char *fn)
{
    void *p = ad_arena_alloc(&t->arena, bytes);
    if (!p) ad_tape_fail(t, AD_ERR_NOMEM, "%s: out of memory allocating %zu bytes", fn, bytes);
    return p;
}

bool ad_srec_next_segment(ad_tape *t, const char *fn)
{
    size_t k = t->cur_seg + 1;
    if (k >= AD_MAX_SEGS || ad_seg_start(k + 1) > AD_INVALID_INDEX) {
        ad_tape_fail(t, AD_ERR_NOMEM, "%s: too many scalar records on one tape", fn);
        return false;
    }
    if (!t->seg[k]) {
        size_t n = ad_seg_start(k + 1) - ad_seg_start(k);
        /* adjoints first: if the segment then fails, the longer array is harmless */
        double *adj = ad_grow(t->hot.adj, ad_seg_start(k) * sizeof(double),
                              ad_mul_size(ad_seg_start(k + 1), sizeof(double)));
        if (adj) t->hot.adj = adj;
        t->seg[k] = adj ? ad_alloc(ad_mul_size(n, sizeof(ad_srec))) : NULL;
        if (!t->seg[k]) {
            ad_tape_fail(t, AD_ERR_NOMEM, "%s: out of memory growing the tape past %zu scalars", fn,
                         t->hot.ns - AD_DUMMIES_); /* the records made, not the dummies */
            return false;
        }
        t->allocations += 2;
    }
    t->cur_seg = k;
    /* unsigned wrap-around is well defined; only origin + 24 ns is ever
     * turned back into a pointer, and that lands inside seg[k] */
    t->hot.srec_origin = (uintptr_t)t->seg[k] - ad_seg_start(k) * sizeof(ad_srec);
    t->hot.scap = ad_seg_start(k + 1);
    /* segments only grow until a reset, so once on, streaming stays on */
    t->hot.stream = t->hot.stream || ad_seg_start(k) * sizeof(ad_srec) >= AD_STREAM_FROM_BYTES;
    return true;
}

bool ad_tape_grow_nodes(ad_tape *t, const char *fn)
{
    if (t->nn >= AD_INVALID_INDEX - 1) {
        ad_tape_fail(t, AD_ERR_NOMEM, "%s: too many tensor nodes on one tape", fn);
        return false;
    }
    size_t cap = 2 * t->ncap;
    ad_node *n = ad_grow(t->nodes, t->nn * sizeof *n, ad_mul_size(cap, sizeof *n));
    if (!n) {
        ad_tape_fail(t, AD_ERR_NOMEM, "%s: out of memory growing the tape to %zu nodes", fn, cap);
        return false;
    }
    t->allocations++;
    t->nodes = n;
    t->ncap = cap;
    return true;
}
