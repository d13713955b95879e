/* SPDX-License-Identifier: MIT
 * ad_nn_train and ad_lm_train through an ad_nn_dist, without MPI: a
 * transport of one rank changes nothing (same bits as no transport) and is
 * called once per step, weight 1; its verdicts stop training; rank 1 of 2
 * prints nothing; an incomplete one is refused. The distributed runs
 * themselves are tested under mpirun (tests/mpi, make MPI=1 test-mpi). */
#include "adtape/nn.h"

#include "common.h"

#include <criterion/redirect.h>

#include <string.h>

typedef struct fake {
    size_t begins, ends, sums, announced;
    double weight_min, weight_max;
    ad_status fail_at_end; /* returned by step_end number 3 */
} fake;

static void announced(ad_param *p, void *user)
{
    (void)p;
    ((fake *)user)->announced++;
}

static ad_status begin(void *ctx, ad_tape *t, double weight)
{
    fake *f = ctx;
    f->begins++;
    f->weight_min = f->begins == 1 || weight < f->weight_min ? weight : f->weight_min;
    f->weight_max = f->begins == 1 || weight > f->weight_max ? weight : f->weight_max;
    ad_tape_set_grad_ready(t, announced, f); /* as a transport that overlaps would */
    return AD_OK;
}

static ad_status end(void *ctx, ad_status local)
{
    fake *f = ctx;
    if (++f->ends == 3 && f->fail_at_end != AD_OK) {
        ad_set_last_error("fake_transport: rank 1 of 2: the link went down");
        return f->fail_at_end;
    }
    return local;
}

static ad_status sum(void *ctx, double *buf, size_t n, ad_status local)
{
    (void)buf, (void)n;
    ((fake *)ctx)->sums++;
    return local;
}

static float xs[40 * 2];
static int32_t ys[40];

static ad_nn *model(void)
{
    static const ad_nn_layer_spec h[] = {{8, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec s = {
        .inputs = 2, .n_hidden = 1, .hidden = h, .outputs = 2, .head = AD_HEAD_SOFTMAX, .seed = 4};
    for (size_t i = 0; i < 40; i++) {
        xs[2 * i] = (float)i / 40.0f - 0.5f;
        xs[2 * i + 1] = (float)((i * 7) % 11) / 11.0f - 0.5f;
        ys[i] = xs[2 * i] + xs[2 * i + 1] > 0;
    }
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m);
    return m;
}

static ad_status train(ad_nn *m, const ad_nn_dist *d, bool quiet)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.01}, ps, np);
    ad_nn_data data = {.n = 40, .in = 2, .x = xs, .labels = ys};
    ad_nn_train_opts to = {.epochs = 2, .batch_size = 16, .seed = 1, .quiet = quiet, .dist = d};
    ad_status st = ad_nn_train(m, o, &data, &data, &to, NULL);
    ad_opt_free(o);
    return st;
}

static bool same_weights(ad_nn *a, ad_nn *b)
{
    size_t np;
    ad_param *const *pa = ad_nn_params(a, &np);
    ad_param *const *pb = ad_nn_params(b, &np);
    for (size_t k = 0; k < np; k++)
        if (memcmp(ad_param_value(pa[k]), ad_param_value(pb[k]),
                   ad_param_numel(pa[k]) * sizeof(float)) != 0)
            return false;
    return true;
}

Test(nn_dist, one_rank_trains_bit_for_bit_as_no_transport_with_one_call_per_step)
{
    fake f = {0};
    ad_nn_dist d = {0, 1, &f, begin, end, sum};
    ad_nn *a = model(), *b = model();
    cr_assert_eq(train(a, NULL, true), AD_OK, "%s", ad_last_error());
    cr_assert_eq(train(b, &d, true), AD_OK, "%s", ad_last_error());
    cr_assert(same_weights(a, b));
    /* 40 rows in batches of 16: 3 steps per epoch, 2 epochs */
    cr_assert_eq(f.begins, 6);
    cr_assert_eq(f.ends, 6);
    cr_assert_eq(f.weight_min, 1.0);
    cr_assert_eq(f.weight_max, 1.0);
    cr_assert_eq(f.announced, 6 * 4, "each of 4 parameters per step: %zu", f.announced);
    cr_assert_geq(f.sums, 2 + 2 * 2, "agreements, epoch and validation sums: %zu", f.sums);
    ad_nn_free(a);
    ad_nn_free(b);
}

Test(nn_dist, a_failure_the_transport_reports_stops_training_with_its_message)
{
    fake f = {.fail_at_end = AD_ERR_NUMERIC};
    ad_nn_dist d = {0, 1, &f, begin, end, sum};
    ad_nn *m = model();
    cr_assert_eq(train(m, &d, true), AD_ERR_NUMERIC);
    cr_assert_str_eq(ad_last_error(), "fake_transport: rank 1 of 2: the link went down");
    cr_assert_eq(f.begins, 3, "no step after the failed one");
    ad_nn_free(m);
}

Test(nn_dist, rank_1_prints_no_progress_line, .init = cr_redirect_stderr)
{
    fake f = {0};
    ad_nn_dist d = {1, 2, &f, begin, end, sum};
    ad_nn *m = model();
    cr_assert_eq(train(m, &d, false), AD_OK, "%s", ad_last_error());
    /* rank 1 of 2 takes the second half of every batch */
    cr_assert_eq(f.weight_min, 0.5);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
    ad_nn_free(m);
}

Test(nn_dist, an_incomplete_transport_is_refused)
{
    ad_nn_dist d = {2, 2, NULL, begin, end, sum};
    ad_nn *m = model();
    cr_assert_eq(train(m, &d, true), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_nn_train: opts->dist is incomplete (rank 2 of 2"), "%s",
              ad_last_error());
    ad_nn_dist e = {0, 1, NULL, begin, NULL, sum};
    cr_assert_eq(train(m, &e, true), AD_ERR_INVALID);
    ad_nn_free(m);
}

Test(nn_dist, levenberg_marquardt_on_one_rank_fits_as_without_transport)
{
    static float x[21], y[21];
    for (size_t i = 0; i < 21; i++) {
        x[i] = (float)i / 10.0f - 1.0f;
        y[i] = x[i] * x[i];
    }
    static const ad_nn_layer_spec h[] = {{4, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec s = {.inputs = 1, .n_hidden = 1, .hidden = h, .outputs = 1, .seed = 3};
    ad_nn *a = ad_nn_new(&s), *b = ad_nn_new(&s);
    ad_nn_data data = {.n = 21, .in = 1, .x = x, .out = 1, .y = y};
    fake f = {0};
    ad_nn_dist d = {0, 1, &f, begin, end, sum};
    ad_lm_opts o = {.epochs = 5, .quiet = true};
    cr_assert_eq(ad_lm_train(a, &data, &o, NULL), AD_OK, "%s", ad_last_error());
    o.dist = &d;
    cr_assert_eq(ad_lm_train(b, &data, &o, NULL), AD_OK, "%s", ad_last_error());
    cr_assert(same_weights(a, b));
    cr_assert_geq(f.sums, 1 + 5 * 2, "normal equations and trial losses: %zu", f.sums);
    ad_nn_free(a);
    ad_nn_free(b);
}
