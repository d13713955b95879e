/* SPDX-License-Identifier: MIT
 * examples/fashion_mnist.c on several processes: the same 784-256-128-10
 * ReLU MLP and Adam, data-parallel over MPI. Every rank reads the IDX
 * files, takes its share of every global batch, and the gradients are
 * reduced in buckets while the backward sweep runs, so the weights follow
 * the one-process run's (up to rounding) and so does the accuracy. Rank 0
 * alone prints, plots and writes the model file.
 * Build: make MPI=1 examples
 * Run:   mpirun -np 2 build/examples/mpi_fashion_mnist [DIR] [--epochs N]
 *        [--batch B] [--plot curve.svg] [--save model.adt] [--limit N]
 *        [--deterministic] [--quiet] */
#include "adtape.h"
#include "adtape/data.h"
#include "adtape/mpi.h"
#include "adtape/nn.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define PATH_LEN    1024

/* The four files, gzipped (as Debian ships them) or not; every rank reads
 * them, so the directory must be visible to all (a shared file system). */
static bool load(const char *dir, float **x, int32_t **l, size_t *n, float **xt, int32_t **lt,
                 size_t *nt, size_t *in)
{
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char p[4][PATH_LEN];
    for (int i = 0; i < 4; i++) {
        snprintf(p[i], PATH_LEN, "%s/%s.gz", dir, names[i]);
        FILE *f = fopen(p[i], "rb");
        if (f)
            fclose(f);
        else
            snprintf(p[i], PATH_LEN, "%s/%s", dir, names[i]);
    }
    size_t rows, cols, r2, c2, nl, ntl;
    if (ad_idx_read_images(p[0], x, n, &rows, &cols) != AD_OK ||
        ad_idx_read_labels(p[1], l, &nl) != AD_OK ||
        ad_idx_read_images(p[2], xt, nt, &r2, &c2) != AD_OK ||
        ad_idx_read_labels(p[3], lt, &ntl) != AD_OK)
        return false;
    if (nl != *n || ntl != *nt || rows * cols != r2 * c2 || *n < 10) {
        ad_set_last_error("mpi_fashion_mnist: the image and label files do not match");
        return false;
    }
    *in = rows * cols;
    return true;
}

int main(int argc, char **argv)
{
    int provided, rank, size, local;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* the cores of a machine shared by the ranks on it */
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    if (!getenv("ADTAPE_NUM_THREADS"))
        ad_set_num_threads(ad_get_num_threads() / local > 1 ? ad_get_num_threads() / local : 1);

    const char *dir = DEFAULT_DIR, *plot = NULL, *save = NULL;
    size_t epochs = 10, batch = 128, limit = 0;
    bool quiet = false, det = false;
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
            limit = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--deterministic") == 0)
            det = true;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = true;
        else
            dir = argv[i];
    }
    float *xtr = NULL, *xte = NULL;
    int32_t *ltr = NULL, *lte = NULL;
    size_t ntr = 0, nte = 0, in = 0;
    int rc = 1;
    /* a rank that cannot read the data stops every rank, saying which */
    ad_status st = load(dir, &xtr, &ltr, &ntr, &xte, &lte, &nte, &in) ? AD_OK : AD_ERR_IO;
    if ((st = ad_mpi_agree(st, MPI_COMM_WORLD)) != AD_OK) {
        if (rank == 0)
            fprintf(stderr,
                    "mpi_fashion_mnist: %s\n(install the data set with: sudo apt-get install "
                    "-y dataset-fashion-mnist, or pass its directory)\n",
                    ad_last_error());
        goto done;
    }
    if (limit >= 10) {
        ntr = ntr < limit ? ntr : limit;
        nte = nte < limit ? nte : limit;
    }

    const ad_nn_layer_spec hidden[] = {{256, AD_ACT_RELU, 0, false, 0, false},
                                       {128, AD_ACT_RELU, 0, false, 0, false}};
    ad_nn_spec spec = {.inputs = in,
                       .n_hidden = 2,
                       .hidden = hidden,
                       .outputs = 10,
                       .head = AD_HEAD_SOFTMAX,
                       .seed = 1};
    ad_nn *m = ad_nn_new(&spec); /* the same seed: the same weights on every rank */
    size_t np;
    ad_param *const *ps = m ? ad_nn_params(m, &np) : NULL;
    ad_opt *o = m ? ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM,
                                                .lr = 1e-3,
                                                .schedule = AD_LR_COSINE,
                                                .total_epochs = epochs,
                                                .lr_min = 1e-5},
                               ps, np)
                  : NULL;
    st = ad_mpi_agree(m && o ? AD_OK : AD_ERR_NOMEM, MPI_COMM_WORLD);
    ad_mpi_opts mo = {.deterministic = det};
    ad_nn_dist *d = st == AD_OK ? ad_mpi_nn_dist_new(m, MPI_COMM_WORLD, &mo) : NULL;
    if (!d) {
        if (rank == 0) fprintf(stderr, "mpi_fashion_mnist: %s\n", ad_last_error());
        ad_opt_free(o);
        ad_nn_free(m);
        goto done;
    }
    size_t nval = ntr > 25000 ? 5000 : ntr / 5, nfit = ntr - nval;
    ad_nn_data train = {nfit, in, xtr, 0, NULL, ltr};
    ad_nn_data val = {nval, in, xtr + nfit * in, 0, NULL, ltr + nfit};
    ad_nn_data test = {nte, in, xte, 0, NULL, lte};
    if (!quiet && rank == 0)
        fprintf(stderr, "mpi_fashion_mnist: %d ranks x %d threads, %zu train / %zu validation\n",
                size, ad_get_num_threads(), nfit, nval);
    ad_nn_history hist = {0};
    ad_nn_train_opts to = {.epochs = epochs,
                           .batch_size = batch,
                           .seed = 7,
                           .quiet = quiet,
                           .name = "fashion",
                           .dist = d};
    if ((st = ad_nn_train(m, o, &train, &val, &to, &hist)) == AD_OK) {
        ad_mpi_grads_stats s = ad_mpi_grads_stats_get(ad_mpi_nn_dist_grads(d));
        ad_tape *t = ad_tape_new();
        double loss, acc;
        if (rank == 0 && ad_nn_evaluate(m, t, &test, 1000, &loss, &acc) == AD_OK) {
            printf("mpi_fashion_mnist: test accuracy %.2f%% (loss %.4f) after %zu epochs on %d "
                   "ranks, %.3f ms waiting for MPI per step\n",
                   100 * acc, loss, hist.n, size, 1e3 * s.wait_seconds / (double)s.steps);
            rc = acc >= 0.88 || limit ? 0 : 1;
        }
        ad_tape_free(t);
        if (rank == 0 && plot &&
            ad_nn_history_svg(&hist, plot, "Fashion-MNIST on MPI: 784-256-128-10 ReLU, Adam") !=
                AD_OK)
            fprintf(stderr, "mpi_fashion_mnist: %s\n", ad_last_error()), rc = 1;
        if (save && ad_mpi_nn_save(save, m, o, 0, MPI_COMM_WORLD) != AD_OK && rank == 0)
            fprintf(stderr, "mpi_fashion_mnist: %s\n", ad_last_error()), rc = 1;
    } else if (rank == 0) {
        fprintf(stderr, "mpi_fashion_mnist: %s\n", ad_last_error());
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    ad_nn_history_free(&hist);
    ad_mpi_nn_dist_free(d);
    ad_opt_free(o);
    ad_nn_free(m);
done:
    ad_free(xtr), ad_free(ltr), ad_free(xte), ad_free(lte);
    MPI_Finalize();
    return rc;
}
