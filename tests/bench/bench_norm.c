/* SPDX-License-Identifier: MIT
 * norm group: layer_norm, batch_norm and dropout (ops/norm.c, ops/dropout.c)
 * forward + backward on a tape, float32, beside a plain C loop computing the
 * same thing in the same run (`.plain_c.`), and their ratio (`.vs_plain_c`).
 * A step on the tape is: reset, parameters in, the op, a seeded sweep into
 * the parameters' gradients. The plain loops use the same arithmetic (sums
 * in double, two-pass statistics, the same mask stream), so the ratio is
 * the engine's overhead; a self-check compares their outputs. */
#include "adtape.h"
#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { REPS = 9 };

typedef struct buf {
    float *x, *w, *b, *y, *gy, *gx, *gw, *gb;
} buf;

static float *fill(size_t n, uint64_t seed, double lo, double hi)
{
    float *v = malloc(n * sizeof *v);
    ad_rng r;
    ad_rng_seed(&r, seed);
    for (size_t i = 0; v && i < n; i++)
        v[i] = (float)(lo + (hi - lo) * ad_rng_uniform(&r));
    return v;
}

static buf buf_new(size_t n, size_t c)
{
    buf b = {fill(n, 1, -2, 2),        fill(c, 2, 0.5, 1.5),    fill(c, 3, -1, 1),
             calloc(n, sizeof(float)), fill(n, 4, -1, 1),       calloc(n, sizeof(float)),
             calloc(c, sizeof(float)), calloc(c, sizeof(float))};
    return b;
}

static void buf_free(buf *b)
{
    free(b->x), free(b->w), free(b->b), free(b->y);
    free(b->gy), free(b->gx), free(b->gw), free(b->gb);
}

/* ---- the plain C versions */

static void plain_layer_norm(buf *b, size_t rows, size_t n, double eps)
{
    for (size_t r = 0; r < rows; r++) {
        const float *x = b->x + r * n, *g = b->gy + r * n;
        float *y = b->y + r * n, *gx = b->gx + r * n;
        double s = 0, sq = 0;
        for (size_t j = 0; j < n; j++)
            s += (double)x[j];
        double mean = s / (double)n;
        for (size_t j = 0; j < n; j++)
            sq += ((double)x[j] - mean) * ((double)x[j] - mean);
        double rstd = 1 / sqrt(sq / (double)n + eps), sd = 0, sdx = 0;
        for (size_t j = 0; j < n; j++) {
            double xh = ((double)x[j] - mean) * rstd;
            y[j] = (float)(xh * (double)b->w[j] + (double)b->b[j]);
            double d = (double)g[j] * (double)b->w[j];
            sd += d, sdx += d * xh;
            b->gw[j] += (float)((double)g[j] * xh);
            b->gb[j] += g[j];
        }
        for (size_t j = 0; j < n; j++) {
            double xh = ((double)x[j] - mean) * rstd, d = (double)g[j] * (double)b->w[j];
            gx[j] += (float)(rstd * (d - sd / (double)n - xh * sdx / (double)n));
        }
    }
}

static void plain_batch_norm(buf *b, size_t nb, size_t c, size_t s, double eps)
{
    double m = (double)(nb * s);
    for (size_t ch = 0; ch < c; ch++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < s; j++)
                sum += (double)b->x[(i * c + ch) * s + j];
        double mean = sum / m;
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < s; j++) {
                double d = (double)b->x[(i * c + ch) * s + j] - mean;
                sq += d * d;
            }
        double rstd = 1 / sqrt(sq / m + eps), sg = 0, sgx = 0;
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < s; j++) {
                size_t k = (i * c + ch) * s + j;
                double xh = ((double)b->x[k] - mean) * rstd;
                b->y[k] = (float)(xh * (double)b->w[ch] + (double)b->b[ch]);
                sg += (double)b->gy[k], sgx += (double)b->gy[k] * xh;
            }
        b->gw[ch] += (float)sgx, b->gb[ch] += (float)sg;
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < s; j++) {
                size_t k = (i * c + ch) * s + j;
                double xh = ((double)b->x[k] - mean) * rstd;
                b->gx[k] +=
                    (float)((double)b->w[ch] * rstd * ((double)b->gy[k] - sg / m - xh * sgx / m));
            }
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**, as ad_rng_next */
static uint64_t next(uint64_t s[4])
{
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static void plain_dropout(buf *b, unsigned char *mask, size_t n, double p, ad_rng *r)
{
    const uint64_t thr = (uint64_t)(p * 4294967296.0);
    const float sc = (float)(1.0 / (1.0 - p));
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint64_t v = next(r->s);
        mask[i] = (v & 0xFFFFFFFFu) >= thr, mask[i + 1] = (v >> 32) >= thr;
    }
    for (size_t i = 0; i < n; i++)
        b->y[i] = mask[i] ? b->x[i] * sc : 0.0f;
    for (size_t i = 0; i < n; i++)
        b->gx[i] += mask[i] ? b->gy[i] * sc : 0.0f;
}

/* ---- the ops on a tape */

typedef enum { LN, BN, DROP } which;

typedef struct run {
    which op;
    size_t nd, dims[4], n, c;
    ad_param *x, *w, *b;
    ad_rng rng;
    double *seed;
} run;

/* The op's output on t, reset first. */
static ad_tensor op_forward(ad_tape *t, run *r)
{
    ad_tape_reset(t);
    ad_tensor x = ad_param_use(t, r->x);
    if (r->op == DROP) return ad_dropout(x, 0.5, true, &r->rng);
    ad_tensor w = ad_param_use(t, r->w), b = ad_param_use(t, r->b);
    return r->op == LN ? ad_layer_norm(x, 1, w, b, 1e-5)
                       : ad_batch_norm(x, w, b, NULL, NULL, true, 0.1, 1e-5);
}

static bool op_step(ad_tape *t, run *r)
{
    return ad_backward_seeded(op_forward(t, r), r->seed) == AD_OK;
}

static void param_from(ad_param *p, const float *v)
{
    memcpy(ad_param_value(p), v, ad_param_numel(p) * sizeof *v);
}

/* Median microseconds of `inner` steps of each, and the self-check. */
static void measure(const char *name, run *r, size_t inner, bool per_elem)
{
    buf b = buf_new(r->n, r->c);
    unsigned char *mask = malloc(r->n);
    r->x = ad_param_new(AD_F32, r->nd, r->dims);
    r->w = ad_param_new(AD_F32, 1, (size_t[]){r->c});
    r->b = ad_param_new(AD_F32, 1, (size_t[]){r->c});
    r->seed = malloc(r->n * sizeof *r->seed);
    ad_tape *t = ad_tape_new();
    if (!b.x || !b.y || !b.gx || !mask || !r->x || !r->w || !r->b || !r->seed || !t) {
        bench_fail("%s: out of memory", name);
        goto out;
    }
    param_from(r->x, b.x), param_from(r->w, b.w), param_from(r->b, b.b);
    for (size_t i = 0; i < r->n; i++)
        r->seed[i] = b.gy[i];
    double tops[REPS], tc[REPS];
    size_t rows = r->n / r->c, s = r->nd == 4 ? r->dims[2] * r->dims[3] : 1;
    for (int k = 0; k < REPS; k++) {
        ad_rng_seed(&r->rng, 7);
        double t0 = bench_now();
        for (size_t i = 0; i < inner; i++)
            if (!op_step(t, r)) {
                bench_fail("%s: %s", name, ad_last_error());
                goto out;
            }
        double t1 = bench_now();
        ad_rng pr;
        ad_rng_seed(&pr, 7);
        for (size_t i = 0; i < inner; i++) {
            if (r->op == LN)
                plain_layer_norm(&b, rows, r->c, 1e-5);
            else if (r->op == BN)
                plain_batch_norm(&b, r->dims[0], r->c, s, 1e-5);
            else
                plain_dropout(&b, mask, r->n, 0.5, &pr);
        }
        double t2 = bench_now();
        tops[k] = (t1 - t0) / (double)inner;
        tc[k] = (t2 - t1) / (double)inner;
    }
    /* self-check: the same output from both (for dropout, from the same
     * generator state; the other two are deterministic) */
    ad_rng pr;
    ad_rng_seed(&r->rng, 7);
    ad_rng_seed(&pr, 7);
    ad_tensor y = op_forward(t, r);
    if (r->op == DROP) plain_dropout(&b, mask, r->n, 0.5, &pr);
    double worst = 0;
    const float *yv = ad_tensor_data(y);
    for (size_t i = 0; yv && i < r->n; i++) {
        double d = fabs((double)yv[i] - (double)b.y[i]);
        worst = d > worst ? d : worst;
    }
    if (!yv || !(worst < 1e-4)) bench_fail("%s: op and plain C differ by %g", name, worst);
    double mo = bench_median(tops, REPS), mc = bench_median(tc, REPS);
    char line[160];
    const char *unit = per_elem ? "ns_per_elem" : "us";
    double scale = per_elem ? 1e9 / (double)r->n : 1e6;
    snprintf(line, sizeof line, "norm.%s.fwd_bwd_%s", name, unit);
    bench_emit(line, mo * scale, unit);
    snprintf(line, sizeof line, "norm.%s.plain_c.fwd_bwd_%s", name, unit);
    bench_emit(line, mc * scale, unit);
    snprintf(line, sizeof line, "norm.%s.vs_plain_c", name);
    bench_emit(line, mo / mc, "x");
out:
    ad_tape_free(t);
    ad_param_free(r->x), ad_param_free(r->w), ad_param_free(r->b);
    free(r->seed);
    free(mask);
    buf_free(&b);
}

int bench_norm(void)
{
    bench_note("norm: forward + backward, float32, median of %d; plain C in the same run", REPS);
    run ln = {LN, 2, {64, 256}, 64 * 256, 256, NULL, NULL, NULL, {{0}}, NULL};
    measure("layer_norm.f32.64x256", &ln, 50, false);
    run bn = {BN, 4, {64, 32, 14, 14}, 64 * 32 * 14 * 14, 32, NULL, NULL, NULL, {{0}}, NULL};
    measure("batch_norm.f32.64x32x14x14", &bn, 5, false);
    run dr = {DROP, 1, {1000000}, 1000000, 1, NULL, NULL, NULL, {{0}}, NULL};
    measure("dropout.f32.n1m", &dr, 3, true);
    return 0;
}
