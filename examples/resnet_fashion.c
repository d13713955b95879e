/* SPDX-License-Identifier: MIT
 * A small residual CNN on Fashion-MNIST, wired by hand from engine ops: a
 * conv-BN-ReLU stem (16 channels, 28x28), three residual blocks (16 at
 * 28x28 with an identity skip, 32 at 14x14 and 64 at 7x7 with 1x1 stride-2
 * projections where the shape changes), global average pooling and a linear
 * head; SGD with Nesterov momentum, weight decay on the convolution and head
 * weights only, a cosine learning-rate schedule, random horizontal flips and
 * shifts. Batch norm runs in training mode on the batches and in evaluation
 * mode (running statistics) on the test set. Prints the training loss, test
 * accuracy and seconds per epoch and writes the curves as SVG.
 * Build: make examples; run: build/examples/resnet_fashion [DIR] [--epochs N]
 *        [--limit N] [--test-limit N] [--batch B] [--lr LR] [--width W]
 *        [--shift P] [--plot FILE.svg] [--min-acc A] [--skip-missing]
 * Exits 1 when the test accuracy ends below A (a fraction; default 0.92 for
 * the full run, the full sets and at least the default epochs, else 0). */
#include "adtape.h"
#include "adtape/data.h"
#include "adtape/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_DIR    "/usr/share/datasets/fashion-mnist"
#define DEFAULT_EPOCHS 15
#define PATH_LEN       1024
#define SIDE           28
#define PIXELS         (SIDE * SIDE)
#define CLASSES        10
#define MAX_PARAMS     64
/* Fashion-MNIST's pixel mean and standard deviation (on [0, 1]) */
#define PIX_MEAN 0.2860f
#define PIX_STD  0.3530f

/* ------------------------------------------------------------- the model */

typedef struct bnorm {
    ad_param *w, *b;   /* affine gain (1) and shift (0), trained */
    ad_param *rm, *rv; /* running mean (0) and variance (1), updated in training */
} bnorm;

typedef struct block {
    size_t stride;
    ad_param *c1, *c2, *proj; /* 3x3, 3x3, and 1x1 (NULL for an identity skip) */
    bnorm n1, n2, np;
} block;

typedef struct net {
    ad_param *stem, *fc_w, *fc_b;
    bnorm stem_n;
    block blk[3];
    ad_param *all[MAX_PARAMS];      /* trained */
    ad_param *no_decay[MAX_PARAMS]; /* BN gains and shifts, the head's bias */
    ad_param *stats[MAX_PARAMS];    /* running statistics (freed, not trained) */
    size_t n_all, n_no_decay, n_stats;
    uint64_t seed;
} net;

static ad_param *add_param(net *m, size_t ndim, const size_t *dims, bool decay)
{
    ad_param *p = ad_param_new(AD_F32, ndim, dims);
    if (!p) return NULL;
    m->all[m->n_all++] = p;
    if (!decay) m->no_decay[m->n_no_decay++] = p;
    return p;
}

/* A bias-free convolution with He initialisation: normal(0, sqrt(2 / fan_in)). */
static ad_param *conv_param(net *m, size_t out, size_t in, size_t k)
{
    ad_param *p = add_param(m, 4, (size_t[]){out, in, k, k}, true);
    if (p) ad_param_normal(p, 0, sqrt(2.0 / (double)(in * k * k)), m->seed++);
    return p;
}

static bool bnorm_init(net *m, bnorm *n, size_t c)
{
    n->w = add_param(m, 1, &c, false);
    n->b = add_param(m, 1, &c, false);
    n->rm = ad_param_new(AD_F32, 1, &c);
    n->rv = ad_param_new(AD_F32, 1, &c);
    if (n->rm) m->stats[m->n_stats++] = n->rm;
    if (n->rv) m->stats[m->n_stats++] = n->rv;
    if (!n->w || !n->b || !n->rm || !n->rv) return false;
    ad_param_uniform(n->w, 1, 1, 0); /* gain 1; the shift and mean stay 0 */
    ad_param_uniform(n->rv, 1, 1, 0);
    return true;
}

static bool net_init(net *m, size_t width)
{
    memset(m, 0, sizeof *m);
    m->seed = 11;
    size_t w[4] = {width, width, 2 * width, 4 * width}; /* stem, then the blocks */
    if (!(m->stem = conv_param(m, w[0], 1, 3)) || !bnorm_init(m, &m->stem_n, w[0])) return false;
    for (int i = 0; i < 3; i++) {
        block *b = &m->blk[i];
        size_t in = w[i], out = w[i + 1];
        b->stride = in == out ? 1 : 2;
        if (!(b->c1 = conv_param(m, out, in, 3)) || !bnorm_init(m, &b->n1, out) ||
            !(b->c2 = conv_param(m, out, out, 3)) || !bnorm_init(m, &b->n2, out))
            return false;
        if (b->stride != 1 || in != out)
            if (!(b->proj = conv_param(m, out, in, 1)) || !bnorm_init(m, &b->np, out)) return false;
    }
    double r = 1.0 / sqrt((double)w[3]); /* PyTorch's nn.Linear init */
    m->fc_w = add_param(m, 2, (size_t[]){CLASSES, w[3]}, true);
    m->fc_b = add_param(m, 1, (size_t[]){CLASSES}, false);
    if (!m->fc_w || !m->fc_b) return false;
    ad_param_uniform(m->fc_w, -r, r, m->seed++);
    ad_param_uniform(m->fc_b, -r, r, m->seed++);
    return true;
}

static void net_free(net *m)
{
    for (size_t i = 0; i < m->n_all; i++)
        ad_param_free(m->all[i]);
    for (size_t i = 0; i < m->n_stats; i++)
        ad_param_free(m->stats[i]);
}

/* conv (k x k, padding k / 2) -> batch norm -> ReLU (when relu) */
static ad_tensor conv_bn(ad_tape *t, ad_tensor x, ad_param *w, size_t k, size_t stride,
                         const bnorm *n, bool training, bool relu)
{
    ad_conv_opts o = AD_CONV_OPTS_DEFAULT;
    o.stride[0] = o.stride[1] = stride;
    o.padding[0] = o.padding[1] = k / 2;
    ad_tensor y = ad_conv2d(x, ad_param_use(t, w), AD_TENSOR_NONE, &o);
    y = ad_batch_norm(y, ad_param_use(t, n->w), ad_param_use(t, n->b), n->rm, n->rv, training, 0.1,
                      1e-5);
    return relu ? ad_relu(y) : y;
}

/* x [B,1,28,28] -> logits [B,10] */
static ad_tensor forward(ad_tape *t, const net *m, ad_tensor x, bool training)
{
    ad_tensor h = conv_bn(t, x, m->stem, 3, 1, &m->stem_n, training, true);
    for (int i = 0; i < 3; i++) {
        const block *b = &m->blk[i];
        ad_tensor y = conv_bn(t, h, b->c1, 3, b->stride, &b->n1, training, true);
        y = conv_bn(t, y, b->c2, 3, 1, &b->n2, training, false);
        ad_tensor skip =
            b->proj ? conv_bn(t, h, b->proj, 1, b->stride, &b->np, training, false) : h;
        h = ad_relu(ad_tadd(y, skip));
    }
    return ad_linear(ad_global_avg_pool2d(h), ad_param_use(t, m->fc_w), ad_param_use(t, m->fc_b));
}

/* ------------------------------------------------------------------ data */

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/name or else dir/name.gz into path: 1 when one exists, 0 when
 * neither does, -1 when the path is too long (reported). */
static int locate(const char *dir, const char *name, char *path)
{
    if (snprintf(path, PATH_LEN - 3, "%s/%s", dir, name) >= PATH_LEN - 3)
        return fprintf(stderr, "resnet_fashion: %s: path too long\n", dir), -1;
    if (exists(path)) return 1;
    strcat(path, ".gz");
    return exists(path) ? 1 : 0;
}

/* Image src (28x28 on [0, 1]) into dst, normalised, mirrored left-right
 * when flip, shifted by (dy, dx) with the background (0) coming in. */
static void put_image(float *dst, const float *src, bool flip, int dy, int dx)
{
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            int sy = y - dy, sx = x - dx;
            float v = 0;
            if (sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE)
                v = src[sy * SIDE + (flip ? SIDE - 1 - sx : sx)];
            dst[y * SIDE + x] = (v - PIX_MEAN) / PIX_STD;
        }
}

static double now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reports a failed tape; returns false then. */
static bool tape_ok(ad_tape *t)
{
    const char *msg;
    if (ad_tape_error(t, &msg) == AD_OK) return true;
    fprintf(stderr, "resnet_fashion: %s\n", msg);
    return false;
}

/* Loss and accuracy on n images in evaluation mode (running statistics, no
 * recording), in chunks of `chunk`. false on an error (reported). */
static bool evaluate(ad_tape *t, const net *m, const float *xs, const int32_t *ls, size_t n,
                     size_t chunk, float *buf, double *loss, double *acc)
{
    double sum = 0;
    size_t right = 0;
    bool was = ad_tape_set_recording(t, false);
    for (size_t i = 0; i < n; i += chunk) {
        size_t b = n - i < chunk ? n - i : chunk;
        for (size_t j = 0; j < b; j++)
            put_image(buf + j * PIXELS, xs + (i + j) * PIXELS, false, 0, 0);
        ad_tape_reset(t);
        ad_tensor x = ad_tensor_new(t, AD_F32, 4, (size_t[]){b, 1, SIDE, SIDE}, buf);
        ad_tensor z = forward(t, m, x, false);
        ad_tensor l = ad_softmax_cross_entropy(z, ls + i, b);
        if (!tape_ok(t)) return ad_tape_set_recording(t, was), false;
        const float *zv = ad_tensor_data(z);
        for (size_t j = 0; j < b; j++) {
            size_t best = 0;
            for (size_t c = 1; c < CLASSES; c++)
                if (zv[j * CLASSES + c] > zv[j * CLASSES + best]) best = c;
            right += (int32_t)best == ls[i + j];
        }
        sum += ad_tensor_get(l, 0) * (double)b;
    }
    ad_tape_set_recording(t, was);
    *loss = sum / (double)n;
    *acc = (double)right / (double)n;
    return true;
}

/* ------------------------------------------------------------------ main */

typedef struct run_opts {
    const char *dir, *plot;
    size_t epochs, limit, test_limit, batch, width, shift;
    double lr, min_acc;
    bool skip_missing;
} run_opts;

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [DIR] [--epochs N] [--limit N] [--test-limit N] [--batch B] [--lr LR]\n"
            "       [--width W] [--shift P] [--plot FILE.svg] [--min-acc A] [--skip-missing]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv)
{
    run_opts ro = {DEFAULT_DIR, "resnet_fashion.svg", DEFAULT_EPOCHS, 0, 0, 128, 16, 2, 0.1, -1,
                   false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool val = i + 1 < argc;
        if (strcmp(a, "--epochs") == 0 && val)
            ro.epochs = strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--limit") == 0 && val)
            ro.limit = strtoul(argv[++i], NULL, 10); /* the first N training images */
        else if (strcmp(a, "--test-limit") == 0 && val)
            ro.test_limit = strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--batch") == 0 && val)
            ro.batch = strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--width") == 0 && val)
            ro.width = strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--shift") == 0 && val)
            ro.shift = strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--lr") == 0 && val)
            ro.lr = strtod(argv[++i], NULL);
        else if (strcmp(a, "--min-acc") == 0 && val)
            ro.min_acc = strtod(argv[++i], NULL);
        else if (strcmp(a, "--plot") == 0 && val)
            ro.plot = argv[++i];
        else if (strcmp(a, "--skip-missing") == 0)
            ro.skip_missing = true;
        else if (a[0] != '-')
            ro.dir = a;
        else
            return usage(argv[0]);
    }
    if (ro.epochs == 0 || ro.batch < 2 || ro.width == 0 || ro.width > 256 || ro.shift > 8 ||
        !(ro.lr > 0)) {
        fprintf(stderr, "resnet_fashion: need epochs >= 1, batch >= 2 (batch norm), width 1..256, "
                        "shift 0..8 and lr > 0\n");
        return 2;
    }

    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char paths[4][PATH_LEN];
    for (int i = 0; i < 4; i++) {
        int found = locate(ro.dir, names[i], paths[i]);
        if (found == 0) {
            fprintf(stderr,
                    "resnet_fashion: %s/%s[.gz] not found. Install the data set with\n"
                    "    sudo apt-get install -y dataset-fashion-mnist\n"
                    "or pass the directory that holds the four IDX files.%s\n",
                    ro.dir, names[i], ro.skip_missing ? " Skipped." : "");
            return ro.skip_missing ? 0 : 1;
        }
        if (found < 0) return 1;
    }

    float *xtr = NULL, *xte = NULL, *buf = NULL;
    int32_t *ltr = NULL, *lte = NULL, *lb = NULL;
    size_t *order = NULL;
    size_t ntr, nte, nltr, nlte, rows, cols, r2, c2;
    ad_tape *t = NULL;
    ad_opt *o = NULL;
    net m;
    memset(&m, 0, sizeof m);
    ad_nn_history hist = {0};
    int rc = 1;
    if (ad_idx_read_images(paths[0], &xtr, &ntr, &rows, &cols) != AD_OK ||
        ad_idx_read_labels(paths[1], &ltr, &nltr) != AD_OK ||
        ad_idx_read_images(paths[2], &xte, &nte, &r2, &c2) != AD_OK ||
        ad_idx_read_labels(paths[3], &lte, &nlte) != AD_OK) {
        fprintf(stderr, "resnet_fashion: %s\n", ad_last_error());
        goto done;
    }
    if (ntr != nltr || nte != nlte || rows != SIDE || cols != SIDE || r2 != SIDE || c2 != SIDE) {
        fprintf(stderr,
                "resnet_fashion: expected 28x28 images with one label each; got %zu of %zux%zu "
                "with %zu labels (training) and %zu of %zux%zu with %zu labels (test)\n",
                ntr, rows, cols, nltr, nte, r2, c2, nlte);
        goto done;
    }
    for (size_t i = 0; i < ntr + nte; i++) {
        int32_t l = i < ntr ? ltr[i] : lte[i - ntr];
        if (l < 0 || l >= CLASSES) {
            fprintf(stderr, "resnet_fashion: label %d out of range\n", (int)l);
            goto done;
        }
    }
    if (ro.limit) ntr = ntr < ro.limit ? ntr : ro.limit;
    if (ro.test_limit) nte = nte < ro.test_limit ? nte : ro.test_limit;
    if (ntr < ro.batch) ro.batch = ntr;
    size_t chunk = 500;
    buf = ad_alloc((ro.batch > chunk ? ro.batch : chunk) * PIXELS * sizeof *buf);
    lb = ad_alloc(ro.batch * sizeof *lb);
    order = ad_alloc(ntr * sizeof *order);
    t = ad_tape_new();
    if (!buf || !lb || !order || !t || !net_init(&m, ro.width)) {
        fprintf(stderr, "resnet_fashion: out of memory\n");
        goto done;
    }
    /* weight decay on the convolutions and the head's weights, not on the
     * batch-norm gains and shifts or the bias: decaying those only fights
     * the normalisation */
    o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_NESTEROV,
                                    .lr = ro.lr,
                                    .momentum = 0.9,
                                    .weight_decay = 5e-4,
                                    .schedule = AD_LR_COSINE,
                                    .total_epochs = ro.epochs,
                                    .lr_min = ro.lr * 1e-3},
                   m.all, m.n_all);
    if (!o || ad_opt_set_decay(o, m.no_decay, m.n_no_decay, 0) != AD_OK) {
        fprintf(stderr, "resnet_fashion: %s\n", ad_last_error());
        goto done;
    }
    size_t nweights = 0;
    for (size_t i = 0; i < m.n_all; i++)
        nweights += ad_param_numel(m.all[i]);
    printf("resnet_fashion: stem %zu, blocks %zu/%zu/%zu channels, %zu weights; %zu train / %zu "
           "test images, batch %zu, %zu epochs, %d threads\n",
           ro.width, ro.width, 2 * ro.width, 4 * ro.width, nweights, ntr, nte, ro.batch, ro.epochs,
           ad_get_num_threads());

    ad_rng rng;
    ad_rng_seed(&rng, 2024);
    for (size_t i = 0; i < ntr; i++)
        order[i] = i;
    double total_secs = 0, test_acc = 0;
    for (size_t e = 0; e < ro.epochs; e++) {
        double t0 = now(), loss_sum = 0;
        size_t right = 0, seen = 0;
        ad_opt_set_epoch(o, e);
        for (size_t i = ntr - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = (size_t)ad_rng_below(&rng, i + 1), s = order[i];
            order[i] = order[j], order[j] = s;
        }
        /* whole batches only: a last batch of one would leave batch norm
         * without statistics */
        for (size_t i = 0; i + ro.batch <= ntr; i += ro.batch) {
            size_t b = ro.batch;
            for (size_t j = 0; j < b; j++) {
                size_t k = order[i + j];
                int span = 2 * (int)ro.shift + 1;
                int dy = (int)ad_rng_below(&rng, (uint64_t)span) - (int)ro.shift;
                int dx = (int)ad_rng_below(&rng, (uint64_t)span) - (int)ro.shift;
                put_image(buf + j * PIXELS, xtr + k * PIXELS, ad_rng_below(&rng, 2), dy, dx);
                lb[j] = ltr[k];
            }
            ad_tape_reset(t);
            ad_tensor x = ad_tensor_new(t, AD_F32, 4, (size_t[]){b, 1, SIDE, SIDE}, buf);
            ad_tensor z = forward(t, &m, x, true);
            ad_tensor l = ad_softmax_cross_entropy(z, lb, b);
            ad_opt_zero_grad(o);
            if (ad_backward(l) != AD_OK || !tape_ok(t)) goto done;
            ad_opt_step(o);
            double lv = ad_tensor_get(l, 0);
            if (!isfinite(lv)) {
                fprintf(stderr, "resnet_fashion: loss %g at epoch %zu, batch %zu\n", lv, e + 1,
                        i / b + 1);
                goto done;
            }
            const float *zv = ad_tensor_data(z);
            for (size_t j = 0; j < b; j++) {
                size_t best = 0;
                for (size_t c = 1; c < CLASSES; c++)
                    if (zv[j * CLASSES + c] > zv[j * CLASSES + best]) best = c;
                right += (int32_t)best == lb[j];
            }
            loss_sum += lv * (double)b;
            seen += b;
        }
        double secs = now() - t0, test_loss;
        total_secs += secs;
        if (!evaluate(t, &m, xte, lte, nte, chunk, buf, &test_loss, &test_acc)) goto done;
        double train_loss = loss_sum / (double)seen, train_acc = (double)right / (double)seen;
        printf("epoch %2zu  lr %.4f  train loss %.4f  acc %.2f%%  test loss %.4f  acc %.2f%%  "
               "%.1f s\n",
               e + 1, ad_opt_lr(o), train_loss, 100 * train_acc, test_loss, 100 * test_acc, secs);
        fflush(stdout);
        if (!ad_nn_history_push(&hist, train_loss, train_acc, test_loss, test_acc, secs)) {
            fprintf(stderr, "resnet_fashion: out of memory\n");
            goto done;
        }
    }
    printf("resnet_fashion: test accuracy %.2f%% after %zu epochs, %.1f s per epoch (training)\n",
           100 * test_acc, ro.epochs, total_secs / (double)ro.epochs);

    const ad_nn_series loss_s[2] = {{"train", hist.train_loss, hist.n},
                                    {"test", hist.val_loss, hist.n}};
    const ad_nn_series acc_s[2] = {{"train", hist.train_acc, hist.n},
                                   {"test", hist.val_acc, hist.n}};
    const ad_nn_panel panels[2] = {{"cross-entropy", "loss", loss_s, 2, true, false},
                                   {"accuracy", "fraction right", acc_s, 2, false, false}};
    if (ro.plot) {
        if (ad_nn_plot_svg(ro.plot, "Fashion-MNIST: residual CNN, SGD + Nesterov, cosine lr",
                           panels, 2) != AD_OK) {
            fprintf(stderr, "resnet_fashion: %s\n", ad_last_error());
            goto done;
        }
        printf("curves: %s\n", ro.plot);
    }
    if (ro.min_acc < 0) {
        bool full = !ro.limit && !ro.test_limit && ro.epochs >= DEFAULT_EPOCHS;
        ro.min_acc = full ? 0.92 : 0;
    }
    rc = test_acc < ro.min_acc;
    if (rc)
        fprintf(stderr, "resnet_fashion: test accuracy %.2f%% is below the bar of %.2f%%\n",
                100 * test_acc, 100 * ro.min_acc);
done:
    ad_nn_history_free(&hist);
    ad_opt_free(o);
    net_free(&m);
    ad_tape_free(t);
    ad_free(buf), ad_free(lb), ad_free(order);
    ad_free(xtr), ad_free(ltr), ad_free(xte), ad_free(lte);
    return rc;
}
