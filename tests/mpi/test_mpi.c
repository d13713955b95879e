/* SPDX-License-Identifier: MIT
 * The MPI module under mpirun (make MPI=1 test-mpi): blocking and bucketed
 * gradient reduction, broadcast, distributed gradients of scalar functions,
 * the deterministic ring, failures on one rank reported on all, and
 * ad_nn_train over ranks against one process with the same global batch
 * (the reference runs on MPI_COMM_SELF inside the same job). */
#include "mt.h"

#include "adtape.h"
#include "adtape/mpi.h"
#include "adtape/nn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static ad_param *param2(ad_dtype dt, size_t r, size_t c)
{
    size_t dims[2] = {r, c};
    ad_param *p = ad_param_new(dt, 2, dims);
    mt_assert(p, "ad_param_new");
    return p;
}

static double grad_at(ad_param *p, size_t i)
{
    const void *g = ad_param_grad(p);
    return ad_param_dtype(p) == AD_F32 ? (double)((const float *)g)[i] : ((const double *)g)[i];
}

static void set_grad(ad_param *p, size_t i, double v)
{
    void *g = ad_param_grad(p);
    if (ad_param_dtype(p) == AD_F32)
        ((float *)g)[i] = (float)v;
    else
        ((double *)g)[i] = v;
}

MT_TEST(mpi, allreduce_grads_averages_or_sums_every_element)
{
    ad_param *ps[2] = {param2(AD_F64, 3, 5), param2(AD_F32, 7, 1)};
    for (int op = 0; op < 2; op++) {
        for (size_t k = 0; k < 2; k++)
            for (size_t i = 0; i < ad_param_numel(ps[k]); i++)
                set_grad(ps[k], i, (double)(mt_rank + 1) * (double)(i + 1));
        mt_assert(ad_mpi_allreduce_grads(ps, 2, MPI_COMM_WORLD, (ad_mpi_op)op) == AD_OK, "%s",
                  ad_last_error());
        double s = mt_size * (mt_size + 1) / 2.0; /* sum of rank + 1 */
        double f = op == AD_MPI_AVERAGE ? s / mt_size : s;
        for (size_t k = 0; k < 2; k++)
            for (size_t i = 0; i < ad_param_numel(ps[k]); i++)
                mt_assert(fabs(grad_at(ps[k], i) - f * (double)(i + 1)) <=
                              1e-6 * f * (double)(i + 1),
                          "op %d param %zu [%zu]: %g, expected %g", op, k, i, grad_at(ps[k], i),
                          f * (double)(i + 1));
    }
    ad_param_free(ps[0]);
    ad_param_free(ps[1]);
}

MT_TEST(mpi, broadcast_params_gives_every_rank_the_roots_values)
{
    ad_param *p = param2(AD_F64, 4, 4);
    ad_param_uniform(p, -1, 1, (uint64_t)mt_rank + 7); /* different on every rank */
    int root = mt_size - 1;
    mt_assert(ad_mpi_broadcast_params(&p, 1, root, MPI_COMM_WORLD) == AD_OK, "%s", ad_last_error());
    ad_param *q = param2(AD_F64, 4, 4);
    ad_param_uniform(q, -1, 1, (uint64_t)root + 7);
    mt_assert(memcmp(ad_param_value(p), ad_param_value(q), 16 * sizeof(double)) == 0,
              "rank %d does not hold root %d's values", mt_rank, root);
    /* a root out of range fails on every rank, before any message */
    mt_assert(ad_mpi_broadcast_params(&p, 1, mt_size, MPI_COMM_WORLD) == AD_ERR_INVALID, "root");
    mt_assert(strstr(ad_last_error(), "is not a rank"), "%s", ad_last_error());
    ad_param_free(p);
    ad_param_free(q);
}

MT_TEST(mpi, ranks_with_different_shapes_are_refused_on_every_rank)
{
    ad_param *p = param2(AD_F32, 2, mt_rank == 1 ? 4 : 3);
    ad_status st = ad_mpi_allreduce_grads(&p, 1, MPI_COMM_WORLD, AD_MPI_SUM);
    if (mt_size > 1) {
        mt_assert(st == AD_ERR_INVALID, "status %s", ad_status_name(st));
        mt_assert(strstr(ad_last_error(), "ad_mpi_allreduce_grads: the ranks pass different"), "%s",
                  ad_last_error());
    }
    ad_param_free(p);
}

MT_TEST(mpi, a_bad_argument_on_one_rank_fails_every_rank_with_that_rank_named)
{
    ad_param *p = param2(AD_F64, 2, 2);
    ad_param *list[1] = {mt_rank == mt_size - 1 ? NULL : p};
    ad_status st = ad_mpi_allreduce_grads(list, 1, MPI_COMM_WORLD, AD_MPI_SUM);
    char want[128];
    snprintf(want, sizeof want, "ad_mpi_allreduce_grads: rank %d of %d: parameter 0 is NULL",
             mt_size - 1, mt_size);
    mt_assert(st == AD_ERR_INVALID, "status %s", ad_status_name(st));
    mt_assert(strcmp(ad_last_error(), want) == 0, "'%s', wanted '%s'", ad_last_error(), want);
    ad_param_free(p);
}

/* f_r(x) = (r + 1) sum x_i^2: the sum over ranks is S sum x_i^2, S = p (p + 1) / 2 */
static ad_scalar part(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    int r = *(const int *)ctx;
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < n; i++)
        s = ad_add(s, ad_mul(x[i], x[i]));
    if (r < 0) ad_tape_set_error(t, AD_ERR_NUMERIC, "my_part: the model diverged");
    return ad_scale(s, (double)(r < 0 ? 1 : r + 1));
}

MT_TEST(mpi, gradient_of_a_sum_of_per_rank_functions)
{
    double x[3] = {0.5, -1.0, 2.0}, g[3];
    int r = mt_rank;
    ad_status st;
    double v = ad_mpi_gradient(part, 3, x, g, &r, MPI_COMM_WORLD, &st);
    double S = mt_size * (mt_size + 1) / 2.0;
    mt_assert(st == AD_OK, "%s", ad_last_error());
    mt_assert(fabs(v - S * 5.25) < 1e-12, "f = %g", v);
    for (size_t i = 0; i < 3; i++)
        mt_assert(fabs(g[i] - 2 * S * x[i]) < 1e-12, "grad[%zu] = %g", i, g[i]);
    /* the last rank's part fails: NaN and its message on every rank */
    r = mt_rank == mt_size - 1 ? -1 : mt_rank;
    v = ad_mpi_gradient(part, 3, x, g, &r, MPI_COMM_WORLD, &st);
    mt_assert(isnan(v) && st == AD_ERR_NUMERIC, "v %g status %s", v, ad_status_name(st));
    mt_assert(strstr(ad_last_error(), "the model diverged") && strstr(ad_last_error(), "rank "),
              "%s", ad_last_error());
}

/* ---- bucketed reduction */

static ad_nn *mlp(ad_dtype dt, uint64_t seed)
{
    static const ad_nn_layer_spec hidden[2] = {{12, AD_ACT_TANH, 0, false, 0, false},
                                               {9, AD_ACT_RELU, 0, false, 0, false}};
    ad_nn_spec s = {.inputs = 5,
                    .n_hidden = 2,
                    .hidden = hidden,
                    .outputs = 3,
                    .head = AD_HEAD_SOFTMAX,
                    .dtype = dt,
                    .seed = seed};
    ad_nn *m = ad_nn_new(&s);
    mt_assert(m, "ad_nn_new: %s", ad_last_error());
    return m;
}

enum { NSAMP = 60, NIN = 5 };
static float xs[NSAMP * NIN];
static int32_t ys[NSAMP];

static void make_data(void)
{
    ad_rng r;
    ad_rng_seed(&r, 42);
    for (size_t i = 0; i < NSAMP; i++) {
        double s = 0;
        for (size_t j = 0; j < NIN; j++) {
            xs[i * NIN + j] = (float)(2 * ad_rng_uniform(&r) - 1);
            s += (double)xs[i * NIN + j] * (double)(j + 1);
        }
        ys[i] = s > 0.5 ? 2 : s > -0.5 ? 1 : 0;
    }
}

/* This rank's loss on its own rows, swept (attach first when g given). */
static ad_status sweep_rank_rows(ad_nn *m, ad_tape *t, ad_mpi_grads *g)
{
    size_t lo = (size_t)mt_rank * 10, n = 10;
    ad_tape_reset(t);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t k = 0; k < np; k++)
        ad_param_zero_grad(ps[k]);
    if (g && ad_mpi_grads_attach(g, t, 1.0) != AD_OK) return AD_ERR_INVALID;
    void *scratch = NULL;
    size_t len = 0;
    ad_tensor x =
        ad_nn_gather(t, ad_nn_get_spec(m)->dtype, xs + lo * NIN, NIN, NULL, n, &scratch, &len);
    ad_status st = ad_backward(ad_nn_loss(m, ad_nn_forward(m, x), AD_TENSOR_NONE, ys + lo));
    ad_free(scratch);
    return st;
}

MT_TEST(grads, bucketed_overlapped_reduction_equals_the_blocking_allreduce)
{
    make_data();
    ad_nn *a = mlp(AD_F64, 3), *b = mlp(AD_F64, 3);
    size_t np;
    ad_param *const *pa = ad_nn_params(a, &np);
    ad_param *const *pb = ad_nn_params(b, &np);
    ad_tape *t = ad_tape_new();
    ad_mpi_opts o = {AD_MPI_AVERAGE, 64, false}; /* tiny buckets: several per step */
    ad_mpi_grads *g = ad_mpi_grads_new(pa, np, MPI_COMM_WORLD, &o);
    mt_assert(g, "%s", ad_last_error());
    for (int step = 0; step < 2; step++) {
        ad_status st = sweep_rank_rows(a, t, g);
        mt_assert(ad_mpi_grads_finish(g, st) == AD_OK, "%s", ad_last_error());
        mt_assert(sweep_rank_rows(b, t, NULL) == AD_OK, "sweep");
        mt_assert(ad_mpi_allreduce_grads(pb, np, MPI_COMM_WORLD, AD_MPI_AVERAGE) == AD_OK, "%s",
                  ad_last_error());
        for (size_t k = 0; k < np; k++)
            for (size_t i = 0; i < ad_param_numel(pa[k]); i++) {
                double u = grad_at(pa[k], i), v = grad_at(pb[k], i);
                mt_assert(fabs(u - v) <= 1e-14 * (fabs(v) + 1e-300), "param %zu [%zu]: %g vs %g", k,
                          i, u, v);
            }
    }
    ad_mpi_grads_stats s = ad_mpi_grads_stats_get(g);
    mt_assert(s.steps == 2 && s.buckets > 2, "steps %zu buckets %zu", s.steps, s.buckets);
    /* the sweep used every parameter: every bucket started before finish */
    mt_assert(s.early == 2 * s.buckets, "%zu of %zu buckets started in the sweeps", s.early,
              2 * s.buckets);
    ad_mpi_grads_free(g);
    ad_tape_free(t);
    ad_nn_free(a);
    ad_nn_free(b);
}

/* Two runs of the deterministic ring: the same bits, and every rank the
 * same bits as rank 0; sizes that do not divide by the rank count. */
MT_TEST(grads, deterministic_mode_is_bit_identical_across_runs_and_ranks_uneven)
{
    ad_param *ps[3] = {param2(AD_F32, 7, 3), param2(AD_F32, 1, 1), param2(AD_F64, 5, 2)};
    ad_mpi_opts o = {AD_MPI_AVERAGE, 32, true};
    unsigned char first[21 * 4 + 4 + 80];
    for (int run = 0; run < 2; run++) {
        ad_mpi_grads *g = ad_mpi_grads_new(ps, 3, MPI_COMM_WORLD, &o);
        mt_assert(g, "%s", ad_last_error());
        for (size_t k = 0; k < 3; k++) {
            ad_param_uniform(ps[k], -1, 1, 0); /* value only: gradients below */
            for (size_t i = 0; i < ad_param_numel(ps[k]); i++)
                set_grad(ps[k], i, sin((double)(mt_rank * 31 + (int)(k * 7 + i))) * 1e3 / 3.0);
        }
        mt_assert(ad_mpi_grads_finish(g, AD_OK) == AD_OK, "%s", ad_last_error());
        unsigned char now[sizeof first];
        memcpy(now, ad_param_grad(ps[0]), 84);
        memcpy(now + 84, ad_param_grad(ps[1]), 4);
        memcpy(now + 88, ad_param_grad(ps[2]), 80);
        if (run == 0) memcpy(first, now, sizeof now);
        mt_assert(memcmp(first, now, sizeof now) == 0, "run 2 differs from run 1");
        unsigned char root[sizeof first];
        memcpy(root, now, sizeof now);
        MPI_Bcast(root, (int)sizeof root, MPI_BYTE, 0, MPI_COMM_WORLD);
        mt_assert(memcmp(root, now, sizeof now) == 0, "rank %d differs from rank 0", mt_rank);
        /* and it is the mean: element 0 of the f64 parameter */
        double want = 0;
        for (int r = 0; r < mt_size; r++)
            want += sin((double)(r * 31 + 14)) * 1e3 / 3.0;
        want /= mt_size;
        mt_assert(fabs(grad_at(ps[2], 0) - want) < 1e-12, "%g vs %g", grad_at(ps[2], 0), want);
        ad_mpi_grads_free(g);
    }
    for (size_t k = 0; k < 3; k++)
        ad_param_free(ps[k]);
}

MT_TEST(grads, a_failed_sweep_on_one_rank_ends_the_step_on_every_rank_with_its_message)
{
    make_data();
    ad_nn *m = mlp(AD_F32, 1);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_tape *t = ad_tape_new();
    ad_mpi_grads *g = ad_mpi_grads_new(ps, np, MPI_COMM_WORLD, NULL);
    mt_assert(g, "%s", ad_last_error());
    ad_status st = sweep_rank_rows(m, t, g);
    if (mt_rank == mt_size - 1) { /* this rank's caller found a problem */
        ad_set_last_error("my_trainer: batch 3 holds a NaN");
        st = AD_ERR_NUMERIC;
    }
    st = ad_mpi_grads_finish(g, st);
    char want[128];
    snprintf(want, sizeof want, "my_trainer: rank %d of %d: batch 3 holds a NaN", mt_size - 1,
             mt_size);
    mt_assert(st == AD_ERR_NUMERIC, "status %s", ad_status_name(st));
    mt_assert(strcmp(ad_last_error(), want) == 0, "'%s'", ad_last_error());
    /* the next step works again */
    st = sweep_rank_rows(m, t, g);
    mt_assert(ad_mpi_grads_finish(g, st) == AD_OK, "%s", ad_last_error());
    ad_mpi_grads_free(g);
    ad_tape_free(t);
    ad_nn_free(m);
}

/* ---- ad_nn_train over ranks */

static ad_nn_data train_data(void)
{
    return (ad_nn_data){.n = NSAMP, .in = NIN, .x = xs, .labels = ys};
}

/* Trains a fresh model (seed 5) for epochs on comm (MPI_COMM_NULL: alone,
 * no dist), batch 16 (60 rows: a last batch of 12). */
static ad_nn *train_on(MPI_Comm comm, ad_dtype dt, size_t epochs, bool det, ad_status *st)
{
    ad_nn *m = mlp(dt, 5);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt_config c = {.kind = AD_OPT_ADAM, .lr = 0.01};
    ad_opt *o = ad_opt_new(&c, ps, np);
    ad_mpi_opts mo = {AD_MPI_SUM, 256, det};
    ad_nn_dist *d = comm == MPI_COMM_NULL ? NULL : ad_mpi_nn_dist_new(m, comm, &mo);
    ad_nn_train_opts to = {.epochs = epochs, .batch_size = 16, .seed = 9, .quiet = true, .dist = d};
    ad_nn_data data = train_data();
    *st = ad_nn_train(m, o, &data, &data, &to, NULL);
    ad_mpi_nn_dist_free(d);
    ad_opt_free(o);
    return m;
}

static double max_rel_diff(ad_nn *a, ad_nn *b)
{
    size_t np;
    ad_param *const *pa = ad_nn_params(a, &np);
    ad_param *const *pb = ad_nn_params(b, &np);
    double worst = 0;
    for (size_t k = 0; k < np; k++) {
        bool f32 = ad_param_dtype(pa[k]) == AD_F32;
        for (size_t i = 0; i < ad_param_numel(pa[k]); i++) {
            double u = f32 ? (double)((float *)ad_param_value(pa[k]))[i]
                           : ((double *)ad_param_value(pa[k]))[i];
            double v = f32 ? (double)((float *)ad_param_value(pb[k]))[i]
                           : ((double *)ad_param_value(pb[k]))[i];
            double d = fabs(u - v) / (fabs(v) > 1e-3 ? fabs(v) : 1e-3);
            if (!(d <= worst)) worst = d; /* NaN wins */
        }
    }
    return worst;
}

MT_TEST(nn, training_on_all_ranks_matches_one_process_f64_to_1e12_uneven)
{
    make_data();
    ad_status s1, s2;
    ad_nn *one = train_on(MPI_COMM_NULL, AD_F64, 3, false, &s1);
    ad_nn *all = train_on(MPI_COMM_WORLD, AD_F64, 3, false, &s2);
    mt_assert(s1 == AD_OK && s2 == AD_OK, "%s", ad_last_error());
    double d = max_rel_diff(all, one);
    mt_assert(d <= 1e-12, "largest relative difference %g", d);
    ad_nn_free(one);
    ad_nn_free(all);
}

MT_TEST(nn, training_on_all_ranks_matches_one_process_f32_to_1e5_over_5_epochs_uneven)
{
    make_data();
    ad_status s1, s2;
    ad_nn *one = train_on(MPI_COMM_NULL, AD_F32, 5, false, &s1);
    ad_nn *all = train_on(MPI_COMM_WORLD, AD_F32, 5, false, &s2);
    mt_assert(s1 == AD_OK && s2 == AD_OK, "%s", ad_last_error());
    double d = max_rel_diff(all, one);
    mt_assert(d <= 1e-5, "largest relative difference %g", d);
    ad_nn_free(one);
    ad_nn_free(all);
}

MT_TEST(nn, deterministic_training_is_bit_identical_across_two_runs_uneven)
{
    make_data();
    ad_status s1, s2;
    ad_nn *a = train_on(MPI_COMM_WORLD, AD_F32, 3, true, &s1);
    ad_nn *b = train_on(MPI_COMM_WORLD, AD_F32, 3, true, &s2);
    mt_assert(s1 == AD_OK && s2 == AD_OK, "%s", ad_last_error());
    mt_assert(max_rel_diff(a, b) == 0.0, "runs differ by %g", max_rel_diff(a, b));
    ad_nn_free(a);
    ad_nn_free(b);
}

MT_TEST(nn, a_rank_failing_mid_epoch_ends_every_rank_with_its_message)
{
    make_data();
    /* no shuffle: batch 2 is rows 16..31, and the last rank's share of it
     * holds row 30, whose input becomes NaN */
    float keep = xs[30 * NIN + 1];
    xs[30 * NIN + 1] = NAN;
    ad_nn *m = mlp(AD_F64, 5);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt_config c = {.kind = AD_OPT_SGD};
    ad_opt *o = ad_opt_new(&c, ps, np);
    ad_nn_dist *d = ad_mpi_nn_dist_new(m, MPI_COMM_WORLD, NULL);
    ad_nn_train_opts to = {
        .epochs = 2, .batch_size = 16, .no_shuffle = true, .quiet = true, .dist = d};
    ad_nn_data data = train_data();
    ad_status st = ad_nn_train(m, o, &data, NULL, &to, NULL);
    xs[30 * NIN + 1] = keep;
    char want[160];
    snprintf(want, sizeof want,
             "ad_nn_train: rank %d of %d: epoch 1, batch 2: the loss is nan: sample 30's input "
             "has nan at feature 1",
             mt_size - 1, mt_size);
    mt_assert(st == AD_ERR_NUMERIC, "status %s", ad_status_name(st));
    mt_assert(strcmp(ad_last_error(), want) == 0, "'%s'", ad_last_error());
    ad_mpi_nn_dist_free(d);
    ad_opt_free(o);
    ad_nn_free(m);
}

/* 2 epochs on all ranks, saved by rank 0; rank 0 alone loads it and trains
 * 2 more: the same weights as 4 epochs in one process. */
MT_TEST(nn, a_checkpoint_written_by_all_ranks_resumes_on_one)
{
    make_data();
    int pid = (int)getpid();
    MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
    char path[128];
    snprintf(path, sizeof path, "/tmp/adtape_mpi_ckpt_%d.adt", pid);
    ad_nn *m = mlp(AD_F64, 5);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt_config c = {.kind = AD_OPT_ADAM, .lr = 0.01};
    ad_opt *o = ad_opt_new(&c, ps, np);
    ad_nn_dist *d = ad_mpi_nn_dist_new(m, MPI_COMM_WORLD, NULL);
    ad_nn_train_opts to = {.epochs = 2, .batch_size = 16, .seed = 9, .quiet = true, .dist = d};
    ad_nn_data data = train_data();
    mt_assert(ad_nn_train(m, o, &data, NULL, &to, NULL) == AD_OK, "%s", ad_last_error());
    mt_assert(ad_mpi_nn_save(path, m, o, 0, MPI_COMM_WORLD) == AD_OK, "%s", ad_last_error());
    ad_mpi_nn_dist_free(d);
    ad_opt_free(o);
    ad_nn_free(m);
    if (mt_rank == 0) {
        ad_nn *r = mlp(AD_F64, 99); /* other weights: the load must replace them */
        ad_param *const *rs = ad_nn_params(r, &np);
        ad_opt *ro = ad_opt_new(&c, rs, np);
        mt_assert(ad_mpi_nn_load(path, r, ro, 0, MPI_COMM_SELF) == AD_OK, "%s", ad_last_error());
        mt_assert(ad_opt_epoch(ro) == 2, "epoch %llu", (unsigned long long)ad_opt_epoch(ro));
        ad_nn_dist *d1 = ad_mpi_nn_dist_new(r, MPI_COMM_SELF, NULL);
        ad_nn_train_opts t1 = to;
        t1.dist = d1;
        mt_assert(ad_nn_train(r, ro, &data, NULL, &t1, NULL) == AD_OK, "%s", ad_last_error());
        ad_status st;
        ad_nn *ref = train_on(MPI_COMM_NULL, AD_F64, 4, false, &st);
        mt_assert(st == AD_OK, "%s", ad_last_error());
        double diff = max_rel_diff(r, ref);
        mt_assert(diff <= 1e-12, "resumed run differs by %g", diff);
        ad_mpi_nn_dist_free(d1);
        ad_opt_free(ro);
        ad_nn_free(r);
        ad_nn_free(ref);
        remove(path);
    }
}

/* Levenberg-Marquardt with its normal equations summed over the ranks:
 * the same fit as one process, rows shared unevenly at 3 ranks. J^T J
 * summed per rank, then over ranks, differs from one process's sum in the
 * last bits, and the solve multiplies that by J^T J's condition number
 * (about 1e7 here at small mu): 1e-7 relative after 12 steps, where a
 * wrong share or a missed rank is off by more than 1e-2. */
static ad_nn *lm_fit(const ad_nn_dist *d, ad_status *st)
{
    enum { N = 41 };
    static float x[N], y[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)(-2.0 + 4.0 * (double)i / (N - 1));
        y[i] = (float)sin(1.5 * (double)x[i]);
    }
    static const ad_nn_layer_spec hidden[1] = {{6, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec s = {
        .inputs = 1, .n_hidden = 1, .hidden = hidden, .outputs = 1, .dtype = AD_F64, .seed = 2};
    ad_nn *m = ad_nn_new(&s);
    mt_assert(m, "%s", ad_last_error());
    ad_nn_data data = {.n = N, .in = 1, .x = x, .out = 1, .y = y};
    ad_lm_opts o = {.epochs = 12, .quiet = true, .dist = d};
    *st = ad_lm_train(m, &data, &o, NULL);
    return m;
}

MT_TEST(nn, levenberg_marquardt_on_all_ranks_matches_one_process_uneven)
{
    ad_status s1, s2;
    ad_nn *one = lm_fit(NULL, &s1);
    ad_nn *tmp = mlp(AD_F64, 1); /* any model: the dist needs one to size its reducer */
    ad_nn_dist *d = ad_mpi_nn_dist_new(tmp, MPI_COMM_WORLD, NULL);
    ad_nn *all = lm_fit(d, &s2);
    mt_assert(s1 == AD_OK && s2 == AD_OK, "%s", ad_last_error());
    double diff = max_rel_diff(all, one);
    mt_assert(diff <= 1e-7, "largest relative difference %g", diff);
    ad_mpi_nn_dist_free(d);
    ad_nn_free(tmp);
    ad_nn_free(one);
    ad_nn_free(all);
}
