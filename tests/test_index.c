/* SPDX-License-Identifier: MIT
 * index_select, gather, embedding and one_hot (ops/index.c): gradients
 * against central differences over shapes, axes, repeated and empty index
 * sets, scatter-add of repeated indices by hand, float32 against float64,
 * indices the caller may free, and every error (an index out of range names
 * the index, its position and the bound). */
#include "common.h"
#include "op_helpers.h"

#include <math.h>

/* ---- index_select */

typedef struct sel_case {
    size_t nd, dims[4];
    int axis;
    size_t n;
    int64_t idx[8];
} sel_case;

static const sel_case sel_cases[] = {
    {1, {1}, 0, 1, {0}},
    {1, {7}, 0, 5, {6, 0, 3, 3, 6}}, /* repeats */
    {2, {3, 5}, 0, 4, {2, 0, 2, 1}},
    {2, {3, 5}, 1, 3, {4, 4, 4}},
    {2, {3, 5}, -1, 0, {0}}, /* no indices: an empty result */
    {3, {2, 3, 4}, 1, 2, {1, 1}},
    {3, {2, 3, 4}, 2, 5, {3, 0, 1, 2, 0}},
    {4, {2, 1, 3, 2}, 2, 4, {0, 2, 2, 1}},
    {4, {2, 1, 3, 2}, 1, 3, {0, 0, 0}},
    {2, {0, 3}, 1, 2, {2, 0}}, /* empty x, indices into a nonempty axis */
};

static ad_tensor select_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const sel_case *c = ctx;
    return weighted_sum(ad_index_select(ad_param_use(t, p[0]), c->axis, c->idx, c->n), 7);
}

GRADCHECK_TEST(index, index_select_gradient_matches_central_differences_with_repeats,
               AD_OP_INDEX_SELECT)
{
    for (size_t k = 0; k < sizeof sel_cases / sizeof sel_cases[0]; k++) {
        const sel_case *c = &sel_cases[k];
        ad_param *p[1] = {test_param(c->nd, c->dims, -1, 1, 10 + k)};
        ASSERT_GRADCHECK(select_graph, p, 1, (void *)c, NULL);
        ad_param_free(p[0]);
    }
}

Test(index, index_select_picks_slices_and_scatter_adds_repeats)
{
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, dbl ? AD_F64 : AD_F32, 2, (size_t[]){3, 2},
                                  (double[]){1, 2, 3, 4, 5, 6}, true);
        int64_t idx[4] = {2, 0, 2, 2};
        ad_tensor y = ad_index_select(x, 0, idx, 4);
        idx[0] = 99; /* the op copied the indices: the caller's array is free again */
        size_t d[4];
        cr_assert_eq(ad_tensor_shape(y, d), 2);
        cr_assert(d[0] == 4 && d[1] == 2);
        const double want[8] = {5, 6, 1, 2, 5, 6, 5, 6};
        for (size_t i = 0; i < 8; i++)
            cr_assert_eq(ad_tensor_get(y, i), want[i]);
        cr_assert_eq(ad_backward_seeded(y, (double[]){1, 2, 3, 4, 5, 6, 7, 8}), AD_OK);
        double g[6];
        grad_as_double(x, g);
        /* row 0 once (3, 4); row 2 three times (1+5+7, 2+6+8); row 1 never */
        const double wg[6] = {3, 4, 0, 0, 13, 16};
        for (size_t i = 0; i < 6; i++)
            cr_assert_eq(g[i], wg[i], "element %zu", i);
        ad_tensor c = ad_index_select(x, 1, (int64_t[]){1}, 1);
        cr_assert(ad_tensor_get(c, 0) == 2 && ad_tensor_get(c, 1) == 4 && ad_tensor_get(c, 2) == 6);
        ad_tape_free(t);
    }
}

Test(index, index_select_rejects_indices_out_of_range_naming_index_position_and_bound)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){3, 5});
    cr_assert(!ad_tensor_ok(ad_index_select(x, 1, (int64_t[]){0, 4, 5}, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_index_select: index 5 (position 2) is out of range [0, 5) for axis 1 "
                      "of x [3,5]");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_index_select(x, 0, (int64_t[]){-1}, 1)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_index_select: index -1 (position 0) is out of range [0, 3)");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_index_select(x, 2, (int64_t[]){0}, 1)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_index_select: axis 2 out of range for shape [3,5]");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_index_select(x, 0, NULL, 2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_index_select: the index array is NULL");
    ad_tape_clear_error(t);
    cr_assert(ad_tensor_ok(ad_index_select(x, 0, NULL, 0)), "no indices need no array");
    ad_tape_free(t);
}

/* ---- gather */

typedef struct gat_case {
    size_t nd, xd[4], id[4];
    int axis;
} gat_case;

static const gat_case gat_cases[] = {
    {1, {5}, {7}, 0},
    {2, {3, 4}, {3, 6}, 1},
    {2, {3, 4}, {5, 4}, 0},
    {2, {3, 4}, {2, 3}, -1}, /* smaller than x off the axis */
    {3, {2, 3, 4}, {2, 2, 4}, 1},
    {4, {2, 1, 3, 2}, {2, 1, 3, 5}, 3},
    {2, {3, 4}, {3, 0}, 1}, /* no indices */
};

static int64_t gat_idx[64];

static void fill_gather_indices(const gat_case *c)
{
    size_t n = 1, bound = c->xd[c->axis < 0 ? c->axis + (int)c->nd : c->axis];
    for (size_t d = 0; d < c->nd; d++)
        n *= c->id[d];
    for (size_t i = 0; i < n; i++)
        gat_idx[i] = (int64_t)((i * 7 + 3) % bound);
}

static ad_tensor gather_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const gat_case *c = ctx;
    return weighted_sum(ad_gather(ad_param_use(t, p[0]), c->axis, gat_idx, c->nd, c->id), 9);
}

GRADCHECK_TEST(index, gather_gradient_matches_central_differences, AD_OP_GATHER)
{
    for (size_t k = 0; k < sizeof gat_cases / sizeof gat_cases[0]; k++) {
        const gat_case *c = &gat_cases[k];
        fill_gather_indices(c);
        ad_param *p[1] = {test_param(c->nd, c->xd, -1, 1, 30 + k)};
        ASSERT_GRADCHECK(gather_graph, p, 1, (void *)c, NULL);
        ad_param_free(p[0]);
    }
}

/* y[i][j] = x[i][idx[i][j]]: picking each row's label logit, with repeats */
Test(index, gather_matches_torch_gather_by_hand_in_both_dtypes)
{
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, dbl ? AD_F64 : AD_F32, 2, (size_t[]){2, 3},
                                  (double[]){1, 2, 3, 4, 5, 6}, true);
        ad_tensor y = ad_gather(x, 1, (int64_t[]){2, 2, 0, 1}, 2, (size_t[]){2, 2});
        const double want[4] = {3, 3, 4, 5};
        for (size_t i = 0; i < 4; i++)
            cr_assert_eq(ad_tensor_get(y, i), want[i]);
        cr_assert_eq(ad_backward_seeded(y, (double[]){1, 2, 3, 4}), AD_OK);
        double g[6];
        grad_as_double(x, g);
        const double wg[6] = {0, 0, 3, 3, 4, 0};
        for (size_t i = 0; i < 6; i++)
            cr_assert_eq(g[i], wg[i], "element %zu", i);
        /* along axis 0: y[i][j] = x[idx[i][j]][j] */
        ad_tensor c = ad_gather(x, 0, (int64_t[]){1, 0, 1}, 2, (size_t[]){1, 3});
        cr_assert(ad_tensor_get(c, 0) == 4 && ad_tensor_get(c, 1) == 2 && ad_tensor_get(c, 2) == 6);
        ad_tape_free(t);
    }
}

Test(index, gather_rejects_bad_index_shapes_and_values)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4});
    int64_t idx[12] = {0};
    cr_assert(!ad_tensor_ok(ad_gather(x, 1, idx, 1, (size_t[]){3})));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_gather: the index has 1 dimensions, x [3,4] has 2");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_gather(x, 1, idx, 2, (size_t[]){4, 2})));
    ASSERT_TAPE_ERROR(
        t, AD_ERR_SHAPE,
        "ad_gather: index shape [4,2] exceeds x [3,4] in dimension 0 (off the axis 1)");
    ad_tape_clear_error(t);
    idx[5] = 4;
    cr_assert(!ad_tensor_ok(ad_gather(x, 1, idx, 2, (size_t[]){3, 2})));
    ASSERT_TAPE_ERROR(
        t, AD_ERR_INVALID,
        "ad_gather: index 4 (position 5) is out of range [0, 4) for axis 1 of x [3,4]");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_gather(x, 1, idx, 2, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_gather: dims is NULL");
    ad_tape_free(t);
}

/* ---- embedding */

typedef struct emb_case {
    size_t v, d, nd, dims[3];
} emb_case;

static const emb_case emb_cases[] = {
    {1, 1, 1, {1}},       {5, 3, 1, {7}}, {6, 4, 2, {2, 3}},
    {4, 2, 3, {2, 2, 3}}, {3, 5, 1, {0}}, {4, 0, 1, {3}},
};

static int64_t emb_idx[64];

static ad_tensor embedding_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const emb_case *c = ctx;
    return weighted_sum(ad_embedding(ad_param_use(t, p[0]), emb_idx, c->nd, c->dims), 13);
}

GRADCHECK_TEST(index, embedding_gradient_matches_central_differences_with_repeated_tokens,
               AD_OP_EMBEDDING)
{
    for (size_t k = 0; k < sizeof emb_cases / sizeof emb_cases[0]; k++) {
        const emb_case *c = &emb_cases[k];
        size_t n = 1;
        for (size_t d = 0; d < c->nd; d++)
            n *= c->dims[d];
        for (size_t i = 0; i < n; i++)
            emb_idx[i] = (int64_t)((i * 3 + 1) % c->v); /* repeats when n > v */
        ad_param *p[1] = {test_param(2, (size_t[]){c->v, c->d}, -1, 1, 50 + k)};
        ASSERT_GRADCHECK(embedding_graph, p, 1, (void *)c, NULL);
        ad_param_free(p[0]);
    }
}

/* A token seen k times collects k gradients (scatter-add), in a parameter
 * as in a tape variable; shapes are idx's plus [D]. */
Test(index, embedding_accumulates_the_gradients_of_repeated_tokens)
{
    for (int dbl = 0; dbl < 2; dbl++) {
        ad_param *w = ad_param_new(dbl ? AD_F64 : AD_F32, 2, (size_t[]){4, 2});
        ad_param_uniform(w, -1, 1, 3);
        ad_tape *t = ad_tape_new();
        ad_tensor wt = ad_param_use(t, w);
        int64_t tok[6] = {3, 1, 3, 3, 0, 1};
        ad_tensor e = ad_embedding(wt, tok, 2, (size_t[]){2, 3});
        size_t d[4];
        cr_assert_eq(ad_tensor_shape(e, d), 3);
        cr_assert(d[0] == 2 && d[1] == 3 && d[2] == 2);
        for (size_t i = 0; i < 6; i++)
            for (size_t j = 0; j < 2; j++) {
                size_t at = (size_t)tok[i] * 2 + j;
                double want = dbl ? ((double *)ad_param_value(w))[at]
                                  : (double)((float *)ad_param_value(w))[at];
                cr_assert_eq(ad_tensor_get(e, i * 2 + j), want);
            }
        cr_assert_eq(ad_backward(ad_sum(e)), AD_OK);
        const double counts[4] = {1, 2, 0, 3};
        for (size_t r = 0; r < 4; r++)
            for (size_t j = 0; j < 2; j++) {
                size_t at = r * 2 + j;
                double g = dbl ? ((double *)ad_param_grad(w))[at]
                               : (double)((float *)ad_param_grad(w))[at];
                cr_assert_eq(g, counts[r], "row %zu", r);
            }
        ad_tape_free(t);
        ad_param_free(w);
    }
}

Test(index, embedding_float32_matches_float64)
{
    double *wv = random_values(40, 4);
    int64_t tok[9] = {9, 0, 4, 4, 2, 7, 1, 9, 3};
    ad_tape *t = ad_tape_new();
    ad_tensor w64 = tensor_from(t, AD_F64, 2, (size_t[]){10, 4}, wv, false);
    ad_tensor w32 = tensor_from(t, AD_F32, 2, (size_t[]){10, 4}, wv, false);
    ad_tensor a = ad_embedding(w64, tok, 2, (size_t[]){3, 3});
    ad_tensor b = ad_embedding(w32, tok, 2, (size_t[]){3, 3});
    for (size_t i = 0; i < 36; i++)
        cr_assert_eq(ad_tensor_get(a, i), ad_tensor_get(b, i));
    ad_tape_free(t);
    free(wv);
}

Test(index, embedding_rejects_bad_weights_indices_and_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor w = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){10, 4});
    cr_assert(!ad_tensor_ok(ad_embedding(w, (int64_t[]){1, 2, 3, 12}, 1, (size_t[]){4})));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_embedding: index 12 (position 3) is out of range [0, 10) for the 10 "
                      "rows of weight [10,4]");
    ad_tape_clear_error(t);
    ad_tensor v = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){10});
    cr_assert(!ad_tensor_ok(ad_embedding(v, (int64_t[]){1}, 1, (size_t[]){1})));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_embedding: weight must be [V,D], got [10]");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_embedding(w, (int64_t[]){1}, 4, (size_t[]){1, 1, 1, 1})));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_embedding: the indices have 4 dimensions; 1 to 3 allowed");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_embedding(w, (int64_t[]){1}, 1, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_embedding: dims is NULL");
    ad_tape_clear_error(t);
    size_t huge[3] = {SIZE_MAX / 2, 4, 1};
    cr_assert(!ad_tensor_ok(ad_embedding(w, (int64_t[]){1}, 3, huge)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_embedding: index shape");
    ad_tape_free(t);
}

/* ---- one_hot */

Test(index, one_hot_sets_one_class_per_index_and_takes_no_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_tensor h = ad_one_hot(t, AD_F32, (int64_t[]){2, 0, 2, 1}, 2, (size_t[]){2, 2}, 3);
    size_t d[4];
    cr_assert_eq(ad_tensor_shape(h, d), 3);
    cr_assert(d[0] == 2 && d[1] == 2 && d[2] == 3);
    const double want[12] = {0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0};
    for (size_t i = 0; i < 12; i++)
        cr_assert_eq(ad_tensor_get(h, i), want[i]);
    /* a constant: a sweep through it leaves it without a gradient */
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){1, 2, 3});
    ad_tensor oh = ad_one_hot(t, AD_F64, (int64_t[]){1}, 1, (size_t[]){1}, 3);
    ad_tensor y = ad_sum(ad_tmul(ad_reshape(oh, 1, (size_t[]){3}), x));
    cr_assert_eq(ad_tensor_get(y, 0), 2.0);
    cr_assert_eq(ad_backward(y), AD_OK);
    cr_assert_null(ad_tensor_grad(oh));
    const double *gx = ad_tensor_grad(x);
    cr_assert(gx[0] == 0 && gx[1] == 1 && gx[2] == 0);
    ad_tape_free(t);
}

Test(index, one_hot_rejects_classes_out_of_range_and_bad_arguments)
{
    ad_tape *t = ad_tape_new();
    cr_assert(!ad_tensor_ok(ad_one_hot(t, AD_F32, (int64_t[]){0, 3}, 1, (size_t[]){2}, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_one_hot: index 3 (position 1) is out of range [0, 3) classes");
    cr_assert_eq(ad_tape_stats_get(t).tensor_nodes, 0, "nothing recorded");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_one_hot(t, AD_F32, (int64_t[]){0}, 0, (size_t[]){1}, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_one_hot: the indices have 0 dimensions");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_one_hot(t, (ad_dtype)5, (int64_t[]){0}, 1, (size_t[]){1}, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_one_hot: unknown dtype 5");
    ad_tape_free(t);
    cr_assert(!ad_tensor_ok(ad_one_hot(NULL, AD_F32, (int64_t[]){0}, 1, (size_t[]){1}, 3)));
    cr_assert(strstr(ad_last_error(), "ad_one_hot: the tape is NULL") != NULL, "%s",
              ad_last_error());
}

/* ---- no tape: every issue-20 call names itself in ad_last_error */

static void expect_named(const char *fn)
{
    const char *m = ad_last_error();
    size_t n = strlen(fn);
    cr_expect(strncmp(m, fn, n) == 0 && m[n] == ':', "\"%s\" does not name %s", m, fn);
}

#define NAMED(fn, call)                                                                            \
    do {                                                                                           \
        ad_set_last_error("");                                                                     \
        (void)(call);                                                                              \
        expect_named(fn);                                                                          \
    } while (0)

Test(index, issue_20_calls_on_zeroed_handles_name_themselves)
{
    ad_tensor z = {0};
    int64_t i = 0, out[1];
    NAMED("ad_cast", ad_cast(z, AD_F64));
    NAMED("ad_min", ad_min(z));
    NAMED("ad_min_axis", ad_min_axis(z, 0, false));
    NAMED("ad_prod", ad_prod(z));
    NAMED("ad_prod_axis", ad_prod_axis(z, 0, false));
    NAMED("ad_logsumexp", ad_logsumexp(z));
    NAMED("ad_logsumexp_axis", ad_logsumexp_axis(z, 0, false));
    NAMED("ad_var", ad_var(z, 1));
    NAMED("ad_var_axis", ad_var_axis(z, 0, false, 1));
    NAMED("ad_std", ad_std(z, 1));
    NAMED("ad_std_axis", ad_std_axis(z, 0, false, 1));
    NAMED("ad_norm", ad_norm(z, 2));
    NAMED("ad_norm_axis", ad_norm_axis(z, 2, 0, false));
    NAMED("ad_cumsum", ad_cumsum(z, 0));
    NAMED("ad_argmax", ad_argmax(z, out));
    NAMED("ad_argmin", ad_argmin(z, out));
    NAMED("ad_argmax_axis", ad_argmax_axis(z, 0, out, 1));
    NAMED("ad_argmin_axis", ad_argmin_axis(z, 0, out, 1));
    NAMED("ad_index_select", ad_index_select(z, 0, &i, 1));
    NAMED("ad_gather", ad_gather(z, 0, &i, 1, (size_t[]){1}));
    NAMED("ad_embedding", ad_embedding(z, &i, 1, (size_t[]){1}));
    NAMED("ad_one_hot", ad_one_hot(NULL, AD_F32, &i, 1, (size_t[]){1}, 2));
}
