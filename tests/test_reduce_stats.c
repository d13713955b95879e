/* SPDX-License-Identifier: MIT
 * logsumexp, var, std and the L1/L2 norms (ops/reduce_stats.c): gradients
 * against central differences over shapes, axes, keepdim and corrections,
 * values against naive loops in both dtypes, stability at large values,
 * the kinks (std and L2 at 0, L1 at 0), infinities, and every error. */
#include "reduce_cases.h"

#include <float.h>

/* ---- logsumexp */

GRADCHECK_TEST(reduce_stats, logsumexp_gradient_matches_central_differences_for_every_axis,
               AD_OP_LOGSUMEXP)
{
    rcheck_everything(R_LSE, 0);
}

Test(reduce_stats, logsumexp_float32_matches_float64_and_naive_loops)
{
    rcheck_float32_against_float64(R_LSE, 0, 1e-6);
}

/* Values whose e^x overflows (1000) or underflows (-1000) in both dtypes:
 * the maximum is subtracted first. Ties share the gradient equally. */
Test(reduce_stats, logsumexp_is_stable_and_its_gradient_is_the_softmax)
{
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_tape *t = ad_tape_new();
        const double v[6] = {1000, 1000, 1000 - log(2.0), -1000, -1000, -1000 - log(2.0)};
        ad_tensor x = tensor_from(t, dbl ? AD_F64 : AD_F32, 2, (size_t[]){2, 3}, v, true);
        ad_tensor y = ad_logsumexp_axis(x, 1, false);
        double tol = dbl ? 1e-12 : 1e-4;
        cr_assert_float_eq(ad_tensor_get(y, 0), 1000 + log(2.5), tol * 1000);
        cr_assert_float_eq(ad_tensor_get(y, 1), -1000 + log(2.5), tol * 1000);
        cr_assert_eq(ad_backward_seeded(y, (double[]){1, 2}), AD_OK);
        double g[6];
        grad_as_double(x, g);
        const double want[6] = {0.4, 0.4, 0.2, 0.8, 0.8, 0.4};
        for (int i = 0; i < 6; i++)
            cr_assert_float_eq(g[i], want[i], dbl ? 1e-12 : 2e-3, "element %d: %g", i, g[i]);
        ad_tape_free(t);
    }
}

Test(reduce_stats, logsumexp_of_infinities_and_nan)
{
    ad_tape *t = ad_tape_new();
    const double inf = (double)INFINITY;
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){4, 2},
                                (double[]){-inf, -inf, inf, 1, 0, (double)NAN, -inf, 2});
    ad_tensor y = ad_logsumexp_axis(x, 1, false);
    cr_assert(isinf(ad_tensor_get(y, 0)) && ad_tensor_get(y, 0) < 0, "all -Inf: -Inf");
    cr_assert(isinf(ad_tensor_get(y, 1)) && ad_tensor_get(y, 1) > 0, "+Inf wins");
    cr_assert(isnan(ad_tensor_get(y, 2)), "NaN propagates");
    cr_assert_float_eq(ad_tensor_get(y, 3), 2.0, 1e-15);
    /* strided groups (axis 0) take the other loop */
    ad_tensor c = ad_logsumexp_axis(ad_transpose(x, 0, 1), 0, false);
    for (size_t i = 0; i < 4; i++) {
        double a = ad_tensor_get(y, i), b = ad_tensor_get(c, i);
        cr_assert(a == b || (isnan(a) && isnan(b)), "group %zu: %g vs %g", i, a, b);
    }
    ad_tape_free(t);
}

Test(reduce_stats, logsumexp_of_an_empty_group_is_an_error)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){3, 0});
    cr_assert(!ad_tensor_ok(ad_logsumexp(x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_logsumexp: empty tensor [3,0] has no logsumexp");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_logsumexp_axis(x, -1, true)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_logsumexp_axis: axis 1 of shape [3,0] is empty: no logsumexp");
    ad_tape_free(t);
}

/* ---- var, std */

GRADCHECK_TEST(reduce_stats, var_gradient_matches_central_differences_for_corrections_0_and_1,
               AD_OP_VAR)
{
    rcheck_everything(R_VAR, 1);
    rcheck_everything(R_VAR, 0);
    rcheck((rcase){R_VAR, 2, {3, 5}, false, 1, false, 2.5}); /* a fractional correction */
}

GRADCHECK_TEST(reduce_stats, std_gradient_matches_central_differences_for_corrections_0_and_1,
               AD_OP_STD)
{
    rcheck_everything(R_STD, 1);
    rcheck_everything(R_STD, 0);
}

Test(reduce_stats, var_and_std_float32_match_float64_and_naive_loops)
{
    rcheck_float32_against_float64(R_VAR, 1, 1e-6);
    rcheck_float32_against_float64(R_VAR, 0, 1e-6);
    rcheck_float32_against_float64(R_STD, 1, 1e-6);
}

Test(reduce_stats, var_and_std_match_hand_values)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){2, 4}, (double[]){1, 2, 3, 4, 2, 2, 2, 6});
    /* row 0: mean 2.5, ss 5; row 1: mean 3, ss 12 */
    ad_tensor v1 = ad_var_axis(x, 1, false, 1), v0 = ad_var_axis(x, 1, true, 0);
    cr_assert_float_eq(ad_tensor_get(v1, 0), 5.0 / 3.0, 1e-15);
    cr_assert_float_eq(ad_tensor_get(v1, 1), 4.0, 1e-15);
    cr_assert_float_eq(ad_tensor_get(v0, 0), 1.25, 1e-15);
    cr_assert_float_eq(ad_tensor_get(v0, 1), 3.0, 1e-15);
    cr_assert_float_eq(ad_tensor_get(ad_std(x, 1), 0), sqrt(17.5 / 7.0), 1e-15);
    /* a large offset does not cancel: two passes, not E[x^2] - E[x]^2 */
    ad_tensor big =
        ad_tensor_new(t, AD_F32, 1, (size_t[]){3}, (float[]){1e4f + 1, 1e4f + 2, 1e4f + 3});
    cr_assert_float_eq(ad_tensor_get(ad_var(big, 1), 0), 1.0, 1e-6);
    ad_tape_free(t);
}

/* All elements equal: std is 0, a kink; its gradient is taken as 0 (the
 * subgradient), where x / 0 would give NaN. var's is 0 there anyway. */
Test(reduce_stats, std_of_equal_elements_has_gradient_zero)
{
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x =
            tensor_from(t, dbl ? AD_F64 : AD_F32, 1, (size_t[]){3}, (double[]){2, 2, 2}, true);
        ad_tensor y = ad_std(x, 1);
        cr_assert_eq(ad_tensor_get(y, 0), 0.0);
        cr_assert_eq(ad_backward(y), AD_OK);
        double g[3];
        grad_as_double(x, g);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(g[i], 0.0, "element %d: %g", i, g[i]);
        ad_tape_free(t);
    }
}

Test(reduce_stats, var_and_std_reject_a_correction_that_leaves_no_degrees_of_freedom)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    cr_assert(!ad_tensor_ok(ad_var_axis(x, 0, false, 2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_var_axis: 2 elements along axis 0 of shape [2,3] minus correction 2 "
                      "leave 0 degrees of freedom");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_std(ad_tensor_zeros(t, AD_F64, 1, (size_t[]){1}), 1)));
    ASSERT_TAPE_ERROR(
        t, AD_ERR_INVALID,
        "ad_std: 1 elements (shape [1]) minus correction 1 leave 0 degrees of freedom");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_var(ad_tensor_zeros(t, AD_F64, 1, (size_t[]){0}), 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_var: 0 elements (shape [0]) minus correction 0");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_std(x, -1)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_std: correction -1 is not a finite number >= 0");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_var(x, (double)NAN)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_var: correction nan is not a finite number >= 0");
    ad_tape_free(t);
}

/* ---- norm */

GRADCHECK_TEST(reduce_stats, norm_gradient_matches_central_differences_for_l1_and_l2, AD_OP_NORM)
{
    rcheck_everything(R_NORM1, 0);
    rcheck_everything(R_NORM2, 0);
    rcheck((rcase){R_NORM2, 2, {0, 3}, true, 0, false, 0});
    rcheck((rcase){R_NORM1, 2, {3, 0}, false, 1, false, 0});
}

Test(reduce_stats, norm_float32_matches_float64_and_naive_loops)
{
    rcheck_float32_against_float64(R_NORM1, 0, 1e-6);
    rcheck_float32_against_float64(R_NORM2, 0, 1e-6);
}

/* The kinks: at x = 0 the L2 gradient is 0 (not 0/0), and the L1 gradient
 * of a zero element is 0 (|x|'(0) = 0). */
Test(reduce_stats, norm_gradients_at_zero_are_zero)
{
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_tape *t = ad_tape_new();
        ad_dtype dt = dbl ? AD_F64 : AD_F32;
        ad_tensor z = tensor_from(t, dt, 1, (size_t[]){3}, (double[]){0, 0, 0}, true);
        ad_tensor y = ad_norm(z, 2);
        cr_assert_eq(ad_tensor_get(y, 0), 0.0);
        cr_assert_eq(ad_backward(y), AD_OK);
        double g[3];
        grad_as_double(z, g);
        cr_assert(g[0] == 0 && g[1] == 0 && g[2] == 0);
        ad_tensor x = tensor_from(t, dt, 1, (size_t[]){3}, (double[]){-2, 0, 3}, true);
        ad_tensor l1 = ad_norm(x, 1);
        cr_assert_eq(ad_tensor_get(l1, 0), 5.0);
        cr_assert_eq(ad_backward(l1), AD_OK);
        grad_as_double(x, g);
        cr_assert(g[0] == -1 && g[1] == 0 && g[2] == 1);
        ad_tensor l2 = ad_norm(x, 2);
        cr_assert_float_eq(ad_tensor_get(l2, 0), sqrt(13.0), 1e-6);
        cr_assert_eq(ad_backward(l2), AD_OK);
        grad_as_double(x, g);
        cr_assert_float_eq(g[0], -2 / sqrt(13.0), 1e-6);
        cr_assert_float_eq(g[2], 3 / sqrt(13.0), 1e-6);
        ad_tape_free(t);
    }
}

/* float64 squares that overflow (1e200) or underflow (1e-200) take the
 * scaled pass: the norm comes out right, as hypot's would. */
Test(reduce_stats, l2_norm_of_huge_and_tiny_float64_values_neither_overflows_nor_underflows)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 2},
                                     (double[]){3e200, 4e200, 3e-200, 4e-200, 3, 4});
    ad_tensor y = ad_norm_axis(x, 2, 1, false);
    cr_assert_float_eq(ad_tensor_get(y, 0), 5e200, 1e186);
    cr_assert_float_eq(ad_tensor_get(y, 1), 5e-200, 1e-214);
    cr_assert_float_eq(ad_tensor_get(y, 2), 5.0, 1e-15);
    cr_assert_eq(ad_backward_seeded(y, (double[]){1, 1, 1}), AD_OK);
    const double *g = ad_tensor_grad(x);
    for (int r = 0; r < 3; r++) {
        cr_assert_float_eq(g[2 * r], 0.6, 1e-14, "row %d", r);
        cr_assert_float_eq(g[2 * r + 1], 0.8, 1e-14, "row %d", r);
    }
    ad_tensor inf = ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){(double)INFINITY, 1});
    cr_assert(isinf(ad_tensor_get(ad_norm(inf, 2), 0)));
    ad_tape_free(t);
}

Test(reduce_stats, norm_rejects_p_other_than_one_and_two)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_norm(x, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_norm: p = 3 is not supported (1 or 2)");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_norm_axis(x, 0.5, 0, false)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_norm_axis: p = 0.5 is not supported");
    ad_tape_free(t);
}
