/* SPDX-License-Identifier: MIT
 * Training on non-finite values (issue 17, item 3): ad_nn_train and
 * ad_lm_train stop at the first NaN or Inf in a loss, gradient, step or
 * residual with AD_ERR_NUMERIC, say where (epoch, batch, sample or op), and
 * leave the model with the parameters of the last finite step. */
#include "adtape/nn.h"

#include "common.h"

#include <criterion/redirect.h>

#include <float.h>
#include <math.h>
#include <stdio.h>

enum { N = 8 };
static const float clean_x[2 * N] = {0,    0,    0,    1,    1,    0,    1,    1,
                                     0.5f, 0.2f, 0.1f, 0.9f, 0.7f, 0.3f, 0.4f, 0.6f};
static const float clean_y[N] = {0, 1, 1, 0, 1, 0, 1, 0};

/* 2-4 tanh-1 logistic, float32 */
static ad_nn *small_model(void)
{
    static const ad_nn_layer_spec h[] = {{4, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 2,
                                       .n_hidden = 1,
                                       .hidden = h,
                                       .outputs = 1,
                                       .head = AD_HEAD_LOGISTIC,
                                       .seed = 3});
    cr_assert_not_null(m, "%s", ad_last_error());
    return m;
}

/* 1 -> 1 identity head (one linear layer), mse, of the given dtype */
static ad_nn *line_model(ad_dtype dt)
{
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 1, .dtype = dt, .seed = 5});
    cr_assert_not_null(m, "%s", ad_last_error());
    return m;
}

static ad_opt *opt_for(const ad_nn *m, ad_opt_config c)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&c, ps, np);
    cr_assert_not_null(o, "%s", ad_last_error());
    return o;
}

static size_t bytes_of(const ad_param *p)
{
    return ad_param_numel(p) * (ad_param_dtype(p) == AD_F32 ? sizeof(float) : sizeof(double));
}

/* The same values, bit for bit, in two lists of parameters. */
static void assert_same_params(ad_param *const *a, ad_param *const *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(ad_param_value(a[i]), ad_param_value(b[i]), bytes_of(a[i])) == 0,
                  "%s %zu differs", what, i);
}

static void assert_same_model(const ad_nn *a, const ad_nn *b)
{
    size_t n;
    ad_param *const *pa = ad_nn_params(a, &n), *const *pb = ad_nn_params(b, NULL);
    assert_same_params(pa, pb, n, "parameter");
}

static void assert_finite_model(const ad_nn *m)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < ad_param_numel(ps[i]); j++) {
            double v = ad_param_dtype(ps[i]) == AD_F32
                           ? (double)((const float *)ad_param_value(ps[i]))[j]
                           : ((const double *)ad_param_value(ps[i]))[j];
            cr_assert(isfinite(v), "parameter %zu element %zu is %g", i, j, v);
        }
}

static void assert_says(const char *needle)
{
    cr_assert(strstr(ad_last_error(), needle), "message \"%s\" lacks \"%s\"", ad_last_error(),
              needle);
}

/* Epoch 1 on clean data, then epoch 2 on data with a NaN in sample 5
 * (batch 3 of 4 in order): the model must be the one trained on epoch 1 and
 * the first two batches of epoch 2, Adam's state included. */
Test(nn_numeric, nan_in_the_inputs_stops_at_its_batch_naming_epoch_batch_and_sample)
{
    ad_nn_data clean = {N, 2, clean_x, 1, clean_y, NULL};
    float bad_x[2 * N];
    memcpy(bad_x, clean_x, sizeof bad_x);
    bad_x[2 * 5 + 1] = NAN;
    ad_nn_data bad = {N, 2, bad_x, 1, clean_y, NULL};
    ad_nn_train_opts to = {.epochs = 1, .batch_size = 2, .no_shuffle = true, .quiet = true};
    ad_opt_config oc = {.kind = AD_OPT_ADAM, .lr = 0.05};

    ad_nn *m = small_model();
    ad_opt *o = opt_for(m, oc);
    cr_assert_eq(ad_nn_train(m, o, &clean, NULL, &to, NULL), AD_OK, "%s", ad_last_error());
    to.epochs = 3;
    cr_assert_eq(ad_nn_train(m, o, &bad, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 2, batch 3: the loss is nan");
    assert_says("sample 5's input has nan at feature 1");
    cr_assert_eq(ad_opt_epoch(o), 1, "the failed epoch is not counted");

    ad_nn *ref = small_model();
    ad_opt *ro = opt_for(ref, oc);
    to.epochs = 1;
    cr_assert_eq(ad_nn_train(ref, ro, &clean, NULL, &to, NULL), AD_OK);
    ad_nn_data first4 = {4, 2, clean_x, 1, clean_y, NULL};
    cr_assert_eq(ad_nn_train(ref, ro, &first4, NULL, &to, NULL), AD_OK);
    assert_same_model(m, ref);
    cr_assert_eq(ad_opt_steps(o), 6);
    cr_assert_eq(ad_opt_steps(ro), 6);
    size_t ns;
    ad_param *const *so = ad_opt_state(o, &ns);
    ad_param *const *sr = ad_opt_state(ro, NULL);
    assert_same_params(so + 1, sr + 1, ns - 1, "moment"); /* [0]: counters (epochs differ) */
    /* no gradient is left behind for a step by hand */
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < ad_param_numel(ps[i]); j++)
            cr_assert_eq(((const float *)ad_param_grad(ps[i]))[j], 0.0f);
    ad_opt_free(o), ad_opt_free(ro);
    ad_nn_free(m), ad_nn_free(ref);
}

/* Shuffled: the batch is where the shuffle put the sample; the sample is
 * named by its index in the data. tanh(-inf) is finite, so the loss is; the
 * gradient (0 x inf) is not. */
Test(nn_numeric, a_shuffled_nan_sample_is_named_by_its_index_in_the_data)
{
    float bad_x[2 * N];
    memcpy(bad_x, clean_x, sizeof bad_x);
    bad_x[2 * 6] = -INFINITY;
    ad_nn_data bad = {N, 2, bad_x, 1, clean_y, NULL};
    size_t perm[N], pos = N;
    ad_nn_shuffle(perm, N, 11, 0);
    for (size_t i = 0; i < N; i++)
        if (perm[i] == 6) pos = i;
    ad_nn *m = small_model();
    ad_opt *o = opt_for(m, (ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.1});
    ad_nn_train_opts to = {.epochs = 2, .batch_size = 2, .seed = 11, .quiet = true};
    cr_assert_eq(ad_nn_train(m, o, &bad, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    char want[96];
    snprintf(want, sizeof want, "ad_nn_train: epoch 1, batch %zu: the gradient of ", pos / 2 + 1);
    assert_says(want);
    assert_says("sample 6's input has -inf at feature 0");
    cr_assert_eq(ad_opt_steps(o), pos / 2);
    assert_finite_model(m);
    ad_opt_free(o);
    ad_nn_free(m);
}

static const float line_x[6] = {-1, -0.5f, 0, 0.5f, 1, 1.5f};
static const float line_y[6] = {-2, -1, 0, 1, 2, 3};

Test(nn_numeric, inf_in_the_targets_stops_training_naming_the_sample)
{
    float bad_y[6];
    memcpy(bad_y, line_y, sizeof bad_y);
    bad_y[4] = INFINITY;
    ad_nn_data bad = {6, 1, line_x, 1, bad_y, NULL};
    ad_nn_train_opts to = {.epochs = 2, .batch_size = 3, .no_shuffle = true, .quiet = true};
    ad_opt_config oc = {.kind = AD_OPT_MOMENTUM, .lr = 0.1};
    ad_nn *m = line_model(AD_F32);
    ad_opt *o = opt_for(m, oc);
    cr_assert_eq(ad_nn_train(m, o, &bad, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1, batch 2: the loss is inf");
    assert_says("sample 4's target has inf at output 0");
    /* the model of the first batch's step */
    ad_nn *ref = line_model(AD_F32);
    ad_opt *ro = opt_for(ref, oc);
    ad_nn_data first3 = {3, 1, line_x, 1, line_y, NULL};
    to.epochs = 1;
    cr_assert_eq(ad_nn_train(ref, ro, &first3, NULL, &to, NULL), AD_OK);
    assert_same_model(m, ref);
    ad_opt_free(o), ad_opt_free(ro);
    ad_nn_free(m), ad_nn_free(ref);
}

/* Finite data, a learning rate that makes the weights grow until the loss
 * overflows float32: training stops there, and the model is the one of the
 * steps before, as a run told to stop one batch earlier leaves it. */
Test(nn_numeric, a_learning_rate_that_overflows_the_loss_stops_training)
{
    ad_nn_data d = {6, 1, line_x, 1, line_y, NULL};
    ad_nn_train_opts to = {.epochs = 200, .batch_size = 2, .no_shuffle = true, .quiet = true};
    ad_opt_config oc = {.kind = AD_OPT_SGD, .lr = 50};
    ad_nn *m = line_model(AD_F32);
    ad_opt *o = opt_for(m, oc);
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("the loss is inf");
    assert_says("not in the data or the parameters");
    size_t e = 0, k = 0;
    cr_assert_eq(sscanf(ad_last_error(), "ad_nn_train: epoch %zu, batch %zu:", &e, &k), 2, "%s",
                 ad_last_error());
    cr_assert_gt(e, 1);
    cr_assert_eq(ad_opt_steps(o), 3 * (e - 1) + (k - 1));
    assert_finite_model(m);
    ad_nn *ref = line_model(AD_F32);
    ad_opt *ro = opt_for(ref, oc);
    to.epochs = e - 1;
    cr_assert_eq(ad_nn_train(ref, ro, &d, NULL, &to, NULL), AD_OK, "%s", ad_last_error());
    if (k > 1) {
        ad_nn_data head = {2 * (k - 1), 1, line_x, 1, line_y, NULL};
        to.epochs = 1;
        cr_assert_eq(ad_nn_train(ref, ro, &head, NULL, &to, NULL), AD_OK, "%s", ad_last_error());
    }
    assert_same_model(m, ref);
    ad_opt_free(o), ad_opt_free(ro);
    ad_nn_free(m), ad_nn_free(ref);
}

/* A finite gradient times a learning rate near DBL_MAX: the step itself
 * overflows. It is undone: the parameters and the optimizer's counters are
 * those before it. */
Test(nn_numeric, a_step_that_overflows_a_parameter_is_undone)
{
    const float ys[2] = {100, -100}, xs[2] = {1, -1};
    ad_nn_data d = {2, 1, xs, 1, ys, NULL};
    ad_nn *m = line_model(AD_F64), *fresh = line_model(AD_F64);
    ad_opt *o = opt_for(m, (ad_opt_config){.kind = AD_OPT_SGD, .lr = 1e308});
    ad_nn_train_opts to = {.epochs = 1, .batch_size = 2, .quiet = true};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1, batch 1: the optimizer's step made parameter 0 (output "
                "layer weights) inf at element 0");
    assert_same_model(m, fresh);
    cr_assert_eq(ad_opt_steps(o), 0);
    ad_opt_free(o);
    ad_nn_free(m), ad_nn_free(fresh);
}

/* y = w x with w = 1e-20, x = 1e30: the loss (1e10)^2 is finite in float32,
 * its gradient 2e10 x 1e30 for w is not. */
Test(nn_numeric, a_gradient_that_overflows_stops_training_naming_the_parameter)
{
    ad_nn *m = line_model(AD_F32), *fresh = line_model(AD_F32);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (ad_nn *k = m; k; k = k == m ? fresh : NULL) {
        ad_param *const *kp = ad_nn_params(k, NULL);
        *(float *)ad_param_value(kp[0]) = 1e-20f;
        *(float *)ad_param_value(kp[1]) = 0.0f;
    }
    const float xs[1] = {1e30f}, ys[1] = {0};
    ad_nn_data d = {1, 1, xs, 1, ys, NULL};
    ad_opt *o = opt_for(m, (ad_opt_config){.kind = AD_OPT_SGD});
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &(ad_nn_train_opts){.quiet = true}, NULL),
                 AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1, batch 1: the gradient of parameter 0 (output layer "
                "weights) has inf at element 0");
    assert_same_model(m, fresh);
    cr_assert_eq(ad_opt_steps(o), 0);
    (void)ps;
    ad_opt_free(o);
    ad_nn_free(m), ad_nn_free(fresh);
}

/* A gradient of 1e22 is finite in float32; Adam's second moment
 * 0.001 g g is not. The parameter would stay finite (m / sqrt(inf) = 0) and
 * never move again: the step is undone and training stops. */
Test(nn_numeric, an_optimizer_state_that_overflows_is_undone_and_stops_training)
{
    ad_nn *m = line_model(AD_F32), *fresh = line_model(AD_F32);
    for (ad_nn *k = m; k; k = k == m ? fresh : NULL) {
        ad_param *const *kp = ad_nn_params(k, NULL);
        *(float *)ad_param_value(kp[0]) = 5e-13f;
        *(float *)ad_param_value(kp[1]) = 0.0f;
    }
    const float xs[1] = {1e17f}, ys[1] = {0};
    ad_nn_data d = {1, 1, xs, 1, ys, NULL};
    ad_opt *o = opt_for(m, (ad_opt_config){.kind = AD_OPT_ADAM});
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &(ad_nn_train_opts){.quiet = true}, NULL),
                 AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1, batch 1: the optimizer's step made its state 3 (of 5) inf "
                "at element 0");
    assert_same_model(m, fresh);
    cr_assert_eq(ad_opt_steps(o), 0);
    size_t ns;
    ad_param *const *st = ad_opt_state(o, &ns);
    for (size_t i = 1; i < ns; i++)
        cr_assert_eq(*(const float *)ad_param_value(st[i]), 0.0f, "state %zu", i);
    ad_opt_free(o);
    ad_nn_free(m), ad_nn_free(fresh);
}

/* A NaN in the validation data: the epoch's line and history entry show
 * it, and training stops with the model trained through that epoch. */
Test(nn_numeric, a_nan_validation_loss_is_printed_and_stops_training, .init = cr_redirect_stderr)
{
    ad_nn_data clean = {N, 2, clean_x, 1, clean_y, NULL};
    float bad_x[2 * N];
    memcpy(bad_x, clean_x, sizeof bad_x);
    bad_x[2 * 2] = NAN;
    ad_nn_data val = {N, 2, bad_x, 1, clean_y, NULL};
    ad_nn *m = small_model(), *ref = small_model();
    ad_opt_config oc = {.kind = AD_OPT_SGD, .lr = 0.1};
    ad_opt *o = opt_for(m, oc), *ro = opt_for(ref, oc);
    ad_nn_history h = {0};
    ad_nn_train_opts to = {.epochs = 3, .batch_size = 4, .seed = 2, .name = "valnan"};
    cr_assert_eq(ad_nn_train(m, o, &clean, &val, &to, &h), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1: the validation loss is nan");
    assert_says("validation sample 2's input has nan at feature 0");
    cr_assert_eq(h.n, 1);
    cr_assert(isnan(h.val_loss[0]));
    cr_assert(isfinite(h.train_loss[0]));
    cr_assert_eq(ad_opt_epoch(o), 1);
    to.epochs = 1;
    to.quiet = true;
    cr_assert_eq(ad_nn_train(ref, ro, &clean, NULL, &to, NULL), AD_OK);
    assert_same_model(m, ref);
    fflush(stderr);
    char line[512] = "";
    cr_assert_not_null(fgets(line, sizeof line, cr_get_redirected_stderr()));
    cr_assert(strncmp(line, "valnan epoch 1/3  loss ", 23) == 0, "line \"%s\"", line);
    cr_assert(strstr(line, "  val loss nan  "), "line \"%s\"", line);
    ad_nn_history_free(&h);
    ad_opt_free(o), ad_opt_free(ro);
    ad_nn_free(m), ad_nn_free(ref);
}

/* ad_nn_evaluate measures: a NaN in the data is a NaN loss, returned as
 * such (it changes nothing). */
Test(nn_numeric, evaluate_returns_a_nan_loss_for_nan_data)
{
    float bad_x[2 * N];
    memcpy(bad_x, clean_x, sizeof bad_x);
    bad_x[3] = NAN;
    ad_nn_data d = {N, 2, bad_x, 1, clean_y, NULL};
    ad_nn *m = small_model();
    ad_tape *t = ad_tape_new();
    double loss = 0, acc = 0;
    cr_assert_eq(ad_nn_evaluate(m, t, &d, 3, &loss, &acc), AD_OK, "%s", ad_last_error());
    cr_assert(isnan(loss));
    cr_assert(acc >= 0 && acc <= 1);
    ad_tape_free(t);
    ad_nn_free(m);
}

/* ---- Levenberg-Marquardt */

enum { LN = 20 };
static float lm_x[LN], lm_y[LN];

static ad_nn *lm_model(void)
{
    for (int i = 0; i < LN; i++) {
        lm_x[i] = -2.0f + 4.0f * (float)i / (LN - 1);
        lm_y[i] = sinf(lm_x[i]);
    }
    static const ad_nn_layer_spec h[] = {{4, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 1,
                                       .n_hidden = 1,
                                       .hidden = h,
                                       .outputs = 1,
                                       .loss = AD_LOSS_HALF_SSE,
                                       .dtype = AD_F64,
                                       .seed = 3});
    cr_assert_not_null(m);
    return m;
}

Test(nn_numeric, levenberg_marquardt_stops_at_a_nan_target_naming_the_sample)
{
    ad_nn *m = lm_model(), *fresh = lm_model();
    float ys[LN];
    memcpy(ys, lm_y, sizeof ys);
    ys[7] = NAN;
    ad_nn_data d = {LN, 1, lm_x, 1, ys, NULL};
    ad_lm_opts lo = {.epochs = 5, .quiet = true};
    cr_assert_eq(ad_lm_train(m, &d, &lo, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_lm_train: epoch 1: the residual of sample 7 (output 0) is nan: its target is "
                "nan");
    assert_same_model(m, fresh);
    ad_nn_free(m), ad_nn_free(fresh);
}

/* Clean data, then a NaN input appears: LM stops at once, and the model
 * keeps the weights it had reached. */
Test(nn_numeric, levenberg_marquardt_keeps_its_last_weights_when_the_data_turns_nan)
{
    ad_nn *m = lm_model(), *ref = lm_model();
    ad_nn_data d = {LN, 1, lm_x, 1, lm_y, NULL};
    ad_lm_opts lo = {.epochs = 3, .quiet = true};
    cr_assert_eq(ad_lm_train(m, &d, &lo, NULL), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_lm_train(ref, &d, &lo, NULL), AD_OK, "%s", ad_last_error());
    float xs[LN];
    memcpy(xs, lm_x, sizeof xs);
    xs[12] = NAN;
    ad_nn_data bad = {LN, 1, xs, 1, lm_y, NULL};
    cr_assert_eq(ad_lm_train(m, &bad, &lo, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_lm_train: epoch 1: the residual of sample 12 (output 0) is nan: its input has "
                "nan at feature 0");
    assert_same_model(m, ref);
    ad_nn_free(m), ad_nn_free(ref);
}

/* 1 -> 1 identity -> 1 with w2 = 1e300, x = 1e10: the residual is finite,
 * its derivative for w1 (w2 x = 1e310) is not. */
Test(nn_numeric, levenberg_marquardt_stops_at_an_infinite_jacobian)
{
    static const ad_nn_layer_spec h[] = {{1, AD_ACT_IDENTITY, 0, false, 0, false}};
    ad_nn_spec s = {.inputs = 1, .n_hidden = 1, .hidden = h, .outputs = 1, .dtype = AD_F64};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m);
    ad_param *const *ps = ad_nn_params(m, NULL); /* w1 b1 w2 b2 */
    const double v[4] = {0, 1e-300, 1e300, 0};
    for (int i = 0; i < 4; i++)
        *(double *)ad_param_value(ps[i]) = v[i];
    const float xs[1] = {1e10f}, ys[1] = {0};
    ad_nn_data d = {1, 1, xs, 1, ys, NULL};
    cr_assert_eq(ad_lm_train(m, &d, &(ad_lm_opts){.quiet = true}, NULL), AD_ERR_NUMERIC, "%s",
                 ad_last_error());
    assert_says("ad_lm_train: epoch 1: the Jacobian has inf at residual 0 (sample 0, output 0), "
                "weight 0 (parameter 0 (layer 1 weights), element 0)");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(*(const double *)ad_param_value(ps[i]), v[i]);
    ad_nn_free(m);
}

/* ---- anomaly mode names the op */

/* The overflowing run above, with opts.anomaly: it stops at the same batch,
 * with the same model, and the message names the op (the loss). */
Test(nn_numeric, the_anomaly_option_names_the_op_that_overflowed)
{
    ad_nn_data d = {6, 1, line_x, 1, line_y, NULL};
    ad_nn_train_opts to = {.epochs = 200, .batch_size = 2, .no_shuffle = true, .quiet = true};
    ad_opt_config oc = {.kind = AD_OPT_SGD, .lr = 50};
    ad_nn *m = line_model(AD_F32), *ref = line_model(AD_F32);
    ad_opt *o = opt_for(m, oc), *ro = opt_for(ref, oc);
    cr_assert_eq(ad_nn_train(ref, ro, &d, NULL, &to, NULL), AD_ERR_NUMERIC);
    char plain[256];
    snprintf(plain, sizeof plain, "%s", ad_last_error());
    to.anomaly = true;
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    size_t at = strcspn(plain, ":") + 1;
    at += strcspn(plain + at, ":"); /* "ad_nn_train: epoch E, batch K" */
    cr_assert(strncmp(ad_last_error(), plain, at) == 0, "\"%s\" vs \"%s\"", ad_last_error(), plain);
    assert_says("ad_mse_loss: anomaly in the forward sweep: op mse_loss (node ");
    assert_says(") produced inf at element 0");
    assert_same_model(m, ref);
    cr_assert_eq(ad_opt_steps(o), ad_opt_steps(ro));
    ad_opt_free(o), ad_opt_free(ro);
    ad_nn_free(m), ad_nn_free(ref);
}

/* With anomaly mode a NaN input fails at the batch's leaf; the message
 * still names the sample. Off again, the same call has no op to name. */
Test(nn_numeric, the_anomaly_option_names_the_leaf_and_the_sample_of_a_nan_input)
{
    float bad_x[2 * N];
    memcpy(bad_x, clean_x, sizeof bad_x);
    bad_x[2 * 3] = NAN;
    ad_nn_data bad = {N, 2, bad_x, 1, clean_y, NULL};
    ad_nn *m = small_model();
    ad_opt *o = opt_for(m, (ad_opt_config){0});
    ad_nn_train_opts to = {.batch_size = 4, .no_shuffle = true, .quiet = true, .anomaly = true};
    cr_assert_eq(ad_nn_train(m, o, &bad, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1, batch 1: ad_nn_gather: ad_tensor_new: anomaly in the "
                "forward sweep: constant (node 0, shape [4,2]) has nan at element 6 (sample 3's "
                "input has nan at feature 0)");
    /* and in the validation data */
    ad_nn_data clean = {N, 2, clean_x, 1, clean_y, NULL};
    cr_assert_eq(ad_nn_train(m, o, &clean, &bad, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1: ad_nn_evaluate: ad_nn_gather: ad_tensor_new: anomaly");
    assert_says("(validation sample 3's input has nan at feature 0)");
    ad_opt_free(o);
    ad_nn_free(m);
}

/* float32 y = 10 x at x = 1e38 overflows in the forward: LM names the
 * sample without anomaly mode, and the op with it. */
Test(nn_numeric, levenberg_marquardt_names_the_op_with_the_anomaly_option)
{
    ad_nn *m = line_model(AD_F32);
    ad_param *const *ps = ad_nn_params(m, NULL);
    *(float *)ad_param_value(ps[0]) = 10.0f;
    const float xs[2] = {1, 1e38f}, ys[2] = {0, 0};
    ad_nn_data d = {2, 1, xs, 1, ys, NULL};
    ad_lm_opts lo = {.quiet = true};
    cr_assert_eq(ad_lm_train(m, &d, &lo, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_lm_train: epoch 1: the residual of sample 1 (output 0) is inf: the network's "
                "output overflows (set opts.anomaly to name the op)");
    lo.anomaly = true;
    cr_assert_eq(ad_lm_train(m, &d, &lo, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_lm_train: epoch 1: ad_nn_forward: ad_linear: anomaly in the forward sweep: op "
                "linear (node ");
    cr_assert_eq(*(const float *)ad_param_value(ps[0]), 10.0f);
    ad_nn_free(m);
}

/* ---- whatever the optimizer and the scales, no NaN or Inf is kept */

static void assert_finite_params(ad_param *const *ps, size_t n, const char *what, const char *run)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ad_param_numel(ps[i]); j++) {
            double v = ad_param_dtype(ps[i]) == AD_F32
                           ? (double)((const float *)ad_param_value(ps[i]))[j]
                           : ((const double *)ad_param_value(ps[i]))[j];
            cr_assert(isfinite(v), "%s: %s %zu element %zu is %g", run, what, i, j, v);
        }
}

/* Every optimizer, learning rates up to near FLT_MAX, data up to 1e18:
 * training ends with AD_OK or AD_ERR_NUMERIC, and either way every weight
 * and every moment is finite. Most steps after the first are proved safe by
 * bounds instead of checked; this is the test of those bounds. */
Test(nn_numeric, no_optimizer_at_any_scale_leaves_a_non_finite_weight_or_moment)
{
    static const double lrs[] = {1e-2, 1e2, 1e8, 1e14, 1e20, 1e26, 1e30, 1e34, 3e38};
    static const float scales[] = {1, 1e10f, 1e18f};
    static const ad_nn_layer_spec h[] = {{3, AD_ACT_TANH, 0, false, 0, false}};
    for (int kind = 0; kind < AD_OPT_COUNT; kind++)
        for (size_t li = 0; li < sizeof lrs / sizeof lrs[0]; li++)
            for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
                float xs[6], ys[6];
                for (int i = 0; i < 6; i++)
                    xs[i] = line_x[i] * scales[si], ys[i] = line_y[i] * scales[si];
                ad_nn *m = ad_nn_new(&(ad_nn_spec){
                    .inputs = 1, .n_hidden = 1, .hidden = h, .outputs = 1, .seed = 7});
                ad_opt *o =
                    opt_for(m, (ad_opt_config){.kind = (ad_opt_kind)kind,
                                               .lr = lrs[li],
                                               .weight_decay = kind == AD_OPT_SGD ? 0 : 0.1});
                ad_nn_data d = {6, 1, xs, 1, ys, NULL};
                ad_nn_train_opts to = {.epochs = 4, .batch_size = 2, .seed = 1, .quiet = true};
                ad_status st = ad_nn_train(m, o, &d, NULL, &to, NULL);
                char run[96];
                snprintf(run, sizeof run, "kind %d, lr %g, scale %g", kind, lrs[li],
                         (double)scales[si]);
                cr_assert(st == AD_OK || st == AD_ERR_NUMERIC, "%s: %d %s", run, st,
                          ad_last_error());
                size_t np, ns;
                ad_param *const *ps = ad_nn_params(m, &np);
                ad_param *const *ss = ad_opt_state(o, &ns);
                assert_finite_params(ps, np, "parameter", run);
                assert_finite_params(ss, ns, "state", run);
                ad_opt_free(o);
                ad_nn_free(m);
            }
}

/* A model handed over with a NaN weight: the first loss is NaN, and the
 * message blames the weight, not the (finite) data. */
Test(nn_numeric, a_nan_weight_in_the_model_is_named_as_the_culprit)
{
    ad_nn *m = small_model();
    ad_param *const *ps = ad_nn_params(m, NULL); /* w1 b1 w2 b2 */
    ((float *)ad_param_value(ps[2]))[1] = NAN;
    ad_opt *o = opt_for(m, (ad_opt_config){0});
    ad_nn_data d = {N, 2, clean_x, 1, clean_y, NULL};
    ad_nn_train_opts to = {.batch_size = 4, .quiet = true};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1, batch 1: the loss is nan: parameter 2 (output layer "
                "weights) has nan at element 1");
    cr_assert_eq(ad_opt_steps(o), 0);
    ad_opt_free(o);
    ad_nn_free(m);
}

/* The same network at x = 1e5: every Jacobian entry is finite (w2 x =
 * 1e305), its square in J^T J is not. */
Test(nn_numeric, levenberg_marquardt_stops_when_the_normal_equations_overflow)
{
    static const ad_nn_layer_spec h[] = {{1, AD_ACT_IDENTITY, 0, false, 0, false}};
    ad_nn_spec s = {.inputs = 1, .n_hidden = 1, .hidden = h, .outputs = 1, .dtype = AD_F64};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m);
    ad_param *const *ps = ad_nn_params(m, NULL);
    const double v[4] = {0, 1e-300, 1e300, 0};
    for (int i = 0; i < 4; i++)
        *(double *)ad_param_value(ps[i]) = v[i];
    const float xs[1] = {1e5f}, ys[1] = {0};
    ad_nn_data d = {1, 1, xs, 1, ys, NULL};
    cr_assert_eq(ad_lm_train(m, &d, &(ad_lm_opts){.quiet = true}, NULL), AD_ERR_NUMERIC, "%s",
                 ad_last_error());
    assert_says("ad_lm_train: epoch 1: J^T J or J^T e overflows at weight 0");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(*(const double *)ad_param_value(ps[i]), v[i]);
    ad_nn_free(m);
}

/* A NaN with its sign bit set (x86's default NaN, and what valgrind makes
 * of a quiet one) used to print as "-nan"; the sign of a NaN means nothing,
 * so messages and progress lines say "nan" whatever it is. */
Test(nn_numeric, a_negative_nan_is_named_nan_in_messages)
{
    float bad_x[2 * N];
    memcpy(bad_x, clean_x, sizeof bad_x);
    bad_x[2 * 1] = -NAN;
    ad_nn_data bad = {N, 2, bad_x, 1, clean_y, NULL};
    ad_nn_train_opts to = {.epochs = 1, .batch_size = 2, .no_shuffle = true, .quiet = true};
    ad_nn *m = small_model();
    ad_opt *o = opt_for(m, (ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.05});
    cr_assert_eq(ad_nn_train(m, o, &bad, NULL, &to, NULL), AD_ERR_NUMERIC, "%s", ad_last_error());
    assert_says("ad_nn_train: epoch 1, batch 1: the loss is nan: sample 1's input has nan at "
                "feature 0");
    cr_assert(strstr(ad_last_error(), "-nan") == NULL, "%s", ad_last_error());
    ad_opt_free(o);
    ad_nn_free(m);
}
