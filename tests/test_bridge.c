/* SPDX-License-Identifier: MIT
 * Bridges between tensors and scalars, gradchecked in float64. */
#include "common.h"

#include <math.h>
#include <string.h>

/* sum_i w_i * sin(x_i) over the elements of a [2,3] parameter, via scalars,
 * then stacked back and read out again */
static ad_tensor through_scalars(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_tensor x = ad_param_use(t, ps[0]);
    ad_scalar e[6];
    for (size_t i = 0; i < 6; i++)
        e[i] = ad_mul(ad_sin(ad_tensor_to_scalar(x, i)), ad_constant(t, 0.5 + (double)i));
    ad_tensor st = ad_stack_scalars(e, 6, 2, (size_t[]){3, 2});
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < 6; i++)
        s = ad_add(s, ad_mul(ad_tensor_to_scalar(st, i), ad_tensor_to_scalar(st, 5 - i)));
    return ad_stack_scalars(&s, 1, 1, (size_t[]){1});
}

GRADCHECK_TEST(bridge, tensor_to_scalar_and_stack_scalars_pass_gradcheck, AD_OP_TO_SCALAR)
{
    ad_param *p = test_param(2, (size_t[]){2, 3}, -1, 1, 11);
    ASSERT_GRADCHECK(through_scalars, &p, 1, NULL, NULL);
    ad_param_free(p);
}

/* Each element of x through a scalar rule, stacked back into x's shape:
 * the stack's backward rule sends every element's gradient to its record. */
static ad_tensor stack_of_sines(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_tensor x = ad_param_use(t, ps[0]);
    size_t dims[AD_MAX_DIMS], nd = ad_tensor_shape(x, dims), m = ad_tensor_numel(x);
    ad_scalar e[16];
    for (size_t i = 0; i < m; i++)
        e[i] = ad_mul(ad_sin(ad_tensor_to_scalar(x, i)), ad_constant(t, 0.5 + (double)i));
    return test_weighted_sum(ad_stack_scalars(e, m, nd, dims));
}

GRADCHECK_TEST(bridge, stack_scalars_gradient_matches_central_differences_over_shapes, AD_OP_STACK)
{
    static const struct {
        size_t nd, d[3];
    } shapes[] = {{1, {1}}, {1, {7}}, {2, {3, 5}}, {3, {2, 1, 3}}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        ad_param *p = test_param(shapes[k].nd, shapes[k].d, -1, 1, 20 + k);
        ASSERT_GRADCHECK(stack_of_sines, &p, 1, NULL, NULL);
        ad_param_free(p);
    }
}

static ad_tensor item_of_one(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_scalar v = ad_tensor_item(ad_param_use(t, ps[0]));
    ad_scalar y = ad_exp(ad_mul(v, v));
    return ad_stack_scalars(&y, 1, 1, (size_t[]){1});
}

Test(bridge, item_of_a_one_element_tensor_passes_gradcheck)
{
    ad_param *p = test_param(1, (size_t[]){1}, -1, 1, 5);
    ASSERT_GRADCHECK(item_of_one, &p, 1, NULL, NULL);
    ad_param_free(p);
}

Test(bridge, stacking_constants_gives_a_tensor_without_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_scalar c[2] = {ad_constant(t, 1.5), ad_constant(t, -2.0)};
    ad_tensor x = ad_stack_scalars(c, 2, 1, (size_t[]){2});
    cr_assert(ad_tensor_ok(x));
    cr_assert_eq(ad_tensor_get(x, 1), -2.0);
    cr_assert_eq(ad_tensor_dtype(x), AD_F64);
    cr_assert_eq(ad_backward_seeded(x, (double[]){1, 1}), AD_OK);
    cr_assert_null(ad_tensor_grad(x));
    ad_tape_free(t);
}

Test(bridge, stacking_a_zero_initialised_scalar_names_it)
{
    ad_tape *t = ad_tape_new();
    ad_scalar xs[2] = {ad_variable(t, 1.0), {0}};
    ad_tensor y = ad_stack_scalars(xs, 2, 1, (size_t[]){2});
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_stack_scalars: scalar 1 is not a scalar handle");
    ad_tape_free(t);
}

/* A metric read out with ad_tensor_item and never used by the loss: the
 * sweep must pass nothing through it. sqrt'(0) is infinite, so a zero
 * pushed through the unused sqrt used to make w.grad[0] NaN. */
static void unused_item_case(bool anomaly, bool as_param)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, anomaly);
    const double w0[3] = {0, 1, 4};
    ad_param *p = NULL;
    ad_tensor w;
    if (as_param) {
        p = ad_param_new(AD_F64, 1, (size_t[]){3});
        memcpy(ad_param_value(p), w0, sizeof w0);
        ad_param_zero_grad(p);
        w = ad_param_use(t, p);
    } else {
        w = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, w0);
    }
    ad_tensor loss = ad_sum(ad_tmul(w, w));
    ad_scalar metric = ad_tensor_item(ad_sum(ad_tsqrt(w)));
    cr_assert(ad_scalar_ok(metric));
    cr_assert_float_eq(ad_value(metric), 3.0, 1e-15);
    cr_assert_eq(ad_backward(loss), AD_OK, "%s", test_tape_msg(t));
    const double *g = as_param ? ad_param_grad(p) : ad_tensor_grad(w);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(g[i], 2 * w0[i], "w.grad[%zu] = %g, want %g", i, g[i], 2 * w0[i]);
    ad_tape_free(t);
    ad_param_free(p);
}

Test(bridge, an_item_the_loss_does_not_use_passes_no_gradient)
{
    unused_item_case(false, false);
    unused_item_case(false, true);
}

Test(bridge, an_item_the_loss_does_not_use_raises_no_anomaly)
{
    unused_item_case(true, false);
    unused_item_case(true, true);
}

/* The same with a scalar loss: the loss reads one element, the metric
 * another through an infinite partial. */
Test(bridge, a_scalar_loss_ignores_elements_read_only_for_logging)
{
    ad_tape *t = ad_tape_new();
    const double w0[2] = {0, 3};
    ad_tensor w = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, w0);
    ad_tensor r = ad_tsqrt(w);
    ad_scalar logged = ad_tensor_to_scalar(r, 0);
    ad_scalar loss = ad_mul(ad_tensor_to_scalar(w, 1), ad_tensor_to_scalar(w, 1));
    cr_assert(ad_scalar_ok(logged));
    cr_assert_eq(ad_backward_scalar(loss), AD_OK, "%s", test_tape_msg(t));
    const double *g = ad_tensor_grad(w);
    cr_assert_eq(g[0], 0.0, "w.grad[0] = %g", g[0]);
    cr_assert_eq(g[1], 6.0, "w.grad[1] = %g", g[1]);
    ad_tape_free(t);
}

/* No scalars, no tape to hold the error: the reason goes to ad_last_error. */
Test(bridge, stacking_no_scalars_says_why_through_ad_last_error)
{
    cr_assert(!ad_tensor_ok(ad_stack_scalars(NULL, 0, 1, (size_t[]){0})));
    cr_assert(strstr(ad_last_error(), "ad_stack_scalars: no scalars (n is 0)") != NULL, "\"%s\"",
              ad_last_error());
    cr_assert(!ad_tensor_ok(ad_stack_scalars(NULL, 2, 1, (size_t[]){2})));
    cr_assert(strstr(ad_last_error(), "ad_stack_scalars: xs is NULL") != NULL, "\"%s\"",
              ad_last_error());
    ad_scalar zeroed[2] = {{0}, {0}};
    cr_assert(!ad_tensor_ok(ad_stack_scalars(zeroed, 2, 1, (size_t[]){2})));
    cr_assert(strstr(ad_last_error(), "ad_stack_scalars: none of the 2 scalars has a tape") != NULL,
              "\"%s\"", ad_last_error());
}

/* A zeroed first scalar used to hide the tape of the others: nothing failed. */
Test(bridge, stacking_a_zero_initialised_first_scalar_fails_the_tape_of_the_others)
{
    ad_tape *t = ad_tape_new();
    ad_scalar xs[2] = {{0}, ad_variable(t, 1.0)};
    cr_assert(!ad_tensor_ok(ad_stack_scalars(xs, 2, 1, (size_t[]){2})));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_stack_scalars: scalar 0 is not a scalar handle");
    ad_tape_free(t);
}
