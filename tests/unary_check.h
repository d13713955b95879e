/* SPDX-License-Identifier: MIT
 * A harness for ops shaped like their one input (test_unary.c,
 * test_activation.c): gradcheck over the standard shapes, empty tensors,
 * values and gradients against hand computations, float32 against float64. */
#ifndef AD_TEST_UNARY_CHECK_H
#define AD_TEST_UNARY_CHECK_H

#include "common.h"

#include <math.h>
#include <stdio.h>

typedef ad_tensor (*unop)(ad_tensor);

/* NAN and INFINITY are float constants; hand values are doubles. */
#define NAN_D ((double)NAN)
#define INF_D ((double)INFINITY)

/* An op and an input range away from its poles and kinks. With
 * both_signs, the range [lo, hi] (lo > 0) is used with alternating signs,
 * which keeps |x| >= lo away from a kink at 0. */
typedef struct unary_case {
    const char *name;
    unop op;
    double lo, hi;
    bool both_signs;
} unary_case;

typedef struct unary_shape {
    size_t nd;
    size_t d[AD_MAX_DIMS];
} unary_shape;

static const unary_shape unary_shapes[] = {
    {1, {1}}, {1, {7}}, {2, {3, 5}}, {3, {2, 3, 4}}, {4, {2, 1, 3, 2}},
};

static ad_tensor unary_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const unary_case *c = ctx;
    return test_weighted_sum(c->op(ad_param_use(t, ps[0])));
}

static inline void unary_fill(const unary_case *c, double *x, size_t n)
{
    if (!c->both_signs) return;
    for (size_t i = 1; i < n; i += 2)
        x[i] = -x[i];
}

/* Float64 central differences over [1], [7], [3,5], [2,3,4], [2,1,3,2]. */
static inline void check_unary_gradients(const unary_case *c)
{
    for (size_t k = 0; k < sizeof unary_shapes / sizeof unary_shapes[0]; k++) {
        const unary_shape *s = &unary_shapes[k];
        ad_param *p = test_param(s->nd, s->d, c->lo, c->hi, 40 + k);
        unary_fill(c, ad_param_value(p), ad_param_numel(p));
        ad_gradcheck_report r;
        ad_status st = test_gradcheck_graph(unary_graph, &p, 1, (void *)c, NULL, &r);
        cr_assert(st == AD_OK && r.passed,
                  "%s on shape %zu of the list: status %s; worst [%zu]: analytic %.10g, "
                  "numeric %.10g",
                  c->name, k, ad_status_name(st), r.index, r.analytic, r.numeric);
        cr_assert_eq(r.checked, ad_param_numel(p));
        ad_param_free(p);
    }
}

/* [0] and [3,0] give empty results of the same shape and sweep cleanly. */
static inline void check_unary_empty(const unary_case *c)
{
    static const unary_shape empty[] = {{1, {0}}, {2, {3, 0}}};
    for (size_t k = 0; k < 2; k++) {
        const unary_shape *s = &empty[k];
        ad_tape *t = ad_tape_new();
        ad_tensor x = ad_tensor_variable(t, AD_F64, s->nd, s->d, NULL);
        ad_tensor y = c->op(x);
        cr_assert(ad_tensor_ok(y), "%s", c->name);
        size_t dims[AD_MAX_DIMS];
        cr_assert_eq(ad_tensor_shape(y, dims), s->nd);
        cr_assert_eq(dims[0], s->d[0]);
        cr_assert_eq(ad_tensor_numel(y), 0);
        double seed = 1.0;
        cr_assert_eq(ad_backward_seeded(y, &seed), AD_OK);
        cr_assert_not_null(ad_tensor_grad(x));
        /* and through a reduction, as a graph would use it */
        ad_param *p = ad_param_new(AD_F64, s->nd, s->d);
        ASSERT_GRADCHECK(unary_graph, &p, 1, (void *)c, NULL);
        ad_param_free(p);
        ad_tape_free(t);
    }
}

/* u against a hand value: NaN matches NaN, an infinity itself, a finite
 * value within tol relative (plus tol absolute). */
static inline bool unary_close(double u, double want, double tol)
{
    if (isnan(want)) return isnan(u);
    if (isinf(want)) return u == want;
    return fabs(u - want) <= tol * (1 + fabs(want));
}

/* y = op(x) and dy/dx (seed ones) against hand values, in float64. */
static inline void check_unary_values(unop op, size_t n, const double *x, const double *want_y,
                                      const double *want_g, double tol)
{
    ad_tape *t = ad_tape_new();
    ad_tensor v = ad_tensor_variable(t, AD_F64, 1, &n, x);
    ad_tensor y = op(v);
    cr_assert(ad_tensor_ok(y));
    double seed[16];
    for (size_t i = 0; i < n; i++)
        seed[i] = 1.0;
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    const double *g = ad_tensor_grad(v);
    for (size_t i = 0; i < n; i++) {
        double u = ad_tensor_get(y, i);
        cr_assert(unary_close(u, want_y[i], tol), "y(%.17g) = %.17g, want %.17g", x[i], u,
                  want_y[i]);
        cr_assert(unary_close(g[i], want_g[i], tol), "y'(%.17g) = %.17g, want %.17g", x[i], g[i],
                  want_g[i]);
    }
    ad_tape_free(t);
}

/* Float32 values and gradients close to float64 ones on the same inputs. */
static inline void check_unary_dtypes(const unary_case *c)
{
    enum { N = 24 };
    ad_tape *t = ad_tape_new();
    ad_tensor u = ad_tensor_uniform(t, AD_F64, 1, (size_t[]){N}, c->lo, c->hi, 77);
    float xf[N];
    double xd[N], seed[N];
    for (size_t i = 0; i < N; i++) {
        xf[i] = (float)ad_tensor_get(u, i);
        if (c->both_signs && i % 2) xf[i] = -xf[i];
        xd[i] = (double)xf[i];
        seed[i] = test_weight(i);
    }
    size_t dims[3] = {2, 3, 4};
    ad_tensor x64 = ad_tensor_variable(t, AD_F64, 3, dims, xd);
    ad_tensor x32 = ad_tensor_variable(t, AD_F32, 3, dims, xf);
    ad_tensor y64 = c->op(x64), y32 = c->op(x32);
    cr_assert(ad_tensor_ok(y64) && ad_tensor_ok(y32), "%s", c->name);
    cr_assert_eq(ad_tensor_dtype(y32), AD_F32);
    for (size_t i = 0; i < N; i++) {
        double a = ad_tensor_get(y64, i), b = ad_tensor_get(y32, i);
        cr_assert(fabs(a - b) <= 1e-6 + 1e-5 * fabs(a), "%s(%g): f64 %.9g f32 %.9g", c->name, xd[i],
                  a, b);
    }
    cr_assert_eq(ad_backward_seeded(y64, seed), AD_OK);
    double g64[N];
    memcpy(g64, ad_tensor_grad(x64), sizeof g64); /* the next sweep clears it */
    cr_assert_eq(ad_backward_seeded(y32, seed), AD_OK);
    const float *g32 = ad_tensor_grad(x32);
    for (size_t i = 0; i < N; i++)
        cr_assert(fabs(g64[i] - (double)g32[i]) <= 1e-5 + 1e-5 * fabs(g64[i]),
                  "%s'(%g): f64 %.9g f32 %.9g", c->name, xd[i], g64[i], (double)g32[i]);
    ad_tape_free(t);
}

/* A handle from before ad_tape_reset, an invalid handle, and a handle with
 * no tape: each fails cleanly, naming the op. */
static inline void check_unary_errors(const unary_case *c)
{
    char want[96];
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F64, 1, (size_t[]){3});
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(c->op(x)));
    snprintf(want, sizeof want, "%s: tensor handle #0 was recorded before the last ad_tape_reset",
             c->name);
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, want);
    ad_tape_reset(t);
    ad_tensor bad = ad_tadd(ad_tensor_ones(t, AD_F64, 1, (size_t[]){2}),
                            ad_tensor_ones(t, AD_F64, 1, (size_t[]){3}));
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(c->op(bad)));
    snprintf(want, sizeof want, "%s: invalid tensor handle", c->name);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, want);
    ad_tape_free(t);
    cr_assert(!ad_tensor_ok(c->op((ad_tensor){0})));
}

/* The standard tests of one unary case in a suite: the registered float64
 * gradcheck over the shapes, empty tensors, float32 against float64, and
 * the handle errors. */
#define UNARY_CASE_TESTS(suite, name, code, fn, public_name, lo, hi, both)                         \
    static const unary_case name##_case = {public_name, fn, lo, hi, both};                         \
    GRADCHECK_TEST(suite, name##_gradient_matches_central_differences_over_shapes, code)           \
    {                                                                                              \
        check_unary_gradients(&name##_case);                                                       \
    }                                                                                              \
    Test(suite, name##_of_empty_tensors_is_empty_and_sweeps_without_error)                         \
    {                                                                                              \
        check_unary_empty(&name##_case);                                                           \
    }                                                                                              \
    Test(suite, name##_in_float32_matches_float64)                                                 \
    {                                                                                              \
        check_unary_dtypes(&name##_case);                                                          \
    }                                                                                              \
    Test(suite, name##_fails_cleanly_on_stale_invalid_and_tapeless_handles)                        \
    {                                                                                              \
        check_unary_errors(&name##_case);                                                          \
    }

#endif
