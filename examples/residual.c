/* SPDX-License-Identifier: MIT
 * A small network with a skip connection, wired by hand from engine ops and
 * trained with plain SGD on generated data:
 *   h1 = relu(x W1^T + b1);  h2 = relu(h1 W2^T + b2 + h1);  y = h2 W3^T + b3
 * Build: make examples; run: build/examples/residual [--dot graph.dot] */
#include "adtape.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { N = 256, IN = 2, H = 32, STEPS = 400 };

static ad_param *param(size_t rows, size_t cols, double scale, uint64_t seed)
{
    ad_param *p = cols ? ad_param_new(AD_F32, 2, (size_t[]){rows, cols})
                       : ad_param_new(AD_F32, 1, (size_t[]){rows});
    if (p && scale > 0) ad_param_uniform(p, -scale, scale, seed);
    return p;
}

static void sgd(ad_param *p, float lr)
{
    float *w = ad_param_value(p);
    const float *g = ad_param_grad(p);
    for (size_t i = 0; i < ad_param_numel(p); i++)
        w[i] -= lr * g[i];
    ad_param_zero_grad(p);
}

int main(int argc, char **argv)
{
    const char *dot = argc == 3 && strcmp(argv[1], "--dot") == 0 ? argv[2] : NULL;
    /* the target: y = sin(3 x0) + x1^2 on [-1, 1]^2 */
    static float xs[N * IN], ys[N];
    ad_tape *t = ad_tape_new();
    ad_tensor gen = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){N, IN}, -1, 1, 2024);
    memcpy(xs, ad_tensor_data(gen), sizeof xs);
    for (int i = 0; i < N; i++)
        ys[i] = sinf(3 * xs[i * IN]) + xs[i * IN + 1] * xs[i * IN + 1];

    ad_param *w1 = param(H, IN, sqrt(6.0 / IN), 1), *b1 = param(H, 0, 0, 0);
    ad_param *w2 = param(H, H, sqrt(6.0 / H), 2), *b2 = param(H, 0, 0, 0);
    ad_param *w3 = param(1, H, sqrt(3.0 / H), 3), *b3 = param(1, 0, 0, 0);
    ad_param *all[] = {w1, b1, w2, b2, w3, b3};
    for (int s = 0; s <= STEPS; s++) {
        ad_tape_reset(t);
        ad_tensor x = ad_tensor_new(t, AD_F32, 2, (size_t[]){N, IN}, xs);
        ad_tensor target = ad_tensor_new(t, AD_F32, 2, (size_t[]){N, 1}, ys);
        ad_tensor h1 = ad_relu(ad_linear(x, ad_param_use(t, w1), ad_param_use(t, b1)));
        ad_tensor h2 =
            ad_relu(ad_tadd(ad_linear(h1, ad_param_use(t, w2), ad_param_use(t, b2)), h1));
        ad_tensor y = ad_linear(h2, ad_param_use(t, w3), ad_param_use(t, b3));
        ad_tensor loss = ad_mse_loss(y, target);
        if (ad_backward(loss) != AD_OK) {
            const char *msg;
            ad_tape_error(t, &msg);
            fprintf(stderr, "residual: %s\n", msg);
            return 1;
        }
        if (s % 50 == 0) printf("step %3d  mse %.5f\n", s, ad_tensor_get(loss, 0));
        /* the last step's graph, with gradient norms, before SGD zeroes them */
        if (s == STEPS && dot && ad_tape_export_dot(t, dot) != AD_OK) {
            fprintf(stderr, "residual: cannot write %s\n", dot);
            return 1;
        }
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
            sgd(all[k], 0.1f);
    }
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        ad_param_free(all[k]);
    ad_tape_free(t);
    return 0;
}
