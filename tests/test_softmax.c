/* SPDX-License-Identifier: MIT
 * softmax and log_softmax: float64 gradchecks along every axis of several
 * shapes, forward values against hand computations, stability for huge
 * logits, float32 against float64, and the error paths. */
#include "common.h"

#include <math.h>
#include <stdlib.h>

/* A fixed pseudo-random weight for element i, in [0.5, 1.5): the same on
 * every call, so a gradcheck sees one function. Non-uniform weights matter:
 * softmax lanes sum to 1, so a plain sum would have zero gradient. */
static double weight_of(size_t i)
{
    uint64_t h = (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return 0.5 + (double)(h >> 11) / 9007199254740992.0;
}

/* sum_i w_i y_i as a [1] float64 tensor, through the scalar bridge, so any
 * output can be gradchecked without a reduction op. */
static ad_tensor weighted_sum(ad_tape *t, ad_tensor y)
{
    ad_scalar s = ad_constant(t, 0.0);
    size_t n = ad_tensor_numel(y);
    for (size_t i = 0; i < n; i++)
        s = ad_add(s, ad_scale(ad_tensor_to_scalar(y, i), weight_of(i)));
    return ad_stack_scalars(&s, 1, 1, (size_t[]){1});
}

typedef struct sm_case {
    int axis;
    bool log;
} sm_case;

static ad_tensor softmax_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const sm_case *c = ctx;
    ad_tensor x = ad_param_use(t, ps[0]);
    ad_tensor y = c->log ? ad_log_softmax(x, c->axis) : ad_softmax(x, c->axis);
    return weighted_sum(t, y);
}

static const struct {
    size_t ndim;
    size_t dims[3];
} shapes[] = {
    {1, {1}},    {1, {5}},    {2, {3, 4}},  {3, {2, 3, 5}},
    {2, {1, 7}}, {2, {4, 1}}, {2, {11, 3}}, /* lanes past the eight partial sums along axis 0, with
                                               a tail */
};

/* Every shape, every axis from -ndim to ndim-1, for softmax or log_softmax. */
static void gradcheck_all_axes(bool log)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int nd = (int)shapes[s].ndim;
        for (int axis = -nd; axis < nd; axis++) {
            ad_param *p = test_param(shapes[s].ndim, shapes[s].dims, -2, 2, 100 + s);
            sm_case c = {axis, log};
            ASSERT_GRADCHECK(softmax_graph, &p, 1, &c, NULL);
            ad_param_free(p);
        }
    }
}

GRADCHECK_TEST(softmax,
               softmax_gradient_matches_central_differences_along_every_axis_of_every_shape,
               AD_OP_SOFTMAX)
{
    gradcheck_all_axes(false);
}

GRADCHECK_TEST(softmax,
               log_softmax_gradient_matches_central_differences_along_every_axis_of_every_shape,
               AD_OP_LOG_SOFTMAX)
{
    gradcheck_all_axes(true);
}

Test(softmax, softmax_of_one_two_three_matches_the_hand_computation)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, (double[]){1, 2, 3});
    ad_tensor y = ad_softmax(x, 0), ly = ad_log_softmax(x, -1);
    double s = exp(1.0) + exp(2.0) + exp(3.0);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_float_eq(ad_tensor_get(y, i), exp((double)i + 1) / s, 1e-15);
        cr_assert_float_eq(ad_tensor_get(ly, i), (double)i + 1 - log(s), 1e-14);
    }
    cr_assert_float_eq(ad_tensor_get(y, 2), 0.66524096, 1e-8);
    cr_assert_float_eq(ad_tensor_get(ly, 0), -2.40760596, 1e-8);
    ad_tape_free(t);
}

/* Every lane along `axis` of a [2,3,5] softmax sums to 1, and log_softmax is
 * the log of softmax, element by element. */
static void check_lanes_sum_to_one(int axis)
{
    ad_tape *t = ad_tape_new();
    size_t d[3] = {2, 3, 5};
    ad_tensor x = ad_tensor_uniform(t, AD_F64, 3, d, -3, 3, 7);
    ad_tensor y = ad_softmax(x, axis), ly = ad_log_softmax(x, axis);
    cr_assert(ad_tensor_ok(y) && ad_tensor_ok(ly));
    size_t a = (size_t)(axis < 0 ? axis + 3 : axis);
    size_t stride[3] = {15, 5, 1};
    for (size_t i = 0; i < 30; i++) {
        if ((i / stride[a]) % d[a] != 0) continue; /* i starts a lane */
        double s = 0;
        for (size_t k = 0; k < d[a]; k++)
            s += ad_tensor_get(y, i + k * stride[a]);
        cr_assert_float_eq(s, 1.0, 1e-14, "axis %d lane at %zu sums to %.17g", axis, i, s);
    }
    for (size_t i = 0; i < 30; i++)
        cr_assert_float_eq(ad_tensor_get(ly, i), log(ad_tensor_get(y, i)), 1e-13);
    ad_tape_free(t);
}

Test(softmax, every_lane_sums_to_one_along_every_axis_and_log_softmax_is_its_log)
{
    for (int axis = -3; axis < 3; axis++)
        check_lanes_sum_to_one(axis);
}

Test(softmax, softmax_is_unchanged_by_a_constant_shift_of_the_logits)
{
    ad_tape *t = ad_tape_new();
    double a[4] = {0.3, -1.2, 2.5, 0.0}, b[4];
    for (int i = 0; i < 4; i++)
        b[i] = a[i] + 1000.0;
    ad_tensor ya = ad_softmax(ad_tensor_new(t, AD_F64, 1, (size_t[]){4}, a), 0);
    ad_tensor yb = ad_softmax(ad_tensor_new(t, AD_F64, 1, (size_t[]){4}, b), 0);
    for (size_t i = 0; i < 4; i++)
        cr_assert_float_eq(ad_tensor_get(ya, i), ad_tensor_get(yb, i), 1e-13);
    ad_tape_free(t);
}

/* The backward rules against their formulas with a non-trivial seed g:
 * softmax dx = y (g - sum g y); log_softmax dx = g - softmax sum g. */
Test(softmax, backward_rules_match_their_closed_forms_for_a_given_seed)
{
    ad_tape *t = ad_tape_new();
    double xv[4] = {0.5, -1.0, 2.0, 0.25}, g[4] = {1.0, -2.0, 0.5, 3.0};
    for (int log_op = 0; log_op < 2; log_op++) {
        ad_tape_reset(t);
        ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){4}, xv);
        ad_tensor y = log_op ? ad_log_softmax(x, 0) : ad_softmax(x, 0);
        cr_assert_eq(ad_backward_seeded(y, g), AD_OK);
        const double *gx = ad_tensor_grad(x);
        double p[4], s = 0, dot = 0, sg = 0;
        for (int i = 0; i < 4; i++)
            s += exp(xv[i]);
        for (int i = 0; i < 4; i++) {
            p[i] = exp(xv[i]) / s;
            dot += g[i] * p[i];
            sg += g[i];
        }
        for (int i = 0; i < 4; i++) {
            double want = log_op ? g[i] - p[i] * sg : p[i] * (g[i] - dot);
            cr_assert_float_eq(gx[i], want, 1e-14, "%s [%d]: %.17g vs %.17g",
                               log_op ? "log_softmax" : "softmax", i, gx[i], want);
        }
    }
    ad_tape_free(t);
}

/* Logits of +-1e4 would overflow exp without the max subtraction. */
static void check_huge_logits(ad_dtype dt)
{
    ad_tape *t = ad_tape_new();
    double v[6] = {1e4, -1e4, 0, -1e4, 1e4, 1e4 - 1};
    float vf[6];
    for (int i = 0; i < 6; i++)
        vf[i] = (float)v[i];
    const void *data = dt == AD_F32 ? (const void *)vf : (const void *)v;
    for (int log_op = 0; log_op < 2; log_op++) {
        ad_tape_reset(t);
        ad_tensor x = ad_tensor_variable(t, dt, 2, (size_t[]){2, 3}, data);
        ad_tensor y = log_op ? ad_log_softmax(x, 1) : ad_softmax(x, 1);
        double seed[6] = {1, 2, 3, -1, 0.5, 2};
        cr_assert_eq(ad_backward_seeded(y, seed), AD_OK);
        for (size_t i = 0; i < 6; i++) {
            double gi = dt == AD_F32 ? (double)((const float *)ad_tensor_grad(x))[i]
                                     : ((const double *)ad_tensor_grad(x))[i];
            cr_assert(isfinite(ad_tensor_get(y, i)), "value [%zu] = %g", i, ad_tensor_get(y, i));
            cr_assert(isfinite(gi), "gradient [%zu] = %g", i, gi);
        }
        double tol = dt == AD_F32 ? 1e-6 : 1e-12;
        if (log_op) {
            cr_assert_float_eq(ad_tensor_get(y, 0), 0.0, tol);
            cr_assert_float_eq(ad_tensor_get(y, 1), -2e4, tol * 2e4);
            cr_assert_float_eq(ad_tensor_get(y, 2), -1e4, tol * 1e4);
            cr_assert_float_eq(ad_tensor_get(y, 4), -log1p(exp(-1.0)), tol);
        } else {
            cr_assert_float_eq(ad_tensor_get(y, 0), 1.0, tol);
            cr_assert_float_eq(ad_tensor_get(y, 1), 0.0, tol);
            cr_assert_float_eq(ad_tensor_get(y, 4), 1.0 / (1.0 + exp(-1.0)), tol);
        }
    }
    ad_tape_free(t);
}

Test(softmax, logits_of_plus_minus_1e4_give_finite_values_and_gradients_in_float64)
{
    check_huge_logits(AD_F64);
}

Test(softmax, logits_of_plus_minus_1e4_give_finite_values_and_gradients_in_float32)
{
    check_huge_logits(AD_F32);
}

/* The same [3,4] input in both dtypes along each axis: values and gradients
 * agree to float32 precision. */
Test(softmax, float32_results_are_close_to_float64_results)
{
    ad_tape *t = ad_tape_new();
    double xd[12], seed[12];
    float xf[12];
    for (int i = 0; i < 12; i++) {
        xd[i] = sin(1.7 * i) * 3.0;
        xf[i] = (float)xd[i];
        xd[i] = (double)xf[i];
        seed[i] = weight_of((size_t)i);
    }
    for (int log_op = 0; log_op < 2; log_op++)
        for (int axis = 0; axis < 2; axis++) {
            ad_tape_reset(t);
            ad_tensor a = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 4}, xd);
            ad_tensor b = ad_tensor_variable(t, AD_F32, 2, (size_t[]){3, 4}, xf);
            ad_tensor ya = log_op ? ad_log_softmax(a, axis) : ad_softmax(a, axis);
            ad_tensor yb = log_op ? ad_log_softmax(b, axis) : ad_softmax(b, axis);
            /* each sweep zeroes every tape gradient: keep the first */
            double ga[12];
            cr_assert_eq(ad_backward_seeded(ya, seed), AD_OK);
            memcpy(ga, ad_tensor_grad(a), sizeof ga);
            cr_assert_eq(ad_backward_seeded(yb, seed), AD_OK);
            const float *gb = ad_tensor_grad(b);
            for (size_t i = 0; i < 12; i++) {
                cr_assert_float_eq(ad_tensor_get(ya, i), ad_tensor_get(yb, i), 1e-5);
                cr_assert_float_eq(ga[i], (double)gb[i], 1e-5, "[%zu] %g vs %g", i, ga[i],
                                   (double)gb[i]);
            }
        }
    ad_tape_free(t);
}

/* Long lanes along every axis: rows of the last axis longer than the eight
 * partial sums and the 256-element exp chunks, and lanes of other axes
 * taken side by side in blocks of 256 with a short last block. Values and
 * gradients (for a fixed seed) against the closed forms in double. */
static void check_long_lanes(ad_dtype dt, size_t nd, const size_t *dims)
{
    size_t numel = 1;
    for (size_t d = 0; d < nd; d++)
        numel *= dims[d];
    double *x = malloc(numel * sizeof *x), *g = malloc(numel * sizeof *g);
    double *want_y = malloc(numel * sizeof *want_y), *want_g = malloc(numel * sizeof *want_g);
    float *xf = malloc(numel * sizeof *xf);
    cr_assert(x && g && want_y && want_g && xf);
    for (size_t i = 0; i < numel; i++) {
        xf[i] = (float)(4.0 * sin(0.37 * (double)i) + 0.01 * (double)(i % 7));
        x[i] = (double)xf[i];
        g[i] = weight_of(i) - 1.0;
    }
    ad_tape *t = ad_tape_new();
    for (int log_op = 0; log_op < 2; log_op++)
        for (size_t axis = 0; axis < nd; axis++) {
            size_t n = dims[axis], inner = 1, outer = 1;
            for (size_t d = axis + 1; d < nd; d++)
                inner *= dims[d];
            for (size_t d = 0; d < axis; d++)
                outer *= dims[d];
            for (size_t o = 0; o < outer; o++)
                for (size_t i = 0; i < inner; i++) {
                    size_t b = o * n * inner + i;
                    double m = -HUGE_VAL, s = 0, dot = 0, sg = 0;
                    for (size_t k = 0; k < n; k++)
                        m = fmax(m, x[b + k * inner]);
                    for (size_t k = 0; k < n; k++)
                        s += exp(x[b + k * inner] - m);
                    for (size_t k = 0; k < n; k++) {
                        double p = exp(x[b + k * inner] - m) / s;
                        dot += g[b + k * inner] * p;
                        sg += g[b + k * inner];
                    }
                    for (size_t k = 0; k < n; k++) {
                        size_t e = b + k * inner;
                        double p = exp(x[e] - m) / s;
                        want_y[e] = log_op ? (x[e] - m) - log(s) : p;
                        want_g[e] = log_op ? g[e] - p * sg : p * (g[e] - dot);
                    }
                }
            ad_tape_reset(t);
            ad_tensor tx = ad_tensor_variable(t, dt, nd, dims, dt == AD_F32 ? (void *)xf : x);
            ad_tensor y = log_op ? ad_log_softmax(tx, (int)axis) : ad_softmax(tx, (int)axis);
            cr_assert_eq(ad_backward_seeded(y, g), AD_OK);
            const void *gx = ad_tensor_grad(tx);
            double tol = dt == AD_F32 ? 2e-5 : 1e-12;
            for (size_t e = 0; e < numel; e++) {
                double gy = dt == AD_F32 ? (double)((const float *)gx)[e] : ((const double *)gx)[e];
                double vy = ad_tensor_get(y, e);
                cr_assert(fabs(vy - want_y[e]) <= tol * (1 + fabs(want_y[e])),
                          "%s %s axis %zu [%zu]: value %.10g, want %.10g",
                          dt == AD_F32 ? "f32" : "f64", log_op ? "log_softmax" : "softmax", axis, e,
                          vy, want_y[e]);
                cr_assert(fabs(gy - want_g[e]) <= tol * (1 + fabs(want_g[e])),
                          "%s %s axis %zu [%zu]: gradient %.10g, want %.10g",
                          dt == AD_F32 ? "f32" : "f64", log_op ? "log_softmax" : "softmax", axis, e,
                          gy, want_g[e]);
            }
        }
    ad_tape_free(t);
    free(x), free(g), free(want_y), free(want_g), free(xf);
}

Test(softmax, long_lanes_along_every_axis_match_the_closed_forms_in_both_dtypes)
{
    static const size_t shapes3[][3] = {{3, 300, 0}, {300, 3, 0}, {2, 19, 270}};
    for (int dbl = 0; dbl <= 1; dbl++)
        for (size_t s = 0; s < 3; s++)
            check_long_lanes(dbl ? AD_F64 : AD_F32, shapes3[s][2] ? 3 : 2, shapes3[s]);
}

Test(softmax, empty_tensors_are_allowed_and_give_empty_results)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){0, 3}, NULL);
    ad_tensor y = ad_softmax(x, 1), z = ad_log_softmax(x, 0);
    cr_assert(ad_tensor_ok(y) && ad_tensor_ok(z));
    cr_assert_eq(ad_tensor_numel(y), 0);
    cr_assert_eq(ad_tensor_numel(z), 0);
    ad_tensor w = ad_softmax(ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 0}, NULL), 1);
    cr_assert(ad_tensor_ok(w));
    cr_assert_eq(ad_backward_seeded(w, (double[]){0}), AD_OK);
    ad_tape_free(t);
}

Test(softmax, softmax_rejects_an_axis_out_of_range_and_names_it_and_the_shape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4});
    cr_assert_not(ad_tensor_ok(ad_softmax(x, 2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_softmax: axis 2 out of range for shape [3,4]");
    ad_tape_clear_error(t);
    cr_assert_not(ad_tensor_ok(ad_softmax(x, -3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_softmax: axis -3 out of range for shape [3,4]");
    ad_tape_free(t);
}

Test(softmax, log_softmax_rejects_an_axis_out_of_range_and_names_it_and_the_shape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){5});
    cr_assert_not(ad_tensor_ok(ad_log_softmax(x, 1)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_log_softmax: axis 1 out of range for shape [5]");
    ad_tape_free(t);
}

Test(softmax, softmax_of_an_invalid_handle_fails_the_tape_naming_the_op)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    ad_tensor bad = ad_softmax(x, 5); /* fails, returns an invalid handle */
    ad_tape_clear_error(t);
    cr_assert_not(ad_tensor_ok(ad_log_softmax(bad, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_log_softmax: invalid tensor handle");
    ad_tape_free(t);
}
