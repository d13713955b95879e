/* SPDX-License-Identifier: MIT
 * Levenberg-Marquardt against SGD with momentum on a 1-D regression: both
 * start from the same 1-10-1 tanh network and fit
 * f(x) = sin(x) + 0.3 cos(2x) on [-3, 3]. LM takes one Jacobian-based step
 * per epoch; SGD one full-batch gradient step. The loss table shows them
 * side by side; --plot draws both curves on a log axis.
 * Build: make examples; run: build/examples/levenberg_marquardt
 *        [--epochs N (SGD)] [--plot curve.svg] [--quiet] */
#include "adtape.h"
#include "adtape/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 60 };
static float xs[N], ys[N];

static ad_nn *model(void)
{
    static const ad_nn_layer_spec hidden[] = {{10, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec s = {.inputs = 1,
                    .n_hidden = 1,
                    .hidden = hidden,
                    .outputs = 1,
                    .loss = AD_LOSS_HALF_SSE,
                    .seed = 3};
    return ad_nn_new(&s);
}

/* The first epoch whose loss is at most `target` (1-based), or 0. */
static size_t reached(const ad_nn_history *h, double target)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->train_loss[i] <= target) return i + 1;
    return 0;
}

int main(int argc, char **argv)
{
    size_t sgd_epochs = 3000;
    const char *plot = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
            sgd_epochs = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--plot") == 0 && i + 1 < argc)
            plot = argv[++i];
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = true;
        else {
            fprintf(stderr, "usage: %s [--epochs N] [--plot FILE.svg] [--quiet]\n", argv[0]);
            return 2;
        }
    }
    for (int i = 0; i < N; i++) {
        xs[i] = -3.0f + 6.0f * (float)i / (N - 1);
        ys[i] = sinf(xs[i]) + 0.3f * cosf(2 * xs[i]);
    }
    ad_nn_data d = {N, 1, xs, 1, ys, NULL};
    const double target = 1e-4;

    ad_nn *lm = model(), *sgd = model();
    ad_nn_history hl = {0}, hs = {0};
    ad_lm_opts lo = {.epochs = 200, .target_loss = target / 10, .quiet = true};
    if (ad_lm_train(lm, &d, &lo, &hl) != AD_OK)
        return fprintf(stderr, "levenberg_marquardt: %s\n", ad_last_error()), 1;

    size_t np;
    ad_param *const *ps = ad_nn_params(sgd, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_MOMENTUM, .lr = 0.05}, ps, np);
    ad_nn_train_opts to = {
        .epochs = sgd_epochs, .batch_size = N, .no_shuffle = true, .quiet = true};
    if (!o || ad_nn_train(sgd, o, &d, NULL, &to, &hs) != AD_OK)
        return fprintf(stderr, "levenberg_marquardt: %s\n", ad_last_error()), 1;

    if (!quiet) {
        printf("%8s  %14s  %14s\n", "epoch", "LM loss", "SGD loss");
        for (size_t e = 1; e <= hs.n; e = e < 10 ? e + 1 : e * 2) {
            char a[32] = "(converged)";
            if (e <= hl.n) snprintf(a, sizeof a, "%.3e", hl.train_loss[e - 1]);
            printf("%8zu  %14s  %14.3e\n", e, a, hs.train_loss[e - 1]);
        }
    }
    size_t el = reached(&hl, target), es = reached(&hs, target);
    printf("epochs to a half-SSE of %g:  Levenberg-Marquardt %zu,  SGD with momentum ", target, el);
    if (es)
        printf("%zu\n", es);
    else
        printf("more than %zu (at %.3e)\n", hs.n, hs.train_loss[hs.n - 1]);
    printf("final loss:  LM %.3e after %zu epochs,  SGD %.3e after %zu epochs\n",
           hl.train_loss[hl.n - 1], hl.n, hs.train_loss[hs.n - 1], hs.n);

    int rc = el == 0;
    if (plot) {
        ad_nn_series s[2] = {{"Levenberg-Marquardt", hl.train_loss, hl.n},
                             {"SGD with momentum", hs.train_loss, hs.n}};
        ad_nn_panel p = {"half squared error per sample", "loss", s, 2, true, true};
        if (ad_nn_plot_svg(plot, "LM vs SGD: 1-10-1 tanh on sin(x) + 0.3 cos(2x)", &p, 1))
            fprintf(stderr, "levenberg_marquardt: %s\n", ad_last_error()), rc = 1;
        else
            printf("levenberg_marquardt: wrote %s\n", plot);
    }
    ad_nn_history_free(&hl);
    ad_nn_history_free(&hs);
    ad_opt_free(o);
    ad_nn_free(lm);
    ad_nn_free(sgd);
    return rc;
}
