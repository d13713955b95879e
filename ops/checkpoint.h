/* SPDX-License-Identifier: MIT
 * What ad_checkpoint (checkpoint.c) and ad_checkpoint_loop
 * (checkpoint_loop.c) share: checking handles, naming the checkpoint in
 * messages, and the nodes a checkpoint leaves on the tape (a hub and its
 * outputs), with the outputs' adjoints read back in the sweep. */
#ifndef AD_OPS_CHECKPOINT_H
#define AD_OPS_CHECKPOINT_H

#include "ops.h"

/* A label for messages: "ad_checkpoint 'name'" or "ad_checkpoint at node K". */
#define CKPT_LABEL 160

/* An output (or state) tensor as the first run left it: its description
 * and where its value is now. */
typedef struct ad_ckpt_tensor {
    uint8_t dtype, ndim, needs_grad, unrecorded;
    size_t dims[AD_MAX_DIMS];
    size_t numel;
    const void *value;
} ad_ckpt_tensor;

/* What a scalar output depends on: nothing, something unrecorded
 * (evaluation mode), or a record (it needs a gradient). */
enum { CKPT_CONST = 0, CKPT_UNRECORDED = 1, CKPT_RECORD = 2 };

/* The part of a hub's context both kinds share (the first member of each). */
typedef struct ad_ckpt_hub {
    const char *label; /* in the arena */
    ad_tensor *in_t;   /* the inputs (copies, arena) */
    ad_scalar *in_s;
    size_t n_in_t, n_in_s;
    size_t n_out_t, n_out_s;
    uint32_t out0; /* node of output tensor 0; the scalars' node follows the tensors' */
    bool anomaly;  /* anomaly mode when the first run recorded */
} ad_ckpt_hub;

void ad_ckpt_label(char *buf, const char *fn, const char *name, size_t node);
/* Fails t (AD_ERR_INVALID unless code says otherwise) with "label: ...". */
ad_status ad_ckpt_fail(ad_tape *t, ad_status code, const char *label, const char *fmt, ...)
    AD_PRINTF(4, 5);
/* After the user's function failed (st, or the tape's error): "label: where:
 * <the tape's message>", or a message of its own when the function
 * returned a failure without failing the tape. Returns the tape's error. */
ad_status ad_ckpt_fail_from(ad_tape *t, ad_status st, const char *label, const char *where);
/* Checks an io's arrays (what: "in", "out") and, when handles is true, that
 * every handle is a current one on t; fails t naming label. */
bool ad_ckpt_io_ok(ad_tape *t, const char *label, const char *what, const ad_checkpoint_io *io,
                   bool handles);
/* Sets every entry of io to an invalid handle on t. */
void ad_ckpt_io_invalidate(ad_tape *t, ad_checkpoint_io *io);
/* Describes the handles of io (all checked) into d and kinds. */
void ad_ckpt_describe(const ad_tape *t, const ad_checkpoint_io *io, ad_ckpt_tensor *d,
                      uint8_t *kinds);
/* The kind of a scalar handle (CKPT_CONST ...). */
uint8_t ad_ckpt_kind(ad_scalar s);
/* The fingerprint of the tensor nodes k0..nn: ops, dtypes and shapes. */
uint64_t ad_ckpt_node_hash(const ad_tape *t, size_t k0);

/* The first run's outputs, copied out of the tail before it is forgotten
 * (into one heap block, which the caller frees with ad_free). False (tape
 * failed) when memory runs out. */
typedef struct ad_ckpt_first {
    ad_ckpt_tensor *d;
    double *sv;
    uint8_t *kinds;
    void *block;
} ad_ckpt_first;
bool ad_ckpt_copy_outputs(ad_tape *t, const char *label, const ad_checkpoint_io *out,
                          ad_ckpt_first *o);

/* After the first run and its truncation: records the hub (op, ctx h, whose
 * in_t, in_s, counts and anomaly the caller set), the output tensors (d,
 * values copied) and one float64 node of the scalar outputs' values (sv,
 * kinds) bridged to scalars, into out. Outputs that need no gradient become
 * constants and no hub is made. False (tape failed) when memory runs out. */
bool ad_ckpt_emit(ad_tape *t, uint16_t op, ad_ckpt_hub *h, const ad_ckpt_tensor *d,
                  const double *sv, const uint8_t *kinds, ad_checkpoint_io *out);

/* In the sweep: the adjoint of output tensor j (NULL when none reached it)
 * and of the scalar outputs (NULL likewise). */
const void *ad_ckpt_out_grad(const ad_tape *t, const ad_ckpt_hub *h, size_t j);
const double *ad_ckpt_out_scalar_grad(const ad_tape *t, const ad_ckpt_hub *h);
/* Adds the adjoints gt[j] (dtype of tensor j, NULL: none) and gs (NULL:
 * none) into the handles of io: the re-run's outputs. */
bool ad_ckpt_seed(ad_tape *t, const char *label, const ad_checkpoint_io *io, const void *const *gt,
                  const double *gs);
/* Whether the values of io equal d's and sv bit for bit; else fails t with
 * "label: <what>: ..." naming the first element that differs. */
bool ad_ckpt_same_values(ad_tape *t, const char *label, const char *what,
                         const ad_checkpoint_io *io, const ad_ckpt_tensor *d, const double *sv);
/* Checks that the handles in io are current ones on t with d's dtypes and
 * shapes (what names them in messages). */
bool ad_ckpt_same_shapes(ad_tape *t, const char *label, const char *what,
                         const ad_checkpoint_io *io, const ad_ckpt_tensor *d);
/* Switches recording on for a re-run; returns the previous setting. */
bool ad_ckpt_recording_on(ad_tape *t);
void ad_ckpt_recording_restore(ad_tape *t, bool was);

#endif
