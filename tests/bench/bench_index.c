/* SPDX-License-Identifier: MIT
 * index group (issue 20): the new reductions along the last axis of a
 * [1024,1024] tensor and the indexing ops, each as a whole forward op on a
 * tape (input a parameter, the tape reset between repetitions), beside the
 * plain C loop that computes the same numbers, timed in the same run:
 * `index.f32.logsumexp.ns_per_elem`, `.plain.ns_per_elem` and `.vs_plain x`.
 * Every op's result is checked against its loop first. */
#include "adtape.h"
#include "bench.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R = 1024, C = 1024, N = R * C, REPS = 7 };

static int64_t rows_idx[R], cols_idx[N];

/* ---- the ops, as y = op(x) */

typedef ad_tensor (*op_fn)(ad_tensor);

static ad_tensor op_min(ad_tensor x)
{
    return ad_min_axis(x, 1, false);
}
static ad_tensor op_prod(ad_tensor x)
{
    return ad_prod_axis(x, 1, false);
}
static ad_tensor op_lse(ad_tensor x)
{
    return ad_logsumexp_axis(x, 1, false);
}
static ad_tensor op_var(ad_tensor x)
{
    return ad_var_axis(x, 1, false, 1);
}
static ad_tensor op_norm2(ad_tensor x)
{
    return ad_norm_axis(x, 2, 1, false);
}
static ad_tensor op_cumsum(ad_tensor x)
{
    return ad_cumsum(x, 1);
}
static ad_tensor op_select(ad_tensor x) /* R rows of x in a shuffled order */
{
    return ad_index_select(x, 0, rows_idx, R);
}
static ad_tensor op_gather(ad_tensor x) /* one element per (row, column) */
{
    return ad_gather(x, 1, cols_idx, 2, (size_t[]){R, C});
}

/* ---- the plain loops (float), accumulating in double as the ops do */

static void pl_min(const float *x, float *y)
{
    for (size_t r = 0; r < R; r++) {
        float m = x[r * C];
        for (size_t j = 1; j < C; j++)
            m = x[r * C + j] < m ? x[r * C + j] : m;
        y[r] = m;
    }
}
static void pl_prod(const float *x, float *y)
{
    for (size_t r = 0; r < R; r++) {
        double p = 1;
        for (size_t j = 0; j < C; j++)
            p *= (double)x[r * C + j];
        y[r] = (float)p;
    }
}
static void pl_lse(const float *x, float *y)
{
    for (size_t r = 0; r < R; r++) {
        float m = x[r * C];
        for (size_t j = 1; j < C; j++)
            m = x[r * C + j] > m ? x[r * C + j] : m;
        double s = 0;
        for (size_t j = 0; j < C; j++)
            s += (double)expf(x[r * C + j] - m);
        y[r] = (float)((double)m + log(s));
    }
}
static void pl_var(const float *x, float *y)
{
    for (size_t r = 0; r < R; r++) {
        double mu = 0, ss = 0;
        for (size_t j = 0; j < C; j++)
            mu += (double)x[r * C + j];
        mu /= C;
        for (size_t j = 0; j < C; j++)
            ss += ((double)x[r * C + j] - mu) * ((double)x[r * C + j] - mu);
        y[r] = (float)(ss / (C - 1));
    }
}
static void pl_norm2(const float *x, float *y)
{
    for (size_t r = 0; r < R; r++) {
        double s = 0;
        for (size_t j = 0; j < C; j++)
            s += (double)x[r * C + j] * (double)x[r * C + j];
        y[r] = (float)sqrt(s);
    }
}
static void pl_cumsum(const float *x, float *y)
{
    for (size_t r = 0; r < R; r++) {
        double s = 0;
        for (size_t j = 0; j < C; j++)
            y[r * C + j] = (float)(s += (double)x[r * C + j]);
    }
}
static void pl_select(const float *x, float *y)
{
    for (size_t r = 0; r < R; r++)
        memcpy(y + r * C, x + (size_t)rows_idx[r] * C, C * sizeof *y);
}
static void pl_gather(const float *x, float *y)
{
    for (size_t r = 0; r < R; r++)
        for (size_t j = 0; j < C; j++)
            y[r * C + j] = x[r * C + (size_t)cols_idx[r * C + j]];
}

static const struct {
    const char *name;
    op_fn op;
    void (*plain)(const float *, float *);
    double tol; /* relative, for the self-check */
} cases[] = {
    {"min", op_min, pl_min, 0},
    {"prod", op_prod, pl_prod, 1e-6},
    {"logsumexp", op_lse, pl_lse, 1e-6},
    {"var", op_var, pl_var, 1e-6},
    {"norm2", op_norm2, pl_norm2, 1e-6},
    {"cumsum", op_cumsum, pl_cumsum, 1e-6},
    {"index_select", op_select, pl_select, 0},
    {"gather", op_gather, pl_gather, 0},
};

/* argmax records nothing: timed on its own against its loop */
static void pl_argmax(const float *x, int64_t *out)
{
    for (size_t r = 0; r < R; r++) {
        size_t b = 0;
        float m = x[r * C];
        for (size_t j = 1; j < C; j++)
            if (x[r * C + j] > m) m = x[r * C + j], b = j;
        out[r] = (int64_t)b;
    }
}

static void emit3(const char *op, double ours, double plain)
{
    char name[96];
    snprintf(name, sizeof name, "index.f32.%s.ns_per_elem", op);
    bench_emit(name, ours, "ns");
    snprintf(name, sizeof name, "index.f32.%s.plain.ns_per_elem", op);
    bench_emit(name, plain, "ns");
    snprintf(name, sizeof name, "index.f32.%s.vs_plain", op);
    bench_emit(name, ours / plain, "x");
}

int bench_index(void)
{
    ad_param *p = ad_param_new(AD_F32, 2, (size_t[]){R, C});
    float *y = malloc(N * sizeof *y);
    int64_t *am = malloc(R * sizeof *am), *am2 = malloc(R * sizeof *am2);
    ad_tape *t = ad_tape_new();
    if (!p || !y || !am || !am2 || !t) {
        bench_fail("index: out of memory");
        ad_param_free(p), free(y), free(am), free(am2), ad_tape_free(t);
        return 1;
    }
    ad_rng g;
    ad_rng_seed(&g, 20);
    float *x = ad_param_value(p);
    for (size_t i = 0; i < N; i++) /* near 1, so a row's product stays finite */
        x[i] = (float)(1.0 + 0.01 * (ad_rng_uniform(&g) - 0.5));
    for (size_t r = 0; r < R; r++)
        rows_idx[r] = (int64_t)ad_rng_below(&g, R);
    for (size_t i = 0; i < N; i++)
        cols_idx[i] = (int64_t)ad_rng_below(&g, C);
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double to[REPS], tp[REPS];
        ad_tensor out = AD_TENSOR_NONE;
        for (int r = 0; r < REPS + 1; r++) { /* the first run grows the tape's memory */
            ad_tape_reset(t);
            ad_tensor xt = ad_param_use(t, p);
            double t0 = bench_now();
            out = cases[k].op(xt);
            double t1 = bench_now();
            cases[k].plain(x, y);
            double t2 = bench_now();
            if (r) to[r - 1] = t1 - t0, tp[r - 1] = t2 - t1;
        }
        size_t n = ad_tensor_numel(out);
        const float *yo = ad_tensor_data(out);
        for (size_t i = 0; i < n && yo; i++)
            if (fabs((double)yo[i] - (double)y[i]) > cases[k].tol * (1 + fabs((double)y[i]))) {
                bench_fail("index.%s: element %zu is %g, the loop's %g", cases[k].name, i,
                           (double)yo[i], (double)y[i]);
                bad = 1;
                break;
            }
        if (!yo) {
            bench_fail("index.%s: the op failed", cases[k].name);
            bad = 1;
            continue;
        }
        emit3(cases[k].name, bench_median(to, REPS) * 1e9 / N, bench_median(tp, REPS) * 1e9 / N);
    }
    double to[REPS], tp[REPS];
    for (int r = 0; r < REPS; r++) {
        ad_tape_reset(t);
        ad_tensor xt = ad_param_use(t, p);
        double t0 = bench_now();
        bad |= ad_argmax_axis(xt, 1, am, R) != AD_OK;
        double t1 = bench_now();
        pl_argmax(x, am2);
        tp[r] = bench_now() - t1, to[r] = t1 - t0;
    }
    if (memcmp(am, am2, R * sizeof *am) != 0) {
        bench_fail("index.argmax: differs from the loop");
        bad = 1;
    }
    emit3("argmax", bench_median(to, REPS) * 1e9 / N, bench_median(tp, REPS) * 1e9 / N);
    ad_tape_free(t);
    ad_param_free(p);
    free(y), free(am), free(am2);
    return bad;
}
