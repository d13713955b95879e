/* SPDX-License-Identifier: MIT
 * Elementwise unary ops (ops/unary.c): neg, exp, log, sqrt, square, abs,
 * scale, addc, log1p, expm1, log2, log10, erf, erfc, reciprocal, powc. Gradients against central
 * differences, empty tensors, hand values, float32 against float64, and error paths. */
#include "unary_check.h"

static ad_tensor scale_m2_5(ad_tensor x)
{
    return ad_tscale(x, -2.5);
}

static ad_tensor addc_0_75(ad_tensor x)
{
    return ad_taddc(x, 0.75);
}

static ad_tensor powc_2_5(ad_tensor x)
{
    return ad_tpowc(x, 2.5);
}
static ad_tensor powc_3(ad_tensor x)
{
    return ad_tpowc(x, 3.0);
}
static ad_tensor powc_m1_5(ad_tensor x)
{
    return ad_tpowc(x, -1.5);
}
static ad_tensor powc_2(ad_tensor x)
{
    return ad_tpowc(x, 2.0);
}
static ad_tensor powc_1(ad_tensor x)
{
    return ad_tpowc(x, 1.0);
}
static ad_tensor powc_m1(ad_tensor x)
{
    return ad_tpowc(x, -1.0);
}
static ad_tensor powc_0(ad_tensor x)
{
    return ad_tpowc(x, 0.0);
}
static ad_tensor powc_0_5(ad_tensor x)
{
    return ad_tpowc(x, 0.5);
}

#define UNARY_TESTS(name, code, fn, public_name, lo, hi, both)                                     \
    UNARY_CASE_TESTS(unary, name, code, fn, public_name, lo, hi, both)

UNARY_TESTS(neg, AD_OP_NEG, ad_tneg, "ad_tneg", -2.0, 2.0, false)
UNARY_TESTS(exp, AD_OP_EXP, ad_texp, "ad_texp", -2.0, 2.0, false)
UNARY_TESTS(log, AD_OP_LOG, ad_tlog, "ad_tlog", 0.2, 3.0, false)
UNARY_TESTS(sqrt, AD_OP_SQRT, ad_tsqrt, "ad_tsqrt", 0.2, 3.0, false)
UNARY_TESTS(square, AD_OP_SQUARE, ad_tsquare, "ad_tsquare", -2.0, 2.0, false)
UNARY_TESTS(abs, AD_OP_ABS, ad_tabs, "ad_tabs", 0.1, 2.0, true)
UNARY_TESTS(scale, AD_OP_SCALE, scale_m2_5, "ad_tscale", -2.0, 2.0, false)
UNARY_TESTS(addc, AD_OP_ADDC, addc_0_75, "ad_taddc", -2.0, 2.0, false)
UNARY_TESTS(log1p, AD_OP_LOG1P, ad_tlog1p, "ad_tlog1p", -0.6, 3.0, false)
UNARY_TESTS(expm1, AD_OP_EXPM1, ad_texpm1, "ad_texpm1", -2.0, 2.0, false)
UNARY_TESTS(log2, AD_OP_LOG2, ad_tlog2, "ad_tlog2", 0.2, 3.0, false)
UNARY_TESTS(log10, AD_OP_LOG10, ad_tlog10, "ad_tlog10", 0.2, 3.0, false)
UNARY_TESTS(erf, AD_OP_ERF, ad_terf, "ad_terf", -2.0, 2.0, false)
UNARY_TESTS(erfc, AD_OP_ERFC, ad_terfc, "ad_terfc", -2.0, 2.0, false)
UNARY_TESTS(reciprocal, AD_OP_RECIPROCAL, ad_treciprocal, "ad_treciprocal", 0.3, 2.0, true)
/* powc: pow's general path (positive x), an integer exponent over both
 * signs, and the exponents with their own paths (2, 1, -1, 0, 0.5) */
UNARY_TESTS(powc_2_5, AD_OP_POWC, powc_2_5, "ad_tpowc", 0.2, 3.0, false)
UNARY_TESTS(powc_3, AD_OP_POWC, powc_3, "ad_tpowc", 0.2, 2.0, true)
UNARY_TESTS(powc_m1_5, AD_OP_POWC, powc_m1_5, "ad_tpowc", 0.3, 3.0, false)
UNARY_TESTS(powc_2, AD_OP_POWC, powc_2, "ad_tpowc", 0.2, 2.0, true)
UNARY_TESTS(powc_1, AD_OP_POWC, powc_1, "ad_tpowc", -2.0, 2.0, false)
UNARY_TESTS(powc_m1, AD_OP_POWC, powc_m1, "ad_tpowc", 0.3, 2.0, true)
UNARY_TESTS(powc_0, AD_OP_POWC, powc_0, "ad_tpowc", -2.0, 2.0, false)
UNARY_TESTS(powc_0_5, AD_OP_POWC, powc_0_5, "ad_tpowc", 0.2, 3.0, false)

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
        x[i] = i % 4 == 1 ? NAN_D : (i % 2 ? -1.0 : 1.0) * (double)i;
        xf[i] = (float)x[i];
    }
    ad_tape *t = ad_tape_new();
    ad_scalar a = ad_variable(t, NAN_D);
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
            double want = x[i] > 0 ? 1 : x[i] < 0 ? -1 : x[i] == 0 ? 0 : NAN_D;
            cr_assert(isnan(want) ? isnan(g) && isnan(ad_tensor_get(y, i)) : g == want,
                      "%s abs'(%g) = %g", dt ? "float64" : "float32", x[i], g);
        }
    }
    ad_tape_free(t);
}

#define LN2  0.69314718055994530942
#define LN10 2.30258509299404568402
#define E1   2.71828182845904523536

Test(unary, log_and_exp_variants_match_hand_values)
{
    /* log1p and expm1 keep the precision log(1 + x) and e^x - 1 lose */
    check_unary_values(ad_tlog1p, 3, (double[]){1e-10, 1, -1},
                       (double[]){9.9999999995e-11, 0.69314718055994531, -INF_D},
                       (double[]){1 / (1 + 1e-10), 0.5, INF_D}, 1e-15);
    check_unary_values(ad_texpm1, 3, (double[]){1e-10, 1, -INF_D},
                       (double[]){1.00000000005e-10, 1.7182818284590452, -1},
                       (double[]){1 + 1e-10, 2.7182818284590452, 0}, 1e-15);
    /* log2 and log10 are exact at powers of their base */
    check_unary_values(ad_tlog2, 4, (double[]){8, 0.125, 1, 0}, (double[]){3, -3, 0, -INF_D},
                       (double[]){1 / (8 * LN2), 8 / LN2, 1 / LN2, INF_D}, 0);
    check_unary_values(ad_tlog10, 3, (double[]){1000, 0.01, -1}, (double[]){3, -2, NAN_D},
                       (double[]){1 / (1000 * LN10), 100 / LN10, -1 / LN10}, 1e-15);
}

Test(unary, erf_erfc_and_reciprocal_match_hand_values)
{
    const double k = 1.1283791670955126; /* 2 / sqrt(pi) */
    check_unary_values(ad_terf, 4, (double[]){0, 1, -0.5, INF_D},
                       (double[]){0, 0.84270079294971487, -0.52049987781304654, 1},
                       (double[]){k, k / E1, k * exp(-0.25), 0}, 1e-15);
    /* erfc(10) = 2.1e-45 is far below 1 - erf(10) = 0's resolution */
    check_unary_values(ad_terfc, 3, (double[]){0, 10, -INF_D},
                       (double[]){1, 2.0884875837625448e-45, 2}, (double[]){-k, -k * exp(-100), 0},
                       1e-14);
    /* reciprocal'(+-0) = -Inf: the slope -1/x^2 from either side */
    check_unary_values(ad_treciprocal, 4, (double[]){2, -0.5, 0, -0.0},
                       (double[]){0.5, -2, INF_D, -INF_D}, (double[]){-0.25, -4, -INF_D, -INF_D},
                       0);
}

Test(unary, powc_matches_pow_and_takes_the_limits_at_its_edges)
{
    check_unary_values(powc_2_5, 3, (double[]){4, 1, 0}, (double[]){32, 1, 0},
                       (double[]){20, 2.5, 0}, 1e-15);
    check_unary_values(powc_3, 2, (double[]){-2, 0.5}, (double[]){-8, 0.125}, (double[]){12, 0.75},
                       1e-15);
    /* sqrt's slope at 0 is +Inf; a negative x with a fractional exponent is NaN */
    check_unary_values(powc_0_5, 3, (double[]){4, 0, -1}, (double[]){2, 0, NAN_D},
                       (double[]){0.25, INF_D, NAN_D}, 1e-15);
    /* x^0 = 1 everywhere, 0^0 included, and its slope is 0 */
    check_unary_values(powc_0, 3, (double[]){0, -3, 2}, (double[]){1, 1, 1}, (double[]){0, 0, 0},
                       0);
    check_unary_values(powc_m1, 2, (double[]){4, -0.5}, (double[]){0.25, -2},
                       (double[]){-0.0625, -4}, 1e-15);
    check_unary_values(powc_m1_5, 1, (double[]){4}, (double[]){0.125}, (double[]){-0.046875},
                       1e-15);
}
