/* SPDX-License-Identifier: MIT
 * Elementwise trigonometric and hyperbolic ops and their inverses: sin, cos,
 * tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh. Values and the
 * slopes that need a function (cos for sin', 1/sqrt(1 - x^2) for asin', ...)
 * come from the vector kernels (src/kernels/vmath.h, libm's accuracy within
 * 1-3 ulp); outside an inverse's domain the value is NaN, as libm gives it,
 * and at its edges the slope is the IEEE infinity (asin'(+-1) = +Inf). */
#include "elementwise.h"

#include <tgmath.h>

/* ---- sin */

void ad_tsin_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(sin);
}

/* dy/dx = cos x */
void ad_tsin_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vcos, ad_vnone, S1);
}

ad_tensor ad_tsin(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SIN, &x, 1, NULL);
}

/* ---- cos */

void ad_tcos_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(cos);
}

/* dy/dx = -sin x */
void ad_tcos_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vsin, ad_vnone, -S1);
}

ad_tensor ad_tcos(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_COS, &x, 1, NULL);
}

/* ---- tan */

void ad_ttan_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(tan);
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
    AD_VMAP(asin);
}

/* dy/dx = 1 / sqrt(1 - x^2), with 1 - x^2 as (1 - x)(1 + x), which does not
 * cancel near +-1; +Inf at +-1, NaN for |x| > 1 */
void ad_tasin_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vasin_grad, ad_vnone, S1);
}

ad_tensor ad_tasin(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ASIN, &x, 1, NULL);
}

/* ---- acos */

void ad_tacos_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(acos);
}

/* dy/dx = -1 / sqrt(1 - x^2): -Inf at +-1, NaN for |x| > 1 */
void ad_tacos_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vasin_grad, ad_vnone, -S1);
}

ad_tensor ad_tacos(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ACOS, &x, 1, NULL);
}

/* ---- atan */

void ad_tatan_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(atan);
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
    AD_VMAP(sinh);
}

/* dy/dx = cosh x */
void ad_tsinh_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vcosh, ad_vnone, S1);
}

ad_tensor ad_tsinh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SINH, &x, 1, NULL);
}

/* ---- cosh */

void ad_tcosh_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(cosh);
}

/* dy/dx = sinh x */
void ad_tcosh_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vsinh, ad_vnone, S1);
}

ad_tensor ad_tcosh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_COSH, &x, 1, NULL);
}

/* ---- asinh */

void ad_tasinh_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(asinh);
}

/* dy/dx = 1 / sqrt(x^2 + 1) = 1 / hypot(x, 1), which neither overflows for
 * large |x| nor loses the tail */
void ad_tasinh_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vasinh_grad, ad_vnone, S1);
}

ad_tensor ad_tasinh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ASINH, &x, 1, NULL);
}

/* ---- acosh */

void ad_tacosh_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(acosh);
}

/* dy/dx = 1 / sqrt(x^2 - 1) = 1 / (sqrt(x - 1) sqrt(x + 1)), which neither
 * cancels near 1 nor overflows for large x: +Inf at 1, NaN below it */
void ad_tacosh_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(ad_vacosh_grad, ad_vnone, S1);
}

ad_tensor ad_tacosh(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ACOSH, &x, 1, NULL);
}

/* ---- atanh */

void ad_tatanh_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(atanh);
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
