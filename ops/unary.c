/* SPDX-License-Identifier: MIT
 * Elementwise unary ops: neg, exp, log, sqrt, square, abs, and the scalar
 * constant forms scale (x * c) and addc (x + c), c in attr_f[0]. */
#include "elementwise.h"

#include <tgmath.h>

/* ---- neg: y = -x */

static bool neg_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_same_shape(t, y, fn);
}

static void neg_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(-X);
}

/* dy/dx = -1 */
static void neg_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(-G);
}

const ad_op_def ad_op_def_neg = {"tneg", 1, neg_shape, neg_forward, neg_backward, NULL};

/* ---- exp: y = e^x */

static bool exp_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_same_shape(t, y, fn);
}

static void exp_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(exp);
}

/* dy/dx = e^x = y */
static void exp_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * Y);
}

const ad_op_def ad_op_def_exp = {"texp", 1, exp_shape, exp_forward, exp_backward, NULL};

/* ---- log: y = log x */

static bool log_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_same_shape(t, y, fn);
}

static void log_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(log);
}

/* dy/dx = 1/x */
static void log_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / X);
}

const ad_op_def ad_op_def_log = {"tlog", 1, log_shape, log_forward, log_backward, NULL};

/* ---- sqrt: y = sqrt x */

static bool sqrt_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_same_shape(t, y, fn);
}

static void sqrt_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(sqrt(X));
}

/* dy/dx = 1 / (2 sqrt x) = 1 / (2 y); +Inf at 0, as IEEE gives it */
static void sqrt_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / (Y + Y + 0)); /* + 0: sqrt(-0) = -0, and the slope there is +Inf too */
}

const ad_op_def ad_op_def_sqrt = {"tsqrt", 1, sqrt_shape, sqrt_forward, sqrt_backward, NULL};

/* ---- square: y = x^2 */

static bool square_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_same_shape(t, y, fn);
}

static void square_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(X * X);
}

/* dy/dx = 2x */
static void square_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * (X + X));
}

const ad_op_def ad_op_def_square = {"tsquare",       1,   square_shape, square_forward,
                                    square_backward, NULL};

/* ---- abs: y = |x| */

static bool abs_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_same_shape(t, y, fn);
}

static void abs_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD(fabs(X));
}

/* dy/dx = sign x, with the subgradient 0 at x = 0 (as relu'(0) = 0); NaN
 * at NaN (X itself), as scalar ad_fabs gives */
static void abs_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(X > 0 ? G : X < 0 ? -G : X == 0 ? (real)0 : X);
}

const ad_op_def ad_op_def_abs = {"tabs", 1, abs_shape, abs_forward, abs_backward, NULL};

/* ---- scale: y = c x, c = attr_f[0] */

static bool scale_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_same_shape(t, y, fn);
}

static void scale_forward(ad_tape *t, ad_node *y)
{
    const double c = y->attr_f[0];
    AD_UNARY_FORWARD(X * (real)c);
}

/* dy/dx = c */
static void scale_backward(ad_tape *t, ad_node *y)
{
    const double c = y->attr_f[0];
    AD_UNARY_BACKWARD(G * (real)c);
}

const ad_op_def ad_op_def_scale = {"tscale", 1, scale_shape, scale_forward, scale_backward, NULL};

/* ---- addc: y = x + c, c = attr_f[0] */

static bool addc_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_same_shape(t, y, fn);
}

static void addc_forward(ad_tape *t, ad_node *y)
{
    const double c = y->attr_f[0];
    AD_UNARY_FORWARD(X + (real)c);
}

/* dy/dx = 1 */
static void addc_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G);
}

const ad_op_def ad_op_def_addc = {"taddc", 1, addc_shape, addc_forward, addc_backward, NULL};

/* ---- public entry points */

ad_tensor ad_tneg(ad_tensor x)
{
    return ad_op_record("ad_tneg", AD_OP_NEG, &x, 1, NULL);
}

ad_tensor ad_texp(ad_tensor x)
{
    return ad_op_record("ad_texp", AD_OP_EXP, &x, 1, NULL);
}

ad_tensor ad_tlog(ad_tensor x)
{
    return ad_op_record("ad_tlog", AD_OP_LOG, &x, 1, NULL);
}

ad_tensor ad_tsqrt(ad_tensor x)
{
    return ad_op_record("ad_tsqrt", AD_OP_SQRT, &x, 1, NULL);
}

ad_tensor ad_tsquare(ad_tensor x)
{
    return ad_op_record("ad_tsquare", AD_OP_SQUARE, &x, 1, NULL);
}

ad_tensor ad_tabs(ad_tensor x)
{
    return ad_op_record("ad_tabs", AD_OP_ABS, &x, 1, NULL);
}

ad_tensor ad_tscale(ad_tensor x, double c)
{
    ad_op_attrs at = {{c, 0.0}, {0, 0, 0, 0}, NULL};
    return ad_op_record("ad_tscale", AD_OP_SCALE, &x, 1, &at);
}

ad_tensor ad_taddc(ad_tensor x, double c)
{
    ad_op_attrs at = {{c, 0.0}, {0, 0, 0, 0}, NULL};
    return ad_op_record("ad_taddc", AD_OP_ADDC, &x, 1, &at);
}
