/* SPDX-License-Identifier: MIT
 * The one table of tensor ops, indexed by ad_op_code and generated from the
 * op list (oplist.h). The sweep, graph export and the tests read it;
 * tests/test_table.c checks every row. */
#include "ops.h"

#include <stdint.h>

static const ad_op_def leaf = {"leaf", 0, NULL, NULL, NULL, NULL};

#define AD_OP_ROW_(CODE, name, arity, shape, scalar_inputs)                                        \
    static const ad_op_def row_##name = {                                                          \
        #name, arity, shape, ad_##name##_forward, ad_##name##_backward, scalar_inputs};
AD_OP_LIST(AD_OP_ROW_)
#undef AD_OP_ROW_

#define AD_OP_POINTER_(CODE, name, arity, shape, scalar_inputs) [AD_OP_##CODE] = &row_##name,
const ad_op_def *const ad_op_table[] = {[AD_OP_LEAF] = &leaf, AD_OP_LIST(AD_OP_POINTER_)};
#undef AD_OP_POINTER_

/* What can still go wrong: an enum value set by hand in ops.h (a gap or a
 * repeat would leave a NULL row or make the table longer than the list),
 * and more ops than a node's op field holds. */
#define AD_OP_ONE_(CODE, name, arity, shape, scalar_inputs) +1
_Static_assert(1 AD_OP_LIST(AD_OP_ONE_) == AD_OP_COUNT, "the enum numbers the list's rows 1..");
_Static_assert(sizeof ad_op_table / sizeof ad_op_table[0] == AD_OP_COUNT, "one row per op code");
#undef AD_OP_ONE_
_Static_assert(AD_OP_COUNT - 1 <= UINT16_MAX, "op codes fit ad_node.op (uint16_t)");
