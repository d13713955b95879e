/* SPDX-License-Identifier: MIT
 * Edge cases the gradcheck rule asks of every op, table-driven across the op
 * families: float32 against float64 at odd sizes past the vector widths and
 * with size-1 dimensions, empty tensors through forward, backward and
 * gradcheck in both dtypes, and the scalar bridges over odd shapes. */
#include "common.h"
#include "op_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* An op on one or two inputs, wrapped so one table holds every family. */
typedef ad_tensor (*edge_fn)(const ad_tensor *x);

#define WRAP(name, expr)                                                                           \
    static ad_tensor name(const ad_tensor *x)                                                      \
    {                                                                                              \
        return expr;                                                                               \
    }

WRAP(w_neg, ad_tneg(x[0]))
WRAP(w_exp, ad_texp(x[0]))
WRAP(w_log, ad_tlog(x[0]))
WRAP(w_sqrt, ad_tsqrt(x[0]))
WRAP(w_square, ad_tsquare(x[0]))
WRAP(w_abs, ad_tabs(x[0]))
WRAP(w_scale, ad_tscale(x[0], -2.5))
WRAP(w_addc, ad_taddc(x[0], 0.75))
WRAP(w_sigmoid, ad_tsigmoid(x[0]))
WRAP(w_tanh, ad_ttanh(x[0]))
WRAP(w_relu, ad_relu(x[0]))
WRAP(w_leaky_relu, ad_leaky_relu(x[0], 0.1))
WRAP(w_softplus, ad_softplus(x[0]))
WRAP(w_swish, ad_swish(x[0]))
WRAP(w_mish, ad_mish(x[0]))
WRAP(w_gelu, ad_gelu(x[0]))
WRAP(w_add, ad_tadd(x[0], x[1]))
WRAP(w_sub, ad_tsub(x[0], x[1]))
WRAP(w_mul, ad_tmul(x[0], x[1]))
WRAP(w_div, ad_tdiv(x[0], x[1]))
WRAP(w_pow, ad_tpow(x[0], x[1]))
WRAP(w_maximum, ad_tmaximum(x[0], x[1]))
WRAP(w_minimum, ad_tminimum(x[0], x[1]))
WRAP(w_matmul, ad_matmul(x[0], x[1]))
WRAP(w_linear, ad_linear(x[0], x[1], AD_TENSOR_NONE))
WRAP(w_linear_relu, ad_linear_relu(x[0], x[1], AD_TENSOR_NONE))
WRAP(w_transpose02, ad_transpose(x[0], 0, 2))
WRAP(w_transpose01, ad_transpose(x[0], 0, 1))
WRAP(w_reshape_flat, ad_reshape(x[0], 1, (size_t[]){ad_tensor_numel(x[0])}))
WRAP(w_reshape_37x1x3, ad_reshape(x[0], 3, (size_t[]){37, 1, 3}))
WRAP(w_slice_mid, ad_slice(x[0], -1, 3, 32))
WRAP(w_slice_0_1_3, ad_slice(x[0], 0, 1, 3))
WRAP(w_slice_1_1_3, ad_slice(x[0], 1, 1, 3))
WRAP(w_concat0, ad_concat(x, 2, 0))
WRAP(w_concat1, ad_concat(x, 2, 1))
WRAP(w_concat_last, ad_concat(x, 2, -1))
WRAP(w_sum, ad_sum(x[0]))
WRAP(w_mean, ad_mean(x[0]))
WRAP(w_max, ad_max(x[0]))
WRAP(w_sum_axis0, ad_sum_axis(x[0], 0, false))
WRAP(w_sum_axis1_keep, ad_sum_axis(x[0], 1, true))
WRAP(w_mean_last, ad_mean_axis(x[0], -1, false))
WRAP(w_mean_axis0_keep, ad_mean_axis(x[0], 0, true))
WRAP(w_max_last_keep, ad_max_axis(x[0], -1, true))
WRAP(w_max_axis0, ad_max_axis(x[0], 0, false))
WRAP(w_softmax0, ad_softmax(x[0], 0))
WRAP(w_softmax1, ad_softmax(x[0], 1))
WRAP(w_softmax_last, ad_softmax(x[0], -1))
WRAP(w_log_softmax0, ad_log_softmax(x[0], 0))
WRAP(w_log_softmax1, ad_log_softmax(x[0], 1))
WRAP(w_log_softmax_last, ad_log_softmax(x[0], -1))
WRAP(w_mse, ad_mse_loss(x[0], x[1]))
WRAP(w_half_sse, ad_half_sse_loss(x[0], x[1]))
WRAP(w_bce, ad_bce_with_logits(x[0], x[1]))

/* One label per row of x [B,C], for any B <= 5 and C > 12. */
static const int32_t ce_labels[5] = {4, 0, 12, 7, 1};
static ad_tensor w_softmax_ce(const ad_tensor *x)
{
    size_t d[AD_MAX_DIMS], nd = ad_tensor_shape(x[0], d);
    return ad_softmax_cross_entropy(x[0], ce_labels, nd == 2 ? d[0] : 1);
}

typedef struct shape {
    size_t nd;
    size_t d[AD_MAX_DIMS];
} shape;

/* Input k is uniform on [lo[k], hi[k]); with alt[k] every other element is
 * negated (|x| >= lo away from a kink at 0). */
typedef struct range {
    double lo[2], hi[2];
    bool alt[2];
} range;

static const range R2 = {{-2, -2}, {2, 2}, {false, false}};
static const range R3 = {{-3, -3}, {3, 3}, {false, false}};
static const range R4 = {{-4, -4}, {4, 4}, {false, false}};
static const range RPOS = {{0.2, 0.2}, {3, 3}, {false, false}};
static const range RALT = {{0.1, 0.1}, {2, 2}, {true, true}};
static const range RDIV = {{-2, 0.5}, {2, 2}, {false, false}};     /* b away from 0 */
static const range RPOW = {{0.5, -1.5}, {2, 1.5}, {false, false}}; /* a > 0 */
static const range RBCE = {{-2, 0}, {2, 1}, {false, false}};       /* targets in [0, 1] */

typedef struct edge_case {
    const char *name;
    edge_fn op;
    size_t nin;
    shape in[2];
    const range *r;
} edge_case;

static size_t shape_numel(const shape *s)
{
    size_t n = 1;
    for (size_t d = 0; d < s->nd; d++)
        n *= s->d[d];
    return n;
}

static const char *shape_text(const shape *s, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "[");
    for (size_t d = 0; d < s->nd && off < cap; d++)
        off += (size_t)snprintf(buf + off, cap - off, d ? ",%zu" : "%zu", s->d[d]);
    if (off < cap) snprintf(buf + off, cap - off, "]");
    return buf;
}

/* ---- float32 against float64 at odd sizes
 * 37 leaves a tail past 8- and 16-lane vectors, 517 = 2 * 256 + 5 also
 * past the 256-element chunks of the vector-kernel loops; the size-1
 * dimensions and broadcasts take the strided paths. Both dtypes see the same inputs
 * (rounded to float) and the same output cotangent. */

static const edge_case f32_cases[] = {
    {"ad_tneg", w_neg, 1, {{1, {517}}}, &R2},
    {"ad_texp", w_exp, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_tlog", w_log, 1, {{1, {517}}}, &RPOS},
    {"ad_tsqrt", w_sqrt, 1, {{3, {3, 1, 37}}}, &RPOS},
    {"ad_tsquare", w_square, 1, {{1, {517}}}, &R2},
    {"ad_tabs", w_abs, 1, {{1, {517}}}, &RALT},
    {"ad_tscale", w_scale, 1, {{1, {517}}}, &R2},
    {"ad_taddc", w_addc, 1, {{1, {517}}}, &R2},
    {"ad_tsigmoid", w_sigmoid, 1, {{1, {517}}}, &R4},
    {"ad_ttanh", w_tanh, 1, {{3, {3, 1, 37}}}, &R3},
    {"ad_relu", w_relu, 1, {{1, {517}}}, &RALT},
    {"ad_leaky_relu", w_leaky_relu, 1, {{3, {3, 1, 37}}}, &RALT},
    {"ad_softplus", w_softplus, 1, {{1, {517}}}, &R4},
    {"ad_swish", w_swish, 1, {{1, {517}}}, &R4},
    {"ad_mish", w_mish, 1, {{1, {517}}}, &R4},
    {"ad_gelu", w_gelu, 1, {{3, {3, 1, 37}}}, &R4},
    {"ad_tadd", w_add, 2, {{2, {3, 37}}, {1, {37}}}, &R2},
    {"ad_tsub", w_sub, 2, {{2, {37, 1}}, {2, {1, 13}}}, &R2},
    {"ad_tmul", w_mul, 2, {{1, {1}}, {3, {3, 1, 37}}}, &R2},
    {"ad_tdiv", w_div, 2, {{3, {3, 1, 37}}, {2, {5, 1}}}, &RDIV},
    {"ad_tpow", w_pow, 2, {{1, {517}}, {1, {517}}}, &RPOW},
    {"ad_tmaximum", w_maximum, 2, {{2, {37, 1}}, {1, {13}}}, &R2},
    {"ad_tminimum", w_minimum, 2, {{1, {517}}, {1, {1}}}, &R2},
    {"ad_matmul", w_matmul, 2, {{2, {1, 37}}, {2, {37, 1}}}, &R2},
    {"ad_linear", w_linear, 2, {{2, {5, 37}}, {2, {3, 37}}}, &R2},
    {"ad_linear_relu", w_linear_relu, 2, {{1, {37}}, {2, {13, 37}}}, &R2},
    {"ad_transpose", w_transpose02, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_reshape", w_reshape_37x1x3, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_slice", w_slice_mid, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_concat", w_concat1, 2, {{3, {3, 1, 37}}, {3, {3, 5, 37}}}, &R2},
    {"ad_sum", w_sum, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_mean", w_mean, 1, {{1, {517}}}, &R2},
    {"ad_max", w_max, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_sum_axis", w_sum_axis1_keep, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_mean_axis", w_mean_last, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_max_axis", w_max_axis0, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_softmax", w_softmax1, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_log_softmax", w_log_softmax_last, 1, {{3, {3, 1, 37}}}, &R2},
    {"ad_mse_loss", w_mse, 2, {{2, {5, 37}}, {2, {5, 37}}}, &R2},
    {"ad_half_sse_loss", w_half_sse, 2, {{2, {5, 37}}, {2, {5, 37}}}, &R2},
    {"ad_bce_with_logits", w_bce, 2, {{2, {5, 37}}, {2, {5, 37}}}, &RBCE},
    {"ad_bce_with_logits", w_bce, 2, {{1, {517}}, {1, {517}}}, &RBCE},
    {"ad_softmax_cross_entropy", w_softmax_ce, 1, {{2, {5, 13}}}, &R2},
    {"ad_softmax_cross_entropy", w_softmax_ce, 1, {{2, {3, 517}}}, &R2},
    {"ad_softmax_cross_entropy", w_softmax_ce, 1, {{1, {517}}}, &R2},
};

/* n doubles uniform on [lo, hi), rounded to float, every other one negated with alt. */
static double *edge_values(size_t n, double lo, double hi, bool alt, uint64_t seed)
{
    double *v = random_values(n, seed); /* [-1, 1), already rounded to float */
    for (size_t i = 0; i < n; i++) {
        v[i] = (double)(float)(lo + (hi - lo) * 0.5 * (v[i] + 1.0));
        if (alt && i % 2) v[i] = -v[i];
    }
    return v;
}

/* Runs c in dtype dt on inputs v: the output's values, and the input
 * gradients for the cotangent test_weight(i), all as doubles. */
static size_t edge_run(const edge_case *c, ad_dtype dt, double *const *v, double *y,
                       double *const *g)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x[2];
    for (size_t k = 0; k < c->nin; k++)
        x[k] = tensor_from(t, dt, c->in[k].nd, c->in[k].d, v[k], true);
    ad_tensor out = c->op(x);
    cr_assert(ad_tensor_ok(out), "%s in %s: %s", c->name, dt == AD_F32 ? "float32" : "float64",
              test_tape_msg(t));
    cr_assert_eq(ad_tensor_dtype(out), dt, "%s", c->name);
    size_t n = ad_tensor_numel(out);
    double *seed = malloc((n ? n : 1) * sizeof *seed);
    cr_assert_not_null(seed);
    for (size_t i = 0; i < n; i++) {
        y[i] = ad_tensor_get(out, i);
        seed[i] = test_weight(i);
    }
    cr_assert_eq(ad_backward_seeded(out, seed), AD_OK, "%s: %s", c->name, test_tape_msg(t));
    for (size_t k = 0; k < c->nin; k++)
        grad_as_double(x[k], g[k]);
    free(seed);
    ad_tape_free(t);
    return n;
}

/* Asserts |a - b| <= 1e-6 + 1e-5 |b| elementwise, naming the case. */
static void assert_close(const edge_case *c, const char *what, const double *a, const double *b,
                         size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(a[i] - b[i]) <= 1e-6 + 1e-5 * fabs(b[i]),
                  "%s %s [%zu]: float32 %.9g, float64 %.9g", c->name, what, i, a[i], b[i]);
}

static void check_f32_against_f64(const edge_case *c)
{
    double *v[2] = {NULL, NULL}, *g32[2] = {NULL, NULL}, *g64[2] = {NULL, NULL};
    size_t nx[2] = {0, 0}, cap = 1;
    for (size_t k = 0; k < c->nin; k++) {
        nx[k] = shape_numel(&c->in[k]);
        v[k] = edge_values(nx[k], c->r->lo[k], c->r->hi[k], c->r->alt[k], 300 + k);
        g32[k] = malloc((nx[k] ? nx[k] : 1) * sizeof(double));
        g64[k] = malloc((nx[k] ? nx[k] : 1) * sizeof(double));
        cap *= nx[k] ? nx[k] : 1; /* bounds any output (broadcast or product) */
    }
    double *y32 = malloc(cap * sizeof(double)), *y64 = malloc(cap * sizeof(double));
    cr_assert(y32 && y64);
    size_t n32 = edge_run(c, AD_F32, v, y32, g32), n64 = edge_run(c, AD_F64, v, y64, g64);
    cr_assert_eq(n32, n64, "%s", c->name);
    assert_close(c, "value", y32, y64, n64);
    for (size_t k = 0; k < c->nin; k++) {
        assert_close(c, k ? "gradient of input 1" : "gradient of input 0", g32[k], g64[k], nx[k]);
        free(v[k]);
        free(g32[k]);
        free(g64[k]);
    }
    free(y32);
    free(y64);
}

Test(op_edges, every_op_in_float32_matches_float64_at_odd_sizes_and_size_one_dimensions)
{
    for (size_t i = 0; i < sizeof f32_cases / sizeof f32_cases[0]; i++)
        check_f32_against_f64(&f32_cases[i]);
}

/* ---- empty tensors
 * Forward gives the empty (or, for a reduction or an empty inner dimension,
 * the constant) result of the stated shape in both dtypes; a sweep runs and
 * leaves every input gradient zero-size or zero; the float64 gradcheck runs. */

/* A non-empty result is 0 (a sum of nothing), or NaN (a mean of nothing) with nan. */
typedef struct empty_case {
    edge_case c;
    shape out;
    bool nan;
} empty_case;

static const empty_case empty_cases[] = {
    {{"ad_tneg", w_neg, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_texp", w_exp, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tlog", w_log, 1, {{1, {0}}}, &R2}, {1, {0}}, false},
    {{"ad_tsqrt", w_sqrt, 1, {{2, {0, 1}}}, &R2}, {2, {0, 1}}, false},
    {{"ad_tsquare", w_square, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tabs", w_abs, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tscale", w_scale, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_taddc", w_addc, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tsigmoid", w_sigmoid, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_ttanh", w_tanh, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_relu", w_relu, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_leaky_relu", w_leaky_relu, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_softplus", w_softplus, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_swish", w_swish, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_mish", w_mish, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_gelu", w_gelu, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tadd", w_add, 2, {{2, {3, 0}}, {1, {1}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tsub", w_sub, 2, {{1, {0}}, {2, {3, 1}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tmul", w_mul, 2, {{2, {0, 1}}, {1, {4}}}, &R2}, {2, {0, 4}}, false},
    {{"ad_tdiv", w_div, 2, {{2, {3, 0}}, {2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tpow", w_pow, 2, {{2, {3, 0}}, {1, {0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tmaximum", w_maximum, 2, {{1, {1}}, {2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_tminimum", w_minimum, 2, {{2, {3, 0}}, {1, {1}}}, &R2}, {2, {3, 0}}, false},
    /* batched K = 0 (zeros), batched M = 0, and 1x0 . 0x1 */
    {{"ad_matmul", w_matmul, 2, {{3, {2, 3, 0}}, {3, {2, 0, 4}}}, &R2}, {3, {2, 3, 4}}, false},
    {{"ad_matmul", w_matmul, 2, {{3, {2, 0, 3}}, {3, {2, 3, 4}}}, &R2}, {3, {2, 0, 4}}, false},
    {{"ad_matmul", w_matmul, 2, {{2, {1, 0}}, {2, {0, 1}}}, &R2}, {2, {1, 1}}, false},
    /* no bias: In = 0 gives zeros, B = 0 gives w a zero gradient, and 1-D x */
    {{"ad_linear", w_linear, 2, {{2, {2, 0}}, {2, {3, 0}}}, &R2}, {2, {2, 3}}, false},
    {{"ad_linear", w_linear, 2, {{2, {0, 3}}, {2, {4, 3}}}, &R2}, {2, {0, 4}}, false},
    {{"ad_linear", w_linear, 2, {{1, {0}}, {2, {4, 0}}}, &R2}, {1, {4}}, false},
    {{"ad_linear_relu", w_linear_relu, 2, {{2, {2, 0}}, {2, {3, 0}}}, &R2}, {2, {2, 3}}, false},
    {{"ad_linear_relu", w_linear_relu, 2, {{2, {0, 3}}, {2, {4, 3}}}, &R2}, {2, {0, 4}}, false},
    {{"ad_linear_relu", w_linear_relu, 2, {{1, {0}}, {2, {4, 0}}}, &R2}, {1, {4}}, false},
    {{"ad_transpose", w_transpose01, 1, {{3, {0, 1, 3}}}, &R2}, {3, {1, 0, 3}}, false},
    {{"ad_reshape", w_reshape_flat, 1, {{2, {3, 0}}}, &R2}, {1, {0}}, false},
    {{"ad_slice", w_slice_1_1_3, 1, {{2, {0, 5}}}, &R2}, {2, {0, 2}}, false},
    {{"ad_slice", w_slice_0_1_3, 1, {{2, {3, 0}}}, &R2}, {2, {2, 0}}, false},
    {{"ad_concat", w_concat0, 2, {{2, {0, 3}}, {2, {0, 3}}}, &R2}, {2, {0, 3}}, false},
    {{"ad_concat", w_concat1, 2, {{2, {0, 2}}, {2, {0, 3}}}, &R2}, {2, {0, 5}}, false},
    {{"ad_concat", w_concat_last, 2, {{2, {2, 0}}, {2, {2, 0}}}, &R2}, {2, {2, 0}}, false},
    {{"ad_sum", w_sum, 1, {{2, {0, 3}}}, &R2}, {1, {1}}, false},
    {{"ad_mean", w_mean, 1, {{2, {3, 0}}}, &R2}, {1, {1}}, true},
    {{"ad_sum_axis", w_sum_axis0, 1, {{2, {0, 3}}}, &R2}, {1, {3}}, false},
    {{"ad_sum_axis", w_sum_axis1_keep, 1, {{2, {3, 0}}}, &R2}, {2, {3, 1}}, false},
    {{"ad_mean_axis", w_mean_axis0_keep, 1, {{2, {0, 3}}}, &R2}, {2, {1, 3}}, true},
    {{"ad_mean_axis", w_mean_last, 1, {{2, {0, 3}}}, &R2}, {1, {0}}, false},
    {{"ad_max_axis", w_max_last_keep, 1, {{2, {0, 3}}}, &R2}, {2, {0, 1}}, false},
    {{"ad_softmax", w_softmax0, 1, {{2, {0, 3}}}, &R2}, {2, {0, 3}}, false},
    {{"ad_softmax", w_softmax1, 1, {{2, {0, 3}}}, &R2}, {2, {0, 3}}, false},
    {{"ad_softmax", w_softmax0, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_softmax", w_softmax_last, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_log_softmax", w_log_softmax0, 1, {{2, {0, 3}}}, &R2}, {2, {0, 3}}, false},
    {{"ad_log_softmax", w_log_softmax1, 1, {{2, {0, 3}}}, &R2}, {2, {0, 3}}, false},
    {{"ad_log_softmax", w_log_softmax0, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_log_softmax", w_log_softmax_last, 1, {{2, {3, 0}}}, &R2}, {2, {3, 0}}, false},
    {{"ad_mse_loss", w_mse, 2, {{2, {3, 0}}, {2, {3, 0}}}, &R2}, {1, {1}}, true},
    {{"ad_half_sse_loss", w_half_sse, 2, {{2, {3, 0}}, {2, {3, 0}}}, &R2}, {1, {1}}, false},
    {{"ad_half_sse_loss", w_half_sse, 2, {{2, {0, 4}}, {2, {0, 4}}}, &R2}, {1, {1}}, true},
    {{"ad_bce_with_logits", w_bce, 2, {{2, {3, 0}}, {2, {3, 0}}}, &R2}, {1, {1}}, true},
    {{"ad_bce_with_logits", w_bce, 2, {{1, {0}}, {1, {0}}}, &R2}, {1, {1}}, true},
    {{"ad_softmax_cross_entropy", w_softmax_ce, 1, {{2, {0, 13}}}, &R2}, {1, {1}}, true},
};

static ad_tensor edge_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    const edge_case *c = ctx;
    ad_tensor x[2];
    for (size_t k = 0; k < np; k++)
        x[k] = ad_param_use(t, p[k]);
    return test_weighted_sum(c->op(x));
}

/* In dtype dt: the output's shape and values, and every input gradient
 * zero after a sweep. */
static void check_empty_in(const empty_case *e, ad_dtype dt, double *const *v)
{
    const edge_case *c = &e->c;
    const char *dn = dt == AD_F32 ? "float32" : "float64";
    char buf[64];
    ad_tape *t = ad_tape_new();
    ad_tensor x[2];
    for (size_t k = 0; k < c->nin; k++)
        x[k] = tensor_from(t, dt, c->in[k].nd, c->in[k].d, v[k], true);
    ad_tensor out = c->op(x);
    cr_assert(ad_tensor_ok(out), "%s on %s in %s: %s", c->name,
              shape_text(&c->in[0], buf, sizeof buf), dn, test_tape_msg(t));
    size_t dims[AD_MAX_DIMS];
    size_t nd = ad_tensor_shape(out, dims);
    bool same = nd == e->out.nd;
    for (size_t d = 0; same && d < nd; d++)
        same = dims[d] == e->out.d[d];
    cr_assert(same, "%s on %s in %s: output of %zu dims, want %s", c->name,
              shape_text(&c->in[0], buf, sizeof buf), dn, nd,
              shape_text(&e->out, (char[64]){0}, 64));
    size_t n = ad_tensor_numel(out);
    double seed[64];
    cr_assert(n <= 64);
    for (size_t i = 0; i < n; i++) {
        double u = ad_tensor_get(out, i);
        cr_assert(e->nan ? isnan(u) : u == 0.0, "%s in %s: [%zu] = %g, want %s", c->name, dn, i, u,
                  e->nan ? "NaN" : "0");
        seed[i] = test_weight(i);
    }
    cr_assert_eq(ad_backward_seeded(out, seed), AD_OK, "%s in %s: %s", c->name, dn,
                 test_tape_msg(t));
    for (size_t k = 0; k < c->nin; k++) {
        size_t nx = ad_tensor_numel(x[k]);
        if (nx == 0) continue;
        double g[64];
        cr_assert(nx <= 64);
        grad_as_double(x[k], g);
        for (size_t i = 0; i < nx; i++)
            cr_assert_eq(g[i], 0.0, "%s in %s: input %zu gradient [%zu] = %g", c->name, dn, k, i,
                         g[i]);
    }
    ad_tape_free(t);
}

static void check_empty(const empty_case *e)
{
    const edge_case *c = &e->c;
    double *v[2] = {NULL, NULL};
    ad_param *p[2] = {NULL, NULL};
    for (size_t k = 0; k < c->nin; k++) {
        v[k] = edge_values(shape_numel(&c->in[k]), -1, 1, false, 400 + k);
        p[k] = test_param(c->in[k].nd, c->in[k].d, -1, 1, 410 + k);
    }
    check_empty_in(e, AD_F32, v);
    check_empty_in(e, AD_F64, v);
    ASSERT_GRADCHECK(edge_graph, p, c->nin, (void *)c, NULL);
    for (size_t k = 0; k < c->nin; k++) {
        ad_param_free(p[k]);
        free(v[k]);
    }
}

Test(op_edges, every_op_that_allows_empty_tensors_gives_the_empty_result_and_zero_gradients)
{
    for (size_t i = 0; i < sizeof empty_cases / sizeof empty_cases[0]; i++)
        check_empty(&empty_cases[i]);
}

/* Empty where the op cannot give a result: an error naming the op and shape. */
Test(op_edges, reading_an_element_of_an_empty_tensor_fails_and_names_the_shape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 0}, NULL);
    cr_assert(!ad_scalar_ok(ad_tensor_to_scalar(x, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_tensor_to_scalar: element 0 out of range for shape [3,0]");
    ad_tape_reset(t);
    x = ad_tensor_variable(t, AD_F32, 1, (size_t[]){0}, NULL);
    cr_assert(!ad_scalar_ok(ad_tensor_item(x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_tensor_item: shape [0] has 0 elements, not one");
    ad_tape_free(t);
}

/* ---- the scalar bridges over odd shapes and size-1 dimensions
 * Each element of x goes out as a scalar (ad_tensor_to_scalar), through
 * sin and a weight, and back into a tensor of another shape with the same
 * count (ad_stack_scalars). */

typedef struct bridge_case {
    shape x, y;
} bridge_case;

static ad_tensor bridge_op(ad_tensor x, const shape *ys)
{
    ad_tape *t = ad_tensor_tape(x);
    size_t n = ad_tensor_numel(x);
    ad_scalar s[64];
    cr_assert(n <= 64);
    for (size_t i = 0; i < n; i++)
        s[i] = ad_mul(ad_sin(ad_tensor_to_scalar(x, i)), ad_constant(t, 0.5 + 0.1 * (double)i));
    return ad_stack_scalars(s, n, ys->nd, ys->d);
}

static ad_tensor bridge_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const bridge_case *c = ctx;
    return test_weighted_sum(bridge_op(ad_param_use(t, p[0]), &c->y));
}

static const bridge_case bridge_cases[] = {
    {{1, {1}}, {2, {1, 1}}},
    {{1, {7}}, {2, {7, 1}}},
    {{3, {3, 1, 5}}, {2, {5, 3}}},
    {{4, {1, 1, 1, 1}}, {1, {1}}},
    {{4, {2, 1, 3, 1}}, {3, {1, 6, 1}}},
    {{2, {1, 13}}, {4, {13, 1, 1, 1}}},
};

Test(op_edges, tensor_to_scalar_and_stack_scalars_pass_gradcheck_over_odd_and_size_one_shapes)
{
    for (size_t i = 0; i < sizeof bridge_cases / sizeof bridge_cases[0]; i++) {
        const bridge_case *c = &bridge_cases[i];
        ad_param *p = test_param(c->x.nd, c->x.d, -2, 2, 500 + i);
        ASSERT_GRADCHECK(bridge_graph, &p, 1, (void *)c, NULL);
        ad_param_free(p);
    }
}

/* A float32 tensor's elements read out as the float values, and their
 * gradients go back into the float32 gradient; the stacked result is
 * float64 either way. */
Test(op_edges, tensor_to_scalar_of_float32_matches_float64_and_stack_scalars_stays_float64)
{
    const bridge_case *c = &bridge_cases[2];
    size_t n = shape_numel(&c->x);
    double *v = edge_values(n, -2, 2, false, 520), y[2][64], g[2][64], seed[64];
    for (size_t i = 0; i < n; i++)
        seed[i] = test_weight(i);
    for (int k = 0; k < 2; k++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = tensor_from(t, k ? AD_F64 : AD_F32, c->x.nd, c->x.d, v, true);
        ad_tensor out = bridge_op(x, &c->y);
        cr_assert(ad_tensor_ok(out), "%s", test_tape_msg(t));
        cr_assert_eq(ad_tensor_dtype(out), AD_F64);
        for (size_t i = 0; i < n; i++)
            y[k][i] = ad_tensor_get(out, i);
        cr_assert_eq(ad_backward_seeded(out, seed), AD_OK);
        grad_as_double(x, g[k]);
        ad_tape_free(t);
    }
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(y[0][i], y[1][i], "[%zu]: from float32 %.17g, from float64 %.17g", i, y[0][i],
                     y[1][i]);
        double want = 0.5 + 0.1 * (double)i;
        cr_assert(fabs(g[1][i] - test_weight(i) * want * cos(v[i])) <= 1e-14, "float64 [%zu]", i);
        cr_assert(fabs(g[0][i] - g[1][i]) <= 1e-6 * fabs(g[1][i]) + 1e-7,
                  "[%zu]: float32 %.9g, float64 %.9g", i, g[0][i], g[1][i]);
    }
    free(v);
}

/* softmax_cross_entropy keeps the softmax only when a sweep will read it;
 * without, it sums the exponentials 256 at a time. Both ways give the same
 * loss for rows longer than one such chunk, in both dtypes. */
Test(op_edges, cross_entropy_of_constant_logits_matches_variable_logits_past_one_chunk)
{
    size_t dims[2] = {3, 517};
    double *v = edge_values(3 * 517, -3, 3, false, 530);
    for (int k = 0; k < 2; k++) {
        ad_dtype dt = k ? AD_F64 : AD_F32;
        ad_tape *t = ad_tape_new();
        ad_tensor z = tensor_from(t, dt, 2, dims, v, true);
        ad_tensor c = tensor_from(t, dt, 2, dims, v, false);
        double with_p = ad_tensor_get(ad_softmax_cross_entropy(z, ce_labels, 3), 0);
        double without = ad_tensor_get(ad_softmax_cross_entropy(c, ce_labels, 3), 0);
        cr_assert(isfinite(with_p), "%s", test_tape_msg(t));
        cr_assert(fabs(with_p - without) <= (k ? 1e-14 : 1e-6) * fabs(with_p),
                  "%s: %.17g with the softmax kept, %.17g without", k ? "float64" : "float32",
                  with_p, without);
        ad_tape_free(t);
    }
    free(v);
}
