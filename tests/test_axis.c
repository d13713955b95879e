/* SPDX-License-Identifier: MIT
 * ad_select and ad_stack (ops/axis.c): values against index arithmetic,
 * float64 gradchecks over shapes, axes, size 1, odd and empty sizes, and
 * the errors for bad axes, indices and shapes. */
#include "op_helpers.h"

/* ---- select */

typedef struct select_case {
    size_t nd, dims[4];
    int axis;
    size_t index;
} select_case;

static ad_tensor select_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const select_case *c = ctx;
    return weighted_sum(ad_select(ad_param_use(t, p[0]), c->axis, c->index), 3);
}

GRADCHECK_TEST(axis, select_gradient_matches_central_differences_over_shapes_and_axes, AD_OP_SELECT)
{
    const select_case cases[] = {
        {3, {3, 4, 5}, 0, 2},     {3, {3, 4, 5}, 1, 0}, {3, {3, 4, 5}, 2, 4},
        {3, {3, 4, 5}, -1, 1},    {1, {1}, 0, 0},       {1, {5}, 0, 4},
        {2, {1, 7}, 0, 0},        {3, {2, 1, 3}, 1, 0}, {4, {2, 3, 1, 3}, 3, 2},
        {4, {2, 3, 2, 3}, -3, 1}, {2, {3, 0}, 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ad_param *p = test_param(cases[k].nd, cases[k].dims, -1, 1, 7 + k);
        ASSERT_GRADCHECK(select_graph, &p, 1, (void *)&cases[k], NULL);
        ad_param_free(p);
    }
}

Test(axis, select_takes_one_slice_drops_the_axis_and_sends_the_gradient_back_to_it)
{
    ad_tape *t = ad_tape_new();
    double v[24];
    for (int i = 0; i < 24; i++)
        v[i] = i;
    ad_tensor x = tensor_from(t, AD_F64, 3, (size_t[]){2, 3, 4}, v, true);
    ad_tensor y = ad_select(x, 1, 2); /* y[a][c] = x[a][2][c] */
    size_t dims[4];
    cr_assert_eq(ad_tensor_shape(y, dims), 2);
    cr_assert(dims[0] == 2 && dims[1] == 4);
    for (size_t a = 0; a < 2; a++)
        for (size_t c = 0; c < 4; c++)
            cr_assert_eq(ad_tensor_get(y, a * 4 + c), (double)(a * 12 + 2 * 4 + c));
    double seed[8];
    for (int i = 0; i < 8; i++)
        seed[i] = i + 1;
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    const double *g = ad_tensor_grad(x);
    for (size_t i = 0; i < 24; i++) {
        size_t a = i / 12, b = i / 4 % 3, c = i % 4;
        cr_assert_eq(g[i], b == 2 ? seed[a * 4 + c] : 0.0, "element %zu", i);
    }
    /* a 1-D input gives [1] */
    ad_tensor e = ad_select(ad_select(y, 0, 1), 0, 3);
    cr_assert_eq(ad_tensor_shape(e, dims), 1);
    cr_assert_eq(dims[0], 1);
    cr_assert_eq(ad_tensor_get(e, 0), 12.0 + 8.0 + 3.0);
    ad_tape_free(t);
}

Test(axis, select_float32_matches_float64)
{
    double *v = random_values(60, 3);
    ad_tape *t = ad_tape_new();
    ad_tensor a = tensor_from(t, AD_F32, 3, (size_t[]){3, 4, 5}, v, false);
    ad_tensor b = tensor_from(t, AD_F64, 3, (size_t[]){3, 4, 5}, v, false);
    ad_tensor ya = ad_select(a, -2, 3), yb = ad_select(b, -2, 3);
    cr_assert_eq(ad_tensor_numel(ya), 15);
    for (size_t i = 0; i < 15; i++)
        cr_assert_eq(ad_tensor_get(ya, i), ad_tensor_get(yb, i));
    ad_tape_free(t);
    free(v);
}

Test(axis, select_rejects_an_axis_out_of_range_and_names_it)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4});
    cr_assert(!ad_tensor_ok(ad_select(x, 2, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_select: axis 2 out of range for shape [3,4]");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_select(x, -3, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "axis -3 out of range");
    ad_tape_free(t);
}

Test(axis, select_rejects_an_index_past_the_axis_and_names_it)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 3, (size_t[]){5, 2, 3});
    cr_assert(!ad_tensor_ok(ad_select(x, 0, 5)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_select: index 5 is out of range for axis 0 of shape [5,2,3]");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_select(x, 1, SIZE_MAX)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "out of range for axis 1");
    ad_tape_clear_error(t);
    ad_tensor empty = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){0, 3});
    cr_assert(!ad_tensor_ok(ad_select(empty, 0, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "index 0 is out of range for axis 0 of shape [0,3]");
    ad_tape_free(t);
}

/* ---- stack */

typedef struct stack_case {
    size_t n, nd, dims[3];
    int axis;
} stack_case;

static ad_tensor stack_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    const stack_case *c = ctx;
    ad_tensor xs[5];
    for (size_t k = 0; k < np; k++)
        xs[k] = ad_param_use(t, p[k]);
    (void)c;
    return weighted_sum(ad_stack(xs, np, c->axis), 5);
}

GRADCHECK_TEST(axis, stack_gradient_matches_central_differences_over_shapes_and_axes,
               AD_OP_STACK_AXIS)
{
    const stack_case cases[] = {
        {3, 2, {2, 3}, 0},    {3, 2, {2, 3}, 1},     {3, 2, {2, 3}, 2},
        {3, 2, {2, 3}, -1},   {1, 1, {1}, 0},        {5, 1, {3}, 1},
        {2, 3, {1, 3, 5}, 1}, {4, 3, {2, 1, 3}, -2}, {2, 2, {3, 0}, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ad_param *p[5];
        for (size_t i = 0; i < cases[k].n; i++)
            p[i] = test_param(cases[k].nd, cases[k].dims, -1, 1, 20 + 5 * k + i);
        /* an empty case has nothing to check: ASSERT_GRADCHECK accepts that */
        ASSERT_GRADCHECK(stack_graph, p, cases[k].n, (void *)&cases[k], NULL);
        for (size_t i = 0; i < cases[k].n; i++)
            ad_param_free(p[i]);
    }
}

Test(axis, stack_lays_the_inputs_along_the_new_axis_and_select_takes_them_back)
{
    ad_tape *t = ad_tape_new();
    double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
    ad_tensor xs[2] = {tensor_from(t, AD_F32, 2, (size_t[]){2, 3}, a, false),
                       tensor_from(t, AD_F32, 2, (size_t[]){2, 3}, b, false)};
    for (int axis = 0; axis <= 2; axis++) {
        ad_tensor y = ad_stack(xs, 2, axis);
        size_t dims[4];
        cr_assert_eq(ad_tensor_shape(y, dims), 3);
        cr_assert_eq(dims[axis], 2);
        for (size_t k = 0; k < 2; k++) {
            ad_tensor s = ad_select(y, axis, k);
            for (size_t i = 0; i < 6; i++)
                cr_assert_eq(ad_tensor_get(s, i), (k ? b : a)[i], "axis %d input %zu [%zu]", axis,
                             k, i);
        }
    }
    ad_tape_free(t);
}

Test(axis, stack_rejects_unequal_shapes_bad_axes_and_too_many_dimensions)
{
    ad_tape *t = ad_tape_new();
    ad_tensor xs[2] = {ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3}),
                       ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 2})};
    cr_assert(!ad_tensor_ok(ad_stack(xs, 2, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_stack: input 1 has shape [3,2] but input 0 has [2,3]");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_stack(xs, 1, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_stack: axis 3 out of range");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_stack(xs, 1, -4)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "(need -3 <= axis <= 2)");
    ad_tape_clear_error(t);
    ad_tensor big = ad_tensor_zeros(t, AD_F64, 4, (size_t[]){1, 2, 1, 2});
    cr_assert(!ad_tensor_ok(ad_stack(&big, 1, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_stack: inputs of shape [1,2,1,2] have 4 dimensions");
    ad_tape_free(t);
}

Test(axis, stack_of_nothing_reports_through_the_last_error)
{
    cr_assert(!ad_tensor_ok(ad_stack(NULL, 0, 0)));
    cr_assert(strstr(ad_last_error(), "ad_stack: no inputs") != NULL, "%s", ad_last_error());
    ad_tensor none[2] = {AD_TENSOR_NONE, AD_TENSOR_NONE};
    cr_assert(!ad_tensor_ok(ad_stack(none, 2, 0)));
    cr_assert(strstr(ad_last_error(), "none of the 2 inputs has a tape") != NULL, "%s",
              ad_last_error());
}
