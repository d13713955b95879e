/* SPDX-License-Identifier: MIT
 * Loop macros for ops whose output is shaped like their one input (unary.c,
 * activation.c). Each instantiates one plain loop per dtype; inside, `real`
 * is the element type, so kernels write (real)0.5 and, with <tgmath.h>,
 * exp(X) resolves to expf for float32 and exp for float64. */
#ifndef AD_ELEMENTWISE_H
#define AD_ELEMENTWISE_H

#include "ops.h"

#include <string.h>

/* Shape rule: y has x's shape. */
static inline bool ad_same_shape(ad_tape *t, ad_node *y, const char *fn)
{
    (void)fn;
    const ad_node *x = ad_node_input(t, y, 0);
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    return true;
}

#define AD_UNARY_FORWARD_T(T, EXPR)                                                                \
    do {                                                                                           \
        typedef T real;                                                                            \
        const real *x_ = ad_node_input(t, y, 0)->value;                                            \
        real *y_ = y->value;                                                                       \
        for (size_t i_ = 0; i_ < y->numel; i_++) {                                                 \
            const real X = x_[i_];                                                                 \
            y_[i_] = (EXPR);                                                                       \
        }                                                                                          \
    } while (0)

/* y = EXPR(X) elementwise, X an element of input 0. */
#define AD_UNARY_FORWARD(EXPR)                                                                     \
    do {                                                                                           \
        if (y->dtype == AD_F32)                                                                    \
            AD_UNARY_FORWARD_T(float, EXPR);                                                       \
        else                                                                                       \
            AD_UNARY_FORWARD_T(double, EXPR);                                                      \
    } while (0)

#define AD_UNARY_BACKWARD_T(T, DEXPR)                                                              \
    do {                                                                                           \
        typedef T real;                                                                            \
        const real *x_ = ad_node_input(t, y, 0)->value, *yv_ = y->value, *g_ = y->grad;            \
        real *gx_ = gx;                                                                            \
        for (size_t i_ = 0; i_ < y->numel; i_++) {                                                 \
            const real X = x_[i_], Y = yv_[i_], G = g_[i_];                                        \
            (void)X;                                                                               \
            (void)Y;                                                                               \
            gx_[i_] += (DEXPR);                                                                    \
        }                                                                                          \
    } while (0)

/* gx += DEXPR elementwise, from X (input), Y (saved output) and G (dL/dy);
 * does nothing when the input needs no gradient. */
#define AD_UNARY_BACKWARD(DEXPR)                                                                   \
    do {                                                                                           \
        void *gx = ad_input_grad(t, y, 0);                                                         \
        if (!gx) break;                                                                            \
        if (y->dtype == AD_F32)                                                                    \
            AD_UNARY_BACKWARD_T(float, DEXPR);                                                     \
        else                                                                                       \
            AD_UNARY_BACKWARD_T(double, DEXPR);                                                    \
    } while (0)

#endif
