/* SPDX-License-Identifier: MIT
 * Activations (ops/activation.c): gradients against central differences,
 * empty tensors, values and derivatives against formulas written out here,
 * float32 against float64, extreme inputs, and error paths. */
#include "unary_check.h"

static ad_tensor leaky_0_1(ad_tensor x)
{
    return ad_leaky_relu(x, 0.1);
}

#define ACTIVATION_TESTS(name, code, fn, public_name, lo, hi, both)                                \
    static const unary_case name##_case = {public_name, fn, lo, hi, both};                         \
    GRADCHECK_TEST(activation, name##_gradient_matches_central_differences_over_shapes, code)      \
    {                                                                                              \
        check_unary_gradients(&name##_case);                                                       \
    }                                                                                              \
    Test(activation, name##_of_empty_tensors_is_empty_and_sweeps_without_error)                    \
    {                                                                                              \
        check_unary_empty(&name##_case);                                                           \
    }                                                                                              \
    Test(activation, name##_in_float32_matches_float64)                                            \
    {                                                                                              \
        check_unary_dtypes(&name##_case);                                                          \
    }                                                                                              \
    Test(activation, name##_fails_cleanly_on_stale_invalid_and_tapeless_handles)                   \
    {                                                                                              \
        check_unary_errors(&name##_case);                                                          \
    }

ACTIVATION_TESTS(sigmoid, AD_OP_SIGMOID, ad_tsigmoid, "ad_tsigmoid", -4.0, 4.0, false)
ACTIVATION_TESTS(tanh, AD_OP_TANH, ad_ttanh, "ad_ttanh", -3.0, 3.0, false)
ACTIVATION_TESTS(relu, AD_OP_RELU, ad_relu, "ad_relu", 0.1, 2.0, true)
ACTIVATION_TESTS(leaky_relu, AD_OP_LEAKY_RELU, leaky_0_1, "ad_leaky_relu", 0.1, 2.0, true)
ACTIVATION_TESTS(softplus, AD_OP_SOFTPLUS, ad_softplus, "ad_softplus", -4.0, 4.0, false)
ACTIVATION_TESTS(swish, AD_OP_SWISH, ad_swish, "ad_swish", -4.0, 4.0, false)
ACTIVATION_TESTS(mish, AD_OP_MISH, ad_mish, "ad_mish", -4.0, 4.0, false)
ACTIVATION_TESTS(gelu, AD_OP_GELU, ad_gelu, "ad_gelu", -4.0, 4.0, false)

/* Plain textbook formulas, fine for the moderate inputs used here. */
static double ref_sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}
static double ref_softplus(double x)
{
    return log(1.0 + exp(x));
}
static double ref_phi_cdf(double x)
{
    return 0.5 * (1.0 + erf(x / sqrt(2.0)));
}

#define NX 7
static const double xs[NX] = {-3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 2.5};

/* Checks op against y = f(x), y' = df(x) at xs. */
static void check_formula(unop op, double (*f)(double), double (*df)(double), double tol)
{
    double y[NX], g[NX];
    for (size_t i = 0; i < NX; i++) {
        y[i] = f(xs[i]);
        g[i] = df(xs[i]);
    }
    check_unary_values(op, NX, xs, y, g, tol);
}

static double d_sigmoid(double x)
{
    return ref_sigmoid(x) * (1.0 - ref_sigmoid(x));
}
static double d_tanh(double x)
{
    return 1.0 / (cosh(x) * cosh(x));
}
static double swish_ref(double x)
{
    return x * ref_sigmoid(x);
}
static double d_swish(double x)
{
    return ref_sigmoid(x) + x * d_sigmoid(x);
}
static double mish_ref(double x)
{
    return x * tanh(ref_softplus(x));
}
static double d_mish(double x)
{
    double u = tanh(ref_softplus(x));
    return u + x * (1.0 - u * u) * ref_sigmoid(x);
}
static double gelu_ref(double x)
{
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}
static double d_gelu(double x)
{
    return ref_phi_cdf(x) + x * exp(-0.5 * x * x) / sqrt(2.0 * 3.14159265358979323846);
}

Test(activation, sigmoid_tanh_and_softplus_match_their_formulas)
{
    check_formula(ad_tsigmoid, ref_sigmoid, d_sigmoid, 1e-15);
    check_formula(ad_ttanh, tanh, d_tanh, 1e-15);
    check_formula(ad_softplus, ref_softplus, ref_sigmoid, 1e-15);
}

Test(activation, swish_mish_and_gelu_match_their_formulas)
{
    check_formula(ad_swish, swish_ref, d_swish, 1e-15);
    check_formula(ad_mish, mish_ref, d_mish, 1e-14);
    check_formula(ad_gelu, gelu_ref, d_gelu, 1e-15);
}

Test(activation, known_values_by_hand)
{
    /* sigmoid(+-log 3) = 3/4, 1/4; softplus(0) = log 2; gelu(1) = Phi(1) */
    check_unary_values(ad_tsigmoid, 3, (double[]){0, log(3.0), -log(3.0)},
                       (double[]){0.5, 0.75, 0.25}, (double[]){0.25, 0.1875, 0.1875}, 1e-15);
    check_unary_values(ad_softplus, 1, (double[]){0}, (double[]){log(2.0)}, (double[]){0.5}, 1e-15);
    check_unary_values(ad_gelu, 3, (double[]){0, 1, -1},
                       (double[]){0, 0.8413447460685429, -0.15865525393145707},
                       (double[]){0.5, 1.0833154705876864, -0.0833154705876864}, 1e-15);
}

Test(activation, relu_and_leaky_relu_take_slope_zero_and_slope_at_the_kink)
{
    const double x[3] = {-2, 0, 3};
    check_unary_values(ad_relu, 3, x, (double[]){0, 0, 3}, (double[]){0, 0, 1}, 0);
    check_unary_values(leaky_0_1, 3, x, (double[]){-0.2, 0, 3}, (double[]){0.1, 0.1, 1}, 1e-16);
}

/* Tails where the textbook formulas lose everything: sigmoid(-100) = e^-100
 * to full relative precision, softplus(-50) = e^-50, gelu(-10) = -10 Phi(-10). */
Test(activation, tails_keep_full_relative_precision)
{
    check_unary_values(ad_tsigmoid, 1, (double[]){-100}, (double[]){exp(-100.0)},
                       (double[]){exp(-100.0)}, 0);
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, (double[]){-100, -50, -10});
    double s = ad_tensor_get(ad_tsigmoid(x), 0), sp = ad_tensor_get(ad_softplus(x), 1);
    double ge = ad_tensor_get(ad_gelu(x), 2);
    cr_assert(fabs(s / exp(-100.0) - 1) < 1e-14, "sigmoid(-100) = %.17g", s);
    cr_assert(fabs(sp / exp(-50.0) - 1) < 1e-14, "softplus(-50) = %.17g", sp);
    const double phi_m10 = 7.6198530241605260659733432515993e-24; /* Phi(-10) */
    cr_assert(fabs(ge / (-10 * phi_m10) - 1) < 1e-13, "gelu(-10) = %.17g", ge);
    ad_tape_free(t);
}

/* +-1e4 overflows e^x; every activation must stay finite, value and
 * gradient, in both dtypes. */
Test(activation, extreme_inputs_give_finite_values_and_gradients_in_both_dtypes)
{
    static const unary_case all[] = {
        {"ad_tsigmoid", ad_tsigmoid, 0, 0, false}, {"ad_ttanh", ad_ttanh, 0, 0, false},
        {"ad_relu", ad_relu, 0, 0, false},         {"ad_leaky_relu", leaky_0_1, 0, 0, false},
        {"ad_softplus", ad_softplus, 0, 0, false}, {"ad_swish", ad_swish, 0, 0, false},
        {"ad_mish", ad_mish, 0, 0, false},         {"ad_gelu", ad_gelu, 0, 0, false},
    };
    const double big[4] = {1e4, -1e4, 800, -800};
    const float bigf[4] = {1e4f, -1e4f, 800.0f, -800.0f};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        for (int dt = 0; dt < 2; dt++) {
            ad_tape *t = ad_tape_new();
            ad_tensor x = ad_tensor_variable(t, dt ? AD_F64 : AD_F32, 1, (size_t[]){4},
                                             dt ? (const void *)big : (const void *)bigf);
            ad_tensor y = all[k].op(x);
            double seed[4] = {1, 1, 1, 1};
            cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
            for (size_t i = 0; i < 4; i++) {
                double g = dt ? ((const double *)ad_tensor_grad(x))[i]
                              : (double)((const float *)ad_tensor_grad(x))[i];
                cr_assert(isfinite(ad_tensor_get(y, i)) && isfinite(g),
                          "%s(%g) in %s: value %g, gradient %g", all[k].name, big[i],
                          dt ? "float64" : "float32", ad_tensor_get(y, i), g);
            }
            ad_tape_free(t);
        }
    }
}

/* At +-Inf GELU and its derivative take their limits: gelu(Inf) = Inf,
 * gelu(-Inf) = -0, gelu'(Inf) = 1, gelu'(-Inf) = 0 (x Phi(x) and x phi(x)
 * once gave Inf * 0 = NaN there). Both dtypes. */
Test(activation, gelu_and_its_gradient_take_their_limits_at_infinity)
{
    for (int dt = 0; dt < 2; dt++) {
        ad_tape *t = ad_tape_new();
        const double v[2] = {HUGE_VAL, -HUGE_VAL};
        const float vf[2] = {INFINITY, -INFINITY};
        ad_tensor x = ad_tensor_variable(t, dt ? AD_F64 : AD_F32, 1, (size_t[]){2},
                                         dt ? (const void *)v : (const void *)vf);
        ad_tensor y = ad_gelu(x);
        cr_assert_eq(ad_backward_seeded(y, (double[]){1, 1}), AD_OK);
        double g0 = dt ? ((const double *)ad_tensor_grad(x))[0]
                       : (double)((const float *)ad_tensor_grad(x))[0];
        double g1 = dt ? ((const double *)ad_tensor_grad(x))[1]
                       : (double)((const float *)ad_tensor_grad(x))[1];
        const char *dn = dt ? "float64" : "float32";
        cr_assert(isinf(ad_tensor_get(y, 0)) && ad_tensor_get(y, 0) > 0, "%s gelu(Inf) = %g", dn,
                  ad_tensor_get(y, 0));
        cr_assert(ad_tensor_get(y, 1) == 0 && signbit(ad_tensor_get(y, 1)), "%s gelu(-Inf) = %g",
                  dn, ad_tensor_get(y, 1));
        cr_assert(g0 == 1 && g1 == 0, "%s gelu'(+-Inf) = %g, %g", dn, g0, g1);
        ad_tape_free(t);
    }
}

Test(activation, sigmoid_and_softplus_saturate_exactly_at_plus_minus_1e4)
{
    for (int dt = 0; dt < 2; dt++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = dt ? ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){1e4, -1e4})
                         : ad_tensor_new(t, AD_F32, 1, (size_t[]){2}, (float[]){1e4f, -1e4f});
        ad_tensor s = ad_tsigmoid(x), sp = ad_softplus(x);
        cr_assert_eq(ad_tensor_get(s, 0), 1.0);
        cr_assert_eq(ad_tensor_get(s, 1), 0.0);
        cr_assert_eq(ad_tensor_get(sp, 0), 1e4);
        cr_assert_eq(ad_tensor_get(sp, 1), 0.0);
        ad_tape_free(t);
    }
}

Test(activation, anomaly_mode_finds_nothing_in_activations_of_extreme_inputs)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_tensor x =
        ad_tensor_variable(t, AD_F32, 1, (size_t[]){4}, (float[]){1e4f, -1e4f, 88.0f, -104.0f});
    ad_tensor y = ad_gelu(ad_mish(ad_swish(ad_softplus(ad_tsigmoid(x)))));
    double seed[4] = {1, 1, 1, 1};
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    cr_assert_eq(ad_backward_seeded(ad_tsigmoid(ad_softplus(x)), seed), AD_OK);
    ad_tape_free(t);
}

/* Slopes in the tails, where y (1 - y) and 1 - y^2 cancel to 0: full
 * relative precision in both dtypes, the same as the scalar ops give. */
Test(activation, sigmoid_and_tanh_slopes_keep_their_precision_in_the_tails)
{
    const double pts[] = {-40, -18, -9, -3, -0.5, 0, 0.5, 3, 9, 18, 40};
    enum { N = sizeof pts / sizeof pts[0] };
    float xf[N];
    for (size_t i = 0; i < N; i++)
        xf[i] = (float)pts[i];
    ad_tape *t = ad_tape_new();
    for (int f32 = 0; f32 <= 1; f32++)
        for (int which = 0; which < 2; which++) {
            ad_tensor x = f32 ? ad_tensor_variable(t, AD_F32, 1, (size_t[]){N}, xf)
                              : ad_tensor_variable(t, AD_F64, 1, (size_t[]){N}, pts);
            cr_assert_eq(ad_backward(ad_sum(which ? ad_ttanh(x) : ad_tsigmoid(x))), AD_OK);
            for (size_t i = 0; i < N; i++) {
                long double e = expl(-(which ? 2.0L : 1.0L) * fabsl((long double)pts[i]));
                double want = (double)((which ? 4 : 1) * e / ((1 + e) * (1 + e)));
                double got = f32 ? (double)((const float *)ad_tensor_grad(x))[i]
                                 : ((const double *)ad_tensor_grad(x))[i];
                double tol = f32 ? 2e-6 : 4e-16;
                if (f32 && want < 1e-37) tol = 1.0; /* below float's normal range */
                cr_assert(fabs(got - want) <= tol * want, "%s %s'(%g): %.9g vs %.9g",
                          f32 ? "f32" : "f64", which ? "tanh" : "sigmoid", pts[i], got, want);
            }
        }
    ad_tape_free(t);
}

/* x (n doubles, converted for float32) as a variable of dtype dt; runs
 * op, sweeps with dL/dy = 1 and copies y and dL/dx out as doubles. */
static void run_seeded_ones(unop op, ad_dtype dt, size_t n, const double *x, double *y, double *g)
{
    float xf[64];
    double seed[64];
    cr_assert(n <= 64);
    for (size_t i = 0; i < n; i++) {
        xf[i] = (float)x[i];
        seed[i] = 1.0;
    }
    ad_tape *t = ad_tape_new();
    ad_tensor v = ad_tensor_variable(t, dt, 1, &n, dt == AD_F32 ? (const void *)xf : x);
    ad_tensor out = op(v);
    cr_assert(ad_tensor_ok(out));
    cr_assert_eq(ad_backward_seeded(out, seed), AD_OK);
    for (size_t i = 0; i < n; i++) {
        y[i] = ad_tensor_get(out, i);
        g[i] = dt == AD_F32 ? (double)((const float *)ad_tensor_grad(v))[i]
                            : ((const double *)ad_tensor_grad(v))[i];
    }
    ad_tape_free(t);
}

/* NaN is data (the header's rule): relu and leaky relu keep it in the value
 * (relu(NaN) was 0, as if the NaN were negative) and make the gradient
 * through it NaN, as ad_fabs does, instead of 0 or slope. Other elements are
 * untouched. 37 elements with NaN at several offsets, so the vectorised
 * loop bodies and their scalar tails each meet one; both dtypes. */
Test(activation, relu_and_leaky_relu_propagate_nan_into_value_and_gradient)
{
    enum { N = 37 };
    double x[N], y[N], g[N];
    for (size_t i = 0; i < N; i++)
        x[i] = i % 5 == 2 || i == N - 1 ? (double)NAN : (i % 2 ? -0.25 : 0.5) * (double)(i + 1);
    for (int dt = 0; dt < 2; dt++) {
        const char *dn = dt ? "float64" : "float32";
        for (int leaky = 0; leaky < 2; leaky++) {
            run_seeded_ones(leaky ? leaky_0_1 : ad_relu, dt ? AD_F64 : AD_F32, N, x, y, g);
            const char *on = leaky ? "leaky_relu" : "relu";
            for (size_t i = 0; i < N; i++) {
                if (isnan(x[i])) {
                    cr_assert(isnan(y[i]) && isnan(g[i]), "%s %s(NaN) [%zu]: value %g, slope %g",
                              dn, on, i, y[i], g[i]);
                    continue;
                }
                double slope = x[i] > 0 ? 1.0 : leaky ? 0.1 : 0.0;
                double want = x[i] * slope;
                cr_assert(fabs(y[i] - want) <= 1e-6 * fabs(want) && fabs(g[i] - slope) <= 1e-7,
                          "%s %s(%g): value %g, slope %g", dn, on, x[i], y[i], g[i]);
            }
        }
    }
}

/* swish and mish at +-Inf take their limits, in value and slope: f(Inf) =
 * Inf, f(-Inf) = 0, f'(Inf) = 1, f'(-Inf) = 0 (x s(x) and x (1 - s) were
 * Inf * 0 = NaN there). Large finite inputs, where the factor saturates,
 * give the same limits, finite. Both dtypes. */
Test(activation, swish_and_mish_take_their_limits_at_infinity_and_large_inputs)
{
    static const unary_case ops[] = {{"ad_swish", ad_swish, 0, 0, false},
                                     {"ad_mish", ad_mish, 0, 0, false}};
    for (size_t k = 0; k < 2; k++)
        for (int dt = 0; dt < 2; dt++) {
            const double big = dt ? 1e308 : 3e38; /* near each dtype's largest */
            const double x[6] = {HUGE_VAL, -HUGE_VAL, 1e3, -1e3, big, -big};
            double y[6], g[6];
            run_seeded_ones(ops[k].op, dt ? AD_F64 : AD_F32, 6, x, y, g);
            for (size_t i = 0; i < 6; i++) {
                double xi = dt ? x[i] : (double)(float)x[i];
                bool pos = xi > 0;
                cr_assert(pos ? y[i] == xi : y[i] == 0, "%s %s(%g) = %g",
                          dt ? "float64" : "float32", ops[k].name, xi, y[i]);
                cr_assert(g[i] == (pos ? 1 : 0), "%s %s'(%g) = %g", dt ? "float64" : "float32",
                          ops[k].name, xi, g[i]);
            }
        }
}
