/* SPDX-License-Identifier: MIT
 * Bodies of the vector math kernels, included once per instruction set with
 * VM_ATTR (the target attribute, or nothing), VM_FMA (1 when fma() is one
 * instruction), VM_PREFER_LIBM (1 where libm beats the kernels below) and
 * VM_TABLE (the ad_vmath_impl to define). Each element
 * function is branch-free: range reduction by integer tricks on the bits,
 * a polynomial, and special cases chosen by selects (c ? a : b) that the
 * compiler turns into vector blends, so every array loop vectorises. The
 * array loops are vmath_map_tmpl.h and vmath_reduce_tmpl.h, included below. */
#include <math.h>
#include <stdint.h>
#include <string.h>

/* gcc keeps FP operations that might raise an exception (overflow, invalid)
 * out of if-converted code, and its threading moves most of each kernel
 * under the final selects, so no loop would vectorise; exception flags are
 * not part of our contract (values are unchanged), so it may ignore them.
 * clang ignores them by default. */
#if defined(__GNUC__) && !defined(__clang__)
#define VM_FN VM_ATTR __attribute__((optimize("no-trapping-math")))
#else
#define VM_FN VM_ATTR
#endif
/* Element functions are inlined into every loop that calls them, even the
 * ones that call exp twice, or the loop would not vectorise. */
#if defined(__GNUC__)
#define VM_ELEM static inline VM_FN __attribute__((always_inline))
#else
#define VM_ELEM static inline VM_FN
#endif

#if VM_FMA
#define FMAF(a, b, c) fmaf(a, b, c)
#define FMAD(a, b, c) fma(a, b, c)
#else
#define FMAF(a, b, c) ((a) * (b) + (c))
#define FMAD(a, b, c) ((a) * (b) + (c))
#endif

/* Bit casts through memcpy: folded to register moves, and vectorisable. */
VM_ELEM uint32_t bits_f32(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
VM_ELEM float from_bits_f32(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
VM_ELEM uint64_t bits_f64(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
VM_ELEM double from_bits_f64(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ---- exp: x = n ln2 + r, |r| <= ln2/2, e^x = 2^n e^r.
 * n comes from adding 1.5 2^23 (2^52), which rounds x/ln2 to an integer in
 * the low mantissa bits; ln2 is split in a head whose product with n is
 * exact and a tail (Cody-Waite). e^r is its Taylor polynomial (degree 7 in
 * float, 13 in double: truncation below 2^-30 and 2^-56 relative). 2^n is
 * applied as two powers of two, n1 + n2 = n, so that results near overflow
 * and subnormal results need no special path: the biased exponent
 * u = n + 2 bias is positive after clamping x, and u/2, u - u/2 are both
 * normal exponents. Above the overflow threshold the result is +Inf; far
 * below the underflow threshold the product rounds to 0 by itself; NaN
 * propagates through the arithmetic. */
VM_ELEM float exp_f32_1(float x)
{
    const float shift = 0x1.8p23f;
    float z = FMAF(x, 0x1.715476p0f, shift); /* x / ln2 + shift */
    float n = z - shift;
    float r = FMAF(n, -0x1.62e4p-1f, x); /* exact: the head has 15 bits */
    r = FMAF(n, -0x1.7f7d1cp-20f, r);
    float p = 1.0f / 5040.0f;
    p = FMAF(p, r, 1.0f / 720.0f);
    p = FMAF(p, r, 1.0f / 120.0f);
    p = FMAF(p, r, 1.0f / 24.0f);
    p = FMAF(p, r, 1.0f / 6.0f);
    p = FMAF(p, r, 0.5f);
    p = FMAF(p, r, 1.0f);
    p = FMAF(p, r, 1.0f);
    uint32_t u = bits_f32(z) - bits_f32(shift) + 254u; /* n + 2 * 127 */
    uint32_t u1 = u >> 1, u2 = u - u1;
    float y = p * from_bits_f32(u1 << 23) * from_bits_f32(u2 << 23);
    y = x < -104.0f ? 0.0f : y;               /* far below underflow (u would wrap) */
    return x > 0x1.62e42ep6f ? HUGE_VALF : y; /* above log(FLT_MAX) */
}

VM_ELEM double exp_f64_1(double x)
{
    const double shift = 0x1.8p52;
    double z = FMAD(x, 0x1.71547652b82fep0, shift);
    double n = z - shift;
    double r = FMAD(n, -0x1.62e42feep-1, x); /* fdlibm's ln2_hi: 32 bits */
    r = FMAD(n, -0x1.a39ef35793c76p-33, r);
    double p = 1.0 / 6227020800.0; /* 1/13! */
    p = FMAD(p, r, 1.0 / 479001600.0);
    p = FMAD(p, r, 1.0 / 39916800.0);
    p = FMAD(p, r, 1.0 / 3628800.0);
    p = FMAD(p, r, 1.0 / 362880.0);
    p = FMAD(p, r, 1.0 / 40320.0);
    p = FMAD(p, r, 1.0 / 5040.0);
    p = FMAD(p, r, 1.0 / 720.0);
    p = FMAD(p, r, 1.0 / 120.0);
    p = FMAD(p, r, 1.0 / 24.0);
    p = FMAD(p, r, 1.0 / 6.0);
    p = FMAD(p, r, 0.5);
    p = FMAD(p, r, 1.0);
    p = FMAD(p, r, 1.0);
    uint64_t u = bits_f64(z) - bits_f64(shift) + 2046u; /* n + 2 * 1023 */
    uint64_t u1 = u >> 1, u2 = u - u1;
    double y = p * from_bits_f64(u1 << 52) * from_bits_f64(u2 << 52);
    y = x < -746.0 ? 0.0 : y;
    return x > 0x1.62e42fefa39efp9 ? HUGE_VAL : y; /* above log(DBL_MAX) */
}

/* ---- log: x = 2^k m with m in [sqrt2/2, sqrt2) (the exponent is taken
 * after adding the bits of 1 - sqrt2/2, as musl does), f = m - 1, and
 * log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f/(2+f), with fdlibm's
 * minimax R. Subnormal x is scaled up first. Select order: x < 0 -> NaN,
 * 0 -> -Inf, +Inf -> +Inf, NaN -> itself. */
VM_ELEM float log_f32_1(float x)
{
    int sub = x < 0x1p-126f;
    float xs = x * (sub ? 0x1p25f : 1.0f);
    uint32_t ix = bits_f32(xs) + (0x3f800000u - 0x3f3504f3u);
    float k = (float)((int32_t)(ix >> 23) - 127) - (sub ? 25.0f : 0.0f);
    float f = from_bits_f32((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float s = f / (2.0f + f), z = s * s, w = z * z;
    float t1 = w * (0.40000972152f + w * 0.24279078841f); /* fdlibm's Lg2, Lg4 */
    float t2 = z * (0.66666662693f + w * 0.28498786688f); /* Lg1, Lg3 */
    float hfsq = 0.5f * f * f;
    float y = s * (hfsq + (t2 + t1)) + k * 9.0580006145e-06f - hfsq + f + k * 6.9313812256e-01f;
    y = x < 0.0f ? NAN : y;
    y = x == 0.0f ? -HUGE_VALF : y;
    y = x == HUGE_VALF ? HUGE_VALF : y;
    return x != x ? x : y;
}

VM_ELEM double log_f64_1(double x)
{
    int sub = x < 0x1p-1022;
    double xs = x * (sub ? 0x1p54 : 1.0);
    uint64_t ix = bits_f64(xs) + ((uint64_t)(0x3ff00000u - 0x3fe6a09eu) << 32);
    /* the 12 top bits as a double, without an int64 conversion */
    double k = from_bits_f64(0x4330000000000000u | (ix >> 52)) - 0x1p52;
    k = k - (sub ? 1077.0 : 1023.0);
    double f = from_bits_f64((ix & 0x000fffffffffffffu) + 0x3fe6a09e00000000u) - 1.0;
    double s = f / (2.0 + f), z = s * s, w = z * z;
    double t1 = w * (3.999999999940941908e-01 +
                     w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01 +
                     w * (2.857142874366239149e-01 +
                          w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double hfsq = 0.5 * f * f;
    double y = s * (hfsq + (t2 + t1)) + k * 1.90821492927058770002e-10 - hfsq + f +
               k * 6.93147180369123816490e-01;
    y = x < 0.0 ? (double)NAN : y;
    y = x == 0.0 ? -HUGE_VAL : y;
    y = x == HUGE_VAL ? HUGE_VAL : y;
    return x != x ? x : y;
}

/* ---- tanh, in double: for |x| < 0.625 Cephes' rational x + x^3 P/Q (no
 * cancellation near 0), above it 1 - 2/(e^2|x| + 1) (e^2|x| = Inf gives 1).
 * Computed on |x| and given x's sign bit, so -0 stays -0. */
VM_ELEM double tanh_small_f64(double a) /* 0 <= a < 0.625 */
{
    double z = a * a;
    double p =
        (-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z - 1.61468768441708447952e3;
    double q = ((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z +
               4.84406305325125486048e3;
    return a + a * z * (p / q);
}
VM_ELEM double tanh_f64_1(double x)
{
    double a = fabs(x);
    double small = tanh_small_f64(a);
    double large = 1.0 - 2.0 / (exp_f64_1(a + a) + 1.0);
    double y = a < 0.625 ? small : large;
    return from_bits_f64(bits_f64(y) | (bits_f64(x) & 0x8000000000000000u));
}

/* ---- sigmoid = 1/(1 + e^-x) = e^x/(1 + e^x): with e = e^-|x| <= 1 both
 * forms are finite. float32 is evaluated in double, then rounded once. */
VM_ELEM double sigmoid_f64_1(double x)
{
    double e = exp_f64_1(-fabs(x)), s = 1.0 / (1.0 + e);
    return x >= 0.0 ? s : e * s;
}

/* ---- softplus = max(x, 0) + log1p(e^-|x|); log1p(e) = log u - ((u-1) - e)/u
 * with u = 1 + e rounded, which cancels the rounding of u (Goldberg). */
VM_ELEM double softplus_f64_1(double x)
{
    double e = exp_f64_1(-fabs(x)), u = 1.0 + e;
    double l = log_f64_1(u) - ((u - 1.0) - e) / u;
    return (x > 0.0 ? x : 0.0) + l;
}

/* ---- GELU for float32, evaluated in double and rounded once.
 * erfc(a) for a >= 0 is t e^(-a^2 + Q(t)), t = 2/(2 + a), with Q a degree-16
 * Chebyshev series in t fitted (least squares, on 200k points of a in
 * [0, 10]) to log(erfc(a)/t) + a^2: relative error below 7.6e-12 there, far
 * under float32's 6e-8. Past a = 10 erfc is below the smallest float; Q is
 * held at its a = 10 value and the exponential alone takes the result to 0.
 * Phi(x) = erfc(-x/sqrt2)/2 with erfc(-a) = 2 - erfc(a). */
VM_ELEM double erfc_nonneg_1(double a)
{
    static const double q[17] = {
        -0.55117125031398284,    0.55025631824003907,     0.0072678472329520249,
        -0.0063663206646284486,  -0.00015938484538663864, 0.00018099070205946581,
        -2.5158304184335506e-06, -6.4200786207005053e-06, 5.6819394475222399e-07,
        2.1429823122055615e-07,  -4.4639875195594881e-08, -4.6067315687861534e-09,
        2.4933261027035763e-09,  -9.5734044056470726e-11, -9.8784446907349033e-11,
        1.8291965382313065e-11,  2.8699350334385922e-12};
    double t = 2.0 / (2.0 + a);
    double u = t > 1.0 / 6.0 ? t : 1.0 / 6.0; /* t of a = 10 */
    double y = 2.4 * u - 1.4, y2 = y + y;     /* [1/6, 1] -> [-1, 1] */
    /* Clenshaw's recurrence, written out: a loop here would keep the
     * element loop around it from vectorising */
    double b0, b1 = q[16], b2 = 0.0;
#define VM_CLENSHAW(k) (b0 = FMAD(y2, b1, q[k] - b2), b2 = b1, b1 = b0)
    VM_CLENSHAW(15), VM_CLENSHAW(14), VM_CLENSHAW(13), VM_CLENSHAW(12), VM_CLENSHAW(11);
    VM_CLENSHAW(10), VM_CLENSHAW(9), VM_CLENSHAW(8), VM_CLENSHAW(7), VM_CLENSHAW(6);
    VM_CLENSHAW(5), VM_CLENSHAW(4), VM_CLENSHAW(3), VM_CLENSHAW(2), VM_CLENSHAW(1);
#undef VM_CLENSHAW
    return t * exp_f64_1(FMAD(-a, a, FMAD(y, b1, q[0] - b2)));
}
VM_ELEM double normal_cdf_1(double x)
{
    double z = -0.70710678118654752440 * x, e = erfc_nonneg_1(fabs(z));
    return 0.5 * (z >= 0.0 ? e : 2.0 - e);
}
/* x Phi(x); -0 where Phi is 0, so gelu(-Inf) is its limit, not -Inf * 0 */
VM_ELEM double gelu_1(double x)
{
    double p = normal_cdf_1(x);
    return p == 0.0 ? -0.0 : x * p;
}
/* x phi(x) = x e^(-x^2/2)/sqrt(2 pi); 0 from |x| = 40 on, where it has
 * underflowed, so infinite x gives 0 rather than Inf * 0. */
VM_ELEM double x_normal_pdf_1(double x)
{
    double v = 0.39894228040143267794 * x * exp_f64_1(-0.5 * x * x);
    return fabs(x) < 40.0 ? v : 0.0;
}

/* ---- libm forms, for the baseline build (VM_PREFER_LIBM): two lanes of
 * SSE2 run the branch-free log, and the sigmoid and softplus built on it,
 * slower than glibc's table-driven scalar code, so they call libm; exp and
 * tanh stay vector kernels, which win. */
#if VM_PREFER_LIBM
VM_ELEM double sigmoid_libm_1(double x)
{
    double e = exp(-fabs(x)), s = 1.0 / (1.0 + e);
    return x >= 0.0 ? s : e * s;
}
/* float32: e^-|x| in float (0.5 ulp), the rest in double, one rounding */
VM_ELEM float sigmoid_libm_f32_1(float x)
{
    double e = (double)expf(-fabsf(x)), s = 1.0 / (1.0 + e);
    return (float)(x >= 0.0f ? s : e * s);
}
VM_ELEM double softplus_libm_1(double x)
{
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}
#define LOG_F32_1(x)      logf(x)
#define LOG_F64_1(x)      log(x)
#define SIGMOID_F32_1(x)  sigmoid_libm_f32_1(x)
#define SIGMOID_F64_1(x)  sigmoid_libm_1(x)
#define SOFTPLUS_F32_1(x) (float)softplus_libm_1((double)(x))
#define SOFTPLUS_F64_1(x) softplus_libm_1(x)
#else
#define LOG_F32_1(x)      log_f32_1(x)
#define LOG_F64_1(x)      log_f64_1(x)
#define SIGMOID_F32_1(x)  (float)sigmoid_f64_1((double)(x))
#define SIGMOID_F64_1(x)  sigmoid_f64_1(x)
#define SOFTPLUS_F32_1(x) (float)softplus_f64_1((double)(x))
#define SOFTPLUS_F64_1(x) softplus_f64_1(x)
#endif

/* ---- array loops */

/* the maps, y[i] = f(x[i]) (vmath_map_tmpl.h) */
#define VM_MAP_NAME exp_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) exp_f32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME exp_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) exp_f64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME log_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) LOG_F32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME log_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) LOG_F64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME tanh_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) (float)tanh_f64_1((double)(v))
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME tanh_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) tanh_f64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME sigmoid_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) SIGMOID_F32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME sigmoid_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) SIGMOID_F64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME softplus_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) SOFTPLUS_F32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME softplus_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) SOFTPLUS_F64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME gelu_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) (float)gelu_1((double)(v))
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME gelu_grad_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) (float)(normal_cdf_1((double)(v)) + x_normal_pdf_1((double)(v)))
#include "vmath_map_tmpl.h"

/* Reductions keep VM_LANES partial results so the compiler can hold them in
 * vector registers (it may not reorder a single float sum by itself). */
#define VM_LANES 16

/* max, argmax and the shifted exp sum (vmath_reduce_tmpl.h) */
#define VR_T    float
#define VR_SUF  f32
#define VR_U    uint32_t
#define VR_EXP1 exp_f32_1
#include "vmath_reduce_tmpl.h"
#define VR_T    double
#define VR_SUF  f64
#define VR_U    uint64_t
#define VR_EXP1 exp_f64_1
#include "vmath_reduce_tmpl.h"

const ad_vmath_impl VM_TABLE = {
    exp_f32,     exp_f64,     log_f32,      log_f64,      tanh_f32,          tanh_f64,
    sigmoid_f32, sigmoid_f64, softplus_f32, softplus_f64, gelu_f32,          gelu_grad_f32,
    max_f32,     max_f64,     argmax_f32,   argmax_f64,   exp_shift_sum_f32, exp_shift_sum_f64};

#undef FMAF
#undef FMAD
#undef LOG_F32_1
#undef LOG_F64_1
#undef SIGMOID_F32_1
#undef SIGMOID_F64_1
#undef SOFTPLUS_F32_1
#undef SOFTPLUS_F64_1
#undef VM_FN
#undef VM_ELEM
