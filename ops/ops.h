/* SPDX-License-Identifier: MIT
 * The op table: one row per tensor op, indexed by ad_op_code. Each op's
 * shape rule, forward kernel and backward rule live side by side in one
 * family file under ops/; that file exports the row as ad_op_def_<name>. */
#ifndef AD_OPS_H
#define AD_OPS_H

#include "core/op.h"

typedef enum ad_op_code {
    /* AD_OP_LEAF = 0 is the core's (src/core/op.h) */
    /* bridge.c */
    AD_OP_TO_SCALAR = AD_OP_LEAF + 1,
    AD_OP_STACK,
    /* binary.c */
    AD_OP_ADD,
    AD_OP_SUB,
    AD_OP_MUL,
    AD_OP_DIV,
    AD_OP_POW,
    AD_OP_MAXIMUM,
    AD_OP_MINIMUM,
    /* unary.c */
    AD_OP_NEG,
    AD_OP_EXP,
    AD_OP_LOG,
    AD_OP_SQRT,
    AD_OP_SQUARE,
    AD_OP_ABS,
    AD_OP_SCALE,
    AD_OP_ADDC,
    /* activation.c */
    AD_OP_SIGMOID,
    AD_OP_TANH,
    AD_OP_RELU,
    AD_OP_LEAKY_RELU,
    AD_OP_SOFTPLUS,
    AD_OP_SWISH,
    AD_OP_MISH,
    AD_OP_GELU,
    /* matmul.c */
    AD_OP_MATMUL,
    AD_OP_LINEAR,
    AD_OP_LINEAR_RELU,
    /* shape.c */
    AD_OP_TRANSPOSE,
    AD_OP_RESHAPE,
    AD_OP_SLICE,
    AD_OP_CONCAT,
    /* reduce.c: attr_i[0] = axis or -1 for all elements, attr_i[1] = keepdim */
    AD_OP_SUM,
    AD_OP_MEAN,
    AD_OP_MAX,
    /* softmax.c */
    AD_OP_SOFTMAX,
    AD_OP_LOG_SOFTMAX,
    /* loss.c */
    AD_OP_MSE,
    AD_OP_HALF_SSE,
    AD_OP_BCE_LOGITS,
    AD_OP_SOFTMAX_CE,
    AD_OP_COUNT
} ad_op_code;

#define AD_OP_DECLARE(name) extern const ad_op_def ad_op_def_##name;
AD_OP_DECLARE(leaf)
AD_OP_DECLARE(to_scalar)
AD_OP_DECLARE(stack)
AD_OP_DECLARE(add)
AD_OP_DECLARE(sub)
AD_OP_DECLARE(mul)
AD_OP_DECLARE(div)
AD_OP_DECLARE(pow)
AD_OP_DECLARE(maximum)
AD_OP_DECLARE(minimum)
AD_OP_DECLARE(neg)
AD_OP_DECLARE(exp)
AD_OP_DECLARE(log)
AD_OP_DECLARE(sqrt)
AD_OP_DECLARE(square)
AD_OP_DECLARE(abs)
AD_OP_DECLARE(scale)
AD_OP_DECLARE(addc)
AD_OP_DECLARE(sigmoid)
AD_OP_DECLARE(tanh)
AD_OP_DECLARE(relu)
AD_OP_DECLARE(leaky_relu)
AD_OP_DECLARE(softplus)
AD_OP_DECLARE(swish)
AD_OP_DECLARE(mish)
AD_OP_DECLARE(gelu)
AD_OP_DECLARE(matmul)
AD_OP_DECLARE(linear)
AD_OP_DECLARE(linear_relu)
AD_OP_DECLARE(transpose)
AD_OP_DECLARE(reshape)
AD_OP_DECLARE(slice)
AD_OP_DECLARE(concat)
AD_OP_DECLARE(sum)
AD_OP_DECLARE(mean)
AD_OP_DECLARE(max)
AD_OP_DECLARE(softmax)
AD_OP_DECLARE(log_softmax)
AD_OP_DECLARE(mse)
AD_OP_DECLARE(half_sse)
AD_OP_DECLARE(bce_logits)
AD_OP_DECLARE(softmax_ce)
#undef AD_OP_DECLARE

#endif
