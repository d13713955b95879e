/* SPDX-License-Identifier: MIT
 * linear_relu, relu(x . w^T + bias) as one node: gradients against central
 * differences, values and gradients against ad_relu(ad_linear(...)) in both
 * dtypes, float32 against float64, and its errors. */
#include "common.h"
#include "op_helpers.h"

#include <math.h>
#include <stdlib.h>

static void check_lr(linear_case c)
{
    check_linear_case(ad_linear_relu, c);
}

GRADCHECK_TEST(linear_relu, gradient_matches_central_differences_with_and_without_bias,
               AD_OP_LINEAR_RELU)
{
    check_lr((linear_case){2, {4, 3}, {5, 3}, true});
    check_lr((linear_case){2, {4, 3}, {5, 3}, false});
    check_lr((linear_case){2, {7, 5}, {3, 5}, true});
    check_lr((linear_case){2, {1, 1}, {1, 1}, true});
}

Test(linear_relu, gradient_matches_central_differences_for_a_one_dimensional_input)
{
    check_lr((linear_case){1, {3}, {5, 3}, true});
    check_lr((linear_case){1, {1}, {1, 1}, false});
}

Test(linear_relu, gradient_matches_central_differences_for_empty_sizes)
{
    check_lr((linear_case){2, {2, 0}, {3, 0}, true}); /* In = 0: y is relu(bias) */
    check_lr((linear_case){2, {0, 3}, {4, 3}, true}); /* B = 0 */
    check_lr((linear_case){2, {2, 3}, {0, 3}, true}); /* Out = 0 */
}

/* y and the gradients of x, w, b under weighted_sum, fused or as two ops. */
static void lr_run(ad_dtype dt, bool fused, bool bias, size_t B, size_t In, size_t Out,
                   const double *x, const double *w, const double *b, double *y, double *gx,
                   double *gw, double *gb)
{
    ad_tape *t = ad_tape_new();
    ad_tensor tx = tensor_from(t, dt, 2, (size_t[]){B, In}, x, true);
    ad_tensor tw = tensor_from(t, dt, 2, (size_t[]){Out, In}, w, true);
    ad_tensor none = {0};
    ad_tensor tb = bias ? tensor_from(t, dt, 1, &Out, b, true) : none;
    ad_tensor ty = fused ? ad_linear_relu(tx, tw, tb) : ad_relu(ad_linear(tx, tw, tb));
    cr_assert(ad_tensor_ok(ty));
    for (size_t i = 0; i < B * Out; i++)
        y[i] = ad_tensor_get(ty, i);
    cr_assert_eq(ad_backward(weighted_sum(ty, 17)), AD_OK);
    grad_as_double(tx, gx);
    grad_as_double(tw, gw);
    if (bias) grad_as_double(tb, gb);
    ad_tape_free(t);
}

Test(linear_relu, values_and_gradients_equal_relu_of_linear_in_both_dtypes)
{
    enum { B = 6, In = 5, Out = 7 };
    double *x = random_values(B * In, 80), *w = random_values(Out * In, 81);
    double *b = random_values(Out, 82);
    for (int dt = 0; dt < 2; dt++)
        for (int bias = 0; bias < 2; bias++) {
            double y[2][B * Out], gx[2][B * In], gw[2][Out * In], gb[2][Out];
            int clipped = 0;
            for (int fused = 0; fused < 2; fused++)
                lr_run(dt ? AD_F64 : AD_F32, fused, bias, B, In, Out, x, w, b, y[fused], gx[fused],
                       gw[fused], gb[fused]);
            for (size_t i = 0; i < B * Out; i++) {
                cr_assert_eq(y[1][i], y[0][i], "y[%zu]", i);
                clipped += y[1][i] == 0.0;
            }
            cr_assert(clipped > 0 && clipped < B * Out, "the mask is exercised both ways");
            for (size_t i = 0; i < B * In; i++)
                cr_assert_eq(gx[1][i], gx[0][i], "gx[%zu]", i);
            for (size_t i = 0; i < Out * In; i++)
                cr_assert_eq(gw[1][i], gw[0][i], "gw[%zu]", i);
            for (size_t i = 0; bias && i < Out; i++)
                cr_assert_eq(gb[1][i], gb[0][i], "gb[%zu]", i);
        }
    free(x);
    free(w);
    free(b);
}

Test(linear_relu, float32_values_and_gradients_agree_with_float64)
{
    enum { B = 9, In = 13, Out = 6 };
    double *x = random_values(B * In, 90), *w = random_values(Out * In, 91);
    double *b = random_values(Out, 92);
    double y[2][B * Out], gx[2][B * In], gw[2][Out * In], gb[2][Out];
    lr_run(AD_F32, true, true, B, In, Out, x, w, b, y[0], gx[0], gw[0], gb[0]);
    lr_run(AD_F64, true, true, B, In, Out, x, w, b, y[1], gx[1], gw[1], gb[1]);
    ASSERT_CLOSE_ARRAY(y[0], y[1], B * Out, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gx[0], gx[1], B * In, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gw[0], gw[1], Out * In, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gb[0], gb[1], Out, 1e-5, 1e-5);
    free(x);
    free(w);
    free(b);
}

Test(linear_relu, records_one_node_where_relu_of_linear_records_two)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 2, (size_t[]){2, 3});
    ad_tensor w = ad_tensor_ones(t, AD_F32, 2, (size_t[]){4, 3});
    size_t before = ad_tape_stats_get(t).tensor_nodes;
    ad_tensor y = ad_linear_relu(x, w, AD_TENSOR_NONE);
    cr_assert_eq(ad_tape_stats_get(t).tensor_nodes, before + 1);
    cr_assert_eq(ad_tensor_get(y, 0), 3.0);
    ad_tape_free(t);
}

Test(linear_relu, rejects_bad_shapes_and_dtypes_under_its_own_name)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 2, (size_t[]){2, 3});
    ad_tensor w = ad_tensor_ones(t, AD_F32, 2, (size_t[]){4, 5});
    (void)ad_linear_relu(x, w, AD_TENSOR_NONE);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_linear_relu: inner dimensions differ: x [2,3] . w [4,5]^T");
    ad_tape_clear_error(t);
    w = ad_tensor_ones(t, AD_F32, 2, (size_t[]){4, 3});
    (void)ad_linear_relu(x, w, ad_tensor_ones(t, AD_F32, 1, (size_t[]){5}));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_linear_relu: bias [5] does not match w [4,3]");
    ad_tape_clear_error(t);
    (void)ad_linear_relu(x, w, ad_tensor_ones(t, AD_F64, 1, (size_t[]){4}));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_linear_relu: dtypes differ");
    ad_tape_clear_error(t);
    (void)ad_linear_relu(ad_tensor_ones(t, AD_F32, 3, (size_t[]){1, 2, 3}), w, AD_TENSOR_NONE);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_linear_relu: x must be [B,In] or [In], got [1,2,3]");
    ad_tape_free(t);
}

/* NaN is data: a NaN in x makes its row of x . w^T NaN, and relu keeps it
 * (the fused forward mapped it to 0) and sends a NaN gradient back through
 * it (the mask made it 0, so dw, db and the other inputs' rows looked
 * clean). Fused and unfused agree element for element, NaN for NaN, in
 * both dtypes; rows without NaN keep their ordinary values. */
Test(linear_relu, nan_in_x_propagates_to_value_and_gradients_as_relu_of_linear)
{
    enum { B = 5, In = 4, Out = 9 };
    double *x = random_values(B * In, 60), *w = random_values(Out * In, 61);
    double *b = random_values(Out, 62);
    x[1 * In + 2] = (double)NAN; /* row 1 of y is NaN */
    for (int dt = 0; dt < 2; dt++) {
        double y[2][B * Out], gx[2][B * In], gw[2][Out * In], gb[2][Out];
        for (int fused = 0; fused < 2; fused++)
            lr_run(dt ? AD_F64 : AD_F32, fused, true, B, In, Out, x, w, b, y[fused], gx[fused],
                   gw[fused], gb[fused]);
        for (size_t i = 0; i < B * Out; i++) {
            bool nan_row = i / Out == 1;
            cr_assert(nan_row ? isnan(y[1][i]) : !isnan(y[1][i]), "dt %d: y[%zu] = %g", dt, i,
                      y[1][i]);
        }
        for (size_t j = 0; j < Out; j++)
            cr_assert(isnan(gb[1][j]), "dt %d: the NaN row reaches db[%zu] = %g", dt, j, gb[1][j]);
        double *fz[4] = {y[1], gx[1], gw[1], gb[1]}, *uz[4] = {y[0], gx[0], gw[0], gb[0]};
        size_t nz[4] = {B * Out, B * In, Out * In, Out};
        for (size_t k = 0; k < 4; k++)
            for (size_t i = 0; i < nz[k]; i++)
                cr_assert(isnan(fz[k][i]) ? isnan(uz[k][i]) : fz[k][i] == uz[k][i],
                          "dt %d, array %zu [%zu]: fused %g, relu of linear %g", dt, k, i, fz[k][i],
                          uz[k][i]);
    }
    free(x);
    free(w);
    free(b);
}
