/* SPDX-License-Identifier: MIT
 * Optimizer update rules against steps computed by hand, clipping, the
 * learning-rate schedules and the optimizer's state parameters. */
#include "adtape/nn.h"

#include "common.h"

#include <math.h>

/* A float64 parameter holding w, with gradient g. */
static ad_param *param2(double w0, double w1)
{
    ad_param *p = ad_param_new(AD_F64, 1, (size_t[]){2});
    double *w = ad_param_value(p);
    w[0] = w0, w[1] = w1;
    return p;
}

static void set_grad(ad_param *p, double g0, double g1)
{
    double *g = ad_param_grad(p);
    g[0] = g0, g[1] = g1;
}

static ad_opt *opt(ad_opt_config c, ad_param *p)
{
    ad_opt *o = ad_opt_new(&c, &p, 1);
    cr_assert_not_null(o, "%s", ad_last_error());
    return o;
}

#define W(p, i) (((double *)ad_param_value(p))[i])

Test(nn_optim, sgd_with_weight_decay_takes_the_hand_computed_step)
{
    ad_param *p = param2(1.0, -2.0);
    ad_opt *o = opt((ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.1, .weight_decay = 0.01}, p);
    set_grad(p, 0.5, 0.25);
    ad_opt_step(o);
    /* w - lr (g + wd w) */
    cr_assert_float_eq(W(p, 0), 1.0 - 0.1 * (0.5 + 0.01), 1e-15);
    cr_assert_float_eq(W(p, 1), -2.0 - 0.1 * (0.25 - 0.02), 1e-15);
    cr_assert_eq(ad_opt_steps(o), 1);
    /* the gradient is read, not consumed */
    cr_assert_eq(((double *)ad_param_grad(p))[0], 0.5);
    ad_opt_free(o);
    ad_param_free(p);
}

Test(nn_optim, plain_sgd_in_both_dtypes_takes_the_hand_computed_step)
{
    ad_param *p = param2(1.0, -2.0);
    ad_param *q = ad_param_new(AD_F32, 1, (size_t[]){2});
    float *wq = ad_param_value(q), *gq = ad_param_grad(q);
    wq[0] = 1.0f, wq[1] = -2.0f, gq[0] = 0.5f, gq[1] = 0.25f;
    ad_opt *o = opt((ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.1}, p);
    ad_opt *oq = opt((ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.1}, q);
    set_grad(p, 0.5, 0.25);
    ad_opt_step(o), ad_opt_step(oq);
    /* w - lr g */
    cr_assert_eq(W(p, 0), 1.0 - 0.1 * 0.5);
    cr_assert_eq(W(p, 1), -2.0 - 0.1 * 0.25);
    cr_assert_eq(wq[0], 1.0f - 0.1f * 0.5f);
    cr_assert_eq(wq[1], -2.0f - 0.1f * 0.25f);
    ad_opt_free(o), ad_opt_free(oq);
    ad_param_free(p), ad_param_free(q);
}

Test(nn_optim, momentum_and_nesterov_accumulate_velocity_over_two_steps)
{
    ad_param *p = param2(1.0, 0.0), *q = param2(1.0, 0.0);
    ad_opt *o = opt((ad_opt_config){.kind = AD_OPT_MOMENTUM, .lr = 0.1, .momentum = 0.9}, p);
    ad_opt *n = opt((ad_opt_config){.kind = AD_OPT_NESTEROV, .lr = 0.1, .momentum = 0.9}, q);
    for (int s = 0; s < 2; s++) {
        set_grad(p, 0.5, 0), set_grad(q, 0.5, 0);
        ad_opt_step(o), ad_opt_step(n);
    }
    /* v1 = .5, w1 = .95; v2 = .95, w2 = .855 */
    cr_assert_float_eq(W(p, 0), 0.855, 1e-15);
    /* nesterov: w1 = 1 - .1 (.5 + .45) = .905; v2 = .95, w2 = .905 - .1 (.5 + .855) */
    cr_assert_float_eq(W(q, 0), 0.7695, 1e-15);
    cr_assert_eq(W(p, 1), 0.0);
    ad_opt_free(o), ad_opt_free(n);
    ad_param_free(p), ad_param_free(q);
}

Test(nn_optim, adam_bias_correction_makes_the_first_step_lr_times_the_sign)
{
    ad_param *p = param2(1.0, 1.0);
    ad_opt *o = opt((ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.1}, p);
    set_grad(p, 0.5, -3.0);
    ad_opt_step(o);
    /* m = .1 g, v = .001 g^2; mhat = g, vhat = g^2: step lr g / (|g| + eps) */
    cr_assert_float_eq(W(p, 0), 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-13);
    cr_assert_float_eq(W(p, 1), 1.0 + 0.1 * 3.0 / (3.0 + 1e-8), 1e-13);
    /* second step, gradient 1 on element 0 */
    set_grad(p, 1.0, 0.0);
    ad_opt_step(o);
    double m = 0.9 * 0.05 + 0.1 * 1.0, v = 0.999 * 0.00025 + 0.001 * 1.0;
    double w = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
    w -= 0.1 / (1 - 0.81) * m / (sqrt(v) / sqrt(1 - 0.999 * 0.999) + 1e-8);
    cr_assert_float_eq(W(p, 0), w, 1e-13);
    size_t ns;
    ad_opt_state(o, &ns);
    cr_assert_eq(ns, 3); /* counters, m, v */
    ad_opt_free(o);
    ad_param_free(p);
}

Test(nn_optim, adamw_decays_the_weight_apart_from_the_gradient)
{
    ad_param *p = param2(2.0, 0.0), *q = param2(2.0, 0.0);
    ad_opt *o = opt((ad_opt_config){.kind = AD_OPT_ADAMW, .lr = 0.1, .weight_decay = 0.5}, p);
    ad_opt *a = opt((ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.1, .weight_decay = 0.5}, q);
    set_grad(p, 0.5, 0.0), set_grad(q, 0.5, 0.0);
    ad_opt_step(o), ad_opt_step(a);
    /* AdamW: w (1 - lr wd) - lr sign(g) */
    cr_assert_float_eq(W(p, 0), 2.0 * (1 - 0.05) - 0.1 * 0.5 / (0.5 + 1e-8), 1e-13);
    cr_assert_eq(W(p, 1), 0.0);
    /* Adam: the decay joins g = .5 + .5 * 2 = 1.5, whose normalised step is lr */
    cr_assert_float_eq(W(q, 0), 2.0 - 0.1 * 1.5 / (1.5 + 1e-8), 1e-13);
    ad_opt_free(o), ad_opt_free(a);
    ad_param_free(p), ad_param_free(q);
}

Test(nn_optim, clipping_scales_the_global_norm_down_to_the_limit_only_when_above)
{
    ad_param *p = param2(0.0, 0.0), *q = param2(0.0, 0.0);
    ad_param *ps[] = {p, q};
    ad_opt *o =
        ad_opt_new(&(ad_opt_config){.kind = AD_OPT_SGD, .lr = 1.0, .clip_norm = 1.0}, ps, 2);
    set_grad(p, 3.0, 0.0), set_grad(q, 0.0, 4.0);
    cr_assert_float_eq(ad_opt_grad_norm(o), 5.0, 1e-15);
    ad_opt_step(o);
    cr_assert_float_eq(W(p, 0), -0.6, 1e-15);
    cr_assert_float_eq(W(q, 1), -0.8, 1e-15);
    set_grad(p, 0.3, 0.0), set_grad(q, 0.0, 0.4); /* norm .5: untouched */
    ad_opt_step(o);
    cr_assert_float_eq(W(p, 0), -0.9, 1e-15);
    ad_opt_zero_grad(o);
    cr_assert_eq(ad_opt_grad_norm(o), 0.0);
    ad_opt_free(o);
    ad_param_free(p), ad_param_free(q);
}

Test(nn_optim, float32_parameters_follow_the_float64_rule)
{
    ad_param *p = ad_param_new(AD_F32, 1, (size_t[]){2}), *q = param2(0.75, -0.25);
    ((float *)ad_param_value(p))[0] = 0.75f, ((float *)ad_param_value(p))[1] = -0.25f;
    ad_opt *a = opt((ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.01}, p);
    ad_opt *b = opt((ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.01}, q);
    for (int s = 0; s < 5; s++) {
        ((float *)ad_param_grad(p))[0] = 0.1f * (float)s, ((float *)ad_param_grad(p))[1] = 1.0f;
        set_grad(q, 0.1 * s, 1.0);
        ad_opt_step(a), ad_opt_step(b);
    }
    for (int i = 0; i < 2; i++)
        cr_assert_float_eq(((float *)ad_param_value(p))[i], W(q, i), 1e-6);
    ad_opt_free(a), ad_opt_free(b);
    ad_param_free(p), ad_param_free(q);
}

Test(nn_optim, step_and_cosine_schedules_give_their_values_per_epoch)
{
    ad_opt_config c = {.lr = 0.1, .schedule = AD_LR_STEP, .step_epochs = 3, .gamma = 0.5};
    double want[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025};
    for (size_t e = 0; e < 7; e++)
        cr_assert_float_eq(ad_opt_schedule_lr(&c, e), want[e], 1e-15);
    c = (ad_opt_config){.lr = 1.0, .schedule = AD_LR_COSINE, .total_epochs = 10, .lr_min = 0.1};
    cr_assert_float_eq(ad_opt_schedule_lr(&c, 0), 1.0, 1e-15);
    cr_assert_float_eq(ad_opt_schedule_lr(&c, 5), 0.55, 1e-15);
    cr_assert_float_eq(ad_opt_schedule_lr(&c, 10), 0.1, 1e-15);
    cr_assert_float_eq(ad_opt_schedule_lr(&c, 25), 0.1, 1e-15);
    c = (ad_opt_config){.lr = 0.3};
    cr_assert_eq(ad_opt_schedule_lr(&c, 1000), 0.3);
}

Test(nn_optim, the_schedule_follows_the_epoch_counter)
{
    ad_param *p = param2(0.0, 0.0);
    ad_opt *o =
        opt((ad_opt_config){.lr = 1.0, .schedule = AD_LR_STEP, .step_epochs = 1, .gamma = 0.5}, p);
    cr_assert_eq(ad_opt_lr(o), 1.0);
    ad_opt_set_epoch(o, 2);
    cr_assert_eq(ad_opt_epoch(o), 2);
    cr_assert_eq(ad_opt_lr(o), 0.25);
    set_grad(p, 1.0, 0.0);
    ad_opt_step(o);
    cr_assert_eq(W(p, 0), -0.25);
    ad_opt_free(o);
    ad_param_free(p);
}

Test(nn_optim, defaults_fill_zero_fields)
{
    ad_param *p = param2(0, 0);
    ad_opt *o = opt((ad_opt_config){.kind = AD_OPT_ADAMW}, p);
    const ad_opt_config *c = ad_opt_get_config(o);
    cr_assert_eq(c->lr, 1e-3);
    cr_assert_eq(c->beta1, 0.9);
    cr_assert_eq(c->beta2, 0.999);
    cr_assert_eq(c->eps, 1e-8);
    ad_opt_free(o);
    o = opt((ad_opt_config){.kind = AD_OPT_MOMENTUM}, p);
    cr_assert_eq(ad_opt_get_config(o)->lr, 1e-2);
    cr_assert_eq(ad_opt_get_config(o)->momentum, 0.9);
    ad_opt_free(o);
    ad_param_free(p);
}

Test(nn_optim, refuses_bad_configs_with_a_message)
{
    ad_param *p = param2(0, 0);
    cr_assert_null(ad_opt_new(&(ad_opt_config){.kind = (ad_opt_kind)17}, &p, 1));
    cr_assert(strstr(ad_last_error(), "ad_opt_new: unknown optimizer 17"), "%s", ad_last_error());
    cr_assert_null(ad_opt_new(&(ad_opt_config){.lr = -1}, &p, 1));
    cr_assert(strstr(ad_last_error(), "ad_opt_new: lr is -1; it must be finite and >= 0"), "%s",
              ad_last_error());
    cr_assert_null(ad_opt_new(&(ad_opt_config){.momentum = 1.5}, &p, 1));
    cr_assert(strstr(ad_last_error(), "ad_opt_new: momentum is 1.5; it must be in [0, 1)"), "%s",
              ad_last_error());
    /* NaN passes "x < 0" tests; a negative gamma or lr_min made the rate negative */
    cr_assert_null(ad_opt_new(&(ad_opt_config){.lr = (double)NAN}, &p, 1));
    cr_assert(strstr(ad_last_error(), "ad_opt_new: lr is nan"), "%s", ad_last_error());
    cr_assert_null(ad_opt_new(&(ad_opt_config){.beta2 = (double)NAN}, &p, 1));
    cr_assert(strstr(ad_last_error(), "ad_opt_new: beta2 is nan"), "%s", ad_last_error());
    cr_assert_null(ad_opt_new(&(ad_opt_config){.schedule = AD_LR_STEP, .gamma = -1}, &p, 1));
    cr_assert(strstr(ad_last_error(), "ad_opt_new: gamma is -1"), "%s", ad_last_error());
    cr_assert_null(ad_opt_new(&(ad_opt_config){.schedule = AD_LR_COSINE, .lr_min = -0.5}, &p, 1));
    cr_assert(strstr(ad_last_error(), "ad_opt_new: lr_min is -0.5"), "%s", ad_last_error());
    ad_opt *unclipped = ad_opt_new(&(ad_opt_config){.clip_norm = HUGE_VAL}, &p, 1);
    cr_assert_not_null(unclipped, "%s", ad_last_error());
    ad_opt_free(unclipped);
    ad_param *none[] = {NULL};
    cr_assert_null(ad_opt_new(&(ad_opt_config){0}, none, 1));
    cr_assert(strstr(ad_last_error(), "params[0] is NULL"), "%s", ad_last_error());
    ad_param_free(p);
}

Test(nn_optim, accessors_of_a_null_optimizer_answer_without_crashing)
{
    cr_assert_eq(ad_opt_steps(NULL), 0);
    cr_assert_eq(ad_opt_epoch(NULL), 0);
    ad_opt_set_epoch(NULL, 3);
    cr_assert(isnan(ad_opt_lr(NULL)));
    cr_assert(isnan(ad_opt_grad_norm(NULL)));
    cr_assert(isnan(ad_opt_schedule_lr(NULL, 3)));
    ad_opt_step(NULL);
    ad_opt_zero_grad(NULL);
    cr_assert_null(ad_opt_get_config(NULL));
    size_t n = 7;
    cr_assert_null(ad_opt_state(NULL, &n));
    cr_assert_eq(n, 0);
}

/* A parameter listed twice would be stepped twice per step (it was). */
Test(nn_optim, refuses_a_parameter_listed_twice_naming_both_positions)
{
    ad_param *a = ad_param_new(AD_F32, 1, (size_t[]){3});
    ad_param *b = ad_param_new(AD_F32, 1, (size_t[]){2});
    ad_param *ps[4] = {a, b, NULL, a};
    ps[2] = ad_param_new(AD_F64, 1, (size_t[]){1});
    cr_assert_null(ad_opt_new(&(ad_opt_config){0}, ps, 4));
    cr_assert_str_eq(ad_last_error(),
                     "ad_opt_new: params[0] and params[3] are the same parameter (it would be "
                     "updated twice per step)");
    ad_opt *o = ad_opt_new(&(ad_opt_config){0}, ps, 3);
    cr_assert_not_null(o, "%s", ad_last_error());
    ad_opt_free(o);
    ad_param_free(ps[2]);
    ad_param_free(a);
    ad_param_free(b);
}
