/* SPDX-License-Identifier: MIT
 * Elementwise ops that are flat almost everywhere: sign, floor, ceil, round
 * (zero gradient away from their jumps, and at them too), and clamp to
 * [lo, hi] (lo = attr_f[0], hi = attr_f[1]; an infinite bound is no bound),
 * whose gradient passes inside the range. NaN in gives NaN out, in the value
 * and in the gradient, as for abs and relu. */
#include "elementwise.h"

#include <math.h>
#include <tgmath.h>

/* The slope of a step function: 0, or NaN at NaN (X itself). */
#define FLAT (X == X ? (real)0 : X)

/* ---- sign: -1, 0 or 1 (sign(-0) = -0), NaN for NaN */

void ad_tsign_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(X > 0 ? (real)1 : X < 0 ? (real)-1 : X);
}

void ad_tsign_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(FLAT);
}

ad_tensor ad_tsign(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SIGN, &x, 1, NULL);
}

/* ---- floor, ceil, round (half to even) */

void ad_tfloor_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(floor(X));
}

void ad_tfloor_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(FLAT);
}

ad_tensor ad_tfloor(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_FLOOR, &x, 1, NULL);
}

void ad_tceil_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(ceil(X));
}

void ad_tceil_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(FLAT);
}

ad_tensor ad_tceil(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_CEIL, &x, 1, NULL);
}

/* rint in the default rounding mode rounds halves to even, as PyTorch's and
 * NumPy's round do (C's round takes them away from zero) */
void ad_tround_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(rint(X));
}

void ad_tround_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(FLAT);
}

ad_tensor ad_tround(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ROUND, &x, 1, NULL);
}

/* ---- clamp: y = min(max(x, lo), hi) */

/* Shaped like x; a NaN bound is refused (no bound is -INFINITY or
 * +INFINITY), since it would make every element NaN or none. */
bool ad_shape_clamp(ad_tape *t, ad_node *y, const char *fn)
{
    if (isnan(y->attr_f[0]) || isnan(y->attr_f[1])) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: bound %s is NaN (use -INFINITY or INFINITY for none)",
                     fn, isnan(y->attr_f[0]) ? "lo" : "hi");
        return false;
    }
    return ad_shape_same(t, y, fn);
}

/* Written so that NaN x, which fails every compare, comes out as itself;
 * lo > hi gives hi everywhere, as PyTorch's clamp does. */
void ad_tclamp_forward(ad_tape *t, ad_node *y)
{
    const double lo = y->attr_f[0], hi = y->attr_f[1];
    AD_UNARY_FORWARD(X > (real)hi   ? (real)hi
                     : X < (real)lo ? ((real)lo > (real)hi ? (real)hi : (real)lo)
                                    : X);
}

/* dy/dx = 1 for lo <= x <= hi, the bounds included (PyTorch's convention:
 * a value sitting on a bound still moves with x), else 0; NaN at NaN */
void ad_tclamp_backward(ad_tape *t, ad_node *y)
{
    const double lo = y->attr_f[0], hi = y->attr_f[1];
    AD_UNARY_BACKWARD(X >= (real)lo && X <= (real)hi ? G : X == X ? (real)0 : X);
}

ad_tensor ad_tclamp(ad_tensor x, double lo, double hi)
{
    ad_op_attrs at = {{lo, hi}, {0, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_CLAMP, &x, 1, &at);
}
