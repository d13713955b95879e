/* SPDX-License-Identifier: MIT
 * The elementwise math kernels of issue 20 (src/kernels/vmath.h: sin ... erf,
 * atan2 and the derivative helpers) against long double libm, on every
 * kernel family the CPU runs, the portable one included: max ulp error over
 * dense sweeps (float32 bit patterns, random float64 bit patterns, the busy
 * range, near 0), special values and domain edges exactly as libm gives
 * them, arguments at multiples of pi/2 and past the 2^20 reduction limit,
 * lengths that leave odd tails, unaligned and in-place arrays. */
#include "common.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/vmath.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void (*vf32)(const float *, float *, size_t);
typedef void (*vf64)(const double *, double *, size_t);

static long double asin_grad_l(long double x)
{
    return 1 / sqrtl((1 - x) * (1 + x));
}
static long double asinh_grad_l(long double x)
{
    return fabsl(x) > 0x1p8000L ? 1 / fabsl(x) : 1 / sqrtl(x * x + 1);
}
static long double acosh_grad_l(long double x)
{
    return 1 / (sqrtl(x - 1) * sqrtl(x + 1));
}

/* One kernel: its float32 and float64 entry points (no float64 for erf and
 * erfc, which stay on libm), the exact value, the range where it is
 * neither saturated nor trivial, and its ulp bounds (vmath.h). */
typedef struct vfn {
    const char *name;
    vf32 f32;
    vf64 f64;
    long double (*ref)(long double);
    double lo, hi;
    double tol32, tol64;
} vfn;

static const vfn fns[] = {
    {"sinh", ad_vsinh_f32, ad_vsinh_f64, sinhl, -720, 720, 2, 2},
    {"cosh", ad_vcosh_f32, ad_vcosh_f64, coshl, -720, 720, 2, 2},
    {"expm1", ad_vexpm1_f32, ad_vexpm1_f64, expm1l, -50, 720, 2, 2},
    {"log1p", ad_vlog1p_f32, ad_vlog1p_f64, log1pl, -1, 10, 2, 2},
    {"log2", ad_vlog2_f32, ad_vlog2_f64, log2l, 0, 4, 2, 2},
    {"log10", ad_vlog10_f32, ad_vlog10_f64, log10l, 0, 4, 2, 2},
    {"sin", ad_vsin_f32, ad_vsin_f64, sinl, -40, 40, 2, 2},
    {"cos", ad_vcos_f32, ad_vcos_f64, cosl, -40, 40, 2, 2},
    {"tan", ad_vtan_f32, ad_vtan_f64, tanl, -40, 40, 3, 3},
    {"atan", ad_vatan_f32, ad_vatan_f64, atanl, -20, 20, 2, 2},
    {"asin", ad_vasin_f32, ad_vasin_f64, asinl, -1, 1, 3, 2},
    {"acos", ad_vacos_f32, ad_vacos_f64, acosl, -1, 1, 2, 2},
    {"asinh", ad_vasinh_f32, ad_vasinh_f64, asinhl, -20, 20, 2, 3},
    {"acosh", ad_vacosh_f32, ad_vacosh_f64, acoshl, 1, 20, 2, 3},
    {"atanh", ad_vatanh_f32, ad_vatanh_f64, atanhl, -1, 1, 2, 3},
    {"erf", ad_verf_f32, NULL, erfl, -5, 5, 1, 0},
    {"erfc", ad_verfc_f32, NULL, erfcl, -5, 12, 1, 0},
    {"asin_grad", ad_vasin_grad_f32, ad_vasin_grad_f64, asin_grad_l, -1, 1, 2, 2},
    {"asinh_grad", ad_vasinh_grad_f32, ad_vasinh_grad_f64, asinh_grad_l, -20, 20, 2, 2},
    {"acosh_grad", ad_vacosh_grad_f32, ad_vacosh_grad_f64, acosh_grad_l, 1, 20, 2, 2},
};
enum { N_FNS = sizeof fns / sizeof fns[0] };

/* true when the family can run here; forces it for the calls that follow */
static bool use_isa(int isa)
{
    if (isa == AD_ISA_AVX2 && !ad_cpu_has_avx2_fma()) return false;
    if (isa == AD_ISA_AVX512 && !ad_cpu_has_avx512()) return false;
    ad_vmath_force_isa(isa);
    cr_assert_eq(ad_vmath_isa(), isa);
    return true;
}

/* Distance in units in the last place on the line of bit patterns (NaN
 * against NaN 0, NaN against a number infinite). */
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

typedef struct worst {
    double ulp, x, got, want;
} worst;

static void check32(const vfn *f, const float *x, size_t n, worst *w)
{
    float *y = malloc(n * sizeof *y);
    f->f32(x, y, n);
    for (size_t i = 0; i < n; i++) {
        float want = (float)f->ref((long double)x[i]);
        double e = ulp32(y[i], want);
        if (e > w->ulp) *w = (worst){e, (double)x[i], (double)y[i], (double)want};
    }
    free(y);
}
static void check64(const vfn *f, const double *x, size_t n, worst *w)
{
    double *y = malloc(n * sizeof *y);
    f->f64(x, y, n);
    for (size_t i = 0; i < n; i++) {
        double want = (double)f->ref((long double)x[i]);
        double e = ulp64(y[i], want);
        if (e > w->ulp) *w = (worst){e, x[i], y[i], want};
    }
    free(y);
}

static uint64_t rng_state = 0x2545f4914f6cdd1du;
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

enum { BLOCK = 1 << 15 };

/* float32: every 4093rd bit pattern (all signs, exponents, subnormals,
 * NaNs, infinities), 128k uniform points in the busy range, and 32k near 0. */
static void sweep32(const vfn *f)
{
    float *x = malloc(BLOCK * sizeof *x);
    worst w = {0, 0, 0, 0};
    size_t k = 0;
    for (uint64_t b = 0; b < ((uint64_t)1 << 32); b += 4093) {
        uint32_t u = (uint32_t)b;
        memcpy(&x[k++], &u, 4);
        if (k == BLOCK) check32(f, x, k, &w), k = 0;
    }
    check32(f, x, k, &w);
    for (int r = 0; r < 5; r++) {
        for (k = 0; k < BLOCK; k++)
            x[k] = r < 4 ? (float)uniform(f->lo, f->hi)
                         : (float)(uniform(-1, 1) * ldexp(1, -(int)(next_u64() % 30)));
        check32(f, x, BLOCK, &w);
    }
    free(x);
    cr_log_info("vmath %s f32 isa %d: max %g ulp (x = %a)", f->name, ad_vmath_isa(), w.ulp, w.x);
    cr_assert(w.ulp <= f->tol32, "%s f32 isa %d: %g ulp at x = %a: got %a, want %a", f->name,
              ad_vmath_isa(), w.ulp, w.x, w.got, w.want);
}

/* float64: 192k random bit patterns (all exponents), 128k uniform points in
 * the busy range and 64k near 0 (|x| < 1 at every scale to 2^-60). */
static void sweep64(const vfn *f)
{
    double *x = malloc(BLOCK * sizeof *x);
    worst w = {0, 0, 0, 0};
    for (int r = 0; r < 12; r++) {
        for (size_t k = 0; k < BLOCK; k++) {
            uint64_t u = next_u64();
            if (r < 6)
                memcpy(&x[k], &u, 8);
            else if (r < 10)
                x[k] = uniform(f->lo, f->hi);
            else
                x[k] = uniform(-1, 1) * ldexp(1, -(int)(u % 60));
        }
        check64(f, x, BLOCK, &w);
    }
    free(x);
    cr_log_info("vmath %s f64 isa %d: max %g ulp (x = %a)", f->name, ad_vmath_isa(), w.ulp, w.x);
    cr_assert(w.ulp <= f->tol64, "%s f64 isa %d: %g ulp at x = %a: got %a, want %a", f->name,
              ad_vmath_isa(), w.ulp, w.x, w.got, w.want);
}

/* NaN, infinities, signed zeros, domain edges and overflow exactly as libm
 * (bit for bit where the answer is NaN, Inf or 0), the rest within the
 * bound. */
static const double specials[] = {0.0,
                                  -0.0,
                                  1.0,
                                  -1.0,
                                  0x1.fffffffffffffp-1,
                                  -0x1.fffffffffffffp-1,
                                  0x1.0000000000001p0,
                                  -0x1.0000000000001p0,
                                  0x1.fffffep-1,
                                  0x1.000002p0,
                                  0.5,
                                  -0.5,
                                  0.66,
                                  2.0,
                                  2.4142135623730951,
                                  -3.0,
                                  1e-30,
                                  -1e-30,
                                  0x1p-27,
                                  0x1p-54,
                                  -0x1p-54,
                                  0x1p-60,
                                  0x1.921fb54442d18p0,
                                  -0x1.921fb54442d18p0,
                                  0x1.921fb54442d18p1,
                                  0x1.921fb6p0,
                                  88.7,
                                  89.5,
                                  -104.0,
                                  709.78,
                                  710.0,
                                  710.4758600739439,
                                  710.48,
                                  -745.0,
                                  0x1p20,
                                  -0x1p20,
                                  0x1.00001p20,
                                  1e6,
                                  0x1p28,
                                  0x1.0000001p28,
                                  1e22,
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
enum { N_SPECIALS = sizeof specials / sizeof specials[0] };

static void check_specials(const vfn *f)
{
    float x32[N_SPECIALS], y32[N_SPECIALS];
    double x64[N_SPECIALS], y64[N_SPECIALS];
    for (size_t i = 0; i < N_SPECIALS; i++)
        x32[i] = (float)specials[i], x64[i] = specials[i];
    f->f32(x32, y32, N_SPECIALS);
    for (size_t i = 0; i < N_SPECIALS; i++) {
        float w = (float)f->ref((long double)x32[i]);
        if (isnan(w) || isinf(w) || w == 0)
            cr_assert(isnan(w) ? isnan(y32[i]) : memcmp(&w, &y32[i], 4) == 0,
                      "%s f32 isa %d: x = %a gives %a, libm %a", f->name, ad_vmath_isa(),
                      (double)x32[i], (double)y32[i], (double)w);
        else
            cr_assert(ulp32(y32[i], w) <= f->tol32, "%s f32 isa %d: x = %a gives %a, want %a",
                      f->name, ad_vmath_isa(), (double)x32[i], (double)y32[i], (double)w);
    }
    if (!f->f64) return;
    f->f64(x64, y64, N_SPECIALS);
    for (size_t i = 0; i < N_SPECIALS; i++) {
        double w = (double)f->ref((long double)x64[i]);
        if (isnan(w) || isinf(w) || w == 0)
            cr_assert(isnan(w) ? isnan(y64[i]) : memcmp(&w, &y64[i], 8) == 0,
                      "%s f64 isa %d: x = %a gives %a, libm %a", f->name, ad_vmath_isa(), x64[i],
                      y64[i], w);
        else
            cr_assert(ulp64(y64[i], w) <= f->tol64, "%s f64 isa %d: x = %a gives %a, want %a",
                      f->name, ad_vmath_isa(), x64[i], y64[i], w);
    }
}

/* Lengths around every vector width, at every misalignment, out of place
 * and in place; nothing written outside [0, n). */
static const size_t lengths[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 255, 256, 257, 1003};
enum { N_LENGTHS = sizeof lengths / sizeof lengths[0], CAP = 1024 + 8 };

static void tails(const vfn *f)
{
    float *x32 = malloc(CAP * sizeof *x32), *y32 = malloc(CAP * sizeof *y32);
    float *k32 = malloc(CAP * sizeof *k32);
    double *x64 = malloc(CAP * sizeof *x64), *y64 = malloc(CAP * sizeof *y64);
    double *k64 = malloc(CAP * sizeof *k64);
    for (size_t li = 0; li < N_LENGTHS; li++)
        for (size_t off = 0; off < 4; off++)
            for (int inplace = 0; inplace < 2; inplace++) {
                size_t n = lengths[li];
                for (size_t i = 0; i < CAP; i++) {
                    double v = uniform(f->lo, f->hi);
                    x32[i] = (float)v, x64[i] = v, y32[i] = -7.0f, y64[i] = -7.0;
                }
                memcpy(k32, x32, CAP * sizeof *k32), memcpy(k64, x64, CAP * sizeof *k64);
                float *o32 = inplace ? x32 : y32;
                double *o64 = inplace ? x64 : y64;
                f->f32(x32 + off, o32 + off, n);
                if (f->f64) f->f64(x64 + off, o64 + off, n);
                for (size_t i = 0; i < n; i++) {
                    float w32 = (float)f->ref((long double)k32[off + i]);
                    cr_assert(ulp32(o32[off + i], w32) <= f->tol32, "%s f32 n=%zu off=%zu [%zu]",
                              f->name, n, off, i);
                    if (!f->f64) continue;
                    double w64 = (double)f->ref((long double)k64[off + i]);
                    cr_assert(ulp64(o64[off + i], w64) <= f->tol64, "%s f64 n=%zu off=%zu [%zu]",
                              f->name, n, off, i);
                }
                cr_assert(o32[off + n] == (inplace ? k32[off + n] : -7.0f),
                          "%s f32 wrote past n=%zu", f->name, n);
                if (f->f64)
                    cr_assert(o64[off + n] == (inplace ? k64[off + n] : -7.0),
                              "%s f64 wrote past n=%zu", f->name, n);
                if (off)
                    cr_assert(o32[off - 1] == (inplace ? k32[off - 1] : -7.0f),
                              "%s f32 wrote before the start", f->name);
            }
    free(x32), free(y32), free(k32), free(x64), free(y64), free(k64);
}

static void all_checks(int isa)
{
    if (!use_isa(isa)) return; /* this CPU cannot run it; the others are tested */
    for (size_t i = 0; i < N_FNS; i++) {
        sweep32(&fns[i]);
        if (fns[i].f64) sweep64(&fns[i]);
        check_specials(&fns[i]);
        tails(&fns[i]);
    }
    ad_vmath_force_isa(AD_ISA_AUTO);
}

Test(vmath_trig, kernels_match_long_double_libm_on_the_portable_family)
{
    all_checks(AD_ISA_GENERIC);
}
Test(vmath_trig, kernels_match_long_double_libm_on_the_avx2_family)
{
    all_checks(AD_ISA_AVX2);
}
Test(vmath_trig, kernels_match_long_double_libm_on_the_avx512_family)
{
    all_checks(AD_ISA_AVX512);
}

/* ---- atan2 over every pair of special values (C's signed zeros and
 * infinities, bit for bit) and random pairs over all exponents. */
static void atan2_checks(int isa)
{
    if (!use_isa(isa)) return;
    static const double sp[] = {0.0,      -0.0,     1.0,          -1.0,     2.5,       -0.3,
                                1e-300,   -1e-300,  DBL_TRUE_MIN, 1e300,    -1e300,    DBL_MAX,
                                -DBL_MAX, 0x1p1001, 3e-320,       HUGE_VAL, -HUGE_VAL, (double)NAN};
    enum { S = sizeof sp / sizeof sp[0], N = S * S + BLOCK };
    double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *y = malloc(N * sizeof *y);
    float *a32 = malloc(N * sizeof *a32), *b32 = malloc(N * sizeof *b32),
          *y32 = malloc(N * sizeof *y32);
    for (size_t i = 0; i < S * S; i++)
        a[i] = sp[i / S], b[i] = sp[i % S];
    for (size_t i = S * S; i < N; i++) {
        uint64_t u = next_u64(), v = next_u64();
        if (i % 2) {
            memcpy(&a[i], &u, 8), memcpy(&b[i], &v, 8);
        } else {
            a[i] = uniform(-4, 4), b[i] = uniform(-4, 4);
        }
    }
    for (size_t i = 0; i < N; i++)
        a32[i] = (float)a[i], b32[i] = (float)b[i];
    ad_vatan2_f64(a, b, y, N);
    ad_vatan2_f32(a32, b32, y32, N);
    for (size_t i = 0; i < N; i++) {
        double w = (double)atan2l((long double)a[i], (long double)b[i]);
        float w32 = (float)atan2l((long double)a32[i], (long double)b32[i]);
        if (isnan(w) || isinf(w) || w == 0)
            cr_assert(isnan(w) ? isnan(y[i]) : memcmp(&w, &y[i], 8) == 0,
                      "atan2 f64 isa %d (%a, %a) = %a, libm %a", isa, a[i], b[i], y[i], w);
        else
            cr_assert(ulp64(y[i], w) <= 2, "atan2 f64 isa %d (%a, %a) = %a, want %a", isa, a[i],
                      b[i], y[i], w);
        if (isnan(w32) || isinf(w32) || w32 == 0)
            cr_assert(isnan(w32) ? isnan(y32[i]) : memcmp(&w32, &y32[i], 4) == 0,
                      "atan2 f32 isa %d (%a, %a) = %a, libm %a", isa, (double)a32[i],
                      (double)b32[i], (double)y32[i], (double)w32);
        else
            cr_assert(ulp32(y32[i], w32) <= 1, "atan2 f32 isa %d (%a, %a) = %a, want %a", isa,
                      (double)a32[i], (double)b32[i], (double)y32[i], (double)w32);
    }
    /* in place: y is a, then y is b */
    memcpy(y, a, N * sizeof *y);
    ad_vatan2_f64(y, b, y, N);
    for (size_t i = 0; i < N; i++) {
        double w = (double)atan2l((long double)a[i], (long double)b[i]);
        cr_assert(isnan(w) ? isnan(y[i]) : ulp64(y[i], w) <= 2, "atan2 in place [%zu]", i);
    }
    memcpy(y, b, N * sizeof *y);
    ad_vatan2_f64(a, y, y, N);
    for (size_t i = 0; i < N; i++) {
        double w = (double)atan2l((long double)a[i], (long double)b[i]);
        cr_assert(isnan(w) ? isnan(y[i]) : ulp64(y[i], w) <= 2, "atan2 in place [%zu]", i);
    }
    free(a), free(b), free(y), free(a32), free(b32), free(y32);
    ad_vmath_force_isa(AD_ISA_AUTO);
}

Test(vmath_trig, atan2_matches_long_double_libm_and_its_special_values_on_every_family)
{
    atan2_checks(AD_ISA_GENERIC);
    atan2_checks(AD_ISA_AVX2);
    atan2_checks(AD_ISA_AVX512);
}

/* ---- sin, cos, tan where the reduction is hardest: the doubles nearest to
 * k pi/2 and their neighbours, for k over the whole reduced range (x up to
 * 2^20), where x - k pi/2 keeps only the low bits of x. */
static void near_multiples_of_pi_2(int isa)
{
    if (!use_isa(isa)) return;
    enum { K = 20000 };
    double *x = malloc(3 * K * sizeof *x), *y = malloc(3 * K * sizeof *y);
    const long double pio2 = 1.5707963267948966192313216916397514L;
    for (size_t i = 0; i < K; i++) {
        long double k = (long double)(i < 1000 ? i : i * 33 + (i % 7)); /* up to 667k */
        double c = (double)(k * pio2);
        x[3 * i] = c, x[3 * i + 1] = nextafter(c, 0), x[3 * i + 2] = nextafter(c, HUGE_VAL);
    }
    static const struct {
        const char *name;
        vf64 f;
        long double (*ref)(long double);
        double tol;
    } trig[] = {{"sin", ad_vsin_f64, sinl, 2},
                {"cos", ad_vcos_f64, cosl, 2},
                {"tan", ad_vtan_f64, tanl, 3}};
    float *x32 = malloc(3 * K * sizeof *x32), *y32 = malloc(3 * K * sizeof *y32);
    for (size_t i = 0; i < K; i++) { /* k up to 667k: x below 2^20 */
        float c = (float)((long double)(i * 33 + (i % 7)) * pio2);
        x32[3 * i] = c, x32[3 * i + 1] = nextafterf(c, 0),
                x32[3 * i + 2] = nextafterf(c, HUGE_VALF);
    }
    static const vf32 trig32[] = {ad_vsin_f32, ad_vcos_f32, ad_vtan_f32};
    for (size_t t = 0; t < 3; t++) {
        trig32[t](x32, y32, 3 * K);
        for (size_t i = 0; i < 3 * K; i++) {
            float w = (float)trig[t].ref((long double)x32[i]);
            cr_assert(ulp32(y32[i], w) <= trig[t].tol, "%s f32 isa %d (%a) = %a, want %a",
                      trig[t].name, isa, (double)x32[i], (double)y32[i], (double)w);
        }
    }
    free(x32), free(y32);
    for (size_t t = 0; t < 3; t++) {
        trig[t].f(x, y, 3 * K);
        for (size_t i = 0; i < 3 * K; i++) {
            double w = (double)trig[t].ref((long double)x[i]);
            cr_assert(ulp64(y[i], w) <= trig[t].tol, "%s f64 isa %d (%a) = %a, want %a",
                      trig[t].name, isa, x[i], y[i], w);
        }
    }
    free(x), free(y);
    ad_vmath_force_isa(AD_ISA_AUTO);
}

Test(vmath_trig, sin_cos_tan_keep_their_accuracy_next_to_multiples_of_pi_over_2)
{
    near_multiples_of_pi_2(AD_ISA_GENERIC);
    near_multiples_of_pi_2(AD_ISA_AVX2);
    near_multiples_of_pi_2(AD_ISA_AVX512);
}

/* ---- a block of the array holding an argument past 2^20 goes to libm,
 * in place too; the blocks around it stay on the kernel, all correct */
static void huge_in_blocks(int isa)
{
    if (!use_isa(isa)) return;
    enum { N = 1003 };
    static const double huge[] = {0x1.00001p20, -1e10, 1e300, HUGE_VAL, -HUGE_VAL, 1e22};
    double x[N], keep[N];
    float x32[N], keep32[N];
    vf64 f64s[] = {ad_vsin_f64, ad_vcos_f64, ad_vtan_f64};
    vf32 f32s[] = {ad_vsin_f32, ad_vcos_f32, ad_vtan_f32};
    long double (*refs[])(long double) = {sinl, cosl, tanl};
    for (size_t t = 0; t < 3; t++)
        for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
            for (size_t i = 0; i < N; i++)
                x[i] = uniform(-100, 100), x32[i] = (float)x[i];
            x[300 + h] = huge[h], x32[700 - h] = (float)huge[h];
            memcpy(keep, x, sizeof x), memcpy(keep32, x32, sizeof x32);
            f64s[t](x, x, N);
            f32s[t](x32, x32, N);
            for (size_t i = 0; i < N; i++) {
                double w = (double)refs[t]((long double)keep[i]);
                float w32 = (float)refs[t]((long double)keep32[i]);
                cr_assert(isnan(w) ? isnan(x[i]) : ulp64(x[i], w) <= 3,
                          "trig %zu f64 isa %d (%a) = %a, want %a", t, isa, keep[i], x[i], w);
                cr_assert(isnan(w32) ? isnan(x32[i]) : ulp32(x32[i], w32) <= 3,
                          "trig %zu f32 isa %d (%a) = %a, want %a", t, isa, (double)keep32[i],
                          (double)x32[i], (double)w32);
            }
        }
    ad_vmath_force_isa(AD_ISA_AUTO);
}

Test(vmath_trig, arguments_past_2_to_the_20_are_reduced_by_libm_in_place_too)
{
    huge_in_blocks(AD_ISA_GENERIC);
    huge_in_blocks(AD_ISA_AVX2);
    huge_in_blocks(AD_ISA_AVX512);
}

/* log2 and log10 are exact at powers of their base, as libm's are */
Test(vmath_trig, log2_and_log10_are_exact_at_powers_of_their_base_on_every_family)
{
    for (int isa = AD_ISA_GENERIC; isa <= AD_ISA_AVX512; isa++) {
        if (!use_isa(isa)) continue;
        double x[2200], y[2200];
        for (int k = -1074; k <= 1023; k++)
            x[k + 1074] = ldexp(1, k);
        ad_vlog2_f64(x, y, 2098);
        for (int k = -1074; k <= 1023; k++)
            cr_assert(y[k + 1074] == k, "log2(2^%d) = %a on isa %d", k, y[k + 1074], isa);
        for (int k = 0; k <= 22; k++) /* 10^k is a double up to 10^22 */
            x[k] = k ? x[k - 1] * 10 : 1;
        ad_vlog10_f64(x, y, 23);
        for (int k = 0; k <= 22; k++)
            cr_assert(y[k] == k, "log10(1e%d) = %a on isa %d", k, y[k], isa);
        float x32[11], y32[11];
        for (int k = 0; k <= 10; k++)
            x32[k] = (float)x[k];
        ad_vlog10_f32(x32, y32, 11);
        for (int k = 0; k <= 10; k++)
            cr_assert(y32[k] == (float)k, "log10f(1e%d) = %a on isa %d", k, (double)y32[k], isa);
    }
    ad_vmath_force_isa(AD_ISA_AUTO);
}

/* ---- ad_tatan2 runs the vector kernel when neither input is stretched or
 * one is a single element, libm's atan2 over other broadcasts: the same
 * values either way, in both dtypes; its slopes keep C hypot's limits */
Test(vmath_trig, tensor_atan2_gives_libm_values_on_its_vector_and_broadcast_paths)
{
    enum { R = 5, C = 67 };
    static double a[R * C], b[R * C];
    for (size_t i = 0; i < R * C; i++)
        a[i] = uniform(-3, 3), b[i] = uniform(-3, 3);
    a[3] = HUGE_VAL, b[4] = -0.0, a[5] = 0.0, b[5] = -0.0, a[6] = (double)NAN;
    const size_t full[2] = {R, C}, one[1] = {1}, row[1] = {C};
    static const struct {
        int a_shape, b_shape; /* 0: R x C, 1: one element, 2: a row of C */
    } cases[] = {{0, 0}, {0, 1}, {1, 0}, {2, 0}, {0, 2}, {1, 1}};
    for (int d = 0; d < 2; d++)
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            ad_dtype dt = d ? AD_F64 : AD_F32;
            ad_tape *t = ad_tape_new();
            float a32[R * C], b32[R * C];
            for (size_t i = 0; i < R * C; i++)
                a32[i] = (float)a[i], b32[i] = (float)b[i];
            const void *pa = d ? (const void *)a : (const void *)a32;
            const void *pb = d ? (const void *)b : (const void *)b32;
            int sa = cases[k].a_shape, sb = cases[k].b_shape;
            ad_tensor ta = ad_tensor_variable(t, dt, sa == 0 ? 2 : 1,
                                              sa == 0   ? full
                                              : sa == 1 ? one
                                                        : row,
                                              pa);
            ad_tensor tb = ad_tensor_variable(t, dt, sb == 0 ? 2 : 1,
                                              sb == 0   ? full
                                              : sb == 1 ? one
                                                        : row,
                                              pb);
            ad_tensor v = ad_tatan2(ta, tb);
            cr_assert(ad_tensor_ok(v));
            size_t n = sa == 1 && sb == 1 ? 1 : R * C;
            for (size_t i = 0; i < n; i++) {
                size_t ia = sa == 0 ? i : sa == 1 ? 0 : i % C;
                size_t ib = sb == 0 ? i : sb == 1 ? 0 : i % C;
                double got = ad_tensor_get(v, i);
                if (d) {
                    double w = atan2(a[ia], b[ib]);
                    cr_assert(isnan(w) ? isnan(got) : ulp64(got, w) <= 2,
                              "atan2 f64 case %zu [%zu]: %a, want %a", k, i, got, w);
                } else {
                    float w = (float)atan2((double)a32[ia], (double)b32[ib]);
                    cr_assert(isnan(w) ? isnan(got) : ulp32((float)got, w) <= 1,
                              "atan2 f32 case %zu [%zu]: %a, want %a", k, i, got, (double)w);
                }
            }
            ad_tape_free(t);
        }
}

Test(vmath_trig, tensor_atan2_slopes_at_infinity_are_the_limits_of_b_over_r_squared)
{
    const double a[4] = {HUGE_VAL, 1.0, 2.0, HUGE_VAL}, b[4] = {1.0, -HUGE_VAL, 3e-300, HUGE_VAL};
    for (int d = 0; d < 2; d++) {
        ad_dtype dt = d ? AD_F64 : AD_F32;
        float a32[4], b32[4];
        for (size_t i = 0; i < 4; i++)
            a32[i] = (float)a[i], b32[i] = (float)b[i];
        ad_tape *t = ad_tape_new();
        ad_tensor ta = ad_tensor_variable(t, dt, 1, (size_t[]){4}, d ? (void *)a : (void *)a32);
        ad_tensor tb = ad_tensor_variable(t, dt, 1, (size_t[]){4}, d ? (void *)b : (void *)b32);
        cr_assert_eq(ad_backward(ad_sum(ad_tatan2(ta, tb))), AD_OK);
        double da[4], db[4];
        for (size_t i = 0; i < 4; i++) {
            da[i] = d ? ((const double *)ad_tensor_grad(ta))[i]
                      : (double)((const float *)ad_tensor_grad(ta))[i];
            db[i] = d ? ((const double *)ad_tensor_grad(tb))[i]
                      : (double)((const float *)ad_tensor_grad(tb))[i];
        }
        /* (inf, 1): b/r^2 -> 0; (1, -inf): -a/r^2 -> 0; both infinite: NaN */
        cr_assert(da[0] == 0 && isnan(db[0]), "dtype %d: %g %g", d, da[0], db[0]);
        cr_assert(isnan(da[1]) && db[1] == 0, "dtype %d: %g %g", d, da[1], db[1]);
        cr_assert(isnan(da[3]) && isnan(db[3]));
        /* (2, 3e-300) in float64: r = 2 exactly, b/r^2 = 7.5e-301 */
        if (d) cr_assert(fabs(da[2] - 7.5e-301) <= 1e-15 * 7.5e-301 && fabs(db[2] + 0.5) <= 1e-15);
        ad_tape_free(t);
    }
}

/* ---- powc for float32: x^c against long double powl for exponents
 * integer and not, odd and even, of both signs, over random bit patterns
 * (negative x, zeros, infinities, NaN) and the busy range, every family */
static void powc_checks(int isa)
{
    if (!use_isa(isa)) return;
    static const float cs[] = {2.5f, 3.0f, -3.0f, -1.5f, 0.5f, 7.0f, -2.0f, 1e-3f, 40.0f, -0.75f};
    static const float sp[] = {0.0f,          -0.0f,     1.0f,       -1.0f, 2.0f,
                               -2.0f,         HUGE_VALF, -HUGE_VALF, NAN,   FLT_TRUE_MIN,
                               -FLT_TRUE_MIN, FLT_MAX,   -FLT_MAX,   1e-30f};
    enum { S = sizeof sp / sizeof sp[0], N = S + BLOCK };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        memcpy(x, sp, sizeof sp);
        for (size_t i = S; i < N; i++) {
            uint32_t u = (uint32_t)next_u64();
            if (i % 2)
                memcpy(&x[i], &u, 4);
            else
                x[i] = (float)uniform(-4, 4);
        }
        ad_vpowc_f32(x, cs[ci], y, N);
        for (size_t i = 0; i < N; i++) {
            float w = (float)powl((long double)x[i], (long double)cs[ci]);
            if (isnan(w) || isinf(w) || w == 0)
                cr_assert(isnan(w) ? isnan(y[i]) : memcmp(&w, &y[i], 4) == 0,
                          "powc f32 isa %d: %a^%g = %a, libm %a", isa, (double)x[i], (double)cs[ci],
                          (double)y[i], (double)w);
            else
                cr_assert(ulp32(y[i], w) <= 1, "powc f32 isa %d: %a^%g = %a, want %a", isa,
                          (double)x[i], (double)cs[ci], (double)y[i], (double)w);
        }
    }
    free(x), free(y);
    ad_vmath_force_isa(AD_ISA_AUTO);
}

Test(vmath_trig, float32_powc_matches_long_double_pow_and_its_signs_on_every_family)
{
    powc_checks(AD_ISA_GENERIC);
    powc_checks(AD_ISA_AVX2);
    powc_checks(AD_ISA_AVX512);
}
