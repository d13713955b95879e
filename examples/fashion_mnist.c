/* SPDX-License-Identifier: MIT
 * Fashion-MNIST (70 000 28x28 grey images of clothes, 10 classes) with a
 * 784-256-128-10 ReLU MLP trained by Adam. Reads the IDX files from the
 * directory given (default: where Debian's dataset-fashion-mnist package puts
 * them), plain or gzipped as that package ships them: the library's IDX
 * readers decompress .gz files themselves. The last 5 000 training images are held out for
 * validation; the test set is scored once at the end.
 * Build: make examples; run: build/examples/fashion_mnist [DIR] [--epochs N]
 *        [--batch B] [--plot curve.svg] [--save model.adt] [--limit N] [--quiet] */
#include "adtape.h"
#include "adtape/data.h"
#include "adtape/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define PATH_LEN    1024

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/name or else dir/name.gz into path: 1 when one exists, 0 when
 * neither does, -1 when the path is too long (reported). */
static int locate(const char *dir, const char *name, char *path)
{
    if (snprintf(path, PATH_LEN - 3, "%s/%s", dir, name) >= PATH_LEN - 3) /* room for .gz */
        return fprintf(stderr, "fashion_mnist: %s: path too long\n", dir), -1;
    if (exists(path)) return 1;
    strcat(path, ".gz");
    return exists(path) ? 1 : 0;
}

/* An image file and its label file must hold the same number of entries. */
static bool same_count(const char *images, size_t ni, const char *labels, size_t nl)
{
    if (ni == nl) return true;
    fprintf(stderr, "fashion_mnist: %s holds %zu images but %s holds %zu labels\n", images, ni,
            labels, nl);
    return false;
}

int main(int argc, char **argv)
{
    const char *dir = DEFAULT_DIR, *plot = NULL, *save = NULL;
    size_t epochs = 10, batch = 128, limit = 0;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
            epochs = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--plot") == 0 && i + 1 < argc)
            plot = argv[++i];
        else if (strcmp(argv[i], "--save") == 0 && i + 1 < argc)
            save = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = strtoul(argv[++i], NULL, 10); /* first N images only: a quick run */
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = true;
        else if (argv[i][0] != '-')
            dir = argv[i];
        else {
            fprintf(stderr,
                    "usage: %s [DIR] [--epochs N] [--batch B] [--plot FILE.svg] "
                    "[--save FILE] [--limit N] [--quiet]\n",
                    argv[0]);
            return 2;
        }
    }
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char paths[4][PATH_LEN];
    float *xtr = NULL, *xte = NULL;
    int32_t *ltr = NULL, *lte = NULL;
    size_t ntr, nte, nltr, nlte, rows, cols, r2, c2;
    int rc = 1;
    for (int i = 0; i < 4; i++) {
        int found = locate(dir, names[i], paths[i]);
        if (found == 0)
            fprintf(stderr,
                    "fashion_mnist: %s/%s[.gz] not found. Install the data set with\n"
                    "    sudo apt-get install -y dataset-fashion-mnist\n"
                    "or pass the directory that holds the four IDX files.\n",
                    dir, names[i]);
        if (found <= 0) goto done;
    }

    if (ad_idx_read_images(paths[0], &xtr, &ntr, &rows, &cols) != AD_OK ||
        ad_idx_read_labels(paths[1], &ltr, &nltr) != AD_OK ||
        ad_idx_read_images(paths[2], &xte, &nte, &r2, &c2) != AD_OK ||
        ad_idx_read_labels(paths[3], &lte, &nlte) != AD_OK) {
        fprintf(stderr, "fashion_mnist: %s\n", ad_last_error());
        goto done;
    }
    /* Before --limit: trimming both counts to N would hide a label file
     * shorter than its images, and the loops below would read past its end. */
    if (!same_count(paths[0], ntr, paths[1], nltr) || !same_count(paths[2], nte, paths[3], nlte))
        goto done;
    if (limit >= 10) {
        ntr = ntr < limit ? ntr : limit;
        nte = nte < limit ? nte : limit;
    }
    if (rows * cols != r2 * c2 || ntr < 10) {
        fprintf(stderr,
                "fashion_mnist: need 10 or more training images the size of the test images "
                "(%s: %zu of %zux%zu, %s: %zux%zu)\n",
                paths[0], ntr, rows, cols, paths[2], r2, c2);
        goto done;
    }
    size_t in = rows * cols;
    /* pixels to [0, 1] whatever scale the reader returns */
    float mx = 0;
    for (size_t i = 0; i < ntr * in; i++)
        mx = xtr[i] > mx ? xtr[i] : mx;
    if (mx > 1.5f) {
        for (size_t i = 0; i < ntr * in; i++)
            xtr[i] /= 255.0f;
        for (size_t i = 0; i < nte * in; i++)
            xte[i] /= 255.0f;
    }
    for (size_t i = 0; i < ntr; i++)
        if (ltr[i] < 0 || ltr[i] > 9) {
            fprintf(stderr, "fashion_mnist: training label %d out of range\n", (int)ltr[i]);
            goto done;
        }

    const ad_nn_layer_spec hidden[] = {{256, AD_ACT_RELU, 0, false, 0, false},
                                       {128, AD_ACT_RELU, 0, false, 0, false}};
    ad_nn_spec spec = {.inputs = in,
                       .n_hidden = 2,
                       .hidden = hidden,
                       .outputs = 10,
                       .head = AD_HEAD_SOFTMAX,
                       .seed = 1};
    ad_nn *m = ad_nn_new(&spec);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM,
                                            .lr = 1e-3,
                                            .schedule = AD_LR_COSINE,
                                            .total_epochs = epochs,
                                            .lr_min = 1e-5},
                           ps, np);
    if (!m || !o) {
        fprintf(stderr, "fashion_mnist: %s\n", ad_last_error());
        ad_opt_free(o);
        ad_nn_free(m);
        goto done;
    }
    size_t nval = ntr > 25000 ? 5000 : ntr / 5, nfit = ntr - nval;
    ad_nn_data train = {nfit, in, xtr, 0, NULL, ltr};
    ad_nn_data val = {nval, in, xtr + nfit * in, 0, NULL, ltr + nfit};
    ad_nn_data test = {nte, in, xte, 0, NULL, lte};
    char desc[128];
    ad_nn_describe(m, desc, sizeof desc);
    if (!quiet)
        fprintf(stderr,
                "fashion_mnist: %s, %zu weights, %zu train / %zu validation / %zu test, "
                "%d threads\n",
                desc, ad_nn_param_count(m), nfit, nval, nte, ad_get_num_threads());
    ad_nn_history hist = {0};
    ad_nn_train_opts to = {
        .epochs = epochs, .batch_size = batch, .seed = 7, .quiet = quiet, .name = "fashion"};
    if (ad_nn_train(m, o, &train, &val, &to, &hist) == AD_OK) {
        ad_tape *t = ad_tape_new();
        double loss, acc, secs = 0;
        if (ad_nn_evaluate(m, t, &test, 1000, &loss, &acc) == AD_OK) {
            for (size_t i = 0; i < hist.n; i++)
                secs += hist.seconds[i];
            printf("fashion_mnist: test accuracy %.2f%% (loss %.4f) after %zu epochs, "
                   "%.2f s per epoch\n",
                   100 * acc, loss, hist.n, secs / (double)hist.n);
            /* the 88 % bar is for the full data set, not a --limit run */
            rc = acc >= 0.88 || limit ? 0 : 1;
        } else {
            fprintf(stderr, "fashion_mnist: %s\n", ad_last_error());
        }
        ad_tape_free(t);
        if (plot &&
            ad_nn_history_svg(&hist, plot, "Fashion-MNIST: 784-256-128-10 ReLU, Adam") != AD_OK)
            fprintf(stderr, "fashion_mnist: %s\n", ad_last_error()), rc = 1;
        if (save && ad_nn_save(save, m, o) != AD_OK)
            fprintf(stderr, "fashion_mnist: %s\n", ad_last_error()), rc = 1;
    } else {
        fprintf(stderr, "fashion_mnist: %s\n", ad_last_error());
    }
    ad_nn_history_free(&hist);
    ad_opt_free(o);
    ad_nn_free(m);
done:
    ad_free(xtr), ad_free(ltr), ad_free(xte), ad_free(lte);
    return rc;
}
