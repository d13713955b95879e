/* SPDX-License-Identifier: MIT
 * Elementwise unary ops: neg, exp, log, sqrt, square, abs, the exp and log
 * variants log1p, expm1, log2, log10, the error functions erf and erfc,
 * reciprocal, and the constant forms scale (x * c), addc (x + c) and powc
 * (x^c), c in attr_f[0]. */
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

/* ---- log1p: y = log(1 + x), accurate for small x */

void ad_tlog1p_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(log1p);
}

/* dy/dx = 1 / (1 + x): +Inf at -1 */
void ad_tlog1p_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / ((real)1 + X));
}

ad_tensor ad_tlog1p(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_LOG1P, &x, 1, NULL);
}

/* ---- expm1: y = e^x - 1, accurate for small x */

void ad_texpm1_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(expm1);
}

/* dy/dx = e^x = y + 1 */
void ad_texpm1_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G * (Y + (real)1));
}

ad_tensor ad_texpm1(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_EXPM1, &x, 1, NULL);
}

/* ---- log2 and log10: exact at powers of the base (log2(8) = 3), which
 * log x / log 2 is not (the kernels split x = 2^k m as libm does) */

void ad_tlog2_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(log2);
}

/* dy/dx = 1 / (x ln 2) */
void ad_tlog2_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / (X * (real)0.69314718055994530942));
}

ad_tensor ad_tlog2(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_LOG2, &x, 1, NULL);
}

void ad_tlog10_forward(ad_tape *t, ad_node *y)
{
    AD_VMAP(log10);
}

/* dy/dx = 1 / (x ln 10) */
void ad_tlog10_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(G / (X * (real)2.30258509299404568402));
}

ad_tensor ad_tlog10(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_LOG10, &x, 1, NULL);
}

/* ---- erf and erfc: float32 from the vector kernels, float64 from libm
 * (the kernels' erfc is good to 7.6e-12, not to a double's last bit) */

void ad_terf_forward(ad_tape *t, ad_node *y)
{
    if (y->dtype == AD_F32)
        ad_verf_f32(ad_node_input(t, y, 0)->value, y->value, y->numel);
    else
        AD_UNARY_FORWARD_T(double, erf(X));
}

/* e^(-x^2), a chunk at a time, for the slopes of erf and erfc */
static void exp_negsq_f32(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = -x[i] * x[i];
    ad_vexp_f32(y, y, n);
}
static void exp_negsq_f64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = -x[i] * x[i];
    ad_vexp_f64(y, y, n);
}

/* dy/dx = 2/sqrt(pi) e^(-x^2); 0 once x^2 is large, the limit at +-Inf */
void ad_terf_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(exp_negsq, ad_vnone, (real)1.12837916709551257390 * S1);
}

ad_tensor ad_terf(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ERF, &x, 1, NULL);
}

/* erfc x = 1 - erf x, computed without the cancellation for large x */
void ad_terfc_forward(ad_tape *t, ad_node *y)
{
    if (y->dtype == AD_F32)
        ad_verfc_f32(ad_node_input(t, y, 0)->value, y->value, y->numel);
    else
        AD_UNARY_FORWARD_T(double, erfc(X));
}

/* dy/dx = -2/sqrt(pi) e^(-x^2) */
void ad_terfc_backward(ad_tape *t, ad_node *y)
{
    AD_CHUNKED_BACKWARD(exp_negsq, ad_vnone, (real)-1.12837916709551257390 * S1);
}

ad_tensor ad_terfc(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_ERFC, &x, 1, NULL);
}

/* ---- reciprocal: y = 1 / x */

void ad_treciprocal_forward(ad_tape *t, ad_node *y)
{
    AD_UNARY_FORWARD((real)1 / X);
}

/* dy/dx = -1/x^2 = -y^2: -Inf at +-0 */
void ad_treciprocal_backward(ad_tape *t, ad_node *y)
{
    AD_UNARY_BACKWARD(-G * Y * Y);
}

ad_tensor ad_treciprocal(ad_tensor x)
{
    return ad_op_record(__func__, AD_OP_RECIPROCAL, &x, 1, NULL);
}

/* ---- powc: y = x^c, c = attr_f[0]; C's pow, so a negative x with a
 * non-integer c gives NaN. The common exponents skip pow's general path;
 * float32 runs on the vector kernel (within 1 ulp of powf). */

void ad_tpowc_forward(ad_tape *t, ad_node *y)
{
    const double c = y->attr_f[0];
    if (c == 2)
        AD_UNARY_FORWARD(X * X);
    else if (c == 1)
        AD_UNARY_FORWARD(X);
    else if (c == -1)
        AD_UNARY_FORWARD((real)1 / X);
    else if (y->dtype == AD_F32 && c != 0 && isfinite((float)c))
        ad_vpowc_f32(ad_node_input(t, y, 0)->value, (float)c, y->value, y->numel);
    else
        AD_UNARY_FORWARD(pow(X, (real)c));
}

/* dy/dx = c x^(c-1); 0 when c = 0 (x^0 is constant, 0^0 included), as
 * ad_tpow has it; +-Inf at x = 0 for 0 < c < 1 */
void ad_tpowc_backward(ad_tape *t, ad_node *y)
{
    const double c = y->attr_f[0];
    if (c == 0) return;
    if (c == 2)
        AD_UNARY_BACKWARD(G * (X + X));
    else if (c == 1)
        AD_UNARY_BACKWARD(G);
    else if (y->dtype == AD_F32 && c - 1 != 0 && isfinite((float)(c - 1))) {
        float *gx = ad_input_grad(t, y, 0), buf[AD_CHUNK];
        const float *x = ad_node_input(t, y, 0)->value, *g = y->grad, cf = (float)c;
        if (!gx) return;
        for (size_t i = 0; i < y->numel; i += AD_CHUNK) {
            size_t m = y->numel - i < AD_CHUNK ? y->numel - i : AD_CHUNK;
            ad_vpowc_f32(x + i, (float)(c - 1), buf, m);
            for (size_t j = 0; j < m; j++)
                gx[i + j] += g[i + j] * cf * buf[j];
        }
    } else
        AD_UNARY_BACKWARD(G * (real)c * pow(X, (real)(c - 1)));
}

ad_tensor ad_tpowc(ad_tensor x, double c)
{
    ad_op_attrs at = {{c, 0.0}, {0, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_POWC, &x, 1, &at);
}
