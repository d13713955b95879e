/* SPDX-License-Identifier: MIT
 * Two interleaved spirals, generated here: a residual MLP (three ReLU layers
 * of 32 with identity skips) learns to tell the arms apart. Trains on one
 * set of points and reports accuracy on a second set, taken at other places
 * along the arms with other jitter.
 * Build: make examples; run: build/examples/spirals [--epochs N] [--seed S]
 *        [--plot curve.svg] [--quiet] */
#include "adtape.h"
#include "adtape/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PER_CLASS = 300, VAL_PER_CLASS = 250 };

int main(int argc, char **argv)
{
    size_t epochs = 100;
    uint64_t seed = 9;
    const char *plot = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
            epochs = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--plot") == 0 && i + 1 < argc)
            plot = argv[++i];
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = true;
        else {
            fprintf(stderr, "usage: %s [--epochs N] [--seed S] [--plot FILE.svg] [--quiet]\n",
                    argv[0]);
            return 2;
        }
    }
    /* two turns per arm; validation points sit elsewhere along the arms */
    static float xtr[4 * PER_CLASS], xva[4 * VAL_PER_CLASS];
    static int32_t ltr[2 * PER_CLASS], lva[2 * VAL_PER_CLASS];
    ad_nn_make_spirals(PER_CLASS, 2.0, 0.03, 1, xtr, ltr);
    ad_nn_make_spirals(VAL_PER_CLASS, 2.0, 0.03, 2, xva, lva);

    const ad_nn_layer_spec hidden[] = {{32, AD_ACT_RELU, 0, false, 0, false},
                                       {32, AD_ACT_RELU, 1, false, 0, false}, /* h2 = f(h1) + h1 */
                                       {32, AD_ACT_RELU, 1, false, 0, false}};
    ad_nn_spec spec = {.inputs = 2,
                       .n_hidden = 3,
                       .hidden = hidden,
                       .outputs = 2,
                       .head = AD_HEAD_SOFTMAX,
                       .seed = seed};
    char desc[128];
    ad_nn *m = ad_nn_new(&spec);
    if (!m) return fprintf(stderr, "spirals: %s\n", ad_last_error()), 1;
    ad_nn_describe(m, desc, sizeof desc);
    size_t np;
    ad_param *const *params = ad_nn_params(m, &np);
    ad_opt_config oc = {.kind = AD_OPT_ADAM,
                        .lr = 0.01,
                        .schedule = AD_LR_COSINE,
                        .total_epochs = epochs,
                        .lr_min = 1e-4};
    ad_opt *opt = ad_opt_new(&oc, params, np);
    if (!opt) return fprintf(stderr, "spirals: %s\n", ad_last_error()), 1;
    if (!quiet) fprintf(stderr, "spirals: %s, %zu weights\n", desc, ad_nn_param_count(m));

    ad_nn_data train = {2 * PER_CLASS, 2, xtr, 0, NULL, ltr};
    ad_nn_data val = {2 * VAL_PER_CLASS, 2, xva, 0, NULL, lva};
    ad_nn_train_opts to = {.epochs = epochs,
                           .batch_size = 32,
                           .seed = seed,
                           .quiet = quiet,
                           .print_every = epochs >= 12 ? epochs / 12 : 1,
                           .name = "spirals"};
    ad_nn_history hist = {0};
    int rc = 0;
    if (ad_nn_train(m, opt, &train, &val, &to, &hist) != AD_OK) {
        fprintf(stderr, "spirals: %s\n", ad_last_error());
        rc = 1;
        goto done;
    }
    double acc = hist.val_acc[hist.n - 1], secs = 0;
    for (size_t i = 0; i < hist.n; i++)
        secs += hist.seconds[i];
    printf("spirals: validation accuracy %.2f%% after %zu epochs (%.2f s)\n", 100 * acc, hist.n,
           secs);
    if (plot) {
        char title[192];
        snprintf(title, sizeof title, "Two spirals: %s", desc);
        if (ad_nn_history_svg(&hist, plot, title))
            fprintf(stderr, "spirals: %s\n", ad_last_error()), rc = 1;
        else
            printf("spirals: wrote %s\n", plot);
    }
    if (acc <= 0.95) rc = 1;
done:
    ad_nn_history_free(&hist);
    ad_opt_free(opt);
    ad_nn_free(m);
    return rc;
}
