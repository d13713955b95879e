/* SPDX-License-Identifier: MIT
 * scalar group: the two functions of ../shared/peers/adolc_bench.cpp, N = 1e6,
 * x[i] = 0.9 sin(0.37 i + 1). primal_ms is plain C doubles; grad_ms is one
 * recording on a reused tape (ad_tape_reset between repetitions) plus one
 * reverse sweep through the public API, with the gradient read out and
 * checked against the analytic one. ns_per_op and bytes_per_op are per
 * scalar operation the function performs (variables included), as ADOL-C
 * counts them; the tape records fewer, since ops on one record fold into
 * the handle (ad_scalar in adtape.h). */
#include "adtape.h"
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 1000000, REPS = 7 };

static double rosen_d(const double *x, long n)
{
    double s = 0.0;
    for (long i = 0; i + 1 < n; i++) {
        double t = x[i + 1] - x[i] * x[i];
        double u = 1.0 - x[i];
        s += 100.0 * t * t + u * u;
    }
    return s;
}

static double transc_d(const double *x, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++)
        s += sin(x[i]) * exp(x[i] * 0.1) + log(1.0 + x[i] * x[i]) + tanh(x[i]);
    return s;
}

/* The same expressions, op for op, on the tape. */
static ad_scalar rosen_ad(ad_tape *t, const ad_scalar *x, long n)
{
    ad_scalar s = ad_constant(t, 0.0);
    for (long i = 0; i + 1 < n; i++) {
        ad_scalar v = ad_sub(x[i + 1], ad_mul(x[i], x[i]));
        ad_scalar u = ad_rsub(1.0, x[i]);
        s = ad_add(s, ad_add(ad_mul(ad_scale(v, 100.0), v), ad_mul(u, u)));
    }
    return s;
}

static ad_scalar transc_ad(ad_tape *t, const ad_scalar *x, long n)
{
    ad_scalar s = ad_constant(t, 0.0);
    for (long i = 0; i < n; i++) {
        ad_scalar a = ad_mul(ad_sin(x[i]), ad_exp(ad_scale(x[i], 0.1)));
        ad_scalar b = ad_log(ad_addc(ad_mul(x[i], x[i]), 1.0));
        s = ad_add(s, ad_add(ad_add(a, b), ad_tanh(x[i])));
    }
    return s;
}

static void rosen_grad(const double *x, long n, double *g)
{
    for (long i = 0; i < n; i++)
        g[i] = 0;
    for (long i = 0; i + 1 < n; i++) {
        double t = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * x[i] * t - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * t;
    }
}

static void transc_grad(const double *x, long n, double *g)
{
    for (long i = 0; i < n; i++) {
        double e = exp(0.1 * x[i]), th = tanh(x[i]);
        g[i] = cos(x[i]) * e + 0.1 * sin(x[i]) * e + 2 * x[i] / (1 + x[i] * x[i]) + 1 - th * th;
    }
}

typedef struct fn_case {
    const char *name;
    long ops_per_element; /* the scalar ops of one loop iteration, as written */
    long iterations_less; /* the loop runs N - iterations_less times */
    double (*primal)(const double *, long);
    ad_scalar (*taped)(ad_tape *, const ad_scalar *, long);
    void (*grad)(const double *, long, double *);
} fn_case;

/* volatile: the compiler may neither inline the primal nor hoist it out of the loop */
static volatile double sink;

static int run(const fn_case *f, const double *x, double *g, double *ga, ad_scalar *xs)
{
    double (*volatile primal)(const double *, long) = f->primal;
    double tp[3 * REPS], tg[REPS];
    for (int r = 0; r < 3 * REPS; r++) {
        double t0 = bench_now();
        sink = primal(x, N);
        tp[r] = bench_now() - t0;
    }
    ad_tape *t = ad_tape_new();
    if (!t) {
        bench_fail("scalar.%s: out of memory", f->name);
        return 1;
    }
    ad_tape_stats st = {0};
    for (int r = 0; r < REPS; r++) {
        ad_tape_reset(t);
        double t0 = bench_now();
        for (long i = 0; i < N; i++)
            xs[i] = ad_variable(t, x[i]);
        ad_scalar y = f->taped(t, xs, N);
        ad_status s = ad_backward_scalar(y);
        for (long i = 0; i < N; i++)
            g[i] = ad_grad(xs[i]);
        tg[r] = bench_now() - t0;
        if (s != AD_OK) {
            const char *msg;
            ad_tape_error(t, &msg);
            bench_fail("scalar.%s: sweep failed: %s", f->name, msg);
            ad_tape_free(t);
            return 1;
        }
        st = ad_tape_stats_get(t);
    }
    ad_tape_free(t);
    f->grad(x, N, ga);
    double err = 0;
    for (long i = 0; i < N; i++)
        err = fmax(err, fabs(g[i] - ga[i]) / fmax(1.0, fabs(ga[i])));
    if (!(err <= 1e-10)) {
        bench_fail("scalar.%s: gradient off the analytic one by %.3g (relative)", f->name, err);
        return 1;
    }
    double p = bench_median(tp, 3 * REPS), gr = bench_median(tg, REPS);
    /* every element has a variable, and every loop iteration its ops */
    double ops = (double)N + (double)f->ops_per_element * (double)(N - f->iterations_less);
    double records = (double)st.scalar_nodes;
    char name[96];
    snprintf(name, sizeof name, "scalar.%s.primal_ms", f->name);
    bench_emit(name, p * 1e3, "ms");
    snprintf(name, sizeof name, "scalar.%s.grad_ms", f->name);
    bench_emit(name, gr * 1e3, "ms");
    snprintf(name, sizeof name, "scalar.%s.ns_per_op", f->name);
    bench_emit(name, gr * 1e9 / ops, "ns");
    snprintf(name, sizeof name, "scalar.%s.bytes_per_op", f->name);
    bench_emit(name, (double)st.bytes_used / ops, "B");
    bench_note("scalar.%s: %.0f ops, %.0f records (%.1f per element, %.2f ns each), "
               "grad/primal %.1fx, max rel err %.2g; bytes_per_op is the tape's records, "
               "the sweep also uses 8 bytes of adjoint per record",
               f->name, ops, records, records / N, gr * 1e9 / records, gr / p, err);
    return 0;
}

int bench_scalar(void)
{
    static const fn_case cases[] = {
        {"rosenbrock", 8, 1, rosen_d, rosen_ad, rosen_grad},
        {"transcendental", 11, 0, transc_d, transc_ad, transc_grad},
    };
    double *x = malloc(N * sizeof *x), *g = malloc(N * sizeof *g), *ga = malloc(N * sizeof *ga);
    ad_scalar *xs = malloc(N * sizeof *xs);
    int bad = 0;
    if (!x || !g || !ga || !xs) {
        bench_fail("scalar: out of memory");
        bad = 1;
    } else {
        for (long i = 0; i < N; i++)
            x[i] = 0.9 * sin(0.37 * (double)i + 1.0);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            bad |= run(&cases[c], x, g, ga, xs);
    }
    free(x), free(g), free(ga), free(xs);
    return bad;
}
