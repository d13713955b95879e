/* SPDX-License-Identifier: MIT
 * One training step of the char-RNN of examples/char_rnn.c at the size of
 * issue 19's target (GRU, hidden 256, sequence 64, batch 32, one-hot input
 * over the characters of the GPL-3 text, softmax cross-entropy, Adam), on 1
 * and 2 threads: the protocol of tests/bench/peers/torch_gru.py, which does
 * the same step with torch.nn.GRU. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include "adtape.h"
#include "adtape/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { T = 64, B = 32, H = 256, MAX_TEXT = 1 << 20 };

/* CPU time of the process (all threads), s: on a busy machine the figure
 * that the other programs' share of the cores moves least. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
enum { WARMUP = 5, MIN_STEPS = 10, MAX_STEPS = 500 };
#define TEXT_PATH "/usr/share/common-licenses/GPL-3"

typedef struct gru_bench {
    size_t V;
    ad_param *p[6]; /* w_ih [3H,V], w_hh [3H,H], b_ih, b_hh [3H], w_out [V,H], b_out [V] */
    ad_opt *opt;
    ad_tape *tape;
    float *x;        /* one-hot [T,B,V] */
    int32_t *labels; /* [T*B], row t*B + b: the character after x[t][b] */
} gru_bench;

/* The text's characters as indices 0..V-1 (sorted byte values), as the
 * peer script and the example number them. A missing file gives a
 * synthetic text, so the figure still measures the same shapes (V 76). */
static size_t load_text(unsigned char **text, size_t *vocab)
{
    unsigned char *buf = malloc(MAX_TEXT);
    if (!buf) return 0;
    size_t n = 0;
    FILE *f = fopen(TEXT_PATH, "rb");
    if (f) {
        n = fread(buf, 1, MAX_TEXT, f);
        fclose(f);
    } else {
        bench_note("rnn: %s not found; using a synthetic text of 76 characters", TEXT_PATH);
        for (n = 0; n < 35000; n++)
            buf[n] = (unsigned char)(32 + (n * 7 + n / 13) % 76);
    }
    int map[256];
    for (int c = 0; c < 256; c++)
        map[c] = 0;
    for (size_t i = 0; i < n; i++)
        map[buf[i]] = 1;
    size_t v = 0;
    for (int c = 0; c < 256; c++)
        map[c] = map[c] ? (int)v++ : -1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)map[buf[i]];
    *text = buf;
    *vocab = v;
    return n;
}

static void bench_free(gru_bench *g)
{
    for (int k = 0; k < 6; k++)
        ad_param_free(g->p[k]);
    ad_opt_free(g->opt);
    ad_tape_free(g->tape);
    free(g->x);
    free(g->labels);
}

/* PyTorch's init for GRU and Linear: uniform(-1/sqrt(H), 1/sqrt(H)). */
static int bench_init(gru_bench *g)
{
    memset(g, 0, sizeof *g);
    unsigned char *text;
    size_t n = load_text(&text, &g->V);
    if (n < T + 2) return -1;
    size_t V = g->V, dims[6][2] = {{3 * H, V}, {3 * H, H}, {3 * H, 0}, {3 * H, 0}, {V, H}, {V, 0}};
    double k = 1.0 / sqrt((double)H);
    for (int i = 0; i < 6; i++) {
        g->p[i] = ad_param_new(AD_F32, dims[i][1] ? 2 : 1, dims[i]);
        if (!g->p[i]) return -1;
        ad_param_uniform(g->p[i], -k, k, 300 + (uint64_t)i);
    }
    ad_opt_config oc = {.kind = AD_OPT_ADAM, .lr = 2e-3};
    g->opt = ad_opt_new(&oc, g->p, 6);
    g->tape = ad_tape_new();
    g->x = calloc((size_t)T * B * V, sizeof *g->x);
    g->labels = malloc((size_t)T * B * sizeof *g->labels);
    if (!g->opt || !g->tape || !g->x || !g->labels) {
        free(text);
        return -1;
    }
    ad_rng r;
    ad_rng_seed(&r, 42);
    for (size_t b = 0; b < B; b++) {
        size_t off = (size_t)ad_rng_below(&r, n - T - 1);
        for (size_t t = 0; t < T; t++) {
            g->x[(t * B + b) * V + text[off + t]] = 1.0f;
            g->labels[t * B + b] = text[off + t + 1];
        }
    }
    free(text);
    return 0;
}

/* One step: forward, loss, backward, Adam. Forward and backward times into
 * fwd and bwd; returns the loss (NaN after a failure). */
static double bench_step(gru_bench *g, double *fwd, double *bwd)
{
    ad_tape *t = g->tape;
    size_t V = g->V;
    double t0 = bench_now();
    ad_tape_reset(t);
    ad_tensor x = ad_tensor_new(t, AD_F32, 3, (size_t[]){T, B, V}, g->x);
    ad_tensor h0 = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){B, H});
    ad_tensor w[6];
    for (int i = 0; i < 6; i++)
        w[i] = ad_param_use(t, g->p[i]);
    ad_tensor y = ad_gru(x, h0, w[0], w[1], w[2], w[3]);
    ad_tensor logits = ad_linear(ad_reshape(y, 2, (size_t[]){T * B, H}), w[4], w[5]);
    ad_tensor loss = ad_softmax_cross_entropy(logits, g->labels, T * B);
    double t1 = bench_now();
    if (ad_backward(loss) != AD_OK) {
        const char *msg;
        ad_tape_error(t, &msg);
        bench_fail("rnn.gru: %s", msg);
        return NAN;
    }
    double t2 = bench_now();
    ad_opt_step(g->opt);
    ad_opt_zero_grad(g->opt);
    *fwd = t1 - t0;
    *bwd = t2 - t1;
    return ad_tensor_get(loss, 0);
}

static int run_threads(gru_bench *g, int threads)
{
    ad_set_num_threads(threads);
    static double steps[MAX_STEPS], fwds[MAX_STEPS], bwds[MAX_STEPS], cpus[MAX_STEPS];
    double f, b, first = bench_step(g, &f, &b), last = first;
    for (int i = 1; i < WARMUP; i++)
        last = bench_step(g, &f, &b);
    size_t n = 0;
    double start = bench_now();
    while (n < MAX_STEPS && (n < MIN_STEPS || bench_now() - start < 2.0)) {
        double s0 = bench_now(), c0 = cpu_now();
        last = bench_step(g, &fwds[n], &bwds[n]);
        cpus[n] = cpu_now() - c0;
        steps[n++] = bench_now() - s0;
    }
    ad_set_num_threads(0);
    if (!(last < first)) { /* the same batch every step: the loss must fall */
        bench_fail("rnn.gru.t%d: loss did not fall (%g -> %g)", threads, first, last);
        return 1;
    }
    char name[64];
    snprintf(name, sizeof name, "rnn.gru.t%d.step_ms", threads);
    bench_emit(name, 1e3 * bench_median(steps, n), "ms");
    snprintf(name, sizeof name, "rnn.gru.t%d.step_cpu_ms", threads);
    bench_emit(name, 1e3 * bench_median(cpus, n), "ms");
    snprintf(name, sizeof name, "rnn.gru.t%d.fwd_ms", threads);
    bench_emit(name, 1e3 * bench_median(fwds, n), "ms");
    snprintf(name, sizeof name, "rnn.gru.t%d.bwd_ms", threads);
    bench_emit(name, 1e3 * bench_median(bwds, n), "ms");
    bench_note("rnn.gru.t%d: %zu steps (T %d, B %d, H %d, V %zu), loss %.4f -> %.4f", threads, n, T,
               B, H, g->V, first, last);
    return 0;
}

int bench_rnn(void)
{
    gru_bench g;
    int bad = 0;
    if (bench_init(&g) != 0) {
        bench_fail("rnn: out of memory or no text");
        bad = 1;
    } else {
        bad |= run_threads(&g, 1);
        bad |= run_threads(&g, 2);
    }
    bench_free(&g);
    return bad;
}
