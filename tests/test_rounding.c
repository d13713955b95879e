/* SPDX-License-Identifier: MIT
 * Step ops and clamp (ops/rounding.c): sign, floor, ceil and round have slope
 * 0, which the gradcheck confirms away from their jumps; clamp passes the
 * gradient inside its range, bounds included. Hand values at the jumps and
 * bounds, NaN, float32 against float64, and error paths. */
#include "unary_check.h"

static ad_tensor clamp_both(ad_tensor x)
{
    return ad_tclamp(x, -0.5, 0.8);
}
static ad_tensor clamp_lo(ad_tensor x)
{
    return ad_tclamp(x, -0.5, INF_D);
}
static ad_tensor clamp_hi(ad_tensor x)
{
    return ad_tclamp(x, -INF_D, 0.8);
}

/* ranges keep clear of the jumps: 0 for sign, the integers for floor and
 * ceil, the half-integers for round */
UNARY_CASE_TESTS(rounding, sign, AD_OP_SIGN, ad_tsign, "ad_tsign", 0.1, 2.0, true)
UNARY_CASE_TESTS(rounding, floor, AD_OP_FLOOR, ad_tfloor, "ad_tfloor", 1.1, 1.9, true)
UNARY_CASE_TESTS(rounding, ceil, AD_OP_CEIL, ad_tceil, "ad_tceil", 2.1, 2.9, true)
UNARY_CASE_TESTS(rounding, round, AD_OP_ROUND, ad_tround, "ad_tround", 0.6, 1.4, true)
UNARY_CASE_TESTS(rounding, clamp, AD_OP_CLAMP, clamp_both, "ad_tclamp", -2.0, 2.0, false)
UNARY_CASE_TESTS(rounding, clamp_lo, AD_OP_CLAMP, clamp_lo, "ad_tclamp", -2.0, 2.0, false)
UNARY_CASE_TESTS(rounding, clamp_hi, AD_OP_CLAMP, clamp_hi, "ad_tclamp", -2.0, 2.0, false)

/* The jump points themselves: values as C and PyTorch give them, slope 0. */
Test(rounding, steps_match_hand_values_at_and_beside_their_jumps)
{
    const double z[5] = {0, 0, 0, 0, 0};
    check_unary_values(ad_tsign, 5, (double[]){-3, -0.0, 0, 1e-300, INF_D},
                       (double[]){-1, -0.0, 0, 1, 1}, z, 0);
    check_unary_values(ad_tfloor, 5, (double[]){-1.5, -1, 0.5, 2, -INF_D},
                       (double[]){-2, -1, 0, 2, -INF_D}, z, 0);
    check_unary_values(ad_tceil, 5, (double[]){-1.5, -1, 0.5, 2, INF_D},
                       (double[]){-1, -1, 1, 2, INF_D}, z, 0);
    /* halves to even, as PyTorch and NumPy round */
    check_unary_values(ad_tround, 5, (double[]){0.5, 1.5, 2.5, -2.5, -0.6},
                       (double[]){0, 2, 2, -2, -1}, z, 0);
    /* -0 keeps its sign through sign */
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F32, 1, (size_t[]){1}, (float[]){-0.0f});
    cr_assert(signbit(ad_tensor_get(ad_tsign(x), 0)));
    ad_tape_free(t);
}

/* NaN in gives NaN out, in the value and in the slope, for every step
 * and for clamp, in both dtypes */
Test(rounding, nan_gives_nan_values_and_slopes)
{
    ad_tensor (*ops[])(ad_tensor) = {ad_tsign, ad_tfloor, ad_tceil, ad_tround, clamp_both};
    ad_tape *t = ad_tape_new();
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (int dt = 0; dt < 2; dt++) {
            ad_tensor x =
                dt ? ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){NAN_D, 0.3})
                   : ad_tensor_variable(t, AD_F32, 1, (size_t[]){2}, (float[]){NAN, 0.3f});
            ad_tensor y = ops[k](x);
            cr_assert(isnan(ad_tensor_get(y, 0)), "op %zu dtype %d", k, dt);
            cr_assert_eq(ad_backward(ad_sum(y)), AD_OK);
            double g0 = dt ? ((const double *)ad_tensor_grad(x))[0]
                           : (double)((const float *)ad_tensor_grad(x))[0];
            double g1 = dt ? ((const double *)ad_tensor_grad(x))[1]
                           : (double)((const float *)ad_tensor_grad(x))[1];
            cr_assert(isnan(g0), "op %zu dtype %d: slope %g at NaN", k, dt, g0);
            cr_assert_eq(g1, k == 4 ? 1.0 : 0.0, "op %zu dtype %d", k, dt);
        }
    ad_tape_free(t);
}

/* At a bound the slope is 1 (PyTorch's clamp); beyond it 0 */
Test(rounding, clamp_passes_the_gradient_on_its_bounds_and_stops_it_beyond)
{
    check_unary_values(clamp_both, 6, (double[]){-2, -0.5, 0.1, 0.8, 3, INF_D},
                       (double[]){-0.5, -0.5, 0.1, 0.8, 0.8, 0.8}, (double[]){0, 1, 1, 1, 0, 0}, 0);
    check_unary_values(clamp_lo, 3, (double[]){-2, -0.5, 1e300}, (double[]){-0.5, -0.5, 1e300},
                       (double[]){0, 1, 1}, 0);
    check_unary_values(clamp_hi, 3, (double[]){-INF_D, 0.8, 2}, (double[]){-INF_D, 0.8, 0.8},
                       (double[]){1, 1, 0}, 0);
}

static ad_tensor clamp_crossed(ad_tensor x)
{
    return ad_tclamp(x, 1.0, -1.0);
}
static ad_tensor clamp_none(ad_tensor x)
{
    return ad_tclamp(x, -INF_D, INF_D);
}

/* lo > hi: every element is hi and nothing passes, as PyTorch has it;
 * no bounds at all: the identity */
Test(rounding, clamp_with_crossed_bounds_gives_hi_and_without_bounds_the_identity)
{
    check_unary_values(clamp_crossed, 3, (double[]){-2, 0, 2}, (double[]){-1, -1, -1},
                       (double[]){0, 0, 0}, 0);
    check_unary_values(clamp_none, 3, (double[]){-1e300, 0, INF_D}, (double[]){-1e300, 0, INF_D},
                       (double[]){1, 1, 1}, 0);
}

Test(rounding, clamp_refuses_a_nan_bound_naming_it)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_tclamp(x, NAN_D, 1.0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tclamp: bound lo is NaN");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_tclamp(x, 0.0, NAN_D)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tclamp: bound hi is NaN");
    ad_tape_free(t);
}
