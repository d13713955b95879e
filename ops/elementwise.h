/* SPDX-License-Identifier: MIT
 * Loop macros for ops whose output is shaped like their one input (unary.c,
 * activation.c). Each instantiates one plain loop per dtype; inside, `real`
 * is the element type, so kernels write (real)0.5 and, with <tgmath.h>,
 * exp(X) resolves to expf for float32 and exp for float64. */
#ifndef AD_ELEMENTWISE_H
#define AD_ELEMENTWISE_H

#include "kernels/vmath.h"
#include "ops.h"

#include <string.h>

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
            (void)G;                                                                               \
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

/* y = FN(x) through the vector math kernels (src/kernels/vmath.h): FN is exp, log,
 * tanh, sigmoid, softplus, or one of the elementwise math ops' (sin, log1p, ...). */
#define AD_VMAP(FN)                                                                                \
    do {                                                                                           \
        const ad_node *x_ = ad_node_input(t, y, 0);                                                \
        if (y->dtype == AD_F32)                                                                    \
            ad_v##FN##_f32(x_->value, y->value, y->numel);                                         \
        else                                                                                       \
            ad_v##FN##_f64(x_->value, y->value, y->numel);                                         \
    } while (0)

/* Elements per stack buffer in the chunked loops below: small enough for
 * the stack and L1, long enough to amortise a kernel call. */
#define AD_CHUNK 256

/* For each element i of input 0, with X = x[i], S1 = V1(x)[i] and
 * S2 = V2(x)[i] (vector kernels run a chunk at a time into stack buffers),
 * runs BODY; `real` is the element type and SUF its kernel suffix. */
#define AD_CHUNKED_T(T, SUF, V1, V2, BODY)                                                         \
    do {                                                                                           \
        typedef T real;                                                                            \
        const real *xc_ = ad_node_input(t, y, 0)->value;                                           \
        real b1_[AD_CHUNK], b2_[AD_CHUNK];                                                         \
        for (size_t c_ = 0; c_ < y->numel; c_ += AD_CHUNK) {                                       \
            size_t m_ = y->numel - c_ < AD_CHUNK ? y->numel - c_ : AD_CHUNK;                       \
            V1##_##SUF(xc_ + c_, b1_, m_);                                                         \
            V2##_##SUF(xc_ + c_, b2_, m_);                                                         \
            for (size_t j_ = 0; j_ < m_; j_++) {                                                   \
                const size_t i_ = c_ + j_;                                                         \
                const real X = xc_[i_], S1 = b1_[j_], S2 = b2_[j_];                                \
                (void)X;                                                                           \
                (void)S1;                                                                          \
                (void)S2;                                                                          \
                BODY;                                                                              \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* A second kernel slot for loops that need only one. */
static inline void ad_vnone_f32(const float *x, float *y, size_t n)
{
    (void)x;
    memset(y, 0, n * sizeof *y);
}
static inline void ad_vnone_f64(const double *x, double *y, size_t n)
{
    (void)x;
    memset(y, 0, n * sizeof *y);
}

/* y = EXPR(X, S1, S2) */
#define AD_CHUNKED_FORWARD(V1, V2, EXPR)                                                           \
    do {                                                                                           \
        if (y->dtype == AD_F32) {                                                                  \
            float *yo_ = y->value;                                                                 \
            AD_CHUNKED_T(float, f32, V1, V2, yo_[i_] = (EXPR));                                    \
        } else {                                                                                   \
            double *yo_ = y->value;                                                                \
            AD_CHUNKED_T(double, f64, V1, V2, yo_[i_] = (EXPR));                                   \
        }                                                                                          \
    } while (0)

/* gx += G * DEXPR(X, S1, S2), G = dL/dy; nothing when no gradient is needed */
#define AD_CHUNKED_BACKWARD(V1, V2, DEXPR)                                                         \
    do {                                                                                           \
        void *gxv_ = ad_input_grad(t, y, 0);                                                       \
        if (!gxv_) break;                                                                          \
        if (y->dtype == AD_F32) {                                                                  \
            float *gx_ = gxv_;                                                                     \
            const float *g_ = y->grad;                                                             \
            AD_CHUNKED_T(float, f32, V1, V2, gx_[i_] += g_[i_] * (DEXPR));                         \
        } else {                                                                                   \
            double *gx_ = gxv_;                                                                    \
            const double *g_ = y->grad;                                                            \
            AD_CHUNKED_T(double, f64, V1, V2, gx_[i_] += g_[i_] * (DEXPR));                        \
        }                                                                                          \
    } while (0)

#endif
