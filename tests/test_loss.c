/* SPDX-License-Identifier: MIT
 * Losses: float64 gradchecks w.r.t. predictions/logits and targets over
 * several shapes, forward values against hand computations (including the
 * textbook half-SSE example), stability for logits of +-1e4, float32 against
 * float64, empty batches (NaN by IEEE), and every error path. */
#include "common.h"

#include <math.h>
#include <stdio.h>

enum loss_kind { MSE, HALF_SSE, BCE };

static ad_tensor pair_loss(enum loss_kind k, ad_tensor y, ad_tensor tg)
{
    switch (k) {
    case MSE:
        return ad_mse_loss(y, tg);
    case HALF_SSE:
        return ad_half_sse_loss(y, tg);
    default:
        return ad_bce_with_logits(y, tg);
    }
}

static const char *const loss_names[] = {"mse", "half_sse", "bce"};

/* ps[0] = prediction, ps[1] = target: gradients flow into both. */
static ad_tensor pair_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    enum loss_kind k = *(const enum loss_kind *)ctx;
    return pair_loss(k, ad_param_use(t, ps[0]), ad_param_use(t, ps[1]));
}

/* ps[0] = prediction; the target is a constant copied from the second
 * parameter's value, so only the prediction's gradient is computed. */
typedef struct const_target {
    enum loss_kind k;
    ad_param *target;
} const_target;

static ad_tensor pred_only_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const const_target *c = ctx;
    size_t dims[AD_MAX_DIMS];
    size_t nd = ad_param_shape(c->target, dims);
    ad_tensor tg = ad_tensor_new(t, AD_F64, nd, dims, ad_param_value(c->target));
    return pair_loss(c->k, ad_param_use(t, ps[0]), tg);
}

static const struct {
    size_t ndim;
    size_t dims[3];
} shapes[] = {
    {1, {1}}, {1, {5}}, {2, {3, 4}}, {3, {2, 3, 5}}, {2, {1, 7}}, {2, {4, 1}},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static void gradcheck_pair_loss(enum loss_kind k)
{
    for (size_t s = 0; s < N_SHAPES; s++) {
        ad_param *ps[2] = {
            test_param(shapes[s].ndim, shapes[s].dims, -2, 2, 10 + s),
            /* bce targets are probabilities; the others any reals */
            k == BCE ? test_param(shapes[s].ndim, shapes[s].dims, 0, 1, 20 + s)
                     : test_param(shapes[s].ndim, shapes[s].dims, -2, 2, 20 + s),
        };
        ASSERT_GRADCHECK(pair_graph, ps, 2, &k, NULL);
        const_target c = {k, ps[1]};
        ASSERT_GRADCHECK(pred_only_graph, ps, 1, &c, NULL);
        ad_param_free(ps[0]);
        ad_param_free(ps[1]);
    }
}

GRADCHECK_TEST(loss, mse_loss_gradient_matches_central_differences_for_predictions_and_targets,
               AD_OP_MSE)
{
    gradcheck_pair_loss(MSE);
}

GRADCHECK_TEST(loss, half_sse_loss_gradient_matches_central_differences_for_predictions_and_targets,
               AD_OP_HALF_SSE)
{
    gradcheck_pair_loss(HALF_SSE);
}

GRADCHECK_TEST(loss, bce_with_logits_gradient_matches_central_differences_for_logits_and_targets,
               AD_OP_BCE_LOGITS)
{
    gradcheck_pair_loss(BCE);
}

/* ---- softmax cross-entropy */

typedef struct ce_case {
    const int32_t *labels;
    size_t n;
} ce_case;

static ad_tensor ce_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const ce_case *c = ctx;
    return ad_softmax_cross_entropy(ad_param_use(t, ps[0]), c->labels, c->n);
}

GRADCHECK_TEST(loss, softmax_cross_entropy_gradient_matches_central_differences_over_several_shapes,
               AD_OP_SOFTMAX_CE)
{
    static const int32_t l1[] = {0}, l5[] = {3}, l34[] = {1, 3, 0}, l17[] = {6},
                         l41[] = {0, 0, 0, 0};
    static const struct {
        size_t ndim;
        size_t dims[2];
        const int32_t *labels;
        size_t n;
    } cases[] = {
        {1, {1}, l1, 1},     {1, {5}, l5, 1},     {2, {3, 4}, l34, 3},
        {2, {1, 7}, l17, 1}, {2, {4, 1}, l41, 4}, {2, {1, 1}, l1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ad_param *p = test_param(cases[i].ndim, cases[i].dims, -3, 3, 40 + i);
        ce_case c = {cases[i].labels, cases[i].n};
        ASSERT_GRADCHECK(ce_graph, &p, 1, &c, NULL);
        ad_param_free(p);
    }
}

/* ---- forward values */

Test(loss, mse_and_half_sse_match_a_hand_computation_on_a_batch_of_two)
{
    ad_tape *t = ad_tape_new();
    size_t d[2] = {2, 3};
    ad_tensor y = ad_tensor_new(t, AD_F64, 2, d, (double[]){1, 2, 3, 4, 5, 6});
    ad_tensor tg = ad_tensor_new(t, AD_F64, 2, d, (double[]){1, 0, 4, 4, 2, 7});
    /* squared differences 0, 4, 1, 0, 9, 1: sum 15 over N = 6, B = 2 */
    ad_tensor mse = ad_mse_loss(y, tg), hs = ad_half_sse_loss(y, tg);
    cr_assert_eq(ad_tensor_numel(mse), 1);
    cr_assert_float_eq(ad_tensor_get(mse, 0), 15.0 / 6.0, 1e-15);
    cr_assert_float_eq(ad_tensor_get(hs, 0), 0.5 * 15.0 / 2.0, 1e-15);
    ad_tape_free(t);
}

/* The worked example of backpropagation (Mazur, "A Step by Step
 * Backpropagation Example"): outputs 0.75136507, 0.772928465 against targets
 * 0.01, 0.99 give E_total = 0.298371109 and dE/d(out_o1) = 0.74136507. */
Test(loss, half_sse_reproduces_the_textbook_backpropagation_example)
{
    ad_tape *t = ad_tape_new();
    ad_tensor o =
        ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){0.75136507, 0.772928465});
    ad_tensor tg = ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){0.01, 0.99});
    ad_tensor e = ad_half_sse_loss(o, tg);
    cr_assert_float_eq(ad_tensor_get(e, 0), 0.298371109, 1e-9);
    cr_assert_eq(ad_backward(e), AD_OK);
    const double *g = ad_tensor_grad(o);
    cr_assert_float_eq(g[0], 0.74136507, 1e-12);
    cr_assert_float_eq(g[1], -0.217071535, 1e-12);
    ad_tape_free(t);
}

Test(loss, bce_with_logits_matches_the_hand_computation)
{
    ad_tape *t = ad_tape_new();
    double z[4] = {0.0, 2.0, -1.5, 3.0}, tv[4] = {0.5, 1.0, 0.0, 0.25};
    ad_tensor zt = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 2}, z);
    ad_tensor tt = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 2}, tv);
    ad_tensor l = ad_bce_with_logits(zt, tt);
    double want = 0, gz[4], gt[4];
    for (int i = 0; i < 4; i++) {
        double s = 1.0 / (1.0 + exp(-z[i]));
        want += -(tv[i] * log(s) + (1 - tv[i]) * log(1 - s)) / 4.0;
        gz[i] = (s - tv[i]) / 4.0;
        gt[i] = -z[i] / 4.0;
    }
    cr_assert_float_eq(ad_tensor_get(l, 0), want, 1e-14);
    cr_assert_float_eq(ad_tensor_get(l, 0) * 4.0,
                       log(2.0) + log1p(exp(-2.0)) + log1p(exp(-1.5)) + log1p(exp(3.0)) - 0.75,
                       1e-13);
    cr_assert_eq(ad_backward(l), AD_OK);
    for (int i = 0; i < 4; i++) {
        cr_assert_float_eq(((const double *)ad_tensor_grad(zt))[i], gz[i], 1e-15);
        cr_assert_float_eq(((const double *)ad_tensor_grad(tt))[i], gt[i], 1e-15);
    }
    ad_tape_free(t);
}

Test(loss, cross_entropy_of_uniform_logits_is_log_of_the_class_count)
{
    ad_tape *t = ad_tape_new();
    const int32_t labels[3] = {0, 2, 3};
    ad_tensor z = ad_tensor_fill(t, AD_F64, 2, (size_t[]){3, 4}, 0.7);
    ad_tensor l = ad_softmax_cross_entropy(z, labels, 3);
    cr_assert_float_eq(ad_tensor_get(l, 0), log(4.0), 1e-15);
    ad_tensor z1 = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){10});
    ad_tensor l1 = ad_softmax_cross_entropy(z1, labels + 2, 1);
    cr_assert_float_eq(ad_tensor_get(l1, 0), log(10.0), 1e-6);
    ad_tape_free(t);
}

/* z = [1,2,3], label 2: -log softmax = log(e + e^2 + e^3) - 3 = 0.40760596;
 * the gradient is (p - onehot) / B for each row. */
Test(loss, cross_entropy_value_and_gradient_match_the_hand_computation)
{
    ad_tape *t = ad_tape_new();
    double zv[6] = {1, 2, 3, 0.5, -0.5, 0.0};
    const int32_t labels[2] = {2, 0};
    ad_tensor z = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 3}, zv);
    ad_tensor l = ad_softmax_cross_entropy(z, labels, 2);
    double want = 0, g[6];
    for (int b = 0; b < 2; b++) {
        double s = 0;
        for (int k = 0; k < 3; k++)
            s += exp(zv[3 * b + k]);
        want += (log(s) - zv[3 * b + labels[b]]) / 2.0;
        for (int k = 0; k < 3; k++)
            g[3 * b + k] = (exp(zv[3 * b + k]) / s - (k == labels[b])) / 2.0;
    }
    cr_assert_float_eq(ad_tensor_get(l, 0), want, 1e-15);
    cr_assert_float_eq(log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0, 0.40760596, 1e-8);
    cr_assert_eq(ad_backward_seeded(l, (double[]){3.0}), AD_OK); /* g = 3 scales it */
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(((const double *)ad_tensor_grad(z))[i], 3.0 * g[i], 1e-15);
    ad_tape_free(t);
}

/* Evaluation mode records nothing, so the forward keeps no softmax; the loss
 * value is the same. */
Test(loss, cross_entropy_gives_the_same_value_with_recording_off)
{
    ad_tape *t = ad_tape_new();
    const int32_t labels[3] = {1, 0, 3};
    /* a variable, so the recording run keeps its softmax for the sweep (a
     * constant takes the same path as recording off) */
    ad_tensor c = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){3, 4}, -2, 2, 3);
    ad_tensor z = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 4}, ad_tensor_data(c));
    double on = ad_tensor_get(ad_softmax_cross_entropy(z, labels, 3), 0);
    ad_tape_set_recording(t, false);
    double off = ad_tensor_get(ad_softmax_cross_entropy(z, labels, 3), 0);
    cr_assert_eq(on, off);
    cr_assert(isfinite(on));
    ad_tape_free(t);
}

Test(loss, seeding_the_loss_scales_every_gradient)
{
    ad_tape *t = ad_tape_new();
    for (int k = MSE; k <= BCE; k++) {
        ad_tape_reset(t);
        ad_tensor y = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){2, 3}, -1, 1, 5);
        ad_tensor tg = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){2, 3}, 0, 1, 6);
        ad_tensor yv = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 3}, ad_tensor_data(y));
        ad_tensor l = pair_loss((enum loss_kind)k, yv, tg);
        double g1[6];
        cr_assert_eq(ad_backward(l), AD_OK);
        memcpy(g1, ad_tensor_grad(yv), sizeof g1);
        cr_assert_eq(ad_backward_seeded(l, (double[]){-2.5}), AD_OK);
        for (int i = 0; i < 6; i++)
            cr_assert_float_eq(((const double *)ad_tensor_grad(yv))[i], -2.5 * g1[i], 1e-15,
                               "%s [%d]", loss_names[k], i);
    }
    ad_tape_free(t);
}

/* ---- stability */

static double grad_at(ad_tensor x, size_t i)
{
    const void *g = ad_tensor_grad(x);
    return ad_tensor_dtype(x) == AD_F32 ? (double)((const float *)g)[i] : ((const double *)g)[i];
}

static void check_huge_logits(ad_dtype dt)
{
    ad_tape *t = ad_tape_new();
    double zd[6] = {1e4, -1e4, 1e4 - 1, -1e4, 1e4, 0};
    double td[6] = {1, 0, 0, 1, 0.5, 1};
    float zf[6], tf[6];
    for (int i = 0; i < 6; i++) {
        zf[i] = (float)zd[i];
        tf[i] = (float)td[i];
    }
    const void *zp = dt == AD_F32 ? (const void *)zf : (const void *)zd;
    const void *tp = dt == AD_F32 ? (const void *)tf : (const void *)td;
    double tol = dt == AD_F32 ? 1e-5 : 1e-12;

    /* bce: the terms are 0, 0, 1e4 - 1, 1e4, 5e3, log 2 */
    ad_tensor z = ad_tensor_variable(t, dt, 2, (size_t[]){2, 3}, zp);
    ad_tensor tg = ad_tensor_new(t, dt, 2, (size_t[]){2, 3}, tp);
    ad_tensor l = ad_bce_with_logits(z, tg);
    cr_assert_eq(ad_backward(l), AD_OK);
    double want = (1e4 - 1 + 1e4 + 5e3 + log(2.0)) / 6.0;
    cr_assert_float_eq(ad_tensor_get(l, 0), want, tol * want);
    double gz[6] = {0, 0, 1.0 / 6, -1.0 / 6, 0.5 / 6, -0.5 / 6};
    for (size_t i = 0; i < 6; i++)
        cr_assert_float_eq(grad_at(z, i), gz[i], tol, "bce grad [%zu] = %g", i, grad_at(z, i));

    /* cross-entropy: row 0 loses log(1 + e^-1) (label 0, runner-up 1 below),
     * row 1 loses 1e4 (label 2 is 0, the max is 1e4) */
    ad_tape_reset(t);
    const int32_t labels[2] = {0, 2};
    z = ad_tensor_variable(t, dt, 2, (size_t[]){2, 3}, zp);
    l = ad_softmax_cross_entropy(z, labels, 2);
    cr_assert_eq(ad_backward(l), AD_OK);
    want = (log1p(exp(-1.0)) + 1e4) / 2.0;
    cr_assert_float_eq(ad_tensor_get(l, 0), want, tol * want);
    for (size_t i = 0; i < 6; i++)
        cr_assert(isfinite(grad_at(z, i)), "ce grad [%zu] = %g", i, grad_at(z, i));
    cr_assert_float_eq(grad_at(z, 4), 0.5, tol);  /* p = 1 at the max, /B */
    cr_assert_float_eq(grad_at(z, 5), -0.5, tol); /* p = 0 at the label */
    ad_tape_free(t);
}

Test(loss, logits_of_plus_minus_1e4_give_finite_losses_and_gradients_in_float64)
{
    check_huge_logits(AD_F64);
}

Test(loss, logits_of_plus_minus_1e4_give_finite_losses_and_gradients_in_float32)
{
    check_huge_logits(AD_F32);
}

/* Each loss on the same [3,4] data in both dtypes: values and gradients agree
 * to float32 precision. */
Test(loss, float32_results_are_close_to_float64_results)
{
    ad_tape *t = ad_tape_new();
    double yd[12], td[12];
    float yf[12], tf[12];
    for (int i = 0; i < 12; i++) {
        yf[i] = (float)(2.0 * sin(1.3 * i + 0.2));
        tf[i] = (float)(0.5 + 0.5 * cos(0.7 * i));
        yd[i] = (double)yf[i];
        td[i] = (double)tf[i];
    }
    const int32_t labels[3] = {2, 0, 3};
    size_t d[2] = {3, 4};
    for (int k = 0; k < 4; k++) {
        double v[2], g[2][12];
        for (int p = 0; p < 2; p++) {
            ad_dtype dt = p ? AD_F32 : AD_F64;
            ad_tape_reset(t);
            ad_tensor y = ad_tensor_variable(t, dt, 2, d, p ? (const void *)yf : (const void *)yd);
            ad_tensor tg = ad_tensor_new(t, dt, 2, d, p ? (const void *)tf : (const void *)td);
            ad_tensor l = k < 3 ? pair_loss((enum loss_kind)k, y, tg)
                                : ad_softmax_cross_entropy(y, labels, 3);
            cr_assert_eq(ad_tensor_dtype(l), dt);
            cr_assert_eq(ad_backward(l), AD_OK);
            v[p] = ad_tensor_get(l, 0);
            for (size_t i = 0; i < 12; i++)
                g[p][i] = grad_at(y, i);
        }
        cr_assert_float_eq(v[0], v[1], 1e-6 * fabs(v[0]) + 1e-7, "loss %d: %.9g vs %.9g", k, v[0],
                           v[1]);
        for (size_t i = 0; i < 12; i++)
            cr_assert_float_eq(g[0][i], g[1][i], 1e-6, "loss %d [%zu]", k, i);
    }
    ad_tape_free(t);
}

/* ---- empty batches: a mean over no terms is 0/0 = NaN (IEEE), not 0 */

Test(loss, an_empty_batch_gives_nan_and_an_empty_gradient)
{
    ad_tape *t = ad_tape_new();
    size_t d[2] = {0, 3};
    for (int k = MSE; k <= BCE; k++) {
        ad_tape_reset(t);
        ad_tensor y = ad_tensor_variable(t, AD_F64, 2, d, NULL);
        ad_tensor tg = ad_tensor_variable(t, AD_F64, 2, d, NULL);
        ad_tensor l = pair_loss((enum loss_kind)k, y, tg);
        cr_assert(ad_tensor_ok(l), "%s", loss_names[k]);
        cr_assert(isnan(ad_tensor_get(l, 0)), "%s of [0,3] gave %g", loss_names[k],
                  ad_tensor_get(l, 0));
        cr_assert_eq(ad_backward(l), AD_OK);
        cr_assert_eq(ad_tensor_numel(y), 0);
    }
    ad_tape_reset(t);
    ad_tensor z = ad_tensor_variable(t, AD_F32, 2, (size_t[]){0, 5}, NULL);
    ad_tensor l = ad_softmax_cross_entropy(z, NULL, 0);
    cr_assert(ad_tensor_ok(l));
    cr_assert(isnan(ad_tensor_get(l, 0)));
    cr_assert_eq(ad_backward(l), AD_OK);
    ad_tape_free(t);
}

/* half_sse divides by B, not N: three samples of no outputs each is a sum
 * of nothing over 3 = 0, while mse (over N = 0) is NaN. */
Test(loss, half_sse_of_samples_with_no_outputs_is_zero_while_mse_is_nan)
{
    ad_tape *t = ad_tape_new();
    size_t d[2] = {3, 0};
    ad_tensor y = ad_tensor_variable(t, AD_F64, 2, d, NULL);
    ad_tensor tg = ad_tensor_new(t, AD_F64, 2, d, NULL);
    cr_assert_eq(ad_tensor_get(ad_half_sse_loss(y, tg), 0), 0.0);
    cr_assert(isnan(ad_tensor_get(ad_mse_loss(y, tg), 0)));
    ad_tape_free(t);
}

/* ---- errors */

Test(loss, pair_losses_reject_a_target_of_another_shape_and_name_both_shapes)
{
    static const char *const fns[] = {"ad_mse_loss", "ad_half_sse_loss", "ad_bce_with_logits"};
    ad_tape *t = ad_tape_new();
    for (int k = MSE; k <= BCE; k++) {
        ad_tape_reset(t);
        ad_tensor y = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 4});
        ad_tensor tg = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){4, 3});
        cr_assert_not(ad_tensor_ok(pair_loss((enum loss_kind)k, y, tg)));
        char want[128];
        snprintf(want, sizeof want, "%s: target shape [4,3] differs from prediction shape [3,4]",
                 fns[k]);
        ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, want);
    }
    /* same element count, different rank: still a mismatch, not a broadcast */
    ad_tape_reset(t);
    ad_tensor y = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){3});
    ad_tensor tg = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){3, 1});
    cr_assert_not(ad_tensor_ok(ad_mse_loss(y, tg)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_mse_loss: target shape [3,1] differs from prediction shape [3]");
    ad_tape_free(t);
}

Test(loss, pair_losses_reject_mixed_dtypes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor y = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){3});
    ad_tensor tg = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    cr_assert_not(ad_tensor_ok(ad_bce_with_logits(y, tg)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_bce_with_logits: dtypes differ");
    ad_tape_free(t);
}

Test(loss, pair_losses_reject_a_target_from_another_tape)
{
    ad_tape *t = ad_tape_new(), *u = ad_tape_new();
    ad_tensor y = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    ad_tensor tg = ad_tensor_zeros(u, AD_F64, 1, (size_t[]){3});
    cr_assert_not(ad_tensor_ok(ad_half_sse_loss(y, tg)));
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN, "ad_half_sse_loss: input 1 belongs to a different tape");
    ad_tape_free(t);
    ad_tape_free(u);
}

Test(loss, cross_entropy_rejects_a_label_count_other_than_the_batch_and_names_both)
{
    ad_tape *t = ad_tape_new();
    const int32_t labels[3] = {0, 1, 2};
    ad_tensor z = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 5});
    cr_assert_not(ad_tensor_ok(ad_softmax_cross_entropy(z, labels, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_softmax_cross_entropy: 3 labels for a batch of 2 (logits [2,5])");
    ad_tape_reset(t);
    z = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){5}); /* one sample */
    cr_assert_not(ad_tensor_ok(ad_softmax_cross_entropy(z, labels, 2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "2 labels for a batch of 1 (logits [5])");
    ad_tape_free(t);
}

Test(loss, cross_entropy_rejects_a_label_out_of_range_and_names_its_row_and_value)
{
    ad_tape *t = ad_tape_new();
    ad_tensor z = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){3, 5});
    cr_assert_not(ad_tensor_ok(ad_softmax_cross_entropy(z, (const int32_t[]){0, -1, 2}, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_softmax_cross_entropy: label -1 in row 1 is out of range for 5 classes");
    ad_tape_clear_error(t);
    cr_assert_not(ad_tensor_ok(ad_softmax_cross_entropy(z, (const int32_t[]){0, 4, 5}, 3)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "label 5 in row 2 is out of range for 5 classes");
    ad_tape_free(t);
}

Test(loss, cross_entropy_rejects_logits_of_more_than_two_dimensions)
{
    ad_tape *t = ad_tape_new();
    ad_tensor z = ad_tensor_zeros(t, AD_F32, 3, (size_t[]){2, 3, 4});
    cr_assert_not(ad_tensor_ok(ad_softmax_cross_entropy(z, (const int32_t[]){0, 1}, 2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_softmax_cross_entropy: logits must be [B,C] or [C], got [2,3,4]");
    ad_tape_free(t);
}

Test(loss, cross_entropy_rejects_null_labels)
{
    ad_tape *t = ad_tape_new();
    ad_tensor z = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    cr_assert_not(ad_tensor_ok(ad_softmax_cross_entropy(z, NULL, 2)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_softmax_cross_entropy: labels is NULL");
    ad_tape_free(t);
}

Test(loss, cross_entropy_of_an_invalid_handle_fails_the_tape_naming_the_op)
{
    ad_tape *t = ad_tape_new();
    ad_tensor bad = ad_softmax(ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3}), 4);
    ad_tape_clear_error(t);
    cr_assert_not(ad_tensor_ok(ad_softmax_cross_entropy(bad, (const int32_t[]){0}, 1)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_softmax_cross_entropy: invalid tensor handle");
    ad_tape_free(t);
}
