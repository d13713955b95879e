/* SPDX-License-Identifier: MIT
 * The table of array kernels each instruction-set build of vmath_tmpl.h
 * fills in (vmath.c: baseline, vmath_avx2.c, vmath_avx512.c); vmath.c
 * picks one per call. */
#ifndef AD_VMATH_KERNELS_H
#define AD_VMATH_KERNELS_H

#include <stddef.h>

typedef struct ad_vmath_impl {
    void (*exp_f32)(const float *, float *, size_t);
    void (*exp_f64)(const double *, double *, size_t);
    void (*log_f32)(const float *, float *, size_t);
    void (*log_f64)(const double *, double *, size_t);
    void (*tanh_f32)(const float *, float *, size_t);
    void (*tanh_f64)(const double *, double *, size_t);
    void (*sigmoid_f32)(const float *, float *, size_t);
    void (*sigmoid_f64)(const double *, double *, size_t);
    void (*softplus_f32)(const float *, float *, size_t);
    void (*softplus_f64)(const double *, double *, size_t);
    void (*gelu_f32)(const float *, float *, size_t);
    void (*gelu_grad_f32)(const float *, float *, size_t);
    float (*max_f32)(const float *, size_t);
    double (*max_f64)(const double *, size_t);
    size_t (*argmax_f32)(const float *, size_t);
    size_t (*argmax_f64)(const double *, size_t);
    float (*exp_shift_sum_f32)(const float *, float, float *, size_t);
    double (*exp_shift_sum_f64)(const double *, double, double *, size_t);
    /* the elementwise math ops (issue 20) */
    void (*sinh_f32)(const float *, float *, size_t);
    void (*sinh_f64)(const double *, double *, size_t);
    void (*cosh_f32)(const float *, float *, size_t);
    void (*cosh_f64)(const double *, double *, size_t);
    void (*expm1_f32)(const float *, float *, size_t);
    void (*expm1_f64)(const double *, double *, size_t);
    void (*log1p_f32)(const float *, float *, size_t);
    void (*log1p_f64)(const double *, double *, size_t);
    void (*log2_f32)(const float *, float *, size_t);
    void (*log2_f64)(const double *, double *, size_t);
    void (*log10_f32)(const float *, float *, size_t);
    void (*log10_f64)(const double *, double *, size_t);
    void (*sin_f32)(const float *, float *, size_t);
    void (*sin_f64)(const double *, double *, size_t);
    void (*cos_f32)(const float *, float *, size_t);
    void (*cos_f64)(const double *, double *, size_t);
    void (*tan_f32)(const float *, float *, size_t);
    void (*tan_f64)(const double *, double *, size_t);
    void (*atan_f32)(const float *, float *, size_t);
    void (*atan_f64)(const double *, double *, size_t);
    void (*asin_f32)(const float *, float *, size_t);
    void (*asin_f64)(const double *, double *, size_t);
    void (*acos_f32)(const float *, float *, size_t);
    void (*acos_f64)(const double *, double *, size_t);
    void (*asinh_f32)(const float *, float *, size_t);
    void (*asinh_f64)(const double *, double *, size_t);
    void (*acosh_f32)(const float *, float *, size_t);
    void (*acosh_f64)(const double *, double *, size_t);
    void (*atanh_f32)(const float *, float *, size_t);
    void (*atanh_f64)(const double *, double *, size_t);
    void (*erf_f32)(const float *, float *, size_t);
    void (*erfc_f32)(const float *, float *, size_t);
    void (*asin_grad_f32)(const float *, float *, size_t);
    void (*asin_grad_f64)(const double *, double *, size_t);
    void (*asinh_grad_f32)(const float *, float *, size_t);
    void (*asinh_grad_f64)(const double *, double *, size_t);
    void (*acosh_grad_f32)(const float *, float *, size_t);
    void (*acosh_grad_f64)(const double *, double *, size_t);
    void (*atan2_f32)(const float *, const float *, float *, size_t);
    void (*atan2_f64)(const double *, const double *, double *, size_t);
    void (*powc_f32)(const float *, float, float *, size_t);
} ad_vmath_impl;

extern const ad_vmath_impl ad_vmath_generic;
extern const ad_vmath_impl ad_vmath_avx2;   /* only selected when the CPU runs it */
extern const ad_vmath_impl ad_vmath_avx512; /* only selected when the CPU runs it */

#endif
