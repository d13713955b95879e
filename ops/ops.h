/* SPDX-License-Identifier: MIT
 * The ops' side of the op contract: the op codes and the declarations of
 * every row's rules, both generated from the op list (oplist.h). Each op's
 * shape rule, forward kernel, backward rule and public entry point sit
 * together in one family file under ops/. */
#ifndef AD_OPS_H
#define AD_OPS_H

#include "core/op.h"
#include "oplist.h"

/* AD_OP_LEAF = 0 is the core's (core/op.h); the list's rows follow it. */
#define AD_OP_ENUM_(CODE, name, arity, shape, scalar_inputs) AD_OP_##CODE,
typedef enum ad_op_code {
    AD_OP_LEAF_ = AD_OP_LEAF, /* row 0 */
    AD_OP_LIST(AD_OP_ENUM_) AD_OP_COUNT
} ad_op_code;
#undef AD_OP_ENUM_

/* A shape rule appears once per row that names it: repeating a
 * declaration is harmless, and leaving one out is impossible. */
#define AD_OP_DECLARE_(CODE, name, arity, shape, scalar_inputs)                                    \
    bool shape(ad_tape *t, ad_node *y, const char *fn);                                            \
    void ad_##name##_forward(ad_tape *t, ad_node *y);                                              \
    void ad_##name##_backward(ad_tape *t, ad_node *y);
AD_OP_LIST(AD_OP_DECLARE_)
#undef AD_OP_DECLARE_

/* The scalar_inputs hooks named in the list. */
const uint32_t *ad_stack_scalars_inputs(const ad_node *y);

#endif
