/* SPDX-License-Identifier: MIT
 * A character-level GRU language model trained by truncated backpropagation
 * through time on the GNU GPL version 3 (/usr/share/common-licenses/GPL-3,
 * on every Debian machine): the text is cut into B parallel streams, read
 * in chunks of T characters; each chunk is one ad_gru node, and the hidden
 * state is carried from chunk to chunk as a constant (its value, with no
 * path back), so each backward sweep stays within its chunk. Prints the
 * loss per epoch in bits per character on the training text and on a
 * held-out tenth, a line sampled from the model, and writes the loss curves
 * as SVG. Exits 1 if the training loss did not fall.
 * Build: make examples; run: build/examples/char_rnn [TEXT] [--long]
 *        [--epochs N] [--hidden H] [--plot FILE.svg] (default char_rnn_loss.svg) */
#include "adtape.h"
#include "adtape/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TEXT "/usr/share/common-licenses/GPL-3"
#define MAX_TEXT     (4u << 20)

typedef struct model {
    size_t V, H;
    ad_param *p[6]; /* w_ih [3H,V], w_hh [3H,H], b_ih, b_hh [3H], w_out [V,H], b_out [V] */
    unsigned char chars[256]; /* index -> byte */
} model;

/* The text as indices into its sorted set of bytes; NULL if unreadable. */
static unsigned char *read_text(const char *path, size_t *n, model *m)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(MAX_TEXT);
    *n = buf ? fread(buf, 1, MAX_TEXT, f) : 0;
    fclose(f);
    int index[256] = {0};
    for (size_t i = 0; i < *n; i++)
        index[buf[i]] = 1;
    m->V = 0;
    for (int c = 0; c < 256; c++)
        if (index[c]) {
            m->chars[m->V] = (unsigned char)c;
            index[c] = (int)m->V++;
        }
    for (size_t i = 0; i < *n; i++)
        buf[i] = (unsigned char)index[buf[i]];
    return buf;
}

/* PyTorch's init for nn.GRU and nn.Linear: uniform(-1/sqrt(H), 1/sqrt(H)). */
static bool model_init(model *m, size_t H)
{
    m->H = H;
    size_t V = m->V, G = 3 * H;
    size_t dims[6][2] = {{G, V}, {G, H}, {G, 0}, {G, 0}, {V, H}, {V, 0}};
    for (int i = 0; i < 6; i++) {
        m->p[i] = ad_param_new(AD_F32, dims[i][1] ? 2 : 1, dims[i]);
        if (!m->p[i]) return false;
        ad_param_uniform(m->p[i], -1.0 / sqrt((double)H), 1.0 / sqrt((double)H), 7 + (uint64_t)i);
    }
    return true;
}

/* One chunk: x [T,B,V] one-hot, h0 [B,H] (values only), labels [T*B].
 * Returns the mean cross-entropy in nats (NaN on error, reported) and
 * leaves the last hidden state in h_last; with train, sweeps backward. */
static double chunk(ad_tape *t, model *m, const float *x, const float *h0, const int32_t *labels,
                    size_t T, size_t B, bool train, float *h_last)
{
    size_t V = m->V, H = m->H;
    ad_tape_reset(t);
    ad_tape_set_recording(t, train);
    ad_tensor w[6];
    for (int i = 0; i < 6; i++)
        w[i] = ad_param_use(t, m->p[i]);
    ad_tensor xs = ad_tensor_new(t, AD_F32, 3, (size_t[]){T, B, V}, x);
    /* the carried state enters as a constant: truncated BPTT stops here */
    ad_tensor h = ad_tensor_new(t, AD_F32, 2, (size_t[]){B, H}, h0);
    ad_tensor y = ad_gru(xs, h, w[0], w[1], w[2], w[3]); /* [T,B,H], one node */
    ad_tensor logits = ad_linear(ad_reshape(y, 2, (size_t[]){T * B, H}), w[4], w[5]);
    ad_tensor loss = ad_softmax_cross_entropy(logits, labels, T * B);
    ad_tensor last = ad_select(y, 0, T - 1); /* [B,H] */
    if (ad_tensor_ok(last)) memcpy(h_last, ad_tensor_data(last), B * H * sizeof *h_last);
    if (train && ad_backward(loss) != AD_OK) loss = ad_tensor_invalid(t);
    const char *msg;
    if (ad_tape_error(t, &msg) != AD_OK) {
        fprintf(stderr, "char_rnn: %s\n", msg);
        return NAN;
    }
    return ad_tensor_get(loss, 0);
}

/* One pass over text[0..n) as B streams in chunks of T characters; the
 * mean loss in bits per character. */
static double epoch(ad_tape *t, model *m, ad_opt *opt, const unsigned char *text, size_t n,
                    size_t T, size_t B, float *x, float *h, int32_t *labels)
{
    size_t V = m->V, L = n / B, chunks = (L - 1) / T;
    memset(h, 0, B * m->H * sizeof *h);
    double sum = 0.0;
    for (size_t c = 0; c < chunks; c++) {
        memset(x, 0, T * B * V * sizeof *x);
        for (size_t s = 0; s < T; s++)
            for (size_t b = 0; b < B; b++) {
                const unsigned char *p = text + b * L + c * T + s;
                x[(s * B + b) * V + p[0]] = 1.0f;
                labels[s * B + b] = p[1];
            }
        double l = chunk(t, m, x, h, labels, T, B, opt != NULL, h);
        if (!(l == l)) return NAN;
        if (opt) {
            ad_opt_step(opt);
            ad_opt_zero_grad(opt);
        }
        sum += l;
    }
    return sum / (double)chunks / log(2.0);
}

/* One step of the model on character c in evaluation mode: h [H] becomes
 * the next state and p [V] the next character's probabilities at
 * temperature 0.8; x [V] is zeros (scratch). False on error. */
static bool step(ad_tape *t, model *m, size_t c, float *x, float *h, float *p)
{
    size_t V = m->V, H = m->H;
    ad_tape_reset(t);
    ad_tape_set_recording(t, false);
    ad_tensor w[6];
    for (int k = 0; k < 6; k++)
        w[k] = ad_param_use(t, m->p[k]);
    x[c] = 1.0f;
    ad_tensor onehot = ad_tensor_new(t, AD_F32, 2, (size_t[]){1, V}, x); /* copies x */
    x[c] = 0.0f;
    ad_tensor hs = ad_tensor_new(t, AD_F32, 2, (size_t[]){1, H}, h);
    ad_tensor hn = ad_gru(onehot, hs, w[0], w[1], w[2], w[3]); /* one step: [1,H] */
    ad_tensor probs = ad_softmax(ad_tscale(ad_linear(hn, w[4], w[5]), 1.0 / 0.8), 1);
    if (!ad_tensor_ok(probs)) return false;
    memcpy(h, ad_tensor_data(hn), H * sizeof *h);
    memcpy(p, ad_tensor_data(probs), V * sizeof *p);
    return true;
}

/* The prompt, then characters sampled from the model up to a newline or
 * len of them. */
static void sample(ad_tape *t, model *m, const char *prompt, size_t len, uint64_t seed)
{
    size_t V = m->V;
    float *h = calloc(m->H, sizeof *h), *p = calloc(V, sizeof *p), *x = calloc(V, sizeof *x);
    ad_rng r;
    ad_rng_seed(&r, seed);
    bool ok = h && p && x;
    for (const char *s = prompt; ok && *s; s++) {
        size_t c = 0;
        while (c + 1 < V && m->chars[c] != (unsigned char)*s)
            c++;
        putchar(m->chars[c]);
        ok = step(t, m, c, x, h, p);
    }
    for (size_t i = 0; ok && i < len; i++) {
        double u = ad_rng_uniform(&r), acc = 0.0;
        size_t next = V - 1;
        for (size_t k = 0; k < V; k++)
            if ((acc += (double)p[k]) > u) {
                next = k;
                break;
            }
        if (m->chars[next] == '\n') break;
        putchar(m->chars[next]);
        ok = step(t, m, next, x, h, p);
    }
    putchar('\n');
    free(h);
    free(p);
    free(x);
}

int main(int argc, char **argv)
{
    const char *path = DEFAULT_TEXT, *plot = "char_rnn_loss.svg";
    size_t epochs = 8, H = 128, T = 32, B = 32;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--long") == 0)
            epochs = 30, H = 256; /* the run quoted in the README */
        else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
            epochs = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--hidden") == 0 && i + 1 < argc)
            H = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--plot") == 0 && i + 1 < argc)
            plot = argv[++i];
        else if (argv[i][0] != '-')
            path = argv[i];
        else {
            fprintf(stderr,
                    "usage: %s [TEXT] [--long] [--epochs N] [--hidden H] [--plot FILE.svg]\n",
                    argv[0]);
            return 2;
        }
    }
    model m = {0};
    size_t n = 0;
    unsigned char *text = read_text(path, &n, &m);
    size_t n_train = n / 10 * 9;
    if (!text || n_train / B < 2 * T + 2 || (n - n_train) / B < T + 2 || H == 0 || epochs == 0) {
        fprintf(stderr, "char_rnn: cannot read enough text from %s (or bad options)\n", path);
        free(text);
        return 1;
    }
    ad_opt_config oc = {.kind = AD_OPT_ADAM, .lr = 3e-3, .clip_norm = 5.0};
    ad_opt *opt = NULL;
    ad_tape *t = ad_tape_new();
    float *x = malloc(T * B * m.V * sizeof *x), *h = malloc(B * H * sizeof *h);
    int32_t *labels = malloc(T * B * sizeof *labels);
    double *train = calloc(epochs, sizeof *train), *val = calloc(epochs, sizeof *val);
    int rc = 1;
    if (!model_init(&m, H) || !(opt = ad_opt_new(&oc, m.p, 6)) || !t || !x || !h || !labels ||
        !train || !val) {
        fprintf(stderr, "char_rnn: out of memory\n");
        goto out;
    }
    printf("GRU language model on %s: %zu characters (%zu kinds), hidden %zu, "
           "T %zu, B %zu, Adam\n",
           path, n, m.V, H, T, B);
    for (size_t e = 0; e < epochs; e++) {
        clock_t c0 = clock();
        train[e] = epoch(t, &m, opt, text, n_train, T, B, x, h, labels);
        val[e] = epoch(t, &m, NULL, text + n_train, n - n_train, T, B, x, h, labels);
        if (!(train[e] == train[e]) || !(val[e] == val[e])) goto out;
        printf("epoch %2zu  train %.3f bits/char  held-out %.3f bits/char  (%.1f s cpu)\n", e + 1,
               train[e], val[e], (double)(clock() - c0) / CLOCKS_PER_SEC);
        fflush(stdout);
    }
    printf("sample: ");
    sample(t, &m, "This License", 160, 2026);
    ad_nn_series series[2] = {{"train", train, epochs}, {"held-out", val, epochs}};
    ad_nn_panel panel = {"cross-entropy", "bits per character", series, 2, false, false};
    if (ad_nn_plot_svg(plot, "char-level GRU on the GPL-3, truncated BPTT", &panel, 1) != AD_OK)
        fprintf(stderr, "char_rnn: %s\n", ad_last_error());
    else
        printf("loss curve: %s\n", plot);
    rc = epochs > 1 && !(train[epochs - 1] < train[0]);
    if (rc) fprintf(stderr, "char_rnn: the training loss did not fall\n");
out:
    for (int i = 0; i < 6; i++)
        ad_param_free(m.p[i]);
    ad_opt_free(opt);
    ad_tape_free(t);
    free(text);
    free(x);
    free(h);
    free(labels);
    free(train);
    free(val);
    return rc;
}
