/* SPDX-License-Identifier: MIT
 * Trigonometric and hyperbolic ops and their inverses (ops/trig.c):
 * gradients against central differences, empty tensors, float32 against
 * float64, hand values, the infinite slopes at the edges of the inverses'
 * domains and NaN outside them, and error paths. */
#include "unary_check.h"

UNARY_CASE_TESTS(trig, sin, AD_OP_SIN, ad_tsin, "ad_tsin", -3.0, 3.0, false)
UNARY_CASE_TESTS(trig, cos, AD_OP_COS, ad_tcos, "ad_tcos", -3.0, 3.0, false)
UNARY_CASE_TESTS(trig, tan, AD_OP_TAN, ad_ttan, "ad_ttan", -1.2, 1.2, false)
UNARY_CASE_TESTS(trig, asin, AD_OP_ASIN, ad_tasin, "ad_tasin", -0.9, 0.9, false)
UNARY_CASE_TESTS(trig, acos, AD_OP_ACOS, ad_tacos, "ad_tacos", -0.9, 0.9, false)
UNARY_CASE_TESTS(trig, atan, AD_OP_ATAN, ad_tatan, "ad_tatan", -3.0, 3.0, false)
UNARY_CASE_TESTS(trig, sinh, AD_OP_SINH, ad_tsinh, "ad_tsinh", -2.0, 2.0, false)
UNARY_CASE_TESTS(trig, cosh, AD_OP_COSH, ad_tcosh, "ad_tcosh", -2.0, 2.0, false)
UNARY_CASE_TESTS(trig, asinh, AD_OP_ASINH, ad_tasinh, "ad_tasinh", -3.0, 3.0, false)
UNARY_CASE_TESTS(trig, acosh, AD_OP_ACOSH, ad_tacosh, "ad_tacosh", 1.1, 3.0, false)
UNARY_CASE_TESTS(trig, atanh, AD_OP_ATANH, ad_tatanh, "ad_tatanh", -0.9, 0.9, false)

Test(trig, circular_functions_match_hand_values)
{
    const double pi = 3.14159265358979323846, s3 = 0.86602540378443864676; /* sqrt(3)/2 */
    check_unary_values(ad_tsin, 3, (double[]){0, pi / 6, -pi / 2}, (double[]){0, 0.5, -1},
                       (double[]){1, s3, 6.123233995736766e-17}, 1e-15);
    check_unary_values(ad_tcos, 3, (double[]){0, pi / 3, pi}, (double[]){1, 0.5, -1},
                       (double[]){-0.0, -s3, -1.2246467991473532e-16}, 1e-15);
    check_unary_values(ad_ttan, 2, (double[]){0, pi / 4}, (double[]){0, 1}, (double[]){1, 2},
                       1e-15);
    check_unary_values(ad_tatan, 3, (double[]){0, 1, INF_D}, (double[]){0, pi / 4, pi / 2},
                       (double[]){1, 0.5, 0}, 1e-15);
}

Test(trig, hyperbolic_functions_match_hand_values)
{
    const double e = 2.71828182845904523536, sh1 = (e - 1 / e) / 2, ch1 = (e + 1 / e) / 2;
    check_unary_values(ad_tsinh, 2, (double[]){0, 1}, (double[]){0, sh1}, (double[]){1, ch1},
                       1e-15);
    check_unary_values(ad_tcosh, 2, (double[]){0, -1}, (double[]){1, ch1}, (double[]){0, -sh1},
                       1e-15);
    check_unary_values(ad_tasinh, 2, (double[]){0, sh1}, (double[]){0, 1}, (double[]){1, 1 / ch1},
                       1e-15);
    check_unary_values(ad_tacosh, 1, (double[]){ch1}, (double[]){1}, (double[]){1 / sh1}, 1e-15);
    check_unary_values(ad_tatanh, 2, (double[]){0, 0.5}, (double[]){0, 0.54930614433405489},
                       (double[]){1, 4.0 / 3.0}, 1e-15);
}

/* The slopes at the edges of the domains are the IEEE infinities the
 * header lists; outside, value and slope are NaN and the tape stays fine. */
Test(trig, inverse_functions_have_infinite_slopes_at_their_edges_and_nan_outside)
{
    const double pi = 3.14159265358979323846;
    check_unary_values(ad_tasin, 4, (double[]){1, -1, 1.5, -2},
                       (double[]){pi / 2, -pi / 2, NAN_D, NAN_D},
                       (double[]){INF_D, INF_D, NAN_D, NAN_D}, 1e-15);
    check_unary_values(ad_tacos, 4, (double[]){1, -1, 1.5, -2}, (double[]){0, pi, NAN_D, NAN_D},
                       (double[]){-INF_D, -INF_D, NAN_D, NAN_D}, 1e-15);
    check_unary_values(ad_tacosh, 3, (double[]){1, 0.5, -1}, (double[]){0, NAN_D, NAN_D},
                       (double[]){INF_D, NAN_D, NAN_D}, 1e-15);
    check_unary_values(ad_tatanh, 4, (double[]){1, -1, 1.5, -2},
                       (double[]){INF_D, -INF_D, NAN_D, NAN_D},
                       (double[]){INF_D, INF_D, NAN_D, NAN_D}, 1e-15);
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F32, 1, (size_t[]){2}, (float[]){2.0f, -3.0f});
    cr_assert(isnan(ad_tensor_get(ad_tasin(x), 0)));
    cr_assert(isnan(ad_tensor_get(ad_tacosh(x), 1)));
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

/* Where the textbook forms overflow or cancel, the slopes stay accurate:
 * asinh' = 1/hypot(x, 1) and acosh' = 1/(sqrt(x-1) sqrt(x+1)) at 1e200
 * (x^2 is Inf), asin' next to 1 (1 - x^2 would lose half its digits). */
Test(trig, slopes_stay_accurate_where_the_textbook_forms_overflow_or_cancel)
{
    const double x1 = 1 - 0x1p-30;
    check_unary_values(ad_tasinh, 2, (double[]){1e200, -1e200},
                       (double[]){461.2101657793691, -461.2101657793691},
                       (double[]){1e-200, 1e-200}, 1e-14);
    check_unary_values(ad_tacosh, 1, (double[]){1e200}, (double[]){461.2101657793691},
                       (double[]){1e-200}, 1e-14);
    check_unary_values(ad_tasin, 1, (double[]){x1}, (double[]){asin(x1)},
                       (double[]){1 / sqrt((1 - x1) * (1 + x1))}, 1e-15);
    check_unary_values(ad_tatan, 1, (double[]){1e200}, (double[]){1.5707963267948966},
                       (double[]){0}, 1e-15);
}

Test(trig, gradients_chain_through_composed_ops)
{
    /* d/dx asin(sin(x)) = 1 on (-pi/2, pi/2) */
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){-1.2, 0.3, 1.1});
    cr_assert_eq(ad_backward(ad_sum(ad_tasin(ad_tsin(x)))), AD_OK);
    for (size_t i = 0; i < 3; i++)
        cr_assert_float_eq(((const double *)ad_tensor_grad(x))[i], 1.0, 1e-14);
    ad_tape_free(t);
}
