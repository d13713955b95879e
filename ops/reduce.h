/* SPDX-License-Identifier: MIT
 * What the reduction families share (reduce.c, reduce_more.c,
 * reduce_stats.c): x seen as [outer, n, inner] around the reduced extent n,
 * with the attributes ad_shape_reduce reads (attr_i[0] = axis or -1 for
 * all elements, attr_i[1] = keepdim, attr_i[2] = recorded by an *_axis
 * function). */
#ifndef AD_OPS_REDUCE_H
#define AD_OPS_REDUCE_H

#include "ops.h"

/* x viewed as [outer, n, inner] with n the reduced extent; y is [outer, inner]. */
typedef struct red_dims {
    size_t outer, n, inner;
} red_dims;

/* axis < 0: all elements, one group of numel. */
static inline red_dims red_geometry(const ad_node *x, int64_t axis)
{
    red_dims g = {1, x->numel, 1};
    if (axis < 0) return g;
    size_t a = (size_t)axis;
    g.n = x->dims[a];
    for (size_t d = 0; d < a; d++)
        g.outer *= x->dims[d];
    for (size_t d = a + 1; d < x->ndim; d++)
        g.inner *= x->dims[d];
    return g;
}

/* The attributes ad_shape_reduce reads, with f (attr_f[0]) for the ops
 * that take a number (a correction, a norm's p). */
static inline ad_tensor ad_reduce_record(const char *fn, uint16_t op, ad_tensor x, int axis,
                                         bool keepdim, bool by_axis, double f)
{
    ad_op_attrs at = {{f, 0}, {axis, keepdim, by_axis, 0}, NULL};
    return ad_op_record(fn, op, &x, 1, &at);
}

/* After ad_shape_reduce: fails the tape when the reduced extent is empty,
 * "<fn>: empty tensor [0,3] has no <what>" or "<fn>: axis 1 of shape [2,0]
 * is empty: no <what>", and returns false. */
bool ad_reduce_nonempty(ad_tape *t, const ad_node *y, const char *fn, const char *what);

#endif
