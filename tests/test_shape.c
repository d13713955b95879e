/* SPDX-License-Identifier: MIT
 * transpose, reshape, slice and concat: gradients against central
 * differences, values against index arithmetic, float32 against float64,
 * empty tensors, and every error. */
#include "common.h"
#include "op_helpers.h"

#include <math.h>
#include <stdlib.h>

static size_t numel_of(size_t nd, const size_t *dims)
{
    size_t n = 1;
    for (size_t d = 0; d < nd; d++)
        n *= dims[d];
    return n;
}

/* Row-major strides of a shape. */
static void strides_of(size_t nd, const size_t *dims, size_t *st)
{
    size_t s = 1;
    for (size_t d = nd; d-- > 0;) {
        st[d] = s;
        s *= dims[d];
    }
}

/* ------------------------------------------------------------- transpose */

typedef struct tr_case {
    size_t nd;
    size_t dims[4];
    int a0, a1;
} tr_case;

static ad_tensor transpose_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const tr_case *c = ctx;
    return weighted_sum(ad_transpose(ad_param_use(t, p[0]), c->a0, c->a1), 21);
}

static void check_transpose(tr_case c)
{
    ad_param *p[1] = {test_param(c.nd, c.dims, -1, 1, 9)};
    ASSERT_GRADCHECK(transpose_graph, p, 1, &c, NULL);
    ad_param_free(p[0]);
}

GRADCHECK_TEST(transpose, gradient_matches_central_differences_for_every_pair_of_axes_up_to_4d,
               AD_OP_TRANSPOSE)
{
    check_transpose((tr_case){1, {5}, 0, 0});
    check_transpose((tr_case){2, {1, 1}, 0, 1});
    check_transpose((tr_case){2, {3, 5}, 0, 1});
    for (int a0 = 0; a0 < 3; a0++)
        for (int a1 = 0; a1 < 3; a1++)
            check_transpose((tr_case){3, {2, 3, 4}, a0, a1});
    for (int a0 = 0; a0 < 4; a0++)
        for (int a1 = a0; a1 < 4; a1++)
            check_transpose((tr_case){4, {2, 3, 1, 5}, a0, a1});
}

Test(transpose, gradient_matches_central_differences_for_negative_axes_and_empty_tensors)
{
    check_transpose((tr_case){3, {2, 3, 4}, -1, -3});
    check_transpose((tr_case){4, {2, 1, 3, 2}, -2, 0});
    check_transpose((tr_case){2, {3, 0}, 0, -1});
}

/* Every element of transpose(x, a0, a1) against the index definition
 * y[.., j (at a0), .., i (at a1), ..] = x[.., i (at a0), .., j (at a1), ..]. */
static void check_transpose_values(size_t nd, const size_t *dims, int a0, int a1)
{
    size_t n = numel_of(nd, dims);
    double *x = random_values(n, 90);
    ad_tape *t = ad_tape_new();
    ad_tensor y = ad_transpose(tensor_from(t, AD_F64, nd, dims, x, false), a0, a1);
    size_t b0 = (size_t)(a0 < 0 ? a0 + (int)nd : a0), b1 = (size_t)(a1 < 0 ? a1 + (int)nd : a1);
    size_t yd[4], xs[4], ys[4];
    cr_assert_eq(ad_tensor_shape(y, yd), nd);
    for (size_t d = 0; d < nd; d++)
        cr_assert_eq(yd[d], dims[d == b0 ? b1 : d == b1 ? b0 : d]);
    strides_of(nd, dims, xs);
    strides_of(nd, yd, ys);
    for (size_t i = 0; i < n; i++) {
        size_t idx[4], rem = i, off = 0;
        for (size_t d = 0; d < nd; d++) {
            idx[d] = rem / xs[d];
            rem %= xs[d];
        }
        size_t tmp = idx[b0];
        idx[b0] = idx[b1];
        idx[b1] = tmp;
        for (size_t d = 0; d < nd; d++)
            off += idx[d] * ys[d];
        cr_assert_eq(ad_tensor_get(y, off), x[i], "element %zu", i);
    }
    ad_tape_free(t);
    free(x);
}

Test(transpose, moves_every_element_to_its_swapped_index)
{
    check_transpose_values(2, (size_t[]){3, 5}, 0, 1);
    check_transpose_values(3, (size_t[]){2, 3, 4}, 0, 2);
    check_transpose_values(3, (size_t[]){2, 3, 4}, -1, 1);
    check_transpose_values(4, (size_t[]){2, 3, 4, 5}, 1, 3);
    check_transpose_values(4, (size_t[]){2, 3, 4, 5}, 0, -1);
    check_transpose_values(4, (size_t[]){2, 3, 4, 5}, 2, 2);
}

Test(transpose, float32_agrees_exactly_with_float64)
{
    size_t dims[3] = {3, 4, 5};
    double *x = random_values(60, 91);
    ad_tape *t = ad_tape_new();
    ad_tensor y32 = ad_transpose(tensor_from(t, AD_F32, 3, dims, x, false), 0, 2);
    ad_tensor y64 = ad_transpose(tensor_from(t, AD_F64, 3, dims, x, false), 0, 2);
    for (size_t i = 0; i < 60; i++)
        cr_assert_eq(ad_tensor_get(y32, i), ad_tensor_get(y64, i));
    ad_tape_free(t);
    free(x);
}

Test(transpose, rejects_an_axis_out_of_range_and_names_the_shape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    cr_assert(!ad_tensor_ok(ad_transpose(x, 0, 2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_transpose: axis 2 out of range for shape [2,3]");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    ad_transpose(x, -3, 0);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_transpose: axis -3 out of range for shape [2,3]");
    ad_tape_free(t);
}

/* --------------------------------------------------------------- reshape */

typedef struct rs_case {
    size_t nd, dims[4], nd2, dims2[4];
} rs_case;

static ad_tensor reshape_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const rs_case *c = ctx;
    return weighted_sum(ad_reshape(ad_param_use(t, p[0]), c->nd2, c->dims2), 23);
}

GRADCHECK_TEST(reshape, gradient_matches_central_differences, AD_OP_RESHAPE)
{
    rs_case cases[] = {
        {3, {2, 3, 4}, 2, {4, 6}}, {1, {6}, 3, {1, 6, 1}}, {1, {1}, 4, {1, 1, 1, 1}},
        {4, {2, 1, 3, 1}, 1, {6}}, {2, {0, 3}, 2, {3, 0}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ad_param *p[1] = {test_param(cases[k].nd, cases[k].dims, -1, 1, 10 + k)};
        ASSERT_GRADCHECK(reshape_graph, p, 1, &cases[k], NULL);
        ad_param_free(p[0]);
    }
}

Test(reshape, keeps_the_elements_in_order_under_the_new_shape)
{
    double *x = random_values(24, 92);
    ad_tape *t = ad_tape_new();
    ad_tensor y =
        ad_reshape(tensor_from(t, AD_F32, 3, (size_t[]){2, 3, 4}, x, false), 2, (size_t[]){6, 4});
    size_t d[4];
    cr_assert_eq(ad_tensor_shape(y, d), 2);
    cr_assert(d[0] == 6 && d[1] == 4);
    for (size_t i = 0; i < 24; i++)
        cr_assert_eq(ad_tensor_get(y, i), x[i]);
    ad_tape_free(t);
    free(x);
}

Test(reshape, rejects_a_different_element_count_and_names_both_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    cr_assert(!ad_tensor_ok(ad_reshape(x, 1, (size_t[]){4})));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_reshape: cannot reshape [2,3] (6 elements) to [4] (4 elements)");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    ad_reshape(x, 3, (size_t[]){SIZE_MAX / 2, 4, 2});
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "(too many elements)");
    ad_tape_free(t);
}

Test(reshape, rejects_a_bad_dimension_count_or_null_dims)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){1});
    ad_reshape(x, 5, (size_t[]){1, 1, 1, 1, 1});
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_reshape: 5 dimensions; tensors have 1 to 4");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){1});
    ad_reshape(x, 0, (size_t[]){1});
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_reshape: 0 dimensions");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){1});
    ad_reshape(x, 1, NULL);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "dims is NULL");
    ad_tape_free(t);
}

/* An empty tensor reshaped to an empty shape with huge other dimensions:
 * refused, and the same way wherever the 0 is (the old check multiplied
 * left to right and let [0,H,4] through but not [H,4,0]). */
Test(reshape, to_an_empty_shape_with_huge_dimensions_is_refused_wherever_the_zero_is)
{
    ad_tape *t = ad_tape_new();
    const size_t h = SIZE_MAX / 2;
    const size_t shapes[][3] = {{0, h, 4}, {h, 0, 4}, {h, 4, 0}};
    for (size_t i = 0; i < 3; i++) {
        ad_tensor x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){0});
        cr_assert(!ad_tensor_ok(ad_reshape(x, 3, shapes[i])), "case %zu accepted", i);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_reshape: shape [");
        ad_tape_reset(t);
    }
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){0});
    ad_tensor y = ad_reshape(x, 3, (size_t[]){5, 0, 7});
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert_eq(ad_tensor_numel(y), 0);
    ad_tape_free(t);
}

/* ----------------------------------------------------------------- slice */

typedef struct sl_case {
    size_t nd, dims[4];
    int axis;
    size_t start, stop;
} sl_case;

static ad_tensor slice_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const sl_case *c = ctx;
    return weighted_sum(ad_slice(ad_param_use(t, p[0]), c->axis, c->start, c->stop), 25);
}

GRADCHECK_TEST(slice, gradient_matches_central_differences_at_the_edges_and_inside, AD_OP_SLICE)
{
    sl_case cases[] = {
        {2, {5, 4}, 0, 0, 1},       {2, {5, 4}, 0, 4, 5},    {2, {5, 4}, 1, 1, 3},
        {2, {5, 4}, -1, 0, 4},      {3, {2, 5, 3}, 1, 2, 5}, {3, {2, 5, 3}, -3, 1, 2},
        {4, {2, 3, 4, 5}, 2, 1, 4}, {1, {1}, 0, 0, 1},       {1, {7}, 0, 3, 6},
        {2, {5, 4}, 1, 2, 2}, /* empty */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ad_param *p[1] = {test_param(cases[k].nd, cases[k].dims, -1, 1, 30 + k)};
        ASSERT_GRADCHECK(slice_graph, p, 1, &cases[k], NULL);
        ad_param_free(p[0]);
    }
}

Test(slice, copies_the_block_between_start_and_stop)
{
    size_t dims[3] = {3, 5, 2};
    double *x = random_values(30, 93);
    ad_tape *t = ad_tape_new();
    ad_tensor y = ad_slice(tensor_from(t, AD_F64, 3, dims, x, false), -2, 1, 4);
    size_t d[4];
    cr_assert_eq(ad_tensor_shape(y, d), 3);
    cr_assert(d[0] == 3 && d[1] == 3 && d[2] == 2);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 2; k++)
                cr_assert_eq(ad_tensor_get(y, (i * 3 + j) * 2 + k), x[(i * 5 + j + 1) * 2 + k]);
    ad_tensor e = ad_slice(tensor_from(t, AD_F64, 3, dims, x, false), 0, 3, 3);
    cr_assert_eq(ad_tensor_shape(e, d), 3);
    cr_assert(d[0] == 0 && d[1] == 5 && d[2] == 2);
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
    free(x);
}

Test(slice, rejects_a_range_outside_the_axis_and_names_the_values_and_shape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 5});
    cr_assert(!ad_tensor_ok(ad_slice(x, 1, 3, 7)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_slice: range [3, 7) is not within axis 1 of shape [2,5]");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 5});
    ad_slice(x, -1, 4, 2);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "range [4, 2) is not within axis 1 of shape [2,5]");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 5});
    ad_slice(x, 2, 0, 1);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_slice: axis 2 out of range for shape [2,5]");
    ad_tape_free(t);
}

/* ---------------------------------------------------------------- concat */

typedef struct cc_case {
    size_t n, nd;
    size_t dims[5][4];
    int axis;
} cc_case;

static ad_tensor concat_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    const cc_case *c = ctx;
    ad_tensor xs[5];
    for (size_t k = 0; k < np; k++)
        xs[k] = ad_param_use(t, p[k]);
    return weighted_sum(ad_concat(xs, np, c->axis), 27);
}

static void check_concat(cc_case c)
{
    ad_param *p[5];
    for (size_t k = 0; k < c.n; k++)
        p[k] = test_param(c.nd, c.dims[k], -1, 1, 50 + k);
    ASSERT_GRADCHECK(concat_graph, p, c.n, &c, NULL);
    for (size_t k = 0; k < c.n; k++)
        ad_param_free(p[k]);
}

Test(concat, gradient_matches_central_differences_for_one_input)
{
    check_concat((cc_case){1, 2, {{3, 4}}, 0});
    check_concat((cc_case){1, 1, {{1}}, -1});
}

GRADCHECK_TEST(concat, gradient_matches_central_differences_for_two_inputs_along_every_axis,
               AD_OP_CONCAT)
{
    check_concat((cc_case){2, 2, {{3, 4}, {2, 4}}, 0});
    check_concat((cc_case){2, 2, {{3, 4}, {3, 1}}, 1});
    check_concat((cc_case){2, 2, {{3, 4}, {3, 5}}, -1});
    check_concat((cc_case){2, 1, {{1}, {1}}, 0});
}

Test(concat, gradient_matches_central_differences_for_five_inputs_with_an_empty_one)
{
    check_concat((cc_case){5, 3, {{2, 1, 3}, {2, 4, 3}, {2, 0, 3}, {2, 2, 3}, {2, 3, 3}}, 1});
    check_concat((cc_case){
        5, 4, {{1, 2, 3, 1}, {1, 2, 3, 2}, {1, 2, 3, 3}, {1, 2, 3, 1}, {1, 2, 3, 4}}, -1});
    check_concat((cc_case){5, 2, {{1, 3}, {2, 3}, {3, 3}, {1, 3}, {1, 3}}, -2});
}

static ad_tensor repeat_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    (void)ctx;
    ad_tensor x = ad_param_use(t, p[0]);
    ad_tensor xs[4] = {x, ad_slice(x, 1, 1, 3), x, ad_transpose(x, 0, 1)};
    return weighted_sum(ad_concat(xs, 4, 1), 33);
}

Test(concat, gradient_accumulates_when_one_tensor_feeds_several_inputs)
{
    ad_param *p[1] = {test_param(2, (size_t[]){3, 3}, -1, 1, 70)};
    ASSERT_GRADCHECK(repeat_graph, p, 1, NULL, NULL);
    ad_param_free(p[0]);
}

Test(concat, lays_the_inputs_side_by_side_along_the_axis)
{
    ad_tape *t = ad_tape_new();
    ad_tensor xs[5];
    double *vals[5];
    size_t widths[5] = {1, 3, 0, 2, 1};
    for (size_t k = 0; k < 5; k++) {
        vals[k] = random_values(2 * widths[k] * 2, 100 + k);
        xs[k] = tensor_from(t, AD_F64, 3, (size_t[]){2, widths[k], 2}, vals[k], false);
    }
    ad_tensor y = ad_concat(xs, 5, 1);
    size_t d[4];
    cr_assert_eq(ad_tensor_shape(y, d), 3);
    cr_assert(d[0] == 2 && d[1] == 7 && d[2] == 2);
    for (size_t i = 0; i < 2; i++) {
        size_t j = 0;
        for (size_t k = 0; k < 5; k++)
            for (size_t jk = 0; jk < widths[k]; jk++, j++)
                for (size_t l = 0; l < 2; l++)
                    cr_assert_eq(ad_tensor_get(y, (i * 7 + j) * 2 + l),
                                 vals[k][(i * widths[k] + jk) * 2 + l]);
    }
    ad_tape_free(t);
    for (size_t k = 0; k < 5; k++)
        free(vals[k]);
}

Test(concat, float32_agrees_exactly_with_float64)
{
    double *a = random_values(6, 110), *b = random_values(9, 111);
    ad_tape *t = ad_tape_new();
    ad_tensor x32[2] = {tensor_from(t, AD_F32, 2, (size_t[]){3, 2}, a, false),
                        tensor_from(t, AD_F32, 2, (size_t[]){3, 3}, b, false)};
    ad_tensor x64[2] = {tensor_from(t, AD_F64, 2, (size_t[]){3, 2}, a, false),
                        tensor_from(t, AD_F64, 2, (size_t[]){3, 3}, b, false)};
    ad_tensor y32 = ad_concat(x32, 2, 1), y64 = ad_concat(x64, 2, 1);
    cr_assert_eq(ad_tensor_numel(y32), 15);
    for (size_t i = 0; i < 15; i++)
        cr_assert_eq(ad_tensor_get(y32, i), ad_tensor_get(y64, i));
    ad_tape_free(t);
    free(a);
    free(b);
}

Test(concat, rejects_inputs_that_differ_off_the_axis_and_names_their_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor xs[2] = {ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4}),
                       ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 4})};
    cr_assert(!ad_tensor_ok(ad_concat(xs, 2, 1)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_concat: input 1 has shape [2,4] but input 0 has [3,4]; only axis 1 "
                      "may differ");
    ad_tape_reset(t);
    ad_tensor ys[4] = {ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4}),
                       ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4}),
                       ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4}),
                       ad_tensor_zeros(t, AD_F64, 3, (size_t[]){3, 4, 1})};
    ad_concat(ys, 4, 0);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "input 3 has shape [3,4,1] but input 0 has [3,4]");
    ad_tape_free(t);
}

Test(concat, rejects_an_axis_out_of_range_and_mixed_dtypes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor xs[4] = {ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4}),
                       ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4}),
                       ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4}),
                       ad_tensor_zeros(t, AD_F32, 2, (size_t[]){3, 4})};
    ad_concat(xs, 3, -3);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_concat: axis -3 out of range for shape [3,4]");
    ad_tape_clear_error(t);
    ad_concat(xs, 4, 0);
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_concat: dtypes differ: input 0 is float64, input 3");
    ad_tape_free(t);
}

/* No inputs, no tape to hold the error: the reason goes to ad_last_error. */
Test(concat, of_no_inputs_says_why_through_ad_last_error)
{
    ad_tensor none[1] = {{0}};
    cr_assert(!ad_tensor_ok(ad_concat(none, 0, 0)));
    cr_assert(strstr(ad_last_error(), "ad_concat: no inputs (n is 0)") != NULL, "\"%s\"",
              ad_last_error());
    cr_assert(!ad_tensor_ok(ad_concat(NULL, 2, 0)));
    cr_assert(strstr(ad_last_error(), "ad_concat: xs is NULL") != NULL, "\"%s\"", ad_last_error());
    ad_tensor zeroed[2] = {{0}, {0}};
    cr_assert(!ad_tensor_ok(ad_concat(zeroed, 2, 0)));
    cr_assert(strstr(ad_last_error(), "ad_concat: none of the 2 inputs has a tape") != NULL,
              "\"%s\"", ad_last_error());
    /* with a tape among the inputs, the tape holds the error */
    ad_tape *t = ad_tape_new();
    ad_tensor mixed[2] = {{0}, ad_tensor_zeros(t, AD_F64, 1, (size_t[]){2})};
    cr_assert(!ad_tensor_ok(ad_concat(mixed, 2, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_concat: input 0 is not a tensor handle (no tape)");
    ad_tape_free(t);
}
