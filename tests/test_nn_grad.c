/* SPDX-License-Identifier: MIT
 * Every activation under every head, through plain, residual and projected
 * layers, passes a float64 central-difference gradient check of the loss
 * with respect to all the model's parameters. */
#include "adtape/nn.h"

#include "common.h"

#include <math.h>

enum { B = 5, IN = 3 };

typedef struct ctx {
    ad_nn *m;
    double x[B * IN];
    double y[B * 3]; /* up to 3 outputs */
    int32_t labels[B];
} ctx;

static ad_tensor loss_graph(ad_tape *t, ad_param *const *params, size_t n, void *vc)
{
    (void)params, (void)n;
    ctx *c = vc;
    const ad_nn_spec *s = ad_nn_get_spec(c->m);
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){B, IN}, c->x);
    ad_tensor y = ad_tensor_new(t, AD_F64, 2, (size_t[]){B, s->outputs}, c->y);
    return ad_nn_loss(c->m, ad_nn_forward(c->m, x), y, c->labels);
}

/* 3 -> 4 (act) -> 4 (act, + h1) -> 3 (act, + x P) -> head */
static void check(ad_nn_act act, ad_nn_head head, ad_nn_loss_kind loss, ad_nn_init init)
{
    ad_nn_layer_spec h[] = {
        {4, act, 0, false, 0, false}, {4, act, 1, false, 0, false}, {3, act, 2, true, 0, false}};
    size_t outputs = head == AD_HEAD_IDENTITY ? 2 : head == AD_HEAD_LOGISTIC ? 1 : 3;
    ad_nn_spec s = {.inputs = IN,
                    .n_hidden = 3,
                    .hidden = h,
                    .outputs = outputs,
                    .head = head,
                    .loss = loss,
                    .init = init,
                    .dtype = AD_F64,
                    .seed = 100 + (uint64_t)act};
    ctx c = {.m = ad_nn_new(&s)};
    cr_assert_not_null(c.m, "%s", ad_last_error());
    ad_rng r;
    ad_rng_seed(&r, 7 + (uint64_t)act);
    for (int i = 0; i < B * IN; i++)
        c.x[i] = 2 * ad_rng_uniform(&r) - 1;
    for (int i = 0; i < B * 3; i++)
        c.y[i] = head == AD_HEAD_LOGISTIC ? (double)(ad_rng_uniform(&r) > 0.5) : ad_rng_uniform(&r);
    for (int i = 0; i < B; i++)
        c.labels[i] = (int32_t)ad_rng_below(&r, 3);
    size_t np;
    ad_param *const *ps = ad_nn_params(c.m, &np);
    cr_assert_eq(np, 9);
    /* zero biases put a ReLU exactly on its kink whenever a whole row below
     * it is dead; random biases keep every pre-activation off 0 */
    for (size_t i = 0; i < np; i++)
        if (ad_param_shape(ps[i], NULL) == 1) ad_param_uniform(ps[i], -0.3, 0.3, 50 + i);
    ad_gradcheck_opts o = {1e-6, 1e-7, 1e-5};
    cr_log_info("%s / %s", ad_nn_act_name(act), ad_nn_head_name(head));
    ASSERT_GRADCHECK(loss_graph, ps, np, &c, &o);
    ad_nn_free(c.m);
}

Test(nn_grad, every_activation_with_the_identity_head_and_mse_passes_gradcheck)
{
    for (int a = 0; a < AD_ACT_COUNT; a++)
        check((ad_nn_act)a, AD_HEAD_IDENTITY, AD_LOSS_MSE, 0);
}

Test(nn_grad, every_activation_with_the_identity_head_and_half_sse_passes_gradcheck)
{
    for (int a = 0; a < AD_ACT_COUNT; a++)
        check((ad_nn_act)a, AD_HEAD_IDENTITY, AD_LOSS_HALF_SSE, AD_INIT_XAVIER_NORMAL);
}

Test(nn_grad, every_activation_with_the_logistic_head_passes_gradcheck)
{
    for (int a = 0; a < AD_ACT_COUNT; a++)
        check((ad_nn_act)a, AD_HEAD_LOGISTIC, AD_LOSS_DEFAULT, AD_INIT_HE_NORMAL);
}

Test(nn_grad, every_activation_with_the_softmax_head_passes_gradcheck)
{
    for (int a = 0; a < AD_ACT_COUNT; a++)
        check((ad_nn_act)a, AD_HEAD_SOFTMAX, AD_LOSS_DEFAULT, AD_INIT_HE_UNIFORM);
}

Test(nn_grad, a_network_without_hidden_layers_passes_gradcheck)
{
    ad_nn_spec s = {
        .inputs = IN, .outputs = 3, .head = AD_HEAD_SOFTMAX, .dtype = AD_F64, .seed = 1};
    ctx c = {.m = ad_nn_new(&s),
             .x = {0.1, -0.2, 0.3, 0.5, 0.7, -0.9, 1, 0, -1, 0.2, 0.4, 0.6, -0.3, -0.6, 0.9},
             .labels = {0, 1, 2, 1, 0}};
    size_t np;
    ad_param *const *ps = ad_nn_params(c.m, &np);
    ASSERT_GRADCHECK(loss_graph, ps, np, &c, NULL);
    ad_nn_free(c.m);
}

Test(nn_grad, predict_applies_the_head_to_the_logits)
{
    ad_tape *t = ad_tape_new();
    ad_tensor z = ad_tensor_new(t, AD_F64, 2, (size_t[]){1, 3}, (double[]){0.0, 1.0, 2.0});
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 3, .head = AD_HEAD_SOFTMAX});
    ad_tensor p = ad_nn_predict(m, z);
    double den = 1 + exp(1.0) + exp(2.0);
    cr_assert_float_eq(ad_tensor_get(p, 2), exp(2.0) / den, 1e-12);
    ad_nn_free(m);
    m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 3, .head = AD_HEAD_LOGISTIC});
    p = ad_nn_predict(m, z);
    cr_assert_float_eq(ad_tensor_get(p, 1), 1 / (1 + exp(-1.0)), 1e-12);
    ad_nn_free(m);
    m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 3});
    p = ad_nn_predict(m, z);
    cr_assert_eq(ad_tensor_get(p, 2), 2.0);
    ad_nn_free(m);
    ad_tape_free(t);
}
