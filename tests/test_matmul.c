/* SPDX-License-Identifier: MIT
 * matmul and linear: gradients against central differences, values against
 * naive loops, float32 against float64, empty sizes, and every error. */
#include "common.h"
#include "op_helpers.h"

#include "core/tape.h"

#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------ gradchecks */

typedef struct mm_case {
    size_t nd;
    size_t a[3], b[3];
} mm_case;

static ad_tensor matmul_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    (void)ctx;
    return weighted_sum(ad_matmul(ad_param_use(t, p[0]), ad_param_use(t, p[1])), 11);
}

static void check_matmul(mm_case c)
{
    ad_param *p[2] = {test_param(c.nd, c.a, -1, 1, 1), test_param(c.nd, c.b, -1, 1, 2)};
    ASSERT_GRADCHECK(matmul_graph, p, 2, NULL, NULL);
    ad_param_free(p[0]);
    ad_param_free(p[1]);
}

Test(matmul, gradient_matches_central_differences_for_one_by_one_matrices)
{
    check_matmul((mm_case){2, {1, 1}, {1, 1}});
}

GRADCHECK_TEST(matmul, gradient_matches_central_differences_for_odd_sizes, AD_OP_MATMUL)
{
    check_matmul((mm_case){2, {3, 5}, {5, 2}});
    check_matmul((mm_case){2, {7, 1}, {1, 3}});
    check_matmul((mm_case){2, {1, 7}, {7, 1}});
}

Test(matmul, gradient_matches_central_differences_for_batched_products)
{
    check_matmul((mm_case){3, {2, 3, 4}, {2, 4, 5}});
    check_matmul((mm_case){3, {1, 1, 1}, {1, 1, 1}});
    check_matmul((mm_case){3, {3, 1, 2}, {3, 2, 1}});
}

Test(matmul, gradient_matches_central_differences_for_empty_sizes)
{
    check_matmul((mm_case){2, {0, 3}, {3, 2}}); /* M = 0 */
    check_matmul((mm_case){2, {3, 0}, {0, 2}}); /* K = 0 */
    check_matmul((mm_case){2, {3, 2}, {2, 0}}); /* N = 0 */
    check_matmul((mm_case){3, {0, 2, 3}, {0, 3, 2}});
}

static ad_tensor square_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    (void)ctx;
    ad_tensor a = ad_param_use(t, p[0]);
    return weighted_sum(ad_matmul(a, a), 5);
}

Test(matmul, gradient_accumulates_when_both_operands_are_the_same_tensor)
{
    ad_param *p[1] = {test_param(2, (size_t[]){4, 4}, -1, 1, 3)};
    ASSERT_GRADCHECK(square_graph, p, 1, NULL, NULL);
    ad_param_free(p[0]);
}

static void check_linear(linear_case c)
{
    check_linear_case(ad_linear, c);
}

GRADCHECK_TEST(linear, gradient_matches_central_differences_with_bias, AD_OP_LINEAR)
{
    check_linear((linear_case){2, {4, 3}, {5, 3}, true});
    check_linear((linear_case){2, {1, 1}, {1, 1}, true});
    check_linear((linear_case){2, {3, 7}, {1, 7}, true});
}

Test(linear, gradient_matches_central_differences_without_bias)
{
    check_linear((linear_case){2, {4, 3}, {5, 3}, false});
    check_linear((linear_case){2, {1, 1}, {1, 1}, false});
}

Test(linear, gradient_matches_central_differences_for_a_one_dimensional_input)
{
    check_linear((linear_case){1, {3}, {5, 3}, true});
    check_linear((linear_case){1, {3}, {5, 3}, false});
    check_linear((linear_case){1, {1}, {1, 1}, true});
}

Test(linear, gradient_matches_central_differences_for_empty_sizes)
{
    check_linear((linear_case){2, {2, 0}, {3, 0}, true}); /* In = 0: y is the bias */
    check_linear((linear_case){2, {0, 3}, {4, 3}, true}); /* B = 0 */
    check_linear((linear_case){2, {2, 3}, {0, 3}, true}); /* Out = 0 */
    check_linear((linear_case){1, {0}, {2, 0}, true});
}

/* -------------------------------------------------------- forward values */

Test(matmul, computes_a_two_by_two_product_by_hand)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_new(t, AD_F64, 2, (size_t[]){2, 2}, (double[]){1, 2, 3, 4});
    ad_tensor b = ad_tensor_new(t, AD_F64, 2, (size_t[]){2, 2}, (double[]){5, 6, 7, 8});
    ad_tensor c = ad_matmul(a, b);
    const double *v = ad_tensor_data(c);
    cr_assert_not_null(v);
    cr_assert(v[0] == 19 && v[1] == 22 && v[2] == 43 && v[3] == 50);
    ad_tape_free(t);
}

static void naive_matmul(const double *a, const double *b, double *c, size_t batch, size_t m,
                         size_t k, size_t n)
{
    for (size_t p = 0; p < batch; p++)
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t q = 0; q < k; q++)
                    s += a[(p * m + i) * k + q] * b[(p * k + q) * n + j];
                c[(p * m + i) * n + j] = s;
            }
}

Test(matmul, matches_naive_loops_plain_and_batched)
{
    size_t shapes[][4] = {{1, 3, 5, 2}, {1, 7, 1, 3}, {2, 3, 4, 5}, {3, 6, 9, 4}};
    for (size_t s = 0; s < 4; s++) {
        size_t bt = shapes[s][0], m = shapes[s][1], k = shapes[s][2], n = shapes[s][3];
        double *a = random_values(bt * m * k, 20 + s), *b = random_values(bt * k * n, 40 + s);
        double *want = malloc(bt * m * n * sizeof *want);
        naive_matmul(a, b, want, bt, m, k, n);
        ad_tape *t = ad_tape_new();
        size_t nd = s == 2 || s == 3 ? 3 : 2;
        size_t da[3] = {bt, m, k}, db[3] = {bt, k, n};
        ad_tensor c = ad_matmul(tensor_from(t, AD_F64, nd, da + 3 - nd, a, false),
                                tensor_from(t, AD_F64, nd, db + 3 - nd, b, false));
        size_t dims[4];
        cr_assert_eq(ad_tensor_shape(c, dims), nd);
        cr_assert_eq(ad_tensor_numel(c), bt * m * n);
        cr_assert_eq(dims[nd - 2], m);
        cr_assert_eq(dims[nd - 1], n);
        ASSERT_CLOSE_ARRAY((const double *)ad_tensor_data(c), want, bt * m * n, 1e-14, 1e-13);
        ad_tape_free(t);
        free(a);
        free(b);
        free(want);
    }
}

Test(matmul, gives_zeros_for_an_empty_inner_dimension_and_empty_results_for_empty_rows)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_new(t, AD_F32, 2, (size_t[]){3, 0}, NULL);
    ad_tensor b = ad_tensor_new(t, AD_F32, 2, (size_t[]){0, 2}, NULL);
    ad_tensor c = ad_matmul(a, b);
    size_t dims[4];
    cr_assert_eq(ad_tensor_shape(c, dims), 2);
    cr_assert(dims[0] == 3 && dims[1] == 2);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(ad_tensor_get(c, i), 0.0);
    ad_tensor e = ad_matmul(ad_tensor_new(t, AD_F32, 2, (size_t[]){0, 4}, NULL),
                            ad_tensor_ones(t, AD_F32, 2, (size_t[]){4, 2}));
    cr_assert_eq(ad_tensor_shape(e, dims), 2);
    cr_assert(dims[0] == 0 && dims[1] == 2);
    cr_assert_eq(ad_tensor_numel(e), 0);
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

Test(linear, matches_naive_loops_with_and_without_bias)
{
    size_t B = 5, In = 7, Out = 3;
    double *x = random_values(B * In, 60), *w = random_values(Out * In, 61);
    double *b = random_values(Out, 62);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        ad_tape *t = ad_tape_new();
        ad_tensor none = {0};
        ad_tensor y = ad_linear(tensor_from(t, AD_F64, 2, (size_t[]){B, In}, x, false),
                                tensor_from(t, AD_F64, 2, (size_t[]){Out, In}, w, false),
                                with_bias ? tensor_from(t, AD_F64, 1, &Out, b, false) : none);
        size_t dims[4];
        cr_assert_eq(ad_tensor_shape(y, dims), 2);
        cr_assert(dims[0] == B && dims[1] == Out);
        for (size_t i = 0; i < B; i++)
            for (size_t o = 0; o < Out; o++) {
                double s = with_bias ? b[o] : 0.0;
                for (size_t q = 0; q < In; q++)
                    s += x[i * In + q] * w[o * In + q];
                cr_assert_float_eq(ad_tensor_get(y, i * Out + o), s, 1e-13);
            }
        ad_tape_free(t);
    }
    free(x);
    free(w);
    free(b);
}

Test(linear, maps_a_one_dimensional_input_to_a_one_dimensional_output)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 2});
    ad_tensor w = ad_tensor_new(t, AD_F64, 2, (size_t[]){3, 2}, (double[]){1, 0, 0, 1, 1, 1});
    ad_tensor b = ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, (double[]){10, 20, 30});
    ad_tensor y = ad_linear(x, w, b);
    size_t dims[4];
    cr_assert_eq(ad_tensor_shape(y, dims), 1);
    cr_assert_eq(dims[0], 3);
    cr_assert(ad_tensor_get(y, 0) == 11 && ad_tensor_get(y, 1) == 22 && ad_tensor_get(y, 2) == 33);
    ad_tape_free(t);
}

Test(linear, without_bias_records_two_inputs_and_with_bias_three)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F64, 2, (size_t[]){2, 3});
    ad_tensor w = ad_tensor_ones(t, AD_F64, 2, (size_t[]){4, 3});
    ad_tensor none = {0};
    ad_tensor y2 = ad_linear(x, w, none);
    ad_tensor y3 = ad_linear(x, w, ad_tensor_ones(t, AD_F64, 1, (size_t[]){4}));
    cr_assert(ad_tensor_ok(y2) && ad_tensor_ok(y3));
    cr_assert_eq(t->nodes[y2.index_].n_in, 2);
    cr_assert_eq(t->nodes[y3.index_].n_in, 3);
    cr_assert_eq(ad_tensor_get(y2, 0), 3.0);
    cr_assert_eq(ad_tensor_get(y3, 0), 4.0);
    ad_tape_free(t);
}

Test(linear, bias_gradient_is_the_column_sums_of_the_output_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){3, 2}, -1, 1, 7);
    ad_tensor w = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){2, 2}, -1, 1, 8);
    ad_tensor b = ad_tensor_variable(t, AD_F32, 1, (size_t[]){2}, NULL);
    ad_tensor y = ad_linear(x, w, b);
    double seed[6] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    const float *gb = ad_tensor_grad(b);
    cr_assert_not_null(gb);
    cr_assert(gb[0] == 9.0f && gb[1] == 12.0f);
    ad_tape_free(t);
}

/* The float32 bias gradient sums dL/dy over the rows: 10^6 rows of 0.1f
 * drift about 1% in a float running sum (100958 for 100000); summed in
 * double it is 10^6 * 0.1f rounded once. A bias of 1 over small x . w^T
 * keeps every relu unit on, so for ad_linear_relu every row counts too. */
static void bias_grad_over_a_million_rows(bool fused)
{
    enum { B = 1000000, Out = 5 };
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){B, 2}, -0.1, 0.1, 3);
    ad_tensor w = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){Out, 2}, -1, 1, 4);
    ad_tensor b =
        ad_tensor_variable(t, AD_F32, 1, (size_t[]){Out}, (float[]){1.0f, 1.0f, 1.0f, 1.0f, 1.0f});
    ad_tensor y = fused ? ad_linear_relu(x, w, b) : ad_linear(x, w, b);
    cr_assert_eq(
        ad_backward(ad_sum(ad_tmul(y, ad_tensor_fill(t, AD_F32, 2, (size_t[]){B, Out}, 0.1)))),
        AD_OK);
    const float *gb = ad_tensor_grad(b);
    const double want = 1e6 * (double)0.1f;
    for (size_t j = 0; j < Out; j++)
        cr_assert(fabs((double)gb[j] - want) <= 1e-6 * want, "%s: db[%zu] = %.9g, want %.9g",
                  fused ? "linear_relu" : "linear", j, (double)gb[j], want);
    ad_tape_free(t);
}

Test(linear, float32_bias_gradient_over_a_million_rows_is_exact_to_float_precision)
{
    bias_grad_over_a_million_rows(false);
}

Test(linear_relu, float32_bias_gradient_over_a_million_rows_is_exact_to_float_precision)
{
    bias_grad_over_a_million_rows(true);
}

/* The blocked float32 bias gradient against column sums in double: rows
 * that end in a partial block, more columns than one pass takes, random
 * dL/dy. */
Test(linear, float32_bias_gradient_over_many_rows_and_wide_outputs_matches_column_sums)
{
    enum { B = 101, Out = 300 };
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){B, 3}, -1, 1, 5);
    ad_tensor w = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){Out, 3}, -1, 1, 6);
    ad_tensor b = ad_tensor_variable(t, AD_F32, 1, (size_t[]){Out}, NULL);
    ad_tensor gy = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){B, Out}, -1, 1, 7);
    const double *seed = ad_tensor_data(gy);
    cr_assert_eq(ad_backward_seeded(ad_linear(x, w, b), seed), AD_OK);
    const float *gb = ad_tensor_grad(b);
    for (size_t j = 0; j < Out; j++) {
        double want = 0, mag = 0;
        for (size_t i = 0; i < B; i++) {
            want += (double)(float)seed[i * Out + j];
            mag += fabs(seed[i * Out + j]);
        }
        cr_assert(fabs((double)gb[j] - want) <= 1e-6 * mag, "db[%zu] = %.9g, want %.9g", j,
                  (double)gb[j], want);
    }
    ad_tape_free(t);
}

/* ---------------------------------------------------- float32 vs float64 */

/* Value and both input gradients of weighted_sum(matmul(a, b)) in dtype dt. */
static void matmul_run(ad_dtype dt, size_t nd, const size_t *da, const size_t *db, const double *a,
                       const double *b, double *y, double *ga, double *gb)
{
    ad_tape *t = ad_tape_new();
    ad_tensor ta = tensor_from(t, dt, nd, da, a, true), tb = tensor_from(t, dt, nd, db, b, true);
    ad_tensor c = ad_matmul(ta, tb);
    for (size_t i = 0; i < ad_tensor_numel(c); i++)
        y[i] = ad_tensor_get(c, i);
    cr_assert_eq(ad_backward(weighted_sum(c, 17)), AD_OK);
    grad_as_double(ta, ga);
    grad_as_double(tb, gb);
    ad_tape_free(t);
}

Test(matmul, float32_values_and_gradients_agree_with_float64)
{
    size_t da[3] = {2, 9, 13}, db[3] = {2, 13, 6};
    size_t na = 2 * 9 * 13, nb = 2 * 13 * 6, nc = 2 * 9 * 6;
    double *a = random_values(na, 70), *b = random_values(nb, 71);
    double y32[108], y64[108], ga32[234], ga64[234], gb32[156], gb64[156];
    matmul_run(AD_F32, 3, da, db, a, b, y32, ga32, gb32);
    matmul_run(AD_F64, 3, da, db, a, b, y64, ga64, gb64);
    ASSERT_CLOSE_ARRAY(y32, y64, nc, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(ga32, ga64, na, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gb32, gb64, nb, 1e-5, 1e-5);
    free(a);
    free(b);
}

Test(linear, float32_values_and_gradients_agree_with_float64)
{
    size_t B = 6, In = 11, Out = 4;
    double *x = random_values(B * In, 80), *w = random_values(Out * In, 81);
    double *bias = random_values(Out, 82);
    double y[2][24], gx[2][66], gw[2][44], gb[2][4];
    for (int k = 0; k < 2; k++) {
        ad_dtype dt = k ? AD_F64 : AD_F32;
        ad_tape *t = ad_tape_new();
        ad_tensor tx = tensor_from(t, dt, 2, (size_t[]){B, In}, x, true);
        ad_tensor tw = tensor_from(t, dt, 2, (size_t[]){Out, In}, w, true);
        ad_tensor tb = tensor_from(t, dt, 1, &Out, bias, true);
        ad_tensor out = ad_linear(tx, tw, tb);
        for (size_t i = 0; i < B * Out; i++)
            y[k][i] = ad_tensor_get(out, i);
        cr_assert_eq(ad_backward(weighted_sum(out, 19)), AD_OK);
        grad_as_double(tx, gx[k]);
        grad_as_double(tw, gw[k]);
        grad_as_double(tb, gb[k]);
        ad_tape_free(t);
    }
    ASSERT_CLOSE_ARRAY(y[0], y[1], B * Out, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gx[0], gx[1], B * In, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gw[0], gw[1], Out * In, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gb[0], gb[1], Out, 1e-5, 1e-5);
    free(x);
    free(w);
    free(bias);
}

/* ---------------------------------------------------------------- errors */

static ad_tensor zeros(ad_tape *t, ad_dtype dt, size_t nd, const size_t *dims)
{
    return ad_tensor_zeros(t, dt, nd, dims);
}

Test(matmul, rejects_mismatched_inner_dimensions_and_names_both_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor c =
        ad_matmul(zeros(t, AD_F64, 2, (size_t[]){3, 4}), zeros(t, AD_F64, 2, (size_t[]){5, 2}));
    cr_assert(!ad_tensor_ok(c));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_matmul: inner dimensions differ: [3,4] x [5,2]");
    ad_tape_free(t);
}

/* Batch dimensions broadcast (tests/test_matmul_bcast.c), so [2,3,4] x [4,5]
 * and 4-D operands are products now; a vector is not a matrix. */
Test(matmul, rejects_operands_that_are_not_matrices)
{
    size_t shapes[][2][4] = {{{3}, {3, 4}}, {{2, 3, 4}, {4}}, {{3}, {3}}};
    size_t nds[][2] = {{1, 2}, {3, 1}, {1, 1}};
    const char *names[] = {"[3] x [3,4]", "[2,3,4] x [4]", "[3] x [3]"};
    for (int k = 0; k < 3; k++) {
        ad_tape *t = ad_tape_new();
        ad_tensor c = ad_matmul(zeros(t, AD_F64, nds[k][0], shapes[k][0]),
                                zeros(t, AD_F64, nds[k][1], shapes[k][1]));
        cr_assert(!ad_tensor_ok(c));
        ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_matmul: expects [M,K] x [K,N]");
        ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, names[k]);
        ad_tape_free(t);
    }
}

Test(matmul, rejects_different_batch_sizes_and_names_both_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_matmul(zeros(t, AD_F64, 3, (size_t[]){2, 3, 4}), zeros(t, AD_F64, 3, (size_t[]){3, 4, 5}));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_matmul: batch sizes differ: [2,3,4] x [3,4,5]");
    ad_tape_free(t);
}

Test(matmul, rejects_mixed_dtypes_and_stays_failed_for_later_ops)
{
    ad_tape *t = ad_tape_new();
    ad_tensor c =
        ad_matmul(zeros(t, AD_F32, 2, (size_t[]){2, 2}), zeros(t, AD_F64, 2, (size_t[]){2, 2}));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_matmul: dtypes differ");
    ad_tensor d = ad_matmul(c, c);
    cr_assert(!ad_tensor_ok(d));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_matmul: dtypes differ");
    ad_tape_free(t);
}

Test(linear, rejects_inputs_of_the_wrong_rank_and_names_the_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor none = {0};
    ad_linear(zeros(t, AD_F64, 3, (size_t[]){2, 3, 4}), zeros(t, AD_F64, 2, (size_t[]){5, 4}),
              none);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_linear: x must be [B,In] or [In], got [2,3,4]");
    ad_tape_reset(t);
    ad_linear(zeros(t, AD_F64, 2, (size_t[]){2, 4}), zeros(t, AD_F64, 1, (size_t[]){4}), none);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_linear: w must be [Out,In], got [4]");
    ad_tape_free(t);
}

Test(linear, rejects_mismatched_input_sizes_and_names_both_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor none = {0};
    ad_linear(zeros(t, AD_F64, 2, (size_t[]){2, 3}), zeros(t, AD_F64, 2, (size_t[]){4, 5}), none);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_linear: inner dimensions differ: x [2,3] . w [4,5]^T");
    ad_tape_free(t);
}

Test(linear, rejects_a_bias_that_does_not_match_the_output_size)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = zeros(t, AD_F64, 2, (size_t[]){2, 3}), w = zeros(t, AD_F64, 2, (size_t[]){4, 3});
    ad_linear(x, w, zeros(t, AD_F64, 1, (size_t[]){5}));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_linear: bias [5] does not match w [4,3]: expected [4]");
    ad_tape_reset(t);
    x = zeros(t, AD_F64, 2, (size_t[]){2, 3});
    w = zeros(t, AD_F64, 2, (size_t[]){4, 3});
    ad_linear(x, w, zeros(t, AD_F64, 2, (size_t[]){1, 4}));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "bias [1,4]");
    ad_tape_free(t);
}

Test(linear, rejects_a_stale_bias_handle)
{
    ad_tape *t = ad_tape_new();
    ad_tensor old = zeros(t, AD_F64, 1, (size_t[]){4});
    ad_tape_reset(t);
    ad_tensor x = zeros(t, AD_F64, 2, (size_t[]){2, 3}), w = zeros(t, AD_F64, 2, (size_t[]){4, 3});
    cr_assert(!ad_tensor_ok(ad_linear(x, w, old)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_linear");
    ad_tape_free(t);
}
