/* SPDX-License-Identifier: MIT
 * The MLP spec: bad specs are refused with clear messages, good ones give
 * the expected parameter shapes, and initialisation is seeded. */
#include "adtape/nn.h"

#include "common.h"

#include <math.h>

static void expect_refused(const ad_nn_spec *s, const char *needle)
{
    ad_nn *m = ad_nn_new(s);
    cr_assert_null(m, "spec accepted, expected \"%s\"", needle);
    cr_assert(strstr(ad_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
              ad_last_error(), needle);
    cr_assert(strncmp(ad_last_error(), "ad_nn_new: ", 11) == 0, "message \"%s\" lacks the function",
              ad_last_error());
}

Test(nn_spec, refuses_a_hidden_layer_of_width_zero_and_names_it)
{
    ad_nn_layer_spec h[] = {{4, AD_ACT_RELU, 0, false, 0, false},
                            {0, AD_ACT_RELU, 0, false, 0, false}};
    expect_refused(&(ad_nn_spec){.inputs = 2, .n_hidden = 2, .hidden = h, .outputs = 1},
                   "hidden layer 2: width is 0");
}

Test(nn_spec, refuses_zero_inputs_and_zero_outputs)
{
    expect_refused(&(ad_nn_spec){.inputs = 0, .outputs = 1}, "inputs is 0");
    expect_refused(&(ad_nn_spec){.inputs = 3, .outputs = 0}, "outputs is 0");
}

Test(nn_spec, refuses_an_unknown_activation)
{
    ad_nn_layer_spec h[] = {{4, (ad_nn_act)42, 0, false, 0, false}};
    expect_refused(&(ad_nn_spec){.inputs = 2, .n_hidden = 1, .hidden = h, .outputs = 1},
                   "hidden layer 1: unknown activation 42");
}

Test(nn_spec, refuses_a_residual_between_different_widths_without_projection)
{
    ad_nn_layer_spec h[] = {{4, AD_ACT_TANH, 0, false, 0, false},
                            {6, AD_ACT_TANH, 1, false, 0, false}};
    expect_refused(&(ad_nn_spec){.inputs = 2, .n_hidden = 2, .hidden = h, .outputs = 1},
                   "hidden layer 2: residual from width 4 to width 6 needs a projection");
}

Test(nn_spec, refuses_a_skip_reaching_before_the_input)
{
    ad_nn_layer_spec h[] = {{2, AD_ACT_TANH, 2, false, 0, false}};
    expect_refused(&(ad_nn_spec){.inputs = 2, .n_hidden = 1, .hidden = h, .outputs = 1},
                   "skip 2 reaches before the input");
}

Test(nn_spec, refuses_a_loss_that_does_not_suit_the_head_and_unknown_enums)
{
    expect_refused(
        &(ad_nn_spec){.inputs = 2, .outputs = 3, .head = AD_HEAD_SOFTMAX, .loss = AD_LOSS_MSE},
        "loss mse does not suit the softmax head");
    expect_refused(&(ad_nn_spec){.inputs = 2, .outputs = 1, .head = (ad_nn_head)9},
                   "unknown head 9");
    expect_refused(&(ad_nn_spec){.inputs = 2, .outputs = 1, .init = (ad_nn_init)9},
                   "unknown init 9");
    expect_refused(&(ad_nn_spec){.inputs = 2, .outputs = 1, .head = AD_HEAD_SOFTMAX},
                   "softmax head needs at least 2 outputs");
    expect_refused(&(ad_nn_spec){.inputs = 2, .n_hidden = 1, .outputs = 1}, "hidden is NULL");
    expect_refused(NULL, "spec is NULL");
}

Test(nn_spec, lists_weights_biases_and_projections_in_order)
{
    ad_nn_layer_spec h[] = {{5, AD_ACT_RELU, 0, false, 0, false},
                            {5, AD_ACT_RELU, 1, false, 0, false},
                            {3, AD_ACT_TANH, 2, true, 0, false}};
    ad_nn_spec s = {.inputs = 4, .n_hidden = 3, .hidden = h, .outputs = 2};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m);
    size_t n;
    ad_param *const *p = ad_nn_params(m, &n);
    cr_assert_eq(n, 9); /* W1 b1 W2 b2 W3 b3 P3 Wout bout */
    size_t expect[][2] = {{5, 4}, {5, 0}, {5, 5}, {5, 0}, {3, 5}, {3, 0}, {5, 3}, {2, 3}, {2, 0}};
    for (size_t i = 0; i < n; i++) {
        size_t d[AD_MAX_DIMS];
        size_t nd = ad_param_shape(p[i], d);
        cr_assert_eq(nd, expect[i][1] ? 2u : 1u, "param %zu", i);
        cr_assert_eq(d[0], expect[i][0], "param %zu", i);
        if (nd == 2) cr_assert_eq(d[1], expect[i][1], "param %zu", i);
    }
    cr_assert_eq(ad_nn_param_count(m), 20 + 5 + 25 + 5 + 15 + 3 + 15 + 6 + 2);
    cr_assert_eq(ad_nn_get_spec(m)->loss, AD_LOSS_MSE);
    ad_nn_free(m);
}

/* max |w| and sample variance of a float64 parameter */
static void moments(ad_param *p, double *maxabs, double *var)
{
    const double *w = ad_param_value(p);
    size_t n = ad_param_numel(p);
    double s = 0, s2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        s += w[i], s2 += w[i] * w[i];
        if (fabs(w[i]) > mx) mx = fabs(w[i]);
    }
    *maxabs = mx;
    *var = s2 / (double)n - (s / (double)n) * (s / (double)n);
}

Test(nn_spec, glorot_and_he_initialisation_have_their_ranges_and_variances)
{
    ad_nn_layer_spec h[] = {{200, AD_ACT_RELU, 0, false, 0, false}};
    ad_nn_init inits[] = {AD_INIT_XAVIER_UNIFORM, AD_INIT_XAVIER_NORMAL, AD_INIT_HE_UNIFORM,
                          AD_INIT_HE_NORMAL};
    double fan_in = 300, fan_out = 200;
    double want_var[] = {2 / (fan_in + fan_out), 2 / (fan_in + fan_out), 2 / fan_in, 2 / fan_in};
    for (int k = 0; k < 4; k++) {
        ad_nn_spec s = {.inputs = 300,
                        .n_hidden = 1,
                        .hidden = h,
                        .outputs = 1,
                        .init = inits[k],
                        .dtype = AD_F64,
                        .seed = 7};
        ad_nn *m = ad_nn_new(&s);
        cr_assert_not_null(m);
        double mx, var;
        moments(ad_nn_params(m, NULL)[0], &mx, &var);
        cr_assert(fabs(var / want_var[k] - 1) < 0.05, "init %d: var %g want %g", k, var,
                  want_var[k]);
        if (k == 0) cr_assert_leq(mx, sqrt(6 / (fan_in + fan_out)));
        if (k == 2) cr_assert_leq(mx, sqrt(6 / fan_in));
        const double *b = ad_param_value(ad_nn_params(m, NULL)[1]);
        for (int i = 0; i < 200; i++)
            cr_assert_eq(b[i], 0.0);
        ad_nn_free(m);
    }
}

Test(nn_spec, the_same_seed_gives_the_same_weights_and_another_seed_does_not)
{
    ad_nn_layer_spec h[] = {{8, AD_ACT_TANH, 0, false, 0, false},
                            {8, AD_ACT_GELU, 1, false, 0, false}};
    ad_nn_spec s = {.inputs = 3, .n_hidden = 2, .hidden = h, .outputs = 2, .seed = 11};
    ad_nn *a = ad_nn_new(&s), *b = ad_nn_new(&s);
    s.seed = 12;
    ad_nn *c = ad_nn_new(&s);
    size_t n;
    ad_param *const *pa = ad_nn_params(a, &n), *const *pb = ad_nn_params(b, NULL),
                    *const *pc = ad_nn_params(c, NULL);
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(ad_param_value(pa[i]), ad_param_value(pb[i]),
                         ad_param_numel(pa[i]) * sizeof(float)) == 0);
    cr_assert(memcmp(ad_param_value(pa[0]), ad_param_value(pc[0]), 24 * sizeof(float)) != 0);
    /* different layers draw different streams */
    cr_assert(memcmp(ad_param_value(pa[0]), ad_param_value(pa[2]), 8 * sizeof(float)) != 0);
    ad_nn_init_params(c, 11);
    cr_assert(memcmp(ad_param_value(pa[2]), ad_param_value(pc[2]), 64 * sizeof(float)) == 0);
    ad_nn_free(a);
    ad_nn_free(b);
    ad_nn_free(c);
}

Test(nn_spec, activation_names_round_trip)
{
    for (int a = 0; a < AD_ACT_COUNT; a++) {
        ad_nn_act back;
        cr_assert(ad_nn_act_parse(ad_nn_act_name((ad_nn_act)a), &back));
        cr_assert_eq(back, (ad_nn_act)a);
    }
    ad_nn_act x;
    cr_assert_not(ad_nn_act_parse("relu6", &x));
    cr_assert_str_eq(ad_nn_act_name((ad_nn_act)99), "?");
}

Test(nn_spec, forward_refuses_a_wrong_input_width_rank_or_dtype_naming_itself_and_the_shapes)
{
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 3, .outputs = 2});
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 5});
    cr_assert_not(ad_tensor_ok(ad_nn_forward(m, x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_nn_forward: input has shape [4,5]; the model takes [B,3]");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F32, 3, (size_t[]){2, 4, 3});
    cr_assert_not(ad_tensor_ok(ad_nn_forward(m, x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_nn_forward: input has shape [2,4,3]");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){4, 3});
    cr_assert_not(ad_tensor_ok(ad_nn_forward(m, x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_nn_forward: input is float64; the model is float32");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F32, 1, (size_t[]){3}); /* one sample is fine */
    cr_assert(ad_tensor_ok(ad_nn_forward(m, x)));
    ad_tape_free(t);
    ad_nn_free(m);
}

Test(nn_spec, forward_predict_and_loss_fail_the_tape_on_a_null_model)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 2});
    cr_assert_not(ad_tensor_ok(ad_nn_forward(NULL, x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_nn_forward: model is NULL");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 2});
    cr_assert_not(ad_tensor_ok(ad_nn_predict(NULL, x)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_nn_predict: model is NULL");
    ad_tape_reset(t);
    x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 2});
    cr_assert_not(ad_tensor_ok(ad_nn_loss(NULL, x, x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_nn_loss: model is NULL");
    /* no tape to fail: still no crash */
    cr_assert_not(ad_tensor_ok(ad_nn_forward(NULL, AD_TENSOR_NONE)));
    ad_tape_free(t);
}

Test(nn_spec, predict_and_loss_refuse_logits_of_another_width_naming_the_shapes)
{
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 2, .outputs = 3, .head = AD_HEAD_SOFTMAX});
    ad_tape *t = ad_tape_new();
    ad_tensor z = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 5});
    cr_assert_not(ad_tensor_ok(ad_nn_predict(m, z)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_nn_predict: logits have shape [4,5]; the model gives [B,3]");
    ad_tape_reset(t);
    z = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 5});
    const int32_t lab[4] = {0, 1, 4, 4}; /* valid for 5 classes, not for the model's 3 */
    cr_assert_not(ad_tensor_ok(ad_nn_loss(m, z, AD_TENSOR_NONE, lab)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_nn_loss: logits have shape [4,5]; the model gives [B,3]");
    ad_tape_free(t);
    ad_nn_free(m);
}

Test(nn_spec, loss_names_itself_for_bad_targets_or_labels)
{
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 2, .outputs = 2});
    ad_tape *t = ad_tape_new();
    ad_tensor z = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 2});
    ad_tensor y = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 3});
    cr_assert_not(ad_tensor_ok(ad_nn_loss(m, z, y, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_nn_loss: target has shape [4,3]; the logits have [4,2]");
    ad_tape_reset(t);
    z = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 2});
    y = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){4, 2});
    cr_assert_not(ad_tensor_ok(ad_nn_loss(m, z, y, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_nn_loss: target is float64; the logits are float32");
    ad_tape_reset(t);
    z = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 2});
    cr_assert_not(ad_tensor_ok(ad_nn_loss(m, z, AD_TENSOR_NONE, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_nn_loss: the identity head needs a target tensor [B,2]");
    ad_nn_free(m);

    m = ad_nn_new(&(ad_nn_spec){.inputs = 2, .outputs = 3, .head = AD_HEAD_SOFTMAX});
    ad_tape_reset(t);
    z = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 3});
    cr_assert_not(ad_tensor_ok(ad_nn_loss(m, z, AD_TENSOR_NONE, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_nn_loss: the softmax head needs labels");
    ad_tape_reset(t);
    z = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 3});
    const int32_t lab[4] = {0, 1, 3, 0};
    cr_assert_not(ad_tensor_ok(ad_nn_loss(m, z, AD_TENSOR_NONE, lab)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_nn_loss: ");
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "label 3 in row 2");
    ad_tape_free(t);
    ad_nn_free(m);
}

Test(nn_spec, refuses_a_nan_or_infinite_leaky_slope)
{
    ad_nn_layer_spec h[] = {{4, AD_ACT_LEAKY_RELU, 0, false, 0, false}};
    expect_refused(
        &(ad_nn_spec){
            .inputs = 2, .n_hidden = 1, .hidden = h, .outputs = 1, .leaky_slope = (double)NAN},
        "leaky_slope is nan");
    expect_refused(
        &(ad_nn_spec){
            .inputs = 2, .n_hidden = 1, .hidden = h, .outputs = 1, .leaky_slope = HUGE_VAL},
        "leaky_slope is inf");
}

Test(nn_spec, a_layer_too_large_to_hold_is_refused_with_its_shape)
{
    ad_nn_layer_spec h[] = {{SIZE_MAX / 2, AD_ACT_TANH, 0, false, 0, false}};
    expect_refused(
        &(ad_nn_spec){.inputs = (size_t)1 << 20, .n_hidden = 1, .hidden = h, .outputs = 1},
        "hidden layer 1: a [9223372036854775807,1048576] weight matrix is too large");
    expect_refused(&(ad_nn_spec){.inputs = SIZE_MAX, .outputs = SIZE_MAX},
                   "output layer: a [18446744073709551615,18446744073709551615] weight matrix "
                   "is too large");
}

Test(nn_spec, engine_failures_inside_forward_and_loss_are_named_after_them)
{
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 2, .outputs = 2});
    ad_tape *t = ad_tape_new(), *u = ad_tape_new();
    ad_tensor stale = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 2});
    ad_tape_reset(t);
    cr_assert_not(ad_tensor_ok(ad_nn_forward(m, stale)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_nn_forward: ad_linear: ");
    ad_tape_reset(t);
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 2});
    ad_tensor foreign = ad_tensor_zeros(u, AD_F32, 2, (size_t[]){4, 2});
    cr_assert_not(ad_tensor_ok(ad_nn_loss(m, ad_nn_forward(m, x), foreign, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN,
                      "ad_nn_loss: ad_mse_loss: input 1 belongs to a different tape");
    ad_tape_free(u);
    ad_tape_free(t);
    ad_nn_free(m);
}
