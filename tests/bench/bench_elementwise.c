/* SPDX-License-Identifier: MIT
 * elementwise group: the vector math kernels (src/kernels/vmath.h) on 2^20 elements,
 * float32 and float64, in ns per element, with the libm loop they replace
 * timed in the same run (`.libm.` names) and the portable build (`.sse2.`).
 * A self-check compares the two results. Then the elementwise math ops
 * (issue 20) as whole forward ops on a tape, ad_texp beside them
 * (`elementwise.f32.tsin.n1m.ns_per_elem`), and each one's ratio to ad_texp
 * (`elementwise.f32.tsin.vs_texp x`); then forward and backward together
 * (`elementwise.f32.tsin.fwdbwd.n1m.ns_per_elem`, `...fwdbwd.vs_texp`). */
#include "adtape.h"
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

/* ---- the tensor ops: forward of y = op(x) on 2^20 elements, the input a
 * parameter (no copy), the tape reset between repetitions so the output's
 * memory is reused, as in a training loop */

typedef ad_tensor (*unop)(ad_tensor);

static ad_tensor atan2_by_2(ad_tensor x) /* atan2(x, 2): the second input broadcast */
{
    ad_tape *t = ad_tensor_tape(x);
    double two = 2.0;
    return ad_tatan2(
        x, ad_tensor_new(t, ad_tensor_dtype(x), 1, (size_t[]){1},
                         ad_tensor_dtype(x) == AD_F32 ? (void *)&(float){2.0f} : (void *)&two));
}
static ad_tensor powc_2_5(ad_tensor x)
{
    return ad_tpowc(x, 2.5);
}

static const struct {
    const char *name;
    unop op;
    double lo, hi; /* the inputs, evenly spread */
} ops[] = {
    {"texp", ad_texp, -20, 20},         {"tsin", ad_tsin, -20, 20},
    {"tcos", ad_tcos, -20, 20},         {"ttan", ad_ttan, -20, 20},
    {"tasin", ad_tasin, -0.99, 0.99},   {"tacos", ad_tacos, -0.99, 0.99},
    {"tatan", ad_tatan, -20, 20},       {"tatan2", atan2_by_2, -20, 20},
    {"tsinh", ad_tsinh, -20, 20},       {"tcosh", ad_tcosh, -20, 20},
    {"tasinh", ad_tasinh, -20, 20},     {"tacosh", ad_tacosh, 1, 21},
    {"tatanh", ad_tatanh, -0.99, 0.99}, {"tlog1p", ad_tlog1p, -0.99, 20},
    {"texpm1", ad_texpm1, -20, 20},     {"tlog2", ad_tlog2, 0.001, 100},
    {"tlog10", ad_tlog10, 0.001, 100},  {"terf", ad_terf, -5, 5},
    {"terfc", ad_terfc, -5, 5},         {"tpowc", powc_2_5, 0.001, 100},
};

/* Forward, or forward and a backward sweep seeded with ones (bwd). */
static double time_op(unop op, ad_dtype dt, double lo, double hi, bool bwd, const double *seed)
{
    ad_param *p = ad_param_new(dt, 1, (size_t[]){N});
    ad_tape *t = ad_tape_new();
    if (!p || !t) {
        ad_param_free(p);
        ad_tape_free(t);
        return -1;
    }
    for (size_t i = 0; i < N; i++) {
        double v = lo + (hi - lo) * (double)i / N;
        if (dt == AD_F32)
            ((float *)ad_param_value(p))[i] = (float)v;
        else
            ((double *)ad_param_value(p))[i] = v;
    }
    double tm[REPS];
    bool ok = true;
    for (int r = 0; r < REPS + 1; r++) { /* the first run grows the tape's memory */
        ad_tape_reset(t);
        ad_tensor x = ad_param_use(t, p);
        double t0 = bench_now();
        ad_tensor y = op(x);
        ok &= ad_tensor_ok(y);
        if (bwd) ok &= ad_backward_seeded(y, seed) == AD_OK;
        if (r) tm[r - 1] = bench_now() - t0;
    }
    ad_tape_free(t);
    ad_param_free(p);
    return ok ? bench_median(tm, REPS) * 1e9 / N : -1;
}

static int bench_ops(void)
{
    char name[96];
    int bad = 0;
    double *seed = malloc(N * sizeof *seed);
    if (!seed) {
        bench_fail("elementwise: out of memory");
        return 1;
    }
    for (size_t i = 0; i < N; i++)
        seed[i] = 1.0;
    for (int bwd = 0; bwd < 2; bwd++)
        for (int d = 0; d < 2; d++) {
            ad_dtype dt = d ? AD_F64 : AD_F32;
            const char *dn = d ? "f64" : "f32", *pass = bwd ? ".fwdbwd" : "";
            double texp = 0;
            for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
                double ns = time_op(ops[k].op, dt, ops[k].lo, ops[k].hi, bwd, seed);
                if (ns < 0) {
                    bench_fail("elementwise.%s.%s%s: the op failed", dn, ops[k].name, pass);
                    bad = 1;
                    continue;
                }
                if (k == 0) texp = ns;
                snprintf(name, sizeof name, "elementwise.%s.%s%s.n1m.ns_per_elem", dn, ops[k].name,
                         pass);
                bench_emit(name, ns, "ns");
                if (k == 0) continue;
                snprintf(name, sizeof name, "elementwise.%s.%s%s.vs_texp", dn, ops[k].name, pass);
                bench_emit(name, ns / texp, "x");
            }
        }
    free(seed);
    return bad;
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
    return bench_ops() | bad;
}
