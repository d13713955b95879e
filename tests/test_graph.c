/* SPDX-License-Identifier: MIT
 * Whole graphs built by hand: a residual network, weight sharing, several
 * losses, concatenation; and the no-allocation property of a training step
 * that records the same graph again after each reset. */
#include "common.h"

#include <math.h>

enum { B = 5, IN = 3, H = 4, C = 3 };
static const int32_t labels[B] = {0, 2, 1, 1, 0};

/* params: w1 [H,IN], b1 [H], w2 [H,H], b2 [H], w3 [C,H], b3 [C] */
static ad_tensor residual_net(ad_tape *t, ad_param *const *p, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_tensor x = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){B, IN}, -1, 1, 99);
    ad_tensor h1 = ad_ttanh(ad_linear(x, ad_param_use(t, p[0]), ad_param_use(t, p[1])));
    ad_tensor h2 =
        ad_gelu(ad_tadd(ad_linear(h1, ad_param_use(t, p[2]), ad_param_use(t, p[3])), h1));
    ad_tensor z = ad_linear(h2, ad_param_use(t, p[4]), ad_param_use(t, p[5]));
    return ad_softmax_cross_entropy(z, labels, B);
}

static void make_params(ad_param **p, ad_dtype dt)
{
    size_t shapes[6][2] = {{H, IN}, {H, 0}, {H, H}, {H, 0}, {C, H}, {C, 0}};
    for (int i = 0; i < 6; i++) {
        p[i] = shapes[i][1] ? ad_param_new(dt, 2, shapes[i]) : ad_param_new(dt, 1, shapes[i]);
        ad_param_uniform(p[i], -0.8, 0.8, (uint64_t)(10 + i));
    }
}

Test(graph, residual_network_gradients_pass_gradcheck)
{
    ad_param *p[6];
    make_params(p, AD_F64);
    ASSERT_GRADCHECK(residual_net, p, 6, NULL, NULL);
    for (int i = 0; i < 6; i++)
        ad_param_free(p[i]);
}

/* one weight matrix used by two layers, two losses added, a concat */
static ad_tensor shared_and_two_losses(ad_tape *t, ad_param *const *p, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_tensor w = ad_param_use(t, p[0]); /* [H,H], used twice */
    ad_tensor x = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){B, H}, -1, 1, 5);
    ad_tensor h =
        ad_tsigmoid(ad_linear(ad_tsigmoid(ad_linear(x, w, AD_TENSOR_NONE)), w, AD_TENSOR_NONE));
    ad_tensor both = ad_concat((ad_tensor[]){h, x}, 2, 1); /* [B, 2H] */
    ad_tensor target = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){B, 2 * H}, 0, 1, 6);
    ad_tensor l1 = ad_mse_loss(both, target);
    ad_tensor l2 = ad_bce_with_logits(ad_slice(both, 1, 0, H), ad_slice(target, 1, H, 2 * H));
    return ad_tadd(l1, ad_tscale(l2, 0.5));
}

Test(graph, weight_sharing_concat_and_two_losses_pass_gradcheck)
{
    ad_param *w = test_param(2, (size_t[]){H, H}, -1, 1, 3);
    ASSERT_GRADCHECK(shared_and_two_losses, &w, 1, NULL, NULL);
    ad_param_free(w);
}

static float train_step(ad_tape *t, ad_param **p, const float *xs)
{
    ad_tape_reset(t);
    ad_tensor x = ad_tensor_new(t, AD_F32, 2, (size_t[]){B, IN}, xs);
    ad_tensor h1 = ad_relu(ad_linear(x, ad_param_use(t, p[0]), ad_param_use(t, p[1])));
    ad_tensor h2 =
        ad_relu(ad_tadd(ad_linear(h1, ad_param_use(t, p[2]), ad_param_use(t, p[3])), h1));
    ad_tensor z = ad_linear(h2, ad_param_use(t, p[4]), ad_param_use(t, p[5]));
    ad_tensor loss = ad_softmax_cross_entropy(z, labels, B);
    cr_assert_eq(ad_backward(loss), AD_OK);
    for (int i = 0; i < 6; i++) {
        float *v = ad_param_value(p[i]), *g = ad_param_grad(p[i]);
        for (size_t k = 0; k < ad_param_numel(p[i]); k++)
            v[k] -= 0.5f * g[k];
        ad_param_zero_grad(p[i]);
    }
    return (float)ad_tensor_get(loss, 0);
}

Test(graph, a_training_step_after_warm_up_allocates_nothing_and_the_loss_falls)
{
    ad_param *p[6];
    make_params(p, AD_F32);
    float xs[B * IN];
    for (int i = 0; i < B * IN; i++)
        xs[i] = (float)sin(1.7 * i);
    ad_tape *t = ad_tape_new();
    float first = train_step(t, p, xs);
    train_step(t, p, xs);
    size_t heap = ad_debug_alloc_count();
    ad_tape_stats s0 = ad_tape_stats_get(t);
    float last = 0;
    for (int i = 0; i < 50; i++)
        last = train_step(t, p, xs);
    cr_assert_eq(ad_debug_alloc_count(), heap, "%zu heap allocations in 50 steady steps",
                 ad_debug_alloc_count() - heap);
    cr_assert_eq(ad_tape_stats_get(t).bytes_reserved, s0.bytes_reserved);
    cr_assert(last < 0.5f * first, "loss %g -> %g", (double)first, (double)last);
    ad_tape_free(t);
    for (int i = 0; i < 6; i++)
        ad_param_free(p[i]);
}

Test(graph, evaluation_mode_runs_the_network_without_gradients)
{
    ad_param *p[6];
    make_params(p, AD_F64);
    ad_tape *t = ad_tape_new();
    ad_tensor l1 = residual_net(t, p, 6, NULL);
    double train_loss = ad_tensor_get(l1, 0);
    ad_tape_reset(t);
    ad_tape_set_recording(t, false);
    ad_tensor l2 = residual_net(t, p, 6, NULL);
    cr_assert_eq(ad_tensor_get(l2, 0), train_loss, "same value with recording off");
    /* a sweep from it used to return AD_OK with no gradient: a forgotten
     * ad_tape_set_recording(t, true) stalled training silently */
    cr_assert_eq(ad_backward(l2), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_backward: the output was computed with recording off");
    cr_assert_eq(((const double *)ad_param_grad(p[0]))[0], 0.0, "no gradient flowed");
    ad_tape_free(t);
    for (int i = 0; i < 6; i++)
        ad_param_free(p[i]);
}

Test(graph, a_shape_error_deep_in_an_expression_names_the_op_and_both_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 2, (size_t[]){3, 4});
    ad_tensor w = ad_tensor_ones(t, AD_F32, 2, (size_t[]){5, 2});
    ad_tensor b = ad_tensor_ones(t, AD_F32, 1, (size_t[]){2});
    ad_tensor z = ad_relu(ad_tadd(ad_matmul(x, w), b));
    cr_assert(!ad_tensor_ok(z));
    cr_assert_eq(ad_backward(z), AD_ERR_SHAPE);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_matmul: inner dimensions differ: [3,4] x [5,2]");
    ad_tape_free(t);
}

Test(graph, anomaly_mode_names_the_op_that_made_the_first_nan)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){1, -1, 2});
    ad_tensor y = ad_tsqrt(ad_texp(x));
    ad_tensor z = ad_tlog(ad_taddc(y, -1.0)); /* log of a negative: NaN */
    cr_assert(!ad_tensor_ok(z));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "forward sweep: op tlog (node 4, inputs [3])");
    ad_tape_reset(t);
    x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){0, 4});
    z = ad_sum(ad_tsqrt(x)); /* sqrt'(0) = Inf in the backward sweep */
    cr_assert_eq(ad_backward(z), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "backward sweep: op tsqrt");
    ad_tape_free(t);
}

/* Anomaly mode checks what enters the tape as a leaf too: the first NaN or
 * Inf is reported where it was made, not by the first op that reads it
 * (relu(NaN) is 0, so an op may never report it). */
Test(graph, anomaly_mode_refuses_a_nan_or_inf_in_a_tensor_leaf_and_names_the_element)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    const double bad[3] = {1, (double)NAN, 2};
    cr_assert(!ad_tensor_ok(ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, bad)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC,
                      "ad_tensor_variable: anomaly in the forward sweep: variable (node 0, shape "
                      "[3]) has nan at element 1");
    ad_tape_reset(t);
    ad_tensor ok = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){1});
    const float inf32[4] = {0, 1, 2, (float)HUGE_VAL};
    cr_assert(!ad_tensor_ok(ad_tensor_new(t, AD_F32, 2, (size_t[]){2, 2}, inf32)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC,
                      "ad_tensor_new: anomaly in the forward sweep: constant (node 1, shape "
                      "[2,2]) has inf at element 3");
    (void)ok;
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(ad_tensor_fill(t, AD_F64, 1, (size_t[]){2}, -HUGE_VAL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_tensor_fill: anomaly in the forward sweep");
    ad_tape_reset(t);
    /* finite in float64, infinite once rounded to float32 */
    cr_assert(!ad_tensor_ok(ad_tensor_fill(t, AD_F32, 1, (size_t[]){2}, 1e300)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "has inf at element 0");
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(ad_tensor_uniform(t, AD_F64, 1, (size_t[]){4}, 0, HUGE_VAL, 1)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_tensor_uniform: anomaly in the forward sweep");
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(ad_tensor_normal(t, AD_F64, 1, (size_t[]){4}, (double)NAN, 1, 1)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_tensor_normal: anomaly in the forward sweep");
    ad_tape_reset(t);
    /* in evaluation mode too, as for every tensor op */
    ad_tape_set_recording(t, false);
    cr_assert(!ad_tensor_ok(ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, bad)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_tensor_new: anomaly");
    ad_tape_set_recording(t, true);
    ad_tape_reset(t);
    /* finite leaves pass, and without anomaly mode NaN is data */
    const double fine[3] = {1, -1e300, 2};
    cr_assert(ad_tensor_ok(ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, fine)));
    cr_assert(ad_tensor_ok(ad_tensor_normal(t, AD_F32, 1, (size_t[]){64}, 0, 1, 3)));
    ad_tape_set_anomaly(t, false);
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, bad);
    cr_assert(ad_tensor_ok(x), "%s", test_tape_msg(t));
    cr_assert(isnan(ad_tensor_get(x, 1)));
    ad_tape_free(t);
}

Test(graph, anomaly_mode_refuses_a_nan_in_a_parameter_when_it_is_used)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_param *p = ad_param_new(AD_F32, 2, (size_t[]){2, 3});
    cr_assert(ad_tensor_ok(ad_param_use(t, p)));
    ((float *)ad_param_value(p))[4] = (float)NAN;
    cr_assert(!ad_tensor_ok(ad_param_use(t, p)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC,
                      "ad_param_use: anomaly in the forward sweep: parameter (node 1, shape "
                      "[2,3]) has nan at element 4");
    ad_tape_reset(t);
    ad_tape_set_anomaly(t, false);
    cr_assert(ad_tensor_ok(ad_param_use(t, p)), "without anomaly mode NaN is data");
    ad_param_free(p);
    ad_tape_free(t);
}

/* The two cases a sweep from an evaluation-mode output must tell apart:
 * an output of constants depends on no variable (zeros, AD_OK); one of a
 * parameter or variable would have had a gradient (refused). */
Test(graph, evaluation_mode_tells_an_output_of_constants_from_one_that_lost_its_gradient)
{
    ad_param *w = test_param(1, (size_t[]){3}, -1, 1, 5);
    ad_tape *t = ad_tape_new();
    ad_tape_set_recording(t, false);
    ad_tensor c = ad_sum(ad_texp(ad_tensor_ones(t, AD_F64, 1, (size_t[]){3})));
    cr_assert_eq(ad_backward(c), AD_OK, "%s", test_tape_msg(t));
    ad_tensor v = ad_sum(ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, NULL));
    cr_assert_eq(ad_backward(v), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "recording off");
    ad_tape_clear_error(t);
    /* the mark survives ops recorded after recording is switched back on */
    ad_tensor u = ad_tmul(ad_param_use(t, w), ad_param_use(t, w));
    ad_tape_set_recording(t, true);
    ad_tensor l = ad_sum(ad_tscale(u, 2.0));
    cr_assert_eq(ad_backward(l), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_backward: the output was computed with recording off");
    ad_tape_clear_error(t);
    /* and an unrecorded input next to a recorded one: the recorded path flows */
    ad_tensor m = ad_sum(ad_tmul(u, ad_param_use(t, w)));
    cr_assert_eq(ad_backward(m), AD_OK, "%s", test_tape_msg(t));
    const double *g = ad_param_grad(w), *wv = ad_param_value(w);
    for (int i = 0; i < 3; i++)
        cr_assert_float_eq(g[i], wv[i] * wv[i], 1e-15, "element %d: %g", i, g[i]);
    ad_tape_free(t);
    ad_param_free(w);
}

/* Elements read out of an evaluation-mode tensor, and tensors stacked from
 * evaluation-mode scalars, keep the mark across the bridges. */
Test(graph, evaluation_mode_marks_cross_the_scalar_tensor_bridges)
{
    ad_param *w = test_param(1, (size_t[]){2}, -1, 1, 6);
    ad_tape *t = ad_tape_new();
    ad_tape_set_recording(t, false);
    ad_tensor p = ad_param_use(t, w);
    ad_scalar e = ad_tensor_to_scalar(p, 1);
    ad_scalar x = ad_variable(t, 3.0);
    ad_scalar xs[2] = {ad_mul(x, x), ad_constant(t, 1.0)};
    ad_tensor s = ad_stack_scalars(xs, 2, 1, (size_t[]){2});
    ad_tape_set_recording(t, true);
    cr_assert_eq(ad_backward_scalar(e), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_backward_scalar: the output was computed with "
                      "recording off");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_backward(ad_sum(s)), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "recording off");
    ad_tape_free(t);
    ad_param_free(w);
}
