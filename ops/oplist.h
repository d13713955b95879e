/* SPDX-License-Identifier: MIT
 * The op list: one row per tensor op, the single source of the op enum
 * (ops.h), the declarations of its rules (ops.h) and the op table
 * (table.c). ops/README.md says how to add a row. */
#ifndef AD_OPLIST_H
#define AD_OPLIST_H

/* X(CODE, name, arity, shape, scalar_inputs), one row per op:
 *   CODE    the enum value is AD_OP_<CODE>;
 *   name    the public function is ad_<name> and the table (graph export)
 *           name is "<name>"; the family file defines ad_<name>_forward and
 *           ad_<name>_backward (core/op.h says what each does);
 *   arity   the number of inputs, -1 variadic;
 *   shape   the shape rule, ad_shape_<what>; shared ones are defined in
 *           broadcast.c (same, bcast), the others beside their op;
 *   scalar_inputs  NULL, except for ops that read scalar records (core/op.h).
 * The order is the enum's: rows may move, but export and error messages do
 * not depend on it. */
/* clang-format off */
#define AD_OP_LIST(X)                                                                              \
    /* bridge.c: tensor elements <-> scalar records */                                            \
    X(TO_SCALAR,   tensor_to_scalar,      1,  ad_shape_to_scalar, NULL)                            \
    X(STACK,       stack_scalars,         1,  ad_shape_stack,     ad_stack_scalars_inputs)         \
    /* binary.c: NumPy broadcasting */                                                             \
    X(ADD,         tadd,                  2,  ad_shape_bcast,     NULL)                            \
    X(SUB,         tsub,                  2,  ad_shape_bcast,     NULL)                            \
    X(MUL,         tmul,                  2,  ad_shape_bcast,     NULL)                            \
    X(DIV,         tdiv,                  2,  ad_shape_bcast,     NULL)                            \
    X(POW,         tpow,                  2,  ad_shape_bcast,     NULL)                            \
    X(MAXIMUM,     tmaximum,              2,  ad_shape_bcast,     NULL)                            \
    X(MINIMUM,     tminimum,              2,  ad_shape_bcast,     NULL)                            \
    X(ATAN2,       tatan2,                2,  ad_shape_bcast,     NULL)                            \
    /* unary.c */                                                                                  \
    X(NEG,         tneg,                  1,  ad_shape_same,      NULL)                            \
    X(EXP,         texp,                  1,  ad_shape_same,      NULL)                            \
    X(LOG,         tlog,                  1,  ad_shape_same,      NULL)                            \
    X(SQRT,        tsqrt,                 1,  ad_shape_same,      NULL)                            \
    X(SQUARE,      tsquare,               1,  ad_shape_same,      NULL)                            \
    X(ABS,         tabs,                  1,  ad_shape_same,      NULL)                            \
    X(SCALE,       tscale,                1,  ad_shape_same,      NULL)                            \
    X(ADDC,        taddc,                 1,  ad_shape_same,      NULL)                            \
    X(LOG1P,       tlog1p,                1,  ad_shape_same,      NULL)                            \
    X(EXPM1,       texpm1,                1,  ad_shape_same,      NULL)                            \
    X(LOG2,        tlog2,                 1,  ad_shape_same,      NULL)                            \
    X(LOG10,       tlog10,                1,  ad_shape_same,      NULL)                            \
    X(ERF,         terf,                  1,  ad_shape_same,      NULL)                            \
    X(ERFC,        terfc,                 1,  ad_shape_same,      NULL)                            \
    X(RECIPROCAL,  treciprocal,           1,  ad_shape_same,      NULL)                            \
    X(POWC,        tpowc,                 1,  ad_shape_same,      NULL)                            \
    /* trig.c */                                                                                   \
    X(SIN,         tsin,                  1,  ad_shape_same,      NULL)                            \
    X(COS,         tcos,                  1,  ad_shape_same,      NULL)                            \
    X(TAN,         ttan,                  1,  ad_shape_same,      NULL)                            \
    X(ASIN,        tasin,                 1,  ad_shape_same,      NULL)                            \
    X(ACOS,        tacos,                 1,  ad_shape_same,      NULL)                            \
    X(ATAN,        tatan,                 1,  ad_shape_same,      NULL)                            \
    X(SINH,        tsinh,                 1,  ad_shape_same,      NULL)                            \
    X(COSH,        tcosh,                 1,  ad_shape_same,      NULL)                            \
    X(ASINH,       tasinh,                1,  ad_shape_same,      NULL)                            \
    X(ACOSH,       tacosh,                1,  ad_shape_same,      NULL)                            \
    X(ATANH,       tatanh,                1,  ad_shape_same,      NULL)                            \
    /* rounding.c */                                                                               \
    X(SIGN,        tsign,                 1,  ad_shape_same,      NULL)                            \
    X(FLOOR,       tfloor,                1,  ad_shape_same,      NULL)                            \
    X(CEIL,        tceil,                 1,  ad_shape_same,      NULL)                            \
    X(ROUND,       tround,                1,  ad_shape_same,      NULL)                            \
    X(CLAMP,       tclamp,                1,  ad_shape_clamp,     NULL)                            \
    /* where.c: cond, a, b broadcast together */                                                   \
    X(WHERE,       where,                 3,  ad_shape_where,     NULL)                            \
    /* activation.c */                                                                             \
    X(SIGMOID,     tsigmoid,              1,  ad_shape_same,      NULL)                            \
    X(TANH,        ttanh,                 1,  ad_shape_same,      NULL)                            \
    X(RELU,        relu,                  1,  ad_shape_same,      NULL)                            \
    X(LEAKY_RELU,  leaky_relu,            1,  ad_shape_same,      NULL)                            \
    X(SOFTPLUS,    softplus,              1,  ad_shape_same,      NULL)                            \
    X(SWISH,       swish,                 1,  ad_shape_same,      NULL)                            \
    X(MISH,        mish,                  1,  ad_shape_same,      NULL)                            \
    X(GELU,        gelu,                  1,  ad_shape_same,      NULL)                            \
    /* matmul.c: linear's bias is optional (two inputs without it) */                              \
    X(MATMUL,      matmul,                2,  ad_shape_matmul,    NULL)                            \
    X(LINEAR,      linear,                3,  ad_shape_linear,    NULL)                            \
    X(LINEAR_RELU, linear_relu,           3,  ad_shape_linear,    NULL)                            \
    /* shape.c */                                                                                  \
    X(TRANSPOSE,   transpose,             1,  ad_shape_transpose, NULL)                            \
    X(RESHAPE,     reshape,               1,  ad_shape_reshape,   NULL)                            \
    X(SLICE,       slice,                 1,  ad_shape_slice,     NULL)                            \
    X(CONCAT,      concat,               -1,  ad_shape_concat,    NULL)                            \
    /* reduce.c: ad_sum_axis etc. record the same ops with an axis */                              \
    X(SUM,         sum,                   1,  ad_shape_reduce,    NULL)                            \
    X(MEAN,        mean,                  1,  ad_shape_reduce,    NULL)                            \
    X(MAX,         max,                   1,  ad_shape_max,       NULL)                            \
    /* softmax.c */                                                                                \
    X(SOFTMAX,     softmax,               1,  ad_shape_axis,      NULL)                            \
    X(LOG_SOFTMAX, log_softmax,           1,  ad_shape_axis,      NULL)                            \
    /* loss.c */                                                                                   \
    X(MSE,         mse_loss,              2,  ad_shape_pair,      NULL)                            \
    X(HALF_SSE,    half_sse_loss,         2,  ad_shape_pair,      NULL)                            \
    X(BCE_LOGITS,  bce_with_logits,       2,  ad_shape_pair,      NULL)                            \
    X(SOFTMAX_CE,  softmax_cross_entropy, 1,  ad_shape_ce,        NULL)                            \
    /* cast.c: float32 <-> float64 (attr_i[0]: the target dtype) */                               \
    X(CAST,        cast,                  1,  ad_shape_cast,      NULL)                            \
    /* reduce_more.c: attributes as reduce.c's */                                                  \
    X(MIN,         min,                   1,  ad_shape_min,       NULL)                            \
    X(PROD,        prod,                  1,  ad_shape_reduce,    NULL)                            \
    X(CUMSUM,      cumsum,                1,  ad_shape_cumsum,    NULL)                            \
    /* reduce_stats.c: attributes as reduce.c's, attr_f[0] the correction or p */                  \
    X(LOGSUMEXP,   logsumexp,             1,  ad_shape_logsumexp, NULL)                            \
    X(VAR,         var,                   1,  ad_shape_var,       NULL)                            \
    X(STD,         std,                   1,  ad_shape_var,       NULL)                            \
    X(NORM,        norm,                  1,  ad_shape_norm,      NULL)                            \
    /* index.c: int64_t indices, copied to the tape, in y->ctx */                                   \
    X(INDEX_SELECT, index_select,         1,  ad_shape_index_select, NULL)                         \
    X(GATHER,      gather,                1,  ad_shape_gather,    NULL)                            \
    X(EMBEDDING,   embedding,             1,  ad_shape_embedding, NULL)                           \
    /* norm.c, dropout.c: normalisation and regularisation (weight, bias optional) */              \
    X(LAYER_NORM,  layer_norm,            3,  ad_shape_layer_norm, NULL)                           \
    X(BATCH_NORM,  batch_norm,            3,  ad_shape_batch_norm, NULL)                           \
    X(DROPOUT,     dropout,               1,  ad_shape_dropout,   NULL)                            \
    /* conv.c, pool.c: NCHW; conv's bias is optional (two inputs without it) */                   \
    X(CONV1D,      conv1d,                3,  ad_shape_conv,      NULL)                            \
    X(CONV2D,      conv2d,                3,  ad_shape_conv,      NULL)                            \
    X(MAX_POOL2D,  max_pool2d,            1,  ad_shape_pool,      NULL)                            \
    X(AVG_POOL2D,  avg_pool2d,            1,  ad_shape_pool,      NULL)                            \
    X(GLOBAL_AVG_POOL2D, global_avg_pool2d, 1, ad_shape_global_pool, NULL)                          \
    /* axis.c and rnn.c: recurrent networks (time steps, Elman and GRU layers) */                  \
    X(SELECT,      select,                1,  ad_shape_select,    NULL)                            \
    X(STACK_AXIS,  stack,                -1,  ad_shape_stack_axis, NULL)                           \
    X(RNN_TANH,    rnn_tanh,             -1,  ad_shape_rnn,       NULL)                            \
    X(GRU,         gru,                  -1,  ad_shape_rnn,       NULL)                             \
    /* detach.c, custom.c: stop-gradient and user-defined ops (issue 19); a                    \
     * custom op is one node (its first output) plus a view per further output */             \
    X(DETACH,      tdetach,               1,  ad_shape_same,      NULL)                            \
    X(CUSTOM,      custom_op,            -1,  ad_shape_custom,    NULL)                            \
    X(CUSTOM_OUTPUT, custom_output,       1,  ad_shape_custom_output, NULL)                         \
    /* checkpoint*.c: hubs (their rule re-runs the function) and their outputs */                 \
    X(CHECKPOINT,  checkpoint,           -1,  ad_shape_checkpoint, NULL)                           \
    X(CHECKPOINT_LOOP, checkpoint_loop,  -1,  ad_shape_checkpoint, NULL)                           \
    X(CHECKPOINT_OUTPUT, checkpoint_output, 1, ad_shape_checkpoint, NULL)                           \
    /* new families go above this line, each row ending in a backslash */
/* clang-format on */

#endif
