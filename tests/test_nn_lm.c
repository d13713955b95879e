/* SPDX-License-Identifier: MIT
 * Levenberg-Marquardt: the Cholesky solver, and LM against SGD in epochs on
 * a small 1-D regression from the same initial weights. */
#include "adtape/nn.h"

#include "common.h"

#include <math.h>

Test(nn_lm, cholesky_solves_a_symmetric_positive_definite_system)
{
    /* A = [[4,2,0.4],[2,5,1],[0.4,1,3]], x = [1,-2,0.5] */
    double a[9] = {4, 2, 0.4, 2, 5, 1, 0.4, 1, 3}, x[3] = {1, -2, 0.5}, b[3];
    for (int i = 0; i < 3; i++)
        b[i] = a[3 * i] * x[0] + a[3 * i + 1] * x[1] + a[3 * i + 2] * x[2];
    cr_assert(ad_nn_cholesky_solve(a, b, 3));
    for (int i = 0; i < 3; i++)
        cr_assert_float_eq(b[i], x[i], 1e-13, "x[%d] = %g", i, b[i]);
    cr_assert_float_eq(a[0], 2.0, 1e-15); /* L00 = sqrt(4) */
}

Test(nn_lm, cholesky_refuses_an_indefinite_matrix)
{
    double a[4] = {1, 2, 2, 1}, b[2] = {1, 1};
    cr_assert_not(ad_nn_cholesky_solve(a, b, 2));
    double z[4] = {0, 0, 0, 0};
    cr_assert_not(ad_nn_cholesky_solve(z, b, 2));
    double nan[1] = {(double)NAN};
    cr_assert_not(ad_nn_cholesky_solve(nan, b, 1));
}

enum { N = 40 };
static float xs[N], ys[N];

static ad_nn *regression_model(void)
{
    for (int i = 0; i < N; i++) {
        xs[i] = -3.0f + 6.0f * (float)i / (N - 1);
        ys[i] = sinf(xs[i]) + 0.3f * cosf(2 * xs[i]);
    }
    static const ad_nn_layer_spec h[] = {{8, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec s = {.inputs = 1,
                    .n_hidden = 1,
                    .hidden = h,
                    .outputs = 1,
                    .loss = AD_LOSS_HALF_SSE,
                    .dtype = AD_F64,
                    .seed = 3};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m);
    return m;
}

Test(nn_lm, levenberg_marquardt_reaches_the_target_in_far_fewer_epochs_than_sgd)
{
    const double target = 1e-4; /* half-SSE per sample */
    ad_nn_data d = {N, 1, xs, 1, ys, NULL};
    ad_nn *lm = regression_model();
    ad_nn_history hl = {0};
    ad_lm_opts lo = {.epochs = 60, .target_loss = target, .quiet = true};
    cr_assert_eq(ad_lm_train(lm, &d, &lo, &hl), AD_OK, "%s", ad_last_error());
    cr_assert_leq(hl.train_loss[hl.n - 1], target, "LM stopped at %g after %zu epochs",
                  hl.train_loss[hl.n - 1], hl.n);
    size_t lm_epochs = hl.n;
    /* the loss never rises: rejected steps are undone */
    for (size_t i = 1; i < hl.n; i++)
        cr_assert_leq(hl.train_loss[i], hl.train_loss[i - 1]);

    ad_nn *sgd = regression_model(); /* the same initial weights */
    size_t np;
    ad_param *const *ps = ad_nn_params(sgd, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_MOMENTUM, .lr = 0.05}, ps, np);
    cr_assert_not_null(o, "%s", ad_last_error());
    ad_nn_history hs = {0};
    ad_nn_train_opts to = {
        .epochs = 100 * lm_epochs, .batch_size = N, .no_shuffle = true, .quiet = true};
    cr_assert_eq(ad_nn_train(sgd, o, &d, NULL, &to, &hs), AD_OK, "%s", ad_last_error());
    double best = (double)INFINITY;
    for (size_t i = 0; i < hs.n; i++)
        best = hs.train_loss[i] < best ? hs.train_loss[i] : best;
    cr_assert_gt(best, target, "SGD with momentum reached %g within %zu epochs; LM needed %zu",
                 best, hs.n, lm_epochs);
    cr_assert_leq(lm_epochs, 40, "LM needed %zu epochs", lm_epochs);
    cr_assert_lt(hs.train_loss[hs.n - 1], hs.train_loss[0]); /* SGD did learn, only slower */
    ad_nn_history_free(&hl);
    ad_nn_history_free(&hs);
    ad_opt_free(o);
    ad_nn_free(lm);
    ad_nn_free(sgd);
}

Test(nn_lm, refuses_a_classification_head)
{
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 2, .head = AD_HEAD_SOFTMAX});
    ad_nn_data d = {1, 1, (float[]){0}, 0, NULL, (int32_t[]){0}};
    cr_assert_eq(ad_lm_train(m, &d, NULL, NULL), AD_ERR_INVALID);
    ad_nn_free(m);
    m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 1, .head = AD_HEAD_LOGISTIC});
    d = (ad_nn_data){1, 1, (float[]){0}, 1, (float[]){1}, NULL};
    cr_assert_eq(ad_lm_train(m, &d, NULL, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_lm_train: needs an identity head"), "%s",
              ad_last_error());
    ad_nn_free(m);
}

Test(nn_lm, cholesky_refuses_null_matrices)
{
    double a[1] = {4}, b[1] = {2};
    cr_assert_not(ad_nn_cholesky_solve(NULL, b, 1));
    cr_assert_not(ad_nn_cholesky_solve(a, NULL, 1));
    cr_assert(ad_nn_cholesky_solve(NULL, NULL, 0)); /* nothing to solve */
}

static void expect_lm_refused(ad_lm_opts o, const char *needle)
{
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 1, .seed = 1});
    ad_nn_data d = {2, 1, (float[]){0, 1}, 1, (float[]){1, 3}, NULL};
    o.quiet = true;
    cr_assert_eq(ad_lm_train(m, &d, &o, NULL), AD_ERR_INVALID, "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), needle), "message \"%s\" lacks \"%s\"", ad_last_error(),
              needle);
    ad_nn_free(m);
}

/* A negative mu or an infinite mu_max never leaves the damping loop; NaN
 * skips it, reporting success without a step. */
Test(nn_lm, refuses_nan_negative_or_infinite_damping_instead_of_hanging, .timeout = 20)
{
    expect_lm_refused((ad_lm_opts){.epochs = 2, .mu = -1}, "ad_lm_train: mu is -1");
    expect_lm_refused((ad_lm_opts){.epochs = 2, .mu = (double)NAN}, "ad_lm_train: mu is nan");
    expect_lm_refused((ad_lm_opts){.epochs = 2, .mu_max = HUGE_VAL}, "ad_lm_train: mu_max is inf");
    expect_lm_refused((ad_lm_opts){.epochs = 2, .mu_max = (double)NAN},
                      "ad_lm_train: mu_max is nan");
    expect_lm_refused((ad_lm_opts){.epochs = 2, .mu = 1, .mu_max = 0.5},
                      "ad_lm_train: mu_max is 0.5; it must be at least mu (1)");
    expect_lm_refused((ad_lm_opts){.epochs = 2, .target_loss = (double)NAN},
                      "ad_lm_train: target_loss is nan");
}

Test(nn_lm, refuses_a_residual_count_that_overflows)
{
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 2, .seed = 1});
    ad_nn_data d = {SIZE_MAX / 2 + 1, 1, (float[]){0}, 2, (float[]){1, 3}, NULL};
    cr_assert_eq(ad_lm_train(m, &d, &(ad_lm_opts){.quiet = true}, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_lm_train: 9223372036854775808 samples x 2 outputs"), "%s",
              ad_last_error());
    ad_nn_free(m);
}
