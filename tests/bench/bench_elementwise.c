/* SPDX-License-Identifier: MIT
 * elementwise group: the vector math kernels (src/kernels/vmath.h) on 2^20 elements,
 * float32 and float64, in ns per element, with the libm loop they replace
 * timed in the same run (`.libm.` names) and the portable build (`.sse2.`).
 * A self-check compares the two results. */
#include "bench.h"
#include "kernels/gemm.h"
#include "kernels/vmath.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 1 << 20, REPS = 7 };

typedef void (*vf32)(const float *, float *, size_t);
typedef void (*vf64)(const double *, double *, size_t);

static void libm_exp32(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = expf(x[i]);
}
static void libm_log32(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = logf(x[i]);
}
static void libm_tanh32(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}
static void libm_sigmoid32(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float e = expf(-fabsf(x[i])), s = 1.0f / (1.0f + e);
        y[i] = x[i] >= 0 ? s : e * s;
    }
}
static void libm_softplus32(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (x[i] > 0 ? x[i] : 0.0f) + log1pf(expf(-fabsf(x[i])));
}
static void libm_exp64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = exp(x[i]);
}
static void libm_log64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = log(x[i]);
}
static void libm_tanh64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanh(x[i]);
}
static void libm_sigmoid64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double e = exp(-fabs(x[i])), s = 1.0 / (1.0 + e);
        y[i] = x[i] >= 0 ? s : e * s;
    }
}
static void libm_softplus64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (x[i] > 0 ? x[i] : 0.0) + log1p(exp(-fabs(x[i])));
}
static void libm_gelu32(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * 0.5f * erfcf(-0.70710678f * x[i]);
}
static void libm_gelu64(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * 0.5 * erfc(-0.70710678118654752440 * x[i]);
}

static const struct {
    const char *name;
    vf32 v32, l32;
    vf64 v64, l64;
} fns[] = {
    {"exp", ad_vexp_f32, libm_exp32, ad_vexp_f64, libm_exp64},
    {"log", ad_vlog_f32, libm_log32, ad_vlog_f64, libm_log64},
    {"tanh", ad_vtanh_f32, libm_tanh32, ad_vtanh_f64, libm_tanh64},
    {"sigmoid", ad_vsigmoid_f32, libm_sigmoid32, ad_vsigmoid_f64, libm_sigmoid64},
    {"softplus", ad_vsoftplus_f32, libm_softplus32, ad_vsoftplus_f64, libm_softplus64},
    {"gelu", ad_vgelu_f32, libm_gelu32, ad_vgelu_f64, libm_gelu64}, /* f64 is libm's erfc */
};

static double time32(vf32 f, const float *x, float *y)
{
    double t[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = bench_now();
        f(x, y, N);
        t[r] = bench_now() - t0;
    }
    return bench_median(t, REPS) * 1e9 / N;
}

static double time64(vf64 f, const double *x, double *y)
{
    double t[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = bench_now();
        f(x, y, N);
        t[r] = bench_now() - t0;
    }
    return bench_median(t, REPS) * 1e9 / N;
}

int bench_elementwise(void)
{
    float *x32 = malloc(N * sizeof *x32), *y32 = malloc(N * sizeof *y32),
          *w32 = malloc(N * sizeof *w32);
    double *x64 = malloc(N * sizeof *x64), *y64 = malloc(N * sizeof *y64),
           *w64 = malloc(N * sizeof *w64);
    if (!x32 || !y32 || !w32 || !x64 || !y64 || !w64) {
        bench_fail("elementwise: out of memory");
        free(x32), free(y32), free(w32), free(x64), free(y64), free(w64);
        return 1;
    }
    char name[96];
    int bad = 0;
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        bool pos = fns[f].name[0] == 'l'; /* log wants x > 0 */
        for (size_t i = 0; i < N; i++) {
            double v = pos ? 0.001 + 100.0 * (double)i / N : -20.0 + 40.0 * (double)i / N;
            x32[i] = (float)v, x64[i] = v;
        }
        snprintf(name, sizeof name, "elementwise.f32.%s.n1m.ns_per_elem", fns[f].name);
        bench_emit(name, time32(fns[f].v32, x32, y32), "ns");
        snprintf(name, sizeof name, "elementwise.f32.%s.libm.n1m.ns_per_elem", fns[f].name);
        bench_emit(name, time32(fns[f].l32, x32, w32), "ns");
        snprintf(name, sizeof name, "elementwise.f64.%s.n1m.ns_per_elem", fns[f].name);
        bench_emit(name, time64(fns[f].v64, x64, y64), "ns");
        snprintf(name, sizeof name, "elementwise.f64.%s.libm.n1m.ns_per_elem", fns[f].name);
        bench_emit(name, time64(fns[f].l64, x64, w64), "ns");
        ad_vmath_force_isa(AD_ISA_GENERIC);
        snprintf(name, sizeof name, "elementwise.f32.%s.sse2.n1m.ns_per_elem", fns[f].name);
        bench_emit(name, time32(fns[f].v32, x32, y32), "ns");
        snprintf(name, sizeof name, "elementwise.f64.%s.sse2.n1m.ns_per_elem", fns[f].name);
        bench_emit(name, time64(fns[f].v64, x64, y64), "ns");
        ad_vmath_force_isa(AD_ISA_AUTO);
        for (size_t i = 0; i < N; i++)
            if (fabs((double)y32[i] - (double)w32[i]) > 1e-5 * (1 + fabs((double)w32[i])) ||
                fabs(y64[i] - w64[i]) > 1e-13 * (1 + fabs(w64[i]))) {
                bench_fail("elementwise.%s: element %zu differs from libm", fns[f].name, i);
                bad = 1;
                break;
            }
    }
    bench_note("elementwise: vector kernels on the %s family",
               ad_vmath_isa() == AD_ISA_AVX512 ? "avx512"
               : ad_vmath_isa() == AD_ISA_AVX2 ? "avx2"
                                               : "portable");
    free(x32), free(y32), free(w32), free(x64), free(y64), free(w64);
    return bad;
}
