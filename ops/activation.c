/* SPDX-License-Identifier: MIT
 * Activations: sigmoid, tanh, relu, leaky relu (slope in attr_f[0]),
 * softplus, swish (SiLU), mish, GELU (exact erf form). Everything is written
 * so that no intermediate overflows for any finite input. */
#include "elementwise.h"

#include <tgmath.h>

/* sigmoid, tanh and softplus come from the vector kernels (src/kernels/vmath.h),
 * which form sigmoid from e^-|x| and softplus as max(x, 0) + log1p(e^-|x|),
 * so no intermediate overflows. */

/* u = tanh(softplus(x)), the factor of mish, two vector passes in place */
static void mish_u_f32(const float *x, float *u, size_t n)
{
    ad_vsoftplus_f32(x, u, n);
    ad_vtanh_f32(u, u, n);
}
static void mish_u_f64(const double *x, double *u, size_t n)
{
    ad_vsoftplus_f64(x, u, n);
    ad_vtanh_f64(u, u, n);
}

/* e^(-k|x|), k = 1 (sigmoid') or 2 (tanh'), a chunk at a time: the slopes
 * e / (1 + e)^2 and 4e / (1 + e)^2 keep full precision in the tails, where
 * y (1 - y) and 1 - y^2 cancel to 0 (float32 tanh'(10): 8e-9, not 0).
 * exp_neg_abs<K>_<SUF>, from exp_neg_abs_tmpl.h. */
#define T   float
#define SUF f32
#define K   1
#include "exp_neg_abs_tmpl.h"
#define T   double
#define SUF f64
#define K   1
#include "exp_neg_abs_tmpl.h"
#define T   float
#define SUF f32
#define K   2
#include "exp_neg_abs_tmpl.h"
#define T   double
#define SUF f64
#define K   2
#include "exp_neg_abs_tmpl.h"

/* ---- sigmoid */

void ad_tsigmoid_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(sigmoid);
}

/* dy/dx = y (1 - y) = e / (1 + e)^2, e = e^-|x| (S1) */
void ad_tsigmoid_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(exp_neg_abs1, ad_vnone, S1 / (((real)1 + S1) * ((real)1 + S1)));
}

ad_tensor ad_tsigmoid(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SIGMOID, &x, 1, NULL);
}

/* ---- tanh */

void ad_ttanh_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(tanh);
}

/* dy/dx = 1 - y^2 = 4e / (1 + e)^2, e = e^-2|x| (S1) */
void ad_ttanh_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(exp_neg_abs2, ad_vnone, (real)4 * S1 / (((real)1 + S1) * ((real)1 + S1)));
}

ad_tensor ad_ttanh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_TANH, &x, 1, NULL);
}

/* ---- relu: y = max(x, 0) */

/* Written as "x <= 0 gives 0" so NaN, which compares false, stays NaN
 * (NaN and Inf are data); -0 gives +0. */
void ad_relu_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(X <= 0 ? (real)0 : X);
}

/* dy/dx = [x > 0]; the kink at 0 gets slope 0, and NaN gets slope NaN, as
 * ad_fabs has it. y is +0, positive or NaN, so "y > 0 ? dy : y" is the rule
 * in one compare and select, like the plain mask. */
void ad_relu_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(Y > 0 ? G : Y);
}

ad_tensor ad_relu(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_RELU, &x, 1, NULL);
}

/* ---- leaky relu: y = x for x > 0, else slope x (slope = attr_f[0]) */

void ad_leaky_relu_forward(ad_tape *t, ad_node *y)
{
    const double slope = y->attr_f[0];
    AD_UNARY_FORWARD(X > 0 ? X : (real)slope * X);
}

/* dy/dx = 1 for x > 0, slope for x <= 0 (so slope 0 is relu, kink
 * included), NaN for NaN (X itself, then) */
void ad_leaky_relu_backward(ad_tape *t, ad_node *y)
{
    const double slope = y->attr_f[0];
    AD_UNARY_BACKWARD(X > 0 ? G : X <= 0 ? (real)slope * G : X);
}

ad_tensor ad_leaky_relu(ad_tensor x, double slope)
{
    ad_op_attrs at = {{slope, 0.0}, {0, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_LEAKY_RELU, &x, 1, &at);
}

/* ---- softplus: y = log(1 + e^x) */

void ad_softplus_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(softplus);
}

/* dy/dx = e^x / (1 + e^x) = sigmoid(x) (S1) */
void ad_softplus_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vsigmoid, ad_vnone, S1);
}

ad_tensor ad_softplus(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SOFTPLUS, &x, 1, NULL);
}

/* ---- swish (SiLU): y = x sigmoid(x) */

/* Where s = sigmoid(x) (S1) has saturated, x s would be Inf * 0 = NaN at
 * -Inf: s = 0 gives the limit -0 (x e^x underflows there for finite x too).
 * NaN compares false and stays NaN. */
void ad_swish_forward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_FORWARD(ad_vsigmoid, ad_vnone, S1 == 0 ? (real)-0.0 : X * S1);
}

/* swish'(x) = s + x s (1 - s) = s (1 + x (1 - s)), s = sigmoid(x) (S1).
 * Saturated s takes the limits swish'(+Inf) = 1 (s = 1) and swish'(-Inf) =
 * 0 (s = 0), where the formula has Inf * 0; for finite x there, x e^-|x|
 * is below the dtype's resolution of the answer. */
void ad_swish_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vsigmoid, ad_vnone,
                        S1 == 0 || S1 == 1 ? S1 : S1 * ((real)1 + X * ((real)1 - S1)));
}

ad_tensor ad_swish(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SWISH, &x, 1, NULL);
}

/* ---- mish: y = x tanh(softplus(x)) */

/* u (S1) = 0 only once softplus has underflowed (x -> -Inf), where x u
 * would be -Inf * 0 = NaN; the limit is -0. NaN stays NaN. */
void ad_mish_forward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_FORWARD(mish_u, ad_vnone, S1 == 0 ? (real)-0.0 : X * S1);
}

/* mish'(x) = u + x (1 - u^2) sigmoid(x), u = tanh(softplus(x)) (S1, and
 * S2 = sigmoid), since softplus' = sigmoid and tanh' = 1 - tanh^2.
 * Saturated factors give the limits mish'(+Inf) = 1 (u = 1) and
 * mish'(-Inf) = 0 (sigmoid = 0, u ~ e^x = 0) instead of Inf * 0 = NaN. */
void ad_mish_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(mish_u, ad_vsigmoid,
                        S1 == 1 || S2 == 0 ? S1 : S1 + X * ((real)1 - S1 * S1) * S2);
}

ad_tensor ad_mish(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_MISH, &x, 1, NULL);
}

/* ---- gelu: y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 */

/* Phi(x), the standard normal CDF, is erfc(-x/sqrt 2)/2 (src/kernels/vmath.h):
 * unlike (1 + erf(x/sqrt 2))/2 it keeps full relative precision for x << 0. */
void ad_gelu_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(gelu);
}

/* gelu'(x) = Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi) (S1) */
void ad_gelu_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vgelu_grad, ad_vnone, S1);
}

ad_tensor ad_gelu(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_GELU, &x, 1, NULL);
}
