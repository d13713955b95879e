/* SPDX-License-Identifier: MIT
 * The contract between the core and the ops: what a row of the op table
 * holds, how an op records a node, and the helpers its rules use to reach
 * inputs. The core reads rows through ad_op_table; which ops exist is the
 * business of ops/ (ops/ops.h), which the core never includes. */
#ifndef AD_CORE_OP_H
#define AD_CORE_OP_H

#include "tape.h"

/* Op code 0 is the leaf (constant, variable or parameter): nothing to
 * compute. The ops' enum (ops/ops.h) numbers every other row after it. */
enum { AD_OP_LEAF = 0 };

/* shape: fills y->dtype, ndim, dims from y's inputs and attributes, or fails
 *        the tape with a message starting with fn and returns false.
 * forward: computes y->value from the inputs' values.
 * backward: adds (+=) the vector-Jacobian product of y->grad into the grad of
 *        every input whose grad is not NULL; a pure function of saved inputs,
 *        saved output and y->grad that allocates only from the tape.
 * scalar_inputs: for the ops that read scalar records (ad_stack_scalars),
 *        the record each element came from (numel entries, 0 for a
 *        constant), which graph export draws; NULL for every other op. Such
 *        an op's input 0 only lends the node its tape and dtype.
 * Nodes whose gradient arrives as a scalar record's adjoint
 * (ad_tensor_to_scalar) say so with grad_from_scalar. */
typedef struct ad_op_def {
    const char *name;
    int arity; /* -1: variadic */
    bool (*shape)(ad_tape *t, ad_node *y, const char *fn);
    void (*forward)(ad_tape *t, ad_node *y);
    void (*backward)(ad_tape *t, ad_node *y);
    const uint32_t *(*scalar_inputs)(const ad_node *y);
} ad_op_def;

/* One row per op code, defined by ops/ from its op list. */
extern const ad_op_def *const ad_op_table[];

/* The op's name in messages and graph export: the table's, or the node's
 * own for a named node (a custom op, named by its user). */
static inline const char *ad_node_op_name(const ad_node *y)
{
    return y->named ? *(const char *const *)y->ctx : ad_op_table[y->op]->name;
}

/* The input's gradient buffer when it needs one, else NULL. */
static inline void *ad_input_grad(const ad_tape *t, const ad_node *y, size_t k)
{
    const ad_node *x = ad_node_input(t, y, k);
    return x->needs_grad ? x->grad : NULL;
}

/* ---- recording tensor ops */

/* Room for one more tensor node (ad_tape_grow_nodes doubles the array);
 * false, the tape failed naming fn, when memory runs out. */
bool ad_tape_grow_nodes(ad_tape *t, const char *fn);
static inline bool ad_node_reserve(ad_tape *t, const char *fn)
{
    return AD_LIKELY(t->nn < t->ncap) || ad_tape_grow_nodes(t, fn);
}
/* Whether a gradient reaches node y: it does when some input needs one
 * (wants) and the tape records; when the tape does not record, or an input
 * is itself unrecorded, the node is marked unrecorded, so a sweep from it is
 * refused rather than returning zeros (ad_backward). */
static inline void ad_node_set_grad(const ad_tape *t, ad_node *y, bool wants, bool lost)
{
    y->needs_grad = wants && t->recording;
    y->unrecorded = !y->needs_grad && (lost || wants);
}

/* The handle of node t->nn, which the caller has filled: it joins the tape. */
static inline ad_tensor ad_node_commit(ad_tape *t)
{
    ad_tensor h = {t, (uint32_t)t->nn, t->hot.gen};
    t->nn++;
    return h;
}

/* Attributes an op is recorded with; copied into the node before its shape
 * rule runs. */
typedef struct ad_op_attrs {
    double f[2];
    int64_t i[4];
    void *ctx;
} ad_op_attrs;

/* Validates the inputs (same tape, current generation, same dtype unless the
 * op says otherwise), builds the node, runs the op's shape rule, allocates
 * the output value, runs the forward kernel and, in anomaly mode, checks the
 * result. Returns the handle, or an invalid one with the tape's error set.
 * `fn` is the public function name for messages ("ad_matmul"). */
ad_tensor ad_op_record(const char *fn, uint16_t op, const ad_tensor *ins, size_t n_in,
                       const ad_op_attrs *attrs);

/* A leaf node with the given shape; value copied from data (NULL: zeros). */
ad_tensor ad_leaf_new(ad_tape *t, const char *fn, ad_dtype dt, size_t ndim, const size_t *dims,
                      const void *data, bool variable);

#endif
