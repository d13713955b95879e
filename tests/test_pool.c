/* SPDX-License-Identifier: MIT
 * max_pool2d, avg_pool2d and global_avg_pool2d (ops/pool.c): gradients
 * against central differences (max pooling on inputs with no ties), the
 * forward against direct loops written here, ties and NaN in max pooling,
 * padding counted or not in avg pooling, float32 against float64, errors. */
#include "op_helpers.h"

#include <stdio.h>

typedef struct pool_case {
    size_t x[4];
    ad_pool_opts o;
} pool_case;

static const pool_case cases[] = {
    {{1, 1, 4, 4}, {{2, 2}, {2, 2}, {0, 0}, false}}, /* batch 1 */
    {{2, 3, 5, 7}, {{3, 2}, {2, 1}, {1, 1}, false}}, /* odd sizes, padding */
    {{1, 2, 6, 5}, {{3, 3}, {1, 2}, {1, 0}, true}},  /* overlapping, padding excluded */
    {{3, 1, 3, 3}, {{3, 3}, {3, 3}, {0, 0}, false}}, /* one window per plane */
    {{2, 2, 7, 6}, {{2, 3}, {3, 2}, {1, 1}, true}},
    {{1, 1, 1, 1}, {{1, 1}, {1, 1}, {0, 0}, false}},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static size_t numel4(const size_t *d)
{
    return d[0] * d[1] * d[2] * d[3];
}

/* Distinct values (a scrambled ramp, spacing 1/n): no window has a tie, so
 * max pooling is differentiable at the point and central differences with a
 * small step stay on one side of every kink. */
static void distinct_values(ad_param *p)
{
    double *v = ad_param_value(p);
    size_t n = ad_param_numel(p);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)((i * 7919u + 17u) % n) / (double)n - 0.5;
}

typedef struct pool_graph_ctx {
    const pool_case *c;
    int op; /* 0 max, 1 avg */
} pool_graph_ctx;

static ad_tensor pool_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const pool_graph_ctx *g = ctx;
    ad_tensor x = ad_param_use(t, p[0]);
    return weighted_sum(g->op ? ad_avg_pool2d(x, &g->c->o) : ad_max_pool2d(x, &g->c->o), 5);
}

static void check_pool_grad(int op)
{
    for (size_t k = 0; k < N_CASES; k++) {
        ad_param *p = test_param(4, cases[k].x, -1, 1, 20 + k);
        if (op == 0) distinct_values(p);
        pool_graph_ctx g = {&cases[k], op};
        ASSERT_GRADCHECK(pool_graph, &p, 1, &g, NULL);
        ad_param_free(p);
    }
}

GRADCHECK_TEST(pool, max_pool2d_gradient_matches_central_differences_away_from_ties,
               AD_OP_MAX_POOL2D)
{
    check_pool_grad(0);
}

GRADCHECK_TEST(pool, avg_pool2d_gradient_matches_central_differences, AD_OP_AVG_POOL2D)
{
    check_pool_grad(1);
}

static ad_tensor gap_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    (void)ctx;
    return weighted_sum(ad_global_avg_pool2d(ad_param_use(t, p[0])), 3);
}

GRADCHECK_TEST(pool, global_avg_pool2d_gradient_matches_central_differences,
               AD_OP_GLOBAL_AVG_POOL2D)
{
    static const size_t shapes[][4] = {{1, 1, 1, 1}, {2, 3, 4, 5}, {1, 4, 3, 1}, {3, 2, 7, 7}};
    for (size_t k = 0; k < 4; k++) {
        ad_param *p = test_param(4, shapes[k], -1, 1, 40 + k);
        ASSERT_GRADCHECK(gap_graph, &p, 1, NULL, NULL);
        ad_param_free(p);
    }
}

/* The pooled planes by their definition: y [N,C,OH,OW]; max (first wins,
 * padding is no candidate) or mean (divisor KH KW, or the elements inside
 * the input when padding is excluded). */
static size_t naive_pool(const pool_case *c, int op, const double *x, double *y)
{
    const ad_pool_opts *o = &c->o;
    size_t H = c->x[2], W = c->x[3];
    size_t OH = (H + 2 * o->padding[0] - o->kernel[0]) / o->stride[0] + 1;
    size_t OW = (W + 2 * o->padding[1] - o->kernel[1]) / o->stride[1] + 1;
    for (size_t p = 0; p < c->x[0] * c->x[1]; p++)
        for (size_t i = 0; i < OH; i++)
            for (size_t j = 0; j < OW; j++) {
                double m = -(double)INFINITY, s = 0;
                size_t cnt = 0;
                for (size_t a = 0; a < o->kernel[0]; a++)
                    for (size_t b = 0; b < o->kernel[1]; b++) {
                        long ih = (long)(i * o->stride[0] + a) - (long)o->padding[0];
                        long iw = (long)(j * o->stride[1] + b) - (long)o->padding[1];
                        if (ih < 0 || iw < 0 || ih >= (long)H || iw >= (long)W) continue;
                        double v = x[(p * H + (size_t)ih) * W + (size_t)iw];
                        m = v > m ? v : m;
                        s += v;
                        cnt++;
                    }
                size_t div = o->exclude_padding ? cnt : o->kernel[0] * o->kernel[1];
                y[(p * OH + i) * OW + j] = op ? s / (double)div : m;
            }
    return c->x[0] * c->x[1] * OH * OW;
}

Test(pool, forward_matches_direct_loops_in_float64_and_float32)
{
    for (int op = 0; op < 2; op++)
        for (size_t k = 0; k < N_CASES; k++) {
            const pool_case *c = &cases[k];
            double *x = random_values(numel4(c->x), 60 + k), want[512];
            size_t ny = naive_pool(c, op, x, want);
            for (int f32 = 0; f32 < 2; f32++) {
                ad_tape *t = ad_tape_new();
                ad_tensor xt = tensor_from(t, f32 ? AD_F32 : AD_F64, 4, c->x, x, false);
                ad_tensor y = op ? ad_avg_pool2d(xt, &c->o) : ad_max_pool2d(xt, &c->o);
                cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
                cr_assert_eq(ad_tensor_numel(y), ny, "case %zu op %d", k, op);
                double got[512];
                for (size_t i = 0; i < ny; i++)
                    got[i] = ad_tensor_get(y, i);
                ASSERT_CLOSE_ARRAY(got, want, ny, f32 ? 1e-6 : 1e-15, f32 ? 1e-6 : 1e-15);
                ad_tape_free(t);
            }
            free(x);
        }
}

/* One 2x2 window over [[1, 3], [3, 2]]: the 3s tie and the first in
 * row-major order, (0, 1), takes the whole gradient, as in PyTorch. */
Test(pool, max_ties_send_the_whole_gradient_to_the_first_maximum)
{
    for (int f32 = 0; f32 < 2; f32++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, f32 ? AD_F32 : AD_F64, 4, (size_t[]){1, 1, 2, 2},
                                  (double[]){1, 3, 3, 2}, true);
        ad_pool_opts o = {{2, 2}, {2, 2}, {0, 0}, false};
        ad_tensor y = ad_max_pool2d(x, &o);
        cr_assert_eq(ad_tensor_get(y, 0), 3.0);
        cr_assert_eq(ad_backward(y), AD_OK, "%s", test_tape_msg(t));
        double g[4];
        grad_as_double(x, g);
        cr_assert(g[0] == 0 && g[1] == 1 && g[2] == 0 && g[3] == 0, "%g %g %g %g", g[0], g[1], g[2],
                  g[3]);
        ad_tape_free(t);
    }
}

/* A NaN in a window wins (it propagates) and takes the gradient; padding
 * never wins, even over negative values. Both paths: with and without
 * padding. */
Test(pool, max_lets_nan_win_and_never_picks_padding)
{
    for (int pad = 0; pad < 2; pad++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, AD_F64, 4, (size_t[]){1, 1, 2, 2},
                                  (double[]){-5, (double)NAN, -2, -1}, true);
        ad_pool_opts o = {{2, 2}, {2, 2}, {(size_t)pad, (size_t)pad}, false};
        ad_tensor y = ad_max_pool2d(x, &o);
        cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
        if (pad) { /* 2x2 outputs, each window holds one element */
            cr_assert_eq(ad_tensor_numel(y), 4);
            cr_assert_eq(ad_tensor_get(y, 0), -5.0);
            cr_assert(isnan(ad_tensor_get(y, 1)));
            cr_assert_eq(ad_tensor_get(y, 3), -1.0);
        } else {
            cr_assert(isnan(ad_tensor_get(y, 0)));
        }
        cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
        double g[4];
        grad_as_double(x, g);
        cr_assert_eq(g[1], 1.0);
        cr_assert_eq(g[0], pad ? 1.0 : 0.0);
        ad_tape_free(t);
    }
}

/* 3x3 windows, padding 1 on a 2x2 plane of ones: each window holds four
 * ones; counting padding divides by 9, excluding it by 4. */
Test(pool, avg_counts_padding_by_default_and_excludes_it_on_request)
{
    for (int ex = 0; ex < 2; ex++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x =
            ad_tensor_variable(t, AD_F64, 4, (size_t[]){1, 1, 2, 2}, (double[]){1, 1, 1, 1});
        ad_pool_opts o = {{3, 3}, {1, 1}, {1, 1}, ex != 0};
        ad_tensor y = ad_avg_pool2d(x, &o);
        cr_assert_eq(ad_tensor_numel(y), 4);
        for (size_t i = 0; i < 4; i++)
            cr_assert_float_eq(ad_tensor_get(y, i), ex ? 1.0 : 4.0 / 9.0, 1e-15);
        cr_assert_eq(ad_backward(ad_sum(y)), AD_OK);
        const double *g = ad_tensor_grad(x);
        for (size_t i = 0; i < 4; i++) /* each element sits in all four windows */
            cr_assert_float_eq(g[i], ex ? 1.0 : 4.0 / 9.0, 1e-15);
        ad_tape_free(t);
    }
}

Test(pool, global_avg_pool2d_gives_channel_means_as_n_by_c)
{
    double v[12];
    for (size_t i = 0; i < 12; i++)
        v[i] = (double)i;
    for (int f32 = 0; f32 < 2; f32++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, f32 ? AD_F32 : AD_F64, 4, (size_t[]){2, 2, 1, 3}, v, false);
        ad_tensor y = ad_global_avg_pool2d(x);
        size_t d[4];
        cr_assert_eq(ad_tensor_shape(y, d), 2);
        cr_assert(d[0] == 2 && d[1] == 2);
        for (size_t i = 0; i < 4; i++)
            cr_assert_float_eq(ad_tensor_get(y, i), 3.0 * (double)i + 1.0, 1e-6);
        ad_tape_free(t);
    }
}

/* float32 gradients of both window pools against float64 ones. */
Test(pool, float32_gradients_follow_float64)
{
    const pool_case *c = &cases[1];
    size_t n = numel4(c->x);
    double *x = random_values(n, 9);
    for (int op = 0; op < 2; op++) {
        double g[2][256];
        for (int f32 = 0; f32 < 2; f32++) {
            ad_tape *t = ad_tape_new();
            ad_tensor xt = tensor_from(t, f32 ? AD_F32 : AD_F64, 4, c->x, x, true);
            ad_tensor y = op ? ad_avg_pool2d(xt, &c->o) : ad_max_pool2d(xt, &c->o);
            cr_assert_eq(ad_backward(weighted_sum(y, 2)), AD_OK, "%s", test_tape_msg(t));
            grad_as_double(xt, g[f32]);
            ad_tape_free(t);
        }
        ASSERT_CLOSE_ARRAY(g[1], g[0], n, 1e-6, 1e-6);
    }
    free(x);
}

static void expect_pool_error(int op, size_t nd, const size_t *xd, ad_pool_opts o, ad_status code,
                              const char *needle)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, nd, xd);
    ad_tensor y = op ? ad_avg_pool2d(x, &o) : ad_max_pool2d(x, &o);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, code, needle);
    ASSERT_TAPE_ERROR(t, code, op ? "ad_avg_pool2d" : "ad_max_pool2d");
    ad_tape_free(t);
}

Test(pool, bad_windows_fail_naming_the_op_and_the_values)
{
    const size_t x[4] = {2, 3, 5, 5};
    for (int op = 0; op < 2; op++) {
        expect_pool_error(op, 4, x, (ad_pool_opts){{0, 2}, {1, 1}, {0, 0}, false}, AD_ERR_INVALID,
                          "kernel height 0");
        expect_pool_error(op, 4, x, (ad_pool_opts){{2, 2}, {1, 0}, {0, 0}, false}, AD_ERR_INVALID,
                          "stride width 0");
        expect_pool_error(op, 4, x, (ad_pool_opts){{3, 3}, {1, 1}, {0, 2}, false}, AD_ERR_INVALID,
                          "padding width 2 is over half the kernel 3 (at most 1)");
        expect_pool_error(op, 4, x, (ad_pool_opts){{6, 2}, {1, 1}, {0, 0}, false}, AD_ERR_SHAPE,
                          "kernel height 6 is larger than the padded input 5");
        expect_pool_error(op, 3, x, (ad_pool_opts){{2, 2}, {1, 1}, {0, 0}, false}, AD_ERR_SHAPE,
                          "x must be [N,C,H,W], got [2,3,5]");
        expect_pool_error(op, 4, (size_t[]){2, 3, 0, 5},
                          (ad_pool_opts){{1, 1}, {1, 1}, {0, 0}, false}, AD_ERR_SHAPE,
                          "x [2,3,0,5] has empty planes");
    }
    ad_tape *t = ad_tape_new();
    cr_assert(!ad_tensor_ok(ad_max_pool2d(ad_tensor_zeros(t, AD_F32, 4, x), NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_max_pool2d: opts is NULL");
    ad_tape_free(t);
    t = ad_tape_new();
    cr_assert(!ad_tensor_ok(ad_global_avg_pool2d(ad_tensor_zeros(t, AD_F32, 2, x))));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_global_avg_pool2d: x must be [N,C,H,W], got [2,3]");
    ad_tape_free(t);
}

Test(pool, an_empty_batch_pools_to_an_empty_output)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 4, (size_t[]){0, 3, 4, 4}, NULL);
    ad_pool_opts o = {{2, 2}, {2, 2}, {0, 0}, false};
    ad_tensor y = ad_max_pool2d(x, &o), z = ad_avg_pool2d(x, &o), g = ad_global_avg_pool2d(x);
    cr_assert(ad_tensor_ok(y) && ad_tensor_ok(z) && ad_tensor_ok(g), "%s", test_tape_msg(t));
    cr_assert_eq(ad_tensor_numel(y) + ad_tensor_numel(z) + ad_tensor_numel(g), 0);
    cr_assert_eq(ad_backward(ad_sum(ad_tadd(ad_sum(y), ad_sum(g)))), AD_OK, "%s", test_tape_msg(t));
    ad_tape_free(t);
}
