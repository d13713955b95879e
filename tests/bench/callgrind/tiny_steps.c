/* SPDX-License-Identifier: MIT
 * N training steps of the tiny MLP of bench_mlp.c (2-16-16-1, batch 4, f32,
 * relu, mse, plain SGD) for instruction counting: run.sh runs it under
 * callgrind for two N and prints the instructions of one step. argv[2]
 * "fused" records the hidden layers with ad_linear_relu, as the bench does;
 * anything else (or nothing) with ad_relu(ad_linear(...)). */
#include "adtape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sgd(ad_param *p, float lr)
{
    float *v = ad_param_value(p), *g = ad_param_grad(p);
    size_t n = ad_param_numel(p);
    for (size_t i = 0; i < n; i++) {
        v[i] -= lr * g[i];
        g[i] = 0.0f;
    }
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 100;
    int fused = argc > 2 && strcmp(argv[2], "fused") == 0;
    const size_t widths[4] = {2, 16, 16, 1}, batch = 4;
    ad_param *w[3], *b[3];
    for (size_t l = 0; l < 3; l++) {
        double k = 1.0 / sqrt((double)widths[l]);
        w[l] = ad_param_new(AD_F32, 2, (size_t[]){widths[l + 1], widths[l]});
        b[l] = ad_param_new(AD_F32, 1, (size_t[]){widths[l + 1]});
        if (!w[l] || !b[l]) return 1;
        ad_param_uniform(w[l], -k, k, 100 + l);
        ad_param_uniform(b[l], -k, k, 200 + l);
    }
    float x[8], y[4];
    for (int i = 0; i < 8; i++)
        x[i] = (float)(i * 0.37 - 1);
    for (int i = 0; i < 4; i++)
        y[i] = (float)(i * 0.5 - 0.7);
    ad_tape *t = ad_tape_new();
    if (!t) return 1;
    double loss = 0;
    for (int s = 0; s < steps + 5; s++) { /* 5 warm-up steps fill the arena */
        ad_tape_reset(t);
        ad_tensor h = ad_tensor_new(t, AD_F32, 2, (size_t[]){batch, 2}, x);
        for (size_t l = 0; l < 3; l++) {
            ad_tensor wl = ad_param_use(t, w[l]), bl = ad_param_use(t, b[l]);
            if (l == 2)
                h = ad_linear(h, wl, bl);
            else
                h = fused ? ad_linear_relu(h, wl, bl) : ad_relu(ad_linear(h, wl, bl));
        }
        ad_tensor target = ad_tensor_new(t, AD_F32, 2, (size_t[]){batch, 1}, y);
        ad_tensor l = ad_mse_loss(h, target);
        if (ad_backward(l) != AD_OK) return 1;
        for (size_t k = 0; k < 3; k++) {
            sgd(w[k], 0.01f);
            sgd(b[k], 0.01f);
        }
        loss = ad_tensor_get(l, 0);
    }
    printf("loss %g\n", loss);
    for (size_t l = 0; l < 3; l++) {
        ad_param_free(w[l]);
        ad_param_free(b[l]);
    }
    ad_tape_free(t);
    return 0;
}
