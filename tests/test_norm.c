/* SPDX-License-Identifier: MIT
 * layer_norm and batch_norm (ops/norm.c): gradients against central
 * differences over several shapes (size 1, odd sizes, 1-D to 4-D, with and
 * without the affine operands, training and evaluation), hand values, the
 * running statistics' update, float32 against float64 (a large mean
 * included), and every error path with its message. */
#include "op_helpers.h"

#include <math.h>
#include <stdio.h>

typedef struct shape {
    size_t nd;
    size_t d[AD_MAX_DIMS];
} shape;

static size_t numel_of(const shape *s)
{
    size_t n = 1;
    for (size_t i = 0; i < s->nd; i++)
        n *= s->d[i];
    return n;
}

/* ---- layer_norm gradchecks */

typedef struct ln_case {
    shape x;
    size_t k;
    bool weight, bias;
} ln_case;

static const ln_case ln_cases[] = {
    {{1, {1}}, 1, true, true},          {{1, {7}}, 1, true, true},
    {{2, {3, 5}}, 1, true, true},       {{2, {3, 5}}, 1, false, false},
    {{2, {4, 3}}, 2, true, false},      {{3, {2, 3, 4}}, 2, false, true},
    {{3, {2, 3, 4}}, 1, true, true},    {{4, {2, 1, 3, 5}}, 1, true, true},
    {{4, {2, 1, 3, 5}}, 3, true, true}, {{2, {5, 1}}, 1, true, true},
    {{3, {1, 1, 9}}, 3, true, false},
};

/* params: x, then weight and bias when the case has them */
static ad_tensor ln_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const ln_case *c = ctx;
    size_t k = 1;
    ad_tensor x = ad_param_use(t, ps[0]);
    ad_tensor w = c->weight ? ad_param_use(t, ps[k++]) : AD_TENSOR_NONE;
    ad_tensor b = c->bias ? ad_param_use(t, ps[k]) : AD_TENSOR_NONE;
    return test_weighted_sum(ad_layer_norm(x, c->k, w, b, 1e-5));
}

GRADCHECK_TEST(layer_norm, gradient_matches_central_differences_over_shapes_and_affine_options,
               AD_OP_LAYER_NORM)
{
    for (size_t i = 0; i < sizeof ln_cases / sizeof ln_cases[0]; i++) {
        const ln_case *c = &ln_cases[i];
        const size_t *last = c->x.d + c->x.nd - c->k;
        ad_param *ps[3];
        size_t n = 0;
        ps[n++] = test_param(c->x.nd, c->x.d, -2, 2, 100 + i);
        if (c->weight) ps[n++] = test_param(c->k, last, 0.5, 1.5, 200 + i);
        if (c->bias) ps[n++] = test_param(c->k, last, -1, 1, 300 + i);
        ASSERT_GRADCHECK(ln_graph, ps, n, (void *)c, NULL);
        for (size_t j = 0; j < n; j++)
            ad_param_free(ps[j]);
    }
}

/* ---- batch_norm gradchecks */

typedef struct bn_case {
    shape x;
    bool affine, training;
} bn_case;

static const bn_case bn_cases[] = {
    {{2, {4, 3}}, true, true},        {{2, {4, 3}}, false, true},
    {{3, {2, 3, 5}}, true, true},     {{4, {3, 2, 3, 3}}, true, true},
    {{3, {1, 3, 4}}, true, true},     {{2, {5, 1}}, true, true},
    {{4, {2, 1, 1, 3}}, true, true},  {{2, {4, 3}}, true, false},
    {{4, {2, 3, 2, 3}}, true, false}, {{2, {1, 1}}, true, false},
    {{3, {3, 2, 5}}, false, false},
};

typedef struct bn_ctx {
    const bn_case *c;
    ad_param *rm, *rv;
} bn_ctx;

static ad_tensor bn_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const bn_ctx *b = ctx;
    ad_tensor x = ad_param_use(t, ps[0]);
    ad_tensor w = b->c->affine ? ad_param_use(t, ps[1]) : AD_TENSOR_NONE;
    ad_tensor bias = b->c->affine ? ad_param_use(t, ps[2]) : AD_TENSOR_NONE;
    return test_weighted_sum(ad_batch_norm(x, w, bias, b->rm, b->rv, b->c->training, 0.1, 1e-5));
}

GRADCHECK_TEST(batch_norm, gradient_matches_central_differences_in_training_and_evaluation,
               AD_OP_BATCH_NORM)
{
    for (size_t i = 0; i < sizeof bn_cases / sizeof bn_cases[0]; i++) {
        const bn_case *c = &bn_cases[i];
        const size_t *ch = c->x.d + 1;
        ad_param *ps[3];
        size_t n = 0;
        ps[n++] = test_param(c->x.nd, c->x.d, -2, 2, 400 + i);
        if (c->affine) {
            ps[n++] = test_param(1, ch, 0.5, 1.5, 500 + i);
            ps[n++] = test_param(1, ch, -1, 1, 600 + i);
        }
        bn_ctx b = {c, test_param(1, ch, -0.5, 0.5, 700 + i), test_param(1, ch, 0.5, 2, 800 + i)};
        ASSERT_GRADCHECK(bn_graph, ps, n, &b, NULL);
        for (size_t j = 0; j < n; j++)
            ad_param_free(ps[j]);
        ad_param_free(b.rm);
        ad_param_free(b.rv);
    }
}

/* Training without running statistics is allowed (nothing to update). */
static ad_tensor bn_graph_no_running(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    return test_weighted_sum(ad_batch_norm(ad_param_use(t, ps[0]), ad_param_use(t, ps[1]),
                                           AD_TENSOR_NONE, NULL, NULL, true, 0.1, 1e-3));
}

Test(batch_norm, trains_without_running_statistics)
{
    ad_param *ps[2] = {test_param(3, (size_t[]){3, 2, 4}, -2, 2, 31),
                       test_param(1, (size_t[]){2}, 0.5, 1.5, 32)};
    ASSERT_GRADCHECK(bn_graph_no_running, ps, 2, NULL, NULL);
    ad_param_free(ps[0]);
    ad_param_free(ps[1]);
}

/* ---- hand values */

Test(layer_norm, matches_hand_values_and_gives_mean_zero_variance_one_per_row)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){2, 3}, (double[]){1, 2, 3, 10, 10, 40});
    ad_tensor w = ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, (double[]){1, 2, 3});
    ad_tensor b = ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, (double[]){0, 1, 0});
    ad_tensor y = ad_layer_norm(x, 1, w, b, 1e-5);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    double r0 = 1.0 / sqrt(2.0 / 3.0 + 1e-5), r1 = 1.0 / sqrt(200.0 + 1e-5);
    const double want[6] = {-r0, 1.0, 3 * r0, -10 * r1, 2 * -10 * r1 + 1, 3 * 20 * r1};
    for (size_t i = 0; i < 6; i++)
        cr_assert_float_eq(ad_tensor_get(y, i), want[i], 1e-12, "element %zu", i);
    ad_tensor z = ad_layer_norm(x, 2, AD_TENSOR_NONE, AD_TENSOR_NONE, 1e-5);
    double s = 0, sq = 0;
    for (size_t i = 0; i < 6; i++)
        s += ad_tensor_get(z, i), sq += ad_tensor_get(z, i) * ad_tensor_get(z, i);
    cr_assert_float_eq(s, 0.0, 1e-12);
    cr_assert_float_eq(sq / 6, 1.0, 1e-5);
    ad_tape_free(t);
}

/* x [4,1] = 1..4: batch mean 2.5, biased variance 1.25, unbiased 5/3. */
Test(batch_norm, training_updates_the_running_statistics_like_pytorch_and_evaluation_uses_them)
{
    ad_param *rm = ad_param_new(AD_F64, 1, (size_t[]){1}),
             *rv = ad_param_new(AD_F64, 1, (size_t[]){1});
    ((double *)ad_param_value(rv))[0] = 1.0;
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){4, 1}, (double[]){1, 2, 3, 4});
    ad_tensor y = ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, rm, rv, true, 0.1, 1e-5);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    for (size_t i = 0; i < 4; i++)
        cr_assert_float_eq(ad_tensor_get(y, i), ((double)i + 1 - 2.5) / sqrt(1.25 + 1e-5), 1e-12);
    double m = ((double *)ad_param_value(rm))[0], v = ((double *)ad_param_value(rv))[0];
    cr_assert_float_eq(m, 0.25, 1e-15);
    cr_assert_float_eq(v, 0.9 + 0.1 * 5.0 / 3.0, 1e-15);
    ad_tensor w = ad_tensor_new(t, AD_F64, 1, (size_t[]){1}, (double[]){2});
    ad_tensor b = ad_tensor_new(t, AD_F64, 1, (size_t[]){1}, (double[]){-1});
    ad_tensor e = ad_batch_norm(x, w, b, rm, rv, false, 0.1, 1e-5);
    for (size_t i = 0; i < 4; i++)
        cr_assert_float_eq(ad_tensor_get(e, i), ((double)i + 1 - m) / sqrt(v + 1e-5) * 2 - 1,
                           1e-12);
    cr_assert_float_eq(((double *)ad_param_value(rm))[0], m, 0, "evaluation changes nothing");
    /* momentum 1 replaces, 0 keeps */
    ad_batch_norm(x, w, b, rm, rv, true, 1.0, 1e-5);
    cr_assert_float_eq(((double *)ad_param_value(rm))[0], 2.5, 1e-15);
    cr_assert_float_eq(((double *)ad_param_value(rv))[0], 5.0 / 3.0, 1e-15);
    ad_batch_norm(x, w, b, rm, rv, true, 0.0, 1e-5);
    cr_assert_float_eq(((double *)ad_param_value(rm))[0], 2.5, 1e-15);
    ad_tape_free(t);
    ad_param_free(rm);
    ad_param_free(rv);
}

/* NCHW: channel c's statistics cover every n and every h, w, and nothing
 * of the other channels. */
Test(batch_norm, normalises_each_channel_over_batch_and_space)
{
    ad_tape *t = ad_tape_new();
    const size_t dims[4] = {3, 2, 2, 5};
    ad_tensor u = ad_tensor_uniform(t, AD_F64, 4, dims, -3, 7, 5);
    ad_tensor y = ad_batch_norm(u, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, true, 0.1, 1e-8);
    for (size_t c = 0; c < 2; c++) {
        double s = 0, sq = 0;
        for (size_t n = 0; n < 3; n++)
            for (size_t j = 0; j < 10; j++) {
                double v = ad_tensor_get(y, (n * 2 + c) * 10 + j);
                s += v, sq += v * v;
            }
        cr_assert_float_eq(s / 30, 0.0, 1e-12, "channel %zu", c);
        cr_assert_float_eq(sq / 30, 1.0, 1e-6, "channel %zu", c);
    }
    ad_tape_free(t);
}

/* In evaluation the statistics are constants: dx = w rstd dy exactly. */
Test(batch_norm, evaluation_gradient_is_the_per_channel_scale)
{
    ad_param *rm = ad_param_new(AD_F64, 1, (size_t[]){2}),
             *rv = ad_param_new(AD_F64, 1, (size_t[]){2});
    double *v = ad_param_value(rv);
    v[0] = 3.0, v[1] = 0.25;
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 2}, NULL);
    ad_tensor w = ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){2, -1});
    ad_tensor y = ad_batch_norm(x, w, AD_TENSOR_NONE, rm, rv, false, 0.1, 1.0);
    cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
    const double *g = ad_tensor_grad(x);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_float_eq(g[2 * i], 2.0 / 2.0, 1e-15);
        cr_assert_float_eq(g[2 * i + 1], -1.0 / sqrt(1.25), 1e-15);
    }
    ad_tape_free(t);
    ad_param_free(rm);
    ad_param_free(rv);
}

/* ---- float32 against float64 */

typedef enum { OP_LN, OP_BN_TRAIN, OP_BN_EVAL } which_op;

/* y and the gradients of x, w, b for a weighted sum, in dtype dt on
 * values v (x), then w and b; running statistics from rmv. */
static void run_norm(which_op op, ad_dtype dt, const shape *s, size_t k, const double *xv,
                     const double *wv, const double *bv, size_t nwb, const double *rmv, double *y,
                     double *gx, double *gw, double *gb)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = tensor_from(t, dt, s->nd, s->d, xv, true);
    const size_t *wd = op == OP_LN ? s->d + s->nd - k : s->d + 1;
    size_t wnd = op == OP_LN ? k : 1;
    ad_tensor w = tensor_from(t, dt, wnd, wd, wv, true), b = tensor_from(t, dt, wnd, wd, bv, true);
    ad_param *rm = ad_param_new(dt, 1, (size_t[]){nwb}), *rv = ad_param_new(dt, 1, (size_t[]){nwb});
    for (size_t i = 0; i < nwb; i++) {
        if (dt == AD_F32) {
            ((float *)ad_param_value(rm))[i] = (float)rmv[i];
            ((float *)ad_param_value(rv))[i] = (float)(1 + rmv[i] * rmv[i]);
        } else {
            ((double *)ad_param_value(rm))[i] = rmv[i];
            ((double *)ad_param_value(rv))[i] = 1 + rmv[i] * rmv[i];
        }
    }
    ad_tensor out = op == OP_LN ? ad_layer_norm(x, k, w, b, 1e-5)
                                : ad_batch_norm(x, w, b, rm, rv, op == OP_BN_TRAIN, 0.1, 1e-5);
    cr_assert(ad_tensor_ok(out), "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward(weighted_sum(out, 77)), AD_OK, "%s", test_tape_msg(t));
    for (size_t i = 0; i < ad_tensor_numel(out); i++)
        y[i] = ad_tensor_get(out, i);
    grad_as_double(x, gx);
    grad_as_double(w, gw);
    grad_as_double(b, gb);
    ad_tape_free(t);
    ad_param_free(rm);
    ad_param_free(rv);
}

static void compare_dtypes(which_op op, const shape *s, size_t k, double offset, double tol)
{
    size_t n = numel_of(s), nwb = 1;
    if (op == OP_LN)
        for (size_t d = s->nd - k; d < s->nd; d++)
            nwb *= s->d[d];
    else
        nwb = s->d[1];
    double *xv = random_values(n, 3), *wv = random_values(nwb, 4), *bv = random_values(nwb, 5),
           *rmv = random_values(nwb, 6);
    for (size_t i = 0; i < n; i++)
        xv[i] = (double)(float)(xv[i] + offset);
    double *buf = calloc(2 * (2 * n + 2 * nwb), sizeof *buf);
    cr_assert_not_null(buf);
    double *y32 = buf, *gx32 = y32 + n, *gw32 = gx32 + n, *gb32 = gw32 + nwb;
    double *y64 = gb32 + nwb, *gx64 = y64 + n, *gw64 = gx64 + n, *gb64 = gw64 + nwb;
    run_norm(op, AD_F32, s, k, xv, wv, bv, nwb, rmv, y32, gx32, gw32, gb32);
    run_norm(op, AD_F64, s, k, xv, wv, bv, nwb, rmv, y64, gx64, gw64, gb64);
    for (size_t i = 0; i < n; i++) {
        cr_assert(fabs(y32[i] - y64[i]) <= tol * (1 + fabs(y64[i])), "op %d y[%zu]: %.9g vs %.9g",
                  (int)op, i, y32[i], y64[i]);
        cr_assert(fabs(gx32[i] - gx64[i]) <= tol * (1 + fabs(gx64[i])),
                  "op %d gx[%zu]: %.9g vs %.9g", (int)op, i, gx32[i], gx64[i]);
    }
    for (size_t i = 0; i < nwb; i++) {
        cr_assert(fabs(gw32[i] - gw64[i]) <= tol * (1 + fabs(gw64[i])), "gw[%zu]", i);
        cr_assert(fabs(gb32[i] - gb64[i]) <= tol * (1 + fabs(gb64[i])), "gb[%zu]", i);
    }
    free(buf);
    free(xv);
    free(wv);
    free(bv);
    free(rmv);
}

Test(layer_norm, float32_matches_float64_values_and_gradients)
{
    static const shape s[] = {{2, {6, 33}}, {3, {2, 3, 7}}, {4, {2, 3, 4, 5}}};
    compare_dtypes(OP_LN, &s[0], 1, 0, 1e-5);
    compare_dtypes(OP_LN, &s[1], 2, 0, 1e-5);
    compare_dtypes(OP_LN, &s[2], 3, 0, 1e-5);
}

/* A mean of 1000 with spread 1: a one-pass E[x^2] - E[x]^2 in float would
 * lose the variance; two passes in double keep it. */
Test(layer_norm, float32_stays_accurate_on_a_large_mean)
{
    static const shape s = {2, {4, 100}};
    compare_dtypes(OP_LN, &s, 1, 1000.0, 2e-3);
}

Test(batch_norm, float32_matches_float64_values_and_gradients)
{
    static const shape s[] = {{2, {16, 5}}, {4, {4, 3, 5, 7}}, {3, {3, 2, 11}}};
    for (size_t i = 0; i < 3; i++) {
        compare_dtypes(OP_BN_TRAIN, &s[i], 0, 0, 1e-5);
        compare_dtypes(OP_BN_EVAL, &s[i], 0, 0, 1e-5);
    }
    compare_dtypes(OP_BN_TRAIN, &s[1], 0, 1000.0, 2e-3);
}

/* ---- errors */

static ad_tape *fresh(ad_tensor *x, ad_dtype dt, size_t nd, const size_t *dims)
{
    ad_tape *t = ad_tape_new();
    *x = ad_tensor_ones(t, dt, nd, dims);
    return t;
}

Test(layer_norm, rejects_a_bad_k_or_eps_naming_the_values)
{
    ad_tensor x;
    ad_tape *t = fresh(&x, AD_F64, 2, (size_t[]){2, 4});
    cr_assert(!ad_tensor_ok(ad_layer_norm(x, 0, AD_TENSOR_NONE, AD_TENSOR_NONE, 1e-5)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_layer_norm: k is 0; x [2,4] has 2 dims, so k must");
    ad_tape_free(t);
    t = fresh(&x, AD_F64, 2, (size_t[]){2, 4});
    ad_layer_norm(x, 3, AD_TENSOR_NONE, AD_TENSOR_NONE, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "k is 3; x [2,4] has 2 dims, so k must be in [1, 2]");
    ad_tape_free(t);
    const double bad[] = {0.0, -1e-5, (double)NAN, (double)INFINITY};
    const char *says[] = {"eps is 0;", "eps is -1e-05;", "eps is nan;", "eps is inf;"};
    for (size_t i = 0; i < 4; i++) {
        t = fresh(&x, AD_F64, 2, (size_t[]){2, 4});
        ad_layer_norm(x, 1, AD_TENSOR_NONE, AD_TENSOR_NONE, bad[i]);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, says[i]);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "it must be > 0 and finite");
        ad_tape_free(t);
    }
}

Test(layer_norm, rejects_weight_and_bias_of_the_wrong_shape_or_dtype)
{
    ad_tensor x;
    ad_tape *t = fresh(&x, AD_F64, 3, (size_t[]){2, 3, 4});
    ad_tensor w = ad_tensor_ones(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_layer_norm(x, 1, w, AD_TENSOR_NONE, 1e-5)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_layer_norm: weight has shape [3]; expected [4] (the last 1 dims of x "
                      "[2,3,4])");
    ad_tape_free(t);
    t = fresh(&x, AD_F64, 3, (size_t[]){2, 3, 4});
    ad_tensor b = ad_tensor_ones(t, AD_F64, 1, (size_t[]){12});
    ad_layer_norm(x, 2, AD_TENSOR_NONE, b, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "bias has shape [12]; expected [3,4]");
    ad_tape_free(t);
    t = fresh(&x, AD_F64, 2, (size_t[]){2, 4});
    w = ad_tensor_ones(t, AD_F32, 1, (size_t[]){4});
    ad_layer_norm(x, 1, w, AD_TENSOR_NONE, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_layer_norm: dtypes differ");
    ad_tape_free(t);
}

Test(batch_norm, rejects_bad_shapes_for_x_weight_bias_and_running_statistics)
{
    ad_tensor x;
    ad_tape *t = fresh(&x, AD_F64, 1, (size_t[]){5});
    ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, true, 0.1, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_batch_norm: x must be [N,C] or [N,C,...], got [5]");
    ad_tape_free(t);

    t = fresh(&x, AD_F64, 4, (size_t[]){2, 3, 4, 4});
    ad_tensor w = ad_tensor_ones(t, AD_F64, 1, (size_t[]){4});
    ad_batch_norm(x, w, AD_TENSOR_NONE, NULL, NULL, true, 0.1, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_batch_norm: weight has shape [4]; expected [3] (the channels of x "
                      "[2,3,4,4])");
    ad_tape_free(t);

    t = fresh(&x, AD_F64, 2, (size_t[]){2, 3});
    ad_tensor b = ad_tensor_ones(t, AD_F64, 2, (size_t[]){1, 3});
    ad_batch_norm(x, AD_TENSOR_NONE, b, NULL, NULL, true, 0.1, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "bias has shape [1,3]; expected [3]");
    ad_tape_free(t);

    ad_param *r3 = ad_param_new(AD_F64, 1, (size_t[]){3}),
             *r2 = ad_param_new(AD_F64, 1, (size_t[]){2});
    ad_param *r3f = ad_param_new(AD_F32, 1, (size_t[]){3});
    t = fresh(&x, AD_F64, 2, (size_t[]){2, 3});
    ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, r3, r2, true, 0.1, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_batch_norm: running_var has shape [2]; expected [3] (the channels of x "
                      "[2,3])");
    ad_tape_free(t);
    t = fresh(&x, AD_F64, 2, (size_t[]){2, 3});
    ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, r3f, r3, true, 0.1, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_batch_norm: running_mean is float32; x is float64");
    ad_tape_free(t);
    t = fresh(&x, AD_F64, 2, (size_t[]){2, 3});
    ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, r3, NULL, true, 0.1, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "running_mean is given but running_var is NULL");
    ad_tape_free(t);
    ad_param_free(r3);
    ad_param_free(r2);
    ad_param_free(r3f);
}

Test(batch_norm, rejects_training_on_one_value_per_channel_and_evaluation_without_statistics)
{
    ad_tensor x;
    ad_tape *t = fresh(&x, AD_F64, 2, (size_t[]){1, 3});
    cr_assert(!ad_tensor_ok(
        ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, true, 0.1, 1e-5)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_batch_norm: training needs more than one value per channel, got 1 (x "
                      "[1,3])");
    ad_tape_free(t);
    t = fresh(&x, AD_F64, 4, (size_t[]){1, 3, 1, 1});
    ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, true, 0.1, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "got 1 (x [1,3,1,1])");
    ad_tape_free(t);
    /* one sample with several values per channel is fine, and so is a
     * batch of one in evaluation */
    ad_param *rm = ad_param_new(AD_F64, 1, (size_t[]){3}),
             *rv = ad_param_new(AD_F64, 1, (size_t[]){3});
    t = fresh(&x, AD_F64, 3, (size_t[]){1, 3, 2});
    cr_assert(ad_tensor_ok(
        ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, true, 0.1, 1e-5)));
    ad_tape_free(t);
    t = fresh(&x, AD_F64, 2, (size_t[]){1, 3});
    cr_assert(
        ad_tensor_ok(ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, rm, rv, false, 0.1, 1e-5)));
    ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, false, 0.1, 1e-5);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_batch_norm: evaluation (training false) needs running_mean and "
                      "running_var");
    ad_tape_free(t);
    ad_param_free(rm);
    ad_param_free(rv);
}

Test(batch_norm, rejects_a_bad_eps_or_momentum_naming_the_value)
{
    const double eps[] = {0.0, -1.0, (double)NAN};
    const char *eps_says[] = {"ad_batch_norm: eps is 0;", "eps is -1;", "eps is nan;"};
    for (size_t i = 0; i < 3; i++) {
        ad_tensor x;
        ad_tape *t = fresh(&x, AD_F32, 2, (size_t[]){4, 3});
        ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, true, 0.1, eps[i]);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, eps_says[i]);
        ad_tape_free(t);
    }
    const double mom[] = {-0.1, 1.5, (double)NAN};
    const char *mom_says[] = {"momentum is -0.1; it must be in [0, 1]", "momentum is 1.5;",
                              "momentum is nan;"};
    for (size_t i = 0; i < 3; i++) {
        ad_tensor x;
        ad_tape *t = fresh(&x, AD_F32, 2, (size_t[]){4, 3});
        ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, true, mom[i], 1e-5);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, mom_says[i]);
        ad_tape_free(t);
    }
}

/* A failed tape makes both ops do nothing; the running statistics stay. */
Test(batch_norm, does_nothing_on_a_failed_tape)
{
    ad_param *rm = ad_param_new(AD_F32, 1, (size_t[]){3}),
             *rv = ad_param_new(AD_F32, 1, (size_t[]){3});
    ad_tensor x;
    ad_tape *t = fresh(&x, AD_F32, 2, (size_t[]){4, 3});
    ad_tensor bad = ad_layer_norm(x, 5, AD_TENSOR_NONE, AD_TENSOR_NONE, 1e-5);
    cr_assert(!ad_tensor_ok(ad_batch_norm(x, AD_TENSOR_NONE, bad, rm, rv, true, 1.0, 1e-5)));
    cr_assert(
        !ad_tensor_ok(ad_batch_norm(x, AD_TENSOR_NONE, AD_TENSOR_NONE, rm, rv, true, 1.0, 1e-5)));
    cr_assert_eq(((float *)ad_param_value(rm))[0], 0.0f);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_layer_norm: k is 5");
    ad_tape_free(t);
    ad_param_free(rm);
    ad_param_free(rv);
}

/* Empty tensors: nothing to normalise, nothing to fail. */
Test(layer_norm, empty_inputs_give_empty_outputs)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){0, 4}, NULL);
    ad_tensor y = ad_layer_norm(x, 1, AD_TENSOR_NONE, AD_TENSOR_NONE, 1e-5);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert_eq(ad_tensor_numel(y), 0);
    ad_tensor z = ad_batch_norm(ad_tensor_variable(t, AD_F64, 2, (size_t[]){5, 0}, NULL),
                                AD_TENSOR_NONE, AD_TENSOR_NONE, NULL, NULL, true, 0.1, 1e-5);
    cr_assert(ad_tensor_ok(z), "%s", test_tape_msg(t));
    ad_tape_free(t);
}
