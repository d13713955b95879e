/* SPDX-License-Identifier: MIT
 * Numerical edge cases: losses and log-softmax of huge logits stay finite,
 * the activations do not overflow in their tails, and division by zero and
 * log of zero give IEEE results, which anomaly mode catches and names. */
#include "common.h"

#include <math.h>

Test(numeric, anomaly_messages_start_with_the_public_function_like_every_other_error)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 0});
    ad_tensor y = ad_tlog(x);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_tlog: anomaly in the forward sweep: op tlog");
    ad_tape_reset(t);
    x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){0, 4});
    cr_assert_eq(ad_backward(ad_sum(ad_tsqrt(x))), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_backward: anomaly in the backward sweep: op tsqrt");
    ad_tape_free(t);
}

/* ---- huge logits: every loss and log_softmax stays finite, both dtypes */

static const double big[6] = {1e4, -1e4, 0, -1e4, 1e4, 1e4};

static void expect_finite(ad_tensor y, const char *what)
{
    cr_assert(ad_tensor_ok(y), "%s failed", what);
    for (size_t i = 0; i < ad_tensor_numel(y); i++)
        cr_assert(isfinite(ad_tensor_get(y, i)), "%s[%zu] = %g", what, i, ad_tensor_get(y, i));
}

static void expect_finite_grad(ad_tensor x, const char *what)
{
    const void *g = ad_tensor_grad(x);
    cr_assert_not_null(g, "%s: no gradient", what);
    for (size_t i = 0; i < ad_tensor_numel(x); i++) {
        double v =
            ad_tensor_dtype(x) == AD_F32 ? (double)((const float *)g)[i] : ((const double *)g)[i];
        cr_assert(isfinite(v), "%s: gradient [%zu] = %g", what, i, v);
    }
}

static ad_tensor big_logits(ad_tape *t, ad_dtype dt)
{
    float f[6];
    for (int i = 0; i < 6; i++)
        f[i] = (float)big[i];
    return ad_tensor_variable(t, dt, 2, (size_t[]){2, 3}, dt == AD_F32 ? (const void *)f : big);
}

Test(numeric, losses_and_log_softmax_stay_finite_for_logits_of_plus_minus_1e4_in_both_dtypes)
{
    static const int32_t labels[2] = {1, 0}; /* the least likely classes: loss 2e4 */
    for (int d = 0; d < 2; d++) {
        ad_dtype dt = (ad_dtype)d;
        ad_tape *t = ad_tape_new();
        ad_tape_set_anomaly(t, true); /* and nothing non-finite anywhere on the way */
        ad_tensor z = big_logits(t, dt);
        ad_tensor ce = ad_softmax_cross_entropy(z, labels, 2);
        expect_finite(ce, "softmax_cross_entropy");
        cr_assert_float_eq(ad_tensor_get(ce, 0), 2e4, 1.0, "loss %g", ad_tensor_get(ce, 0));
        ad_tensor ls = ad_log_softmax(z, 1);
        expect_finite(ls, "log_softmax");
        cr_assert_float_eq(ad_tensor_get(ls, 1), -2e4, 1.0);
        expect_finite(ad_softmax(z, 1), "softmax");
        ad_tensor target = ad_tensor_fill(t, dt, 2, (size_t[]){2, 3}, 0.5);
        ad_tensor bce = ad_bce_with_logits(z, target);
        expect_finite(bce, "bce_with_logits");
        ad_tensor total = ad_tadd(ad_tadd(ce, bce), ad_mean(ls));
        cr_assert_eq(ad_backward(total), AD_OK, "%s", ad_status_name(ad_tape_error(t, NULL)));
        expect_finite_grad(z, "logits");
        ad_tape_free(t);
    }
}

Test(numeric, sigmoid_and_softplus_do_not_overflow_in_either_tail)
{
    for (int d = 0; d < 2; d++) {
        ad_dtype dt = (ad_dtype)d;
        ad_tape *t = ad_tape_new();
        ad_tape_set_anomaly(t, true);
        ad_tensor z = big_logits(t, dt);
        ad_tensor s = ad_tsigmoid(z), sp = ad_softplus(z);
        expect_finite(s, "sigmoid");
        expect_finite(sp, "softplus");
        cr_assert_eq(ad_tensor_get(s, 0), 1.0);
        cr_assert_eq(ad_tensor_get(s, 1), 0.0);
        cr_assert_eq(ad_tensor_get(sp, 0), 1e4);
        cr_assert(ad_tensor_get(sp, 1) >= 0.0 && ad_tensor_get(sp, 1) < 1e-300);
        cr_assert_eq(ad_backward(ad_sum(ad_tadd(s, sp))), AD_OK);
        expect_finite_grad(z, "sigmoid + softplus");
        ad_tape_free(t);
    }
}

Test(numeric, scalar_sigmoid_and_log1p_do_not_overflow)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_scalar hi = ad_variable(t, 1e4), lo = ad_variable(t, -1e4), huge = ad_variable(t, 1e300);
    ad_scalar s = ad_add(ad_sigmoid(hi), ad_sigmoid(lo));
    ad_scalar l = ad_log1p(huge);
    cr_assert_eq(ad_value(s), 1.0);
    cr_assert_float_eq(ad_value(l), log(1e300), 1e-9);
    cr_assert_eq(ad_backward_scalar(ad_add(s, l)), AD_OK);
    cr_assert(isfinite(ad_grad(hi)) && isfinite(ad_grad(lo)) && isfinite(ad_grad(huge)));
    cr_assert_eq(ad_grad(hi), 0.0);
    ad_tape_free(t);
}

/* ---- division by zero and log of zero: IEEE results, unless anomaly mode */

Test(numeric, division_by_zero_and_log_of_zero_give_ieee_results_in_normal_mode)
{
    for (int d = 0; d < 2; d++) {
        ad_dtype dt = (ad_dtype)d;
        ad_tape *t = ad_tape_new();
        double one_zero[2] = {1, 0};
        float one_zero_f[2] = {1, 0};
        const void *data = dt == AD_F32 ? (const void *)one_zero_f : one_zero;
        ad_tensor a = ad_tensor_variable(t, dt, 1, (size_t[]){2}, data);
        ad_tensor zero = ad_tensor_zeros(t, dt, 1, (size_t[]){2});
        ad_tensor q = ad_tdiv(a, zero); /* [1/0, 0/0] */
        ad_tensor l = ad_tlog(zero);
        cr_assert(isinf(ad_tensor_get(q, 0)) && ad_tensor_get(q, 0) > 0);
        cr_assert(isnan(ad_tensor_get(q, 1)));
        cr_assert(isinf(ad_tensor_get(l, 0)) && ad_tensor_get(l, 0) < 0);
        cr_assert_eq(ad_backward(ad_sum(q)), AD_OK, "NaN and Inf are data, not errors");
        ad_tape_free(t);
    }
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 1.0), z = ad_variable(t, 0.0);
    ad_scalar q = ad_div(x, z), l = ad_log(z);
    cr_assert(isinf(ad_value(q)) && isinf(ad_value(l)) && ad_value(l) < 0);
    cr_assert_eq(ad_backward_scalar(ad_add(q, l)), AD_OK);
    ad_tape_free(t);
}

Test(numeric, anomaly_mode_catches_tensor_division_by_zero_naming_op_node_and_sweep)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_tensor a = ad_tensor_variable(t, AD_F32, 1, (size_t[]){2}, (float[]){1, 2});
    ad_tensor b = ad_tensor_variable(t, AD_F32, 2, (size_t[]){3, 1}, (float[]){1, 0, 3});
    ad_tensor q = ad_tdiv(a, b);
    cr_assert(!ad_tensor_ok(q));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC,
                      "ad_tdiv: anomaly in the forward sweep: op tdiv (node 2, inputs [2] [3,1]) "
                      "produced inf at element 2");
    ad_tape_free(t);
}

Test(numeric, anomaly_mode_catches_log_of_zero_forward_and_an_infinite_gradient_backward)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){1, 2, 0});
    cr_assert(!ad_tensor_ok(ad_tlog(x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_tlog: anomaly in the forward sweep: op tlog (node 1");
    ad_tape_reset(t);
    /* log(1e-310) = -713.8 is finite; its derivative 1/x = 1e310 is not */
    x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 1e-310});
    ad_tensor y = ad_sum(ad_tlog(x));
    cr_assert(ad_tensor_ok(y));
    cr_assert_eq(ad_backward(y), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC,
                      "ad_backward: anomaly in the backward sweep: op tlog (node 1, inputs [2])");
    ad_tape_free(t);
}

Test(numeric, anomaly_mode_catches_scalar_division_by_zero_and_log_of_zero)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_scalar x = ad_variable(t, 1.0), z = ad_variable(t, 0.0);
    ad_scalar ok = ad_mul(x, x);
    cr_assert(ad_scalar_ok(ok), "finite values pass");
    cr_assert(!ad_scalar_ok(ad_div(x, z)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_div: anomaly in the forward sweep: scalar record 4");
    ad_tape_reset(t);
    z = ad_variable(t, 0.0);
    cr_assert(!ad_scalar_ok(ad_log(z)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_log: anomaly in the forward sweep");
    ad_tape_free(t);
}

Test(numeric, anomaly_mode_off_again_restores_the_inline_scalar_fast_path)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_tape_set_anomaly(t, false);
    ad_scalar z = ad_variable(t, 0.0);
    ad_scalar q = ad_div(ad_variable(t, 1.0), z);
    cr_assert(ad_scalar_ok(q) && isinf(ad_value(q)));
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

Test(numeric, anomaly_mode_catches_a_scalar_adjoint_that_overflows_in_the_backward_sweep)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_scalar x = ad_variable(t, 1e-300);
    ad_scalar w = ad_scale(ad_scale(x, 1e300), 1e300); /* finite values and partials */
    cr_assert(ad_scalar_ok(w));
    cr_assert_eq(ad_backward_scalar(w), AD_ERR_NUMERIC); /* dw/dx = 1e600 */
    ASSERT_TAPE_ERROR(
        t, AD_ERR_NUMERIC,
        "ad_backward_scalar: anomaly in the backward sweep: scalar record 1 has adjoint inf");
    ad_tape_free(t);
}

/* A constant operand's partial is never used: pow(0, x) has the base
 * partial x 0^(x-1) = inf at x = 0.5, which is no anomaly. */
Test(numeric, anomaly_mode_ignores_the_partial_of_a_constant_operand)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_scalar x = ad_variable(t, 0.5);
    ad_scalar y = ad_pow(ad_constant(t, 0.0), x);
    cr_assert(ad_scalar_ok(y));
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    cr_assert_eq(ad_grad(x), 0.0);
    ad_tape_free(t);
}

Test(numeric, anomaly_mode_catches_a_variable_that_is_nan)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_scalar x = ad_variable(t, (double)NAN);
    cr_assert(!ad_scalar_ok(x));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_variable: anomaly in the forward sweep: variable");
    ad_tape_free(t);
}
