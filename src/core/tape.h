/* SPDX-License-Identifier: MIT
 * The tape's internals, shared by src/ and ops/ (never by src/nn/ or users):
 * the tape struct, scalar records, tensor nodes, and the helpers every op
 * uses to validate handles, allocate from the arena and report errors. */
#ifndef AD_TAPE_H
#define AD_TAPE_H

#include "adtape.h"
#include "arena.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define AD_LIKELY(x)          __builtin_expect(!!(x), 1)
#define AD_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#define AD_ALWAYS_INLINE      __attribute__((always_inline)) inline
#else
#define AD_LIKELY(x) (x)
#define AD_PRINTF(fmt, first)
#define AD_ALWAYS_INLINE inline
#endif

#define AD_INVALID_INDEX UINT32_MAX
/* Generations run 1 .. AD_GEN_MASK_ (the top bit of a scalar handle's marks
 * it folded); invalid handles carry 0; a tape that failed or does not record
 * has live_gen AD_DEAD_GEN, which no generation equals. */
#define AD_DEAD_GEN UINT32_MAX
/* The dummy record that scalars computed in evaluation mode from variables
 * point at: they carry no gradient, and a sweep from one is refused, while
 * index 0 (a constant) truly depends on nothing. */
#define AD_UNRECORDED 1u

/* One scalar op: the indices of its (at most two) inputs and the local
 * partials d(out)/d(in) computed when it was recorded. Leaves and unused
 * inputs point at one of the dummy records 0 .. AD_DUMMIES_-1, whose
 * adjoints soak up zero products, so the sweep is a multiply-add loop
 * whose only branch skips records with a zero adjoint. 24 bytes. */
typedef ad_srec_ ad_srec;

#define AD_SEG0     1024 /* records in the first segment */
#define AD_MAX_SEGS 22   /* enough for 2^32 records */
/* Segments that start this far into the tape are written with streaming
 * stores (hot.stream): the sweep reads them from memory either way, and
 * records past the last-level cache would be evicted before it comes. The
 * first such segment starts at 25 MB; smaller tapes keep ordinary stores,
 * so their sweep finds them in cache. */
#define AD_STREAM_FROM_BYTES ((size_t)16 << 20)
/* After a recording of this many bytes of records, a reset streams the
 * next recording from its first record (ad_tape_reset). */
#define AD_STREAM_ALL_BYTES ((size_t)64 << 20)

#define AD_NODE_INLINE_INPUTS 3

/* One tensor op's output. Inputs are other tensor nodes of the same tape,
 * always with smaller indices. */
typedef struct ad_node {
    uint16_t op;              /* ad_op_code */
    uint8_t dtype;            /* ad_dtype */
    uint8_t ndim;             /* 1..4 */
    uint8_t needs_grad;       /* some input needs a gradient (or it is a variable) */
    uint8_t grad_from_scalar; /* its gradient arrives as the adjoint of scalar record
                               * attr_i[1], not in grad (tensor_to_scalar) */
    uint8_t unrecorded;       /* no gradient reaches it, but one would have with
                               * recording on: made in evaluation mode from a
                               * variable or parameter (or from such a node) */
    uint8_t named;            /* ctx starts with the node's own op name (a const char *):
                               * custom ops (ad_custom_op), named by their user */
    uint32_t n_in;
    uint32_t in_inline[AD_NODE_INLINE_INPUTS];
    uint32_t *in_ext;     /* inputs when n_in > AD_NODE_INLINE_INPUTS (arena) */
    uint32_t scalar_mark; /* scalar records that existed when this node was made */
    uint32_t grad_sweep;  /* == the tape's sweep: grad holds a valid, zero-based sum
                           * (see ad_grad_live); 0 until a sweep reaches it */
    size_t dims[AD_MAX_DIMS];
    size_t numel;
    void *value;       /* arena, or the parameter's buffer */
    void *grad;        /* arena (lazily, by the sweep), or the parameter's gradient */
    ad_param *param;   /* for parameter leaves */
    void *ctx;         /* op-owned saved data in the arena (argmax indices, labels, ...) */
    double attr_f[2];  /* op attributes: slope, scale, ... */
    int64_t attr_i[4]; /* op attributes: axis, keepdim, start, stop, ... */
} ad_node;

struct ad_tape {
    /* first (scalar.c asserts it), and shared with the inline
     * arithmetic in adtape/inline.h: gen (bumped by every reset; handles
     * carry the one they were made in), live_gen (== gen while healthy and
     * recording, else AD_DEAD_GEN), and the current record segment */
    ad_tape_hot_ hot;
    bool recording;
    bool anomaly;
    ad_status err;
    char msg[512];

    /* Scalar records live in segments that double in size and never move:
     * seg[k] holds records [AD_SEG0 (2^k - 1), AD_SEG0 (2^(k+1) - 1)).
     * Growing a tape of millions of records copies nothing. Records
     * below AD_DUMMIES_ are the dummies. The fast path writes the slot hot.srec_origin + 24 ns
     * while ns < scap. */
    ad_srec *seg[AD_MAX_SEGS];
    size_t cur_seg;
    /* hot.adj: one adjoint per record slot of every allocated segment.
     * Recording zeroes a record's adjoint as it writes the record, so the
     * first sweep after recording needs no memset; a later sweep clears
     * [0, adj_dirty), what earlier sweeps wrote. */
    size_t adj_dirty;

    ad_node *nodes; /* tensor nodes in execution order */
    size_t nn, ncap;
    /* Bumped by every backward sweep (never 0 during one): a node's gradient
     * is live when its grad_sweep equals it, so starting a sweep forgets all
     * gradients without visiting the nodes. */
    uint32_t sweep;

    ad_arena arena; /* tensor values, gradients and saved context */
    size_t allocations;

    /* ad_tape_set_grad_ready: called as each parameter's gradient becomes
     * final during a sweep; NULL (the default) costs one test per leaf */
    ad_grad_ready_fn grad_ready;
    void *grad_ready_user;
    /* the most bytes in use (ad_tape_bytes_used) seen since the last reset;
     * memory only shrinks at a reset or a truncation, which update it */
    size_t peak_used;
};

struct ad_param {
    uint8_t dtype;
    uint8_t ndim;
    size_t dims[AD_MAX_DIMS];
    size_t numel;
    void *value;
    void *grad;
    /* During a sweep with a grad-ready hook: the lowest node index at which
     * the parameter enters the tape, where its gradient becomes final. Only
     * hooked sweeps write it (and they write grad too, so two such sweeps on
     * one parameter at once race already). */
    size_t ready_node;
};

/* Gradients of the parameters t uses, copied so a sweep that adds into them
 * can be undone: the drivers and checks differentiate with respect to their
 * own inputs and leave every parameter's gradient as it was. */
typedef struct ad_grads_aside {
    ad_param **p;
    unsigned char *bytes;
    size_t n;
} ad_grads_aside;
/* Copies the gradients of the parameters used on t except the n_keep in
 * keep (may be NULL). AD_ERR_NOMEM if the copy cannot be made; *a must be
 * passed to ad_grads_restore either way. */
ad_status ad_grads_put_aside(const ad_tape *t, ad_param *const *keep, size_t n_keep,
                             ad_grads_aside *a);
/* Copies them back and frees the copy. */
void ad_grads_restore(ad_grads_aside *a);

/* ---- errors */

/* Sets the sticky error (the first one wins) with a printf-style message that
 * starts with the public function's name. Returns the code. */
ad_status ad_tape_fail(ad_tape *t, ad_status code, const char *fmt, ...) AD_PRINTF(3, 4);
/* "[3,4]" for a node's shape into buf (at least AD_SHAPE_STR bytes); returns buf. */
#define AD_SHAPE_STR 64
const char *ad_shape_str(size_t ndim, const size_t *dims, char *buf);
const char *ad_dtype_name(ad_dtype dt);

/* Recomputes hot.live_gen after the error, recording or anomaly switch
 * changed: the inline scalar ops take the fast path only while it equals
 * the generation. Anomaly mode sends them down the slow path, which checks. */
static inline void ad_tape_update_live(ad_tape *t)
{
    t->hot.live_gen = (t->err == AD_OK && t->recording && !t->anomaly) ? t->hot.gen : AD_DEAD_GEN;
}

/* ---- memory */

/* 64-byte aligned tape memory until the next reset; NULL (and the tape failed
 * with AD_ERR_NOMEM, naming fn) when memory runs out. The bump from the
 * current block is inline; ad_tape_alloc_slow does the rest. */
void *ad_tape_alloc_slow(ad_tape *t, size_t bytes, const char *fn);
static inline void *ad_tape_alloc(ad_tape *t, size_t bytes, const char *fn)
{
    void *p = ad_arena_bump(&t->arena, bytes);
    return AD_LIKELY(p != NULL) ? p : ad_tape_alloc_slow(t, bytes, fn);
}
static inline size_t ad_dtype_size(ad_dtype dt)
{
    return dt == AD_F32 ? sizeof(float) : sizeof(double);
}

/* Bytes in use: tensor memory, scalar records and tensor nodes (what
 * ad_tape_stats_get reports as bytes_used). */
size_t ad_tape_bytes_used(const ad_tape *t);

/* ---- marks: a tail recorded, used and forgotten (checkpoints, ops/checkpoint.c)
 * A mark is where the tape stood. Truncating to it forgets every node,
 * record and byte of tape memory made since, keeping the memory itself, so
 * the next tail reuses it. Marks nest like a stack: truncate to the newest
 * first. Handles made in the tail dangle afterwards (a later tail reuses
 * their indices): only the code that made the tail may hold them. */
typedef struct ad_tape_mark {
    size_t nn, ns, cur_seg, scap, leaf_run;
    uintptr_t srec_origin;
    ad_arena_mark arena;
} ad_tape_mark;
void ad_tape_mark_take(const ad_tape *t, ad_tape_mark *m);
/* Also notes the peak before the memory is given back. */
void ad_tape_truncate(ad_tape *t, const ad_tape_mark *m);

/* The backward sweep over the tail above a mark: nodes n_lo.. and records
 * s_lo.. of the current sweep (no new sweep number, nothing zeroed but what
 * the tail itself made), seeded by the caller through the tail's gradients
 * and adjoints. Rules in the tail add into nodes and records below the mark
 * as any sweep does. Anomaly mode checks the tail. Returns the tape's error. */
ad_status ad_sweep_tail(ad_tape *t, size_t n_lo, size_t s_lo, const char *fn);
/* Makes x's gradient buffer part of the current sweep (zeroed the first
 * time); false, the tape failed naming fn, when memory runs out. */
bool ad_node_make_live(ad_tape *t, ad_node *x, const char *fn);

/* ---- handles */

/* The tape of a tensor handle after checking it: NULL if the handle is
 * invalid, stale or from another tape than `t` (t may be NULL: take the
 * handle's). Failures set the error on the handle's tape, naming fn. */
ad_node *ad_tensor_node(ad_tensor x, const char *fn);
static inline uint32_t ad_node_input_index(const ad_node *y, size_t k)
{
    return y->n_in <= AD_NODE_INLINE_INPUTS ? y->in_inline[k] : y->in_ext[k];
}
static inline ad_node *ad_node_input(const ad_tape *t, const ad_node *y, size_t k)
{
    return &t->nodes[ad_node_input_index(y, k)];
}
/* Whether x's gradient buffer holds the sum of the current (or last) sweep. */
static inline bool ad_grad_live(const ad_tape *t, const ad_node *x)
{
    return x->grad_sweep != 0 && x->grad_sweep == t->sweep;
}
/* ad_tensor_ok, inline. */
static inline bool ad_handle_ok(ad_tensor x)
{
    return x.tape_ && x.index_ != AD_INVALID_INDEX && x.gen_ != 0;
}
static inline ad_tensor ad_invalid_tensor(ad_tape *t)
{
    ad_tensor h = {t, AD_INVALID_INDEX, 0};
    return h;
}
ad_scalar ad_invalid_scalar(ad_tape *t);

/* Normalises a possibly negative axis; -1 (after failing the tape with a
 * message naming fn and the shape) when out of range. */
int ad_axis_norm(ad_tape *t, const char *fn, int axis, const ad_node *x);

/* Anomaly mode: fails the tape with AD_ERR_NUMERIC when buf (n elements of
 * y's dtype) holds a NaN or Inf, naming y's op, node index and input shapes
 * and the sweep; true when all is finite. */
/* The product of a shape's nonzero dimensions (SIZE_MAX when it overflows).
 * Every shape must keep it below SIZE_MAX / 16, empty shapes too, so the
 * verdict does not depend on where a 0 is. */
size_t ad_shape_nonzero_product(size_t ndim, const size_t *dims);
bool ad_anomaly_check(ad_tape *t, const ad_node *y, const void *buf, size_t n, bool backward);
/* The same for a buffer of dtype dt: an input's gradient, whose dtype is
 * not y's when y is a cast. */
bool ad_anomaly_check_dt(ad_tape *t, const ad_node *y, const void *buf, ad_dtype dt, size_t n,
                         bool backward);
/* Anomaly mode for leaf node k (what: "variable", "parameter", ...): fails t
 * naming fn and the first NaN or Inf in its value; true when all are finite. */
bool ad_anomaly_check_leaf(ad_tape *t, const char *fn, const char *what, size_t k);

/* ---- scalar records */

/* The scalar part of the sweep over records [lo, hi), last to first. */
void ad_scalar_sweep(const ad_tape *t, size_t lo, size_t hi);
/* First index of segment k. */
static inline size_t ad_seg_start(size_t k)
{
    return (size_t)AD_SEG0 * (((size_t)1 << k) - 1);
}
/* Moves to the next segment (allocating it the first time); false (tape
 * failed, naming fn) when memory runs out or the tape is full. */
bool ad_srec_next_segment(ad_tape *t, const char *fn);

/* The number messages and drawings give record i: the first recorded op is
 * 1, constants (and the dummies) 0. */
static inline size_t ad_srec_number(size_t i)
{
    return i < AD_DUMMIES_ ? 0 : i - AD_DUMMIES_ + 1;
}

/* Appends a leaf scalar record (a variable) with the given value. */
ad_scalar ad_scalar_leaf(ad_tape *t, double value, const char *fn);

/* Fill buffers from the library's PRNG (ad_rng in adtape.h). */
void ad_fill_uniform(void *buf, ad_dtype dt, size_t n, double lo, double hi, uint64_t seed);
void ad_fill_normal(void *buf, ad_dtype dt, size_t n, double mean, double std, uint64_t seed);

#endif
