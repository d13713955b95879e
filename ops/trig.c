/* SPDX-License-Identifier: MIT
 * Elementwise trigonometric and hyperbolic ops and their inverses: sin, cos,
 * tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh. Values come from
 * libm (sinf for float32, sin for float64, through <tgmath.h>); outside an
 * inverse's domain the value is NaN, as libm gives it, and at its edges the
 * slope is the IEEE infinity (asin'(+-1) = +Inf). */
#include "elementwise.h"

#include <tgmath.h>

/* ---- sin */

void ad_tsin_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(sin(X));
}

/* dy/dx = cos x */
void ad_tsin_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * cos(X));
}

ad_tensor ad_tsin(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SIN, &x, 1, NULL);
}

/* ---- cos */

void ad_tcos_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(cos(X));
}

/* dy/dx = -sin x */
void ad_tcos_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(-G * sin(X));
}

ad_tensor ad_tcos(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_COS, &x, 1, NULL);
}

/* ---- tan */

void ad_ttan_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(tan(X));
}

/* dy/dx = 1 + tan^2 x = 1 + y^2, from the saved output */
void ad_ttan_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * ((real)1 + Y * Y));
}

ad_tensor ad_ttan(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_TAN, &x, 1, NULL);
}

/* ---- asin */

void ad_tasin_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(asin(X));
}

/* dy/dx = 1 / sqrt(1 - x^2), with 1 - x^2 as (1 - x)(1 + x), which does not
 * cancel near +-1; +Inf at +-1, NaN for |x| > 1 */
void ad_tasin_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / sqrt(((real)1 - X) * ((real)1 + X)));
}

ad_tensor ad_tasin(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ASIN, &x, 1, NULL);
}

/* ---- acos */

void ad_tacos_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(acos(X));
}

/* dy/dx = -1 / sqrt(1 - x^2): -Inf at +-1, NaN for |x| > 1 */
void ad_tacos_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(-G / sqrt(((real)1 - X) * ((real)1 + X)));
}

ad_tensor ad_tacos(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ACOS, &x, 1, NULL);
}

/* ---- atan */

void ad_tatan_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(atan(X));
}

/* dy/dx = 1 / (1 + x^2); 0 once x^2 overflows, which is the limit */
void ad_tatan_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / ((real)1 + X * X));
}

ad_tensor ad_tatan(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ATAN, &x, 1, NULL);
}

/* ---- sinh */

void ad_tsinh_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(sinh(X));
}

/* dy/dx = cosh x */
void ad_tsinh_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * cosh(X));
}

ad_tensor ad_tsinh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SINH, &x, 1, NULL);
}

/* ---- cosh */

void ad_tcosh_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(cosh(X));
}

/* dy/dx = sinh x */
void ad_tcosh_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * sinh(X));
}

ad_tensor ad_tcosh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_COSH, &x, 1, NULL);
}

/* ---- asinh */

void ad_tasinh_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(asinh(X));
}

/* dy/dx = 1 / sqrt(x^2 + 1) = 1 / hypot(x, 1), which neither overflows for
 * large |x| nor loses the tail */
void ad_tasinh_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / hypot(X, (real)1));
}

ad_tensor ad_tasinh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ASINH, &x, 1, NULL);
}

/* ---- acosh */

void ad_tacosh_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(acosh(X));
}

/* dy/dx = 1 / sqrt(x^2 - 1) = 1 / (sqrt(x - 1) sqrt(x + 1)), which neither
 * cancels near 1 nor overflows for large x: +Inf at 1, NaN below it */
void ad_tacosh_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / (sqrt(X - (real)1) * sqrt(X + (real)1)));
}

ad_tensor ad_tacosh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ACOSH, &x, 1, NULL);
}

/* ---- atanh */

void ad_tatanh_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(atanh(X));
}

/* dy/dx = 1 / (1 - x^2) = 1 / ((1 - x)(1 + x)): +Inf at +-1. Outside
 * [-1, 1], where the value is NaN, so is the slope (the formula alone
 * would give a finite number there). */
void ad_tatanh_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(Y != Y ? Y : G / (((real)1 - X) * ((real)1 + X)));
}

ad_tensor ad_tatanh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ATANH, &x, 1, NULL);
}
