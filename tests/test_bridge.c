/* SPDX-License-Identifier: MIT
 * Bridges between tensors and scalars, gradchecked in float64. */
#include "common.h"

#include <math.h>

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

Test(bridge, tensor_to_scalar_and_stack_scalars_pass_gradcheck)
{
    ad_param *p = test_param(2, (size_t[]){2, 3}, -1, 1, 11);
    ASSERT_GRADCHECK(through_scalars, &p, 1, NULL, NULL);
    ad_param_free(p);
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
