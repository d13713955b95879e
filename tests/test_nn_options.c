/* SPDX-License-Identifier: MIT
 * The MLP client's regularisation options (issue 20): dropout and layer
 * norm per layer (spec checks, parameters, training mode, a gradcheck of
 * the whole model), weight decay per parameter group, early stopping on the
 * validation loss (the best epoch's parameters restored, the epoch
 * reported) and the NaN stop with them; bad option values refused. */
#include "adtape/nn.h"

#include "common.h"

#include <criterion/redirect.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* inputs-[w1 tanh]-[w2 relu, +1 skip when widths match]-outputs */
static ad_nn *model(ad_dtype dt, size_t in, size_t w1, size_t w2, double drop, bool ln,
                    ad_nn_head head, size_t out, uint64_t seed)
{
    ad_nn_layer_spec h[2] = {{w1, AD_ACT_TANH, 0, false, drop, ln},
                             {w2, AD_ACT_RELU, w1 == w2 ? 1 : 0, false, drop, ln}};
    ad_nn_spec s = {.inputs = in,
                    .n_hidden = 2,
                    .hidden = h,
                    .outputs = out,
                    .head = head,
                    .dtype = dt,
                    .seed = seed};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m, "%s", ad_last_error());
    return m;
}

static bool params_equal(const ad_nn *a, const ad_nn *b)
{
    size_t na, nb;
    ad_param *const *pa = ad_nn_params(a, &na), *const *pb = ad_nn_params(b, &nb);
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++) {
        size_t bytes = ad_param_numel(pa[i]) * (ad_param_dtype(pa[i]) == AD_F32 ? 4 : 8);
        if (memcmp(ad_param_value(pa[i]), ad_param_value(pb[i]), bytes) != 0) return false;
    }
    return true;
}

static ad_opt *opt_over(const ad_nn *m, ad_opt_config c)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&c, ps, np);
    cr_assert_not_null(o, "%s", ad_last_error());
    return o;
}

/* ---- the spec */

Test(nn_options, a_dropout_rate_outside_zero_to_one_is_refused_naming_the_layer)
{
    const double bad[] = {1.0, -0.1, (double)NAN, (double)INFINITY};
    const char *says[] = {"ad_nn_new: hidden layer 2: dropout is 1; the rate must be in [0, 1)",
                          "hidden layer 2: dropout is -0.1;", "hidden layer 2: dropout is nan;",
                          "hidden layer 2: dropout is inf;"};
    for (size_t i = 0; i < 4; i++) {
        ad_nn_layer_spec h[2] = {{4, AD_ACT_TANH, 0, false, 0.5, false},
                                 {4, AD_ACT_TANH, 0, false, bad[i], false}};
        ad_nn_spec s = {.inputs = 2, .n_hidden = 2, .hidden = h, .outputs = 1};
        cr_assert_null(ad_nn_new(&s));
        cr_assert(strstr(ad_last_error(), says[i]) != NULL, "%s", ad_last_error());
    }
}

Test(nn_options, layer_norm_adds_a_gain_and_a_shift_to_its_layer_and_shows_in_the_description)
{
    ad_nn_layer_spec h[2] = {{4, AD_ACT_TANH, 0, false, 0, true},
                             {5, AD_ACT_RELU, 0, false, 0.3, false}};
    ad_nn_spec s = {.inputs = 3, .n_hidden = 2, .hidden = h, .outputs = 2};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m, "%s", ad_last_error());
    size_t np, n1, n2, n3, n0;
    ad_nn_params(m, &np);
    cr_assert_eq(np, 8);
    cr_assert_eq(ad_nn_param_count(m), 3 * 4 + 4 + 4 + 4 + 4 * 5 + 5 + 5 * 2 + 2);
    ad_param *const *l1 = ad_nn_layer_params(m, 1, &n1);
    ad_nn_layer_params(m, 2, &n2);
    ad_param *const *l3 = ad_nn_layer_params(m, 3, &n3);
    cr_assert(n1 == 4 && n2 == 2 && n3 == 2);
    cr_assert_eq(l3, ad_nn_params(m, NULL) + 6);
    cr_assert_null(ad_nn_layer_params(m, 0, &n0));
    cr_assert_eq(n0, 0);
    cr_assert_null(ad_nn_layer_params(m, 4, NULL));
    for (size_t j = 0; j < 4; j++) {
        cr_assert_eq(((const float *)ad_param_value(l1[2]))[j], 1.0f, "gain starts at 1");
        cr_assert_eq(((const float *)ad_param_value(l1[3]))[j], 0.0f, "shift starts at 0");
    }
    char d[128];
    ad_nn_describe(m, d, sizeof d);
    cr_assert_str_eq(d, "3-4 tanh ln-5 relu-2 identity/mse f32");
    ad_nn_free(m);
}

/* ---- training mode */

Test(nn_options, dropout_acts_only_in_training_mode_which_starts_off)
{
    ad_nn *m = model(AD_F64, 3, 16, 16, 0.5, false, AD_HEAD_IDENTITY, 2, 4);
    ad_nn *plain = model(AD_F64, 3, 16, 16, 0.0, false, AD_HEAD_IDENTITY, 2, 4);
    cr_assert(!ad_nn_training(m));
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){5, 3}, -1, 1, 8);
    ad_tensor ye = ad_nn_forward(m, x), yp = ad_nn_forward(plain, x);
    for (size_t i = 0; i < 10; i++)
        cr_assert_eq(ad_tensor_get(ye, i), ad_tensor_get(yp, i), "evaluation: no dropout");
    cr_assert(!ad_nn_set_training(m, true));
    cr_assert(ad_nn_training(m));
    ad_tensor yt = ad_nn_forward(m, x);
    size_t differ = 0;
    for (size_t i = 0; i < 10; i++)
        differ += ad_tensor_get(yt, i) != ad_tensor_get(yp, i);
    cr_assert_gt(differ, 5, "training: masks change the output");
    /* the same generator state gives the same masks */
    ad_nn_seed_dropout(m, 77);
    ad_tensor a = ad_nn_forward(m, x);
    ad_nn_seed_dropout(m, 77);
    ad_tensor b = ad_nn_forward(m, x);
    for (size_t i = 0; i < 10; i++)
        cr_assert_eq(ad_tensor_get(a, i), ad_tensor_get(b, i));
    cr_assert(ad_nn_set_training(m, false));
    cr_assert(!ad_nn_set_training(NULL, true) && !ad_nn_training(NULL));
    ad_tape_free(t);
    ad_nn_free(m), ad_nn_free(plain);
}

/* ad_nn_evaluate measures the model without dropout, and leaves its mode. */
Test(nn_options, evaluate_switches_dropout_off_and_restores_the_mode)
{
    ad_nn *m = model(AD_F32, 2, 8, 8, 0.5, true, AD_HEAD_IDENTITY, 1, 5);
    ad_nn *plain = model(AD_F32, 2, 8, 8, 0.0, true, AD_HEAD_IDENTITY, 1, 5);
    float x[20], y[10];
    for (int i = 0; i < 20; i++)
        x[i] = (float)sin(i);
    for (int i = 0; i < 10; i++)
        y[i] = (float)cos(i);
    ad_nn_data d = {10, 2, x, 1, y, NULL};
    ad_tape *t = ad_tape_new();
    double l1, l2, lp;
    ad_nn_set_training(m, true);
    cr_assert_eq(ad_nn_evaluate(m, t, &d, 3, &l1, NULL), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_nn_evaluate(m, t, &d, 3, &l2, NULL), AD_OK);
    cr_assert_eq(ad_nn_evaluate(plain, t, &d, 3, &lp, NULL), AD_OK);
    cr_assert(l1 == l2 && l1 == lp, "%g %g %g", l1, l2, lp);
    cr_assert(ad_nn_training(m), "the mode is restored");
    ad_tape_free(t);
    ad_nn_free(m), ad_nn_free(plain);
}

/* ---- the whole model against central differences: layer norm, dropout
 * (masks held fixed by reseeding) and a skip, in float64 */

static ad_tensor model_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)ps, (void)n;
    ad_nn *m = ctx;
    ad_nn_seed_dropout(m, 99);
    ad_tensor x = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){4, 3}, -1, 1, 12);
    static const int32_t labels[4] = {0, 2, 1, 2};
    return ad_nn_loss(m, ad_nn_forward(m, x), AD_TENSOR_NONE, labels);
}

Test(nn_options, gradient_of_a_model_with_layer_norm_and_dropout_matches_central_differences)
{
    ad_nn *m = model(AD_F64, 3, 6, 6, 0.3, true, AD_HEAD_SOFTMAX, 3, 6);
    ad_nn_set_training(m, true);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    /* gains away from 1 and shifts away from 0, so both matter */
    for (size_t k = 1; k <= 2; k++) {
        ad_param *const *l = ad_nn_layer_params(m, k, NULL);
        ad_param_uniform(l[2], 0.5, 1.5, 10 + k);
        ad_param_uniform(l[3], -0.5, 0.5, 20 + k);
    }
    ASSERT_GRADCHECK(model_graph, ps, np, m, NULL);
    ad_nn_free(m);
}

/* ---- weight decay per group */

/* SGD with zero gradients: each step is w -= lr wd w, so a parameter's
 * decay is read off how much it shrank. */
static double shrink_of(ad_param *p, const double *before)
{
    const float *v = ad_param_value(p);
    return (double)v[0] / before[0];
}

Test(nn_options, weights_and_vectors_decay_at_their_own_rates)
{
    ad_nn *m = model(AD_F32, 2, 4, 4, 0.0, true, AD_HEAD_IDENTITY, 1, 7);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t i = 0; i < np; i++) /* every value 0.5 */
        for (size_t j = 0; j < ad_param_numel(ps[i]); j++)
            ((float *)ad_param_value(ps[i]))[j] = 0.5f;
    ad_opt *o = opt_over(m, (ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.1, .weight_decay = 0.3});
    cr_assert_float_eq(ad_opt_decay(o, ps[0]), 0.3, 0, "the config's until a group is set");
    cr_assert_eq(ad_nn_set_decay(m, o, 0.5, 0.0), AD_OK, "%s", ad_last_error());
    double before[1] = {0.5};
    ad_opt_zero_grad(o);
    ad_opt_step(o);
    /* layer 1: W, b, gain, shift; layer 2: W, b, gain, shift; output W, b */
    const bool matrix[10] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0};
    cr_assert_eq(np, 10);
    for (size_t i = 0; i < np; i++)
        cr_assert_float_eq(shrink_of(ps[i], before), matrix[i] ? 1 - 0.1 * 0.5 : 1.0, 1e-7,
                           "parameter %zu", i);
    /* one decay per layer: layer 2's slice only */
    size_t n2;
    ad_param *const *l2 = ad_nn_layer_params(m, 2, &n2);
    cr_assert_eq(ad_nn_set_decay(m, o, 0, 0), AD_OK);
    cr_assert_eq(ad_opt_set_decay(o, l2, n2, 1.0), AD_OK, "%s", ad_last_error());
    double now[10];
    for (size_t i = 0; i < np; i++)
        now[i] = (double)((const float *)ad_param_value(ps[i]))[0];
    ad_opt_step(o);
    for (size_t i = 0; i < np; i++)
        cr_assert_float_eq(shrink_of(ps[i], &now[i]), i >= 4 && i < 8 ? 0.9 : 1.0, 1e-7,
                           "parameter %zu", i);
    cr_assert_float_eq(ad_opt_decay(o, l2[1]), 1.0, 0);
    ad_opt_free(o);
    ad_nn_free(m);
}

/* AdamW decays w itself: a group decay reaches it too. */
Test(nn_options, adamw_applies_the_group_decay_decoupled)
{
    ad_nn *m = model(AD_F64, 1, 2, 2, 0.0, false, AD_HEAD_IDENTITY, 1, 8);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = opt_over(m, (ad_opt_config){.kind = AD_OPT_ADAMW, .lr = 0.1});
    cr_assert_eq(ad_opt_set_decay(o, ps, 1, 2.0), AD_OK);
    double w0 = ((const double *)ad_param_value(ps[0]))[0];
    double b0 = ((const double *)ad_param_value(ps[1]))[0];
    ad_opt_zero_grad(o);
    ad_opt_step(o);
    cr_assert_float_eq(((const double *)ad_param_value(ps[0]))[0], w0 * (1 - 0.1 * 2.0), 1e-15);
    cr_assert_eq(((const double *)ad_param_value(ps[1]))[0], b0);
    ad_opt_free(o);
    ad_nn_free(m);
}

Test(nn_options, bad_decay_groups_are_refused_and_change_nothing)
{
    ad_nn *m = model(AD_F32, 2, 3, 3, 0.0, false, AD_HEAD_IDENTITY, 1, 9);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = opt_over(m, (ad_opt_config){.weight_decay = 0.25});
    ad_param *foreign = ad_param_new(AD_F32, 1, (size_t[]){3});
    ad_param *two[2] = {ps[0], foreign};
    cr_assert_eq(ad_opt_set_decay(o, two, 2, 0.5), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(),
                     "ad_opt_set_decay: ps[1] is not one of the optimizer's parameters");
    cr_assert_float_eq(ad_opt_decay(o, ps[0]), 0.25, 0, "nothing changed");
    cr_assert(isnan(ad_opt_decay(o, foreign)) && isnan(ad_opt_decay(NULL, ps[0])));
    const double bad[] = {-1.0, (double)NAN, (double)INFINITY};
    const char *says[] = {"ad_opt_set_decay: wd is -1; it must be finite and >= 0",
                          "ad_opt_set_decay: wd is nan;", "ad_opt_set_decay: wd is inf;"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(ad_opt_set_decay(o, ps, 1, bad[i]), AD_ERR_INVALID);
        cr_assert(strstr(ad_last_error(), says[i]) == ad_last_error(), "%s", ad_last_error());
    }
    cr_assert_eq(ad_opt_set_decay(NULL, ps, 1, 0.1), AD_ERR_INVALID);
    cr_assert_eq(ad_opt_set_decay(o, NULL, 1, 0.1), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_opt_set_decay: ps is NULL");
    cr_assert_eq(ad_opt_set_decay(o, NULL, 0, 0.1), AD_OK, "an empty group");
    cr_assert_eq(ad_nn_set_decay(m, o, 0.1, (double)NAN), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_nn_set_decay: others is nan; it must be finite and >= 0");
    cr_assert_eq(ad_nn_set_decay(NULL, o, 0.1, 0.1), AD_ERR_INVALID);
    /* an optimizer over the weights alone does not cover the model */
    ad_opt *w_only = ad_opt_new(&(ad_opt_config){0}, ps, 1);
    cr_assert_eq(ad_nn_set_decay(m, w_only, 0.1, 0.0), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_nn_set_decay: the optimizer does not update the "
                                      "model's parameter 1 (layer 1 bias)") != NULL,
              "%s", ad_last_error());
    cr_assert_float_eq(ad_opt_decay(w_only, ps[0]), 0.0, 0, "nothing changed");
    ad_opt_free(w_only);
    ad_param_free(foreign);
    ad_opt_free(o);
    ad_nn_free(m);
}

/* The training guard bounds a step by the largest decay of any group: a
 * group decay that blows the weights up is caught and undone like any
 * other overflowing step, and the model keeps finite weights. Layer 1's
 * weights grow 1e10-fold a step (lr wd = 1e10) while its tanh saturates,
 * so their gradient stays finite (0) and only the step can see the
 * overflow, at the fourth step: a guard that bounded steps by
 * cfg.weight_decay (0) alone would wave the later steps through. */
Test(nn_options, the_training_guard_covers_group_decays)
{
    ad_nn *m = model(AD_F32, 2, 4, 4, 0.0, false, AD_HEAD_IDENTITY, 1, 10);
    ad_opt *o = opt_over(m, (ad_opt_config){.kind = AD_OPT_SGD, .lr = 1.0});
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    cr_assert_eq(ad_opt_set_decay(o, &ps[0], 1, 1e10), AD_OK);
    float x[16], y[8];
    for (int i = 0; i < 16; i++)
        x[i] = 0.5f + 0.25f * (float)sin(i);
    for (int i = 0; i < 8; i++)
        y[i] = 0.0f;
    ad_nn_data d = {8, 2, x, 1, y, NULL};
    ad_nn_train_opts to = {.epochs = 5, .batch_size = 2, .quiet = true, .no_shuffle = true};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, NULL), AD_ERR_NUMERIC);
    cr_assert(strstr(ad_last_error(), "ad_nn_train: epoch 1, batch 4: the optimizer's step made "
                                      "parameter 0 (layer 1 weights)") != NULL,
              "%s", ad_last_error());
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < ad_param_numel(ps[i]); j++)
            cr_assert(isfinite(((const float *)ad_param_value(ps[i]))[j]), "param %zu[%zu]", i, j);
    ad_opt_free(o);
    ad_nn_free(m);
}

/* ---- early stopping */

enum { ES_N = 32 };
static float es_x[ES_N], es_up[ES_N], es_down[ES_N];

/* train: y = x; validation: y = -x. Fitting the one moves away from the
 * other, so the validation loss bottoms out early. */
static void es_data(ad_nn_data *train, ad_nn_data *val)
{
    for (int i = 0; i < ES_N; i++) {
        es_x[i] = (float)i / ES_N * 2 - 1;
        es_up[i] = es_x[i];
        es_down[i] = -es_x[i];
    }
    *train = (ad_nn_data){ES_N, 1, es_x, 1, es_up, NULL};
    *val = (ad_nn_data){ES_N, 1, es_x, 1, es_down, NULL};
}

static ad_nn *es_model(void)
{
    return model(AD_F32, 1, 8, 8, 0.0, false, AD_HEAD_IDENTITY, 1, 11);
}

static ad_status es_train(ad_nn *m, size_t epochs, size_t patience, const ad_nn_data *val,
                          ad_nn_history *h)
{
    ad_nn_data train, v;
    es_data(&train, &v);
    ad_opt *o = opt_over(m, (ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.01});
    ad_nn_train_opts to = {
        .epochs = epochs, .batch_size = 8, .seed = 2, .quiet = true, .patience = patience};
    ad_status st = ad_nn_train(m, o, &train, val ? val : &v, &to, h);
    ad_opt_free(o);
    return st;
}

Test(nn_options, early_stopping_restores_the_best_epoch_and_reports_it)
{
    ad_nn *m = es_model();
    ad_nn_history h = {0};
    cr_assert_eq(es_train(m, 200, 3, NULL, &h), AD_OK, "%s", ad_last_error());
    cr_assert(h.stopped_early);
    cr_assert_geq(h.best_epoch, 1);
    cr_assert_eq(h.n, h.best_epoch + 3, "stopped 3 epochs after the best (%zu of %zu)",
                 h.best_epoch, h.n);
    for (size_t i = 0; i < h.n; i++)
        cr_assert_geq(h.val_loss[i], h.val_loss[h.best_epoch - 1]);
    /* the same run cut at the best epoch ends with the same parameters */
    ad_nn *ref = es_model();
    ad_nn_history hr = {0};
    cr_assert_eq(es_train(ref, h.best_epoch, 0, NULL, &hr), AD_OK);
    cr_assert(!hr.stopped_early && hr.best_epoch == 0, "off: nothing reported");
    cr_assert(params_equal(m, ref), "the best epoch's parameters are restored");
    ad_nn_history_free(&h), ad_nn_history_free(&hr);
    ad_nn_free(m), ad_nn_free(ref);
}

/* Validation on the training data keeps improving: the epochs run out
 * first, and the best (the last) is what the model keeps. */
Test(nn_options, early_stopping_without_a_stop_keeps_the_best_epoch)
{
    ad_nn_data train, val;
    es_data(&train, &val);
    ad_nn *m = es_model(), *ref = es_model();
    ad_nn_history h = {0};
    cr_assert_eq(es_train(m, 12, 50, &train, &h), AD_OK, "%s", ad_last_error());
    cr_assert(!h.stopped_early);
    cr_assert_eq(h.n, 12);
    size_t best = 1;
    for (size_t i = 1; i < h.n; i++)
        if (h.val_loss[i] < h.val_loss[best - 1]) best = i + 1;
    cr_assert_eq(h.best_epoch, best);
    cr_assert_eq(es_train(ref, best, 0, &train, NULL), AD_OK);
    cr_assert(params_equal(m, ref));
    ad_nn_history_free(&h);
    ad_nn_free(m), ad_nn_free(ref);
}

/* Unless quiet, the stop is told in one line after the epoch's own. */
Test(nn_options, early_stopping_prints_the_epoch_it_stopped_at_and_the_best,
     .init = cr_redirect_stderr)
{
    ad_nn_data train, val;
    es_data(&train, &val);
    ad_nn *m = es_model();
    ad_opt *o = opt_over(m, (ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.01});
    ad_nn_train_opts to = {.epochs = 200, .batch_size = 8, .seed = 2, .patience = 3, .name = "es"};
    ad_nn_history h = {0};
    cr_assert_eq(ad_nn_train(m, o, &train, &val, &to, &h), AD_OK, "%s", ad_last_error());
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    char line[512], last[512] = "", want[160];
    size_t lines = 0;
    while (fgets(line, sizeof line, f))
        strcpy(last, line), lines++;
    cr_assert_eq(lines, h.n + 1, "one line per epoch and the stop");
    snprintf(want, sizeof want,
             "es early stop at epoch %zu: best val loss %.4g at epoch %zu "
             "restored\n",
             h.n, h.val_loss[h.best_epoch - 1], h.best_epoch);
    cr_assert_str_eq(last, want);
    ad_nn_history_free(&h);
    ad_opt_free(o);
    ad_nn_free(m);
}

Test(nn_options, early_stopping_needs_validation_data_and_a_sane_min_delta)
{
    ad_nn_data train, val;
    es_data(&train, &val);
    ad_nn *m = es_model();
    ad_opt *o = opt_over(m, (ad_opt_config){0});
    ad_nn_train_opts to = {.epochs = 2, .quiet = true, .patience = 3};
    cr_assert_eq(ad_nn_train(m, o, &train, NULL, &to, NULL), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(),
                     "ad_nn_train: early stopping (patience 3) needs validation data");
    ad_nn_data empty = val;
    empty.n = 0;
    cr_assert_eq(ad_nn_train(m, o, &train, &empty, &to, NULL), AD_ERR_INVALID);
    const double bad[] = {-1.0, (double)NAN, (double)INFINITY};
    const char *says[] = {"ad_nn_train: min_delta is -1; it must be finite and >= 0",
                          "ad_nn_train: min_delta is nan;", "ad_nn_train: min_delta is inf;"};
    for (size_t i = 0; i < 3; i++) {
        to.min_delta = bad[i];
        cr_assert_eq(ad_nn_train(m, o, &train, &val, &to, NULL), AD_ERR_INVALID);
        cr_assert(strstr(ad_last_error(), says[i]) == ad_last_error(), "%s", ad_last_error());
    }
    cr_assert_eq(ad_opt_steps(o), 0, "refused before the first step");
    ad_opt_free(o);
    ad_nn_free(m);
}

/* ---- training with the options */

/* Masks come from (seed, epoch): 2 + 2 epochs equal 4 in one go. */
Test(nn_options, training_with_dropout_resumes_bit_exactly)
{
    ad_nn_data train, val;
    es_data(&train, &val);
    ad_nn *a = model(AD_F32, 1, 8, 8, 0.25, true, AD_HEAD_IDENTITY, 1, 12);
    ad_nn *b = model(AD_F32, 1, 8, 8, 0.25, true, AD_HEAD_IDENTITY, 1, 12);
    ad_opt *oa = opt_over(a, (ad_opt_config){.kind = AD_OPT_ADAM});
    ad_opt *ob = opt_over(b, (ad_opt_config){.kind = AD_OPT_ADAM});
    ad_nn_train_opts to = {.epochs = 4, .batch_size = 8, .seed = 5, .quiet = true};
    cr_assert_eq(ad_nn_train(a, oa, &train, NULL, &to, NULL), AD_OK, "%s", ad_last_error());
    to.epochs = 2;
    cr_assert_eq(ad_nn_train(b, ob, &train, NULL, &to, NULL), AD_OK);
    cr_assert(!params_equal(a, b));
    cr_assert_eq(ad_nn_train(b, ob, &train, NULL, &to, NULL), AD_OK);
    cr_assert(params_equal(a, b));
    cr_assert(!ad_nn_training(a), "the mode is restored after training");
    ad_opt_free(oa), ad_opt_free(ob);
    ad_nn_free(a), ad_nn_free(b);
}

/* Two Gaussian blobs, 2 classes: with dropout 0.2 and layer norm on both
 * layers, decay on the weights only, the model still separates them. */
Test(nn_options, a_regularised_model_trains_to_a_stated_accuracy)
{
    enum { N = 200 };
    static float x[2 * N];
    static int32_t lab[N];
    ad_rng r;
    ad_rng_seed(&r, 3);
    for (int i = 0; i < N; i++) {
        lab[i] = i % 2;
        x[2 * i] = (float)(ad_rng_normal(&r) * 0.7 + (lab[i] ? 1.5 : -1.5));
        x[2 * i + 1] = (float)(ad_rng_normal(&r) * 0.7 + (lab[i] ? -1.0 : 1.0));
    }
    ad_nn_data d = {N, 2, x, 0, NULL, lab};
    ad_nn *m = model(AD_F32, 2, 16, 16, 0.2, true, AD_HEAD_SOFTMAX, 2, 13);
    ad_opt *o = opt_over(m, (ad_opt_config){.kind = AD_OPT_ADAMW, .lr = 0.01});
    cr_assert_eq(ad_nn_set_decay(m, o, 0.01, 0.0), AD_OK);
    ad_nn_train_opts to = {.epochs = 30, .batch_size = 20, .seed = 1, .quiet = true};
    ad_nn_history h = {0};
    cr_assert_eq(ad_nn_train(m, o, &d, &d, &to, &h), AD_OK, "%s", ad_last_error());
    cr_assert_gt(h.val_acc[h.n - 1], 0.97, "accuracy %g", h.val_acc[h.n - 1]);
    cr_assert_lt(h.val_loss[h.n - 1], 0.15, "loss %g", h.val_loss[h.n - 1]);
    ad_nn_history_free(&h);
    ad_opt_free(o);
    ad_nn_free(m);
}

/* The NaN stop holds with the options on: epoch and batch named, no step
 * taken for the batch, the mode restored. */
Test(nn_options, a_nan_loss_stops_training_naming_epoch_and_batch_with_the_options_on)
{
    ad_nn_data train, val;
    es_data(&train, &val);
    static float xs[ES_N];
    memcpy(xs, es_x, sizeof xs);
    xs[13] = (float)NAN;
    train.x = xs;
    ad_nn *m = model(AD_F32, 1, 8, 8, 0.25, true, AD_HEAD_IDENTITY, 1, 14);
    ad_opt *o = opt_over(m, (ad_opt_config){0});
    ad_nn_train_opts to = {
        .epochs = 3, .batch_size = 8, .no_shuffle = true, .quiet = true, .patience = 2};
    cr_assert_eq(ad_nn_train(m, o, &train, &val, &to, NULL), AD_ERR_NUMERIC);
    cr_assert_str_eq(ad_last_error(), "ad_nn_train: epoch 1, batch 2: the loss is nan: sample "
                                      "13's input has nan at feature 0");
    cr_assert_eq(ad_opt_steps(o), 1, "the batch before it stepped, it did not");
    cr_assert(!ad_nn_training(m));
    ad_opt_free(o);
    ad_nn_free(m);
}

/* Layer norm's parameters are saved and loaded with the rest, and a model
 * without it (another description) is refused. */
Test(nn_options, a_model_with_layer_norm_saves_and_loads)
{
    ad_nn *a = model(AD_F32, 2, 4, 4, 0.1, true, AD_HEAD_IDENTITY, 1, 15);
    ad_nn *b = model(AD_F32, 2, 4, 4, 0.0, true, AD_HEAD_IDENTITY, 1, 16);
    ad_nn *c = model(AD_F32, 2, 4, 4, 0.1, false, AD_HEAD_IDENTITY, 1, 15);
    ad_param_uniform(ad_nn_layer_params(a, 1, NULL)[2], 0, 1, 3);
    char path[64];
    strcpy(path, "/tmp/adtape_nn_opts_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(ad_nn_save(path, a, NULL), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_nn_load(path, b, NULL), AD_OK, "%s", ad_last_error());
    cr_assert(params_equal(a, b));
    cr_assert_eq(ad_nn_load(path, c, NULL), AD_ERR_FORMAT);
    unlink(path);
    ad_nn_free(a), ad_nn_free(b), ad_nn_free(c);
}

/* Out of memory: every allocation the options add is checked, reported as
 * AD_ERR_NOMEM naming the function, and leaves nothing behind. */
Test(nn_options, the_options_report_out_of_memory_and_leak_nothing)
{
    ad_nn_data train, val;
    es_data(&train, &val);
    size_t live = ad_debug_live_allocs();
    for (long k = 0; k < 40; k++) {
        ad_nn *m = model(AD_F32, 1, 4, 4, 0.25, true, AD_HEAD_IDENTITY, 1, 17);
        ad_opt *o = opt_over(m, (ad_opt_config){.kind = AD_OPT_ADAM});
        ad_debug_fail_alloc_after(k);
        ad_status s1 = ad_nn_set_decay(m, o, 0.1, 0.0);
        const char *why1 = s1 == AD_ERR_NOMEM ? "ad_nn_set_decay: out of memory" : "";
        if (s1 != AD_OK) cr_assert_str_eq(ad_last_error(), why1, "k %ld", k);
        ad_nn_train_opts to = {.epochs = 2, .batch_size = 8, .quiet = true, .patience = 1};
        ad_status s2 = ad_nn_train(m, o, &train, &val, &to, NULL);
        ad_debug_fail_alloc_after(-1);
        cr_assert(s2 == AD_OK || s2 == AD_ERR_NOMEM, "k %ld: %s", k, ad_last_error());
        if (s2 == AD_ERR_NOMEM)
            cr_assert(strstr(ad_last_error(), "ad_nn_train") == ad_last_error(), "%s",
                      ad_last_error());
        cr_assert(!ad_nn_training(m));
        ad_opt_free(o);
        ad_nn_free(m);
        cr_assert_eq(ad_debug_live_allocs(), live, "k %ld: a leak", k);
    }
}
