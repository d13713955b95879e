/* SPDX-License-Identifier: MIT
 * External scalar functions (ad_external): a C function on plain doubles
 * recorded as one unit, differentiated by the user's VJP or by central
 * differences; gradchecks through both, the modes, and every error. */
#include "common.h"

#include <math.h>
#include <string.h>

/* f: R^3 -> R^2, y0 = x0 x1 + sin x2, y1 = e^x0 x2^2 */
static int f_calls;

static bool f32_fn(const double *x, size_t n, double *y, size_t m, void *ctx)
{
    (void)n;
    (void)m;
    (void)ctx;
    f_calls++;
    y[0] = x[0] * x[1] + sin(x[2]);
    y[1] = exp(x[0]) * x[2] * x[2];
    return true;
}

static bool f32_vjp(const double *x, size_t n, const double *y, size_t m, const double *ybar,
                    double *xbar, void *ctx)
{
    (void)n;
    (void)y;
    (void)m;
    (void)ctx;
    xbar[0] = ybar[0] * x[1] + ybar[1] * exp(x[0]) * x[2] * x[2];
    xbar[1] = ybar[0] * x[0];
    xbar[2] = ybar[0] * cos(x[2]) + ybar[1] * 2.0 * exp(x[0]) * x[2];
    return true;
}

static const ad_external_def with_vjp = {"f32", 3, 2, f32_fn, f32_vjp, NULL};
static const ad_external_def by_fd = {"f32", 3, 2, f32_fn, NULL, NULL};

/* g(x) = y0 y1 + y0 + x1 x2 with y = f(x): both outputs, and scalar work
 * on either side of the external function */
static ad_scalar through_f(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t;
    (void)n;
    const ad_external_def *d = ctx;
    ad_scalar in[3] = {x[0], ad_mul(x[1], x[2]), ad_sin(x[2])}, y[2];
    if (ad_external(d, in, 3, y, 2) != AD_OK) return y[0];
    return ad_add(ad_add(ad_mul(y[0], y[1]), y[0]), ad_mul(x[1], x[2]));
}

Test(external, the_users_vjp_passes_gradcheck)
{
    double x[3] = {0.3, -0.8, 1.1};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(through_f, 3, x, (void *)&with_vjp, NULL, &r), AD_OK, "%s",
                 ad_last_error());
    cr_assert_eq(r.checked, 3u);
}

Test(external, finite_differences_pass_gradcheck_and_agree_with_the_vjp_to_1e_9)
{
    double x[3] = {0.3, -0.8, 1.1}, ga[3], gb[3];
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(through_f, 3, x, (void *)&by_fd, NULL, &r), AD_OK, "%s",
                 ad_last_error());
    double fa = ad_gradient(through_f, 3, x, ga, (void *)&with_vjp);
    double fb = ad_gradient(through_f, 3, x, gb, (void *)&by_fd);
    cr_assert_eq(fa, fb);
    for (size_t i = 0; i < 3; i++)
        cr_assert_float_eq(ga[i], gb[i], 1e-9 * (1.0 + fabs(ga[i])), "[%zu] %.17g %.17g", i, ga[i],
                           gb[i]);
}

/* n x m of odd sizes, through the tensor bridge on both sides:
 * y_j = sum_i (i + j + 1) x_i^2 / (1 + x_j^2) (j < n) */
static bool odd_fn(const double *x, size_t n, double *y, size_t m, void *ctx)
{
    (void)ctx;
    for (size_t j = 0; j < m; j++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += (double)(i + j + 1) * x[i] * x[i];
        y[j] = s / (1.0 + x[j % n] * x[j % n]);
    }
    return true;
}

static ad_tensor odd_graph(ad_tape *t, ad_param *const *ps, size_t np, void *ctx)
{
    (void)np;
    const size_t *nm = ctx;
    ad_tensor p = ad_param_use(t, ps[0]);
    ad_scalar x[7], y[5];
    for (size_t i = 0; i < nm[0]; i++)
        x[i] = ad_tensor_to_scalar(p, i);
    ad_external_def d = {"odd", nm[0], nm[1], odd_fn, NULL, NULL};
    ad_external(&d, x, nm[0], y, nm[1]);
    return test_weighted_sum(ad_stack_scalars(y, nm[1], 1, &nm[1]));
}

Test(external, finite_differences_pass_gradcheck_over_sizes_one_and_odd)
{
    static const size_t nm[][2] = {{1, 1}, {1, 5}, {7, 1}, {3, 5}, {7, 3}};
    for (size_t k = 0; k < 5; k++) {
        ad_param *p = test_param(1, &nm[k][0], -1, 1, 70 + k);
        ASSERT_GRADCHECK(odd_graph, &p, 1, (void *)nm[k], NULL);
        ad_param_free(p);
    }
}

Test(external, finite_differences_run_once_per_recording_and_only_when_swept)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x[3] = {ad_variable(t, 0.3), ad_variable(t, -0.8), ad_variable(t, 1.1)}, y[2];
    f_calls = 0;
    cr_assert_eq(ad_external(&by_fd, x, 3, y, 2), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(f_calls, 1);
    cr_assert_float_eq(ad_value(y[0]), 0.3 * -0.8 + sin(1.1), 1e-15);
    cr_assert_eq(ad_backward_scalar(y[0]), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(f_calls, 1 + 6); /* 2n calls for the Jacobian */
    cr_assert_float_eq(ad_grad(x[1]), 0.3, 1e-9);
    cr_assert_eq(ad_backward_scalar(y[1]), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(f_calls, 7); /* the Jacobian is kept */
    cr_assert_float_eq(ad_grad(x[2]), 2.0 * exp(0.3) * 1.1, 1e-8);
    cr_assert_eq(ad_grad(x[1]), 0.0);
    ad_tape_free(t);
}

Test(external, constants_only_and_evaluation_mode_give_values_without_gradients)
{
    ad_tape *t = ad_tape_new();
    ad_scalar c[3] = {ad_constant(t, 0.3), ad_constant(t, -0.8), ad_constant(t, 1.1)}, y[2];
    cr_assert_eq(ad_external(&with_vjp, c, 3, y, 2), AD_OK, "%s", test_tape_msg(t));
    cr_assert_float_eq(ad_value(y[1]), exp(0.3) * 1.21, 1e-15);
    cr_assert_eq(ad_backward_scalar(y[1]), AD_OK, "%s", test_tape_msg(t));
    ad_scalar x[3] = {ad_variable(t, 0.3), ad_variable(t, -0.8), ad_variable(t, 1.1)};
    ad_tape_set_recording(t, false);
    cr_assert_eq(ad_external(&with_vjp, x, 3, y, 2), AD_OK, "%s", test_tape_msg(t));
    cr_assert_float_eq(ad_value(y[0]), 0.3 * -0.8 + sin(1.1), 1e-15);
    cr_assert_eq(ad_backward_scalar(y[0]), AD_ERR_INVALID); /* recorded with recording off */
    ad_tape_free(t);
}

Test(external, anomaly_mode_gives_the_same_gradient_and_names_the_function_on_an_infinity)
{
    double g[2][3];
    for (int anomaly = 0; anomaly < 2; anomaly++) {
        ad_tape *t = ad_tape_new();
        ad_tape_set_anomaly(t, anomaly);
        ad_scalar x[3] = {ad_variable(t, 0.3), ad_variable(t, -0.8), ad_variable(t, 1.1)};
        ad_scalar s = through_f(t, x, 3, (void *)&with_vjp);
        cr_assert_eq(ad_backward_scalar(s), AD_OK, "%s", test_tape_msg(t));
        for (size_t i = 0; i < 3; i++)
            g[anomaly][i] = ad_grad(x[i]);
        ad_tape_free(t);
    }
    cr_assert_eq(memcmp(g[0], g[1], sizeof g[0]), 0);
    /* an infinity f produced (e^800): data normally, an error in anomaly
     * mode that names the function */
    ad_tape *t = ad_tape_new();
    ad_scalar x[3] = {ad_variable(t, 800.0), ad_variable(t, -0.8), ad_variable(t, 1.0)}, y[2];
    cr_assert_eq(ad_external(&with_vjp, x, 3, y, 2), AD_OK);
    cr_assert(isinf(ad_value(y[1])));
    ad_tape_set_anomaly(t, true);
    cr_assert_eq(ad_external(&with_vjp, x, 3, y, 2), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "anomaly in the forward sweep: op f32");
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "element 1");
    cr_assert_not(ad_scalar_ok(y[0]));
    ad_tape_free(t);
}

/* ---- errors */

static int fail_mode;

static bool failing_fn(const double *x, size_t n, double *y, size_t m, void *ctx)
{
    (void)ctx;
    if (fail_mode == 0) return ad_custom_fail(AD_ERR_NUMERIC, "solver did not converge");
    if (fail_mode == 1) return false;
    if (fail_mode == 2) { /* y[1] left unset */
        y[0] = x[0];
        return true;
    }
    /* fail_mode 3: fine at the point, fails when finite differences move x */
    if (x[0] != 0.5) return ad_custom_fail(AD_ERR_INVALID, "x0 = %g is off the grid", x[0]);
    for (size_t j = 0; j < m; j++)
        y[j] = x[j % n];
    return true;
}

Test(external, a_failing_function_fails_the_tape_naming_it)
{
    static const struct {
        ad_status code;
        const char *needle;
    } cases[] = {
        {AD_ERR_NUMERIC, "ad_external: solve: forward: solver did not converge"},
        {AD_ERR_INVALID, "ad_external: solve: forward: the callback returned false"},
        {AD_ERR_INVALID,
         "ad_external: solve: forward left output 0 (shape [2]) unset at element 1"},
    };
    ad_external_def d = {"solve", 2, 2, failing_fn, NULL, NULL};
    for (fail_mode = 0; fail_mode < 3; fail_mode++) {
        ad_tape *t = ad_tape_new();
        ad_scalar x[2] = {ad_variable(t, 0.5), ad_variable(t, 1.0)}, y[2];
        cr_assert_eq(ad_external(&d, x, 2, y, 2), cases[fail_mode].code);
        ASSERT_TAPE_ERROR(t, cases[fail_mode].code, cases[fail_mode].needle);
        cr_assert_not(ad_scalar_ok(y[0]) || ad_scalar_ok(y[1]));
        ad_tape_free(t);
    }
}

Test(external, a_function_failing_under_finite_differences_fails_the_sweep)
{
    ad_external_def d = {"grid", 2, 2, failing_fn, NULL, NULL};
    fail_mode = 3;
    ad_tape *t = ad_tape_new();
    ad_scalar x[2] = {ad_variable(t, 0.5), ad_variable(t, 1.0)}, y[2];
    cr_assert_eq(ad_external(&d, x, 2, y, 2), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward_scalar(ad_add(y[0], y[1])), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_backward: grid (external function, node");
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "is off the grid");
    ad_tape_free(t);
}

static bool failing_vjp(const double *x, size_t n, const double *y, size_t m, const double *ybar,
                        double *xbar, void *ctx)
{
    (void)x, (void)n, (void)y, (void)m, (void)ybar, (void)xbar, (void)ctx;
    return ad_custom_fail(AD_ERR_NUMERIC, "adjoint blew up");
}

Test(external, a_failing_vjp_fails_the_sweep_naming_the_function)
{
    ad_external_def d = {"f32", 3, 2, f32_fn, failing_vjp, NULL};
    ad_tape *t = ad_tape_new();
    ad_scalar x[3] = {ad_variable(t, 0.3), ad_variable(t, -0.8), ad_variable(t, 1.1)}, y[2];
    cr_assert_eq(ad_external(&d, x, 3, y, 2), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward_scalar(y[1]), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "(external function, node 2): backward: adjoint blew up");
    ad_tape_free(t);
}

Test(external, zero_or_mismatched_dimensions_are_refused)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x[3] = {ad_variable(t, 0.3), ad_variable(t, -0.8), ad_variable(t, 1.1)}, y[3];
    cr_assert_eq(ad_external(&with_vjp, x, 3, y, 3), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_external: f32: n and m must equal def->n and def->m (n 3, m 3, def->n "
                      "3, def->m 2)");
    ad_tape_clear_error(t);
    ad_external_def d = with_vjp;
    d.m = 0;
    cr_assert_eq(ad_external(&d, x, 3, y, 0), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "def->n and def->m must be at least 1");
    ad_tape_clear_error(t);
    d = with_vjp;
    d.f = NULL;
    cr_assert_eq(ad_external(&d, x, 3, y, 2), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_external: f32: def->f is NULL");
    ad_tape_clear_error(t);
    d = with_vjp;
    d.name = NULL;
    cr_assert_eq(ad_external(&d, x, 3, y, 2), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_external: (unnamed): def->name is NULL");
    /* no input with a tape: the reason goes to ad_last_error */
    cr_assert_eq(ad_external(&with_vjp, x, 0, y, 2), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_external: n is 0"), "%s", ad_last_error());
    cr_assert_eq(ad_external(NULL, x, 3, y, 2), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_external: def is NULL"), "%s", ad_last_error());
    ad_scalar zero[3];
    memset(zero, 0, sizeof zero);
    cr_assert_eq(ad_external(&with_vjp, zero, 3, y, 2), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "none of the inputs has a tape"), "%s", ad_last_error());
    ad_tape_free(t);
}

Test(external, a_stale_or_foreign_input_is_refused)
{
    ad_tape *t = ad_tape_new(), *u = ad_tape_new();
    ad_scalar x[3] = {ad_variable(t, 0.3), ad_variable(u, -0.8), ad_variable(t, 1.1)}, y[2];
    cr_assert_eq(ad_external(&with_vjp, x, 3, y, 2), AD_ERR_FOREIGN);
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN, "scalar 1 belongs to a different tape");
    ad_tape_free(t);
    ad_tape_free(u);
}
