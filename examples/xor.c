/* SPDX-License-Identifier: MIT
 * The classic XOR problem: a 2-2-1 network (tanh hidden units, logistic
 * output) learns the function no single layer can represent, from a fixed
 * seed, with Adam on the four examples as one batch.
 * Build: make examples; run: build/examples/xor [--epochs N] [--seed S]
 *        [--plot curve.svg] [--quiet] */
#include "adtape.h"
#include "adtape/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t epochs = 400;
    uint64_t seed = 3;
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
    static const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
    static const float y[] = {0, 1, 1, 0};
    const ad_nn_layer_spec hidden[] = {{2, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec spec = {.inputs = 2,
                       .n_hidden = 1,
                       .hidden = hidden,
                       .outputs = 1,
                       .head = AD_HEAD_LOGISTIC,
                       .seed = seed};
    ad_nn *m = ad_nn_new(&spec);
    if (!m) return fprintf(stderr, "xor: %s\n", ad_last_error()), 1;
    size_t np;
    ad_param *const *params = ad_nn_params(m, &np);
    ad_opt *opt = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.05}, params, np);
    if (!opt) return fprintf(stderr, "xor: %s\n", ad_last_error()), 1;

    ad_nn_data data = {4, 2, x, 1, y, NULL};
    ad_nn_train_opts to = {.epochs = epochs,
                           .batch_size = 4,
                           .seed = seed,
                           .quiet = quiet,
                           .print_every = epochs >= 10 ? epochs / 10 : 1,
                           .name = "xor"};
    ad_nn_history hist = {0};
    int rc = 0;
    if (ad_nn_train(m, opt, &data, NULL, &to, &hist) != AD_OK) {
        fprintf(stderr, "xor: %s\n", ad_last_error());
        rc = 1;
        goto done;
    }
    /* the learned truth table, read through the logistic head */
    ad_tape *t = ad_tape_new();
    ad_tape_set_recording(t, false);
    ad_tensor p =
        ad_nn_predict(m, ad_nn_forward(m, ad_tensor_new(t, AD_F32, 2, (size_t[]){4, 2}, x)));
    int correct = 0;
    for (int i = 0; i < 4; i++) {
        double pi = ad_tensor_get(p, (size_t)i);
        correct += (pi > 0.5) == (y[i] > 0.5f);
        printf("%g xor %g = %g   predicted %.4f\n", (double)x[2 * i], (double)x[2 * i + 1],
               (double)y[i], pi);
    }
    printf("xor: %d/4 correct after %zu epochs, loss %.5f\n", correct, hist.n,
           hist.train_loss[hist.n - 1]);
    ad_tape_free(t);
    if (plot) {
        if (ad_nn_history_svg(&hist, plot, "XOR: 2-2-1 tanh / logistic, Adam"))
            fprintf(stderr, "xor: %s\n", ad_last_error()), rc = 1;
        else
            printf("xor: wrote %s\n", plot);
    }
    if (correct != 4) rc = 1;
done:
    ad_nn_history_free(&hist);
    ad_opt_free(opt);
    ad_nn_free(m);
    return rc;
}
