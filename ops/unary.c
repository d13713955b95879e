/* SPDX-License-Identifier: MIT
 * Elementwise unary ops: neg, exp, log, sqrt, square, abs, and the scalar
 * constant forms scale (x * c) and addc (x + c), c in attr_f[0]. */
#include "elementwise.h"

#include <tgmath.h>

/* ---- neg: y = -x */

void ad_tneg_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(-X);
}

/* dy/dx = -1 */
void ad_tneg_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(-G);
}

ad_tensor ad_tneg(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_NEG, &x, 1, NULL);
}

/* ---- exp: y = e^x */

void ad_texp_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(exp);
}

/* dy/dx = e^x = y */
void ad_texp_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * Y);
}

ad_tensor ad_texp(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_EXP, &x, 1, NULL);
}

/* ---- log: y = log x */

void ad_tlog_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(log);
}

/* dy/dx = 1/x */
void ad_tlog_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / X);
}

ad_tensor ad_tlog(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_LOG, &x, 1, NULL);
}

/* ---- sqrt: y = sqrt x */

void ad_tsqrt_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(sqrt(X));
}

/* dy/dx = 1 / (2 sqrt x) = 1 / (2 y); +Inf at 0, as IEEE gives it */
void ad_tsqrt_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / (Y + Y + 0)); /* + 0: sqrt(-0) = -0, and the slope there is +Inf too */
}

ad_tensor ad_tsqrt(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SQRT, &x, 1, NULL);
}

/* ---- square: y = x^2 */

void ad_tsquare_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(X * X);
}

/* dy/dx = 2x */
void ad_tsquare_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * (X + X));
}

ad_tensor ad_tsquare(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_SQUARE, &x, 1, NULL);
}

/* ---- abs: y = |x| */

void ad_tabs_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(fabs(X));
}

/* dy/dx = sign x, with the subgradient 0 at x = 0 (as relu'(0) = 0); NaN
 * at NaN (X itself), as scalar ad_fabs gives */
void ad_tabs_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(X > 0 ? G : X < 0 ? -G : X == 0 ? (real)0 : X);
}

ad_tensor ad_tabs(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ABS, &x, 1, NULL);
}

/* ---- scale: y = c x, c = attr_f[0] */

void ad_tscale_forward(ad_tape *t, ad_node *y)
{
    const double c = y->attr_f[0];
    AD_UNARY_FORWARD(X * (real)c);
}

/* dy/dx = c */
void ad_tscale_backward(ad_tape *t, ad_node *y)
{
    const double c = y->attr_f[0];
    AD_UNARY_BACKWARD(G * (real)c);
}

ad_tensor ad_tscale(ad_tensor x, double c)
{
    ad_op_attrs at = {{c, 0.0}, {0, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_SCALE, &x, 1, &at);
}

/* ---- addc: y = x + c, c = attr_f[0] */

void ad_taddc_forward(ad_tape *t, ad_node *y)
{
    const double c = y->attr_f[0];
    AD_UNARY_FORWARD(X + (real)c);
}

/* dy/dx = 1 */
void ad_taddc_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G);
}

ad_tensor ad_taddc(ad_tensor x, double c)
{
    ad_op_attrs at = {{c, 0.0}, {0, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_ADDC, &x, 1, &at);
}
