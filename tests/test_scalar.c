/* SPDX-License-Identifier: MIT
 * Scalar ops: every op's derivative against its analytic form at many points,
 * central differences through ad_gradcheck, the documented conventions at
 * non-differentiable points, and the drivers (gradient, Jacobian). */
#include "common.h"

#include <math.h>

typedef ad_scalar (*unary_op)(ad_scalar);
typedef struct {
    const char *name;
    unary_op op;
    double (*f)(double);
    double (*df)(double);
    double lo, hi; /* domain sampled */
} unary_case;

static double d_exp(double x)
{
    return exp(x);
}
static double d_expm1(double x)
{
    return exp(x);
}
static double d_log(double x)
{
    return 1 / x;
}
static double d_log1p(double x)
{
    return 1 / (1 + x);
}
static double d_sqrt(double x)
{
    return 0.5 / sqrt(x);
}
static double d_cbrt(double x)
{
    return 1 / (3 * cbrt(x) * cbrt(x));
}
static double d_sin(double x)
{
    return cos(x);
}
static double d_cos(double x)
{
    return -sin(x);
}
static double d_tan(double x)
{
    return 1 / (cos(x) * cos(x));
}
static double d_asin(double x)
{
    return 1 / sqrt(1 - x * x);
}
static double d_acos(double x)
{
    return -1 / sqrt(1 - x * x);
}
static double d_atan(double x)
{
    return 1 / (1 + x * x);
}
static double d_sinh(double x)
{
    return cosh(x);
}
static double d_cosh(double x)
{
    return sinh(x);
}
static double d_tanh(double x)
{
    return 1 / (cosh(x) * cosh(x));
}
static double d_erf(double x)
{
    return 1.1283791670955126 * exp(-x * x);
}
static double d_fabs(double x)
{
    return x > 0 ? 1 : -1;
}
static double sigm(double x)
{
    return 1 / (1 + exp(-x));
}
static double d_sigm(double x)
{
    return sigm(x) * (1 - sigm(x));
}
static double sq(double x)
{
    return x * x;
}
static double d_sq(double x)
{
    return 2 * x;
}
static double negf(double x)
{
    return -x;
}
static double d_neg(double x)
{
    (void)x;
    return -1;
}

static const unary_case unary_cases[] = {
    {"exp", ad_exp, exp, d_exp, -5, 5},           {"expm1", ad_expm1, expm1, d_expm1, -5, 5},
    {"log", ad_log, log, d_log, 0.01, 50},        {"log1p", ad_log1p, log1p, d_log1p, -0.9, 50},
    {"sqrt", ad_sqrt, sqrt, d_sqrt, 0.01, 50},    {"cbrt", ad_cbrt, cbrt, d_cbrt, 0.1, 50},
    {"sin", ad_sin, sin, d_sin, -7, 7},           {"cos", ad_cos, cos, d_cos, -7, 7},
    {"tan", ad_tan, tan, d_tan, -1.5, 1.5},       {"asin", ad_asin, asin, d_asin, -0.99, 0.99},
    {"acos", ad_acos, acos, d_acos, -0.99, 0.99}, {"atan", ad_atan, atan, d_atan, -20, 20},
    {"sinh", ad_sinh, sinh, d_sinh, -5, 5},       {"cosh", ad_cosh, cosh, d_cosh, -5, 5},
    {"tanh", ad_tanh, tanh, d_tanh, -5, 5},       {"erf", ad_erf, erf, d_erf, -4, 4},
    {"fabs", ad_fabs, fabs, d_fabs, 0.01, 9},     {"sigmoid", ad_sigmoid, sigm, d_sigm, -30, 30},
    {"square", ad_square, sq, d_sq, -9, 9},       {"neg", ad_neg, negf, d_neg, -9, 9},
};

static void check_close(const char *what, double got, double want, double x)
{
    double tol = 1e-12 + 1e-10 * fabs(want);
    cr_assert(fabs(got - want) <= tol, "%s at x = %.17g: got %.17g, want %.17g", what, x, got,
              want);
}

Test(scalar, every_unary_op_matches_its_analytic_derivative_at_many_points)
{
    ad_tape *t = ad_tape_new();
    for (size_t c = 0; c < sizeof unary_cases / sizeof unary_cases[0]; c++) {
        const unary_case *u = &unary_cases[c];
        for (int k = 0; k <= 40; k++) {
            double x = u->lo + (u->hi - u->lo) * k / 40.0;
            if (u->op == ad_fabs && k % 2) x = -x; /* both sides of the kink */
            ad_tape_reset(t);
            ad_scalar v = ad_variable(t, x);
            ad_scalar y = u->op(v);
            cr_assert_eq(ad_backward_scalar(y), AD_OK);
            check_close(u->name, ad_value(y), u->f(x), x);
            check_close(u->name, ad_grad(v), u->df(x), x);
        }
    }
    ad_tape_free(t);
}

typedef struct {
    const char *name;
    ad_scalar (*op)(ad_scalar, ad_scalar);
    double (*f)(double, double);
    double (*da)(double, double);
    double (*db)(double, double);
} binary_case;

static double f_add(double a, double b)
{
    return a + b;
}
static double f_sub(double a, double b)
{
    return a - b;
}
static double f_mul(double a, double b)
{
    return a * b;
}
static double f_div(double a, double b)
{
    return a / b;
}
static double one(double a, double b)
{
    (void)a;
    (void)b;
    return 1;
}
static double mone(double a, double b)
{
    (void)a;
    (void)b;
    return -1;
}
static double sec(double a, double b)
{
    (void)a;
    return b;
}
static double fst(double a, double b)
{
    (void)b;
    return a;
}
static double div_da(double a, double b)
{
    (void)a;
    return 1 / b;
}
static double div_db(double a, double b)
{
    return -a / (b * b);
}
static double pow_da(double a, double b)
{
    return b * pow(a, b - 1);
}
static double pow_db(double a, double b)
{
    return pow(a, b) * log(a);
}
static double at2_da(double y, double x)
{
    return x / (x * x + y * y);
}
static double at2_db(double y, double x)
{
    return -y / (x * x + y * y);
}
static double hyp_da(double a, double b)
{
    return a / hypot(a, b);
}
static double hyp_db(double a, double b)
{
    return b / hypot(a, b);
}
static double fmin_da(double a, double b)
{
    return a <= b ? 1 : 0;
}
static double fmin_db(double a, double b)
{
    return a <= b ? 0 : 1;
}
static double fmax_da(double a, double b)
{
    return a >= b ? 1 : 0;
}
static double fmax_db(double a, double b)
{
    return a >= b ? 0 : 1;
}

static const binary_case binary_cases[] = {
    {"add", ad_add, f_add, one, one},           {"sub", ad_sub, f_sub, one, mone},
    {"mul", ad_mul, f_mul, sec, fst},           {"div", ad_div, f_div, div_da, div_db},
    {"pow", ad_pow, pow, pow_da, pow_db},       {"atan2", ad_atan2, atan2, at2_da, at2_db},
    {"hypot", ad_hypot, hypot, hyp_da, hyp_db}, {"fmin", ad_fmin, fmin, fmin_da, fmin_db},
    {"fmax", ad_fmax, fmax, fmax_da, fmax_db},
};

Test(scalar, every_binary_op_matches_its_analytic_partials_at_many_points)
{
    ad_tape *t = ad_tape_new();
    for (size_t c = 0; c < sizeof binary_cases / sizeof binary_cases[0]; c++) {
        const binary_case *u = &binary_cases[c];
        for (int i = 0; i < 9; i++)
            for (int j = 0; j < 9; j++) {
                double a = 0.3 + 0.7 * i, b = -3.1 + 0.77 * j; /* a > 0 keeps pow real */
                ad_tape_reset(t);
                ad_scalar va = ad_variable(t, a), vb = ad_variable(t, b);
                ad_scalar y = u->op(va, vb);
                cr_assert_eq(ad_backward_scalar(y), AD_OK);
                check_close(u->name, ad_value(y), u->f(a, b), a);
                check_close(u->name, ad_grad(va), u->da(a, b), a);
                check_close(u->name, ad_grad(vb), u->db(a, b), b);
            }
    }
    ad_tape_free(t);
}

Test(scalar, constant_side_ops_match_their_derivatives)
{
    ad_tape *t = ad_tape_new();
    double x = 1.7;
    typedef struct {
        ad_scalar y;
        double v, d;
    } expect;
    expect c[12];
    ad_scalar v = ad_variable(t, x);
    int n = 0;
    c[n++] = (expect){ad_addc(v, 2.0), x + 2, 1};
    c[n++] = (expect){ad_subc(v, 2.0), x - 2, 1};
    c[n++] = (expect){ad_rsub(2.0, v), 2 - x, -1};
    c[n++] = (expect){ad_scale(v, 3.0), 3 * x, 3};
    c[n++] = (expect){ad_divc(v, 4.0), x / 4, 0.25};
    c[n++] = (expect){ad_rdiv(2.0, v), 2 / x, -2 / (x * x)};
    c[n++] = (expect){ad_powc(v, 2.5), pow(x, 2.5), 2.5 * pow(x, 1.5)};
    c[n++] = (expect){ad_powi(v, 3), x * x * x, 3 * x * x};
    c[n++] = (expect){ad_powi(v, -2), 1 / (x * x), -2 / (x * x * x)};
    c[n++] = (expect){ad_powi(v, 0), 1, 0};
    c[n++] = (expect){ad_rpow(2.0, v), pow(2, x), pow(2, x) * log(2)};
    c[n++] = (expect){ad_custom2(v, ad_constant(t, 0), 5.0, 0.5, 0.0), 5.0, 0.5};
    for (int i = 0; i < n; i++) {
        cr_assert_eq(ad_backward_scalar(c[i].y), AD_OK);
        check_close("value", ad_value(c[i].y), c[i].v, i);
        check_close("grad", ad_grad(v), c[i].d, i);
    }
    ad_tape_free(t);
}

Test(scalar, integer_powers_of_negative_numbers_are_exact_and_differentiable)
{
    ad_tape *t = ad_tape_new();
    ad_scalar v = ad_variable(t, -1.5);
    ad_scalar y = ad_powi(v, 3);
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    cr_assert_eq(ad_value(y), -3.375);
    cr_assert_eq(ad_grad(v), 3 * 2.25);
    ad_tape_free(t);
}

Test(scalar, kinks_follow_the_documented_convention)
{
    ad_tape *t = ad_tape_new();
    ad_scalar z = ad_variable(t, 0.0);
    cr_assert_eq(ad_backward_scalar(ad_fabs(z)), AD_OK);
    cr_assert_eq(ad_grad(z), 0.0, "fabs'(0) is 0");
    ad_scalar a = ad_variable(t, 2.0), b = ad_variable(t, 2.0);
    cr_assert_eq(ad_backward_scalar(ad_fmin(a, b)), AD_OK);
    cr_assert_eq(ad_grad(a), 1.0, "fmin ties go to the first operand");
    cr_assert_eq(ad_grad(b), 0.0);
    cr_assert_eq(ad_backward_scalar(ad_fmax(a, b)), AD_OK);
    cr_assert_eq(ad_grad(a), 1.0, "fmax ties go to the first operand");
    cr_assert_eq(ad_grad(b), 0.0);
    ad_scalar o1 = ad_variable(t, 0.0), o2 = ad_variable(t, 0.0);
    cr_assert_eq(ad_backward_scalar(ad_hypot(o1, o2)), AD_OK);
    cr_assert_eq(ad_grad(o1), 0.0, "hypot at the origin uses the zero subgradient");
    ad_tape_free(t);
}

/* every scalar op in one function, so gradcheck covers them together */
static ad_scalar everything(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)ctx;
    (void)n;
    ad_scalar s = ad_constant(t, 0.0);
    s = ad_add(s, ad_mul(ad_exp(ad_scale(x[0], 0.3)), ad_log(ad_addc(ad_square(x[1]), 1.0))));
    s = ad_add(s, ad_div(ad_sin(x[2]), ad_addc(ad_cosh(x[0]), 0.5)));
    s = ad_add(s, ad_pow(ad_addc(ad_fabs(x[1]), 1.0), ad_tanh(x[2])));
    s = ad_add(s, ad_atan2(x[0], ad_addc(x[3], 3.0)));
    s = ad_add(s, ad_hypot(x[1], x[3]));
    s = ad_add(s, ad_mul(ad_erf(x[3]), ad_sigmoid(x[0])));
    s = ad_add(s, ad_mul(ad_sqrt(ad_addc(ad_square(x[2]), 1.0)), ad_cbrt(ad_addc(x[1], 5.0))));
    s = ad_add(s, ad_sub(ad_expm1(ad_scale(x[2], 0.1)), ad_log1p(ad_square(x[3]))));
    s = ad_add(s, ad_asin(ad_scale(ad_tanh(x[0]), 0.5)));
    s = ad_add(s, ad_acos(ad_scale(ad_tanh(x[1]), 0.5)));
    s = ad_add(s, ad_mul(ad_atan(x[2]), ad_tan(ad_scale(x[3], 0.2))));
    s = ad_add(s, ad_sinh(ad_scale(x[0], 0.5)));
    s = ad_add(s, ad_fmax(ad_cos(x[1]), ad_powi(x[2], 2)));
    s = ad_add(s, ad_fmin(ad_neg(x[3]), ad_powc(ad_addc(ad_fabs(x[0]), 1), 1.5)));
    s = ad_add(s, ad_rdiv(1.0, ad_addc(ad_square(x[0]), 2.0)));
    s = ad_add(s, ad_rpow(1.5, ad_divc(x[1], 3.0)));
    return ad_sub(ad_subc(s, 1.0), ad_rsub(2.0, x[0]));
}

Test(scalar, a_function_using_every_op_passes_gradcheck_at_many_points)
{
    for (int k = 0; k < 20; k++) {
        double x[4] = {-1.3 + 0.17 * k, 0.7 - 0.11 * k, 0.4 + 0.05 * k, -0.6 + 0.09 * k};
        ad_gradcheck_report r;
        ad_status s = ad_gradcheck(everything, 4, x, NULL, NULL, &r);
        cr_assert(s == AD_OK && r.passed, "k=%d: %s worst [%zu] analytic %.12g numeric %.12g", k,
                  ad_status_name(s), r.index, r.analytic, r.numeric);
        cr_assert_eq(r.checked, 4);
    }
}

static ad_scalar wrong_derivative(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t;
    (void)n;
    (void)ctx;
    /* claims d/dx x^2 = 3x: a hand derivation gone wrong */
    return ad_custom2(x[0], x[1], ad_value(x[0]) * ad_value(x[0]), 3 * ad_value(x[0]), 0.0);
}

Test(gradcheck, reports_the_worst_element_of_a_wrong_derivative)
{
    double x[2] = {2.0, 1.0};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(wrong_derivative, 2, x, NULL, NULL, &r), AD_ERR_GRADCHECK);
    cr_assert(!r.passed);
    cr_assert_eq(r.index, 0);
    cr_assert_float_eq(r.analytic, 6.0, 1e-12);
    cr_assert_float_eq(r.numeric, 4.0, 1e-6);
    cr_assert_float_eq(r.abs_err, 2.0, 1e-6);
    cr_assert_float_eq(r.rel_err, 2.0 / 6.0, 1e-6);
}

/* the textbook example: one linear neuron y = x1 w1 + x2 w2, training case
 * (1, 1, 0), E = (t - y)^2, so dE/dw_i = -2 (t - y) x_i = 2 (w1 + w2). */
static ad_scalar neuron_error(ad_tape *t, const ad_scalar *w, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_scalar x1 = ad_constant(t, 1.0), x2 = ad_constant(t, 1.0), target = ad_constant(t, 0.0);
    ad_scalar y = ad_add(ad_mul(x1, w[0]), ad_mul(x2, w[1]));
    ad_scalar e = ad_sub(target, y);
    return ad_mul(e, e);
}

Test(scalar, textbook_linear_neuron_gradient_is_twice_the_weight_sum)
{
    double w[2] = {0.3, -0.8}, g[2];
    double e = ad_gradient(neuron_error, 2, w, g, NULL);
    cr_assert_float_eq(e, 0.25, 1e-15);
    cr_assert_float_eq(g[0], 2 * (w[0] + w[1]), 1e-15);
    cr_assert_float_eq(g[1], 2 * (w[0] + w[1]), 1e-15);
}

typedef struct chain_ctx {
    size_t len;
    bool keep; /* a record per step; else every step folds into x's */
} chain_ctx;

static ad_scalar chain(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t;
    (void)n;
    const chain_ctx *c = ctx;
    ad_scalar s = x[0];
    for (size_t i = 0; i < c->len; i++) {
        s = ad_addc(ad_scale(ad_sin(s), 0.5), 0.5);
        if (c->keep) s = ad_keep(s);
    }
    return s;
}

Test(scalar, a_deep_chain_of_300000_ops_sweeps_without_recursion)
{
    chain_ctx c = {100000, true};
    double x = 0.3, g, ref = 1.0, v = x;
    for (size_t i = 0; i < c.len; i++) {
        ref *= 0.5 * cos(v);
        v = 0.5 * sin(v) + 0.5;
    }
    for (int keep = 1; keep >= 0; keep--) {
        c.keep = keep;
        double f = ad_gradient(chain, 1, &x, &g, &c);
        cr_assert_float_eq(f, v, 1e-12);
        cr_assert_float_eq(g, ref, 1e-300 + 1e-12 * fabs(ref), "keep %d: %g vs %g", keep, g, ref);
    }
}

/* With keep, u and the running sum have records, so the sweep adds into
 * u's adjoint 1000 times; without, all of it folds into x's record. */
static ad_scalar fan_out(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)n;
    bool keep = *(const bool *)ctx;
    ad_scalar u = ad_sin(x[0]); /* reused 1000 times */
    ad_scalar s = ad_constant(t, 0.0);
    if (keep) u = ad_keep(u);
    for (int i = 1; i <= 1000; i++) {
        s = ad_add(s, ad_scale(u, (double)i));
        if (keep) s = ad_keep(s);
    }
    return s;
}

Test(scalar, a_node_used_a_thousand_times_accumulates_every_use)
{
    for (int k = 0; k < 2; k++) {
        bool keep = k;
        double x = 0.4, g;
        double f = ad_gradient(fan_out, 1, &x, &g, &keep);
        cr_assert_float_eq(f, 500500.0 * sin(0.4), 1e-8);
        cr_assert_float_eq(g, 500500.0 * cos(0.4), 1e-8, "keep %d", k);
    }
}

static void polar(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y, size_t m, void *ctx)
{
    (void)t;
    (void)n;
    (void)m;
    (void)ctx;
    y[0] = ad_mul(x[0], ad_cos(x[1]));
    y[1] = ad_mul(x[0], ad_sin(x[1]));
    y[2] = ad_mul(x[0], x[0]);
}

Test(scalar, jacobian_of_polar_coordinates_matches_the_analytic_one)
{
    double x[2] = {2.0, 0.7}, J[6], y[3];
    cr_assert_eq(ad_jacobian(polar, 3, 2, x, J, y, NULL), AD_OK);
    double want[6] = {cos(0.7), -2 * sin(0.7), sin(0.7), 2 * cos(0.7), 4.0, 0.0};
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(J[i], want[i], 1e-14, "J[%d]", i);
    cr_assert_float_eq(y[0], 2 * cos(0.7), 1e-14);
    cr_assert_float_eq(y[2], 4.0, 1e-14);
}

Test(scalar, a_tape_swept_twice_with_different_seeds_scales_the_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 3.0);
    ad_scalar y = ad_mul(x, x);
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    cr_assert_eq(ad_grad(x), 6.0);
    cr_assert_eq(ad_backward_scalar_seeded(y, -2.0), AD_OK);
    cr_assert_eq(ad_grad(x), -12.0, "a new sweep starts from zero adjoints");
    ad_tape_free(t);
}

Test(scalar, records_made_after_a_sweep_report_zero_until_they_are_swept)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 3.0);
    cr_assert_eq(ad_backward_scalar(ad_mul(x, x)), AD_OK);
    cr_assert_eq(ad_grad(x), 6.0);
    ad_tape_reset(t); /* the next records reuse the same slots */
    ad_scalar x2 = ad_variable(t, 5.0);
    ad_scalar y2 = ad_keep(ad_mul(x2, x2)); /* a record of its own, not folded */
    cr_assert_eq(ad_grad(x2), 0.0, "not swept yet, not the old slot's 6");
    cr_assert_eq(ad_grad(y2), 0.0);
    cr_assert_eq(ad_grad(x), 0.0, "a handle from before the reset");
    /* recording goes on after a sweep: the new records start from zero too */
    cr_assert_eq(ad_backward_scalar(y2), AD_OK);
    ad_scalar z = ad_mul(y2, x2);
    cr_assert_eq(ad_grad(z), 0.0);
    cr_assert_eq(ad_backward_scalar(z), AD_OK);
    cr_assert_eq(ad_grad(x2), 75.0, "d(x^3)/dx at 5, with no trace of the first sweep");
    cr_assert_eq(ad_grad(z), 1.0);
    ad_tape_free(t);
}

Test(scalar, constants_cost_no_records_and_get_no_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_scalar c = ad_constant(t, 2.0);
    ad_scalar d = ad_mul(ad_add(c, c), c);
    cr_assert_eq(ad_tape_stats_get(t).scalar_nodes, 0);
    cr_assert_eq(ad_value(d), 8.0);
    cr_assert_eq(ad_backward_scalar(d), AD_OK);
    cr_assert_eq(ad_grad(c), 0.0);
    ad_tape_free(t);
}

Test(scalar, evaluation_mode_computes_values_without_recording)
{
    ad_tape *t = ad_tape_new();
    cr_assert(ad_tape_set_recording(t, false));
    ad_scalar x = ad_variable(t, 2.0);
    ad_scalar y = ad_exp(ad_mul(x, x));
    cr_assert_float_eq(ad_value(y), exp(4.0), 1e-12);
    cr_assert_eq(ad_tape_stats_get(t).scalar_nodes, 0);
    cr_assert(!ad_tape_set_recording(t, true));
    /* y depends on x, but nothing was recorded: refused, not zeros */
    cr_assert_eq(ad_backward_scalar(y), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_backward_scalar: the output was computed with recording off");
    cr_assert_eq(ad_grad(x), 0.0);
    ad_tape_free(t);
}

/* An output of constants alone depends on no variable, recorded or not: its
 * sweep is legal and gives zeros, in evaluation mode too. */
Test(scalar, a_constant_output_of_evaluation_mode_sweeps_to_zeros)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 2.0);
    ad_tape_set_recording(t, false);
    ad_scalar c = ad_mul(ad_constant(t, 3.0), ad_constant(t, 4.0));
    cr_assert_eq(ad_backward_scalar(c), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(ad_grad(x), 0.0);
    ad_tape_free(t);
}

/* A value computed with recording off joins a recorded expression as a
 * constant: the recorded path still carries its gradient. */
Test(scalar, an_unrecorded_value_used_with_recording_on_passes_no_gradient_of_its_own)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 2.0);
    ad_tape_set_recording(t, false);
    ad_scalar u = ad_exp(x); /* unrecorded */
    ad_tape_set_recording(t, true);
    ad_scalar y = ad_mul(u, x);
    cr_assert_eq(ad_backward_scalar(y), AD_OK, "%s", test_tape_msg(t));
    cr_assert_float_eq(ad_grad(x), exp(2.0), 1e-12, "only the recorded factor: %g", ad_grad(x));
    /* a folded value of an unrecorded one is unrecorded too */
    cr_assert_eq(ad_backward_scalar(ad_sin(u)), AD_ERR_INVALID);
    ad_tape_free(t);
}

/* A record the output does not depend on gets no adjoint, and its partials
 * must not matter: an infinite partial times a zero adjoint would be NaN
 * and reach every operand below it. */
Test(scalar, an_infinite_partial_off_the_outputs_path_leaves_the_gradient_alone)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 1.0);
    /* kept: records of their own, whose adjoints the test reads */
    ad_scalar zero = ad_keep(ad_sub(x, x));
    ad_scalar before = ad_keep(ad_log(zero)); /* -inf, partial 1/0 = +inf */
    ad_scalar y = ad_add(ad_scale(x, 2.0), ad_sin(x));
    ad_scalar after = ad_sqrt(zero);                     /* partial 0.5/0 = +inf */
    ad_scalar nan = ad_keep(ad_sqrt(ad_scale(x, -1.0))); /* NaN value and partial */
    cr_assert(isinf(ad_value(before)) && isnan(ad_value(nan)));
    (void)after;
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    cr_assert_float_eq(ad_grad(x), 2.0 + cos(1.0), 1e-15, "x: %g", ad_grad(x));
    cr_assert_eq(ad_grad(zero), 0.0);
    cr_assert_eq(ad_grad(before), 0.0);
    cr_assert_eq(ad_grad(nan), 0.0);
    /* the same tape swept from an output that does use them */
    cr_assert_eq(ad_backward_scalar(after), AD_OK);
    cr_assert(isinf(ad_grad(zero)), "d sqrt(z)/dz at 0: %g", ad_grad(zero));
    cr_assert(isnan(ad_grad(x)), "inf - inf through z = x - x: %g", ad_grad(x));
    ad_tape_free(t);
}

Test(scalar, an_infinite_partial_on_the_path_gives_an_infinite_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.0);
    ad_scalar y = ad_scale(ad_sqrt(x), 3.0);
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    cr_assert(isinf(ad_grad(x)) && ad_grad(x) > 0, "%g", ad_grad(x));
    ad_tape_free(t);
}

/* ad_chain_ (adtape/inline.h) tests a partial for zero without ==, so that
 * the header compiles under -Wfloat-equal: -0 must count as zero and NaN
 * must not, as for d == 0.0. sqrt at 0 folds the multiplier +inf into its
 * handle; a zero partial on top of it passes 0, not 0 * inf. */
Test(scalar, a_zero_partial_of_either_sign_stops_an_infinite_slope_and_a_nan_partial_does_not)
{
    const double c[] = {0.0, -0.0, (double)NAN};
    for (int k = 0; k < 3; k++) {
        ad_tape *t = ad_tape_new();
        ad_scalar x = ad_variable(t, 0.0);
        ad_scalar y = ad_keep(ad_scale(ad_sqrt(x), c[k]));
        cr_assert_eq(ad_backward_scalar(y), AD_OK);
        if (k < 2)
            cr_assert(ad_grad(x) == 0.0 && !signbit(ad_grad(x)), "c = %g: %g", c[k], ad_grad(x));
        else
            cr_assert(isnan(ad_grad(x)), "c = NaN: %g", ad_grad(x));
        ad_tape_free(t);
    }
}

/* fmin and fmax return the operand that is not NaN; so must the adjoint. */
Test(scalar, fmin_and_fmax_pass_the_adjoint_to_the_operand_they_return_when_one_is_nan)
{
    ad_tape *t = ad_tape_new();
    ad_scalar a = ad_variable(t, (double)NAN), b = ad_variable(t, 2.0);
    ad_scalar lo = ad_fmin(a, b), hi = ad_fmax(a, b);
    cr_assert_eq(ad_value(lo), 2.0);
    cr_assert_eq(ad_value(hi), 2.0);
    cr_assert_eq(ad_backward_scalar(lo), AD_OK);
    cr_assert(ad_grad(a) == 0.0 && ad_grad(b) == 1.0, "fmin: %g %g", ad_grad(a), ad_grad(b));
    cr_assert_eq(ad_backward_scalar(hi), AD_OK);
    cr_assert(ad_grad(a) == 0.0 && ad_grad(b) == 1.0, "fmax: %g %g", ad_grad(a), ad_grad(b));
    ad_scalar lo2 = ad_fmin(b, a); /* NaN second: as before, the first operand */
    cr_assert_eq(ad_backward_scalar(lo2), AD_OK);
    cr_assert(ad_grad(a) == 0.0 && ad_grad(b) == 1.0);
    ad_tape_free(t);
}

/* The value of a / b is C's a / b, not a * (1 / b). */
Test(scalar, division_gives_the_value_c_gives)
{
    ad_tape *t = ad_tape_new();
    volatile double p = 0.3, q = 0.1, tiny = 1e-310;
    ad_scalar a = ad_variable(t, p), b = ad_variable(t, q);
    cr_assert_eq(ad_value(ad_div(a, b)), p / q, "%.17g vs %.17g", ad_value(ad_div(a, b)), p / q);
    ad_scalar s = ad_variable(t, tiny), z = ad_variable(t, 0.0);
    ad_scalar one = ad_div(s, s), zero = ad_div(z, s);
    cr_assert_eq(ad_value(one), 1.0, "%g", ad_value(one));
    cr_assert_eq(ad_value(zero), 0.0, "%g", ad_value(zero));
    cr_assert_eq(ad_backward_scalar(zero), AD_OK);
    cr_assert_eq(ad_grad(s), 0.0, "d(0/s)/ds: %g", ad_grad(s));
    ad_tape_free(t);
}

/* c^a at c = 0 has the derivative 0 in a, as ad_pow has for a constant 0 base. */
Test(scalar, rpow_with_base_zero_has_derivative_zero_not_nan)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 2.0);
    ad_scalar y = ad_rpow(0.0, x);
    cr_assert_eq(ad_value(y), 0.0);
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    cr_assert_eq(ad_grad(x), 0.0, "%g", ad_grad(x));
    ad_tape_free(t);
}

/* powi is C's pow(x, n), value and slope, also for large n and x < 0. */
Test(scalar, powi_matches_libm_pow_for_large_and_negative_exponents)
{
    ad_tape *t = ad_tape_new();
    const double xs[] = {1.0000001, -1.5, 0.5, -0.75};
    const int ps[] = {1000000, 7, -9, 12, 0, 1, -1};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++) {
            ad_tape_reset(t);
            ad_scalar x = ad_variable(t, xs[i]);
            ad_scalar y = ad_powi(x, ps[j]);
            cr_assert_eq(ad_value(y), pow(xs[i], ps[j]), "%g^%d: %.17g vs %.17g", xs[i], ps[j],
                         ad_value(y), pow(xs[i], ps[j]));
            cr_assert_eq(ad_backward_scalar(y), AD_OK);
            double d = ps[j] == 0 ? 0.0 : ps[j] * pow(xs[i], ps[j] - 1);
            cr_assert_eq(ad_grad(x), d, "%g^%d: slope %.17g vs %.17g", xs[i], ps[j], ad_grad(x), d);
        }
    ad_tape_free(t);
}

/* sigmoid' and tanh' where the function rounds to +-1: e / (1 + e)^2
 * forms, not 1 - s or 1 - v^2, which are 0 there. */
Test(scalar, sigmoid_and_tanh_slopes_keep_full_precision_in_both_tails)
{
    ad_tape *t = ad_tape_new();
    const double xs[] = {-40.0, -20.0, -3.0, -0.5, 0.0, 0.5, 3.0, 20.0, 40.0};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double x0 = xs[i];
        long double e = expl(-fabsl((long double)x0));
        double ds = (double)(e / ((1 + e) * (1 + e)));
        long double e2 = expl(-2 * fabsl((long double)x0));
        double dt = (double)(4 * e2 / ((1 + e2) * (1 + e2)));
        ad_tape_reset(t);
        ad_scalar x = ad_variable(t, x0);
        cr_assert_eq(ad_backward_scalar(ad_sigmoid(x)), AD_OK);
        cr_assert(fabs(ad_grad(x) - ds) <= 4e-16 * ds, "sigmoid'(%g): %.17g vs %.17g", x0,
                  ad_grad(x), ds);
        cr_assert_eq(ad_backward_scalar(ad_tanh(x)), AD_OK);
        cr_assert(fabs(ad_grad(x) - dt) <= 4e-16 * dt, "tanh'(%g): %.17g vs %.17g", x0, ad_grad(x),
                  dt);
    }
    ad_tape_free(t);
}

/* Distance from got to want in units of the last place of want. */
static double ulps(double got, long double want)
{
    double w = (double)want;
    double ulp = nextafter(fabs(w), HUGE_VAL) - fabs(w);
    return (double)fabsl((long double)got - want) / ulp;
}

/* ad_tanh computes tanh and its slope itself (src/kernels/vmath.c), in two halves
 * split at |x| = 0.625: within 2 ulp and 5 ulp of long double over a
 * sweep of both halves, the split, tiny and subnormal x, and the tails. */
Test(scalar, tanh_value_and_slope_stay_within_a_few_ulp_everywhere)
{
    ad_tape *t = ad_tape_new();
    double worst_v = 0, worst_d = 0, at_v = 0, at_d = 0;
    for (int i = 0; i < 60000; i++) {
        double x;
        if (i < 40000) /* -20 .. 20, dense around the split */
            x = -20.0 + 40.0 * i / 40000.0 + 1e-7 * (i % 7);
        else if (i < 50000)
            x = 0.625 + (i - 45000) * 1e-9;
        else /* 2^-1 .. 2^-1074 and their negatives */
            x = ldexp(1.0 + (i % 13) / 16.0, -1 - (i - 50000) % 1074) * ((i & 1) ? -1 : 1);
        ad_tape_reset(t);
        ad_scalar v = ad_variable(t, x), y = ad_tanh(v);
        cr_assert_eq(ad_backward_scalar(y), AD_OK);
        long double e = expl(-2 * fabsl((long double)x));
        long double dv = 4 * e / ((1 + e) * (1 + e));
        double ev = ulps(ad_value(y), tanhl((long double)x)), ed = ulps(ad_grad(v), dv);
        if (ev > worst_v) worst_v = ev, at_v = x;
        if (ed > worst_d) worst_d = ed, at_d = x;
    }
    cr_log_info("ad_tanh: value %.2f ulp (x = %a), slope %.2f ulp (x = %a)", worst_v, at_v, worst_d,
                at_d);
    cr_assert(worst_v <= 2.0, "tanh value off by %.2f ulp at x = %a", worst_v, at_v);
    /* 4e/(1 + e)^2 rounds five times (exp, the sum, the square, twice), so
     * up to 5 ulp; 3.5 measured */
    cr_assert(worst_d <= 5.0, "tanh slope off by %.2f ulp at x = %a", worst_d, at_d);

    const double special[] = {0.0, -0.0, HUGE_VAL, -HUGE_VAL, 400.0, -400.0};
    const double value[] = {0.0, -0.0, 1.0, -1.0, 1.0, -1.0}, slope[] = {1, 1, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        ad_tape_reset(t);
        ad_scalar v = ad_variable(t, special[i]), y = ad_tanh(v);
        cr_assert_eq(ad_backward_scalar(y), AD_OK);
        cr_assert(ad_value(y) == value[i] && signbit(ad_value(y)) == signbit(value[i]),
                  "tanh(%g) = %g", special[i], ad_value(y));
        cr_assert_eq(ad_grad(v), slope[i], "tanh'(%g) = %g", special[i], ad_grad(v));
    }
    ad_tape_reset(t);
    ad_scalar n = ad_tanh(ad_variable(t, (double)NAN));
    cr_assert(isnan(ad_value(n)) && isnan(ad_tanh_slope_((double)NAN).d));
    ad_tape_free(t);
}

Test(scalar, sqrt_slope_at_negative_zero_is_plus_infinity_and_fabs_of_nan_propagates)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, -0.0);
    cr_assert_eq(ad_backward_scalar(ad_sqrt(x)), AD_OK);
    cr_assert(isinf(ad_grad(x)) && ad_grad(x) > 0, "%g", ad_grad(x));
    ad_scalar n = ad_variable(t, (double)NAN);
    cr_assert_eq(ad_backward_scalar(ad_fabs(n)), AD_OK);
    cr_assert(isnan(ad_grad(n)), "%g", ad_grad(n));
    ad_tape_free(t);
}

Test(scalar, a_zero_initialised_handle_is_named_as_such)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 2.0), h = {0};
    cr_assert(!ad_scalar_ok(ad_add(x, h)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_add: input 1 is not a scalar handle");
    ad_tape_free(t);
}

/* atan2's slopes x / r^2 and -y / r^2 at scales where x^2 + y^2 would
 * underflow or overflow. The reference scales the point by a power of two
 * (exact) rather than using long double, which valgrind computes in double. */
Test(scalar, atan2_slopes_stay_accurate_at_tiny_and_huge_scales)
{
    ad_tape *t = ad_tape_new();
    const double pts[][2] = {
        {1e-170, 1e-170}, {1e-160, 1e-160}, {1.0, 1e160}, {3e200, -4e200}, {0.5, -2.0}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        int e;
        frexp(fmax(fabs(pts[i][0]), fabs(pts[i][1])), &e);
        double yv = ldexp(pts[i][0], -e), xv = ldexp(pts[i][1], -e), r2 = xv * xv + yv * yv;
        ad_tape_reset(t);
        ad_scalar y = ad_variable(t, pts[i][0]), x = ad_variable(t, pts[i][1]);
        cr_assert_eq(ad_backward_scalar(ad_atan2(y, x)), AD_OK);
        double dy = ldexp(xv / r2, -e), dx = ldexp(-yv / r2, -e);
        cr_assert(fabs(ad_grad(y) - dy) <= 1e-15 * fabs(dy), "d/dy at (%g, %g): %.17g vs %.17g",
                  pts[i][0], pts[i][1], ad_grad(y), dy);
        cr_assert(fabs(ad_grad(x) - dx) <= 1e-15 * fabs(dx), "d/dx at (%g, %g): %.17g vs %.17g",
                  pts[i][0], pts[i][1], ad_grad(x), dx);
    }
    ad_tape_free(t);
}

/* hypot's slopes a / r and b / r where r overflows or a leg is infinite:
 * the limits, not 0 (r = inf) or NaN (inf / inf). */
Test(scalar, hypot_slopes_at_overflowing_and_infinite_legs)
{
    const struct {
        double a, b, da, db;
    } cases[] = {
        {1.5e308, 1.5e308, 0.70710678118654752, 0.70710678118654752},
        {-3e307, 4e307, -0.6, 0.8},
        {HUGE_VAL, 1.0, 1.0, 0.0},
        {2.0, -HUGE_VAL, 0.0, -1.0},
        {HUGE_VAL, -HUGE_VAL, 0.70710678118654752, -0.70710678118654752},
        {3e-320, 4e-320, 0.6, 0.8},
    };
    ad_tape *t = ad_tape_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ad_tape_reset(t);
        ad_scalar a = ad_variable(t, cases[i].a), b = ad_variable(t, cases[i].b);
        cr_assert_eq(ad_backward_scalar(ad_hypot(a, b)), AD_OK);
        cr_assert(fabs(ad_grad(a) - cases[i].da) <= 1e-15, "case %zu: d/da %.17g, want %.17g", i,
                  ad_grad(a), cases[i].da);
        cr_assert(fabs(ad_grad(b) - cases[i].db) <= 1e-15, "case %zu: d/db %.17g, want %.17g", i,
                  ad_grad(b), cases[i].db);
    }
    ad_tape_reset(t); /* a NaN leg keeps its NaN slope */
    ad_scalar a = ad_variable(t, (double)NAN), b = ad_variable(t, 1.0);
    cr_assert_eq(ad_backward_scalar(ad_hypot(a, b)), AD_OK);
    cr_assert(isnan(ad_grad(a)));
    ad_tape_free(t);
}

/* ad_custom2 used to take any constant b for "no second operand", so a
 * constant from another tape or from before a reset slipped through where
 * ad_mul and every other binary op refuse it. */
Test(scalar, custom2_refuses_a_constant_second_operand_from_another_tape_or_before_a_reset)
{
    ad_tape *t = ad_tape_new(), *u = ad_tape_new();
    ad_scalar x = ad_variable(t, 2.0);
    ad_scalar y = ad_custom2(x, ad_constant(u, 1.0), 5.0, 0.5, 0.25);
    cr_assert(!ad_scalar_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN, "ad_custom2: input 1 belongs to a different tape");

    ad_tape_reset(t);
    ad_scalar old = ad_constant(t, 1.0);
    ad_tape_reset(t);
    x = ad_variable(t, 2.0);
    y = ad_custom2(x, old, 5.0, 0.5, 0.25);
    cr_assert(!ad_scalar_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_custom2: input 1 was recorded before the last");

    /* a constant of its own tape is still a unary function: only da counts */
    ad_tape_reset(t);
    x = ad_variable(t, 2.0);
    y = ad_custom2(x, ad_constant(t, 1.0), 5.0, 0.5, (double)NAN);
    cr_assert_eq(ad_value(y), 5.0);
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    cr_assert_eq(ad_grad(x), 0.5);
    ad_tape_free(t);
    ad_tape_free(u);
}

/* A zero-initialised handle is not a value: ad_value said 0 for it. */
Test(scalar, value_of_a_zero_initialised_handle_is_nan)
{
    ad_scalar h = {0};
    cr_assert(!ad_scalar_ok(h));
    cr_assert(isnan(ad_value(h)), "got %g", ad_value(h));
}
