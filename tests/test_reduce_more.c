/* SPDX-License-Identifier: MIT
 * min, prod, cumsum and argmax/argmin (ops/reduce_more.c): gradients
 * against central differences over shapes, axes and keepdim (prod with
 * zeros too), values against naive loops in both dtypes, first-extreme ties,
 * NaN, empty tensors, and every error. */
#include "reduce_cases.h"

/* ---- min */

GRADCHECK_TEST(reduce_more, min_gradient_matches_central_differences_for_every_axis, AD_OP_MIN)
{
    rcheck_everything(R_MIN, 0);
}

Test(reduce_more, min_float32_matches_float64_and_naive_loops)
{
    rcheck_float32_against_float64(R_MIN, 0, 0);
}

/* ties: the first minimum takes the whole gradient, as ad_max's first maximum */
Test(reduce_more, min_sends_the_gradient_to_the_first_minimum_only)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){4}, (double[]){2, 1, 5, 1});
    ad_tensor y = ad_min(x);
    cr_assert_eq(ad_tensor_get(y, 0), 1.0);
    cr_assert_eq(ad_backward(y), AD_OK);
    const double *g = ad_tensor_grad(x);
    cr_assert(g[0] == 0 && g[1] == 1 && g[2] == 0 && g[3] == 0);

    ad_tensor m = ad_tensor_variable(t, AD_F32, 2, (size_t[]){2, 3}, (float[]){4, 0, 0, 2, 2, 7});
    ad_tensor r = ad_min_axis(m, 1, true);
    cr_assert(ad_tensor_get(r, 0) == 0 && ad_tensor_get(r, 1) == 2);
    cr_assert_eq(ad_backward_seeded(r, (double[]){10, 20}), AD_OK);
    const float *gm = ad_tensor_grad(m);
    const float want[6] = {0, 10, 0, 20, 0, 0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(gm[i], want[i], "element %d", i);
    ad_tensor c = ad_min_axis(m, 0, false); /* columns (4,2) (0,2) (0,7) */
    cr_assert_eq(ad_backward_seeded(c, (double[]){1, 2, 3}), AD_OK);
    const float wantc[6] = {0, 2, 3, 1, 0, 0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(gm[i], wantc[i], "element %d", i);
    ad_tape_free(t);
}

/* Rows longer than the argmin's chunk of 256: the winner in a later chunk,
 * and a tie across chunks (the first chunk's wins). */
Test(reduce_more, min_of_long_rows_finds_the_first_minimum_across_chunks)
{
    enum { N = 700 };
    double v[2 * N];
    for (size_t i = 0; i < 2 * N; i++)
        v[i] = 10.0 + (double)(i % 13);
    v[600] = -3; /* row 0: in the third chunk */
    v[N + 100] = -5;
    v[N + 500] = -5; /* row 1: tie, the first wins */
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, dbl ? AD_F64 : AD_F32, 2, (size_t[]){2, N}, v, true);
        ad_tensor y = ad_min_axis(x, 1, false);
        cr_assert(ad_tensor_get(y, 0) == -3 && ad_tensor_get(y, 1) == -5);
        int64_t idx[2];
        cr_assert_eq(ad_argmin_axis(x, 1, idx, 2), AD_OK);
        cr_assert(idx[0] == 600 && idx[1] == 100, "%lld %lld", (long long)idx[0],
                  (long long)idx[1]);
        cr_assert_eq(ad_backward_seeded(y, (double[]){1, 1}), AD_OK);
        double g[2 * N];
        grad_as_double(x, g);
        for (size_t i = 0; i < 2 * N; i++)
            cr_assert_eq(g[i], i == 600 || i == N + 100 ? 1.0 : 0.0, "element %zu", i);
        ad_tape_free(t);
    }
}

Test(reduce_more, min_propagates_nan)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x =
        ad_tensor_new(t, AD_F64, 2, (size_t[]){2, 3}, (double[]){1, (double)NAN, -3, 3, 2, 5});
    cr_assert(isnan(ad_tensor_get(ad_min(x), 0)));
    ad_tensor r = ad_min_axis(x, 1, false);
    cr_assert(isnan(ad_tensor_get(r, 0)));
    cr_assert_eq(ad_tensor_get(r, 1), 2.0);
    ad_tensor c = ad_min_axis(x, 0, false);
    cr_assert(ad_tensor_get(c, 0) == 1 && isnan(ad_tensor_get(c, 1)) && ad_tensor_get(c, 2) == -3);
    ad_tape_free(t);
}

Test(reduce_more, min_of_an_empty_group_is_an_error_naming_the_op_and_shape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){0, 3});
    cr_assert(!ad_tensor_ok(ad_min(x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_min: empty tensor [0,3] has no minimum");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_min_axis(x, 0, false)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_min_axis: axis 0 of shape [0,3] is empty: no minimum");
    ad_tape_clear_error(t);
    /* along the other axis there are no groups at all: an empty result */
    ad_tensor y = ad_min_axis(x, 1, false);
    cr_assert(ad_tensor_ok(y));
    cr_assert_eq(ad_tensor_numel(y), 0);
    cr_assert(!ad_tensor_ok(ad_min_axis(x, 2, false)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_min_axis: axis 2 out of range for shape [0,3]");
    ad_tape_free(t);
}

/* ---- prod */

GRADCHECK_TEST(reduce_more, prod_gradient_matches_central_differences_for_every_axis, AD_OP_PROD)
{
    rcheck_everything(R_PROD, 0);
}

/* The product is linear in each element, so central differences are exact
 * at zeros too: one zero in a group (only its own slope survives), two (all
 * slopes vanish), and groups without. */
static ad_tensor prod_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const int *axis = ctx;
    ad_tensor x = ad_param_use(t, p[0]);
    return weighted_sum(*axis < 0 ? ad_prod(x) : ad_prod_axis(x, *axis, false), 5);
}

Test(reduce_more, prod_gradient_is_exact_with_one_or_two_zeros_in_a_group)
{
    ad_param *p[1] = {test_param(2, (size_t[]){4, 5}, 0.5, 1.5, 3)};
    double *v = ad_param_value(p[0]);
    v[1] = 0;  /* row 0: one zero; column 1: one zero */
    v[7] = 0;  /* row 1: two zeros */
    v[8] = 0;  /* column 3: one zero */
    v[12] = 0; /* row 2: one zero, column 2: two zeros with v[7] */
    for (int axis = -1; axis < 2; axis++)
        ASSERT_GRADCHECK(prod_graph, p, 1, &axis, NULL);
    ad_param_free(p[0]);

    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){4}, (double[]){2, 0, 3, 5});
    cr_assert_eq(ad_backward(ad_prod(x)), AD_OK);
    const double *g = ad_tensor_grad(x);
    cr_assert(g[0] == 0 && g[1] == 30 && g[2] == 0 && g[3] == 0, "%g %g %g %g", g[0], g[1], g[2],
              g[3]);
    ad_tensor z = ad_tensor_variable(t, AD_F32, 1, (size_t[]){3}, (float[]){0, 4, 0});
    cr_assert_eq(ad_backward(ad_prod(z)), AD_OK);
    const float *gz = ad_tensor_grad(z);
    cr_assert(gz[0] == 0 && gz[1] == 0 && gz[2] == 0 && !isnan(gz[0]));
    ad_tape_free(t);
}

Test(reduce_more, prod_float32_matches_float64_and_naive_loops)
{
    rcheck_float32_against_float64(R_PROD, 0, 1e-6);
}

/* float32 products run in double: 40 factors of 1e3 overflow float midway
 * but their product with 40 factors of 1e-3 is 1 */
Test(reduce_more, prod_of_float32_accumulates_in_double)
{
    float v[80];
    for (int i = 0; i < 80; i++)
        v[i] = i < 40 ? 1e3f : 1e-3f;
    ad_tape *t = ad_tape_new();
    ad_tensor y = ad_prod(ad_tensor_new(t, AD_F32, 1, (size_t[]){80}, v));
    cr_assert_float_eq(ad_tensor_get(y, 0), 1.0, 1e-5);
    ad_tape_free(t);
}

Test(reduce_more, prod_of_an_empty_group_is_one)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 0}, NULL);
    ad_tensor y = ad_prod_axis(x, 1, false);
    cr_assert(ad_tensor_get(y, 0) == 1 && ad_tensor_get(y, 1) == 1);
    cr_assert_eq(ad_tensor_get(ad_prod(x), 0), 1.0);
    cr_assert_eq(ad_backward_seeded(y, (double[]){1, 1}), AD_OK);
    ad_tape_free(t);
    rcheck((rcase){R_PROD, 2, {0, 3}, true, 0, false, 0});
    rcheck((rcase){R_PROD, 2, {3, 0}, false, 1, true, 0});
}

/* ---- cumsum */

typedef struct cum_case {
    size_t nd, dims[4];
    int axis;
} cum_case;

static ad_tensor cumsum_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const cum_case *c = ctx;
    return weighted_sum(ad_cumsum(ad_param_use(t, p[0]), c->axis), 17);
}

GRADCHECK_TEST(reduce_more, cumsum_gradient_matches_central_differences_for_every_axis,
               AD_OP_CUMSUM)
{
    for (size_t s = 0; s < N_RSHAPES; s++) {
        int nd = (int)rshapes[s][0];
        for (int a = -nd; a < nd; a++) {
            cum_case c = {(size_t)nd, {0}, a};
            memcpy(c.dims, rshapes[s] + 1, 4 * sizeof(size_t));
            ad_param *p[1] = {test_param(c.nd, c.dims, -1, 1, 40 + s)};
            ASSERT_GRADCHECK(cumsum_graph, p, 1, &c, NULL);
            ad_param_free(p[0]);
        }
    }
    cum_case e = {2, {0, 3}, 1};
    ad_param *p[1] = {test_param(2, e.dims, -1, 1, 1)};
    ASSERT_GRADCHECK(cumsum_graph, p, 1, &e, NULL);
    ad_param_free(p[0]);
}

Test(reduce_more, cumsum_matches_hand_values_in_both_dtypes_along_each_axis)
{
    const double v[6] = {1, 2, 3, 4, 5, 6};
    const double rows[6] = {1, 3, 6, 4, 9, 15}, cols[6] = {1, 2, 3, 5, 7, 9};
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, dbl ? AD_F64 : AD_F32, 2, (size_t[]){2, 3}, v, true);
        ad_tensor r = ad_cumsum(x, -1), c = ad_cumsum(x, 0);
        size_t d[4];
        cr_assert_eq(ad_tensor_shape(r, d), 2);
        cr_assert(d[0] == 2 && d[1] == 3);
        for (size_t i = 0; i < 6; i++) {
            cr_assert_eq(ad_tensor_get(r, i), rows[i]);
            cr_assert_eq(ad_tensor_get(c, i), cols[i]);
        }
        /* backward: the reverse running sum of the seed */
        cr_assert_eq(ad_backward_seeded(r, (double[]){1, 2, 3, 4, 5, 6}), AD_OK);
        double g[6];
        grad_as_double(x, g);
        const double want[6] = {6, 5, 3, 15, 11, 6};
        for (size_t i = 0; i < 6; i++)
            cr_assert_eq(g[i], want[i], "element %zu", i);
        ad_tape_free(t);
    }
}

Test(reduce_more, cumsum_float32_matches_float64_along_every_axis)
{
    for (size_t s = 0; s < N_RSHAPES; s++) {
        size_t nd = rshapes[s][0], n = 1;
        for (size_t d = 0; d < nd; d++)
            n *= rshapes[s][1 + d];
        double *v = random_values(n, 90 + s);
        ad_tape *t = ad_tape_new();
        ad_tensor x64 = tensor_from(t, AD_F64, nd, rshapes[s] + 1, v, false);
        ad_tensor x32 = tensor_from(t, AD_F32, nd, rshapes[s] + 1, v, false);
        for (int a = 0; a < (int)nd; a++) {
            ad_tensor y64 = ad_cumsum(x64, a), y32 = ad_cumsum(x32, a);
            for (size_t i = 0; i < n; i++) {
                double w = ad_tensor_get(y64, i), g = ad_tensor_get(y32, i);
                cr_assert(fabs(g - w) <= 1e-6 * (1 + fabs(w)), "shape %zu axis %d [%zu]: %g vs %g",
                          s, a, i, g, w);
            }
        }
        ad_tape_free(t);
        free(v);
    }
}

/* float32 running sums are double: 10^5 terms of 0.1 stay within float rounding */
Test(reduce_more, cumsum_of_float32_accumulates_in_double)
{
    enum { N = 100000 };
    float *v = malloc(N * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < N; i++)
        v[i] = 0.1f;
    ad_tape *t = ad_tape_new();
    ad_tensor y = ad_cumsum(ad_tensor_new(t, AD_F32, 1, (size_t[]){N}, v), 0);
    double exact = (double)N * (double)0.1f;
    cr_assert_float_eq(ad_tensor_get(y, N - 1), exact, 1e-7 * exact);
    ad_tape_free(t);
    free(v);
}

Test(reduce_more, cumsum_rejects_an_axis_out_of_range)
{
    ad_tape *t = ad_tape_new();
    cr_assert(!ad_tensor_ok(ad_cumsum(ad_tensor_zeros(t, AD_F32, 2, (size_t[]){2, 3}), 2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_cumsum: axis 2 out of range for shape [2,3]");
    ad_tape_free(t);
}

/* ---- argmax, argmin */

Test(reduce_more, argmax_and_argmin_give_first_extremes_over_all_and_along_axes)
{
    const double v[6] = {3, 7, 7, -1, 0, -1};
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, dbl ? AD_F64 : AD_F32, 2, (size_t[]){2, 3}, v, false);
        int64_t i1 = -7, r[2], c[3];
        cr_assert_eq(ad_argmax(x, &i1), AD_OK);
        cr_assert_eq(i1, 1);
        cr_assert_eq(ad_argmin(x, &i1), AD_OK);
        cr_assert_eq(i1, 3);
        cr_assert_eq(ad_argmax_axis(x, 1, r, 2), AD_OK);
        cr_assert(r[0] == 1 && r[1] == 1);
        cr_assert_eq(ad_argmin_axis(x, -1, r, 2), AD_OK);
        cr_assert(r[0] == 0 && r[1] == 0);
        cr_assert_eq(ad_argmax_axis(x, 0, c, 3), AD_OK);
        cr_assert(c[0] == 0 && c[1] == 0 && c[2] == 0);
        cr_assert_eq(ad_argmin_axis(x, 0, c, 3), AD_OK);
        cr_assert(c[0] == 1 && c[1] == 1 && c[2] == 1);
        cr_assert_eq(ad_tape_stats_get(t).tensor_nodes, 1, "argmax records nothing");
        ad_tape_free(t);
    }
}

Test(reduce_more, argmax_and_argmin_pick_a_nan)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F32, 1, (size_t[]){4}, (float[]){1, NAN, -2, NAN});
    int64_t i;
    cr_assert_eq(ad_argmax(x, &i), AD_OK);
    cr_assert_eq(i, 1);
    cr_assert_eq(ad_argmin(x, &i), AD_OK);
    cr_assert_eq(i, 1);
    ad_tape_free(t);
}

Test(reduce_more, argmax_matches_a_naive_loop_on_random_rows_of_every_length)
{
    for (size_t n = 1; n <= 300; n += 13) {
        double *x = random_values(3 * n, 500 + n);
        ad_tape *t = ad_tape_new();
        ad_tensor tx = tensor_from(t, AD_F32, 2, (size_t[]){3, n}, x, false);
        int64_t mx[3], mn[3];
        cr_assert_eq(ad_argmax_axis(tx, 1, mx, 3), AD_OK);
        cr_assert_eq(ad_argmin_axis(tx, 1, mn, 3), AD_OK);
        for (size_t r = 0; r < 3; r++) {
            size_t bi = 0, si = 0;
            for (size_t j = 1; j < n; j++) {
                if (x[r * n + j] > x[r * n + bi]) bi = j;
                if (x[r * n + j] < x[r * n + si]) si = j;
            }
            cr_assert(mx[r] == (int64_t)bi && mn[r] == (int64_t)si, "n %zu row %zu", n, r);
        }
        ad_tape_free(t);
        free(x);
    }
}

Test(reduce_more, argmax_errors_go_to_the_tape_and_name_the_values)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    int64_t idx[3];
    cr_assert_eq(ad_argmax_axis(x, 1, idx, 3), AD_ERR_SHAPE);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_argmax_axis: room for 3 indices, but shape [2,3] gives 2");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_argmin_axis(x, 5, idx, 3), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_argmin_axis: axis 5 out of range for shape [2,3]");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_argmax(x, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_argmax: idx is NULL");
    ad_tape_clear_error(t);
    ad_tensor e = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){0, 3});
    cr_assert_eq(ad_argmin(e, idx), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_argmin: empty tensor [0,3] has no minimum");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_argmax_axis(e, 0, idx, 3), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_argmax_axis: axis 0 of shape [0,3] is empty: no maximum");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_argmax_axis(e, 1, NULL, 0), AD_OK, "no groups: nothing to write");
    /* a failed tape stays failed: the call does no work and returns its error */
    ad_tape_set_error(t, AD_ERR_SHAPE, "earlier");
    cr_assert_eq(ad_argmax(x, idx), AD_ERR_SHAPE);
    ad_tape_free(t);
    ad_tensor none = {0};
    cr_assert_eq(ad_argmax(none, idx), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_argmax") != NULL, "%s", ad_last_error());
}
