/* SPDX-License-Identifier: MIT
 * MLP training steps and peak memory, with the protocol of the peer scripts
 * (../shared/peers/torch_bench.py): ReLU between layers, a fixed random
 * float32 batch, step = forward + loss + backward + plain SGD (lr 0.01),
 * 10 warm-up steps, then the median of at least 30 steps. Built from engine
 * ops (ad_linear_relu for hidden layers, ad_linear, losses) so it measures
 * the engine itself. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include "adtape.h"
#include "adtape/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    const char *name;
    size_t widths[4];
    size_t n_layers; /* linear layers */
    size_t batch;
    int ce; /* softmax cross-entropy, else mse */
} mlp_config;

static const mlp_config configs[] = {
    {"tiny", {2, 16, 16, 1}, 3, 4, 0},
    {"mnist", {784, 128, 10, 0}, 2, 64, 1},
    {"medium", {784, 256, 256, 10}, 3, 128, 1},
    {"large", {1024, 1024, 1024, 10}, 3, 256, 1},
};

typedef struct {
    const mlp_config *c;
    ad_param *w[3], *b[3];
    float *x, *y;
    int32_t *labels;
    ad_tape *tape;
} mlp;

/* PyTorch's nn.Linear default: uniform(-1/sqrt(in), 1/sqrt(in)) for both */
static int mlp_init(mlp *m, const mlp_config *c)
{
    memset(m, 0, sizeof *m);
    m->c = c;
    for (size_t l = 0; l < c->n_layers; l++) {
        size_t in = c->widths[l], out = c->widths[l + 1];
        double k = 1.0 / sqrt((double)in);
        m->w[l] = ad_param_new(AD_F32, 2, (size_t[]){out, in});
        m->b[l] = ad_param_new(AD_F32, 1, (size_t[]){out});
        if (!m->w[l] || !m->b[l]) return -1;
        ad_param_uniform(m->w[l], -k, k, 100 + l);
        ad_param_uniform(m->b[l], -k, k, 200 + l);
    }
    size_t in = c->widths[0], out = c->widths[c->n_layers];
    m->tape = ad_tape_new();
    ad_param *px = ad_param_new(AD_F32, 2, (size_t[]){c->batch, in});
    ad_param *py = ad_param_new(AD_F32, 2, (size_t[]){c->batch, out});
    m->x = malloc(c->batch * in * sizeof *m->x);
    m->y = malloc(c->batch * out * sizeof *m->y);
    m->labels = malloc(c->batch * sizeof *m->labels);
    if (!m->tape || !px || !py || !m->x || !m->y || !m->labels) return -1;
    ad_param_normal(px, 0, 1, 7);
    ad_param_normal(py, 0, 1, 8);
    memcpy(m->x, ad_param_value(px), c->batch * in * sizeof *m->x);
    memcpy(m->y, ad_param_value(py), c->batch * out * sizeof *m->y);
    for (size_t i = 0; i < c->batch; i++)
        m->labels[i] = (int32_t)((i * 7919u + 13u) % out);
    ad_param_free(px);
    ad_param_free(py);
    return 0;
}

static void mlp_free(mlp *m)
{
    for (size_t l = 0; l < 3; l++) {
        ad_param_free(m->w[l]);
        ad_param_free(m->b[l]);
    }
    free(m->x);
    free(m->y);
    free(m->labels);
    ad_tape_free(m->tape);
}

/* restrict: value and gradient never overlap, so the loop vectorises
 * without a run-time overlap check (which gcc -O2 will not emit) */
static void sgd(ad_param *p, float lr)
{
    float *restrict v = ad_param_value(p);
    float *restrict g = ad_param_grad(p);
    size_t n = ad_param_numel(p);
    for (size_t i = 0; i < n; i++) {
        v[i] -= lr * g[i];
        g[i] = 0.0f;
    }
}

/* One step; times of the forward (+loss) and the backward into fwd/bwd. */
static double mlp_step(mlp *m, double *fwd, double *bwd)
{
    const mlp_config *c = m->c;
    ad_tape *t = m->tape;
    double t0 = bench_now();
    ad_tape_reset(t);
    ad_tensor h = ad_tensor_new(t, AD_F32, 2, (size_t[]){c->batch, c->widths[0]}, m->x);
    for (size_t l = 0; l < c->n_layers; l++) {
        ad_tensor w = ad_param_use(t, m->w[l]), b = ad_param_use(t, m->b[l]);
        h = l + 1 < c->n_layers ? ad_linear_relu(h, w, b) : ad_linear(h, w, b);
    }
    ad_tensor loss;
    if (c->ce) {
        loss = ad_softmax_cross_entropy(h, m->labels, c->batch);
    } else {
        ad_tensor y =
            ad_tensor_new(t, AD_F32, 2, (size_t[]){c->batch, c->widths[c->n_layers]}, m->y);
        loss = ad_mse_loss(h, y);
    }
    double t1 = bench_now();
    if (ad_backward(loss) != AD_OK) {
        const char *msg;
        ad_tape_error(t, &msg);
        bench_fail("mlp.%s: %s", c->name, msg);
        return NAN;
    }
    double t2 = bench_now();
    for (size_t l = 0; l < c->n_layers; l++) {
        sgd(m->w[l], 0.01f);
        sgd(m->b[l], 0.01f);
    }
    *fwd = t1 - t0;
    *bwd = t2 - t1;
    return ad_tensor_get(loss, 0);
}

enum { WARMUP = 10, MIN_STEPS = 30, MAX_STEPS = 3000 };

static int run_config(const mlp_config *c, int threads)
{
    mlp m;
    if (mlp_init(&m, c) != 0) {
        bench_fail("mlp.%s: out of memory", c->name);
        mlp_free(&m);
        return 1;
    }
    ad_set_num_threads(threads);
    static double steps[MAX_STEPS], fwds[MAX_STEPS], bwds[MAX_STEPS];
    double f, b, first = mlp_step(&m, &f, &b), last = first;
    for (int i = 1; i < WARMUP; i++)
        last = mlp_step(&m, &f, &b);
    size_t n = 0;
    double start = bench_now();
    while (n < MAX_STEPS && (n < MIN_STEPS || bench_now() - start < 1.0)) {
        double s0 = bench_now();
        last = mlp_step(&m, &fwds[n], &bwds[n]);
        steps[n++] = bench_now() - s0;
    }
    int bad = 0;
    if (!(last < first)) {
        bench_fail("mlp.%s.t%d: loss did not fall (%g -> %g)", c->name, threads, first, last);
        bad = 1;
    } else {
        char name[64];
        snprintf(name, sizeof name, "mlp.%s.t%d.step_ms", c->name, threads);
        bench_emit(name, 1e3 * bench_median(steps, n), "ms");
        snprintf(name, sizeof name, "mlp.%s.t%d.fwd_ms", c->name, threads);
        bench_emit(name, 1e3 * bench_median(fwds, n), "ms");
        snprintf(name, sizeof name, "mlp.%s.t%d.bwd_ms", c->name, threads);
        bench_emit(name, 1e3 * bench_median(bwds, n), "ms");
        bench_note("mlp.%s.t%d: %zu steps, loss %.4f -> %.4f", c->name, threads, n, first, last);
    }
    ad_set_num_threads(0);
    mlp_free(&m);
    return bad;
}

/* The tiny net again, trained through the nn client (ad_nn_forward,
 * ad_nn_loss, ad_opt_step with plain SGD lr 0.01, ad_opt_zero_grad) from the
 * same weights and data: the gap to mlp.tiny.t1 is the client's overhead. */
static int run_nn_tiny(void)
{
    const mlp_config *c = &configs[0];
    mlp m;
    ad_nn *net = NULL;
    ad_opt *opt = NULL;
    int bad = 1;
    char err[256] = "out of memory";
    if (mlp_init(&m, c) != 0) goto done;
    ad_nn_layer_spec hidden[2] = {{.width = c->widths[1], .act = AD_ACT_RELU},
                                  {.width = c->widths[2], .act = AD_ACT_RELU}};
    ad_nn_spec spec = {.inputs = c->widths[0],
                       .n_hidden = 2,
                       .hidden = hidden,
                       .outputs = c->widths[3],
                       .head = AD_HEAD_IDENTITY,
                       .loss = AD_LOSS_MSE,
                       .dtype = AD_F32};
    if (!(net = ad_nn_new(&spec))) {
        snprintf(err, sizeof err, "%s", ad_last_error());
        goto done;
    }
    size_t np;
    ad_param *const *ps = ad_nn_params(net, &np);
    for (size_t l = 0; l < c->n_layers; l++) { /* order: w, b per layer */
        memcpy(ad_param_value(ps[2 * l]), ad_param_value(m.w[l]),
               ad_param_numel(m.w[l]) * sizeof(float));
        memcpy(ad_param_value(ps[2 * l + 1]), ad_param_value(m.b[l]),
               ad_param_numel(m.b[l]) * sizeof(float));
    }
    ad_opt_config oc = {.kind = AD_OPT_SGD, .lr = 0.01};
    if (!(opt = ad_opt_new(&oc, ps, np))) {
        snprintf(err, sizeof err, "%s", ad_last_error());
        goto done;
    }
    ad_set_num_threads(1);
    static double steps[MAX_STEPS];
    double first = NAN, last = NAN;
    size_t n = 0;
    double start = 0;
    for (int i = 0; i < WARMUP || n < MAX_STEPS; i++) {
        if (i == WARMUP) start = bench_now();
        if (i >= WARMUP && n >= MIN_STEPS && bench_now() - start >= 1.0) break;
        double s0 = bench_now();
        ad_tape_reset(m.tape);
        ad_tensor x = ad_tensor_new(m.tape, AD_F32, 2, (size_t[]){c->batch, c->widths[0]}, m.x);
        ad_tensor y = ad_tensor_new(m.tape, AD_F32, 2, (size_t[]){c->batch, c->widths[3]}, m.y);
        ad_tensor loss = ad_nn_loss(net, ad_nn_forward(net, x), y, NULL);
        if (ad_backward(loss) != AD_OK) {
            const char *msg;
            ad_tape_error(m.tape, &msg);
            snprintf(err, sizeof err, "%s", msg);
            goto done;
        }
        ad_opt_step(opt);
        ad_opt_zero_grad(opt);
        double s1 = bench_now();
        if (i >= WARMUP) steps[n++] = s1 - s0;
        last = ad_tensor_get(loss, 0);
        if (i == 0) first = last;
    }
    if (!(last < first)) {
        snprintf(err, sizeof err, "loss did not fall (%g -> %g)", first, last);
        goto done;
    }
    bench_emit("mlp.tiny_nn.t1.step_ms", 1e3 * bench_median(steps, n), "ms");
    bench_note("mlp.tiny_nn.t1: %zu steps, loss %.4f -> %.4f", n, first, last);
    bad = 0;
done:
    if (bad) bench_fail("mlp.tiny_nn: %s", err);
    ad_set_num_threads(0);
    ad_opt_free(opt);
    ad_nn_free(net);
    mlp_free(&m);
    return bad;
}

int bench_mlp(void)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        for (int threads = 1; threads <= 2; threads++)
            bad |= run_config(&configs[i], threads);
        if (i == 0) bad |= run_nn_tiny();
    }
    return bad;
}

/* The process's peak resident set in MiB. VmHWM belongs to the address
 * space, so it starts afresh at exec; ru_maxrss would carry over the peak of
 * the forked parent image (the earlier groups' buffers). */
static double peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf kB", &kib) == 1) break;
    if (f) fclose(f);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = (double)ru.ru_maxrss;
    }
    return kib / 1024.0;
}

/* Peak RSS of a fresh process that trains the large MLP for 20 steps (as the
 * peer script does), so earlier groups' buffers do not count. */
int bench_memory_child(void)
{
    mlp m;
    if (mlp_init(&m, &configs[3]) != 0) return 1;
    double f, b, first = mlp_step(&m, &f, &b), last = first;
    for (int i = 1; i < 20; i++)
        last = mlp_step(&m, &f, &b);
    mlp_free(&m);
    if (!(last < first)) {
        bench_fail("memory.large: loss did not fall (%g -> %g)", first, last);
        return 1;
    }
    bench_emit("memory.large.peak_rss_mib", peak_rss_mib(), "MiB");
    return 0;
}

int bench_memory(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        bench_fail("memory: fork failed");
        return 1;
    }
    if (pid == 0) {
        execl("/proc/self/exe", "bench", "memory-child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        bench_fail("memory: the measuring process failed");
        return 1;
    }
    return 0;
}
