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
 * clang ignores them by default. Nor is errno: the Makefile builds these
 * files with -fno-math-errno, so that sqrt is one vector instruction. */
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

/* ==== The elementwise math ops' kernels (issue 20), in double; float32 is
 * evaluated through them and rounded once. Bounds in vmath.h. */

/* e^x 2^-1 (exp_f64_1 with one less in the exponent), finite up to
 * log(2 DBL_MAX) where e^x itself has overflowed: the large halves of sinh
 * and cosh. */
VM_ELEM double exp_half_f64_1(double x)
{
    const double shift = 0x1.8p52;
    double z = FMAD(x, 0x1.71547652b82fep0, shift);
    double n = z - shift;
    double r = FMAD(n, -0x1.62e42feep-1, x);
    r = FMAD(n, -0x1.a39ef35793c76p-33, r);
    double p = 1.0 / 6227020800.0;
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
    uint64_t u = bits_f64(z) - bits_f64(shift) + 2045u; /* n - 1 + 2 * 1023 */
    uint64_t u1 = u >> 1, u2 = u - u1;
    double y = p * from_bits_f64(u1 << 52) * from_bits_f64(u2 << 52);
    y = x < -746.0 ? 0.0 : y;
    return x > 0x1.62e42fefa39efp9 + 0x1.62e42fefa39efp-1 ? HUGE_VAL : y;
}

/* ---- expm1: x = n ln2 + r as in exp, e^r - 1 = r + r^2 P(r) (Taylor to
 * r^13) keeps every bit of r where exp(x) - 1 would cancel, and
 * e^x - 1 = 2 (2^(n-1) (e^r - 1) + (2^(n-1) - 1/2)), each product exact, one
 * rounding in the sum (no cancellation: |e^x - 1| >= 0.29 once n != 0).
 * x is clamped to [-50, 710] (e^-50 is below half an ulp of 1; 2^(n-1)
 * overflows to Inf past 710), |x| < 2^-54 gives x itself (-0 and
 * subnormals exactly). */
VM_ELEM double expm1_f64_1(double x)
{
    const double shift = 0x1.8p52;
    double xc = x < -50.0 ? -50.0 : x > 710.0 ? 710.0 : x;
    double z = FMAD(xc, 0x1.71547652b82fep0, shift);
    double n = z - shift;
    double r = FMAD(n, -0x1.62e42feep-1, xc);
    r = FMAD(n, -0x1.a39ef35793c76p-33, r);
    double p = 1.0 / 6227020800.0;
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
    double em = FMAD(r * r, p, r);
    double s = from_bits_f64((bits_f64(z) - bits_f64(shift) + 1022u) << 52); /* 2^(n-1) */
    double y = 2.0 * FMAD(s, em, s - 0.5);
    return fabs(x) < 0x1p-54 ? x : y;
}

/* ---- sinh and cosh. With h = e^|x|/2: cosh = h + 1/(4h), and for |x| >= 1
 * sinh = h - 1/(4h) (cancels less than a bit); below 1 sinh is its odd
 * Taylor series to x^17 (the next term is 2^-61 of the value). Finite up
 * to log(2 DBL_MAX), as the functions are. */
VM_ELEM double sinh_small_f64(double a) /* |a| < 1 */
{
    double z = a * a, p = 1.0 / 355687428096000.0; /* 1/17! */
    p = FMAD(p, z, 1.0 / 1307674368000.0);
    p = FMAD(p, z, 1.0 / 6227020800.0);
    p = FMAD(p, z, 1.0 / 39916800.0);
    p = FMAD(p, z, 1.0 / 362880.0);
    p = FMAD(p, z, 1.0 / 5040.0);
    p = FMAD(p, z, 1.0 / 120.0);
    p = FMAD(p, z, 1.0 / 6.0);
    return FMAD(a * z, p, a);
}
VM_ELEM double sinh_f64_1(double x)
{
    double a = fabs(x), h = exp_half_f64_1(a);
    double y = a < 1.0 ? sinh_small_f64(a) : h - 0.25 / h;
    return copysign(y, x);
}
VM_ELEM double cosh_f64_1(double x)
{
    double h = exp_half_f64_1(fabs(x));
    return h + 0.25 / h;
}

/* ---- log1p, log2, log10. log1p(x) = log u - ((u - 1) - x)/u with u = 1 + x
 * rounded: the correction restores what rounding u lost (Goldberg).
 * log2 and log10 split x = 2^k m as the log kernel does and add k log_b 2
 * to log(m)/ln b in the order that leaves powers of the base exact
 * (log2(8) = 3, log10(1000) = 3; fdlibm's e_log10.c). */
VM_ELEM double log1p_f64_1(double x)
{
    /* u = 1 + x = 2^k (1 + f); log1p x = k ln2 + log(1 + f) + c/u with
     * c = x - (u - 1), the rounding of u. One division serves both
     * s = f/(2 + f) and c/u = c 2^-k/(1 + f), through 1/((2 + f)(1 + f)):
     * s picks up an ulp or two, which moves s (hfsq + R), a few percent of
     * the result at most, by a fraction of an ulp. */
    double u = 1.0 + x;
    uint64_t ix = bits_f64(u) + ((uint64_t)(0x3ff00000u - 0x3fe6a09eu) << 32);
    uint64_t e = ix >> 52; /* k + 1023 */
    double k = from_bits_f64(0x4330000000000000u | e) - 0x1p52 - 1023.0;
    double f = from_bits_f64((ix & 0x000fffffffffffffu) + 0x3fe6a09e00000000u) - 1.0;
    double m = 1.0 + f, d = 1.0 / ((2.0 + f) * m);
    double s = f * m * d, z = s * s, w = z * z;
    double t1 = w * (3.999999999940941908e-01 +
                     w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01 +
                     w * (2.857142874366239149e-01 +
                          w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double hfsq = 0.5 * f * f;
    double sc = from_bits_f64(((2046u - e) & 0x7ffu) << 52); /* 2^-k */
    double c = k > 1000.0 ? 0.0 : (x - (u - 1.0)) * sc * (2.0 + f) * d;
    double y = k * 6.93147180369123816490e-01 -
               ((hfsq - (s * (hfsq + (t2 + t1)) + (k * 1.90821492927058770002e-10 + c))) - f);
    y = x < -1.0 ? (double)NAN : y;
    y = x == -1.0 ? -HUGE_VAL : y;
    y = x == HUGE_VAL ? HUGE_VAL : y;
    y = x != x ? x : y;
    return fabs(x) < 0x1p-54 ? x : y;
}
/* log(m) with x = 2^k m, m in [sqrt2/2, sqrt2); k in *kp. x > 0 finite. */
VM_ELEM double log_m_f64(double x, double *kp)
{
    int sub = x < 0x1p-1022;
    double xs = x * (sub ? 0x1p54 : 1.0);
    uint64_t ix = bits_f64(xs) + ((uint64_t)(0x3ff00000u - 0x3fe6a09eu) << 32);
    double k = from_bits_f64(0x4330000000000000u | (ix >> 52)) - 0x1p52;
    *kp = k - (sub ? 1077.0 : 1023.0);
    double f = from_bits_f64((ix & 0x000fffffffffffffu) + 0x3fe6a09e00000000u) - 1.0;
    double s = f / (2.0 + f), z = s * s, w = z * z;
    double t1 = w * (3.999999999940941908e-01 +
                     w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01 +
                     w * (2.857142874366239149e-01 +
                          w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double hfsq = 0.5 * f * f;
    return f - (hfsq - s * (hfsq + (t2 + t1)));
}
/* the special values of a logarithm: NaN below 0, -Inf at 0, +Inf, NaN */
VM_ELEM double log_special_f64(double x, double y)
{
    y = x < 0.0 ? (double)NAN : y;
    y = x == 0.0 ? -HUGE_VAL : y;
    y = x == HUGE_VAL ? HUGE_VAL : y;
    return x != x ? x : y;
}
VM_ELEM double log2_f64_1(double x)
{
    double k, l = log_m_f64(x, &k);
    return log_special_f64(x, k + l * 1.44269504088896338700e+00);
}
VM_ELEM double log10_f64_1(double x)
{
    double k, l = log_m_f64(x, &k);
    double z = k * 3.69423907715893078616e-13 + l * 4.34294481903251816668e-01;
    return log_special_f64(x, z + k * 3.01029995663611771306e-01);
}

/* ---- sin, cos, tan: x = n pi/2 + r, |r| <= pi/4, n = x 2/pi rounded to an
 * integer (the exp shift trick), with pi/2 in three doubles. Each step is
 * an FMA; the first is exact for |x| < 2^20 (n has 20 bits, x - n P1 is a
 * multiple of 2^-53 below 2) and the second whenever its result is below
 * 2^-53, so r keeps its relative accuracy however close x comes to a
 * multiple of pi/2. Beyond 2^20 the array loops call libm (vmath_map_tmpl.h).
 * sin r and cos r are fdlibm's minimax polynomials (__kernel_sin/_cos, no
 * tail), chosen and signed by the quadrant n mod 4; tan r = sin r / cos r. */
typedef struct vm_sincos {
    double s, c; /* sin r, cos r */
    uint64_t q;  /* n mod 4 */
} vm_sincos;
VM_ELEM vm_sincos sincos_red_f64(double x)
{
    const double shift = 0x1.8p52;
    double z = FMAD(x, 0x1.45f306dc9c883p-1, shift); /* 2/pi */
    double n = z - shift;
    double r = FMAD(n, -0x1.921fb54442d18p0, x);
    r = FMAD(n, -0x1.1a62633145c07p-54, r);
    r = FMAD(n, 0x1.f1976b7ed8fbcp-110, r);
    double zz = r * r, w = zz * zz;
    double ps = 8.33333333332248946124e-03 +
                zz * (-1.98412698298579493134e-04 + zz * 2.75573137070700676789e-06) +
                zz * w * (-2.50507602534068634195e-08 + zz * 1.58969099521155010221e-10);
    double s = FMAD(zz * r, -1.66666666666666324348e-01 + zz * ps, r);
    double pc = zz * (4.16666666666666019037e-02 +
                      zz * (-1.38888888888741095749e-03 + zz * 2.48015872894767294178e-05)) +
                w * w *
                    (-2.75573143513906633035e-07 +
                     zz * (2.08757232129817482790e-09 + zz * -1.13596475577881948265e-11));
    double hz = 0.5 * zz, one_m = 1.0 - hz;
    double c = one_m + (((1.0 - one_m) - hz) + zz * pc);
    return (vm_sincos){s, c, bits_f64(z) & 3u};
}
VM_ELEM double sin_f64_1(double x)
{
    vm_sincos t = sincos_red_f64(x);
    double y = t.q & 1u ? t.c : t.s;
    y = from_bits_f64(bits_f64(y) ^ ((t.q & 2u) << 62));
    return fabs(x) < 0x1p-27 ? x : y; /* sin x rounds to x; keeps -0 */
}
VM_ELEM double cos_f64_1(double x)
{
    vm_sincos t = sincos_red_f64(x);
    uint64_t q = t.q + 1u;
    double y = q & 1u ? t.c : t.s;
    return from_bits_f64(bits_f64(y) ^ ((q & 2u) << 62));
}
VM_ELEM double tan_f64_1(double x)
{
    vm_sincos t = sincos_red_f64(x);
    double y = t.q & 1u ? -t.c / t.s : t.s / t.c;
    return fabs(x) < 0x1p-27 ? x : y;
}
/* the arguments the kernels above leave to libm */
#define VM_TRIG_BIG(v)   (fabs(v) > 0x1p20)
#define VM_TRIG_BIG32(v) (fabsf(v) > 0x1p20f)

/* ---- atan and its relatives, from one core: atan(n/d) for n, d >= 0 not
 * both 0 or both Inf, by Cephes' reduction of the ratio to |t| <= 0.66
 * (t = n/d, (n - d)/(n + d) plus pi/4, or -d/n plus pi/2) and its degree
 * 4/5 rational, t + t^3 P/Q. Taking the ratio inside the core saves asin,
 * acos and atan2 a division. */
VM_ELEM double atan_ratio_f64(double n, double d)
{
    int big = n > 2.41421356237309504880 * d, mid = n > 0.66 * d;
    double num = big ? -d : mid ? n - d : n;
    double den = big ? n : mid ? n + d : d;
    double base = big ? 0x1.921fb54442d18p0 : mid ? 0x1.921fb54442d18p-1 : 0.0;
    double more = big ? 0x1.1a62633145c07p-54 : mid ? 0x1.1a62633145c07p-55 : 0.0;
    double t = num / den, z = t * t;
    double p = (((-8.750608600031904122785e-1 * z - 1.615753718733365076637e1) * z -
                 7.500855792314704667340e1) *
                    z -
                1.228866684490136173410e2) *
                   z -
               6.485021904942025371773e1;
    double q = ((((z + 2.485846490142306297962e1) * z + 1.650270098316988542046e2) * z +
                 4.328810604912902668951e2) *
                    z +
                4.853903996359136964868e2) *
                   z +
               1.945506571482613964425e2;
    return base + (FMAD(t * z, p / q, t) + more);
}
VM_ELEM double atan_f64_1(double x)
{
    return copysign(atan_ratio_f64(fabs(x), 1.0), x);
}
/* asin x = atan(|x| / sqrt(1 - x^2)), 1 - x^2 as (1 - |x|)(1 + |x|), exact
 * in its first factor where it matters; NaN beyond 1 through the sqrt */
VM_ELEM double asin_f64_1(double x)
{
    double a = fabs(x), s = sqrt((1.0 - a) * (1.0 + a));
    return copysign(atan_ratio_f64(a, s), x);
}
/* acos x = atan(sqrt(1 - x^2) / |x|), or pi minus it for x < 0 (-0 too) */
VM_ELEM double acos_f64_1(double x)
{
    double a = fabs(x), s = sqrt((1.0 - a) * (1.0 + a));
    double r = atan_ratio_f64(s, a);
    return bits_f64(x) >> 63 ? (0x1.921fb54442d18p1 - r) + 0x1.1a62633145c07p-53 : r;
}
/* atan2(y, x): C's special values (signed zeros, infinities) by choosing n
 * and d; either above 2^1000 they are scaled down so n + d cannot overflow,
 * both below 2^-900 up so the core's thresholds (0.66 d) do not round */
VM_ELEM double atan2_f64_1(double y, double x)
{
    double n = fabs(y), d = fabs(x);
    int inf2 = n == HUGE_VAL && d == HUGE_VAL, zero2 = n == 0.0 && d == 0.0;
    double sc = n > 0x1p1000 || d > 0x1p1000   ? 0x1p-8
                : n < 0x1p-900 && d < 0x1p-900 ? 0x1p200
                                               : 1.0;
    n = inf2 ? 1.0 : n * sc;
    d = inf2 || zero2 ? 1.0 : d * sc;
    double r = atan_ratio_f64(n, d);
    r = bits_f64(x) >> 63 ? (0x1.921fb54442d18p1 - r) + 0x1.1a62633145c07p-53 : r;
    return copysign(r, y);
}

/* ---- asinh, acosh, atanh through log1p. asinh |x| = log1p(a + a^2 / (1 +
 * sqrt(1 + a^2))) and acosh x = log1p((x - 1) + sqrt((x - 1)(x + 1))), no
 * cancellation near 0 and 1; above 2^28 both are log(2a) = log1p(a - 1) +
 * ln2 (a^2 would overflow). atanh |x| = log1p(2a / (1 - a)) / 2. */
VM_ELEM double asinh_f64_1(double x)
{
    double a = fabs(x);
    int big = a > 0x1p28;
    double t = big ? a - 1.0 : a + a * a / (1.0 + sqrt(1.0 + a * a));
    double y = log1p_f64_1(t) + (big ? 0x1.62e42fefa39efp-1 : 0.0);
    return copysign(y, x);
}
VM_ELEM double acosh_f64_1(double x)
{
    int big = x > 0x1p28;
    double xm1 = x - 1.0;
    double t = big ? xm1 : xm1 + sqrt(xm1 * (x + 1.0));
    double y = log1p_f64_1(t) + (big ? 0x1.62e42fefa39efp-1 : 0.0);
    return x < 1.0 ? (double)NAN : y;
}
VM_ELEM double atanh_f64_1(double x)
{
    double a = fabs(x);
    return copysign(0.5 * log1p_f64_1((a + a) / (1.0 - a)), x);
}

/* ---- erf and erfc for float32, in double, from the GELU's erfc (its 7.6e-12
 * relative error is far below float32's). erf below 0.5 is its Taylor
 * series to x^13 (where 1 - erfc would lose the small values' bits). */
VM_ELEM double erf_f64_1(double x)
{
    double a = fabs(x), z = a * a;
    double p = 1.0 / 9360.0;
    p = FMAD(p, z, -1.0 / 1320.0);
    p = FMAD(p, z, 1.0 / 216.0);
    p = FMAD(p, z, -1.0 / 42.0);
    p = FMAD(p, z, 1.0 / 10.0);
    p = FMAD(p, z, -1.0 / 3.0);
    double small = 1.12837916709551257390 * FMAD(a * z, p, a);
    double y = a < 0.5 ? small : 1.0 - erfc_nonneg_1(a);
    return copysign(y, x);
}
VM_ELEM double erfc_f64_1(double x)
{
    double e = erfc_nonneg_1(fabs(x));
    return x < 0.0 ? 2.0 - e : e;
}

/* ---- derivative helpers: 1/sqrt(1 - x^2) (asin', -acos'), 1/sqrt(x^2 + 1)
 * (asinh') and 1/sqrt(x^2 - 1) (acosh'), each written so it neither cancels
 * nor overflows: +Inf at the domain's edge, NaN outside it. */
VM_ELEM double asin_grad_f64_1(double x)
{
    return 1.0 / sqrt((1.0 - x) * (1.0 + x));
}
VM_ELEM double asinh_grad_f64_1(double x)
{
    double a = fabs(x);
    return a > 0x1p500 ? 1.0 / a : 1.0 / sqrt(FMAD(a, a, 1.0));
}
VM_ELEM double acosh_grad_f64_1(double x)
{
    double y = x > 0x1p500 ? 1.0 / x : 1.0 / sqrt((x - 1.0) * (x + 1.0));
    return x < 1.0 ? (double)NAN : y; /* (x - 1)(x + 1) > 0 below -1 too */
}

/* ==== float32 kernels of the elementwise math ops: the float64 ones'
 * algorithms with float32 polynomials (Cephes' sinf, cosf, atanf; fdlibm's
 * logf coefficients), sixteen lanes to a register instead of eight. */

/* e^x 2^-1, finite up to log(2 FLT_MAX) (exp_f32_1 with one less in the
 * exponent) */
VM_ELEM float exp_half_f32_1(float x)
{
    const float shift = 0x1.8p23f;
    float z = FMAF(x, 0x1.715476p0f, shift);
    float n = z - shift;
    float r = FMAF(n, -0x1.62e4p-1f, x);
    r = FMAF(n, -0x1.7f7d1cp-20f, r);
    float p = 1.0f / 5040.0f;
    p = FMAF(p, r, 1.0f / 720.0f);
    p = FMAF(p, r, 1.0f / 120.0f);
    p = FMAF(p, r, 1.0f / 24.0f);
    p = FMAF(p, r, 1.0f / 6.0f);
    p = FMAF(p, r, 0.5f);
    p = FMAF(p, r, 1.0f);
    p = FMAF(p, r, 1.0f);
    uint32_t u = bits_f32(z) - bits_f32(shift) + 253u; /* n - 1 + 2 * 127 */
    uint32_t u1 = u >> 1, u2 = u - u1;
    float y = p * from_bits_f32(u1 << 23) * from_bits_f32(u2 << 23);
    y = x < -104.0f ? 0.0f : y;
    return x > 0x1.65a9f8p6f ? HUGE_VALF : y; /* above log(2 FLT_MAX) */
}
VM_ELEM float cosh_f32_1(float x)
{
    float h = exp_half_f32_1(fabsf(x));
    return h + 0.25f / h;
}
VM_ELEM float sinh_f32_1(float x)
{
    float a = fabsf(x), h = exp_half_f32_1(a), z = a * a;
    float p = 1.0f / 39916800.0f;
    p = FMAF(p, z, 1.0f / 362880.0f);
    p = FMAF(p, z, 1.0f / 5040.0f);
    p = FMAF(p, z, 1.0f / 120.0f);
    p = FMAF(p, z, 1.0f / 6.0f);
    float y = a < 1.0f ? FMAF(a * z, p, a) : h - 0.25f / h;
    return copysignf(y, x);
}
/* as expm1_f64_1; x clamped to [-30, 88.8] (e^-30 is below half an ulp of
 * 1; past log(FLT_MAX) = 88.72 the result overflows, and n stays <= 128,
 * so 2^(n-1) is finite and no Inf * 0 or Inf - Inf arises) */
VM_ELEM float expm1_f32_1(float x)
{
    const float shift = 0x1.8p23f;
    float xc = x < -30.0f ? -30.0f : x > 88.8f ? 88.8f : x;
    float z = FMAF(xc, 0x1.715476p0f, shift);
    float n = z - shift;
    float r = FMAF(n, -0x1.62e4p-1f, xc);
    r = FMAF(n, -0x1.7f7d1cp-20f, r);
    float p = 1.0f / 40320.0f;
    p = FMAF(p, r, 1.0f / 5040.0f);
    p = FMAF(p, r, 1.0f / 720.0f);
    p = FMAF(p, r, 1.0f / 120.0f);
    p = FMAF(p, r, 1.0f / 24.0f);
    p = FMAF(p, r, 1.0f / 6.0f);
    p = FMAF(p, r, 0.5f);
    float em = FMAF(r * r, p, r);
    float s = from_bits_f32((bits_f32(z) - bits_f32(shift) + 126u) << 23); /* 2^(n-1) */
    float y = 2.0f * FMAF(s, em, s - 0.5f);
    return fabsf(x) < 0x1p-25f ? x : y;
}

/* log(m), x = 2^k m, m in [sqrt2/2, sqrt2), k in *kp; x > 0 finite */
VM_ELEM float log_m_f32(float x, float *kp)
{
    int sub = x < 0x1p-126f;
    float xs = x * (sub ? 0x1p25f : 1.0f);
    uint32_t ix = bits_f32(xs) + (0x3f800000u - 0x3f3504f3u);
    *kp = (float)((int32_t)(ix >> 23) - 127) - (sub ? 25.0f : 0.0f);
    float f = from_bits_f32((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float s = f / (2.0f + f), z = s * s, w = z * z;
    float t1 = w * (0.40000972152f + w * 0.24279078841f);
    float t2 = z * (0.66666662693f + w * 0.28498786688f);
    float hfsq = 0.5f * f * f;
    return f - (hfsq - s * (hfsq + (t2 + t1)));
}
VM_ELEM float log_special_f32(float x, float y)
{
    y = x < 0.0f ? NAN : y;
    y = x == 0.0f ? -HUGE_VALF : y;
    y = x == HUGE_VALF ? HUGE_VALF : y;
    return x != x ? x : y;
}
VM_ELEM float log2_f32_1(float x)
{
    float k, l = log_m_f32(x, &k);
    return log_special_f32(x, k + l * 1.44269504089f);
}
VM_ELEM float log10_f32_1(float x)
{
    float k, l = log_m_f32(x, &k);
    float z = k * 7.9034151668e-07f + l * 4.3429449201e-01f;
    return log_special_f32(x, z + k * 3.0102920532e-01f);
}
VM_ELEM float log1p_f32_1(float x) /* as log1p_f64_1 */
{
    float u = 1.0f + x;
    uint32_t ix = bits_f32(u) + (0x3f800000u - 0x3f3504f3u);
    uint32_t e = ix >> 23; /* k + 127 */
    float k = (float)((int32_t)e - 127);
    float f = from_bits_f32((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float m = 1.0f + f, d = 1.0f / ((2.0f + f) * m);
    float s = f * m * d, z = s * s, w = z * z;
    float t1 = w * (0.40000972152f + w * 0.24279078841f);
    float t2 = z * (0.66666662693f + w * 0.28498786688f);
    float hfsq = 0.5f * f * f;
    float sc = from_bits_f32(((254u - e) & 0xffu) << 23); /* 2^-k */
    float c = k > 120.0f ? 0.0f : (x - (u - 1.0f)) * sc * (2.0f + f) * d;
    float y = k * 6.9313812256e-01f -
              ((hfsq - (s * (hfsq + (t2 + t1)) + (k * 9.0580006145e-06f + c))) - f);
    y = x < -1.0f ? NAN : y;
    y = x == -1.0f ? -HUGE_VALF : y;
    y = x == HUGE_VALF ? HUGE_VALF : y;
    y = x != x ? x : y;
    return fabsf(x) < 0x1p-25f ? x : y;
}

/* sin, cos, tan: pi/2 in three floats, reduced as in sincos_red_f64 */
typedef struct vm_sincos32 {
    float s, c;
    uint32_t q;
} vm_sincos32;
VM_ELEM vm_sincos32 sincos_red_f32(float x)
{
    const float shift = 0x1.8p23f;
    float z = FMAF(x, 0x1.45f306p-1f, shift);
    float n = z - shift;
    float r = FMAF(n, -0x1.921fb6p0f, x);
    r = FMAF(n, 0x1.777a5cp-25f, r);
    r = FMAF(n, 0x1.ee59dap-50f, r);
    float zz = r * r;
    float s =
        FMAF(zz * r, FMAF(FMAF(-1.9515295891e-4f, zz, 8.3321608736e-3f), zz, -1.6666654611e-1f), r);
    float pc =
        FMAF(FMAF(2.443315711809948e-5f, zz, -1.388731625493765e-3f), zz, 4.166664568298827e-2f);
    float c = FMAF(zz * zz, pc, FMAF(-0.5f, zz, 1.0f));
    return (vm_sincos32){s, c, bits_f32(z) & 3u};
}
VM_ELEM float sin_f32_1(float x)
{
    vm_sincos32 t = sincos_red_f32(x);
    float y = t.q & 1u ? t.c : t.s;
    y = from_bits_f32(bits_f32(y) ^ ((t.q & 2u) << 30));
    return fabsf(x) < 0x1p-12f ? x : y;
}
VM_ELEM float cos_f32_1(float x)
{
    vm_sincos32 t = sincos_red_f32(x);
    uint32_t q = t.q + 1u;
    float y = q & 1u ? t.c : t.s;
    return from_bits_f32(bits_f32(y) ^ ((q & 2u) << 30));
}
VM_ELEM float tan_f32_1(float x)
{
    vm_sincos32 t = sincos_red_f32(x);
    float y = t.q & 1u ? -t.c / t.s : t.s / t.c;
    return fabsf(x) < 0x1p-12f ? x : y;
}

/* atan(n/d), n, d >= 0, by Cephes' atanf: the ratio reduced to |t| <=
 * tan(pi/8) (t, (n - d)/(n + d) plus pi/4, -d/n plus pi/2) */
VM_ELEM float atan_ratio_f32(float n, float d)
{
    int big = n > 2.414213562373095f * d, mid = n > 0.4142135623730950f * d;
    float num = big ? -d : mid ? n - d : n;
    float den = big ? n : mid ? n + d : d;
    float base = big ? 0x1.921fb6p0f : mid ? 0x1.921fb6p-1f : 0.0f;
    float more = big ? -0x1.777a5cp-25f : mid ? -0x1.777a5cp-26f : 0.0f;
    float t = num / den, z = t * t;
    float p = FMAF(FMAF(FMAF(8.05374449538e-2f, z, -1.38776856032e-1f), z, 1.99777106478e-1f), z,
                   -3.33329491539e-1f);
    return base + (FMAF(t * z, p, t) + more);
}
VM_ELEM float atan_f32_1(float x)
{
    return copysignf(atan_ratio_f32(fabsf(x), 1.0f), x);
}
VM_ELEM float asin_f32_1(float x)
{
    float a = fabsf(x), s = sqrtf((1.0f - a) * (1.0f + a));
    return copysignf(atan_ratio_f32(a, s), x);
}
VM_ELEM float acos_f32_1(float x)
{
    float a = fabsf(x), s = sqrtf((1.0f - a) * (1.0f + a));
    float r = atan_ratio_f32(s, a);
    return bits_f32(x) >> 31 ? (0x1.921fb6p1f - r) - 0x1.777a5cp-24f : r;
}

/* asinh, acosh, atanh through log1pf; log(2a) above 2^12, where the 1 in
 * a^2 + 1 no longer counts */
VM_ELEM float asinh_f32_1(float x)
{
    float a = fabsf(x);
    int big = a > 0x1p12f;
    float t = big ? a - 1.0f : a + a * a / (1.0f + sqrtf(FMAF(a, a, 1.0f)));
    float y = log1p_f32_1(t) + (big ? 0x1.62e43p-1f : 0.0f);
    return copysignf(y, x);
}
VM_ELEM float acosh_f32_1(float x)
{
    int big = x > 0x1p12f;
    float xm1 = x - 1.0f;
    float t = big ? xm1 : xm1 + sqrtf(xm1 * (x + 1.0f));
    float y = log1p_f32_1(t) + (big ? 0x1.62e43p-1f : 0.0f);
    return x < 1.0f ? NAN : y;
}
VM_ELEM float atanh_f32_1(float x)
{
    float a = fabsf(x);
    return copysignf(0.5f * log1p_f32_1((a + a) / (1.0f - a)), x);
}

/* the derivative helpers in float32 (see asin_grad_f64_1) */
VM_ELEM float asin_grad_f32_1(float x)
{
    return 1.0f / sqrtf((1.0f - x) * (1.0f + x));
}
VM_ELEM float asinh_grad_f32_1(float x)
{
    float a = fabsf(x);
    return a > 0x1p60f ? 1.0f / a : 1.0f / sqrtf(FMAF(a, a, 1.0f));
}
VM_ELEM float acosh_grad_f32_1(float x)
{
    float y = x > 0x1p60f ? 1.0f / x : 1.0f / sqrtf((x - 1.0f) * (x + 1.0f));
    return x < 1.0f ? NAN : y;
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
/* the elementwise math ops: libm, but for the exp-based ones */
#define NEW_F64_1(name, x) name(x)
#define NEW_F32_1(name, x) (float)name((double)(x)) /* glibc's log10f is off by 2 ulp */
#define ATAN2_F64_1(a, b)  atan2(a, b)
#define ATAN2_F32_1(a, b)  (float)atan2((double)(a), (double)(b))
#define LOG_F32_1(x)       logf(x)
#define LOG_F64_1(x)       log(x)
#define SIGMOID_F32_1(x)   sigmoid_libm_f32_1(x)
#define SIGMOID_F64_1(x)   sigmoid_libm_1(x)
#define SOFTPLUS_F32_1(x)  (float)softplus_libm_1((double)(x))
#define SOFTPLUS_F64_1(x)  softplus_libm_1(x)
#else
#define NEW_F64_1(name, x) name##_f64_1(x)
#define NEW_F32_1(name, x) name##_f32_1(x)
#define ATAN2_F64_1(a, b)  atan2_f64_1(a, b)
#define ATAN2_F32_1(a, b)  (float)atan2_f64_1((double)(a), (double)(b))
#define LOG_F32_1(x)       log_f32_1(x)
#define LOG_F64_1(x)       log_f64_1(x)
#define SIGMOID_F32_1(x)   (float)sigmoid_f64_1((double)(x))
#define SIGMOID_F64_1(x)   sigmoid_f64_1(x)
#define SOFTPLUS_F32_1(x)  (float)softplus_f64_1((double)(x))
#define SOFTPLUS_F64_1(x)  softplus_f64_1(x)
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

/* the elementwise math ops (issue 20) */
#define VM_MAP_NAME sinh_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) sinh_f32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME sinh_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) sinh_f64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME cosh_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) cosh_f32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME cosh_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) cosh_f64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME expm1_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) expm1_f32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME expm1_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) expm1_f64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME log1p_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(log1p, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME log1p_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(log1p, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME log2_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(log2, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME log2_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(log2, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME log10_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(log10, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME log10_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(log10, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME atan_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(atan, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME atan_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(atan, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME asin_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(asin, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME asin_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(asin, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME acos_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(acos, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME acos_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(acos, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME asinh_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(asinh, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME asinh_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(asinh, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME acosh_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(acosh, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME acosh_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(acosh, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME atanh_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) NEW_F32_1(atanh, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME atanh_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) NEW_F64_1(atanh, v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME    sin_f32
#define VM_MAP_T       float
#define VM_MAP_F(v)    NEW_F32_1(sin, v)
#define VM_MAP_BIG(v)  VM_TRIG_BIG32(v)
#define VM_MAP_LIBM(v) sinf(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME    sin_f64
#define VM_MAP_T       double
#define VM_MAP_F(v)    NEW_F64_1(sin, v)
#define VM_MAP_BIG(v)  VM_TRIG_BIG(v)
#define VM_MAP_LIBM(v) sin(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME    cos_f32
#define VM_MAP_T       float
#define VM_MAP_F(v)    NEW_F32_1(cos, v)
#define VM_MAP_BIG(v)  VM_TRIG_BIG32(v)
#define VM_MAP_LIBM(v) cosf(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME    cos_f64
#define VM_MAP_T       double
#define VM_MAP_F(v)    NEW_F64_1(cos, v)
#define VM_MAP_BIG(v)  VM_TRIG_BIG(v)
#define VM_MAP_LIBM(v) cos(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME    tan_f32
#define VM_MAP_T       float
#define VM_MAP_F(v)    NEW_F32_1(tan, v)
#define VM_MAP_BIG(v)  VM_TRIG_BIG32(v)
#define VM_MAP_LIBM(v) tanf(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME    tan_f64
#define VM_MAP_T       double
#define VM_MAP_F(v)    NEW_F64_1(tan, v)
#define VM_MAP_BIG(v)  VM_TRIG_BIG(v)
#define VM_MAP_LIBM(v) tan(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME erf_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) (float)erf_f64_1((double)(v))
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME erfc_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) (float)erfc_f64_1((double)(v))
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME asin_grad_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) asin_grad_f32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME asin_grad_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) asin_grad_f64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME asinh_grad_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) asinh_grad_f32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME asinh_grad_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) asinh_grad_f64_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME acosh_grad_f32
#define VM_MAP_T    float
#define VM_MAP_F(v) acosh_grad_f32_1(v)
#include "vmath_map_tmpl.h"
#define VM_MAP_NAME acosh_grad_f64
#define VM_MAP_T    double
#define VM_MAP_F(v) acosh_grad_f64_1(v)
#include "vmath_map_tmpl.h"

/* atan2(a[i], b[i]): two inputs, same length, either may be y */
static VM_FN void atan2_f32(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = ATAN2_F32_1(a[i], b[i]);
}
static VM_FN void atan2_f64(const double *a, const double *b, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = ATAN2_F64_1(a[i], b[i]);
}

/* x^c for float32, evaluated in double as e^(c log|x|), whose relative
 * error (|c log x| 2^-52) is far below float32's; a negative x takes its
 * sign from an odd integer c and is NaN for a c that is no integer, as C's
 * pow has it (-Inf to a fraction is +Inf). c finite and not 0 (the op
 * handles those). */
static VM_FN void powc_f32(const float *x, float c, float *y, size_t n)
{
    double cd = (double)c, half = 0.5 * cd;
    int c_int = cd == floor(cd), c_odd = c_int && half != floor(half);
    for (size_t i = 0; i < n; i++) {
        double v = (double)x[i];
        double m = exp_f64_1(cd * LOG_F64_1(fabs(v)));
        m = c_odd && bits_f64(v) >> 63 ? -m : m;
        m = !c_int && v < 0.0 && v > -HUGE_VAL ? (double)NAN : m;
        y[i] = (float)m;
    }
}

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
    exp_f32,        exp_f64,           log_f32,           log_f64,        tanh_f32,
    tanh_f64,       sigmoid_f32,       sigmoid_f64,       softplus_f32,   softplus_f64,
    gelu_f32,       gelu_grad_f32,     max_f32,           max_f64,        argmax_f32,
    argmax_f64,     exp_shift_sum_f32, exp_shift_sum_f64, sinh_f32,       sinh_f64,
    cosh_f32,       cosh_f64,          expm1_f32,         expm1_f64,      log1p_f32,
    log1p_f64,      log2_f32,          log2_f64,          log10_f32,      log10_f64,
    sin_f32,        sin_f64,           cos_f32,           cos_f64,        tan_f32,
    tan_f64,        atan_f32,          atan_f64,          asin_f32,       asin_f64,
    acos_f32,       acos_f64,          asinh_f32,         asinh_f64,      acosh_f32,
    acosh_f64,      atanh_f32,         atanh_f64,         erf_f32,        erfc_f32,
    asin_grad_f32,  asin_grad_f64,     asinh_grad_f32,    asinh_grad_f64, acosh_grad_f32,
    acosh_grad_f64, atan2_f32,         atan2_f64,         powc_f32};

#undef FMAF
#undef FMAD
#undef LOG_F32_1
#undef NEW_F32_1
#undef NEW_F64_1
#undef ATAN2_F32_1
#undef ATAN2_F64_1
#undef VM_TRIG_BIG
#undef VM_TRIG_BIG32
#undef LOG_F64_1
#undef SIGMOID_F32_1
#undef SIGMOID_F64_1
#undef SOFTPLUS_F32_1
#undef SOFTPLUS_F64_1
#undef VM_FN
#undef VM_ELEM
