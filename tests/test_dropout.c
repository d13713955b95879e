/* SPDX-License-Identifier: MIT
 * dropout (ops/dropout.c): the gradient against central differences with
 * the mask held fixed (the generator reseeded for every evaluation), the
 * keep rate and the 1/(1 - p) scaling, reproducibility from the generator,
 * the identity in evaluation and at p = 0, float32 against float64, and the
 * errors for a bad rate or a missing generator. */
#include "op_helpers.h"

#include <math.h>

typedef struct drop_case {
    size_t nd;
    size_t d[AD_MAX_DIMS];
    double p;
} drop_case;

static const drop_case cases[] = {
    {1, {1}, 0.5},       {1, {7}, 0.3},          {2, {3, 5}, 0.5},
    {3, {2, 3, 4}, 0.9}, {4, {2, 1, 3, 5}, 0.2}, {2, {5, 1}, 0.01},
};

/* The same seed every call: the numeric differences see the mask the
 * analytic gradient used. */
static ad_tensor drop_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const drop_case *c = ctx;
    ad_rng r;
    ad_rng_seed(&r, 1234);
    return test_weighted_sum(ad_dropout(ad_ttanh(ad_param_use(t, ps[0])), c->p, true, &r));
}

GRADCHECK_TEST(dropout, gradient_matches_central_differences_with_the_mask_held_fixed,
               AD_OP_DROPOUT)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ad_param *x = test_param(cases[i].nd, cases[i].d, -2, 2, 40 + i);
        ASSERT_GRADCHECK(drop_graph, &x, 1, (void *)&cases[i], NULL);
        ad_param_free(x);
    }
}

/* 10^5 elements at p = 0.3: about 70% kept (5 sigma is 0.0072), each kept
 * one scaled by 1/0.7, the others 0; the gradient is the same mask times
 * 1/0.7. */
Test(dropout, keeps_about_one_minus_p_and_scales_the_kept_by_its_inverse)
{
    const size_t n = 100000;
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F32, 1, &n, NULL);
    float *xv = (float *)ad_tensor_data(x);
    for (size_t i = 0; i < n; i++)
        xv[i] = 1.0f + (float)(i % 7);
    ad_rng r;
    ad_rng_seed(&r, 9);
    ad_tensor y = ad_dropout(x, 0.3, true, &r);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
    const float *yv = ad_tensor_data(y), *g = ad_tensor_grad(x);
    const float scale = (float)(1.0 / 0.7);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (yv[i] != 0.0f) {
            kept++;
            cr_assert_eq(yv[i], xv[i] * scale, "element %zu", i);
            cr_assert_eq(g[i], scale, "element %zu", i);
        } else {
            cr_assert_eq(g[i], 0.0f, "element %zu", i);
        }
    }
    double rate = (double)kept / (double)n;
    cr_assert(fabs(rate - 0.7) < 0.0072, "kept %.4f", rate);
    ad_tape_free(t);
}

/* The mask depends on the generator's state alone, and the generator
 * advances by one draw per two elements, as ad_rng_next would. */
Test(dropout, the_generator_state_decides_the_mask_and_advances_like_ad_rng_next)
{
    const size_t n = 1001;
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F64, 1, &n);
    ad_rng a, b, c;
    ad_rng_seed(&a, 5);
    b = a;
    ad_rng_seed(&c, 6);
    ad_tensor ya = ad_dropout(x, 0.5, true, &a), yb = ad_dropout(x, 0.5, true, &b);
    ad_tensor yc = ad_dropout(x, 0.5, true, &c);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(ad_tensor_get(ya, i), ad_tensor_get(yb, i));
        differ += ad_tensor_get(ya, i) != ad_tensor_get(yc, i);
    }
    cr_assert_gt(differ, 300, "another seed, another mask");
    ad_rng ref;
    ad_rng_seed(&ref, 5);
    for (size_t i = 0; i < (n + 1) / 2; i++)
        ad_rng_next(&ref);
    cr_assert_eq(memcmp(&ref, &a, sizeof ref), 0);
    /* a second call continues the stream: a new mask */
    ad_tensor y2 = ad_dropout(x, 0.5, true, &a);
    differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += ad_tensor_get(ya, i) != ad_tensor_get(y2, i);
    cr_assert_gt(differ, 300);
    ad_tape_free(t);
}

Test(dropout, is_the_identity_in_evaluation_and_at_rate_zero_and_leaves_the_generator)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){3, 4}, -1, 1, 2);
    ad_rng r, before;
    ad_rng_seed(&r, 3);
    before = r;
    size_t nodes = ad_tape_stats_get(t).tensor_nodes;
    ad_tensor e = ad_dropout(x, 0.5, false, &r), z = ad_dropout(x, 0.0, true, &r);
    ad_tensor n = ad_dropout(x, 0.9, false, NULL);
    cr_assert(memcmp(&e, &x, sizeof x) == 0 && memcmp(&z, &x, sizeof x) == 0 &&
              memcmp(&n, &x, sizeof x) == 0);
    cr_assert_eq(ad_tape_stats_get(t).tensor_nodes, nodes, "nothing recorded");
    cr_assert_eq(memcmp(&r, &before, sizeof r), 0, "the generator is untouched");
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

/* A dropped element is 0 whatever it held, and passes no gradient. */
Test(dropout, a_dropped_nan_or_inf_gives_zero)
{
    const size_t n = 64;
    ad_tape *t = ad_tape_new();
    double v[64];
    for (size_t i = 0; i < n; i++)
        v[i] = i % 2 ? (double)NAN : (double)INFINITY;
    ad_tensor x = ad_tensor_new(t, AD_F64, 1, &n, v);
    ad_rng r;
    ad_rng_seed(&r, 8);
    ad_tensor y = ad_dropout(x, 0.5, true, &r);
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++)
        zeros += ad_tensor_get(y, i) == 0.0;
    cr_assert(zeros > 10 && zeros < 54, "%zu zeros", zeros);
    ad_tape_free(t);
}

Test(dropout, float32_matches_float64_on_the_same_generator_state)
{
    const size_t dims[3] = {3, 5, 7}, n = 105;
    double *v = random_values(n, 11);
    ad_tape *t = ad_tape_new();
    ad_tensor x32 = tensor_from(t, AD_F32, 3, dims, v, true);
    ad_tensor x64 = tensor_from(t, AD_F64, 3, dims, v, true);
    ad_rng a, b;
    ad_rng_seed(&a, 21);
    b = a;
    ad_tensor y32 = ad_dropout(x32, 0.25, true, &a), y64 = ad_dropout(x64, 0.25, true, &b);
    for (size_t i = 0; i < n; i++)
        cr_assert_float_eq(ad_tensor_get(y32, i), ad_tensor_get(y64, i), 1e-6, "element %zu", i);
    ad_tape_free(t);
    free(v);
}

Test(dropout, empty_input_gives_an_empty_output)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){0, 3}, NULL);
    ad_rng r;
    ad_rng_seed(&r, 1);
    ad_tensor y = ad_dropout(x, 0.5, true, &r);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert_eq(ad_tensor_numel(y), 0);
    ad_tape_free(t);
}

Test(dropout, rejects_a_rate_outside_zero_to_one_naming_it)
{
    const double bad[] = {1.0, -0.1, 1.5, (double)NAN, (double)INFINITY};
    const char *says[] = {"ad_dropout: p is 1; the rate must be in [0, 1)", "p is -0.1;",
                          "p is 1.5;", "p is nan;", "p is inf;"};
    for (size_t i = 0; i < 5; i++)
        for (int training = 0; training < 2; training++) {
            ad_tape *t = ad_tape_new();
            ad_tensor x = ad_tensor_ones(t, AD_F32, 1, (size_t[]){4});
            ad_rng r;
            ad_rng_seed(&r, 1);
            cr_assert(!ad_tensor_ok(ad_dropout(x, bad[i], training, &r)));
            ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, says[i]);
            ad_tape_free(t);
        }
}

Test(dropout, rejects_training_without_a_generator_and_inputs_without_a_tape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 1, (size_t[]){4});
    cr_assert(!ad_tensor_ok(ad_dropout(x, 0.5, true, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_dropout: rng is NULL; training with p = 0.5");
    ad_tape_free(t);
    ad_tensor none = {0};
    cr_assert(!ad_tensor_ok(ad_dropout(none, 0.5, true, NULL)));
    cr_assert(strstr(ad_last_error(), "ad_dropout: the input has no tape") != NULL, "%s",
              ad_last_error());
    /* a stale handle in evaluation is caught, not passed through */
    t = ad_tape_new();
    x = ad_tensor_ones(t, AD_F32, 1, (size_t[]){4});
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(ad_dropout(x, 0.5, false, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_dropout: tensor handle #0 was recorded before");
    ad_tape_free(t);
}
