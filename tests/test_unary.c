/* SPDX-License-Identifier: MIT
 * Elementwise unary ops (ops/unary.c): neg, exp, log, sqrt, square, abs,
 * scale, addc. Gradients against central differences, empty tensors, hand
 * values, float32 against float64, and error paths. */
#include "unary_check.h"

static ad_tensor scale_m2_5(ad_tensor x)
{
    return ad_tscale(x, -2.5);
}

static ad_tensor addc_0_75(ad_tensor x)
{
    return ad_taddc(x, 0.75);
}

#define UNARY_TESTS(name, code, fn, public_name, lo, hi, both)                                     \
    static const unary_case name##_case = {public_name, fn, lo, hi, both};                         \
    GRADCHECK_TEST(unary, name##_gradient_matches_central_differences_over_shapes, code)           \
    {                                                                                              \
        check_unary_gradients(&name##_case);                                                       \
    }                                                                                              \
    Test(unary, name##_of_empty_tensors_is_empty_and_sweeps_without_error)                         \
    {                                                                                              \
        check_unary_empty(&name##_case);                                                           \
    }                                                                                              \
    Test(unary, name##_in_float32_matches_float64)                                                 \
    {                                                                                              \
        check_unary_dtypes(&name##_case);                                                          \
    }                                                                                              \
    Test(unary, name##_fails_cleanly_on_stale_invalid_and_tapeless_handles)                        \
    {                                                                                              \
        check_unary_errors(&name##_case);                                                          \
    }

UNARY_TESTS(neg, AD_OP_NEG, ad_tneg, "ad_tneg", -2.0, 2.0, false)
UNARY_TESTS(exp, AD_OP_EXP, ad_texp, "ad_texp", -2.0, 2.0, false)
UNARY_TESTS(log, AD_OP_LOG, ad_tlog, "ad_tlog", 0.2, 3.0, false)
UNARY_TESTS(sqrt, AD_OP_SQRT, ad_tsqrt, "ad_tsqrt", 0.2, 3.0, false)
UNARY_TESTS(square, AD_OP_SQUARE, ad_tsquare, "ad_tsquare", -2.0, 2.0, false)
UNARY_TESTS(abs, AD_OP_ABS, ad_tabs, "ad_tabs", 0.1, 2.0, true)
UNARY_TESTS(scale, AD_OP_SCALE, scale_m2_5, "ad_tscale", -2.0, 2.0, false)
UNARY_TESTS(addc, AD_OP_ADDC, addc_0_75, "ad_taddc", -2.0, 2.0, false)

Test(unary, neg_square_and_abs_match_hand_values)
{
    const double x[4] = {-3, -0.5, 0, 2};
    check_unary_values(ad_tneg, 4, x, (double[]){3, 0.5, 0, -2}, (double[]){-1, -1, -1, -1}, 0);
    check_unary_values(ad_tsquare, 4, x, (double[]){9, 0.25, 0, 4}, (double[]){-6, -1, 0, 4}, 0);
    /* abs'(0) = 0, the subgradient the header promises */
    check_unary_values(ad_tabs, 4, x, (double[]){3, 0.5, 0, 2}, (double[]){-1, -1, 0, 1}, 0);
}

Test(unary, exp_log_and_sqrt_match_hand_values)
{
    const double e = 2.718281828459045;
    check_unary_values(ad_texp, 3, (double[]){0, 1, -1}, (double[]){1, e, 1 / e},
                       (double[]){1, e, 1 / e}, 1e-15);
    check_unary_values(ad_tlog, 3, (double[]){1, e, 0.25}, (double[]){0, 1, -1.3862943611198906},
                       (double[]){1, 1 / e, 4}, 1e-15);
    check_unary_values(ad_tsqrt, 3, (double[]){4, 0.25, 2}, (double[]){2, 0.5, 1.4142135623730951},
                       (double[]){0.25, 1, 0.35355339059327373}, 1e-15);
}

Test(unary, sqrt_gradient_at_zero_is_positive_infinity)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){0.0, -0.0});
    cr_assert_eq(ad_backward(ad_sum(ad_tsqrt(x))), AD_OK);
    const double *g = ad_tensor_grad(x);
    cr_assert(isinf(g[0]) && g[0] > 0, "at +0: %g", g[0]);
    cr_assert(isinf(g[1]) && g[1] > 0, "at -0 (sqrt(-0) = -0): %g", g[1]);
    ad_tensor xf = ad_tensor_variable(t, AD_F32, 1, (size_t[]){1}, (float[]){-0.0f});
    cr_assert_eq(ad_backward(ad_tsqrt(xf)), AD_OK);
    float gf = ((const float *)ad_tensor_grad(xf))[0];
    cr_assert(isinf(gf) && gf > 0, "f32 at -0: %g", (double)gf);
    ad_tape_free(t);
}

Test(unary, scale_and_addc_use_their_constant)
{
    const double x[3] = {-2, 0, 1.5};
    check_unary_values(scale_m2_5, 3, x, (double[]){5, 0, -3.75}, (double[]){-2.5, -2.5, -2.5}, 0);
    check_unary_values(addc_0_75, 3, x, (double[]){-1.25, 0.75, 2.25}, (double[]){1, 1, 1}, 0);
}

Test(unary, log_of_zero_and_negative_inputs_are_data_not_errors)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F32, 1, (size_t[]){2}, (float[]){0.0f, -1.0f});
    ad_tensor y = ad_tlog(x);
    cr_assert(ad_tensor_ok(y));
    cr_assert(isinf(ad_tensor_get(y, 0)) && ad_tensor_get(y, 0) < 0);
    cr_assert(isnan(ad_tensor_get(y, 1)));
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

Test(unary, ops_chain_and_gradients_flow_through_each)
{
    /* d/dx sqrt(exp(2x) + 1) ... written as sqrt(addc(square(exp(x)), 1)) */
    ad_tape *t = ad_tape_new();
    const double xv = 0.3;
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){1}, &xv);
    ad_tensor y = ad_tsqrt(ad_taddc(ad_tsquare(ad_texp(x)), 1.0));
    cr_assert_eq(ad_backward(y), AD_OK);
    double e2 = exp(2 * xv), want = e2 / sqrt(e2 + 1);
    cr_assert_float_eq(((const double *)ad_tensor_grad(x))[0], want, 1e-15);
    ad_tape_free(t);
}

/* NaN is data: |NaN| = NaN and the slope there is NaN, as scalar ad_fabs
 * gives (the tensor op gave 0, the subgradient meant for x = 0). Both
 * dtypes, with NaN among ordinary elements in the vectorised loop. */
Test(unary, abs_gradient_at_nan_is_nan_as_scalar_fabs_gives)
{
    enum { N = 19 };
    double x[N];
    float xf[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = i % 4 == 1 ? (double)NAN : (i % 2 ? -1.0 : 1.0) * (double)i;
        xf[i] = (float)x[i];
    }
    ad_tape *t = ad_tape_new();
    ad_scalar a = ad_variable(t, (double)NAN);
    cr_assert_eq(ad_backward_scalar(ad_fabs(a)), AD_OK);
    cr_assert(isnan(ad_grad(a)), "the scalar rule: fabs'(NaN) = %g", ad_grad(a));
    for (int dt = 0; dt < 2; dt++) {
        ad_tensor v = dt ? ad_tensor_variable(t, AD_F64, 1, (size_t[]){N}, x)
                         : ad_tensor_variable(t, AD_F32, 1, (size_t[]){N}, xf);
        ad_tensor y = ad_tabs(v);
        cr_assert_eq(ad_backward(ad_sum(y)), AD_OK);
        for (size_t i = 0; i < N; i++) {
            double g = dt ? ((const double *)ad_tensor_grad(v))[i]
                          : (double)((const float *)ad_tensor_grad(v))[i];
            double want = x[i] > 0 ? 1 : x[i] < 0 ? -1 : x[i] == 0 ? 0 : (double)NAN;
            cr_assert(isnan(want) ? isnan(g) && isnan(ad_tensor_get(y, i)) : g == want,
                      "%s abs'(%g) = %g", dt ? "float64" : "float32", x[i], g);
        }
    }
    ad_tape_free(t);
}
