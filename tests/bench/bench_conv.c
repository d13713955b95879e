/* SPDX-License-Identifier: MIT
 * Convolution figures with the protocol of the peer script
 * (../shared/peers/torch_second.py, parts conv2d and cnn): conv2d forward +
 * backward alone on 64x32x14x14 -> 64 channels, 3x3, padding 1, beside our
 * GEMM on the same three products without the unrolling; and a small CNN's
 * SGD step (conv 1->32, relu, maxpool 2, conv 32->64, relu, maxpool 2,
 * linear 1600->10, softmax CE; batch 64 of 28x28), on 1 and 2 threads. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include "adtape.h"
#include "kernels/gemm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WARMUP = 3, MIN_REPS = 20, MAX_REPS = 2000 };

/* 64 x 32 x 14 x 14 -> 64 channels, 3x3, padding 1 */
enum { CN = 64, CC = 32, CH = 14, COC = 64, CK = 3 };
#define CONV_FLOP (2.0 * CN * COC * CH * CH * CC * CK * CK) /* one product: 462 MFLOP */

static double time_median(double *v, size_t n)
{
    return 1e3 * bench_median(v, n);
}

/* A direct convolution of output element (n, o, i, j), for the self-check. */
static double direct(const float *x, const float *w, const float *b, size_t n, size_t o, size_t i,
                     size_t j)
{
    double s = b[o];
    for (size_t c = 0; c < CC; c++)
        for (size_t ki = 0; ki < CK; ki++)
            for (size_t kj = 0; kj < CK; kj++) {
                long ih = (long)(i + ki) - 1, iw = (long)(j + kj) - 1;
                if (ih < 0 || iw < 0 || ih >= CH || iw >= CH) continue;
                s += (double)x[((n * CC + c) * CH + (size_t)ih) * CH + (size_t)iw] *
                     (double)w[((o * CC + c) * CK + ki) * CK + kj];
            }
    return s;
}

static int conv_alone(int threads)
{
    ad_param *x = ad_param_new(AD_F32, 4, (size_t[]){CN, CC, CH, CH});
    ad_param *w = ad_param_new(AD_F32, 4, (size_t[]){COC, CC, CK, CK});
    ad_param *b = ad_param_new(AD_F32, 1, (size_t[]){COC});
    ad_tape *t = ad_tape_new();
    double *seed = malloc((size_t)CN * COC * CH * CH * sizeof *seed);
    int bad = 1;
    if (!x || !w || !b || !t || !seed) goto done;
    for (size_t i = 0; i < (size_t)CN * COC * CH * CH; i++) /* a fixed upstream gradient */
        seed[i] = (double)((i * 2654435761u) % 2001u) / 1000.0 - 1.0;
    ad_param_normal(x, 0, 1, 5);
    ad_param_normal(w, 0, 1.0 / sqrt(CC * CK * CK), 6);
    ad_param_normal(b, 0, 1, 7);
    ad_set_num_threads(threads);
    ad_conv_opts o = AD_CONV_OPTS_DEFAULT;
    o.padding[0] = o.padding[1] = 1;
    static double tf[MAX_REPS], tb[MAX_REPS], tt[MAX_REPS];
    size_t n = 0;
    double start = 0;
    for (int i = 0; n < MAX_REPS; i++) {
        if (i == WARMUP) start = bench_now();
        if (i >= WARMUP && n >= MIN_REPS && bench_now() - start >= 0.5) break;
        ad_param_zero_grad(x);
        ad_param_zero_grad(w);
        ad_param_zero_grad(b);
        ad_tape_reset(t);
        double t0 = bench_now();
        ad_tensor y = ad_conv2d(ad_param_use(t, x), ad_param_use(t, w), ad_param_use(t, b), &o);
        double t1 = bench_now();
        ad_status s = ad_backward_seeded(y, seed);
        double t2 = bench_now();
        if (s != AD_OK) {
            const char *msg;
            ad_tape_error(t, &msg);
            bench_fail("conv.f32.t%d: %s", threads, msg);
            goto done;
        }
        if (i == 0) { /* self-check a few outputs against the direct sum */
            const float *yv = ad_tensor_data(y);
            for (size_t k = 0; k < 7; k++) {
                size_t nn = k * 9 % CN, oo = k * 13 % COC, ii = k * 5 % CH, jj = k * 3 % CH;
                double want =
                    direct(ad_param_value(x), ad_param_value(w), ad_param_value(b), nn, oo, ii, jj);
                double got = yv[((nn * COC + oo) * CH + ii) * CH + jj];
                if (fabs(got - want) > 1e-4 * (1 + fabs(want))) {
                    bench_fail("conv.f32.t%d: y[%zu,%zu,%zu,%zu] = %g, want %g", threads, nn, oo,
                               ii, jj, got, want);
                    goto done;
                }
            }
        }
        if (i >= WARMUP) {
            tf[n] = t1 - t0;
            tb[n] = t2 - t1;
            tt[n++] = t2 - t0;
        }
    }
    char name[80];
    double ms = time_median(tt, n);
    snprintf(name, sizeof name, "conv.f32.t%d.fwd_bwd_ms", threads);
    bench_emit(name, ms, "ms");
    snprintf(name, sizeof name, "conv.f32.t%d.fwd_ms", threads);
    bench_emit(name, time_median(tf, n), "ms");
    snprintf(name, sizeof name, "conv.f32.t%d.bwd_ms", threads);
    bench_emit(name, time_median(tb, n), "ms");
    snprintf(name, sizeof name, "conv.f32.t%d.fwd_bwd_gflops", threads);
    bench_emit(name, 3 * CONV_FLOP / ms / 1e6, "GFLOP/s");
    bad = 0;
done:
    ad_set_num_threads(0);
    free(seed);
    ad_tape_free(t);
    ad_param_free(x);
    ad_param_free(w);
    ad_param_free(b);
    return bad;
}

/* The conv's three products as plain GEMMs over the whole batch, with no
 * unroll, through the GEMM the conv uses: y [OC, N HW] = w [OC, K] cols
 * [K, N HW]; dw [OC, K] = g cols^T; dcols [K, N HW] = w^T g (K = C 9,
 * N HW = 12544), transposes read in place. Same FLOP count as conv_alone:
 * the gap between the two is what unrolling (and per-image products) cost. */
static int gemm_same_flops(int threads)
{
    const size_t K = CC * CK * CK, P = (size_t)CN * CH * CH;
    float *w = malloc(COC * K * sizeof *w), *cols = malloc(K * P * sizeof *cols);
    float *g = malloc(COC * P * sizeof *g), *y = malloc(COC * P * sizeof *y);
    float *dw = malloc(COC * K * sizeof *dw), *dc = malloc(K * P * sizeof *dc);
    int bad = 1;
    if (!w || !cols || !g || !y || !dw || !dc) {
        bench_fail("conv.gemm: out of memory");
        goto done;
    }
    for (size_t i = 0; i < COC * K; i++)
        w[i] = (float)((i * 37u) % 101u) / 101.0f - 0.5f;
    for (size_t i = 0; i < K * P; i++)
        cols[i] = (float)((i * 53u) % 97u) / 97.0f - 0.5f;
    for (size_t i = 0; i < COC * P; i++)
        g[i] = (float)((i * 29u) % 89u) / 89.0f - 0.5f;
    ad_set_num_threads(threads);
    static double tt[MAX_REPS];
    size_t n = 0;
    double start = 0;
    for (int i = 0; n < MAX_REPS; i++) {
        if (i == WARMUP) start = bench_now();
        if (i >= WARMUP && n >= MIN_REPS && bench_now() - start >= 0.5) break;
        double t0 = bench_now();
        ad_gemm_f32(false, false, COC, P, K, 1.0f, w, K, cols, P, 0.0f, y, P);
        ad_gemm_f32(false, true, COC, K, P, 1.0f, g, P, cols, P, 0.0f, dw, K);
        ad_gemm_f32(true, false, K, P, COC, 1.0f, w, K, g, P, 0.0f, dc, P);
        if (i >= WARMUP) tt[n++] = bench_now() - t0;
    }
    char name[80];
    double ms = time_median(tt, n);
    snprintf(name, sizeof name, "conv.f32.t%d.gemm_same_flops_ms", threads);
    bench_emit(name, ms, "ms");
    snprintf(name, sizeof name, "conv.f32.t%d.gemm_same_flops_gflops", threads);
    bench_emit(name, 3 * CONV_FLOP / ms / 1e6, "GFLOP/s");
    bad = 0;
done:
    ad_set_num_threads(0);
    free(w);
    free(cols);
    free(g);
    free(y);
    free(dw);
    free(dc);
    return bad;
}

/* ---- the CNN step */

enum { BN = 64, IMG = 28, C1 = 32, C2 = 64, FC_IN = C2 * 5 * 5, CLASSES = 10 };

typedef struct cnn {
    ad_param *p[6]; /* w1 b1 w2 b2 w3 b3 */
    float *x;
    int32_t labels[BN];
    ad_tape *tape;
} cnn;

/* PyTorch's default init for Conv2d and Linear: uniform +-1/sqrt(fan_in) */
static int cnn_init(cnn *m)
{
    memset(m, 0, sizeof *m);
    static const size_t shapes[6][4] = {{C1, 1, 3, 3},    {C1},     {C2, C1, 3, 3}, {C2},
                                        {CLASSES, FC_IN}, {CLASSES}};
    static const size_t nd[6] = {4, 1, 4, 1, 2, 1}, fan[6] = {9, 9, C1 * 9, C1 * 9, FC_IN, FC_IN};
    for (size_t i = 0; i < 6; i++) {
        m->p[i] = ad_param_new(AD_F32, nd[i], shapes[i]);
        if (!m->p[i]) return -1;
        double k = 1.0 / sqrt((double)fan[i]);
        ad_param_uniform(m->p[i], -k, k, 300 + i);
    }
    ad_param *px = ad_param_new(AD_F32, 4, (size_t[]){BN, 1, IMG, IMG});
    m->x = malloc(BN * IMG * IMG * sizeof *m->x);
    m->tape = ad_tape_new();
    if (!px || !m->x || !m->tape) {
        ad_param_free(px);
        return -1;
    }
    ad_param_normal(px, 0, 1, 9);
    memcpy(m->x, ad_param_value(px), BN * IMG * IMG * sizeof *m->x);
    ad_param_free(px);
    for (size_t i = 0; i < BN; i++)
        m->labels[i] = (int32_t)((i * 7919u + 13u) % CLASSES);
    return 0;
}

static void cnn_free(cnn *m)
{
    for (size_t i = 0; i < 6; i++)
        ad_param_free(m->p[i]);
    free(m->x);
    ad_tape_free(m->tape);
}

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

static double cnn_step(cnn *m, double *fwd, double *bwd)
{
    ad_tape *t = m->tape;
    double t0 = bench_now();
    ad_tape_reset(t);
    ad_tensor w[6];
    for (size_t i = 0; i < 6; i++)
        w[i] = ad_param_use(t, m->p[i]);
    ad_pool_opts pool = {{2, 2}, {2, 2}, {0, 0}, false};
    ad_tensor h = ad_tensor_new(t, AD_F32, 4, (size_t[]){BN, 1, IMG, IMG}, m->x);
    h = ad_max_pool2d(ad_relu(ad_conv2d(h, w[0], w[1], NULL)), &pool); /* [64,32,13,13] */
    h = ad_max_pool2d(ad_relu(ad_conv2d(h, w[2], w[3], NULL)), &pool); /* [64,64,5,5] */
    h = ad_linear(ad_reshape(h, 2, (size_t[]){BN, FC_IN}), w[4], w[5]);
    ad_tensor loss = ad_softmax_cross_entropy(h, m->labels, BN);
    double t1 = bench_now();
    if (ad_backward(loss) != AD_OK) {
        const char *msg;
        ad_tape_error(t, &msg);
        bench_fail("cnn: %s", msg);
        return NAN;
    }
    double t2 = bench_now();
    for (size_t i = 0; i < 6; i++)
        sgd(m->p[i], 0.01f);
    *fwd = t1 - t0;
    *bwd = t2 - t1;
    return ad_tensor_get(loss, 0);
}

static int cnn_run(int threads)
{
    cnn m;
    if (cnn_init(&m) != 0) {
        bench_fail("cnn: out of memory");
        cnn_free(&m);
        return 1;
    }
    ad_set_num_threads(threads);
    static double steps[MAX_REPS], fwds[MAX_REPS], bwds[MAX_REPS];
    double f, b, first = cnn_step(&m, &f, &b), last = first;
    for (int i = 1; i < 5; i++)
        last = cnn_step(&m, &f, &b);
    size_t n = 0;
    double start = bench_now();
    while (n < MAX_REPS && (n < MIN_REPS || bench_now() - start < 1.0)) {
        double s0 = bench_now();
        last = cnn_step(&m, &fwds[n], &bwds[n]);
        steps[n++] = bench_now() - s0;
    }
    int bad = 0;
    if (!(last < first)) {
        bench_fail("cnn.t%d: loss did not fall (%g -> %g)", threads, first, last);
        bad = 1;
    } else {
        char name[64];
        snprintf(name, sizeof name, "cnn.f32.t%d.step_ms", threads);
        bench_emit(name, time_median(steps, n), "ms");
        snprintf(name, sizeof name, "cnn.f32.t%d.fwd_ms", threads);
        bench_emit(name, time_median(fwds, n), "ms");
        snprintf(name, sizeof name, "cnn.f32.t%d.bwd_ms", threads);
        bench_emit(name, time_median(bwds, n), "ms");
        bench_note("cnn.t%d: %zu steps, loss %.4f -> %.4f", threads, n + 5, first, last);
    }
    ad_set_num_threads(0);
    cnn_free(&m);
    return bad;
}

int bench_conv(void)
{
    int bad = 0;
    for (int t = 1; t <= 2; t++) {
        bad |= conv_alone(t);
        bad |= gemm_same_flops(t);
    }
    for (int t = 1; t <= 2; t++)
        bad |= cnn_run(t);
    return bad;
}
