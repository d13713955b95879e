/* SPDX-License-Identifier: MIT
 * make MPI=1 bench-mpi: data-parallel training steps of the large MLP
 * (1024-1024-1024-10 ReLU, softmax cross-entropy, float32, SGD) on a global
 * batch of 256 split over the ranks, with the gradients reduced in buckets
 * overlapped with the sweep, or by one blocking allreduce after it; the
 * compute alone, the loopback allreduce and its latency; and, with
 * --project FILE.svg, the scaling projection of a ring allreduce (printed
 * as a table and drawn). Lines are `name value unit` on rank 0's stdout;
 * tests/bench/mpi/bench_mpi.sh runs the configurations interleaved. */
#include "adtape.h"
#include "adtape/mpi.h"
#include "adtape/nn.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GLOBAL_BATCH = 256, IN = 1024, WARM = 5, STEPS = 20, MAXP = 256 };

static int rank, size;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void emit(const char *name, double v, const char *unit)
{
    if (rank == 0) printf("mpi.p%d.t%d.%s %.4g %s\n", size, ad_get_num_threads(), name, v, unit);
    fflush(stdout);
}

typedef enum { COMPUTE, OVERLAP, BLOCKING } mode;

typedef struct bench {
    ad_nn *m;
    ad_opt *o;
    ad_tape *t;
    float *x;
    int32_t *labels;
    size_t lo, n; /* this rank's rows */
    void *scratch;
    size_t len;
} bench;

/* One training step on this rank's rows; the time of the whole step. */
static double step(bench *b, mode md, ad_mpi_grads *g)
{
    double t0 = MPI_Wtime();
    ad_tape_reset(b->t);
    ad_opt_zero_grad(b->o);
    if (md == OVERLAP) ad_mpi_grads_attach(g, b->t, 1.0);
    ad_tensor x =
        ad_nn_gather(b->t, AD_F32, b->x + b->lo * IN, IN, NULL, b->n, &b->scratch, &b->len);
    ad_tensor l = ad_nn_loss(b->m, ad_nn_forward(b->m, x), AD_TENSOR_NONE, b->labels + b->lo);
    ad_status st = ad_backward(l);
    size_t np;
    ad_param *const *ps = ad_nn_params(b->m, &np);
    if (md == OVERLAP) st = ad_mpi_grads_finish(g, st);
    if (md == BLOCKING && st == AD_OK)
        st = ad_mpi_allreduce_grads(ps, np, MPI_COMM_WORLD, AD_MPI_AVERAGE);
    if (st != AD_OK) {
        fprintf(stderr, "bench_mpi: rank %d: %s\n", rank, ad_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    ad_opt_step(b->o);
    return MPI_Wtime() - t0;
}

/* The median step time (the slowest rank's); *fastest, when not NULL, the
 * fastest step: the least disturbed by other work on a shared machine. */
static double run(bench *b, mode md, ad_mpi_grads *g, double *fastest)
{
    double times[STEPS];
    for (int i = 0; i < WARM; i++)
        step(b, md, g);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < STEPS; i++)
        times[i] = step(b, md, g);
    double t[2] = {median(times, STEPS), times[0]}; /* sorted by median() */
    MPI_Allreduce(MPI_IN_PLACE, t, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (fastest) *fastest = t[1];
    return t[0];
}

/* The median time of a blocking allreduce of n floats; *fastest the
 * fastest of them (the one a busy machine disturbed least). */
static double allreduce_time(size_t n, double *fastest)
{
    float *buf = ad_alloc((n ? n : 1) * sizeof *buf);
    memset(buf, 0, n * sizeof *buf);
    double v[STEPS];
    for (int i = 0; i < STEPS + WARM; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (i >= WARM) v[i - WARM] = MPI_Wtime() - t0;
    }
    ad_free(buf);
    double t[2] = {median(v, STEPS), v[0]}; /* sorted by median() */
    MPI_Allreduce(MPI_IN_PLACE, t, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (fastest) *fastest = t[1];
    return t[0];
}

/* Ring allreduce of `bytes` over p ranks at bw bytes/s with per-message
 * latency lat: 2 (p-1)/p bytes/bw + 2 (p-1) lat. */
static double ring(double bytes, int p, double bw, double lat)
{
    return p == 1 ? 0.0 : 2.0 * (p - 1) / p * bytes / bw + 2.0 * (p - 1) * lat;
}

/* Per-rank batch b, compute ts per sample, the part of the reduction not
 * hidden (1 - overlap): efficiency of p ranks against p times one. */
static double efficiency(double ts, size_t b, double bytes, int p, double bw, double lat,
                         double hidden)
{
    double c = (double)b * ts;
    return c / (c + (1.0 - hidden) * ring(bytes, p, bw, lat));
}

/* The plot helper numbers its x axis in epochs; ours counts ranks. */
static void relabel(const char *path, const char *from, const char *to)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    if (!(f = fopen(path, "wb"))) return;
    for (char *p = text, *q; *p; p = q + strlen(from)) {
        q = strstr(p, from);
        if (!q) {
            fputs(p, f);
            break;
        }
        fwrite(p, 1, (size_t)(q - p), f);
        fputs(to, f);
    }
    fclose(f);
}

static void project(const char *svg, double ts, double bytes, double lat, double hidden)
{
    static const double gbit[2] = {10, 100};
    size_t b = GLOBAL_BATCH / 2; /* per rank, as measured */
    printf("# projection: per-rank batch %zu, %.3g us compute per sample, %.3g MB of gradients, "
           "latency %.3g us, %.0f%% of the reduction hidden by overlap\n",
           b, ts * 1e6, bytes / 1e6, lat * 1e6, 100 * hidden);
    printf("# %5s %14s %8s %14s %8s\n", "p", "10G samples/s", "eff", "100G samples/s", "eff");
    static double y[4][MAXP];
    for (int p = 1; p <= MAXP; p++)
        for (int k = 0; k < 2; k++) {
            double e = efficiency(ts, b, bytes, p, gbit[k] * 1e9 / 8, lat, hidden);
            y[k][p - 1] = 100 * e;
            y[2 + k][p - 1] = (double)p * e / ts; /* samples/s */
        }
    for (int p = 1; p <= MAXP; p *= 2)
        printf("# %5d %14.0f %7.1f%% %14.0f %7.1f%%\n", p, y[2][p - 1], y[0][p - 1], y[3][p - 1],
               y[1][p - 1]);
    /* which model and batch sizes keep 80 % at 64 ranks (compute and bytes
     * scale with the weights, from this model's measurements) */
    static const double scale[5] = {0.1, 1, 10, 100, 1000};
    static const size_t batches[4] = {16, 64, 256, 1024};
    printf("# efficiency at 64 ranks (10 Gbit/s / 100 Gbit/s); rows: weights, cols: per-rank "
           "batch\n#   weights");
    for (size_t j = 0; j < 4; j++)
        printf(" %13zu", batches[j]);
    printf("\n");
    for (size_t i = 0; i < 5; i++) {
        printf("# %9.3gM", bytes / 4 * scale[i] / 1e6);
        for (size_t j = 0; j < 4; j++)
            printf("   %4.0f%%/%4.0f%%",
                   100 * efficiency(ts * scale[i], batches[j], bytes * scale[i], 64, 1.25e9, lat,
                                    hidden),
                   100 * efficiency(ts * scale[i], batches[j], bytes * scale[i], 64, 12.5e9, lat,
                                    hidden));
        printf("\n");
    }
    if (!svg) return;
    ad_nn_series eff[2] = {{"10 Gbit/s", y[0], MAXP}, {"100 Gbit/s", y[1], MAXP}};
    ad_nn_series thr[2] = {{"10 Gbit/s", y[2], MAXP}, {"100 Gbit/s", y[3], MAXP}};
    ad_nn_panel panels[2] = {{"efficiency vs ranks (x: ranks)", "% of linear", eff, 2, false, true},
                             {"throughput vs ranks (x: ranks)", "samples/s", thr, 2, true, true}};
    if (ad_nn_plot_svg(svg, "1024-1024-1024-10 MLP, batch 128 per rank: ring allreduce model",
                       panels, 2) != AD_OK) {
        fprintf(stderr, "bench_mpi: %s\n", ad_last_error());
        return;
    }
    relabel(svg, "epoch (log scale)", "ranks (log scale)");
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *svg = NULL;
    bool proj = false;
    ad_mpi_opts mo = {0};
    double compute_us = 0, hidden_given = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--project") == 0) {
            proj = true;
            if (i + 1 < argc) svg = argv[++i];
        }
        if (strcmp(argv[i], "--bucket") == 0 && i + 1 < argc) /* bytes */
            mo.bucket_bytes = strtoul(argv[++i], NULL, 10);
        if (strcmp(argv[i], "--deterministic") == 0) mo.deterministic = true;
        /* the compute per sample for the projection, measured when the
         * machine was quiet (a shared machine's load inflates it) */
        if (strcmp(argv[i], "--compute-us") == 0 && i + 1 < argc)
            compute_us = strtod(argv[++i], NULL);
        /* and the share of the reduction the overlap hid (the measured
         * one moves a lot on a shared machine); default: as measured */
        if (strcmp(argv[i], "--hidden-percent") == 0 && i + 1 < argc)
            hidden_given = strtod(argv[++i], NULL);
    }
    static const ad_nn_layer_spec hidden[2] = {{1024, AD_ACT_RELU, 0, false, 0, false},
                                               {1024, AD_ACT_RELU, 0, false, 0, false}};
    ad_nn_spec spec = {.inputs = IN,
                       .n_hidden = 2,
                       .hidden = hidden,
                       .outputs = 10,
                       .head = AD_HEAD_SOFTMAX,
                       .seed = 1};
    bench b = {0};
    b.m = ad_nn_new(&spec);
    size_t np;
    ad_param *const *ps = ad_nn_params(b.m, &np);
    b.o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.01}, ps, np);
    b.t = ad_tape_new();
    b.x = ad_alloc(GLOBAL_BATCH * IN * sizeof *b.x);
    b.labels = ad_alloc(GLOBAL_BATCH * sizeof *b.labels);
    ad_rng r;
    ad_rng_seed(&r, 3);
    for (size_t i = 0; i < GLOBAL_BATCH * IN; i++)
        b.x[i] = (float)ad_rng_uniform(&r);
    for (size_t i = 0; i < GLOBAL_BATCH; i++)
        b.labels[i] = (int32_t)ad_rng_below(&r, 10);
    b.lo = GLOBAL_BATCH * (size_t)rank / (size_t)size;
    b.n = GLOBAL_BATCH * (size_t)(rank + 1) / (size_t)size - b.lo;
    ad_mpi_grads *g = ad_mpi_grads_new(ps, np, MPI_COMM_WORLD, &mo);
    double bytes = (double)ad_nn_param_count(b.m) * sizeof(float);

    double tc_min, tc = run(&b, COMPUTE, g, &tc_min); /* this rank's share, no communication */
    emit("compute_us_per_sample", 1e6 * tc / (double)b.n, "us");
    emit("compute_fastest_us_per_sample", 1e6 * tc_min / (double)b.n, "us");
    double to = run(&b, OVERLAP, g, NULL);
    ad_mpi_grads_stats s0 = ad_mpi_grads_stats_get(g);
    emit("overlap.samples_per_s", GLOBAL_BATCH / to, "samples/s");
    double wait = s0.wait_seconds / (double)s0.steps;
    emit("overlap.wait_ms_per_step", 1e3 * wait, "ms");
    emit("overlap.hook_ms_per_step", 1e3 * s0.hook_seconds / (double)s0.steps, "ms");
    emit("overlap.step_ms", 1e3 * to, "ms");
    if (size > 1) {
        double tb = run(&b, BLOCKING, g, NULL);
        emit("blocking.samples_per_s", GLOBAL_BATCH / tb, "samples/s");
        double ar = allreduce_time((size_t)(bytes / 4), NULL), lat1;
        allreduce_time(1, &lat1);
        double lat = lat1 / (2.0 * (size - 1)); /* per message of the ring */
        emit("allreduce_ms", 1e3 * ar, "ms");
        emit("latency_us", 1e6 * lat, "us");
        double hidden_part = ar > 0 ? 1.0 - wait / ar : 0.0;
        hidden_part = hidden_part < 0 ? 0 : hidden_part > 1 ? 1 : hidden_part;
        emit("overlap.hidden_percent", 100 * hidden_part, "%");
        if (hidden_given >= 0) hidden_part = hidden_given > 100 ? 1 : hidden_given / 100;
        if (proj && rank == 0)
            project(svg, compute_us > 0 ? 1e-6 * compute_us : tc_min / (double)b.n, bytes, lat,
                    hidden_part);
    }
    ad_mpi_grads_free(g);
    ad_free(b.scratch);
    ad_free(b.x);
    ad_free(b.labels);
    ad_tape_free(b.t);
    ad_opt_free(b.o);
    ad_nn_free(b.m);
    MPI_Finalize();
    return 0;
}
