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
