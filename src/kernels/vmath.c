/* SPDX-License-Identifier: MIT
 * Vector math entry points: each call goes to the widest kernel family the
 * CPU runs (or the one a test forced). This file also holds the baseline
 * build of the kernels (SSE2 on x86-64), which every CPU runs, and the
 * one-element tanh of the scalar op ad_tanh, which shares their rational. */
#include "vmath.h"

#include "adtape.h"

#include "cpu.h"
#include "vmath_kernels.h"

#include <math.h>
#include <stdatomic.h>

#define VM_ATTR
#define VM_FMA         0
#define VM_PREFER_LIBM 1
#define VM_TABLE       ad_vmath_generic
#include "vmath_tmpl.h"

/* tanh and its slope for the scalar op ad_tanh (adtape.h): one half or the
 * other, not both as the vector kernel computes them, and libm's exp, which
 * is faster on one element than exp_f64_1 without FMA. Below 0.625 the
 * slope 1 - v^2 cannot cancel (v^2 < 0.31); above it e = e^-2|x| gives
 * v = 1 - 2e/(1 + e) and v' = 4e/(1 + e)^2, neither of which rounds to 0
 * where v rounds to 1. Faster than glibc's tanh (whose expm1 dominates) on
 * one element, and as accurate (tests/test_scalar.c). */
ad_value_slope_ ad_tanh_slope_(double x)
{
    double a = fabs(x), v, d;
    if (a < 0.625) {
        v = tanh_small_f64(a);
        d = 1.0 - v * v;
    } else { /* NaN too: exp(NaN) is NaN */
        double e = exp(-2.0 * a), t = 1.0 + e;
        v = 1.0 - 2.0 * e / t;
        d = 4.0 * e / (t * t);
    }
    return (ad_value_slope_){copysign(v, x), d};
}

static atomic_int forced_isa = AD_ISA_AUTO;
static atomic_int cpu_isa = 0; /* 0 until probed, then the best family the CPU runs */

void ad_vmath_force_isa(int isa)
{
    atomic_store(&forced_isa, isa);
}

static int best_isa(void)
{
    int best = atomic_load_explicit(&cpu_isa, memory_order_relaxed);
    if (!best) {
        best = ad_cpu_has_avx512()     ? AD_ISA_AVX512
               : ad_cpu_has_avx2_fma() ? AD_ISA_AVX2
                                       : AD_ISA_GENERIC;
        atomic_store_explicit(&cpu_isa, best, memory_order_relaxed);
    }
    return best;
}

int ad_vmath_isa(void)
{
    int want = atomic_load_explicit(&forced_isa, memory_order_relaxed);
    int best = best_isa();
    return want == AD_ISA_AUTO || want > best ? best : want;
}

static const ad_vmath_impl *impl(void)
{
    int isa = ad_vmath_isa();
    return isa == AD_ISA_AVX512 ? &ad_vmath_avx512
           : isa == AD_ISA_AVX2 ? &ad_vmath_avx2
                                : &ad_vmath_generic;
}

void ad_vexp_f32(const float *x, float *y, size_t n)
{
    impl()->exp_f32(x, y, n);
}
void ad_vexp_f64(const double *x, double *y, size_t n)
{
    impl()->exp_f64(x, y, n);
}
void ad_vlog_f32(const float *x, float *y, size_t n)
{
    impl()->log_f32(x, y, n);
}
void ad_vlog_f64(const double *x, double *y, size_t n)
{
    impl()->log_f64(x, y, n);
}
void ad_vtanh_f32(const float *x, float *y, size_t n)
{
    impl()->tanh_f32(x, y, n);
}
void ad_vtanh_f64(const double *x, double *y, size_t n)
{
    impl()->tanh_f64(x, y, n);
}
void ad_vsigmoid_f32(const float *x, float *y, size_t n)
{
    impl()->sigmoid_f32(x, y, n);
}
void ad_vsigmoid_f64(const double *x, double *y, size_t n)
{
    impl()->sigmoid_f64(x, y, n);
}
void ad_vsoftplus_f32(const float *x, float *y, size_t n)
{
    impl()->softplus_f32(x, y, n);
}
void ad_vsoftplus_f64(const double *x, double *y, size_t n)
{
    impl()->softplus_f64(x, y, n);
}
void ad_vgelu_f32(const float *x, float *y, size_t n)
{
    impl()->gelu_f32(x, y, n);
}
void ad_vgelu_grad_f32(const float *x, float *y, size_t n)
{
    impl()->gelu_grad_f32(x, y, n);
}
/* float64 GELU stays on libm's erfc: the fit behind the float32 kernel is
 * good to 1e-11, not to the last bit of a double. */
void ad_vgelu_f64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double p = 0.5 * erfc(-0.70710678118654752440 * x[i]);
        y[i] = p == 0.0 ? -0.0 : x[i] * p; /* gelu(-Inf) = -0, its limit */
    }
}
void ad_vgelu_grad_f64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i], pdf = 0.39894228040143267794 * v * exp(-0.5 * v * v);
        y[i] = 0.5 * erfc(-0.70710678118654752440 * v) + (fabs(v) < 40.0 ? pdf : 0.0);
    }
}
float ad_vmax_f32(const float *x, size_t n)
{
    return impl()->max_f32(x, n);
}
double ad_vmax_f64(const double *x, size_t n)
{
    return impl()->max_f64(x, n);
}
size_t ad_vargmax_f32(const float *x, size_t n)
{
    return impl()->argmax_f32(x, n);
}
size_t ad_vargmax_f64(const double *x, size_t n)
{
    return impl()->argmax_f64(x, n);
}
float ad_vexp_shift_sum_f32(const float *x, float m, float *y, size_t n)
{
    return impl()->exp_shift_sum_f32(x, m, y, n);
}
double ad_vexp_shift_sum_f64(const double *x, double m, double *y, size_t n)
{
    return impl()->exp_shift_sum_f64(x, m, y, n);
}

/* the elementwise math ops (issue 20) */
void ad_vsinh_f32(const float *x, float *y, size_t n)
{
    impl()->sinh_f32(x, y, n);
}
void ad_vsinh_f64(const double *x, double *y, size_t n)
{
    impl()->sinh_f64(x, y, n);
}
void ad_vcosh_f32(const float *x, float *y, size_t n)
{
    impl()->cosh_f32(x, y, n);
}
void ad_vcosh_f64(const double *x, double *y, size_t n)
{
    impl()->cosh_f64(x, y, n);
}
void ad_vexpm1_f32(const float *x, float *y, size_t n)
{
    impl()->expm1_f32(x, y, n);
}
void ad_vexpm1_f64(const double *x, double *y, size_t n)
{
    impl()->expm1_f64(x, y, n);
}
void ad_vlog1p_f32(const float *x, float *y, size_t n)
{
    impl()->log1p_f32(x, y, n);
}
void ad_vlog1p_f64(const double *x, double *y, size_t n)
{
    impl()->log1p_f64(x, y, n);
}
void ad_vlog2_f32(const float *x, float *y, size_t n)
{
    impl()->log2_f32(x, y, n);
}
void ad_vlog2_f64(const double *x, double *y, size_t n)
{
    impl()->log2_f64(x, y, n);
}
void ad_vlog10_f32(const float *x, float *y, size_t n)
{
    impl()->log10_f32(x, y, n);
}
void ad_vlog10_f64(const double *x, double *y, size_t n)
{
    impl()->log10_f64(x, y, n);
}
void ad_vsin_f32(const float *x, float *y, size_t n)
{
    impl()->sin_f32(x, y, n);
}
void ad_vsin_f64(const double *x, double *y, size_t n)
{
    impl()->sin_f64(x, y, n);
}
void ad_vcos_f32(const float *x, float *y, size_t n)
{
    impl()->cos_f32(x, y, n);
}
void ad_vcos_f64(const double *x, double *y, size_t n)
{
    impl()->cos_f64(x, y, n);
}
void ad_vtan_f32(const float *x, float *y, size_t n)
{
    impl()->tan_f32(x, y, n);
}
void ad_vtan_f64(const double *x, double *y, size_t n)
{
    impl()->tan_f64(x, y, n);
}
void ad_vatan_f32(const float *x, float *y, size_t n)
{
    impl()->atan_f32(x, y, n);
}
void ad_vatan_f64(const double *x, double *y, size_t n)
{
    impl()->atan_f64(x, y, n);
}
void ad_vasin_f32(const float *x, float *y, size_t n)
{
    impl()->asin_f32(x, y, n);
}
void ad_vasin_f64(const double *x, double *y, size_t n)
{
    impl()->asin_f64(x, y, n);
}
void ad_vacos_f32(const float *x, float *y, size_t n)
{
    impl()->acos_f32(x, y, n);
}
void ad_vacos_f64(const double *x, double *y, size_t n)
{
    impl()->acos_f64(x, y, n);
}
void ad_vasinh_f32(const float *x, float *y, size_t n)
{
    impl()->asinh_f32(x, y, n);
}
void ad_vasinh_f64(const double *x, double *y, size_t n)
{
    impl()->asinh_f64(x, y, n);
}
void ad_vacosh_f32(const float *x, float *y, size_t n)
{
    impl()->acosh_f32(x, y, n);
}
void ad_vacosh_f64(const double *x, double *y, size_t n)
{
    impl()->acosh_f64(x, y, n);
}
void ad_vatanh_f32(const float *x, float *y, size_t n)
{
    impl()->atanh_f32(x, y, n);
}
void ad_vatanh_f64(const double *x, double *y, size_t n)
{
    impl()->atanh_f64(x, y, n);
}
void ad_verf_f32(const float *x, float *y, size_t n)
{
    impl()->erf_f32(x, y, n);
}
void ad_verfc_f32(const float *x, float *y, size_t n)
{
    impl()->erfc_f32(x, y, n);
}
void ad_vasin_grad_f32(const float *x, float *y, size_t n)
{
    impl()->asin_grad_f32(x, y, n);
}
void ad_vasin_grad_f64(const double *x, double *y, size_t n)
{
    impl()->asin_grad_f64(x, y, n);
}
void ad_vasinh_grad_f32(const float *x, float *y, size_t n)
{
    impl()->asinh_grad_f32(x, y, n);
}
void ad_vasinh_grad_f64(const double *x, double *y, size_t n)
{
    impl()->asinh_grad_f64(x, y, n);
}
void ad_vacosh_grad_f32(const float *x, float *y, size_t n)
{
    impl()->acosh_grad_f32(x, y, n);
}
void ad_vacosh_grad_f64(const double *x, double *y, size_t n)
{
    impl()->acosh_grad_f64(x, y, n);
}
void ad_vatan2_f32(const float *a, const float *b, float *y, size_t n)
{
    impl()->atan2_f32(a, b, y, n);
}
void ad_vatan2_f64(const double *a, const double *b, double *y, size_t n)
{
    impl()->atan2_f64(a, b, y, n);
}
void ad_vpowc_f32(const float *x, float c, float *y, size_t n)
{
    impl()->powc_f32(x, c, y, n);
}
