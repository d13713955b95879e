/* SPDX-License-Identifier: MIT
 * Shared by test_reduce_more.c and test_reduce_stats.c: the issue-20
 * reductions applied by code (over all elements or along an axis), naive
 * double references, and the gradcheck over shapes, axes and keepdim. */
#ifndef AD_TEST_REDUCE_CASES_H
#define AD_TEST_REDUCE_CASES_H

#include "common.h"
#include "op_helpers.h"

#include <math.h>
#include <stdlib.h>

enum rop { R_MIN, R_PROD, R_LSE, R_VAR, R_STD, R_NORM1, R_NORM2 };

typedef struct rcase {
    enum rop op;
    size_t nd, dims[4];
    bool all;
    int axis;
    bool keepdim;
    double corr; /* var, std */
} rcase;

static inline ad_tensor rapply(const rcase *c, ad_tensor x)
{
    switch (c->op) {
    case R_MIN:
        return c->all ? ad_min(x) : ad_min_axis(x, c->axis, c->keepdim);
    case R_PROD:
        return c->all ? ad_prod(x) : ad_prod_axis(x, c->axis, c->keepdim);
    case R_LSE:
        return c->all ? ad_logsumexp(x) : ad_logsumexp_axis(x, c->axis, c->keepdim);
    case R_VAR:
        return c->all ? ad_var(x, c->corr) : ad_var_axis(x, c->axis, c->keepdim, c->corr);
    case R_STD:
        return c->all ? ad_std(x, c->corr) : ad_std_axis(x, c->axis, c->keepdim, c->corr);
    case R_NORM1:
        return c->all ? ad_norm(x, 1) : ad_norm_axis(x, 1, c->axis, c->keepdim);
    case R_NORM2:
        return c->all ? ad_norm(x, 2) : ad_norm_axis(x, 2, c->axis, c->keepdim);
    }
    return ad_tensor_invalid(ad_tensor_tape(x));
}

/* The reduction of one group of n values, strided by `step`, in double. */
static inline double rnaive_group(const rcase *c, const double *x, size_t n, size_t step)
{
    double acc = c->op == R_PROD ? 1.0 : 0.0, mean = 0.0, m = -(double)INFINITY;
    for (size_t j = 0; j < n; j++) {
        double v = x[j * step];
        mean += v / (double)n;
        m = fmax(m, v);
    }
    for (size_t j = 0; j < n; j++) {
        double v = x[j * step];
        switch (c->op) {
        case R_MIN:
            acc = j == 0 || v < acc || isnan(v) ? v : acc;
            break;
        case R_PROD:
            acc *= v;
            break;
        case R_LSE:
            acc += exp(v - m);
            break;
        case R_VAR:
        case R_STD:
            acc += (v - mean) * (v - mean);
            break;
        case R_NORM1:
            acc += fabs(v);
            break;
        case R_NORM2:
            acc += v * v;
            break;
        }
    }
    switch (c->op) {
    case R_LSE:
        return m + log(acc);
    case R_VAR:
        return acc / ((double)n - c->corr);
    case R_STD:
        return sqrt(acc / ((double)n - c->corr));
    case R_NORM2:
        return sqrt(acc);
    default:
        return acc;
    }
}

/* y (numel outer * inner) from x by naive loops. */
static inline void rnaive(const rcase *c, const double *x, double *y)
{
    size_t outer = 1, inner = 1, n = 1;
    for (size_t d = 0; d < c->nd; d++)
        n *= c->dims[d];
    if (!c->all) {
        size_t a = (size_t)(c->axis < 0 ? c->axis + (int)c->nd : c->axis);
        n = c->dims[a];
        for (size_t d = 0; d < a; d++)
            outer *= c->dims[d];
        for (size_t d = a + 1; d < c->nd; d++)
            inner *= c->dims[d];
    }
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++)
            y[o * inner + i] = rnaive_group(c, x + o * n * inner + i, n, inner);
}

/* The reduced extent of a case. */
static inline size_t rcase_n(const rcase *c)
{
    size_t n = 1;
    if (c->all) {
        for (size_t d = 0; d < c->nd; d++)
            n *= c->dims[d];
        return n;
    }
    return c->dims[c->axis < 0 ? c->axis + (int)c->nd : c->axis];
}

static inline ad_tensor rgraph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    return weighted_sum(rapply(ctx, ad_param_use(t, p[0])), 31);
}

/* x's values for the gradcheck of op: min needs its minimum clear of the
 * runner-up by much more than the difference step (a permutation of
 * multiples of 0.37 has no ties); the others take uniform values, which
 * keep |x| off the L1 kink at 0. */
static inline void rfill(enum rop op, ad_param *p)
{
    double *v = ad_param_value(p);
    size_t n = ad_param_numel(p);
    if (op == R_MIN)
        for (size_t i = 0; i < n; i++)
            v[i] = (double)((i * 7919) % n) * 0.37 - 0.185 * (double)n;
}

static inline void rcheck(rcase c)
{
    ad_param *p[1] = {test_param(c.nd, c.dims, -1.5, 1.5, 70 + (uint64_t)c.nd)};
    rfill(c.op, p[0]);
    ASSERT_GRADCHECK(rgraph, p, 1, &c, NULL);
    ad_param_free(p[0]);
}

static const size_t rshapes[][5] = {
    /* nd, dims */
    {1, 1}, {1, 7}, {2, 1, 1}, {2, 3, 5}, {3, 2, 3, 4}, {4, 2, 1, 3, 2}, {2, 2, 19},
};
#define N_RSHAPES (sizeof rshapes / sizeof rshapes[0])

/* Whether var/std can run on the case: otherwise its correction is lowered
 * to 0 (a single element with correction 1 has no degrees of freedom). */
static inline rcase rfix(rcase c)
{
    if ((c.op == R_VAR || c.op == R_STD) && (double)rcase_n(&c) - c.corr <= 0) c.corr = 0;
    return c;
}

/* All elements, then every axis as a positive and a negative number, with
 * and without keepdim, over every shape. */
static inline void rcheck_everything(enum rop op, double corr)
{
    for (size_t s = 0; s < N_RSHAPES; s++) {
        int nd = (int)rshapes[s][0];
        rcase c = {op, (size_t)nd, {0}, true, 0, false, corr};
        memcpy(c.dims, rshapes[s] + 1, 4 * sizeof(size_t));
        rcheck(rfix(c));
        for (int a = -nd; a < nd; a++)
            for (int keep = 0; keep < 2; keep++) {
                c.all = false;
                c.axis = a;
                c.keepdim = keep;
                c.corr = corr;
                rcheck(rfix(c));
            }
    }
}

/* float32 and float64 forward on the same (float-rounded) inputs against
 * the naive double loops, over every shape and axis; tol is float32's. */
static inline void rcheck_float32_against_float64(enum rop op, double corr, double tol)
{
    for (size_t s = 0; s < N_RSHAPES; s++) {
        int nd = (int)rshapes[s][0];
        for (int a = -1; a < nd; a++) {
            rcase c = {op, (size_t)nd, {0}, a < 0, a < 0 ? 0 : a, false, corr};
            memcpy(c.dims, rshapes[s] + 1, 4 * sizeof(size_t));
            c = rfix(c);
            size_t n = 1;
            for (int d = 0; d < nd; d++)
                n *= c.dims[d];
            double *x = random_values(n, 300 + s), want[64];
            for (size_t i = 0; i < n; i++)
                x[i] = (double)(float)(x[i] * 1.5);
            rnaive(&c, x, want);
            ad_tape *t = ad_tape_new();
            ad_tensor y64 = rapply(&c, tensor_from(t, AD_F64, c.nd, c.dims, x, false));
            ad_tensor y32 = rapply(&c, tensor_from(t, AD_F32, c.nd, c.dims, x, false));
            cr_assert(ad_tensor_ok(y64) && ad_tensor_ok(y32), "%s", test_tape_msg(t));
            size_t m = ad_tensor_numel(y64);
            cr_assert_eq(ad_tensor_numel(y32), m);
            for (size_t k = 0; k < m; k++) {
                double w = want[k], g64 = ad_tensor_get(y64, k), g32 = ad_tensor_get(y32, k);
                cr_assert(fabs(g64 - w) <= 1e-12 * (1 + fabs(w)),
                          "f64 shape %zu axis %d [%zu]: %.17g vs %.17g", s, a, k, g64, w);
                cr_assert(fabs(g32 - g64) <= tol * (1 + fabs(g64)),
                          "f32 shape %zu axis %d [%zu]: %.9g vs %.17g", s, a, k, g32, g64);
            }
            ad_tape_free(t);
            free(x);
        }
    }
}

#endif
