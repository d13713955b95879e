/* SPDX-License-Identifier: MIT
 * The tape: lifetime, the sticky error, stats, handle validation, and the
 * one routine (ad_op_record) through which every tensor op is recorded. */
#include "tape.h"

#include "../ops/ops.h"
#include "alloc.h"
#include "last_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { FIRST_NODES = 64 };

const char *ad_version(void)
{
    return ADTAPE_VERSION_STRING;
}

const char *ad_status_name(ad_status s)
{
    static const char *const names[] = {
        "AD_OK",          "AD_ERR_INVALID", "AD_ERR_SHAPE",     "AD_ERR_DTYPE",
        "AD_ERR_FOREIGN", "AD_ERR_STALE",   "AD_ERR_NOMEM",     "AD_ERR_NUMERIC",
        "AD_ERR_IO",      "AD_ERR_FORMAT",  "AD_ERR_GRADCHECK",
    };
    size_t i = (size_t)s;
    return i < sizeof names / sizeof names[0] ? names[i] : "AD_ERR_UNKNOWN";
}

static void update_live(ad_tape *t)
{
    /* anomaly mode sends scalar ops down the slow path, which checks them */
    t->hot.live_gen = (t->err == AD_OK && t->recording && !t->anomaly) ? t->hot.gen : AD_DEAD_GEN;
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
    update_live(t);
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
    if (!t) return;
    ad_arena_rewind(&t->arena);
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
    update_live(t);
}

bool ad_tape_set_recording(ad_tape *t, bool on)
{
    if (!t) return false;
    bool was = t->recording;
    t->recording = on;
    update_live(t);
    return was;
}

void ad_tape_set_anomaly(ad_tape *t, bool on)
{
    if (!t) return;
    t->anomaly = on;
    update_live(t);
}

ad_tape_stats ad_tape_stats_get(const ad_tape *t)
{
    ad_tape_stats s = {0};
    if (!t) return s;
    s.scalar_nodes = t->hot.ns - AD_DUMMIES_;
    s.tensor_nodes = t->nn;
    s.bytes_used = ad_arena_used(&t->arena) + t->hot.ns * sizeof(ad_srec) + t->nn * sizeof(ad_node);
    size_t records = 0;
    for (size_t k = 0; k < AD_MAX_SEGS && t->seg[k]; k++)
        records += ad_seg_start(k + 1) - ad_seg_start(k);
    s.bytes_reserved = t->arena.reserved + records * sizeof(ad_srec) + t->ncap * sizeof(ad_node) +
                       records * sizeof(double);
    s.allocations = t->allocations + t->arena.allocations;
    return s;
}

/* ---------------------------------------------------------------- errors */

ad_status ad_tape_fail(ad_tape *t, ad_status code, const char *fmt, ...)
{
    if (!t || t->err != AD_OK) return code;
    t->err = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    update_live(t);
    return code;
}

ad_status ad_tape_error(const ad_tape *t, const char **message)
{
    if (!t) {
        if (message) *message = "ad_tape_error: tape is NULL";
        return AD_ERR_INVALID;
    }
    if (message) *message = t->msg;
    return t->err;
}

ad_status ad_tape_set_error(ad_tape *t, ad_status code, const char *message)
{
    if (!t) return AD_ERR_INVALID;
    if (code == AD_OK) return t->err;
    if ((unsigned)code > (unsigned)AD_ERR_GRADCHECK) /* no ad_status: say so, keep the message */
        ad_tape_fail(t, AD_ERR_INVALID, "ad_tape_set_error: unknown status code %d (message: %s)",
                     (int)code, message ? message : "(no message)");
    else
        ad_tape_fail(t, code, "%s", message ? message : "(no message)");
    return t->err;
}

ad_status ad_tape_error_context(ad_tape *t, const char *fn)
{
    if (!t) return AD_ERR_INVALID;
    if (t->err == AD_OK || !fn) return t->err;
    /* shift the message right by "fn: ", cutting its end to fit */
    size_t cap = sizeof t->msg - 1, fl = strlen(fn);
    if (fl > cap - 2) fl = cap - 2;
    size_t ml = strlen(t->msg), keep = ml < cap - 2 - fl ? ml : cap - 2 - fl;
    memmove(t->msg + fl + 2, t->msg, keep);
    t->msg[fl + 2 + keep] = '\0';
    memcpy(t->msg, fn, fl);
    memcpy(t->msg + fl, ": ", 2);
    return t->err;
}

void ad_tape_clear_error(ad_tape *t)
{
    if (!t) return;
    t->err = AD_OK;
    t->msg[0] = '\0';
    update_live(t);
}

const char *ad_shape_str(size_t ndim, const size_t *dims, char *buf)
{
    /* Four 20-digit dimensions need 86 bytes: a shape that does not fit
     * ends in ",...]", never in a "]" that hides the dimensions cut off. */
    size_t off = 0;
    buf[off++] = '[';
    for (size_t i = 0; i < ndim; i++) {
        char d[24];
        size_t len = (size_t)snprintf(d, sizeof d, i ? ",%zu" : "%zu", dims[i]);
        /* room after it for "]" if it is the last, else for ",...]", and the NUL */
        if (off + len + (i + 1 < ndim ? 5 : 1) >= AD_SHAPE_STR) {
            const char *cut = i ? ",..." : "...";
            memcpy(buf + off, cut, strlen(cut));
            off += strlen(cut);
            break;
        }
        memcpy(buf + off, d, len);
        off += len;
    }
    buf[off++] = ']';
    buf[off] = '\0';
    return buf;
}

const char *ad_dtype_name(ad_dtype dt)
{
    return dt == AD_F32 ? "float32" : dt == AD_F64 ? "float64" : "unknown dtype";
}

/* ---------------------------------------------------------------- memory */

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

/* Room for one more tensor node; false (tape failed) when memory runs out. */
static bool grow_nodes(ad_tape *t, const char *fn)
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

static inline bool reserve_node(ad_tape *t, const char *fn)
{
    return AD_LIKELY(t->nn < t->ncap) || grow_nodes(t, fn);
}

/* --------------------------------------------------------------- handles */

ad_scalar ad_invalid_scalar(ad_tape *t)
{
    ad_scalar s = {t, AD_INVALID_INDEX, 0, (double)NAN, 0.0};
    return s;
}

ad_node *ad_tensor_node(ad_tensor x, const char *fn)
{
    ad_tape *t = x.tape_;
    if (!t) return NULL; /* no tape to report on; callers handle NULL tapes */
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

/* ------------------------------------------------------------- recording */

size_t ad_shape_nonzero_product(size_t ndim, const size_t *dims)
{
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++)
        if (dims[i] != 0) n = ad_mul_size(n, dims[i]);
    return n;
}

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
    size_t bad = first_nonfinite(buf, (ad_dtype)y->dtype, n);
    if (bad == SIZE_MAX) return true;
    char ins[4 * AD_SHAPE_STR] = "";
    size_t off = 0;
    for (size_t k = 0; k < y->n_in && k < 3; k++) {
        char s[AD_SHAPE_STR];
        const ad_node *x = ad_node_input(t, y, k);
        off += (size_t)snprintf(ins + off, sizeof ins - off, "%s%s", k ? " " : "",
                                ad_shape_str(x->ndim, x->dims, s));
    }
    double v = y->dtype == AD_F32 ? (double)((const float *)buf)[bad] : ((const double *)buf)[bad];
    /* like every message, it starts with the public function that failed:
     * the op's own (ad_<name>) in the forward sweep, ad_backward after it */
    ad_tape_fail(t, AD_ERR_NUMERIC,
                 "ad_%s: anomaly in the %s sweep: op %s (node %zu, inputs %s) produced %g at "
                 "element %zu",
                 backward ? "backward" : ad_op_table[y->op]->name,
                 backward ? "backward" : "forward", ad_op_table[y->op]->name,
                 (size_t)(y - t->nodes), off ? ins : "none", v, bad);
    return false;
}

/* The checks of ad_op_record one by one, in the order the messages promise:
 * the tape (from the first input that has one, so a zeroed handle among the
 * inputs is reported there rather than silently ignored), inputs without a
 * tape, an unimplemented op, then per input: foreign, invalid, stale, not on
 * the tape, another dtype. Fills *idx (allocated from the arena for more
 * than AD_NODE_INLINE_INPUTS inputs) and *needs_grad and returns true, or
 * false when a check failed (the tape failed when there is one). *tp is the
 * tape either way (NULL when no input has one). */
static bool check_inputs(const char *fn, const ad_op_def *def, const ad_tensor *ins, size_t n_in,
                         ad_tape **tp, uint32_t **idx, bool *needs_grad)
{
    ad_tape *t = NULL;
    for (size_t k = 0; k < n_in && !t; k++)
        t = ins[k].tape_;
    *tp = t;
    if (!t || t->err != AD_OK) return false;
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
        *needs_grad |= x->needs_grad;
    }
    return true;
}

/* The common case in one pass: at most AD_NODE_INLINE_INPUTS inputs, a
 * healthy tape, an implemented op, and every input a current handle on
 * ins[0]'s tape with ins[0]'s dtype. False leaves the verdict (and the
 * message) to check_inputs. */
static inline bool inputs_fast(const ad_tape *t, const ad_op_def *def, const ad_tensor *ins,
                               size_t n_in, uint32_t *idx, bool *needs_grad)
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
        ng |= x->needs_grad;
    }
    *needs_grad = ng != 0;
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

static inline ad_tensor commit_node(ad_tape *t)
{
    ad_tensor h = {t, (uint32_t)t->nn, t->hot.gen};
    t->nn++;
    return h;
}

ad_tensor ad_op_record(const char *fn, uint16_t op, const ad_tensor *ins, size_t n_in,
                       const ad_op_attrs *attrs)
{
    if (n_in == 0 || !ins) return ad_invalid_tensor(NULL);
    const ad_op_def *def = ad_op_table[op];
    ad_tape *t = ins[0].tape_;
    bool needs_grad = false;
    ad_node *y;
    /* the fast check writes the input indices straight into the next slot,
     * which is only claimed (t->nn++) once the op has succeeded */
    if (AD_LIKELY(t && t->nn < t->ncap &&
                  inputs_fast(t, def, ins, n_in, t->nodes[t->nn].in_inline, &needs_grad))) {
        y = push_node(t, op, t->nodes[ins[0].index_].dtype);
        y->in_ext = NULL;
    } else {
        uint32_t small[AD_NODE_INLINE_INPUTS];
        uint32_t *idx = small;
        if (!check_inputs(fn, def, ins, n_in, &t, &idx, &needs_grad)) return ad_invalid_tensor(t);
        if (!reserve_node(t, fn)) return ad_invalid_tensor(t);
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
    y->needs_grad = needs_grad && t->recording;
    def->forward(t, y);
    if (t->err != AD_OK) return ad_invalid_tensor(t); /* a forward may fail (labels) */
    if (t->anomaly && !ad_anomaly_check(t, y, y->value, y->numel, false))
        return ad_invalid_tensor(t);
    return commit_node(t);
}

ad_tensor ad_leaf_new(ad_tape *t, const char *fn, ad_dtype dt, size_t ndim, const size_t *dims,
                      const void *data, bool variable)
{
    if (!t) return ad_invalid_tensor(NULL);
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
    if (!reserve_node(t, fn)) return ad_invalid_tensor(t);
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
    y->needs_grad = variable && t->recording;
    return commit_node(t);
}

/* A parameter as a leaf: the node borrows the parameter's buffers. */
ad_tensor ad_param_use(ad_tape *t, ad_param *p)
{
    if (!t) return ad_invalid_tensor(NULL);
    if (t->err != AD_OK) return ad_invalid_tensor(t);
    if (!p) {
        ad_tape_fail(t, AD_ERR_INVALID, "ad_param_use: parameter is NULL");
        return ad_invalid_tensor(t);
    }
    if (!reserve_node(t, "ad_param_use")) return ad_invalid_tensor(t);
    /* every field written once: this runs for each parameter every step */
    ad_node *y = &t->nodes[t->nn];
    y->op = AD_OP_LEAF;
    y->dtype = p->dtype;
    y->ndim = p->ndim;
    y->needs_grad = t->recording;
    y->grad_from_scalar = 0;
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
    return commit_node(t);
}
