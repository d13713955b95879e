/* SPDX-License-Identifier: MIT
 * Vector math (src/kernels/vmath.h) against libm, on every kernel family the CPU
 * runs: max ulp error over dense sweeps of the float line, random points
 * over all exponents and the interesting ranges, special values (NaN, +-Inf,
 * +-0, overflow, underflow, subnormals), lengths that leave odd tails,
 * unaligned and in-place arrays, and the softmax row passes. */
#include "common.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/vmath.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum fn { F_EXP, F_LOG, F_TANH, F_SIGMOID, F_SOFTPLUS };
static const char *fn_name[] = {"exp", "log", "tanh", "sigmoid", "softplus"};

/* Tolerances: float32 within 2 ulp of the correctly rounded result,
 * float64 within 4. */
#define TOL32 2
#define TOL64 4

/* true when the family can run here; forces it for the calls that follow */
static bool use_isa(int isa)
{
    if (isa == AD_ISA_AVX2 && !ad_cpu_has_avx2_fma()) return false;
    if (isa == AD_ISA_AVX512 && !ad_cpu_has_avx512()) return false;
    ad_vmath_force_isa(isa);
    cr_assert_eq(ad_vmath_isa(), isa);
    return true;
}

static void call32(enum fn f, const float *x, float *y, size_t n)
{
    switch (f) {
    case F_EXP:
        ad_vexp_f32(x, y, n);
        break;
    case F_LOG:
        ad_vlog_f32(x, y, n);
        break;
    case F_TANH:
        ad_vtanh_f32(x, y, n);
        break;
    case F_SIGMOID:
        ad_vsigmoid_f32(x, y, n);
        break;
    case F_SOFTPLUS:
        ad_vsoftplus_f32(x, y, n);
        break;
    }
}

static void call64(enum fn f, const double *x, double *y, size_t n)
{
    switch (f) {
    case F_EXP:
        ad_vexp_f64(x, y, n);
        break;
    case F_LOG:
        ad_vlog_f64(x, y, n);
        break;
    case F_TANH:
        ad_vtanh_f64(x, y, n);
        break;
    case F_SIGMOID:
        ad_vsigmoid_f64(x, y, n);
        break;
    case F_SOFTPLUS:
        ad_vsoftplus_f64(x, y, n);
        break;
    }
}

/* The exact value, well enough: double libm for float32, long double for
 * float64; rounding it gives the correctly rounded result (but for rare
 * double roundings, which cost at most 1/2 ulp more). */
static long double ref(enum fn f, long double x)
{
    switch (f) {
    case F_EXP:
        return expl(x);
    case F_LOG:
        return logl(x);
    case F_TANH:
        return tanhl(x);
    case F_SIGMOID:
        return x >= 0 ? 1 / (1 + expl(-x)) : expl(x) / (1 + expl(x));
    case F_SOFTPLUS:
        return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x));
    }
    return 0;
}

/* Distance in units in the last place: the bit patterns mapped to a line
 * on which neighbouring floats are neighbouring integers. NaN against NaN
 * is 0, NaN against a number infinite. */
static double ulp32(float a, float b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? 0 : HUGE_VAL;
    int32_t ia, ib;
    memcpy(&ia, &a, 4), memcpy(&ib, &b, 4);
    int64_t la = ia < 0 ? (int64_t)INT32_MIN - ia : ia, lb = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return (double)llabs(la - lb);
}

static double ulp64(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? 0 : HUGE_VAL;
    int64_t ia, ib;
    memcpy(&ia, &a, 8), memcpy(&ib, &b, 8);
    long double la = ia < 0 ? (long double)INT64_MIN - ia : ia;
    long double lb = ib < 0 ? (long double)INT64_MIN - ib : ib;
    return (double)fabsl(la - lb);
}

/* Worst error over x[0..n) and where it is. */
typedef struct worst {
    double ulp, x, got, want;
} worst;

static void check32(enum fn f, const float *x, size_t n, worst *w)
{
    float *y = malloc(n * sizeof *y);
    call32(f, x, y, n);
    for (size_t i = 0; i < n; i++) {
        float want = (float)ref(f, (long double)x[i]);
        double e = ulp32(y[i], want);
        if (e > w->ulp) *w = (worst){e, (double)x[i], (double)y[i], (double)want};
    }
    free(y);
}

static void check64(enum fn f, const double *x, size_t n, worst *w)
{
    double *y = malloc(n * sizeof *y);
    call64(f, x, y, n);
    for (size_t i = 0; i < n; i++) {
        double want = (double)ref(f, (long double)x[i]);
        double e = ulp64(y[i], want);
        if (e > w->ulp) *w = (worst){e, x[i], y[i], want};
    }
    free(y);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_u64() >> 11) * 0x1p-53;
}

/* The range where each function is neither saturated nor trivial. */
static void busy_range(enum fn f, double *lo, double *hi, bool dbl)
{
    switch (f) {
    case F_EXP:
        *lo = dbl ? -746 : -104, *hi = dbl ? 710 : 89;
        break;
    case F_LOG:
        *lo = 0, *hi = 4;
        break;
    case F_TANH:
        *lo = -20, *hi = 20;
        break;
    case F_SIGMOID:
        *lo = dbl ? -746 : -104, *hi = 40;
        break;
    case F_SOFTPLUS:
        *lo = dbl ? -746 : -104, *hi = 40;
        break;
    }
}

/* float32: every 509th bit pattern (all signs, exponents, subnormals, NaNs,
 * infinities) plus 200k uniform points in the busy range. */
static double sweep32(enum fn f)
{
    enum { BLOCK = 1 << 16 };
    float *x = malloc(BLOCK * sizeof *x);
    worst w = {0, 0, 0, 0};
    size_t k = 0;
    for (uint64_t b = 0; b < ((uint64_t)1 << 32); b += 509) {
        uint32_t u = (uint32_t)b;
        memcpy(&x[k++], &u, 4);
        if (k == BLOCK) check32(f, x, k, &w), k = 0;
    }
    check32(f, x, k, &w), k = 0;
    double lo, hi;
    busy_range(f, &lo, &hi, false);
    for (int r = 0; r < 4; r++) {
        for (k = 0; k < BLOCK; k++)
            x[k] = (float)uniform(lo, hi);
        check32(f, x, BLOCK, &w);
    }
    free(x);
    cr_log_info("vmath %s f32 isa %d: max %g ulp (x = %a)", fn_name[f], ad_vmath_isa(), w.ulp, w.x);
    cr_assert(w.ulp <= TOL32, "%s f32 isa %d: %g ulp at x = %a: got %a, want %a", fn_name[f],
              ad_vmath_isa(), w.ulp, w.x, w.got, w.want);
    return w.ulp;
}

/* float64: 400k random bit patterns (all exponents) and 400k uniform points
 * in the busy range, 100k of them near 0 (|x| < 1). */
static double sweep64(enum fn f)
{
    enum { BLOCK = 1 << 16 };
    double *x = malloc(BLOCK * sizeof *x);
    worst w = {0, 0, 0, 0};
    double lo, hi;
    busy_range(f, &lo, &hi, true);
    for (int r = 0; r < 12; r++) {
        for (size_t k = 0; k < BLOCK; k++) {
            uint64_t u = next_u64();
            if (r < 6)
                memcpy(&x[k], &u, 8);
            else if (r < 10)
                x[k] = uniform(lo, hi);
            else
                x[k] = uniform(-1, 1) * ldexp(1, -(int)(u % 60));
        }
        check64(f, x, BLOCK, &w);
    }
    free(x);
    cr_log_info("vmath %s f64 isa %d: max %g ulp (x = %a)", fn_name[f], ad_vmath_isa(), w.ulp, w.x);
    cr_assert(w.ulp <= TOL64, "%s f64 isa %d: %g ulp at x = %a: got %a, want %a", fn_name[f],
              ad_vmath_isa(), w.ulp, w.x, w.got, w.want);
    return w.ulp;
}

/* NaN, infinities and signed zeros exactly as libm; the edges (overflow,
 * underflow to subnormal and to 0, subnormal inputs) within tolerance. */
static void specials(enum fn f)
{
    static const double pts[] = {0.0,
                                 -0.0,
                                 1.0,
                                 -1.0,
                                 0.5,
                                 -0.5,
                                 0.625,
                                 -0.625,
                                 2.0,
                                 1e-30,
                                 -1e-30,
                                 88.72283172607421875,
                                 88.72283935546875,
                                 89.0,
                                 -87.33654,
                                 -87.4,
                                 -103.27893,
                                 -103.972,
                                 -104.0,
                                 -150.0,
                                 709.782712893384,
                                 709.79,
                                 -708.39,
                                 -745.13,
                                 -745.14,
                                 -746.0,
                                 19.06,
                                 22.0,
                                 -22.0,
                                 710.0,
                                 1e300,
                                 -1e300,
                                 (double)FLT_MAX,
                                 -(double)FLT_MAX,
                                 (double)FLT_MIN,
                                 (double)FLT_TRUE_MIN,
                                 -(double)FLT_TRUE_MIN,
                                 DBL_MIN,
                                 DBL_TRUE_MIN,
                                 -DBL_TRUE_MIN,
                                 DBL_MAX,
                                 -DBL_MAX,
                                 HUGE_VAL,
                                 -HUGE_VAL,
                                 (double)NAN,
                                 -(double)NAN};
    enum { N = sizeof pts / sizeof pts[0] };
    float x32[N], y32[N];
    double x64[N], y64[N];
    for (size_t i = 0; i < N; i++)
        x32[i] = (float)pts[i], x64[i] = pts[i];
    call32(f, x32, y32, N);
    call64(f, x64, y64, N);
    for (size_t i = 0; i < N; i++) {
        float w32 = (float)ref(f, (long double)x32[i]);
        double w64 = (double)ref(f, (long double)x64[i]);
        if (isnan(w32) || isinf(w32) || w32 == 0)
            cr_assert(isnan(w32) ? isnan(y32[i]) : memcmp(&w32, &y32[i], 4) == 0,
                      "%s f32 isa %d: x = %a gives %a, libm %a", fn_name[f], ad_vmath_isa(),
                      (double)x32[i], (double)y32[i], (double)w32);
        else
            cr_assert(ulp32(y32[i], w32) <= TOL32, "%s f32 isa %d: x = %a gives %a, want %a",
                      fn_name[f], ad_vmath_isa(), (double)x32[i], (double)y32[i], (double)w32);
        if (isnan(w64) || isinf(w64) || w64 == 0)
            cr_assert(isnan(w64) ? isnan(y64[i]) : memcmp(&w64, &y64[i], 8) == 0,
                      "%s f64 isa %d: x = %a gives %a, libm %a", fn_name[f], ad_vmath_isa(), x64[i],
                      y64[i], w64);
        else
            cr_assert(ulp64(y64[i], w64) <= TOL64, "%s f64 isa %d: x = %a gives %a, want %a",
                      fn_name[f], ad_vmath_isa(), x64[i], y64[i], w64);
    }
}

/* Lengths around every vector width, at every misalignment, out of place
 * and in place; the element past the end is never written. */
static const size_t lengths[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 1003};
enum { N_LENGTHS = sizeof lengths / sizeof lengths[0] };

static void tails(enum fn f)
{
    enum { CAP = 1024 + 8 };
    float *x32 = malloc(CAP * sizeof *x32), *y32 = malloc(CAP * sizeof *y32);
    double *x64 = malloc(CAP * sizeof *x64), *y64 = malloc(CAP * sizeof *y64);
    for (size_t li = 0; li < N_LENGTHS; li++)
        for (size_t off = 0; off < 4; off++)
            for (int inplace = 0; inplace < 2; inplace++) {
                size_t n = lengths[li];
                for (size_t i = 0; i < CAP; i++) {
                    double v = f == F_LOG ? uniform(0, 50) : uniform(-30, 30);
                    x32[i] = (float)v, x64[i] = v, y32[i] = -7.0f, y64[i] = -7.0;
                }
                float *o32 = inplace ? x32 : y32;
                double *o64 = inplace ? x64 : y64;
                float keep32[CAP];
                double keep64[CAP];
                memcpy(keep32, x32, sizeof keep32), memcpy(keep64, x64, sizeof keep64);
                call32(f, x32 + off, o32 + off, n);
                call64(f, x64 + off, o64 + off, n);
                for (size_t i = 0; i < n; i++) {
                    float w32 = (float)ref(f, (long double)keep32[off + i]);
                    double w64 = (double)ref(f, (long double)keep64[off + i]);
                    cr_assert(ulp32(o32[off + i], w32) <= TOL32, "%s f32 n=%zu off=%zu [%zu]",
                              fn_name[f], n, off, i);
                    cr_assert(ulp64(o64[off + i], w64) <= TOL64, "%s f64 n=%zu off=%zu [%zu]",
                              fn_name[f], n, off, i);
                }
                cr_assert(o32[off + n] == (inplace ? keep32[off + n] : -7.0f),
                          "%s f32 wrote past n=%zu", fn_name[f], n);
                cr_assert(o64[off + n] == (inplace ? keep64[off + n] : -7.0),
                          "%s f64 wrote past n=%zu", fn_name[f], n);
                if (off)
                    cr_assert(o32[off - 1] == (inplace ? keep32[off - 1] : -7.0f),
                              "%s f32 wrote before the start", fn_name[f]);
            }
    free(x32), free(y32), free(x64), free(y64);
}

static void all_checks(int isa, enum fn f)
{
    if (!use_isa(isa)) return; /* this CPU cannot run it; the others are tested */
    sweep32(f);
    sweep64(f);
    specials(f);
    tails(f);
    ad_vmath_force_isa(AD_ISA_AUTO);
}

#define FN_TESTS(name, F)                                                                          \
    Test(vmath, name##_matches_libm_on_the_portable_kernels)                                       \
    {                                                                                              \
        all_checks(AD_ISA_GENERIC, F);                                                             \
    }                                                                                              \
    Test(vmath, name##_matches_libm_on_the_avx2_kernels)                                           \
    {                                                                                              \
        all_checks(AD_ISA_AVX2, F);                                                                \
    }                                                                                              \
    Test(vmath, name##_matches_libm_on_the_avx512_kernels)                                         \
    {                                                                                              \
        all_checks(AD_ISA_AVX512, F);                                                              \
    }

FN_TESTS(exp, F_EXP)
FN_TESTS(log, F_LOG)
FN_TESTS(tanh, F_TANH)
FN_TESTS(sigmoid, F_SIGMOID)
FN_TESTS(softplus, F_SOFTPLUS)

/* ---- GELU: gelu(x) = x Phi(x) and gelu'(x) = Phi(x) + x phi(x), against
 * long double erfcl/expl. gelu within the usual ulps; gelu' cancels near
 * its zero (x = -0.75), so there it is held to ulps of its larger term. */
static long double phi_l(long double x)
{
    return 0.5L * erfcl(-x / sqrtl(2.0L));
}
static long double x_pdf_l(long double x)
{
    return fabsl(x) < 40 ? x * expl(-x * x / 2) / sqrtl(2 * 3.14159265358979323846264338327950288L)
                         : 0.0L;
}
static long double gelu_l(long double x)
{
    long double p = phi_l(x);
    return p == 0 ? -0.0L : x * p;
}

/* |got - want| in ulps of want, or of the larger term of gelu' for `grad` */
static double gelu_err(bool grad, long double x, double got, double want, bool f32)
{
    double eps = f32 ? (double)FLT_EPSILON : DBL_EPSILON;
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got) ? 0 : HUGE_VAL;
    double scale = fabs(want);
    if (grad) scale = fmax(scale, fmax((double)phi_l(x), fabs((double)x_pdf_l(x))));
    double ulp = fmax(scale * eps, f32 ? (double)FLT_TRUE_MIN : DBL_TRUE_MIN);
    return fabs(got - want) / ulp;
}

static void gelu_checks(int isa)
{
    if (!use_isa(isa)) return;
    enum { BLOCK = 1 << 16 };
    float *x = malloc(BLOCK * sizeof *x), *y = malloc(BLOCK * sizeof *y);
    float *d = malloc(BLOCK * sizeof *d);
    double worst_ulp[2] = {0, 0}, at[2] = {0, 0};
    uint64_t b = 0;
    for (int round = 0; b < ((uint64_t)1 << 32) || round < 4; round++) {
        size_t k = 0;
        if (b < ((uint64_t)1 << 32)) /* every 509th float, then the busy range */
            for (; k < BLOCK && b < ((uint64_t)1 << 32); k++, b += 509) {
                uint32_t u = (uint32_t)b;
                memcpy(&x[k], &u, 4);
            }
        else
            for (; k < BLOCK; k++)
                x[k] = (float)uniform(-16, 10);
        ad_vgelu_f32(x, y, k);
        ad_vgelu_grad_f32(x, d, k);
        for (size_t i = 0; i < k; i++) {
            long double xi = (long double)x[i];
            double want_y = (double)(float)gelu_l(xi);
            double want_d = (double)(float)(phi_l(xi) + x_pdf_l(xi));
            double e0 = gelu_err(false, xi, (double)y[i], want_y, true);
            double e1 = gelu_err(true, xi, (double)d[i], want_d, true);
            if (e0 > worst_ulp[0]) worst_ulp[0] = e0, at[0] = (double)x[i];
            if (e1 > worst_ulp[1]) worst_ulp[1] = e1, at[1] = (double)x[i];
        }
    }
    cr_log_info("vmath gelu f32 isa %d: max %g ulp (x = %a), gelu' %g (x = %a)", isa, worst_ulp[0],
                at[0], worst_ulp[1], at[1]);
    cr_assert(worst_ulp[0] <= TOL32, "gelu f32 isa %d: %g ulp at x = %a", isa, worst_ulp[0], at[0]);
    cr_assert(worst_ulp[1] <= TOL32, "gelu' f32 isa %d: %g ulp at x = %a", isa, worst_ulp[1],
              at[1]);
    /* the limits at infinity, NaN, and zeros keeping their sign */
    static const float sp[] = {INFINITY, -INFINITY, NAN, 0.0f, -0.0f, -40.0f, 40.0f};
    static const float want_y[] = {INFINITY, -0.0f, NAN, 0.0f, -0.0f, -0.0f, 40.0f};
    static const float want_d[] = {1.0f, 0.0f, NAN, 0.5f, 0.5f, 0.0f, 1.0f};
    float ys[7], ds[7];
    ad_vgelu_f32(sp, ys, 7);
    ad_vgelu_grad_f32(sp, ds, 7);
    for (size_t i = 0; i < 7; i++) {
        cr_assert(isnan(want_y[i]) ? isnan(ys[i]) : memcmp(&ys[i], &want_y[i], 4) == 0,
                  "gelu f32 isa %d (%g) = %a, want %a", isa, (double)sp[i], (double)ys[i],
                  (double)want_y[i]);
        cr_assert(isnan(want_d[i]) ? isnan(ds[i]) : ds[i] == want_d[i],
                  "gelu' f32 isa %d (%g) = %a, want %a", isa, (double)sp[i], (double)ds[i],
                  (double)want_d[i]);
    }
    /* tails and misalignment: lengths around the vector widths, nothing
     * written past n */
    for (size_t li = 0; li < N_LENGTHS; li++)
        for (size_t off = 0; off < 4; off++) {
            size_t n = lengths[li] < BLOCK - 8 ? lengths[li] : 0;
            for (size_t i = 0; i < n + 8; i++)
                x[i] = (float)uniform(-8, 8), y[i] = -7.0f;
            ad_vgelu_f32(x + off, y + off, n);
            for (size_t i = 0; i < n; i++) {
                long double xi = (long double)x[off + i];
                cr_assert(gelu_err(false, xi, (double)y[off + i], (double)(float)gelu_l(xi),
                                   true) <= TOL32,
                          "gelu f32 n=%zu off=%zu [%zu]", n, off, i);
            }
            cr_assert(y[off + n] == -7.0f, "gelu f32 wrote past n=%zu", n);
        }
    free(x), free(y), free(d);
    ad_vmath_force_isa(AD_ISA_AUTO);
}

Test(vmath, gelu_and_its_derivative_match_long_double_on_the_portable_kernels)
{
    gelu_checks(AD_ISA_GENERIC);
}
Test(vmath, gelu_and_its_derivative_match_long_double_on_the_avx2_kernels)
{
    gelu_checks(AD_ISA_AVX2);
}
Test(vmath, gelu_and_its_derivative_match_long_double_on_the_avx512_kernels)
{
    gelu_checks(AD_ISA_AVX512);
}

/* float64 goes through libm's erfc on every family */
Test(vmath, float64_gelu_and_its_derivative_match_long_double_and_their_limits)
{
    enum { N = 1 << 16 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *d = malloc(N * sizeof *d);
    for (size_t i = 0; i < N; i++)
        x[i] = i % 4 == 0 ? uniform(-40, 10) : uniform(-8, 8);
    ad_vgelu_f64(x, y, N);
    ad_vgelu_grad_f64(x, d, N);
    for (size_t i = 0; i < N; i++) {
        /* rounding x/sqrt2 to double moves erfc(-x/sqrt2) by about x^2 ulps in
         * the left tail (d log erfc(z)/dz = -2z there), whatever the erfc */
        double tol = TOL64 * (1 + x[i] * x[i]);
        long double xi = (long double)x[i];
        double want_y = (double)gelu_l(xi), want_d = (double)(phi_l(xi) + x_pdf_l(xi));
        cr_assert(gelu_err(false, xi, y[i], want_y, false) <= tol, "gelu f64 (%a) = %a, want %a",
                  x[i], y[i], want_y);
        cr_assert(gelu_err(true, xi, d[i], want_d, false) <= tol, "gelu' f64 (%a) = %a, want %a",
                  x[i], d[i], want_d);
    }
    double sp[3] = {HUGE_VAL, -HUGE_VAL, -0.0}, ys[3], ds[3];
    ad_vgelu_f64(sp, ys, 3);
    ad_vgelu_grad_f64(sp, ds, 3);
    cr_assert(isinf(ys[0]) && ys[0] > 0 && ys[1] == 0 && signbit(ys[1]) && ys[2] == 0 &&
              signbit(ys[2]));
    cr_assert(ds[0] == 1 && ds[1] == 0 && ds[2] == 0.5);
    free(x), free(y), free(d);
}

/* ---- argmax: the index the scalar loop picks (first maximum; a NaN beats
 * every number, first NaN wins), for rows with ties (values from a few
 * integers), signed zeros and NaNs at the start, middle and end, every
 * length 1..40 and a few long ones, on every family. */
static size_t argmax_scalar(const double *x, size_t n)
{
    size_t a = 0;
    for (size_t j = 1; j < n; j++)
        if (x[j] > x[a] || (isnan(x[j]) && !isnan(x[a]))) a = j;
    return a;
}

static void argmax_rows(int isa)
{
    if (!use_isa(isa)) return;
    enum { CAP = 1003 };
    static const size_t longs[] = {64, 100, 257, 1003};
    double x64[CAP];
    float x32[CAP];
    for (size_t li = 0; li < 40 + 4; li++) {
        size_t n = li < 40 ? li + 1 : longs[li - 40];
        for (int kind = 0; kind < 6; kind++) {
            for (size_t i = 0; i < n; i++) {
                uint64_t u = next_u64();
                x64[i] = kind == 1 ? (u % 2 ? 0.0 : -0.0) : (double)(int)(u % 7) - 3.0;
            }
            if (kind == 2) x64[0] = (double)NAN;                  /* NaN first */
            if (kind == 3) x64[n / 2] = (double)NAN;              /* in the middle */
            if (kind == 4) x64[n - 1] = (double)NAN;              /* last */
            if (kind == 5) x64[n - 1] = x64[n / 3] = (double)NAN; /* two */
            for (size_t i = 0; i < n; i++)
                x32[i] = (float)x64[i];
            size_t want = argmax_scalar(x64, n);
            size_t g32 = ad_vargmax_f32(x32, n), g64 = ad_vargmax_f64(x64, n);
            cr_assert_eq(g64, want, "f64 isa %d n=%zu kind %d: %zu, want %zu", isa, n, kind, g64,
                         want);
            cr_assert_eq(g32, want, "f32 isa %d n=%zu kind %d: %zu, want %zu", isa, n, kind, g32,
                         want);
        }
    }
    ad_vmath_force_isa(AD_ISA_AUTO);
}

Test(vmath, argmax_picks_what_the_scalar_loop_picks_on_every_family)
{
    argmax_rows(AD_ISA_GENERIC);
    argmax_rows(AD_ISA_AVX2);
    argmax_rows(AD_ISA_AVX512);
}

/* ---- softmax row passes: max exactly as the scalar loop (NaN in x[0] is
 * returned, later NaNs skipped); y = e^(x-m) within tolerance and the sum
 * within a few ulp per term of the double-precision sum. */
static void row_passes(int isa)
{
    if (!use_isa(isa)) return;
    enum { CAP = 1024 + 8 };
    float x32[CAP], y32[CAP];
    double x64[CAP], y64[CAP];
    for (size_t li = 1; li < N_LENGTHS; li++)
        for (size_t off = 0; off < 3; off++) {
            size_t n = lengths[li];
            for (size_t i = 0; i < CAP; i++) {
                x64[i] = uniform(-50, 50);
                x32[i] = (float)x64[i];
            }
            x32[off + n - 1] = 60.0f, x64[off + n - 1] = 60.0; /* the max in the tail */
            float m32 = x32[off];
            double m64 = x64[off];
            for (size_t i = 1; i < n; i++) {
                m32 = x32[off + i] > m32 ? x32[off + i] : m32;
                m64 = x64[off + i] > m64 ? x64[off + i] : m64;
            }
            cr_assert_eq(ad_vmax_f32(x32 + off, n), m32, "n=%zu", n);
            cr_assert_eq(ad_vmax_f64(x64 + off, n), m64, "n=%zu", n);
            float s32 = ad_vexp_shift_sum_f32(x32 + off, m32, y32 + off, n);
            double s64 = ad_vexp_shift_sum_f64(x64 + off, m64, y64 + off, n);
            long double w32 = 0, w64 = 0;
            for (size_t i = 0; i < n; i++) {
                float e32 = (float)expl((long double)(x32[off + i] - m32));
                double e64 = (double)expl((long double)(x64[off + i] - m64));
                cr_assert(ulp32(y32[off + i], e32) <= TOL32, "n=%zu [%zu]", n, i);
                cr_assert(ulp64(y64[off + i], e64) <= TOL64, "n=%zu [%zu]", n, i);
                w32 += (long double)e32, w64 += (long double)e64;
            }
            cr_assert(fabsl((long double)s32 - w32) <= 4 * (long double)FLT_EPSILON * n * w32,
                      "n=%zu", n);
            cr_assert(fabsl((long double)s64 - w64) <= 4 * (long double)DBL_EPSILON * n * w64,
                      "n=%zu", n);
        }
    /* NaN: first element returned, later ones skipped, as the scalar loop */
    float nx[20];
    for (int i = 0; i < 20; i++)
        nx[i] = (float)i;
    nx[5] = NAN;
    cr_assert_eq(ad_vmax_f32(nx, 20), 19.0f);
    nx[0] = NAN;
    cr_assert(isnan(ad_vmax_f32(nx, 20)));
    ad_vmath_force_isa(AD_ISA_AUTO);
}

Test(vmath, softmax_row_passes_match_scalar_loops_on_the_portable_kernels)
{
    row_passes(AD_ISA_GENERIC);
}
Test(vmath, softmax_row_passes_match_scalar_loops_on_the_avx2_kernels)
{
    row_passes(AD_ISA_AVX2);
}
Test(vmath, softmax_row_passes_match_scalar_loops_on_the_avx512_kernels)
{
    row_passes(AD_ISA_AVX512);
}

Test(vmath, forcing_a_family_the_cpu_lacks_falls_back_to_one_it_has)
{
    for (int isa = AD_ISA_AUTO; isa <= AD_ISA_AVX512; isa++) {
        ad_vmath_force_isa(isa);
        int got = ad_vmath_isa();
        cr_assert(got >= AD_ISA_GENERIC && got <= AD_ISA_AVX512);
        if (got == AD_ISA_AVX512) cr_assert(ad_cpu_has_avx512());
        if (got == AD_ISA_AVX2) cr_assert(ad_cpu_has_avx2_fma());
    }
    ad_vmath_force_isa(AD_ISA_AUTO);
}
