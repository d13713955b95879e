/* SPDX-License-Identifier: MIT
 * The contracts of the checking and driver functions themselves: what
 * counts as a pass, what the report says when a check stops, what a check
 * leaves behind in the parameters, and what the drivers make of functions
 * that misuse the tape they are given. */
#include "common.h"

#include <math.h>

/* x0^2 with an infinite partial */
static ad_scalar infinite_partial(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)n, (void)ctx;
    double a = ad_value(x[0]);
    return ad_custom2(x[0], (ad_scalar){0}, a * a, (double)INFINITY, 0.0);
}

static ad_scalar sqrt_of_x(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)n, (void)ctx;
    return ad_sqrt(x[0]);
}

static ad_scalar square_of_x(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)n, (void)ctx;
    return ad_square(x[0]);
}

Test(gradcheck, an_infinite_analytic_gradient_fails)
{
    double x[1] = {2.0};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(infinite_partial, 1, x, NULL, NULL, &r), AD_ERR_GRADCHECK);
    cr_assert(!r.passed);
    cr_assert(isinf(r.analytic) && fabs(r.numeric - 4.0) < 1e-6, "%g vs %g", r.analytic, r.numeric);
    cr_assert(strstr(ad_last_error(), "analytic inf vs numeric 4") != NULL, "%s", ad_last_error());
}

Test(gradcheck, nan_on_both_sides_fails_rather_than_passing)
{
    double x[1] = {-1.0}; /* sqrt is NaN there, and so is its slope */
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(sqrt_of_x, 1, x, NULL, NULL, &r), AD_ERR_GRADCHECK);
    cr_assert(!r.passed && isnan(r.analytic) && isnan(r.numeric));
    cr_assert_eq(r.checked, 1);
    /* and a point where it is defined still passes */
    x[0] = 4.0;
    cr_assert_eq(ad_gradcheck(sqrt_of_x, 1, x, NULL, NULL, &r), AD_OK, "%s", ad_last_error());
    cr_assert(r.passed);
}

Test(gradcheck, a_nan_input_fails)
{
    double x[1] = {(double)NAN};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(square_of_x, 1, x, NULL, NULL, &r), AD_ERR_GRADCHECK);
    cr_assert(!r.passed);
}

static ad_scalar fails_above_two(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)n, (void)ctx;
    if (ad_value(x[0]) > 2.0) return ad_add(x[0], (ad_scalar){0});
    return ad_square(x[0]);
}

static ad_tensor three_elements(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return ad_tsquare(ad_param_use(t, ps[0]));
}

Test(gradcheck, the_report_does_not_say_passed_when_the_check_stopped)
{
    double x[1] = {2.0};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(NULL, 1, x, NULL, NULL, &r), AD_ERR_INVALID);
    cr_assert(!r.passed && r.checked == 0);
    cr_assert_eq(ad_gradcheck(fails_above_two, 1, x, NULL, NULL, &r), AD_ERR_INVALID);
    cr_assert(!r.passed);
    ad_param *p = test_param(1, (size_t[]){3}, -1, 1, 1);
    cr_assert_eq(ad_gradcheck_graph(three_elements, &p, 1, NULL, NULL, &r), AD_ERR_SHAPE);
    cr_assert(!r.passed);
    cr_assert_str_eq(ad_last_error(), "ad_gradcheck_graph: the function's result has shape [3]; "
                                      "it must have one element");
    cr_assert_eq(ad_gradcheck_graph(NULL, &p, 1, NULL, NULL, &r), AD_ERR_INVALID);
    cr_assert(!r.passed);
    ad_param_free(p);
}

/* the sum of squares of every listed parameter */
static ad_tensor sum_of_squares(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)ctx;
    ad_tensor s = ad_sum(ad_tsquare(ad_param_use(t, ps[0])));
    for (size_t k = 1; k < n; k++)
        s = ad_tadd(s, ad_sum(ad_tsquare(ad_param_use(t, ps[k]))));
    return s;
}

Test(gradcheck, a_parameter_listed_twice_is_checked_once_and_keeps_its_gradient)
{
    ad_param *a = test_param(1, (size_t[]){3}, -1, 1, 2),
             *b = test_param(1, (size_t[]){2}, -1, 1, 3);
    double *ga = ad_param_grad(a);
    ga[0] = 10, ga[1] = 20, ga[2] = 30;
    ad_param *ps[3] = {a, b, a};
    ad_gradcheck_report r;
    ad_status st = ad_gradcheck_graph(sum_of_squares, ps, 3, NULL, NULL, &r);
    cr_assert_eq(st, AD_OK, "%s", ad_last_error());
    cr_assert_eq(r.checked, 5); /* a once, b once */
    cr_assert(ga[0] == 10 && ga[1] == 20 && ga[2] == 30, "%g %g %g", ga[0], ga[1], ga[2]);
    ad_param_free(a);
    ad_param_free(b);
}

/* uses ps[0] and the parameter in ctx, which the check is not given */
static ad_tensor with_an_unlisted_parameter(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    ad_tensor w = ad_param_use(t, ps[0]), u = ad_param_use(t, ctx);
    return ad_sum(ad_tmul(w, u));
}

Test(gradcheck, gradients_of_parameters_the_check_was_not_given_are_left_alone)
{
    ad_param *w = test_param(1, (size_t[]){4}, -1, 1, 4);
    ad_param *u64 = test_param(1, (size_t[]){4}, -1, 1, 5);
    double *g64 = ad_param_grad(u64);
    for (int i = 0; i < 4; i++)
        g64[i] = 7.0 + i;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck_graph(with_an_unlisted_parameter, &w, 1, u64, NULL, &r), AD_OK, "%s",
                 ad_last_error());
    for (int i = 0; i < 4; i++)
        cr_assert_eq(g64[i], 7.0 + i, "element %d: %g", i, g64[i]);
    ad_param_free(w);
    ad_param_free(u64);
}

static ad_tensor zero_handle(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)t, (void)ps, (void)n, (void)ctx;
    return (ad_tensor){0};
}

static ad_tensor on_another_tape(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)t, (void)n;
    return ad_sum(ad_param_use(ctx, ps[0]));
}

Test(gradcheck, a_bad_graph_output_is_named_by_the_check)
{
    ad_param *p = test_param(1, (size_t[]){2}, -1, 1, 6);
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck_graph(zero_handle, &p, 1, NULL, NULL, &r), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_gradcheck_graph: the function's result is not a tensor "
                                      "handle (no tape: zero-initialised?)");
    ad_tape *other = ad_tape_new();
    cr_assert_eq(ad_gradcheck_graph(on_another_tape, &p, 1, other, NULL, &r), AD_ERR_FOREIGN);
    cr_assert(strstr(ad_last_error(), "recorded on another tape") != NULL, "%s", ad_last_error());
    cr_assert(!r.passed);
    ad_tape_free(other);
    ad_param_free(p);
}

/* Resets the driver's tape and returns a square of a fresh variable. */
static ad_scalar resets_its_tape(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    double v = ad_value(x[0]);
    ad_tape_reset(t);
    return ad_square(ad_variable(t, v));
}

static void resets_its_tape_vector(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y, size_t m,
                                   void *ctx)
{
    (void)m;
    y[0] = resets_its_tape(t, x, n, ctx);
}

Test(drivers, a_function_that_resets_the_drivers_tape_is_an_error_not_zero_gradients)
{
    double x[2] = {2.0, 3.0}, g[2] = {-1, -1}, J[4], y[2];
    ad_status st;
    double v = ad_gradient_status(resets_its_tape, 2, x, g, NULL, &st);
    cr_assert_eq(st, AD_ERR_STALE);
    cr_assert(isnan(v));
    cr_assert_str_eq(ad_last_error(), "ad_gradient: the function reset the driver's tape "
                                      "(ad_tape_reset), which forgets the variables it was given");
    cr_assert_eq(ad_jacobian(resets_its_tape_vector, 2, 2, x, J, y, NULL), AD_ERR_STALE);
    cr_assert(strncmp(ad_last_error(), "ad_jacobian: the function reset", 31) == 0, "%s",
              ad_last_error());
}

/* Fails an op, clears the error and returns the invalid handle. */
static ad_scalar clears_its_error(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    ad_scalar bad = ad_add(x[0], (ad_scalar){0});
    ad_tape_clear_error(t);
    return bad;
}

Test(drivers, an_invalid_result_whose_error_was_cleared_is_named_by_the_driver)
{
    double x[1] = {1.0}, g[1];
    ad_status st;
    ad_gradient_status(clears_its_error, 1, x, g, NULL, &st);
    cr_assert_eq(st, AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_gradient: the function's result is the invalid handle "
                                      "of a failed op (its error was cleared)");
}

/* x0 * sum(u), with u a parameter the caller owns (ctx) */
static ad_scalar scales_a_parameter(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)n;
    return ad_mul(x[0], ad_tensor_item(ad_sum(ad_param_use(t, ctx))));
}

static void scales_a_parameter_vector(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y,
                                      size_t m, void *ctx)
{
    for (size_t i = 0; i < m; i++)
        y[i] = ad_scale(scales_a_parameter(t, x, n, ctx), 1.0 + (double)i);
}

/* The drivers differentiate with respect to x; a parameter the function
 * uses keeps its gradient (the sweeps used to add into it: m times for a
 * Jacobian). */
Test(drivers, gradients_of_parameters_the_function_uses_are_left_alone)
{
    ad_param *u = test_param(1, (size_t[]){3}, -1, 1, 6);
    double *gu = ad_param_grad(u);
    for (int i = 0; i < 3; i++)
        gu[i] = 7.0 + i;
    double x[1] = {1.5}, g[1], J[3];
    ad_status st;
    ad_gradient_status(scales_a_parameter, 1, x, g, u, &st);
    cr_assert_eq(st, AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_jacobian(scales_a_parameter_vector, 3, 1, x, J, NULL, u), AD_OK, "%s",
                 ad_last_error());
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(scales_a_parameter, 1, x, u, NULL, &r), AD_OK, "%s", ad_last_error());
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gu[i], 7.0 + i, "element %d: %g", i, gu[i]);
    ad_param_free(u);
}

/* Sets y[0] = x0 x1 and, when ctx is not NULL, y[1] to *(double *)ctx as a
 * constant; otherwise leaves y[1] as the driver handed it. */
static void leaves_an_output_unset(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y, size_t m,
                                   void *ctx)
{
    (void)n, (void)m;
    y[0] = ad_mul(x[0], x[1]);
    if (ctx) y[1] = ad_constant(t, *(const double *)ctx);
}

/* An output the function never sets used to come back as AD_OK, y = 0 and
 * a row of zeros. */
Test(drivers, a_jacobian_output_the_function_never_sets_is_an_error_naming_it)
{
    double x[2] = {2.0, 3.0}, J[4], y[2];
    cr_assert_eq(ad_jacobian(leaves_an_output_unset, 2, 2, x, J, y, NULL), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_jacobian: output 1 was never set by the function (or "
                                      "set to a zero-initialised handle)");
}

Test(drivers, a_jacobian_output_set_to_a_constant_is_a_row_of_zeros)
{
    double x[2] = {2.0, 3.0}, J[4] = {-1, -1, -1, -1}, y[2], c = 5.0;
    cr_assert_eq(ad_jacobian(leaves_an_output_unset, 2, 2, x, J, y, &c), AD_OK, "%s",
                 ad_last_error());
    cr_assert_eq(y[0], 6.0);
    cr_assert_eq(y[1], 5.0);
    cr_assert_eq(J[0], 3.0);
    cr_assert_eq(J[1], 2.0);
    cr_assert_eq(J[2], 0.0);
    cr_assert_eq(J[3], 0.0);
}

/* sum of x_i^2 whose partial is wrong (3 x_i instead of 2 x_i) at every
 * odd i below *(size_t *)ctx. */
static ad_scalar odd_partials_wrong(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    size_t wrong_below = *(const size_t *)ctx;
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < n; i++) {
        double v = ad_value(x[i]);
        double d = (i % 2 && i < wrong_below) ? 3.0 * v : 2.0 * v;
        s = ad_add(s, ad_custom2(x[i], (ad_scalar){0}, v * v, d, 0.0));
    }
    return s;
}

Test(gradcheck, the_report_counts_every_failed_element_and_lists_the_first_ones)
{
    double x[20];
    for (size_t i = 0; i < 20; i++)
        x[i] = 1.0 + (double)i / 4.0;
    size_t wrong_below = 12; /* 1, 3, ..., 11: six failures */
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(odd_partials_wrong, 12, x, &wrong_below, NULL, &r), AD_ERR_GRADCHECK);
    cr_assert_eq(r.checked, 12);
    cr_assert_eq(r.failed, 6);
    for (size_t k = 0; k < 6; k++) {
        cr_assert_eq(r.first_index[k], 2 * k + 1, "first[%zu] = %zu", k, r.first_index[k]);
        cr_assert_eq(r.first_input[k], 0);
    }
    cr_assert(strstr(ad_last_error(), "6 of 12 elements failed (input:index 0:1, 0:3, 0:5, 0:7, "
                                      "0:9, 0:11); worst") != NULL,
              "%s", ad_last_error());
    /* ten failures: the first AD_GRADCHECK_FIRST are listed, then "..." */
    wrong_below = 20;
    cr_assert_eq(ad_gradcheck(odd_partials_wrong, 20, x, &wrong_below, NULL, &r), AD_ERR_GRADCHECK);
    cr_assert_eq(r.failed, 10);
    cr_assert_eq(r.first_index[AD_GRADCHECK_FIRST - 1], 2 * AD_GRADCHECK_FIRST - 1);
    cr_assert(strstr(ad_last_error(), "10 of 20 elements failed (input:index 0:1, 0:3, 0:5, 0:7, "
                                      "0:9, 0:11, 0:13, 0:15, ...); worst") != NULL,
              "%s", ad_last_error());
    /* a passing check reports no failures */
    wrong_below = 0;
    cr_assert_eq(ad_gradcheck(odd_partials_wrong, 20, x, &wrong_below, NULL, &r), AD_OK);
    cr_assert_eq(r.failed, 0);
}

/* sum over both parameters of p^2 through scalars, with a wrong partial at
 * element 1 of the second parameter and element 2 of the first */
static ad_tensor two_wrong_elements(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)ctx;
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t k = 0; k < n; k++) {
        ad_tensor p = ad_param_use(t, ps[k]);
        for (size_t i = 0; i < ad_tensor_numel(p); i++) {
            ad_scalar e = ad_tensor_to_scalar(p, i);
            double v = ad_value(e);
            bool wrong = (k == 0 && i == 2) || (k == 1 && i == 1);
            s = ad_add(s, ad_custom2(e, (ad_scalar){0}, v * v, wrong ? 5.0 * v : 2.0 * v, 0.0));
        }
    }
    return ad_stack_scalars(&s, 1, 1, (size_t[]){1});
}

Test(gradcheck, a_graph_check_counts_failures_across_parameters)
{
    ad_param *ps[2] = {test_param(1, (size_t[]){4}, 0.5, 1.5, 3),
                       test_param(2, (size_t[]){2, 2}, 0.5, 1.5, 4)};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck_graph(two_wrong_elements, ps, 2, NULL, NULL, &r), AD_ERR_GRADCHECK);
    cr_assert_eq(r.checked, 8);
    cr_assert_eq(r.failed, 2);
    cr_assert_eq(r.first_input[0], 0);
    cr_assert_eq(r.first_index[0], 2);
    cr_assert_eq(r.first_input[1], 1);
    cr_assert_eq(r.first_index[1], 1);
    cr_assert(strstr(ad_last_error(), "ad_gradcheck_graph: 2 of 8 elements failed (input:index "
                                      "0:2, 1:1); worst") != NULL,
              "%s", ad_last_error());
    ad_param_free(ps[0]);
    ad_param_free(ps[1]);
}
