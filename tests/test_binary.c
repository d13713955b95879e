/* SPDX-License-Identifier: MIT
 * Broadcasting binary ops (ops/binary.c, ops/broadcast.c): gradients against
 * central differences over equal and broadcast shapes, empty tensors,
 * forward values and gradients by hand, float32 against float64, the
 * broadcast plan's fast paths, and every error path. */
#include "common.h"

#include "ops/broadcast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef ad_tensor (*binop)(ad_tensor, ad_tensor);

typedef struct shape {
    size_t nd;
    size_t d[AD_MAX_DIMS];
} shape;

/* An op and input ranges that keep away from poles, kinks and a <= 0 in pow. */
typedef struct binary_case {
    const char *name;
    binop op;
    double alo, ahi, blo, bhi;
} binary_case;

static const shape equal_shapes[] = {
    {1, {1}}, {1, {7}}, {2, {3, 5}}, {3, {2, 3, 4}}, {4, {2, 1, 3, 2}},
};

static const shape broadcast_pairs[][2] = {
    {{2, {3, 4}}, {1, {4}}},          {{1, {4}}, {2, {3, 4}}}, {{2, {3, 1}}, {2, {1, 4}}},
    {{1, {1}}, {2, {2, 3}}},          {{2, {2, 3}}, {1, {1}}}, {{3, {2, 1, 3}}, {2, {4, 1}}},
    {{2, {4, 1}}, {3, {2, 1, 3}}},    {{2, {5, 3}}, {1, {3}}}, {{4, {2, 3, 1, 2}}, {3, {3, 4, 1}}},
    {{4, {1, 1, 1, 1}}, {2, {3, 2}}},
};

static const shape empty_pairs[][2] = {
    {{1, {0}}, {1, {0}}},    {{2, {3, 0}}, {2, {3, 0}}}, {{2, {3, 0}}, {1, {1}}},
    {{2, {3, 0}}, {1, {0}}}, {{1, {1}}, {2, {3, 0}}},
};

static ad_tensor binary_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const binary_case *c = ctx;
    return test_weighted_sum(c->op(ad_param_use(t, ps[0]), ad_param_use(t, ps[1])));
}

static const char *shape_text(const shape *s, char *buf)
{
    size_t off = 0;
    buf[off++] = '[';
    for (size_t i = 0; i < s->nd; i++)
        off += (size_t)sprintf(buf + off, i ? ",%zu" : "%zu", s->d[i]);
    buf[off++] = ']';
    buf[off] = '\0';
    return buf;
}

/* Gradchecks c->op(a, b) with both inputs float64 parameters. */
static void check_binary(const binary_case *c, const shape *sa, const shape *sb, uint64_t seed)
{
    ad_param *ps[2] = {test_param(sa->nd, sa->d, c->alo, c->ahi, seed),
                       test_param(sb->nd, sb->d, c->blo, c->bhi, seed + 7)};
    ad_gradcheck_report r;
    ad_status s = test_gradcheck_graph(binary_graph, ps, 2, (void *)c, NULL, &r);
    char ta[64], tb[64];
    cr_assert(s == AD_OK && r.passed,
              "%s %s with %s: status %s; worst input %zu [%zu]: analytic %.10g, numeric %.10g",
              c->name, shape_text(sa, ta), shape_text(sb, tb), ad_status_name(s), r.input, r.index,
              r.analytic, r.numeric);
    cr_assert_eq(r.checked, ad_param_numel(ps[0]) + ad_param_numel(ps[1]));
    ad_param_free(ps[0]);
    ad_param_free(ps[1]);
}

static void check_equal_shapes(const binary_case *c)
{
    for (size_t i = 0; i < sizeof equal_shapes / sizeof equal_shapes[0]; i++)
        check_binary(c, &equal_shapes[i], &equal_shapes[i], 100 + i);
}

static void check_broadcasts(const binary_case *c)
{
    for (size_t i = 0; i < sizeof broadcast_pairs / sizeof broadcast_pairs[0]; i++)
        check_binary(c, &broadcast_pairs[i][0], &broadcast_pairs[i][1], 200 + i);
}

/* Empty inputs give an empty result of the broadcast shape; a sweep from it
 * succeeds and leaves every input gradient zero. */
static void check_empty(const binary_case *c)
{
    for (size_t i = 0; i < sizeof empty_pairs / sizeof empty_pairs[0]; i++) {
        const shape *sa = &empty_pairs[i][0], *sb = &empty_pairs[i][1];
        check_binary(c, sa, sb, 300 + i);
        ad_tape *t = ad_tape_new();
        ad_tensor a = ad_tensor_variable(t, AD_F64, sa->nd, sa->d, (double[]){1.5});
        ad_tensor b = ad_tensor_variable(t, AD_F64, sb->nd, sb->d, (double[]){1.5});
        ad_tensor y = c->op(a, b);
        cr_assert(ad_tensor_ok(y), "%s: %s", c->name, ad_tape_error(t, NULL) ? "failed" : "");
        size_t dims[AD_MAX_DIMS];
        cr_assert_eq(ad_tensor_shape(y, dims), 2 - (sa->nd == 1 && sb->nd == 1));
        cr_assert_eq(ad_tensor_numel(y), 0);
        double seed = 1.0;
        cr_assert_eq(ad_backward_seeded(y, &seed), AD_OK);
        const ad_tensor in[2] = {a, b};
        for (int k = 0; k < 2; k++) {
            const double *g = ad_tensor_grad(in[k]);
            cr_assert_not_null(g);
            for (size_t j = 0; j < ad_tensor_numel(in[k]); j++)
                cr_assert_eq(g[j], 0.0);
        }
        ad_tape_free(t);
    }
}

#define BINARY_GRADCHECK_TESTS(name, code, fn, alo, ahi, blo, bhi)                                 \
    static const binary_case name##_case = {#fn, fn, alo, ahi, blo, bhi};                          \
    Test(binary, name##_gradient_matches_central_differences_over_equal_shapes)                    \
    {                                                                                              \
        check_equal_shapes(&name##_case);                                                          \
    }                                                                                              \
    GRADCHECK_TEST(binary,                                                                         \
                   name##_gradient_matches_central_differences_into_both_inputs_under_broadcast,   \
                   code)                                                                           \
    {                                                                                              \
        check_broadcasts(&name##_case);                                                            \
    }                                                                                              \
    Test(binary, name##_of_empty_tensors_is_empty_and_sweeps_without_error)                        \
    {                                                                                              \
        check_empty(&name##_case);                                                                 \
    }

BINARY_GRADCHECK_TESTS(add, AD_OP_ADD, ad_tadd, -2.0, 2.0, -2.0, 2.0)
BINARY_GRADCHECK_TESTS(sub, AD_OP_SUB, ad_tsub, -2.0, 2.0, -2.0, 2.0)
BINARY_GRADCHECK_TESTS(mul, AD_OP_MUL, ad_tmul, -2.0, 2.0, -2.0, 2.0)
BINARY_GRADCHECK_TESTS(div, AD_OP_DIV, ad_tdiv, -2.0, 2.0, 0.5, 2.0)
BINARY_GRADCHECK_TESTS(pow, AD_OP_POW, ad_tpow, 0.5, 2.0, -1.5, 1.5)
BINARY_GRADCHECK_TESTS(maximum, AD_OP_MAXIMUM, ad_tmaximum, -2.0, 2.0, -2.0, 2.0)
BINARY_GRADCHECK_TESTS(minimum, AD_OP_MINIMUM, ad_tminimum, -2.0, 2.0, -2.0, 2.0)
/* atan2 away from its cut (b < 0, a = 0) and its pole at the origin */
BINARY_GRADCHECK_TESTS(atan2, AD_OP_ATAN2, ad_tatan2, -2.0, 2.0, 0.5, 2.0)
BINARY_GRADCHECK_TESTS(atan2_left, AD_OP_ATAN2, ad_tatan2, 0.5, 2.0, -2.0, 2.0)

/* ---- forward values and gradients by hand: a [2,3] op b [3], seed ones */

static const double A6[6] = {1, 2, 3, 4, 5, 6}, B3[3] = {0.5, 2, 4};

typedef struct hand_case {
    binop op;
    double y[6], ga[6], gb[3];
} hand_case;

static void check_by_hand(const hand_case *h, double tol)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 3}, A6);
    ad_tensor b = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, B3);
    ad_tensor y = h->op(a, b);
    cr_assert(ad_tensor_ok(y));
    size_t dims[AD_MAX_DIMS];
    cr_assert_eq(ad_tensor_shape(y, dims), 2);
    cr_assert(dims[0] == 2 && dims[1] == 3);
    for (size_t i = 0; i < 6; i++)
        cr_assert_float_eq(ad_tensor_get(y, i), h->y[i], tol, "y[%zu] = %g, want %g", i,
                           ad_tensor_get(y, i), h->y[i]);
    double seed[6] = {1, 1, 1, 1, 1, 1};
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    const double *ga = ad_tensor_grad(a), *gb = ad_tensor_grad(b);
    for (size_t i = 0; i < 6; i++)
        cr_assert_float_eq(ga[i], h->ga[i], tol, "ga[%zu] = %g, want %g", i, ga[i], h->ga[i]);
    for (size_t i = 0; i < 3; i++)
        cr_assert_float_eq(gb[i], h->gb[i], tol, "gb[%zu] = %g, want %g", i, gb[i], h->gb[i]);
    ad_tape_free(t);
}

Test(binary, add_and_sub_match_hand_values_and_sum_the_gradient_over_broadcast_rows)
{
    check_by_hand(&(hand_case){ad_tadd, {1.5, 4, 7, 4.5, 7, 10}, {1, 1, 1, 1, 1, 1}, {2, 2, 2}},
                  1e-15);
    check_by_hand(&(hand_case){ad_tsub, {0.5, 0, -1, 3.5, 3, 2}, {1, 1, 1, 1, 1, 1}, {-2, -2, -2}},
                  1e-15);
}

Test(binary, mul_and_div_match_hand_values_and_gradients_under_row_broadcast)
{
    /* d(ab)/da = b, d(ab)/db = a summed over rows */
    check_by_hand(&(hand_case){ad_tmul, {0.5, 4, 12, 2, 10, 24}, {0.5, 2, 4, 0.5, 2, 4}, {5, 7, 9}},
                  1e-15);
    /* d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 summed over rows */
    check_by_hand(&(hand_case){ad_tdiv,
                               {2, 1, 0.75, 8, 2.5, 1.5},
                               {2, 0.5, 0.25, 2, 0.5, 0.25},
                               {-5 / 0.25, -7 / 4.0, -9 / 16.0}},
                  1e-14);
}

Test(binary, pow_matches_hand_values_and_gradients_under_row_broadcast)
{
    /* d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log a summed over rows */
    check_by_hand(&(hand_case){ad_tpow,
                               {1, 4, 81, 2, 25, 1296},
                               {0.5, 4, 108, 0.25, 10, 864},
                               {1 * log(1.0) + 2 * log(4.0), 4 * log(2.0) + 25 * log(5.0),
                                81 * log(3.0) + 1296 * log(6.0)}},
                  1e-11);
}

Test(binary, maximum_and_minimum_send_tied_gradients_to_the_first_input)
{
    /* a [[1,2,3],[4,5,6]] vs b [0.5,2,4]: a[0][1] = b[1] ties */
    check_by_hand(&(hand_case){ad_tmaximum, {1, 2, 4, 4, 5, 6}, {1, 1, 0, 1, 1, 1}, {0, 0, 1}},
                  0.0);
    check_by_hand(&(hand_case){ad_tminimum, {0.5, 2, 3, 0.5, 2, 4}, {0, 1, 1, 0, 0, 0}, {2, 1, 1}},
                  0.0);
}

Test(binary, maximum_and_minimum_propagate_nan_like_numpy)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){(double)NAN, 1.0});
    ad_tensor b = ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){1.0, (double)NAN});
    ad_tensor hi = ad_tmaximum(a, b), lo = ad_tminimum(a, b);
    for (size_t i = 0; i < 2; i++) {
        cr_assert(isnan(ad_tensor_get(hi, i)), "maximum[%zu] = %g", i, ad_tensor_get(hi, i));
        cr_assert(isnan(ad_tensor_get(lo, i)), "minimum[%zu] = %g", i, ad_tensor_get(lo, i));
    }
    ad_tape_free(t);
}

/* The b-gradient of a^b is a^b log a for a > 0; 0 at a = 0; NaN for a < 0,
 * as for the scalar ad_pow. The a-gradient is 0 when b = 0 (a^0 = 1). */
Test(binary, pow_b_gradient_is_zero_at_a_zero_and_nan_for_negative_a)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_variable(t, AD_F64, 1, (size_t[]){4}, (double[]){0, -2, 4, 0});
    ad_tensor b = ad_tensor_variable(t, AD_F64, 1, (size_t[]){4}, (double[]){2, 3, 0.5, 0});
    ad_tensor y = ad_tpow(a, b);
    double seed[4] = {1, 1, 1, 1};
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    const double *ga = ad_tensor_grad(a), *gb = ad_tensor_grad(b);
    double want_y[4] = {0, -8, 2, 1}, want_ga[4] = {0, 12, 0.25, 0};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_float_eq(ad_tensor_get(y, i), want_y[i], 1e-15);
        cr_assert_float_eq(ga[i], want_ga[i], 1e-15, "ga[%zu] = %g", i, ga[i]);
    }
    cr_assert_eq(gb[0], 0.0);
    cr_assert(isnan(gb[1]));
    cr_assert_float_eq(gb[2], 2 * log(4.0), 1e-15);
    cr_assert_eq(gb[3], 0.0);
    ad_tape_free(t);
}

Test(binary, pow_with_a_constant_exponent_has_finite_gradient_for_negative_base)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){-2, -0.5});
    ad_tensor b = ad_tensor_new(t, AD_F64, 1, (size_t[]){1}, (double[]){3});
    ad_tensor y = ad_tpow(a, b);
    double seed[2] = {1, 1};
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    const double *ga = ad_tensor_grad(a);
    cr_assert_float_eq(ga[0], 12.0, 1e-14);
    cr_assert_float_eq(ga[1], 0.75, 1e-15);
    cr_assert_null(ad_tensor_grad(b));
    ad_tape_free(t);
}

/* atan2(a, b) is the angle of (b, a); the partials b/r^2 and -a/r^2 stay
 * finite where a^2 + b^2 overflows or underflows, and are NaN at the origin */
Test(binary, atan2_matches_hand_values_in_every_quadrant_and_at_extreme_scales)
{
    const double pi = 3.14159265358979323846;
    const double a[6] = {1, 1, -1, 0, 3e200, 3e-200}, b[6] = {1, -1, -1, 0, 4e200, 4e-200};
    const double y[6] = {pi / 4, 3 * pi / 4,          -3 * pi / 4,
                         0,      0.64350110879328437, 0.64350110879328437};
    ad_tape *t = ad_tape_new();
    ad_tensor va = ad_tensor_variable(t, AD_F64, 1, (size_t[]){6}, a);
    ad_tensor vb = ad_tensor_variable(t, AD_F64, 1, (size_t[]){6}, b);
    ad_tensor v = ad_tatan2(va, vb);
    cr_assert_eq(ad_backward(ad_sum(v)), AD_OK);
    const double *da = ad_tensor_grad(va), *db = ad_tensor_grad(vb);
    /* b / r^2 and -a / r^2 with r = 5e200 and 5e-200 written out */
    const double want_a[6] = {0.5, -0.5, -0.5, (double)NAN, 0.16e-200, 0.16e200};
    const double want_b[6] = {-0.5, -0.5, 0.5, (double)NAN, -0.12e-200, -0.12e200};
    for (size_t i = 0; i < 6; i++) {
        cr_assert(fabs(ad_tensor_get(v, i) - y[i]) <= 1e-15, "atan2(%g, %g)", a[i], b[i]);
        cr_assert(isnan(want_a[i]) ? isnan(da[i])
                                   : fabs(da[i] - want_a[i]) <= 1e-14 * fabs(want_a[i]),
                  "d/da at (%g, %g): %g", a[i], b[i], da[i]);
        cr_assert(isnan(want_b[i]) ? isnan(db[i])
                                   : fabs(db[i] - want_b[i]) <= 1e-14 * fabs(want_b[i]),
                  "d/db at (%g, %g): %g", a[i], b[i], db[i]);
    }
    ad_tape_free(t);
}

Test(binary, atan2_rejects_float32_with_float64_and_a_stale_handle)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){3});
    ad_tensor b = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_tatan2(a, b)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE,
                      "ad_tatan2: dtypes differ: input 0 is float32, input 1 is float64");
    ad_tape_reset(t);
    ad_tensor c = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_tatan2(c, a)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_tatan2: tensor handle #0 was recorded before");
    ad_tape_free(t);
}

Test(binary, an_input_used_as_both_operands_gets_both_gradient_terms)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){1, -2, 3});
    double seed[3] = {1, 1, 1};
    cr_assert_eq(ad_backward_seeded(ad_tmul(x, x), seed), AD_OK);
    const double *g = ad_tensor_grad(x);
    cr_assert(g[0] == 2 && g[1] == -4 && g[2] == 6);
    cr_assert_eq(ad_backward_seeded(ad_tsub(x, x), seed), AD_OK);
    g = ad_tensor_grad(x);
    cr_assert(g[0] == 0 && g[1] == 0 && g[2] == 0);
    ad_tape_free(t);
}

Test(binary, parameter_gradients_accumulate_across_sweeps)
{
    ad_param *p = test_param(1, (size_t[]){3}, -1, 1, 5);
    ad_tape *t = ad_tape_new();
    ad_tensor w = ad_param_use(t, p);
    ad_tensor c = ad_tensor_new(t, AD_F64, 1, (size_t[]){1}, (double[]){2.5});
    ad_tensor y = ad_tmul(w, c);
    double seed[3] = {1, 1, 1};
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    const double *g = ad_param_grad(p);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(g[i], 5.0);
    ad_tape_free(t);
    ad_param_free(p);
}

/* ---- float32 against float64 */

static const binary_case all_cases[] = {
    {"ad_tadd", ad_tadd, -2, 2, -2, 2},         {"ad_tsub", ad_tsub, -2, 2, -2, 2},
    {"ad_tmul", ad_tmul, -2, 2, -2, 2},         {"ad_tdiv", ad_tdiv, -2, 2, 0.5, 2},
    {"ad_tpow", ad_tpow, 0.5, 2, -1.5, 1.5},    {"ad_tmaximum", ad_tmaximum, -2, 2, -2, 2},
    {"ad_tminimum", ad_tminimum, -2, 2, -2, 2}, {"ad_tatan2", ad_tatan2, -2, 2, 0.5, 2},
};

/* Values and gradients of one op in float32 and float64 on the same inputs. */
static void compare_dtypes(const binary_case *c, const shape *sa, const shape *sb)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a64 = ad_tensor_uniform(t, AD_F64, sa->nd, sa->d, c->alo, c->ahi, 11);
    ad_tensor b64 = ad_tensor_uniform(t, AD_F64, sb->nd, sb->d, c->blo, c->bhi, 12);
    size_t na = ad_tensor_numel(a64), nb = ad_tensor_numel(b64);
    float af[64], bf[64];
    for (size_t i = 0; i < na; i++)
        af[i] = (float)ad_tensor_get(a64, i);
    for (size_t i = 0; i < nb; i++)
        bf[i] = (float)ad_tensor_get(b64, i);
    double ad[64], bd[64];
    for (size_t i = 0; i < na; i++)
        ad[i] = (double)af[i]; /* the float64 run sees the same rounded inputs */
    for (size_t i = 0; i < nb; i++)
        bd[i] = (double)bf[i];
    ad_tensor a = ad_tensor_variable(t, AD_F64, sa->nd, sa->d, ad);
    ad_tensor b = ad_tensor_variable(t, AD_F64, sb->nd, sb->d, bd);
    ad_tensor a32 = ad_tensor_variable(t, AD_F32, sa->nd, sa->d, af);
    ad_tensor b32 = ad_tensor_variable(t, AD_F32, sb->nd, sb->d, bf);
    ad_tensor y = c->op(a, b), y32 = c->op(a32, b32);
    cr_assert(ad_tensor_ok(y) && ad_tensor_ok(y32), "%s", c->name);
    cr_assert_eq(ad_tensor_dtype(y32), AD_F32);
    size_t n = ad_tensor_numel(y);
    cr_assert_eq(ad_tensor_numel(y32), n);
    for (size_t i = 0; i < n; i++) {
        double u = ad_tensor_get(y, i), v = ad_tensor_get(y32, i);
        cr_assert(fabs(u - v) <= 1e-6 + 1e-5 * fabs(u), "%s y[%zu]: f64 %.9g f32 %.9g", c->name, i,
                  u, v);
    }
    double seed[64];
    for (size_t i = 0; i < n; i++)
        seed[i] = test_weight(i);
    /* each sweep clears the tape's gradients, so keep the float64 ones */
    cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
    double g64[2][64];
    memcpy(g64[0], ad_tensor_grad(a), na * sizeof(double));
    memcpy(g64[1], ad_tensor_grad(b), nb * sizeof(double));
    cr_assert_eq(ad_backward_seeded(y32, seed), AD_OK);
    const ad_tensor d32[2] = {a32, b32};
    for (int k = 0; k < 2; k++) {
        const double *g = g64[k];
        const float *g32 = ad_tensor_grad(d32[k]);
        for (size_t i = 0; i < (k ? nb : na); i++)
            cr_assert(fabs(g[i] - (double)g32[i]) <= 1e-5 + 1e-5 * fabs(g[i]),
                      "%s grad %d [%zu]: f64 %.9g f32 %.9g", c->name, k, i, g[i], (double)g32[i]);
    }
    ad_tape_free(t);
}

Test(binary, float32_values_and_gradients_match_float64_on_equal_and_broadcast_shapes)
{
    for (size_t k = 0; k < sizeof all_cases / sizeof all_cases[0]; k++) {
        compare_dtypes(&all_cases[k], &equal_shapes[3], &equal_shapes[3]);
        for (size_t i = 0; i < sizeof broadcast_pairs / sizeof broadcast_pairs[0]; i++)
            compare_dtypes(&all_cases[k], &broadcast_pairs[i][0], &broadcast_pairs[i][1]);
    }
}

/* ---- the broadcast plan: common cases take the contiguous fast paths */

static ad_node node_of(size_t nd, const size_t *d)
{
    ad_node n;
    memset(&n, 0, sizeof n);
    n.ndim = (uint8_t)nd;
    n.numel = 1;
    for (size_t i = 0; i < nd; i++) {
        n.dims[i] = d[i];
        n.numel *= d[i];
    }
    return n;
}

static ad_bcast plan_of(size_t nda, const size_t *da, size_t ndb, const size_t *db, size_t ndy,
                        const size_t *dy)
{
    ad_node a = node_of(nda, da), b = node_of(ndb, db), y = node_of(ndy, dy);
    ad_bcast p;
    ad_bcast_plan(&p, &a, &b, &y);
    return p;
}

Test(binary, broadcast_plan_runs_equal_shapes_as_one_contiguous_row)
{
    ad_bcast p = plan_of(3, (size_t[]){2, 3, 4}, 3, (size_t[]){2, 3, 4}, 3, (size_t[]){2, 3, 4});
    cr_assert(p.rows == 1 && p.cols == 24 && p.ia == 1 && p.ib == 1);
    /* a leading 1 in one input changes nothing */
    p = plan_of(2, (size_t[]){3, 4}, 3, (size_t[]){1, 3, 4}, 3, (size_t[]){1, 3, 4});
    cr_assert(p.rows == 1 && p.cols == 12 && p.ia == 1 && p.ib == 1);
}

Test(binary, broadcast_plan_runs_a_single_element_side_as_a_stride_zero_row)
{
    ad_bcast p = plan_of(2, (size_t[]){3, 4}, 1, (size_t[]){1}, 2, (size_t[]){3, 4});
    cr_assert(p.rows == 1 && p.cols == 12 && p.ia == 1 && p.ib == 0);
    p = plan_of(2, (size_t[]){1, 1}, 2, (size_t[]){2, 3}, 2, (size_t[]){2, 3});
    cr_assert(p.rows == 1 && p.cols == 6 && p.ia == 0 && p.ib == 1);
}

Test(binary, broadcast_plan_runs_bias_add_as_contiguous_rows_with_b_at_offset_zero)
{
    ad_bcast p = plan_of(2, (size_t[]){5, 3}, 1, (size_t[]){3}, 2, (size_t[]){5, 3});
    cr_assert(p.rows == 5 && p.cols == 3 && p.ia == 1 && p.ib == 1);
    for (size_t r = 0; r < 5; r++) {
        size_t oa, ob;
        ad_bcast_row(&p, r, &oa, &ob);
        cr_assert(oa == 3 * r && ob == 0);
    }
}

Test(binary, broadcast_plan_walks_mixed_stretching_with_per_input_offsets)
{
    /* [2,1,3] with [4,1] -> [2,4,3]: row r = (n, j) reads a at 3n, b at j */
    ad_bcast p = plan_of(3, (size_t[]){2, 1, 3}, 2, (size_t[]){4, 1}, 3, (size_t[]){2, 4, 3});
    cr_assert(p.rows == 8 && p.cols == 3 && p.ia == 1 && p.ib == 0);
    for (size_t r = 0; r < 8; r++) {
        size_t oa, ob;
        ad_bcast_row(&p, r, &oa, &ob);
        cr_assert(oa == 3 * (r / 4) && ob == r % 4, "row %zu: %zu %zu", r, oa, ob);
    }
    /* an empty output has no rows */
    p = plan_of(2, (size_t[]){3, 0}, 1, (size_t[]){1}, 2, (size_t[]){3, 0});
    cr_assert_eq(p.rows, 0);
}

/* The gradient of a stretched float32 input sums a term per row: with
 * every term 0.1f and 10^6 terms per element, a float running sum drifts
 * about 1% (it stalls as the sum grows); summed in double the result is the
 * exact count * 0.1f, rounded once. L = sum(x * c) with c = 0.1f, so dL/dx
 * is the count of terms times 0.1f. Covers the row-add reduction with one
 * target row (bias-like) on each side and with targets that alternate
 * between rows, the add/sub pass-through, and a side stretched along the
 * row itself. */
static void check_million_term_sum(size_t nd, const size_t *dv, size_t ny, const size_t *dy,
                                   bool var_first, bool through_add, double terms)
{
    ad_tape *t = ad_tape_new();
    ad_tensor v = ad_tensor_variable(t, AD_F32, nd, dv, NULL);
    ad_tensor c = ad_tensor_fill(t, AD_F32, ny, dy, 0.1);
    ad_tensor y;
    if (through_add) /* (v + 0) * c: add passes dL/dy = c through to v */
        y = ad_tmul(var_first ? ad_tadd(v, ad_tensor_zeros(t, AD_F32, ny, dy))
                              : ad_tsub(ad_tensor_zeros(t, AD_F32, ny, dy), ad_tneg(v)),
                    c);
    else
        y = var_first ? ad_tmul(v, c) : ad_tmul(c, v);
    cr_assert_eq(ad_backward(ad_sum(y)), AD_OK);
    const float *g = ad_tensor_grad(v);
    const double want = terms * (double)0.1f;
    for (size_t i = 0; i < ad_tensor_numel(v); i++)
        cr_assert(fabs((double)g[i] - want) <= 1e-6 * want, "dL/dv[%zu] = %.9g, want %.9g", i,
                  (double)g[i], want);
    ad_tape_free(t);
}

Test(binary, float32_broadcast_gradients_sum_a_million_terms_to_float_precision)
{
    const size_t rows = 1000000;
    /* [4] against [1e6,4]: one target row, b side then a side */
    check_million_term_sum(1, (size_t[]){4}, 2, (size_t[]){rows, 4}, false, false, 1e6);
    check_million_term_sum(1, (size_t[]){4}, 2, (size_t[]){rows, 4}, true, false, 1e6);
    /* the same through add and sub, which reduce dL/dy without a scratch */
    check_million_term_sum(1, (size_t[]){4}, 2, (size_t[]){rows, 4}, true, true, 1e6);
    check_million_term_sum(1, (size_t[]){4}, 2, (size_t[]){rows, 4}, false, true, 1e6);
    /* [2,1,3] against [N,2,5,3]: consecutive rows alternate between targets */
    check_million_term_sum(3, (size_t[]){2, 1, 3}, 4, (size_t[]){rows / 5, 2, 5, 3}, false, false,
                           1e6);
    /* [2,1] against [N,2,4]: stretched along the row, one target per row */
    check_million_term_sum(2, (size_t[]){2, 1}, 3, (size_t[]){rows / 4, 2, 4}, false, false, 1e6);
}

/* The flat index in x (nx dims, aligned right, size-1 dims stretched) of
 * element i of an output of shape dy. */
static size_t bcast_index(size_t i, size_t nd, const size_t *dy, size_t nx, const size_t *dx)
{
    size_t k = 0, stride = 1;
    for (size_t d = nd; d-- > nd - nx;) {
        size_t e = d - (nd - nx);
        if (dx[e] != 1) k += (i % dy[d]) * stride;
        i /= dy[d];
        stride *= dx[e];
    }
    return k;
}

/* dL/dv of L = sum(v * c) against a naive double sum over the output's
 * elements (c random, so every term counts; output shape dy), for shapes
 * whose targets get more than one block of rows: the blocked walk with
 * stretching at several levels, partial blocks, target rows wider than one
 * chunk of columns, a target stretched along the row, kept dimensions on
 * both sides of a stretched one; either side, both dtypes. */
static void check_reduce_against_naive(size_t nv, const size_t *dv, size_t nc, const size_t *dc,
                                       size_t nd, const size_t *dy, bool var_first)
{
    size_t ny = 1, nvv = 1, ncc = 1;
    for (size_t d = 0; d < nd; d++)
        ny *= dy[d];
    for (size_t d = 0; d < nv; d++)
        nvv *= dv[d];
    for (size_t d = 0; d < nc; d++)
        ncc *= dc[d];
    for (int dt = 0; dt < 2; dt++) {
        ad_tape *t = ad_tape_new();
        ad_dtype ty = dt ? AD_F64 : AD_F32;
        ad_tensor v = ad_tensor_variable(t, ty, nv, dv, NULL);
        ad_tensor c = ad_tensor_uniform(t, ty, nc, dc, -1.0, 1.0, 5);
        ad_tensor y = var_first ? ad_tmul(v, c) : ad_tmul(c, v);
        cr_assert_eq(ad_tensor_numel(y), ny);
        cr_assert_eq(ad_backward(ad_sum(y)), AD_OK);
        double *want = calloc(nvv, sizeof *want), *mag = calloc(nvv, sizeof *mag);
        cr_assert(want && mag && ncc > 0);
        for (size_t i = 0; i < ny; i++) {
            size_t k = bcast_index(i, nd, dy, nv, dv);
            double ci = ad_tensor_get(c, bcast_index(i, nd, dy, nc, dc));
            want[k] += ci;
            mag[k] += fabs(ci);
        }
        const void *g = ad_tensor_grad(v);
        for (size_t k = 0; k < nvv; k++) {
            double got = dt ? ((const double *)g)[k] : (double)((const float *)g)[k];
            cr_assert(fabs(got - want[k]) <= (dt ? 1e-13 : 1e-6) * mag[k],
                      "%s, v of %zu dims, output of %zu, [%zu]: %.17g, want %.17g",
                      dt ? "float64" : "float32", nv, nd, k, got, want[k]);
        }
        free(want);
        free(mag);
        ad_tape_free(t);
    }
}

Test(binary, broadcast_gradients_over_many_rows_match_a_naive_sum)
{
    static const struct {
        shape v, c, y;
        bool v_first;
    } cases[] = {
        {{1, {5}}, {2, {70, 5}}, {2, {70, 5}}, false},
        {{1, {5}}, {2, {70, 5}}, {2, {70, 5}}, true},
        {{3, {2, 1, 3}}, {4, {7, 2, 9, 3}}, {4, {7, 2, 9, 3}}, false},
        {{3, {3, 1, 300}}, {3, {3, 40, 300}}, {3, {3, 40, 300}}, true}, /* two column chunks */
        {{3, {1, 4, 1}}, {3, {50, 4, 3}}, {3, {50, 4, 3}}, false}, /* stretched along the row */
        {{2, {4, 1}}, {3, {33, 4, 65}}, {3, {33, 4, 65}}, true},
        /* kept dimensions on both sides of a stretched one (c's stretching
         * keeps the last two apart): the outer walk wraps */
        {{4, {3, 1, 4, 5}}, {4, {3, 40, 1, 5}}, {4, {3, 40, 4, 5}}, false},
        {{4, {3, 1, 4, 1}}, {4, {3, 6, 4, 7}}, {4, {3, 6, 4, 7}}, true},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_reduce_against_naive(cases[k].v.nd, cases[k].v.d, cases[k].c.nd, cases[k].c.d,
                                   cases[k].y.nd, cases[k].y.d, cases[k].v_first);
}

/* ---- errors */

Test(binary, every_op_rejects_shapes_that_do_not_broadcast_and_names_both)
{
    for (size_t k = 0; k < sizeof all_cases / sizeof all_cases[0]; k++) {
        ad_tape *t = ad_tape_new();
        ad_tensor a = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4});
        ad_tensor b = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){5});
        ad_tensor y = all_cases[k].op(a, b);
        cr_assert(!ad_tensor_ok(y));
        char want[96];
        snprintf(want, sizeof want, "%s: shapes [3,4] and [5] do not broadcast", all_cases[k].name);
        ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, want);
        ad_tape_free(t);
    }
}

Test(binary, rejects_mismatched_ranks_that_do_not_broadcast)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){2, 3});
    ad_tensor b = ad_tensor_zeros(t, AD_F32, 3, (size_t[]){4, 2, 2});
    cr_assert(!ad_tensor_ok(ad_tmul(a, b)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_tmul: shapes [2,3] and [4,2,2] do not broadcast");
    ad_tape_free(t);
}

Test(binary, rejects_float32_with_float64)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){3});
    ad_tensor b = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_tadd(a, b)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_tadd: dtypes differ");
    ad_tape_free(t);
}

Test(binary, rejects_an_input_from_another_tape)
{
    ad_tape *t = ad_tape_new(), *u = ad_tape_new();
    ad_tensor a = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    ad_tensor b = ad_tensor_zeros(u, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_tdiv(a, b)));
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN, "ad_tdiv: input 1 belongs to a different tape");
    cr_assert_eq(ad_tape_error(u, NULL), AD_OK);
    ad_tape_free(t);
    ad_tape_free(u);
}

Test(binary, rejects_a_handle_recorded_before_reset)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    ad_tape_reset(t);
    ad_tensor b = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_tpow(b, a)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_tpow: tensor handle #0 was recorded before");
    ad_tape_free(t);
}

Test(binary, rejects_an_invalid_handle_and_keeps_the_first_error)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    ad_tensor bad = ad_tmaximum(a, ad_tensor_zeros(t, AD_F64, 1, (size_t[]){2}));
    cr_assert(!ad_tensor_ok(bad));
    /* the error is sticky: a later op does nothing and keeps the message */
    cr_assert(!ad_tensor_ok(ad_tadd(a, a)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_tmaximum: shapes [3] and [2]");
    ad_tape_clear_error(t);
    cr_assert(!ad_tensor_ok(ad_tminimum(a, bad)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tminimum: invalid tensor handle");
    ad_tape_free(t);
}

Test(binary, ops_on_handles_without_a_tape_return_invalid_handles)
{
    ad_tensor none = {0};
    cr_assert(!ad_tensor_ok(ad_tadd(none, none)));
}
