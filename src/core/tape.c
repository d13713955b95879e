/* SPDX-License-Identifier: MIT
 * The tape's lifetime: a new tape with its first record segment and node
 * array, reset (rewind, keep the memory, bump the generation), free, the
 * recording and anomaly switches, and the statistics. */
#include "tape.h"

#include "alloc.h"
#include "last_error.h"

#include <string.h>

enum { FIRST_NODES = 64 };

const char *ad_version(void)
{
    return ADTAPE_VERSION_STRING;
}

ad_tape *ad_tape_new(void)
{
    ad_tape *t = ad_alloc(sizeof *t);
    if (!t) {
        ad_last_error_set("ad_tape_new: out of memory");
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->seg[0] = ad_alloc(AD_SEG0 * sizeof(ad_srec));
    t->hot.adj = ad_alloc(AD_SEG0 * sizeof(double));
    t->nodes = ad_alloc(FIRST_NODES * sizeof *t->nodes);
    if (!t->seg[0] || !t->hot.adj || !t->nodes) {
        ad_free(t->seg[0]);
        ad_free(t->hot.adj);
        ad_free(t->nodes);
        ad_free(t);
        ad_last_error_set("ad_tape_new: out of memory");
        return NULL;
    }
    ad_last_error_clear();
    t->hot.srec_origin = (uintptr_t)t->seg[0];
    t->hot.scap = AD_SEG0;
    t->ncap = FIRST_NODES;
    t->allocations = 4;
    for (uint32_t k = 0; k < AD_DUMMIES_; k++) /* for missing operands; never swept */
        t->seg[0][k] = (ad_srec){k, k, 0.0, 0.0};
    t->hot.ns = AD_DUMMIES_;
    t->hot.leaf_run = AD_DUMMIES_;
    t->hot.gen = 1;
    t->recording = true;
    ad_tape_update_live(t);
    return t;
}

void ad_tape_free(ad_tape *t)
{
    if (!t) return;
    ad_arena_release(&t->arena);
    for (size_t k = 0; k < AD_MAX_SEGS; k++)
        ad_free(t->seg[k]);
    ad_free(t->hot.adj);
    ad_free(t->nodes);
    ad_free(t);
}

void ad_tape_reset(ad_tape *t)
{
    if (!t) {
        ad_no_tape("ad_tape_reset: the tape is NULL");
        return;
    }
    ad_arena_rewind(&t->arena);
    t->peak_used = 0;
    /* a recording that outgrew the caches by far is most likely followed by
     * another one of its size (a training loop, a benchmark): stream it all */
    t->hot.stream = t->hot.ns * sizeof(ad_srec) >= AD_STREAM_ALL_BYTES;
    t->hot.ns = AD_DUMMIES_;
    t->hot.leaf_run = AD_DUMMIES_;
    t->cur_seg = 0;
    t->hot.srec_origin = (uintptr_t)t->seg[0];
    t->hot.scap = AD_SEG0;
    t->adj_dirty = 0; /* re-recording zeroes each adjoint it reuses */
    t->nn = 0;
    /* the top bit of a scalar handle's generation marks it folded */
    t->hot.gen = t->hot.gen >= AD_GEN_MASK_ ? 1 : t->hot.gen + 1;
    t->err = AD_OK;
    t->msg[0] = '\0';
    ad_tape_update_live(t);
}

bool ad_tape_set_recording(ad_tape *t, bool on)
{
    if (!t) return ad_no_tape("ad_tape_set_recording: the tape is NULL") == AD_OK;
    bool was = t->recording;
    t->recording = on;
    ad_tape_update_live(t);
    return was;
}

void ad_tape_set_anomaly(ad_tape *t, bool on)
{
    if (!t) {
        ad_no_tape("ad_tape_set_anomaly: the tape is NULL");
        return;
    }
    t->anomaly = on;
    ad_tape_update_live(t);
}

size_t ad_tape_bytes_used(const ad_tape *t)
{
    return ad_arena_used(&t->arena) + t->hot.ns * sizeof(ad_srec) + t->nn * sizeof(ad_node);
}

size_t ad_tape_peak_bytes(const ad_tape *t)
{
    if (!t) {
        ad_no_tape("ad_tape_peak_bytes: the tape is NULL");
        return 0;
    }
    size_t now = ad_tape_bytes_used(t);
    return now > t->peak_used ? now : t->peak_used;
}

void ad_tape_mark_take(const ad_tape *t, ad_tape_mark *m)
{
    m->nn = t->nn;
    m->ns = t->hot.ns;
    m->cur_seg = t->cur_seg;
    m->scap = t->hot.scap;
    m->leaf_run = t->hot.leaf_run;
    m->srec_origin = t->hot.srec_origin;
    ad_arena_mark_take(&t->arena, &m->arena);
}

/* Segments above the mark's stay allocated and are walked into again by
 * ad_srec_next_segment; their records and adjoints are rewritten (and the
 * adjoints zeroed) as the next tail records them. */
void ad_tape_truncate(ad_tape *t, const ad_tape_mark *m)
{
    size_t now = ad_tape_bytes_used(t);
    if (now > t->peak_used) t->peak_used = now;
    t->nn = m->nn;
    t->hot.ns = m->ns;
    t->cur_seg = m->cur_seg;
    t->hot.scap = m->scap;
    t->hot.leaf_run = m->leaf_run;
    t->hot.srec_origin = m->srec_origin;
    ad_arena_truncate(&t->arena, &m->arena);
}

ad_tape_stats ad_tape_stats_get(const ad_tape *t)
{
    ad_tape_stats s = {0};
    if (!t) {
        ad_no_tape("ad_tape_stats_get: the tape is NULL");
        return s;
    }
    s.scalar_nodes = t->hot.ns - AD_DUMMIES_;
    s.tensor_nodes = t->nn;
    s.bytes_used = ad_tape_bytes_used(t);
    size_t records = 0;
    for (size_t k = 0; k < AD_MAX_SEGS && t->seg[k]; k++)
        records += ad_seg_start(k + 1) - ad_seg_start(k);
    s.bytes_reserved = t->arena.reserved + records * sizeof(ad_srec) + t->ncap * sizeof(ad_node) +
                       records * sizeof(double);
    s.allocations = t->allocations + t->arena.allocations;
    return s;
}
