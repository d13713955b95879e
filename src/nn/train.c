/* SPDX-License-Identifier: MIT
 * The mini-batch training loop and its per-epoch history. It owns one tape,
 * reset every step, so after the first batch a step makes no heap allocation
 * in the engine; its own buffers come from ad_alloc/ad_free, as the engine's do.
 * Progress lines go to stderr: this is the client, not the library core. */
#include "adtape/nn.h"
#include "nn_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool ad_nn_history_push(ad_nn_history *h, double train_loss, double train_acc, double val_loss,
                        double val_acc, double seconds)
{
    if (!h) return false;
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        double **arrays[5] = {&h->train_loss, &h->train_acc, &h->val_loss, &h->val_acc,
                              &h->seconds};
        for (int i = 0; i < 5; i++) {
            double *p = ad_realloc(*arrays[i], h->cap * sizeof *p, cap * sizeof *p);
            if (!p) return false; /* arrays already grown keep their data */
            *arrays[i] = p;
        }
        h->cap = cap;
    }
    h->train_loss[h->n] = train_loss;
    h->train_acc[h->n] = train_acc;
    h->val_loss[h->n] = val_loss;
    h->val_acc[h->n] = val_acc;
    h->seconds[h->n] = seconds;
    h->n++;
    return true;
}

void ad_nn_history_free(ad_nn_history *h)
{
    if (!h) return;
    ad_free(h->train_loss);
    ad_free(h->train_acc);
    ad_free(h->val_loss);
    ad_free(h->val_acc);
    ad_free(h->seconds);
    memset(h, 0, sizeof *h);
}

static bool data_fits(const ad_nn *m, const ad_nn_data *d, const char *what)
{
    const ad_nn_spec *s = ad_nn_get_spec(m);
    if (!d->x) return ad_nn_errf("ad_nn_train: %s data has no inputs (x is NULL)", what), false;
    if (d->in != s->inputs)
        return ad_nn_errf("ad_nn_train: %s data has %zu features, the model takes %zu", what, d->in,
                          s->inputs),
               false;
    if (s->head == AD_HEAD_SOFTMAX && !d->labels)
        return ad_nn_errf("ad_nn_train: %s data lacks the softmax head's targets (labels)", what),
               false;
    if (s->head != AD_HEAD_SOFTMAX && (!d->y || d->out != s->outputs))
        return ad_nn_errf("ad_nn_train: %s data lacks the %s head's targets (targets of width "
                          "%zu; the data has %s of width %zu)",
                          what, ad_nn_head_name(s->head), s->outputs, d->y ? "targets" : "none",
                          d->out),
               false;
    /* every label before the first step: a bad one found mid-epoch would
     * leave the model trained on the batches before it */
    if (s->head == AD_HEAD_SOFTMAX) {
        char whose[32];
        snprintf(whose, sizeof whose, "%s data: ", what);
        if (!ad_nn_labels_ok(d->labels, d->n, s->outputs, "ad_nn_train", whose)) return false;
    }
    return true;
}

/* An optimizer over other parameters would step those, leave m's gradients
 * to pile up, and report a loss that never moves. */
static bool opt_covers(const ad_nn *m, const ad_opt *o)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t i = 0; i < np; i++)
        if (!ad_nn_opt_has(o, ps[i]))
            return ad_nn_errf(
                       "ad_nn_train: the optimizer does not update the model's parameter %zu "
                       "(of %zu); build it over ad_nn_params(m)",
                       i, np),
                   false;
    return true;
}

typedef struct buffers {
    unsigned char *best; /* early stopping: the best epoch's parameter values */
    size_t *perm;
    int32_t *labels;
    void *sx, *sy;
    size_t lx, ly;
    ad_nn_guard guard;
    size_t epoch, batch; /* from 1, for messages */
    char at[96];
    char why[512];
} buffers;

/* "ad_nn_train: epoch 2, batch 7", formatted only for a message: a
 * snprintf per batch shows on a small model's step. */
static const char *where(buffers *b)
{
    snprintf(b->at, sizeof b->at, "ad_nn_train: epoch %zu, batch %zu", b->epoch, b->batch);
    return b->at;
}

/* ---- non-finite values: where they came from */

/* The first NaN or Inf in rows idx[0..nb) of d (all rows: idx NULL), its
 * inputs first, into buf as "<whose>sample 5's input has nan at feature 1";
 * false when they are finite. */
static bool data_culprit(const ad_nn *m, const ad_nn_data *d, const size_t *idx, size_t nb,
                         const char *whose, char *buf, size_t len)
{
    size_t r, c;
    if (ad_nn_rows_nonfinite(d->x, d->in, idx, nb, &r, &c))
        return snprintf(buf, len, "%ssample %zu's input has %g at feature %zu", whose, r,
                        ad_nn_shown((double)d->x[r * d->in + c]), c),
               true;
    if (ad_nn_get_spec(m)->head != AD_HEAD_SOFTMAX &&
        ad_nn_rows_nonfinite(d->y, d->out, idx, nb, &r, &c))
        return snprintf(buf, len, "%ssample %zu's target has %g at output %zu", whose, r,
                        ad_nn_shown((double)d->y[r * d->out + c]), c),
               true;
    return false;
}

/* Why a value computed from those rows and m's parameters is not finite:
 * the data, else a parameter, else an op overflowed. */
static void culprit(const ad_nn *m, const ad_nn_data *d, const size_t *idx, size_t nb,
                    const char *whose, char *buf, size_t len)
{
    if (data_culprit(m, d, idx, nb, whose, buf, len)) return;
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t k = 0; k < np; k++) {
        size_t j = ad_nn_param_nonfinite(ps[k], false);
        char name[AD_NN_PARAM_NAME_LEN];
        if (j != SIZE_MAX) {
            snprintf(buf, len, "parameter %zu (%s) has %g at element %zu", k,
                     ad_nn_param_name(m, k, name), ad_nn_shown(ad_nn_param_at(ps[k], j)), j);
            return;
        }
    }
    snprintf(buf, len,
             "not in the %sdata or the parameters, so an op overflowed (set opts.anomaly to name "
             "it)",
             whose);
}

/* Item i of what a step writes (o's parameters, then its state), named. */
static void item_name(const ad_nn *m, const ad_opt *o, size_t i, char *buf, size_t len)
{
    size_t np, ns, mp, k = 0;
    ad_param *const *op = ad_nn_opt_params(o, &np);
    ad_opt_state(o, &ns);
    ad_param *const *ps = ad_nn_params(m, &mp);
    while (i < np && k < mp && ps[k] != op[i])
        k++;
    char name[AD_NN_PARAM_NAME_LEN];
    if (i >= np)
        snprintf(buf, len, "its state %zu (of %zu)", i - np, ns);
    else if (k < mp)
        snprintf(buf, len, "parameter %zu (%s)", k, ad_nn_param_name(m, k, name));
    else
        snprintf(buf, len, "its parameter %zu (not the model's)", i);
}

/* The optimizer's step, undone when it leaves a NaN or Inf in a parameter
 * or in the optimizer's state: a finite gradient can still overflow a
 * weight (a huge learning rate) or Adam's second moment (g^2), which would
 * freeze the weight for good. */
static bool safe_step(const ad_nn *m, ad_opt *o, buffers *b)
{
    size_t bad, j;
    double v;
    if (ad_nn_guard_step(&b->guard, o, &bad, &j, &v)) return true;
    char what[128];
    item_name(m, o, bad, what, sizeof what);
    return ad_nn_errf("%s: the optimizer's step made %s %g at element %zu from a finite gradient "
                      "(the learning rate is too large?); the step is undone",
                      where(b), what, ad_nn_shown(v), j),
           false;
}

/* Rows [lo, hi) of a batch of nb that this rank takes (all of them alone). */
static void share(const ad_nn_dist *D, size_t nb, size_t *lo, size_t *hi)
{
    *lo = D ? nb * D->rank / D->size : 0;
    *hi = D ? nb * (D->rank + 1) / D->size : nb;
}

/* Records, sweeps and checks the loss of rows idx[0..nb) on t: the part
 * of a step that is this rank's alone. */
static ad_status local_step(ad_nn *m, ad_tape *t, const ad_nn_data *d, const size_t *idx, size_t nb,
                            buffers *b, double *lv, double *correct)
{
    const ad_nn_spec *s = ad_nn_get_spec(m);
    ad_tensor x = ad_nn_gather(t, s->dtype, d->x, d->in, idx, nb, &b->sx, &b->lx);
    ad_tensor y = AD_TENSOR_NONE; /* softmax: labels, no target */
    if (s->head == AD_HEAD_SOFTMAX)
        for (size_t i = 0; i < nb; i++)
            b->labels[i] = d->labels[idx[i]];
    else
        y = ad_nn_gather(t, s->dtype, d->y, d->out, idx, nb, &b->sy, &b->ly);
    ad_tensor z = ad_nn_forward(m, x);
    ad_tensor l = ad_nn_loss(m, z, y, b->labels);
    ad_status st = ad_backward(l);
    if (st != AD_OK) {
        const char *msg;
        char why[512];
        ad_tape_error(t, &msg);
        /* anomaly mode names the op or leaf; the sample is ours to name */
        if (st == AD_ERR_NUMERIC && data_culprit(m, d, idx, nb, "", why, sizeof why))
            ad_nn_errf("%s: %s (%s)", where(b), msg, why);
        else
            ad_nn_errf("%s: %s", where(b), msg);
        return st;
    }
    *lv = ad_tensor_get(l, 0);
    if (!isfinite(*lv)) {
        culprit(m, d, idx, nb, "", b->why, sizeof b->why);
        ad_nn_errf("%s: the loss is %g: %s", where(b), ad_nn_shown(*lv), b->why);
        return AD_ERR_NUMERIC;
    }
    if (s->head == AD_HEAD_SOFTMAX) {
        *correct = ad_nn_accuracy(m, z, NULL, b->labels) * (double)nb;
    } else if (s->head == AD_HEAD_LOGISTIC) {
        size_t hit = 0; /* per output: (logit > 0) == (target > 0.5) */
        for (size_t i = 0; i < nb * s->outputs; i++)
            hit += (ad_tensor_get(z, i) > 0.0) == (ad_tensor_get(y, i) > 0.5);
        *correct = (double)hit / (double)s->outputs;
    }
    return AD_OK;
}

/* One pass over the data in shuffled batches; *loss and *acc are averages.
 * e is the epoch counted from 1, for messages. On an error no step is taken
 * for that batch and the gradients are zeroed. With D, each rank records
 * its share of every batch and the gradients are summed, weighted by the
 * shares, before the (same) step on every rank. */
static ad_status run_epoch(ad_nn *m, ad_opt *o, ad_tape *t, const ad_nn_data *d, size_t batch,
                           size_t e, buffers *b, const ad_nn_dist *D, double *loss, double *acc)
{
    const ad_nn_spec *s = ad_nn_get_spec(m);
    double sums[2] = {0.0, 0.0}; /* loss x rows, correct rows */
    ad_status st = AD_OK;
    for (size_t start = 0; start < d->n && st == AD_OK; start += batch) {
        size_t nb = d->n - start < batch ? d->n - start : batch, lo, hi;
        share(D, nb, &lo, &hi);
        const size_t *idx = b->perm + start + lo;
        b->epoch = e, b->batch = start / batch + 1;
        ad_tape_reset(t);
        ad_opt_zero_grad(o);
        double lv = 0.0, correct = 0.0;
        if (D) st = D->step_begin(D->ctx, t, (double)(hi - lo) / (double)nb);
        if (st == AD_OK && hi > lo) st = local_step(m, t, d, idx, hi - lo, b, &lv, &correct);
        if (D) st = D->step_end(D->ctx, st); /* the same verdict on every rank */
        if (st != AD_OK) break;
        /* the summed gradients are the same on every rank, so is this */
        size_t j, i = ad_nn_guard_grads(&b->guard, o, &j);
        if (i != SIZE_MAX) {
            char what[128];
            ad_param *p = ad_nn_opt_params(o, NULL)[i];
            const void *g = ad_param_grad(p);
            double v = ad_param_dtype(p) == AD_F32 ? (double)((const float *)g)[j]
                                                   : ((const double *)g)[j];
            item_name(m, o, i, what, sizeof what);
            culprit(m, d, idx, hi - lo, "", b->why, sizeof b->why);
            ad_nn_errf("%s: the gradient of %s has %g at element %zu: %s", where(b), what,
                       ad_nn_shown(v), j, b->why);
            st = AD_ERR_NUMERIC;
            break;
        }
        sums[0] += lv * (double)(hi - lo);
        sums[1] += correct;
        if (!safe_step(m, o, b)) st = AD_ERR_NUMERIC;
    }
    ad_opt_zero_grad(o);
    ad_tape_reset(t);
    if (D && st == AD_OK) st = D->sum(D->ctx, sums, 2, AD_OK);
    *loss = sums[0] / (double)d->n;
    *acc = s->head == AD_HEAD_IDENTITY ? (double)NAN : sums[1] / (double)d->n;
    return st;
}

/* Bytes of all of m's parameter values. */
static size_t params_bytes(const ad_nn *m)
{
    size_t np, len = 0;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t i = 0; i < np; i++)
        len += ad_param_numel(ps[i]) * (ad_param_dtype(ps[i]) == AD_F32 ? 4 : 8);
    return len;
}

/* m's parameter values into buf, or back from it (restore). */
static void params_copy(ad_nn *m, unsigned char *buf, bool restore)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t i = 0; i < np; i++) {
        size_t len = ad_param_numel(ps[i]) * (ad_param_dtype(ps[i]) == AD_F32 ? 4 : 8);
        if (restore)
            memcpy(ad_param_value(ps[i]), buf, len);
        else
            memcpy(buf, ad_param_value(ps[i]), len);
        buf += len;
    }
}

/* The validation loss and accuracy; with D each rank evaluates its share
 * of the rows and the sums are combined. */
static ad_status evaluate(ad_nn *m, ad_tape *t, const ad_nn_data *val, const ad_nn_dist *D,
                          double *vloss, double *vacc)
{
    if (!D) return ad_nn_evaluate(m, t, val, 0, vloss, vacc);
    size_t lo, hi;
    share(D, val->n, &lo, &hi);
    ad_nn_data part = *val;
    part.n = hi - lo;
    part.x = val->x + lo * val->in;
    part.y = val->y ? val->y + lo * val->out : NULL;
    part.labels = val->labels ? val->labels + lo : NULL;
    double l = 0.0, a = 0.0, sums[2] = {0.0, 0.0};
    ad_status st = AD_OK;
    if (part.n) st = ad_nn_evaluate(m, t, &part, 0, &l, &a);
    sums[0] = l * (double)part.n;
    sums[1] = a * (double)part.n;
    if ((st = D->sum(D->ctx, sums, 2, st)) != AD_OK) return st;
    *vloss = sums[0] / (double)val->n;
    *vacc = ad_nn_get_spec(m)->head == AD_HEAD_IDENTITY ? (double)NAN : sums[1] / (double)val->n;
    return AD_OK;
}

static void progress(const char *name, size_t e, size_t last, double loss, double acc, bool has_val,
                     double vloss, double vacc, double secs, double rate)
{
    /* The name is cut to 96 characters so the figures fit; AT keeps each
     * append inside the line even if they did not (snprintf returns the
     * length it wanted, not the one it wrote). */
    char line[256];
    size_t k = 0;
#define AT (k < sizeof line ? k : sizeof line - 1)
    k = (size_t)snprintf(line, sizeof line, "%.96s epoch %zu/%zu  loss %.4g", name, e, last,
                         ad_nn_shown(loss));
    if (!isnan(acc)) k += (size_t)snprintf(line + AT, sizeof line - AT, "  acc %.2f%%", 100 * acc);
    /* a NaN validation loss is printed: it says the validation data is bad */
    if (has_val)
        k += (size_t)snprintf(line + AT, sizeof line - AT, "  val loss %.4g", ad_nn_shown(vloss));
    if (has_val && !isnan(vacc)) /* NaN: the identity head has no accuracy */
        k += (size_t)snprintf(line + AT, sizeof line - AT, "  val acc %.2f%%", 100 * vacc);
    snprintf(line + AT, sizeof line - AT, "  %.3f s  %.0f samples/s", secs, rate);
#undef AT
    fprintf(stderr, "%s\n", line);
}

ad_status ad_nn_train(ad_nn *m, ad_opt *o, const ad_nn_data *train, const ad_nn_data *val,
                      const ad_nn_train_opts *opts, ad_nn_history *h)
{
    ad_set_last_error(NULL);
    if (!m || !o || !train)
        return ad_nn_errf("ad_nn_train: model, optimizer or data is NULL"), AD_ERR_INVALID;
    ad_nn_train_opts op = opts ? *opts : (ad_nn_train_opts){0};
    if (op.epochs == 0) op.epochs = 10;
    if (op.batch_size == 0) op.batch_size = 32;
    if (!op.name) op.name = "train";
    if (op.print_every == 0) op.print_every = 1;
    if (train->n == 0) return ad_nn_errf("ad_nn_train: no samples"), AD_ERR_INVALID;
    /* the permutation has n entries: n x sizeof(size_t) must not wrap */
    if (train->n > SIZE_MAX / sizeof(size_t))
        return ad_nn_errf("ad_nn_train: training data has %zu samples, too many to index",
                          train->n),
               AD_ERR_INVALID;
    size_t e0 = (size_t)ad_opt_epoch(o);
    if (op.epochs > SIZE_MAX - e0)
        return ad_nn_errf("ad_nn_train: %zu epochs from epoch %zu pass the largest epoch number",
                          op.epochs, e0),
               AD_ERR_INVALID;
    if (op.patience && !(val && val->n))
        return ad_nn_errf("ad_nn_train: early stopping (patience %zu) needs validation data",
                          op.patience),
               AD_ERR_INVALID;
    if (!(op.min_delta >= 0) || !isfinite(op.min_delta))
        return ad_nn_errf("ad_nn_train: min_delta is %g; it must be finite and >= 0",
                          ad_nn_shown(op.min_delta)),
               AD_ERR_INVALID;
    const ad_nn_dist *D = op.dist;
    if (D && (D->size == 0 || D->rank >= D->size || !D->step_begin || !D->step_end || !D->sum))
        return ad_nn_errf("ad_nn_train: opts->dist is incomplete (rank %zu of %zu, every callback "
                          "needed)",
                          D->rank, D->size),
               AD_ERR_INVALID;
    ad_status ok = AD_OK;
    if (!opt_covers(m, o) || !data_fits(m, train, "training") ||
        (val && !data_fits(m, val, "validation")))
        ok = AD_ERR_INVALID;
    if (D) ok = D->sum(D->ctx, NULL, 0, ok); /* a rank refused: all stop, told why */
    if (ok != AD_OK) return ok;
    size_t batch = op.batch_size < train->n ? op.batch_size : train->n;
    buffers b = {0};
    ad_tape *t = ad_tape_new();
    b.perm = ad_alloc(train->n * sizeof *b.perm);
    b.labels = ad_alloc(batch * sizeof *b.labels);
    bool guarded = ad_nn_guard_init(&b.guard, o);
    if (op.patience) b.best = ad_alloc(params_bytes(m) + 1);
    bool training = ad_nn_training(m);
    ad_status st = AD_OK;
    size_t best_epoch = 0, since = 0;
    double best = (double)INFINITY;
    if (h) h->best_epoch = 0, h->stopped_early = false;
    if (!t || !b.perm || !b.labels || !guarded || (op.patience && !b.best)) {
        ad_nn_errf("ad_nn_train: out of memory");
        st = AD_ERR_NOMEM;
    }
    if (D) st = D->sum(D->ctx, NULL, 0, st);
    if (st != AD_OK) goto done;
    ad_tape_set_anomaly(t, op.anomaly);
    size_t last = e0 + op.epochs;
    for (size_t e = e0; e < last; e++) {
        double t0 = now(), loss, acc, vloss = (double)NAN, vacc = (double)NAN;
        if (op.no_shuffle)
            for (size_t i = 0; i < train->n; i++)
                b.perm[i] = i;
        else
            ad_nn_shuffle(b.perm, train->n, op.seed, e);
        /* masks from (seed, epoch) alone, as the shuffle: a resumed run matches */
        ad_nn_seed_dropout(m, op.seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(e + 1)));
        ad_nn_set_training(m, true);
        st = run_epoch(m, o, t, train, batch, e + 1, &b, D, &loss, &acc);
        ad_nn_set_training(m, training);
        if (st != AD_OK) goto done;
        double t1 = now();
        ad_opt_set_epoch(o, e + 1);
        bool has_val = val && val->n;
        if (has_val && (st = evaluate(m, t, val, D, &vloss, &vacc)) != AD_OK) {
            char why[512];
            if (st == AD_ERR_NUMERIC && data_culprit(m, val, NULL, val->n, "validation ", why,
                                                     sizeof why)) /* anomaly mode */
                ad_nn_errf("ad_nn_train: epoch %zu: %s (%s)", e + 1, ad_last_error(), why);
            else
                ad_nn_errf("ad_nn_train: epoch %zu: %s", e + 1, ad_last_error());
            goto done;
        }
        /* A NaN validation loss harms no weight, but NaN in the history
         * means "not measured", and the run would go on reporting nothing:
         * the epoch is printed and kept, then training stops. */
        bool bad_val = has_val && !isfinite(vloss);
        double secs = now() - t0;
        bool talk = !op.quiet && (!D || D->rank == 0); /* one voice */
        if (talk && ((e + 1) % op.print_every == 0 || e + 1 == last || bad_val))
            progress(op.name, e + 1, last, loss, acc, has_val, vloss, vacc, secs,
                     (double)train->n / (t1 - t0 > 0 ? t1 - t0 : 1e-9));
        if (h && !ad_nn_history_push(h, loss, acc, vloss, vacc, secs)) {
            ad_nn_errf("ad_nn_train: out of memory");
            st = AD_ERR_NOMEM;
            goto done;
        }
        if (bad_val) {
            char why[512];
            culprit(m, val, NULL, val->n, "validation ", why, sizeof why);
            ad_nn_errf("ad_nn_train: epoch %zu: the validation loss is %g: %s", e + 1,
                       ad_nn_shown(vloss), why);
            st = AD_ERR_NUMERIC;
            goto done;
        }
        if (!op.patience) continue;
        if (vloss < best - op.min_delta) {
            best = vloss, best_epoch = e + 1, since = 0;
            params_copy(m, b.best, false);
        } else if (++since >= op.patience) {
            if (h) h->stopped_early = true;
            if (!op.quiet && (!D || D->rank == 0))
                fprintf(stderr,
                        "%.96s early stop at epoch %zu: best val loss %.4g at epoch %zu "
                        "restored\n",
                        op.name, e + 1, best, best_epoch);
            break;
        }
    }
    if (op.patience && best_epoch) { /* the epochs ran out or patience did */
        params_copy(m, b.best, true);
        if (h) h->best_epoch = best_epoch;
    }
done:
    ad_free(b.best);
    ad_nn_guard_free(&b.guard);
    ad_free(b.perm);
    ad_free(b.labels);
    ad_free(b.sx);
    ad_free(b.sy);
    ad_tape_free(t);
    return st;
}
