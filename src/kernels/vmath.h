/* SPDX-License-Identifier: MIT
 * Vector math over arrays: exp, log, tanh, sigmoid, softplus and the row
 * passes of softmax, in float and double, written in portable C that the
 * compiler vectorises and built three times (baseline, AVX2+FMA, AVX-512),
 * the widest the CPU runs chosen at run time. float32 results are within
 * 2 ulp of the correctly rounded value, float64 within 4; NaN, +-Inf, +-0,
 * overflow and subnormal results come out as libm gives them.
 * Every function takes x and y of n elements; y may equal x (in place) but
 * must not overlap it otherwise; n = 0 does nothing. */
#ifndef AD_VMATH_H
#define AD_VMATH_H

#include <stddef.h>

/* y = e^x */
void ad_vexp_f32(const float *x, float *y, size_t n);
void ad_vexp_f64(const double *x, double *y, size_t n);
/* y = log x (natural) */
void ad_vlog_f32(const float *x, float *y, size_t n);
void ad_vlog_f64(const double *x, double *y, size_t n);
/* y = tanh x */
void ad_vtanh_f32(const float *x, float *y, size_t n);
void ad_vtanh_f64(const double *x, double *y, size_t n);
/* y = 1 / (1 + e^-x) */
void ad_vsigmoid_f32(const float *x, float *y, size_t n);
void ad_vsigmoid_f64(const double *x, double *y, size_t n);
/* y = log(1 + e^x) */
void ad_vsoftplus_f32(const float *x, float *y, size_t n);
void ad_vsoftplus_f64(const double *x, double *y, size_t n);

/* y = gelu(x) = x Phi(x) and y = gelu'(x) = Phi(x) + x phi(x), with Phi
 * and phi the standard normal CDF and density (the exact erf form); at
 * +-Inf both are their limits (gelu(-Inf) = -0, gelu'(-Inf) = 0,
 * gelu'(+Inf) = 1) rather than Inf * 0. float32: a vector kernel in double,
 * within 2 ulp (1 in the tests; gelu' near its zero at x = -0.75 counted in
 * ulps of its larger term). float64: libm's erfc, whose error in the far
 * left tail grows as x^2 ulps from rounding x/sqrt2, as any erfc-based
 * form does. */
void ad_vgelu_f32(const float *x, float *y, size_t n);
void ad_vgelu_f64(const double *x, double *y, size_t n);
void ad_vgelu_grad_f32(const float *x, float *y, size_t n);
void ad_vgelu_grad_f64(const double *x, double *y, size_t n);

/* ---- The elementwise math ops (issue 20). Vector kernels on the AVX2 and
 * AVX-512 families, float32 ones with float32 polynomials (sixteen lanes to
 * a register) but for erf and erfc, which are evaluated in double and
 * rounded once. The portable family calls libm (in
 * double, also for float32: glibc's log10f is off by 2 ulp) for all but
 * sinh, cosh and expm1, whose exp-based kernels beat libm there too, and
 * the erf and derivative kernels. Special values (NaN, +-Inf, +-0, the
 * domain edges: log1p(-1), atanh(+-1), acosh(1), asin(+-1)) are libm's
 * exactly; outside a domain the value is NaN. Accuracy, measured in
 * tests/test_vmath_trig.c against long double libm over dense sweeps, is
 * within these bounds on every family:
 *   float32: 1 ulp for erf, erfc and atan2; 2 ulp for sinh, cosh, expm1,
 *   log1p, log2, log10, sin, cos, atan, acos, asinh, acosh, atanh and the
 *   derivative helpers; 3 ulp for tan and asin.
 *   float64: 2 ulp for sinh, cosh, expm1, log1p, log2, log10, sin, cos,
 *   atan, asin, acos, atan2 and the derivative helpers; 3 ulp for tan,
 *   asinh, acosh, atanh. log2 and log10 are exact at powers of their base.
 * sin, cos and tan reduce by pi/2 in three FMA steps, accurate to the last
 * bit for |x| <= 2^20; a block of 256 elements holding a larger |x| (or an
 * Inf) is computed by libm, which reduces exactly at any size.
 * erf and erfc have float32 kernels only: float64 stays on libm (the fitted
 * erfc behind them is good to 7.6e-12, not to a double's last bit). */
void ad_vsinh_f32(const float *x, float *y, size_t n);
void ad_vsinh_f64(const double *x, double *y, size_t n);
void ad_vcosh_f32(const float *x, float *y, size_t n);
void ad_vcosh_f64(const double *x, double *y, size_t n);
void ad_vexpm1_f32(const float *x, float *y, size_t n);
void ad_vexpm1_f64(const double *x, double *y, size_t n);
void ad_vlog1p_f32(const float *x, float *y, size_t n);
void ad_vlog1p_f64(const double *x, double *y, size_t n);
void ad_vlog2_f32(const float *x, float *y, size_t n);
void ad_vlog2_f64(const double *x, double *y, size_t n);
void ad_vlog10_f32(const float *x, float *y, size_t n);
void ad_vlog10_f64(const double *x, double *y, size_t n);
void ad_vsin_f32(const float *x, float *y, size_t n);
void ad_vsin_f64(const double *x, double *y, size_t n);
void ad_vcos_f32(const float *x, float *y, size_t n);
void ad_vcos_f64(const double *x, double *y, size_t n);
void ad_vtan_f32(const float *x, float *y, size_t n);
void ad_vtan_f64(const double *x, double *y, size_t n);
void ad_vatan_f32(const float *x, float *y, size_t n);
void ad_vatan_f64(const double *x, double *y, size_t n);
void ad_vasin_f32(const float *x, float *y, size_t n);
void ad_vasin_f64(const double *x, double *y, size_t n);
void ad_vacos_f32(const float *x, float *y, size_t n);
void ad_vacos_f64(const double *x, double *y, size_t n);
void ad_vasinh_f32(const float *x, float *y, size_t n);
void ad_vasinh_f64(const double *x, double *y, size_t n);
void ad_vacosh_f32(const float *x, float *y, size_t n);
void ad_vacosh_f64(const double *x, double *y, size_t n);
void ad_vatanh_f32(const float *x, float *y, size_t n);
void ad_vatanh_f64(const double *x, double *y, size_t n);
void ad_verf_f32(const float *x, float *y, size_t n);
void ad_verfc_f32(const float *x, float *y, size_t n);
/* y = atan2(a, b) elementwise, a and b of n elements (either may be y) */
void ad_vatan2_f32(const float *a, const float *b, float *y, size_t n);
void ad_vatan2_f64(const double *a, const double *b, double *y, size_t n);
/* y = x^c for float32, c finite and not 0: C's powf within 1 ulp (in
 * double on every family), negative x included (an odd integer c gives the
 * sign, a c that is no integer NaN). float64 stays on libm's pow. */
void ad_vpowc_f32(const float *x, float c, float *y, size_t n);
/* Derivatives: y = 1/sqrt(1 - x^2) (asin'), 1/sqrt(x^2 + 1) (asinh') and
 * 1/sqrt(x^2 - 1) (acosh'), without cancellation or overflow: +Inf at the
 * domain's edge, NaN outside it. */
void ad_vasin_grad_f32(const float *x, float *y, size_t n);
void ad_vasin_grad_f64(const double *x, double *y, size_t n);
void ad_vasinh_grad_f32(const float *x, float *y, size_t n);
void ad_vasinh_grad_f64(const double *x, double *y, size_t n);
void ad_vacosh_grad_f32(const float *x, float *y, size_t n);
void ad_vacosh_grad_f64(const double *x, double *y, size_t n);

/* The largest of x[0..n), n >= 1. A NaN in x[0] is returned; other NaNs are
 * skipped (as the scalar loop `m = x > m ? x : m` does). */
float ad_vmax_f32(const float *x, size_t n);
double ad_vmax_f64(const double *x, size_t n);
/* The index of the first maximum of x[0..n), n >= 1, a NaN beating every
 * number (the first NaN wins): what the scalar loop `if (x > m || (x is NaN
 * && m is not)) take x` picks. */
size_t ad_vargmax_f32(const float *x, size_t n);
size_t ad_vargmax_f64(const double *x, size_t n);
/* y = e^(x - m) and returns sum y: the exp and sum passes of a softmax row
 * fused, so the row is read once. */
float ad_vexp_shift_sum_f32(const float *x, float m, float *y, size_t n);
double ad_vexp_shift_sum_f64(const double *x, double m, double *y, size_t n);

/* Testing hook: forces a kernel family (AD_ISA_* of gemm.h) for every later
 * call, process-wide; a family the CPU lacks falls back to the best it has. */
void ad_vmath_force_isa(int isa);
/* The family the next call will use (never AD_ISA_AUTO). */
int ad_vmath_isa(void);

#endif
