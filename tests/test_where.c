/* SPDX-License-Identifier: MIT
 * where(cond, a, b) (ops/where.c): gradients into a and b against central
 * differences over equal, broadcast and empty shapes of all three inputs,
 * hand values (nonzero and NaN conditions are true, the mask gets no
 * gradient), float32 against float64, and error paths. */
#include "common.h"

#include <math.h>
#include <stdio.h>

typedef struct shape {
    size_t nd;
    size_t d[AD_MAX_DIMS];
} shape;

/* cond, a, b */
static const shape triples[][3] = {
    {{1, {1}}, {1, {1}}, {1, {1}}},
    {{1, {7}}, {1, {7}}, {1, {7}}},
    {{2, {3, 5}}, {2, {3, 5}}, {2, {3, 5}}},
    {{3, {2, 3, 4}}, {3, {2, 3, 4}}, {3, {2, 3, 4}}},
    {{4, {2, 1, 3, 2}}, {4, {2, 1, 3, 2}}, {4, {2, 1, 3, 2}}},
    {{2, {3, 1}}, {2, {1, 4}}, {1, {4}}},
    {{1, {4}}, {2, {3, 4}}, {1, {1}}},
    {{3, {2, 1, 3}}, {2, {4, 1}}, {1, {1}}},
    {{1, {1}}, {2, {2, 3}}, {2, {2, 3}}},
    {{2, {5, 3}}, {1, {3}}, {2, {5, 1}}},
    {{4, {2, 1, 1, 2}}, {3, {3, 1, 1}}, {3, {1, 4, 2}}},
};

static const shape empty_triples[][3] = {
    {{2, {3, 0}}, {2, {3, 0}}, {1, {1}}},
    {{1, {1}}, {1, {0}}, {1, {0}}},
    {{1, {0}}, {2, {2, 1}}, {1, {1}}},
};

/* A mask value for element i: 0, 1 and, now and then, other nonzero values
 * (-2.5, NaN), which count as true. */
static double mask_value(size_t i)
{
    static const double v[7] = {1, 0, 0, 1, -2.5, 0, (double)NAN};
    return v[(i * 5 + 1) % 7];
}

static double mask_buf[64];

static ad_tensor where_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const shape *c = ctx;
    ad_tensor cond = ad_tensor_new(t, AD_F64, c->nd, c->d, mask_buf);
    return test_weighted_sum(ad_where(cond, ad_param_use(t, ps[0]), ad_param_use(t, ps[1])));
}

static void check_triple(const shape s[3], uint64_t seed)
{
    for (size_t i = 0; i < 64; i++)
        mask_buf[i] = mask_value(i);
    ad_param *ps[2] = {test_param(s[1].nd, s[1].d, -2, 2, seed),
                       test_param(s[2].nd, s[2].d, -2, 2, seed + 3)};
    ASSERT_GRADCHECK(where_graph, ps, 2, (void *)&s[0], NULL);
    ad_param_free(ps[0]);
    ad_param_free(ps[1]);
}

GRADCHECK_TEST(where, gradient_matches_central_differences_over_equal_and_broadcast_shapes,
               AD_OP_WHERE)
{
    for (size_t k = 0; k < sizeof triples / sizeof triples[0]; k++)
        check_triple(triples[k], 10 + k);
}

Test(where, empty_inputs_give_an_empty_broadcast_result_and_sweep_cleanly)
{
    static const size_t want_nd[3] = {2, 1, 2};
    for (size_t k = 0; k < sizeof empty_triples / sizeof empty_triples[0]; k++) {
        const shape *s = empty_triples[k];
        check_triple(s, 50 + k);
        ad_tape *t = ad_tape_new();
        ad_tensor c = ad_tensor_ones(t, AD_F64, s[0].nd, s[0].d);
        ad_tensor a = ad_tensor_variable(t, AD_F64, s[1].nd, s[1].d, NULL);
        ad_tensor b = ad_tensor_variable(t, AD_F64, s[2].nd, s[2].d, NULL);
        ad_tensor y = ad_where(c, a, b);
        cr_assert(ad_tensor_ok(y), "triple %zu", k);
        size_t dims[AD_MAX_DIMS];
        cr_assert_eq(ad_tensor_shape(y, dims), want_nd[k]);
        cr_assert_eq(ad_tensor_numel(y), 0);
        double seed = 1.0;
        cr_assert_eq(ad_backward_seeded(y, &seed), AD_OK);
        for (size_t i = 0; i < ad_tensor_numel(b); i++)
            cr_assert_eq(((const double *)ad_tensor_grad(b))[i], 0.0);
        ad_tape_free(t);
    }
}

/* cond [2,1] = {1, 0}, a [3], b [1]: row 0 is a, row 1 is b; a gets one
 * gradient per element, b the sum of three, the mask none */
Test(where, matches_hand_values_and_sends_the_gradient_to_the_chosen_side)
{
    ad_tape *t = ad_tape_new();
    ad_tensor c = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 1}, (double[]){1, 0});
    ad_tensor a = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){1, 2, 3});
    ad_tensor b = ad_tensor_variable(t, AD_F64, 1, (size_t[]){1}, (double[]){10});
    ad_tensor y = ad_where(c, a, b);
    size_t dims[AD_MAX_DIMS];
    cr_assert_eq(ad_tensor_shape(y, dims), 2);
    cr_assert(dims[0] == 2 && dims[1] == 3);
    const double want[6] = {1, 2, 3, 10, 10, 10};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(ad_tensor_get(y, i), want[i]);
    double seed[6] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    const double *ga = ad_tensor_grad(a), *gb = ad_tensor_grad(b), *gc = ad_tensor_grad(c);
    cr_assert(ga[0] == 1 && ga[1] == 2 && ga[2] == 3);
    cr_assert_eq(gb[0], 15.0);
    cr_assert(gc[0] == 0 && gc[1] == 0, "the mask gets no gradient");
    ad_tape_free(t);
}

/* Any nonzero condition is true, NaN and -0.0 included and excluded as
 * IEEE compares them: NaN != 0, -0 == 0. */
Test(where, nonzero_and_nan_conditions_are_true_and_negative_zero_is_false)
{
    ad_tape *t = ad_tape_new();
    const float cv[5] = {2.0f, -1e-30f, NAN, -0.0f, 0.0f};
    ad_tensor c = ad_tensor_new(t, AD_F32, 1, (size_t[]){5}, cv);
    ad_tensor a = ad_tensor_new(t, AD_F32, 1, (size_t[]){5}, (float[]){1, 1, 1, 1, 1});
    ad_tensor b = ad_tensor_new(t, AD_F32, 1, (size_t[]){5}, (float[]){-1, -1, -1, -1, -1});
    ad_tensor y = ad_where(c, a, b);
    const double want[5] = {1, 1, 1, -1, -1};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(ad_tensor_get(y, i), want[i], "cond %g", (double)cv[i]);
    ad_tape_free(t);
}

Test(where, float32_matches_float64_on_broadcast_shapes)
{
    for (size_t k = 0; k < sizeof triples / sizeof triples[0]; k++) {
        const shape *s = triples[k];
        ad_tape *t = ad_tape_new();
        ad_tensor in64[3], in32[3];
        for (size_t j = 0; j < 3; j++) {
            ad_tensor u = ad_tensor_uniform(t, AD_F64, s[j].nd, s[j].d, -2, 2, 90 + j);
            size_t n = ad_tensor_numel(u);
            double d[64];
            float f[64];
            for (size_t i = 0; i < n; i++) {
                f[i] = j == 0 ? (float)mask_value(i) : (float)ad_tensor_get(u, i);
                d[i] = (double)f[i];
            }
            in64[j] = ad_tensor_variable(t, AD_F64, s[j].nd, s[j].d, d);
            in32[j] = ad_tensor_variable(t, AD_F32, s[j].nd, s[j].d, f);
        }
        ad_tensor y64 = ad_where(in64[0], in64[1], in64[2]);
        ad_tensor y32 = ad_where(in32[0], in32[1], in32[2]);
        cr_assert(ad_tensor_ok(y64) && ad_tensor_ok(y32));
        size_t n = ad_tensor_numel(y64);
        double seed[64];
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(ad_tensor_get(y64, i), ad_tensor_get(y32, i), "triple %zu [%zu]", k, i);
            seed[i] = test_weight(i);
        }
        double g64[2][64];
        cr_assert_eq(ad_backward_seeded(y64, seed), AD_OK);
        for (size_t j = 1; j < 3; j++)
            memcpy(g64[j - 1], ad_tensor_grad(in64[j]), ad_tensor_numel(in64[j]) * sizeof(double));
        cr_assert_eq(ad_backward_seeded(y32, seed), AD_OK);
        for (size_t j = 1; j < 3; j++) {
            const float *g32 = ad_tensor_grad(in32[j]);
            for (size_t i = 0; i < ad_tensor_numel(in32[j]); i++)
                cr_assert(fabs(g64[j - 1][i] - (double)g32[i]) <= 1e-6 * (1 + fabs(g64[j - 1][i])),
                          "triple %zu input %zu [%zu]: f64 %g f32 %g", k, j, i, g64[j - 1][i],
                          (double)g32[i]);
        }
        ad_tape_free(t);
    }
}

Test(where, rejects_shapes_that_do_not_broadcast_naming_all_three)
{
    ad_tape *t = ad_tape_new();
    ad_tensor c = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    ad_tensor a = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){4});
    ad_tensor b = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_where(c, a, b)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_where: shapes [2,3], [4] and [3] do not broadcast");
    ad_tape_clear_error(t);
    /* each pair broadcasts ([2,1] with [1,3], [1,3] with [1]) but [2,1] and [5] do not */
    ad_tensor c2 = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 1});
    ad_tensor a2 = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){1, 3});
    ad_tensor b2 = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){5});
    cr_assert(!ad_tensor_ok(ad_where(c2, a2, b2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_where: shapes [2,1], [1,3] and [5] do not broadcast");
    ad_tape_free(t);
}

Test(where, rejects_a_mask_of_another_dtype)
{
    ad_tape *t = ad_tape_new();
    ad_tensor c = ad_tensor_ones(t, AD_F32, 1, (size_t[]){3});
    ad_tensor a = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_where(c, a, a)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE,
                      "ad_where: dtypes differ: input 0 is float32, input 1 is float64");
    ad_tape_free(t);
}

Test(where, rejects_stale_invalid_and_tapeless_handles)
{
    ad_tape *t = ad_tape_new();
    ad_tensor old = ad_tensor_ones(t, AD_F64, 1, (size_t[]){3});
    ad_tape_reset(t);
    ad_tensor a = ad_tensor_ones(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_where(a, old, a)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE,
                      "ad_where: tensor handle #0 was recorded before the last ad_tape_reset");
    ad_tape_clear_error(t);
    ad_tensor bad = ad_tadd(a, ad_tensor_ones(t, AD_F64, 1, (size_t[]){2}));
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_where(a, a, bad)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_where: invalid tensor handle");
    ad_tape_free(t);
    ad_tensor none = {0};
    cr_assert(!ad_tensor_ok(ad_where(none, none, none)));
}
