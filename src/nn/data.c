/* SPDX-License-Identifier: MIT
 * Data for the MLP client: the shuffling PRNG, gathering rows into batch
 * tensors, accuracy, and the evaluation pass with recording off. Heap memory
 * comes from ad_alloc/ad_free, the library's allocator. */
#include "adtape/nn.h"
#include "nn_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ad_nn_shuffle(size_t *perm, size_t n, uint64_t seed, uint64_t epoch)
{
    if (!perm) return;
    /* the epoch's stream: the seed's first splitmix64 output, mixed with the epoch */
    ad_rng r;
    ad_rng_seed(&r, seed);
    ad_rng_seed(&r, r.s[0] ^ (epoch * 0xD1B54A32D192ED03ull));
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    /* Fisher-Yates: position i takes a uniform pick of the first i + 1 */
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ad_rng_below(&r, i);
        size_t tmp = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmp;
    }
}

/* ---- toy data */

/* arm c at angle th: radius th / th_max, rotated by c pi */
void ad_nn_make_spirals(size_t n, double turns, double noise, uint64_t seed, float *x,
                        int32_t *labels)
{
    if (!x || !labels) return;
    ad_rng r;
    ad_rng_seed(&r, seed);
    const double pi = 3.141592653589793, th0 = 0.5 * pi, th1 = th0 + 2 * pi * turns;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < 2; c++) {
            double th = th0 + (th1 - th0) * ((double)i + 0.5) / (double)n;
            double rad = th / th1, a = th + pi * (double)c;
            size_t k = 2 * i + c;
            x[2 * k] = (float)(rad * cos(a) + noise * (2 * ad_rng_uniform(&r) - 1));
            x[2 * k + 1] = (float)(rad * sin(a) + noise * (2 * ad_rng_uniform(&r) - 1));
            labels[k] = (int32_t)c;
        }
}

/* ---- batches */

ad_tensor ad_nn_gather(ad_tape *t, ad_dtype dt, const float *src, size_t cols, const size_t *idx,
                       size_t b, void **scratch, size_t *scratch_len)
{
    size_t dims[2] = {b, cols};
    if (!t) return ad_nn_fail(t, AD_ERR_INVALID, "ad_nn_gather: the tape is NULL");
    /* a failed tape or an unknown dtype: the constructor answers, copying nothing */
    if (ad_tape_error(t, NULL) != AD_OK || (dt != AD_F32 && dt != AD_F64))
        return ad_tensor_new(t, dt, 2, dims, NULL);
    const char *fn = "ad_nn_gather";
    if (!src || !scratch || !scratch_len)
        return ad_nn_fail(t, AD_ERR_INVALID, "%s: %s is NULL", fn,
                          !src       ? "src"
                          : !scratch ? "scratch"
                                     : "scratch_len");
    size_t es = dt == AD_F32 ? sizeof(float) : sizeof(double);
    /* nothing to copy: the tape's shape check judges [b, cols], so a huge
     * batch of empty rows is refused, never looped over */
    if (b == 0 || cols == 0) {
        ad_tensor empty = ad_tensor_new(t, dt, 2, dims, NULL);
        ad_tape_error_context(t, fn); /* a shape refused: "ad_nn_gather: ad_tensor_new: ..." */
        return empty;
    }
    if (b > SIZE_MAX / es / cols)
        return ad_nn_fail(t, AD_ERR_NOMEM, "%s: a [%zu,%zu] batch has more bytes than memory", fn,
                          b, cols);
    /* a row whose offset does not fit in a pointer difference lies past any buffer */
    size_t max_row = (size_t)PTRDIFF_MAX / sizeof(float) / cols;
    for (size_t r = 0; idx && r < b; r++)
        if (idx[r] >= max_row)
            return ad_nn_fail(t, AD_ERR_INVALID,
                              "%s: idx[%zu] = %zu is past any buffer of rows of %zu floats", fn, r,
                              idx[r], cols);
    size_t need = b * cols * es;
    if (need > *scratch_len) {
        void *p = ad_alloc(need); /* no copy: every byte is written below */
        if (!p)
            return ad_nn_fail(t, AD_ERR_NOMEM, "%s: out of memory for a [%zu,%zu] batch", fn, b,
                              cols);
        ad_free(*scratch);
        *scratch = p;
        *scratch_len = need;
    }
    for (size_t r = 0; r < b; r++) {
        const float *row = src + (idx ? idx[r] : r) * cols;
        if (dt == AD_F32)
            memcpy((float *)*scratch + r * cols, row, cols * sizeof(float));
        else
            for (size_t c = 0; c < cols; c++)
                ((double *)*scratch)[r * cols + c] = (double)row[c];
    }
    ad_tensor batch = ad_tensor_new(t, dt, 2, dims, *scratch);
    ad_tape_error_context(t, fn); /* the tape's memory ran out */
    return batch;
}

/* ---- metrics */

/* Number of correct predictions in logits [B, C]. */
static size_t count_correct(const ad_nn *m, ad_tensor logits, const float *targets,
                            const int32_t *labels)
{
    size_t dims[AD_MAX_DIMS];
    size_t nd = ad_tensor_shape(logits, dims);
    size_t rows = nd == 2 ? dims[0] : 1, c = nd == 2 ? dims[1] : dims[0];
    size_t correct = 0;
    if (ad_nn_get_spec(m)->head == AD_HEAD_SOFTMAX) {
        for (size_t r = 0; r < rows; r++) {
            size_t best = 0;
            double bv = ad_tensor_get(logits, r * c);
            for (size_t j = 1; j < c; j++) {
                double v = ad_tensor_get(logits, r * c + j);
                if (v > bv) bv = v, best = j;
            }
            correct += (int32_t)best == labels[r];
        }
    } else {
        for (size_t i = 0; i < rows * c; i++)
            correct += (ad_tensor_get(logits, i) > 0.0) == (targets[i] > 0.5f);
    }
    return correct;
}

double ad_nn_accuracy(const ad_nn *m, ad_tensor logits, const float *targets, const int32_t *labels)
{
    const ad_nn_spec *s = ad_nn_get_spec(m);
    if (!s) return (double)NAN;
    size_t n = ad_tensor_numel(logits);
    if (s->head == AD_HEAD_IDENTITY || n == 0) return (double)NAN;
    if (s->head == AD_HEAD_SOFTMAX ? !labels : !targets) return (double)NAN;
    /* [B, outputs] or one sample [outputs]: any other width would misread
     * the targets (and read past them) */
    size_t dims[AD_MAX_DIMS], nd = ad_tensor_shape(logits, dims);
    if (nd < 1 || nd > 2 || dims[nd - 1] != s->outputs) return (double)NAN;
    size_t total = s->head == AD_HEAD_SOFTMAX ? n / s->outputs : n;
    return (double)count_correct(m, logits, targets, labels) / (double)total;
}

static bool check_data(const ad_nn *m, const ad_nn_data *d, const char *fn)
{
    const ad_nn_spec *s = ad_nn_get_spec(m);
    if (!d || !d->x) return ad_nn_errf("%s: no data", fn), false;
    if (d->in != s->inputs)
        return ad_nn_errf("%s: data has %zu features, the model takes %zu", fn, d->in, s->inputs),
               false;
    if (s->head == AD_HEAD_SOFTMAX) {
        if (!d->labels) return ad_nn_errf("%s: softmax head needs labels", fn), false;
        if (!ad_nn_labels_ok(d->labels, d->n, s->outputs, fn, "")) return false;
    } else if (!d->y || d->out != s->outputs) {
        return ad_nn_errf("%s: the %s head needs targets of width %zu", fn,
                          ad_nn_head_name(s->head), s->outputs),
               false;
    }
    return true;
}

ad_status ad_nn_evaluate(ad_nn *m, ad_tape *t, const ad_nn_data *d, size_t batch, double *loss,
                         double *acc)
{
    const char *fn = "ad_nn_evaluate";
    ad_set_last_error(NULL);
    if (!m || !t) return ad_nn_errf("%s: model or tape is NULL", fn), AD_ERR_INVALID;
    if (!check_data(m, d, fn)) return AD_ERR_INVALID;
    const ad_nn_spec *s = ad_nn_get_spec(m);
    if (batch == 0) batch = 256;
    void *sx = NULL, *sy = NULL;
    size_t lx = 0, ly = 0, correct = 0;
    double total = 0.0;
    ad_status st = AD_OK;
    ad_tape_reset(t);
    bool was = ad_tape_set_recording(t, false), training = ad_nn_set_training(m, false);
    for (size_t start = 0; start < d->n; start += batch) {
        size_t b = d->n - start < batch ? d->n - start : batch;
        ad_tensor x = ad_nn_gather(t, s->dtype, d->x + start * d->in, d->in, NULL, b, &sx, &lx);
        ad_tensor y = AD_TENSOR_NONE; /* softmax: labels, no target */
        const float *yrow = d->y ? d->y + start * d->out : NULL;
        const int32_t *lab = d->labels ? d->labels + start : NULL;
        if (s->head != AD_HEAD_SOFTMAX)
            y = ad_nn_gather(t, s->dtype, yrow, d->out, NULL, b, &sy, &ly);
        ad_tensor z = ad_nn_forward(m, x);
        ad_tensor l = ad_nn_loss(m, z, y, lab);
        const char *msg;
        if ((st = ad_tape_error(t, &msg)) != AD_OK) {
            ad_nn_errf("%s: %s", fn, msg);
            break;
        }
        total += ad_tensor_get(l, 0) * (double)b;
        if (s->head != AD_HEAD_IDENTITY) correct += count_correct(m, z, yrow, lab);
        ad_tape_reset(t);
    }
    ad_tape_set_recording(t, was);
    ad_nn_set_training(m, training);
    ad_tape_reset(t);
    ad_free(sx);
    ad_free(sy);
    if (st != AD_OK) return st;
    size_t per = s->head == AD_HEAD_SOFTMAX ? 1 : s->outputs;
    if (loss) *loss = d->n ? total / (double)d->n : (double)NAN;
    if (acc)
        *acc = s->head == AD_HEAD_IDENTITY || d->n == 0 ? (double)NAN
                                                        : (double)correct / (double)(d->n * per);
    return AD_OK;
}
