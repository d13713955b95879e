/* SPDX-License-Identifier: MIT
 * sum, mean and max over all elements and along each axis: gradients against
 * central differences, values against naive loops, float32 accuracy, empty
 * tensors, first-maximum tie breaking, and every error. */
#include "common.h"
#include "op_helpers.h"

#include <math.h>
#include <stdlib.h>

enum red_op { SUM, MEAN, MAX };

typedef struct red_case {
    enum red_op op;
    size_t nd, dims[4];
    bool all; /* over all elements; else along axis */
    int axis;
    bool keepdim;
} red_case;

static ad_tensor apply(const red_case *c, ad_tensor x)
{
    if (c->all) return c->op == SUM ? ad_sum(x) : c->op == MEAN ? ad_mean(x) : ad_max(x);
    if (c->op == SUM) return ad_sum_axis(x, c->axis, c->keepdim);
    if (c->op == MEAN) return ad_mean_axis(x, c->axis, c->keepdim);
    return ad_max_axis(x, c->axis, c->keepdim);
}

static ad_tensor reduce_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    return weighted_sum(apply(ctx, ad_param_use(t, p[0])), 29);
}

/* Max needs its maximum clear of the runner-up by much more than the
 * difference step: a permutation of multiples of 0.37 has no ties. */
static void spread_out(ad_param *p)
{
    double *v = ad_param_value(p);
    size_t n = ad_param_numel(p);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)((i * 7919) % n) * 0.37 - 0.185 * (double)n;
}

static void check_reduce(red_case c)
{
    ad_param *p[1] = {test_param(c.nd, c.dims, -1, 1, 60 + (uint64_t)c.nd)};
    if (c.op == MAX) spread_out(p[0]);
    ASSERT_GRADCHECK(reduce_graph, p, 1, &c, NULL);
    ad_param_free(p[0]);
}

static const size_t shapes[][5] = {
    /* nd, dims */
    {1, 1},       {1, 7},          {2, 1, 1},  {2, 3, 5},
    {3, 2, 3, 4}, {4, 2, 1, 3, 2}, {2, 2, 19}, /* a last axis past the eight running sums, with a
                                                  tail */
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static void check_all_elements(enum red_op op)
{
    for (size_t s = 0; s < N_SHAPES; s++) {
        red_case c = {op, shapes[s][0], {0}, true, 0, false};
        memcpy(c.dims, shapes[s] + 1, 4 * sizeof(size_t));
        check_reduce(c);
    }
}

/* Every axis, as a positive and as a negative number, with and without keepdim. */
static void check_every_axis(enum red_op op)
{
    for (size_t s = 0; s < N_SHAPES; s++) {
        int nd = (int)shapes[s][0];
        for (int a = -nd; a < nd; a++)
            for (int keep = 0; keep < 2; keep++) {
                red_case c = {op, (size_t)nd, {0}, false, a, keep};
                memcpy(c.dims, shapes[s] + 1, 4 * sizeof(size_t));
                check_reduce(c);
            }
    }
}

Test(reduce, sum_gradient_matches_central_differences_over_all_elements)
{
    check_all_elements(SUM);
}

Test(reduce, mean_gradient_matches_central_differences_over_all_elements)
{
    check_all_elements(MEAN);
}

Test(reduce, max_gradient_matches_central_differences_over_all_elements)
{
    check_all_elements(MAX);
}

GRADCHECK_TEST(reduce, sum_axis_gradient_matches_central_differences_for_every_axis_and_keepdim,
               AD_OP_SUM)
{
    check_every_axis(SUM);
}

GRADCHECK_TEST(reduce, mean_axis_gradient_matches_central_differences_for_every_axis_and_keepdim,
               AD_OP_MEAN)
{
    check_every_axis(MEAN);
}

GRADCHECK_TEST(reduce, max_axis_gradient_matches_central_differences_for_every_axis_and_keepdim,
               AD_OP_MAX)
{
    check_every_axis(MAX);
}

Test(reduce, sum_and_mean_gradients_match_central_differences_for_empty_tensors)
{
    check_reduce((red_case){SUM, 2, {0, 3}, true, 0, false});
    check_reduce((red_case){SUM, 2, {0, 3}, false, 0, false});
    check_reduce((red_case){SUM, 2, {3, 0}, false, 0, true});
    check_reduce((red_case){MEAN, 2, {3, 0}, false, 0, false}); /* output [0] */
}

/* ------------------------------------------------------------- forward */

/* The reduction of x (shape nd, dims) along axis by naive loops, in double. */
static void naive_reduce(enum red_op op, size_t nd, const size_t *dims, size_t axis,
                         const double *x, double *y)
{
    size_t outer = 1, inner = 1, n = dims[axis];
    for (size_t d = 0; d < axis; d++)
        outer *= dims[d];
    for (size_t d = axis + 1; d < nd; d++)
        inner *= dims[d];
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            double acc = op == MAX ? -(double)INFINITY : 0.0;
            for (size_t j = 0; j < n; j++) {
                double v = x[(o * n + j) * inner + i];
                acc = op == MAX ? fmax(acc, v) : acc + v;
            }
            y[o * inner + i] = op == MEAN ? acc / (double)n : acc;
        }
}

Test(reduce, axis_reductions_match_naive_loops_with_the_expected_shapes)
{
    size_t dims[4] = {2, 3, 4, 5};
    double *x = random_values(120, 120), want[60];
    ad_tape *t = ad_tape_new();
    ad_tensor tx = tensor_from(t, AD_F64, 4, dims, x, false);
    for (int op = SUM; op <= MAX; op++)
        for (size_t a = 0; a < 4; a++)
            for (int keep = 0; keep < 2; keep++) {
                red_case c = {(enum red_op)op, 4, {0}, false, (int)a, keep};
                ad_tensor y = apply(&c, tx);
                size_t yd[4];
                cr_assert_eq(ad_tensor_shape(y, yd), keep ? 4u : 3u);
                for (size_t d = 0, e = 0; d < 4; d++) {
                    if (d == a && !keep) continue;
                    cr_assert_eq(yd[e++], d == a ? 1 : dims[d]);
                }
                naive_reduce((enum red_op)op, 4, dims, a, x, want);
                size_t n = 120 / dims[a];
                cr_assert_eq(ad_tensor_numel(y), n);
                ASSERT_CLOSE_ARRAY((const double *)ad_tensor_data(y), want, n, 1e-14, 1e-14);
            }
    ad_tape_free(t);
    free(x);
}

Test(reduce, all_element_reductions_give_shape_one_and_match_naive_loops)
{
    double *x = random_values(30, 121), want[1];
    ad_tape *t = ad_tape_new();
    ad_tensor tx = tensor_from(t, AD_F64, 2, (size_t[]){5, 6}, x, false);
    for (int op = SUM; op <= MAX; op++) {
        red_case c = {(enum red_op)op, 2, {0}, true, 0, false};
        ad_tensor y = apply(&c, tx);
        size_t yd[4];
        cr_assert_eq(ad_tensor_shape(y, yd), 1);
        cr_assert_eq(yd[0], 1);
        naive_reduce((enum red_op)op, 1, (size_t[]){30}, 0, x, want);
        cr_assert_float_eq(ad_tensor_get(y, 0), want[0], 1e-14);
    }
    ad_tape_free(t);
    free(x);
}

Test(reduce, a_one_dimensional_axis_reduction_without_keepdim_gives_shape_one)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, (double[]){1, 2, 4});
    ad_tensor y = ad_sum_axis(x, -1, false);
    size_t d[4];
    cr_assert_eq(ad_tensor_shape(y, d), 1);
    cr_assert_eq(d[0], 1);
    cr_assert_eq(ad_tensor_get(y, 0), 7.0);
    cr_assert_eq(ad_tensor_get(ad_mean_axis(x, 0, true), 0), 7.0 / 3.0);
    cr_assert_eq(ad_tensor_get(ad_max_axis(x, 0, false), 0), 4.0);
    ad_tape_free(t);
}

Test(reduce, empty_tensors_sum_to_zero_and_average_to_nan)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){0, 3});
    cr_assert_eq(ad_tensor_get(ad_sum(x), 0), 0.0);
    cr_assert(isnan(ad_tensor_get(ad_mean(x), 0)));
    ad_tensor s0 = ad_sum_axis(x, 0, false), m0 = ad_mean_axis(x, 0, true);
    cr_assert_eq(ad_tensor_numel(s0), 3);
    cr_assert_eq(ad_tensor_numel(m0), 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(ad_tensor_get(s0, i), 0.0);
        cr_assert(isnan(ad_tensor_get(m0, i)));
    }
    cr_assert_eq(ad_tensor_numel(ad_sum_axis(x, 1, false)), 0);
    cr_assert_eq(ad_tensor_numel(ad_max_axis(x, 1, false)), 0);
    ad_tensor d = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){0});
    cr_assert_eq(ad_tensor_get(ad_sum(d), 0), 0.0);
    cr_assert(isnan(ad_tensor_get(ad_mean(d), 0)));
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

/* ----------------------------------------------------------- max ties */

Test(reduce, max_sends_the_gradient_to_the_first_maximum_only)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){3, 1, 3});
    ad_tensor y = ad_max(x);
    cr_assert_eq(ad_tensor_get(y, 0), 3.0);
    cr_assert_eq(ad_backward(y), AD_OK);
    const double *g = ad_tensor_grad(x);
    cr_assert(g[0] == 1 && g[1] == 0 && g[2] == 0);

    ad_tensor m = ad_tensor_variable(t, AD_F32, 2, (size_t[]){2, 3}, (float[]){1, 5, 5, 2, 2, 0});
    ad_tensor r = ad_max_axis(m, 1, false);
    cr_assert(ad_tensor_get(r, 0) == 5 && ad_tensor_get(r, 1) == 2);
    cr_assert_eq(ad_backward_seeded(r, (double[]){10, 20}), AD_OK);
    const float *gm = ad_tensor_grad(m);
    float want[6] = {0, 10, 0, 20, 0, 0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(gm[i], want[i], "element %d", i);

    ad_tensor c = ad_max_axis(m, 0, true); /* columns: (1,2) (5,2) (5,0) */
    cr_assert_eq(ad_backward_seeded(c, (double[]){1, 2, 3}), AD_OK);
    float wantc[6] = {0, 2, 3, 1, 0, 0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(gm[i], wantc[i], "element %d", i);
    ad_tape_free(t);
}

Test(reduce, max_propagates_nan)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){2, 2}, (double[]){1, (double)NAN, 3, 2});
    cr_assert(isnan(ad_tensor_get(ad_max(x), 0)));
    ad_tensor r = ad_max_axis(x, 1, false);
    cr_assert(isnan(ad_tensor_get(r, 0)));
    cr_assert_eq(ad_tensor_get(r, 1), 3.0);
    ad_tape_free(t);
}

/* ------------------------------------------------ float32 against float64 */

/* Along the last axis the sum runs eight partial sums and a tail: every
 * length from 0 to 40 (each tail length, several rounds), both dtypes, sum
 * and mean, against naive loops; the gradient is the seed spread back (/ n). */
Test(reduce, last_axis_sums_of_every_length_match_naive_loops_with_their_gradients)
{
    for (size_t n = 0; n <= 40; n++)
        for (int dbl = 0; dbl <= 1; dbl++)
            for (int op = SUM; op <= MEAN; op++) {
                size_t dims[2] = {3, n};
                double *x = random_values(3 * n + 1, 140 + n), want[3], seed[3] = {0.5, -2, 3};
                if (!dbl)
                    for (size_t i = 0; i < 3 * n; i++)
                        x[i] = (double)(float)x[i];
                ad_tape *t = ad_tape_new();
                ad_tensor tx = tensor_from(t, dbl ? AD_F64 : AD_F32, 2, dims, x, true);
                ad_tensor y = op == SUM ? ad_sum_axis(tx, 1, false) : ad_mean_axis(tx, 1, false);
                naive_reduce((enum red_op)op, 2, dims, 1, x, want);
                for (size_t k = 0; k < 3; k++) {
                    double got = ad_tensor_get(y, k), tol = dbl ? 1e-14 : 2e-7;
                    if (n == 0 && op == MEAN)
                        cr_assert(isnan(got), "mean of an empty row: %g", got);
                    else
                        cr_assert(fabs(got - want[k]) <= tol * (1 + fabs(want[k])),
                                  "%s %s n=%zu row %zu: %.17g vs %.17g", dbl ? "f64" : "f32",
                                  op == SUM ? "sum" : "mean", n, k, got, want[k]);
                }
                cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
                const void *gx = ad_tensor_grad(tx);
                for (size_t k = 0; k < 3; k++)
                    for (size_t j = 0; j < n; j++) {
                        double want_g = seed[k] / (op == MEAN ? (double)n : 1.0);
                        double got_g = dbl ? ((const double *)gx)[k * n + j]
                                           : (double)((const float *)gx)[k * n + j];
                        cr_assert_float_eq(got_g, want_g, 1e-7 * fabs(want_g), "n=%zu [%zu,%zu]", n,
                                           k, j);
                    }
                ad_tape_free(t);
                free(x);
            }
}

/* A float32 sum of many values stays within one float rounding of the exact
 * sum, which a float accumulator could not do; every loop shape is tried. */
Test(reduce, float32_sums_accumulate_in_double)
{
    size_t n = 100000;
    double *x = random_values(n * 3, 130);
    for (size_t i = 0; i < n * 3; i++)
        x[i] = fabs(x[i]);
    ad_tape *t = ad_tape_new();
    ad_tensor all = ad_sum(tensor_from(t, AD_F32, 1, &n, x, false));
    double exact = 0;
    for (size_t i = 0; i < n; i++)
        exact += x[i];
    cr_assert_float_eq(ad_tensor_get(all, 0), exact, 1e-7 * exact);
    ad_tensor cols = ad_sum_axis(tensor_from(t, AD_F32, 2, (size_t[]){n, 3}, x, false), 0, false);
    ad_tensor rows = ad_mean_axis(tensor_from(t, AD_F32, 2, (size_t[]){3, n}, x, false), 1, false);
    for (size_t k = 0; k < 3; k++) {
        double c = 0, r = 0;
        for (size_t i = 0; i < n; i++) {
            c += x[i * 3 + k];
            r += x[k * n + i];
        }
        cr_assert_float_eq(ad_tensor_get(cols, k), c, 1e-7 * c);
        cr_assert_float_eq(ad_tensor_get(rows, k), r / (double)n, 1e-7 * r / (double)n);
    }
    ad_tape_free(t);
    free(x);
}

Test(reduce, float32_values_and_gradients_agree_with_float64)
{
    size_t dims[3] = {4, 5, 6};
    double *x = random_values(120, 131);
    for (int op = SUM; op <= MAX; op++)
        for (int a = -1; a < 3; a++) {
            red_case c = {(enum red_op)op, 3, {4, 5, 6}, a < 0, a, a == 1};
            double y[2][120], g[2][120];
            size_t ny = 0;
            for (int k = 0; k < 2; k++) {
                ad_tape *t = ad_tape_new();
                ad_tensor tx = tensor_from(t, k ? AD_F64 : AD_F32, 3, dims, x, true);
                ad_tensor ty = apply(&c, tx);
                ny = ad_tensor_numel(ty);
                for (size_t i = 0; i < ny; i++)
                    y[k][i] = ad_tensor_get(ty, i);
                cr_assert_eq(ad_backward(weighted_sum(ty, 31)), AD_OK);
                grad_as_double(tx, g[k]);
                ad_tape_free(t);
            }
            ASSERT_CLOSE_ARRAY(y[0], y[1], ny, 1e-6, 1e-6);
            ASSERT_CLOSE_ARRAY(g[0], g[1], 120, 1e-6, 1e-6);
        }
    free(x);
}

/* ---------------------------------------------------------------- errors */

Test(reduce, max_of_an_empty_tensor_fails_and_names_the_shape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){0, 3});
    cr_assert(!ad_tensor_ok(ad_max(x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_max: empty tensor [0,3] has no maximum");
    ad_tape_free(t);
}

Test(reduce, max_along_an_empty_axis_fails_and_names_the_axis_and_shape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){0, 3});
    cr_assert(!ad_tensor_ok(ad_max_axis(x, 0, false)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_max_axis: axis 0 of shape [0,3] is empty");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){2, 0});
    ad_max_axis(x, -1, true);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_max_axis: axis 1 of shape [2,0] is empty");
    ad_tape_free(t);
}

Test(reduce, rejects_an_axis_out_of_range_and_names_the_shape)
{
    const char *msgs[3] = {"ad_sum_axis: axis 3 out of range for shape [2,3,4]",
                           "ad_mean_axis: axis -4 out of range for shape [2,3,4]",
                           "ad_max_axis: axis 7 out of range for shape [2,3,4]"};
    int axes[3] = {3, -4, 7};
    for (int op = SUM; op <= MAX; op++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = ad_tensor_zeros(t, AD_F64, 3, (size_t[]){2, 3, 4});
        red_case c = {(enum red_op)op, 3, {2, 3, 4}, false, axes[op], op == MEAN};
        cr_assert(!ad_tensor_ok(apply(&c, x)));
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, msgs[op]);
        ad_tape_free(t);
    }
}

Test(reduce, an_invalid_input_keeps_the_first_error)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){0, 3});
    ad_tensor bad = ad_max(x);
    ad_tensor s = ad_sum(ad_mean_axis(bad, 0, false));
    cr_assert(!ad_tensor_ok(s));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_max: empty tensor [0,3]");
    ad_tensor none = {0};
    cr_assert(!ad_tensor_ok(ad_sum(none)));
    ad_tape_free(t);
}
