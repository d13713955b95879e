/* SPDX-License-Identifier: MIT
 * Levenberg-Marquardt for small networks with a squared-error loss. Each
 * epoch records the network once over the whole data set and builds the
 * Jacobian J [R,P] of the residuals e = y - t (R = samples x outputs) with
 * respect to all P weights by R reverse sweeps of that one recording, seeded
 * with unit vectors. The step solves (J^T J + mu I) delta = -J^T e, the
 * Gauss-Newton step damped towards gradient descent as mu grows. Memory
 * (ad_alloc/ad_free) is O(R P + P^2). */
#include "adtape/nn.h"
#include "nn_util.h"

#include <float.h>
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

/* A = L L^T with L lower triangular, stored over A's lower half; then
 * L z = b and L^T x = z by substitution. */
bool ad_nn_cholesky_solve(double *a, double *b, size_t n)
{
    if (n > 0 && (!a || !b)) return false;
    for (size_t j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (size_t k = 0; k < j; k++)
            d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0) || !isfinite(d)) return false; /* not positive definite (or NaN) */
        double l = sqrt(d);
        a[j * n + j] = l;
        for (size_t i = j + 1; i < n; i++) {
            double s = a[i * n + j];
            for (size_t k = 0; k < j; k++)
                s -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = s / l;
        }
    }
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= a[i * n + k] * b[k];
        b[i] = s / a[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < n; k++)
            s -= a[k * n + i] * b[k];
        b[i] = s / a[i * n + i];
    }
    return true;
}

/* All weights as one vector of doubles, in ad_nn_params order. */
static void get_weights(ad_param *const *ps, size_t np, double *w)
{
    for (size_t i = 0; i < np; i++) {
        size_t n = ad_param_numel(ps[i]);
        const void *v = ad_param_value(ps[i]);
        for (size_t j = 0; j < n; j++)
            *w++ = ad_param_dtype(ps[i]) == AD_F32 ? (double)((const float *)v)[j]
                                                   : ((const double *)v)[j];
    }
}

static void set_weights(ad_param *const *ps, size_t np, const double *w)
{
    for (size_t i = 0; i < np; i++) {
        size_t n = ad_param_numel(ps[i]);
        void *v = ad_param_value(ps[i]);
        for (size_t j = 0; j < n; j++, w++) {
            if (ad_param_dtype(ps[i]) == AD_F32)
                ((float *)v)[j] = (float)*w;
            else
                ((double *)v)[j] = *w;
        }
    }
}

/* Gradients of all weights, in the same order. */
static void get_grads(ad_param *const *ps, size_t np, double *g)
{
    for (size_t i = 0; i < np; i++) {
        size_t n = ad_param_numel(ps[i]);
        const void *v = ad_param_grad(ps[i]);
        for (size_t j = 0; j < n; j++)
            *g++ = ad_param_dtype(ps[i]) == AD_F32 ? (double)((const float *)v)[j]
                                                   : ((const double *)v)[j];
    }
}

typedef struct lm_work {
    ad_tape *t;
    void *sx;
    size_t lx;
    double *J, *e, *A, *g, *delta, *w, *seed;
    bool anomaly;
    size_t epoch;        /* from 1, for messages */
    const ad_nn_dist *D; /* NULL: alone */
    size_t lo, n_all;    /* this rank's first sample, and the samples of all ranks */
} lm_work;

/* Records the network over all of d and fills e with the residuals;
 * returns the output tensor (invalid on error). */
static ad_tensor residuals(ad_nn *m, const ad_nn_data *d, lm_work *k)
{
    ad_tape_reset(k->t);
    ad_tensor x =
        ad_nn_gather(k->t, ad_nn_get_spec(m)->dtype, d->x, d->in, NULL, d->n, &k->sx, &k->lx);
    bool was = ad_nn_set_training(m, false); /* no dropout: LM needs one function */
    ad_tensor y = ad_nn_forward(m, x);
    ad_nn_set_training(m, was);
    if (ad_tape_error(k->t, NULL) != AD_OK) return y;
    for (size_t r = 0; r < d->n * d->out; r++)
        k->e[r] = ad_tensor_get(y, r) - (double)d->y[r];
    return y;
}

/* The sum of squared residuals of this rank's samples. */
static double sse_of(const double *e, const ad_nn_data *d)
{
    double s = 0;
    for (size_t r = 0; r < d->n * d->out; r++)
        s += e[r] * e[r];
    return s;
}

/* The model's own loss from the sum of squares s over all ranks' samples:
 * mse = s / R; half_sse = s / 2B. */
static double loss_of(const ad_nn *m, double s, const ad_nn_data *d, const lm_work *k)
{
    return ad_nn_get_spec(m)->loss == AD_LOSS_HALF_SSE ? 0.5 * s / (double)k->n_all
                                                       : s / (double)(k->n_all * d->out);
}

/* The tape's error, told in ad_last_error now: with other ranks waiting,
 * the message must be ready before they agree on the status. */
static ad_status tape_status(const lm_work *k)
{
    const char *msg;
    ad_status st = ad_tape_error(k->t, &msg);
    if (st != AD_OK) ad_nn_errf("ad_lm_train: epoch %zu: %s", k->epoch, msg);
    return st;
}

/* Sums buf over the ranks after agreeing on st (alone: st). */
static ad_status combine(const lm_work *k, double *buf, size_t n, ad_status st)
{
    return k->D ? k->D->sum(k->D->ctx, buf, n, st) : st;
}

/* Trial loss at the current weights, with recording and anomaly mode off:
 * a trial step whose loss overflows is rejected, like one that raises it. */
static ad_status trial_loss(ad_nn *m, const ad_nn_data *d, lm_work *k, double *loss)
{
    bool was = ad_tape_set_recording(k->t, false);
    ad_tape_set_anomaly(k->t, false);
    if (d->n) residuals(m, d, k);
    ad_tape_set_anomaly(k->t, k->anomaly);
    ad_tape_set_recording(k->t, was);
    ad_status st = tape_status(k);
    double sse = st == AD_OK ? sse_of(k->e, d) : 0.0;
    st = combine(k, &sse, 1, st);
    *loss = loss_of(m, sse, d, k);
    return st;
}

/* Weight p of the flat vector as "parameter 2 (layer 1 bias), element 3". */
static void weight_name(const ad_nn *m, size_t p, char *buf, size_t len)
{
    size_t np, k = 0;
    ad_param *const *ps = ad_nn_params(m, &np);
    while (k + 1 < np && p >= ad_param_numel(ps[k]))
        p -= ad_param_numel(ps[k++]);
    char name[AD_NN_PARAM_NAME_LEN];
    snprintf(buf, len, "parameter %zu (%s), element %zu", k, ad_nn_param_name(m, k, name), p);
}

/* The residuals at the accepted weights; false (with the message) at the
 * first NaN or Inf, blaming the target, the input, a weight or the network
 * in that order. */
static bool residuals_finite(const ad_nn *m, const ad_nn_data *d, const lm_work *k)
{
    size_t R = d->n * d->out, r = ad_nn_first_nonfinite(k->e, AD_F64, R);
    if (r == SIZE_MAX) return true;
    size_t s = r / d->out, c = ad_nn_first_nonfinite(d->x + s * d->in, AD_F32, d->in), np, i = 0;
    ad_param *const *ps = ad_nn_params(m, &np);
    while (i < np && ad_nn_param_nonfinite(ps[i], false) == SIZE_MAX)
        i++;
    char why[256], name[AD_NN_PARAM_NAME_LEN];
    if (!isfinite(d->y[r]))
        snprintf(why, sizeof why, "its target is %g", ad_nn_shown((double)d->y[r]));
    else if (c != SIZE_MAX)
        snprintf(why, sizeof why, "its input has %g at feature %zu",
                 ad_nn_shown((double)d->x[s * d->in + c]), c);
    else if (i < np)
        snprintf(why, sizeof why, "parameter %zu (%s) is not finite", i,
                 ad_nn_param_name(m, i, name));
    else
        snprintf(why, sizeof why,
                 "the network's output overflows (set opts.anomaly to name the op)");
    ad_nn_errf("ad_lm_train: epoch %zu: the residual of sample %zu (output %zu) is %g: %s",
               k->epoch, s + k->lo, r % d->out, ad_nn_shown(k->e[r]), why);
    return false;
}

/* Every entry of the Jacobian; false (with the message) at the first NaN or
 * Inf: the network's derivatives overflow at these weights. */
static bool jacobian_finite(const ad_nn *m, const ad_nn_data *d, const lm_work *k, size_t P)
{
    size_t at = ad_nn_first_nonfinite(k->J, AD_F64, d->n * d->out * P);
    if (at == SIZE_MAX) return true;
    size_t r = at / P;
    char w[128];
    weight_name(m, at % P, w, sizeof w);
    ad_nn_errf("ad_lm_train: epoch %zu: the Jacobian has %g at residual %zu (sample %zu, output "
               "%zu), weight %zu (%s)",
               k->epoch, ad_nn_shown(k->J[at]), r + k->lo * d->out, r / d->out + k->lo, r % d->out,
               at % P, w);
    return false;
}

/* This rank's J^T J, J^T e and sum of squares (k->A, k->g, k->A[P P + P]):
 * the Jacobian rows by one unit-seeded sweep each. */
static ad_status local_normal_equations(ad_nn *m, const ad_nn_data *d, lm_work *k, size_t P)
{
    size_t np, R = d->n * d->out;
    ad_param *const *ps = ad_nn_params(m, &np);
    memset(k->A, 0, (P * P + P + 1) * sizeof *k->A);
    if (d->n == 0) return AD_OK; /* more ranks than samples: this one adds nothing */
    ad_tensor y = residuals(m, d, k);
    ad_status st = tape_status(k);
    if (st != AD_OK) return st;
    if (!residuals_finite(m, d, k)) return AD_ERR_NUMERIC;
    k->A[P * P + P] = sse_of(k->e, d);
    for (size_t r = 0; r < R; r++) {
        for (size_t i = 0; i < np; i++)
            ad_param_zero_grad(ps[i]);
        k->seed[r] = 1.0; /* row r of J = d e_r / d w = the VJP with seed e_r */
        st = ad_backward_seeded(y, k->seed);
        k->seed[r] = 0.0;
        if (st != AD_OK) return tape_status(k);
        get_grads(ps, np, k->J + r * P);
    }
    if (!jacobian_finite(m, d, k, P)) return AD_ERR_NUMERIC;
    for (size_t i = 0; i < np; i++)
        ad_param_zero_grad(ps[i]);
    /* A = J^T J (upper triangle mirrored), g = J^T e */
    for (size_t r = 0; r < R; r++) {
        const double *row = k->J + r * P;
        for (size_t i = 0; i < P; i++) {
            double ri = row[i];
            if (ri == 0.0) continue;
            k->g[i] += ri * k->e[r];
            for (size_t j = i; j < P; j++)
                k->A[i * P + j] += ri * row[j];
        }
    }
    for (size_t i = 0; i < P; i++)
        for (size_t j = 0; j < i; j++)
            k->A[i * P + j] = k->A[j * P + i];
    return AD_OK;
}

/* The normal equations over all ranks' samples (each rank's summed: the
 * same bits on every rank) and the loss. */
static ad_status jacobian(ad_nn *m, const ad_nn_data *d, lm_work *k, size_t P, double *loss)
{
    ad_status st = combine(k, k->A, P * P + P + 1, local_normal_equations(m, d, k, P));
    if (st != AD_OK) return st;
    *loss = loss_of(m, k->A[P * P + P], d, k);
    /* |A_ij| <= sqrt(A_ii A_jj): a finite diagonal bounds the rest */
    for (size_t i = 0; i < P; i++)
        if (!isfinite(k->A[i * P + i]) || !isfinite(k->g[i]))
            return ad_nn_errf("ad_lm_train: epoch %zu: J^T J or J^T e overflows at weight %zu "
                              "(the Jacobian's entries are too large)",
                              k->epoch, i),
                   AD_ERR_NUMERIC;
    return AD_OK;
}

/* Whether every trial weight is finite in the model's dtype. */
static bool representable(const double *w, size_t n, ad_dtype dt)
{
    double max = dt == AD_F32 ? (double)FLT_MAX : DBL_MAX;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(w[i]) <= max)) return false; /* NaN fails too */
    return true;
}

/* Tries steps with growing mu until one lowers the loss. true: accepted. */
static bool lm_step(ad_nn *m, const ad_nn_data *d, lm_work *k, size_t P, double *mu, double mu_max,
                    double loss0, double *loss, double *solve_buf, ad_status *st)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    get_weights(ps, np, k->w);
    while (*mu <= mu_max) {
        memcpy(solve_buf, k->A, P * P * sizeof *solve_buf);
        for (size_t i = 0; i < P; i++) {
            solve_buf[i * P + i] += *mu;
            k->delta[i] = -k->g[i];
        }
        bool solved = ad_nn_cholesky_solve(solve_buf, k->delta, P);
        for (size_t i = 0; solved && i < P; i++)
            k->delta[i] += k->w[i];
        /* a trial that overflows the model's dtype is never written: a
         * larger mu shortens the step, as for an indefinite system */
        if (solved && representable(k->delta, P, ad_nn_get_spec(m)->dtype)) {
            set_weights(ps, np, k->delta);
            if ((*st = trial_loss(m, d, k, loss)) != AD_OK) {
                set_weights(ps, np, k->w); /* a failed trial leaves the model as it was */
                return false;
            }
            if (*loss < loss0) {
                *mu = *mu * 0.1 > 1e-20 ? *mu * 0.1 : 1e-20;
                return true;
            }
            set_weights(ps, np, k->w);
        }
        *mu *= 10;
    }
    *loss = loss0;
    return false;
}

ad_status ad_lm_train(ad_nn *m, const ad_nn_data *d, const ad_lm_opts *opts, ad_nn_history *h)
{
    const char *fn = "ad_lm_train";
    ad_set_last_error(NULL);
    if (!m || !d || !d->x || !d->y) return ad_nn_errf("%s: model or data NULL", fn), AD_ERR_INVALID;
    const ad_nn_spec *s = ad_nn_get_spec(m);
    if (s->head != AD_HEAD_IDENTITY)
        return ad_nn_errf("%s: needs an identity head with a squared-error loss, not %s", fn,
                          ad_nn_head_name(s->head)),
               AD_ERR_INVALID;
    if (d->in != s->inputs || d->out != s->outputs || d->n == 0)
        return ad_nn_errf("%s: data [%zu x %zu -> %zu] does not fit the model [%zu -> %zu]", fn,
                          d->n, d->in, d->out, s->inputs, s->outputs),
               AD_ERR_INVALID;
    ad_lm_opts o = opts ? *opts : (ad_lm_opts){0};
    if (o.epochs == 0) o.epochs = 100;
    if (o.mu == 0) o.mu = 1e-3;
    if (o.mu_max == 0) o.mu_max = 1e10;
    if (!o.name) o.name = "lm";
    /* a negative mu or an infinite mu_max never leaves lm_step's damping
     * loop, and NaN never enters it (every comparison is false) */
    if (!(o.mu > 0) || !isfinite(o.mu))
        return ad_nn_errf("%s: mu is %g; it must be finite and > 0", fn, o.mu), AD_ERR_INVALID;
    if (!isfinite(o.mu_max))
        return ad_nn_errf("%s: mu_max is %g; it must be finite", fn, o.mu_max), AD_ERR_INVALID;
    if (o.mu_max < o.mu)
        return ad_nn_errf("%s: mu_max is %g; it must be at least mu (%g)", fn, o.mu_max, o.mu),
               AD_ERR_INVALID;
    if (isnan(o.target_loss))
        return ad_nn_errf("%s: target_loss is nan; 0 means never stop early", fn), AD_ERR_INVALID;
    if (d->n > SIZE_MAX / d->out)
        return ad_nn_errf("%s: %zu samples x %zu outputs: too many residuals", fn, d->n, d->out),
               AD_ERR_INVALID;
    const ad_nn_dist *D = o.dist;
    if (D && (D->size == 0 || D->rank >= D->size || !D->sum))
        return ad_nn_errf("%s: opts->dist is incomplete (rank %zu of %zu, sum needed)", fn, D->rank,
                          D->size),
               AD_ERR_INVALID;
    /* with D, this rank's share of the samples: rows [lo, hi) */
    size_t lo = D ? d->n * D->rank / D->size : 0, hi = D ? d->n * (D->rank + 1) / D->size : d->n;
    ad_nn_data part = *d;
    part.n = hi - lo;
    part.x = d->x + lo * d->in;
    part.y = d->y + lo * d->out;
    size_t n_all = d->n;
    d = &part;
    size_t P = ad_nn_param_count(m), R = d->n * d->out;
    if (R > SIZE_MAX / sizeof(double) / P || P > 20000)
        return ad_nn_errf("%s: %zu residuals x %zu weights is too large for LM", fn, R, P),
               AD_ERR_INVALID;
    lm_work k = {0};
    k.t = ad_tape_new();
    k.J = ad_alloc(R * P * sizeof *k.J);
    k.e = ad_alloc(R * sizeof *k.e);
    k.seed = ad_nn_calloc(R, sizeof *k.seed);
    /* A, g and the sum of squares in one block: one sum over the ranks */
    k.A = ad_alloc((P * P + P + 1) * sizeof *k.A);
    k.g = k.A ? k.A + P * P : NULL;
    k.delta = ad_alloc(P * sizeof *k.delta);
    k.w = ad_alloc(P * sizeof *k.w);
    double *solve = ad_alloc(P * P * sizeof *solve);
    ad_status st = AD_OK;
    k.D = D, k.lo = lo, k.n_all = n_all;
    if (!k.t || !k.J || !k.e || !k.seed || !k.A || !k.g || !k.delta || !k.w || !solve) {
        ad_nn_errf("%s: out of memory", fn);
        st = AD_ERR_NOMEM;
    }
    if ((st = combine(&k, NULL, 0, st)) != AD_OK) goto done; /* every rank is ready */
    k.anomaly = o.anomaly;
    ad_tape_set_anomaly(k.t, o.anomaly);
    double mu = o.mu;
    for (size_t ep = 0; ep < o.epochs; ep++) {
        double t0 = now(), loss0, loss;
        k.epoch = ep + 1;
        if ((st = jacobian(m, d, &k, P, &loss0)) != AD_OK) break;
        bool ok = lm_step(m, d, &k, P, &mu, o.mu_max, loss0, &loss, solve, &st);
        if (st != AD_OK) break;
        double secs = now() - t0;
        if (!o.quiet && (!D || D->rank == 0)) /* one voice */
            fprintf(stderr, "%s epoch %zu/%zu  loss %.6g  mu %.3g%s  %.3f s\n", o.name, ep + 1,
                    o.epochs, loss, mu, ok ? "" : "  (no step lowers the loss)", secs);
        if (h && !ad_nn_history_push(h, loss, (double)NAN, (double)NAN, (double)NAN, secs)) {
            ad_nn_errf("%s: out of memory", fn);
            st = AD_ERR_NOMEM;
            break;
        }
        if (!ok || loss <= o.target_loss) break; /* converged, or stuck at mu_max */
    }
    if (st != AD_OK && !ad_last_error()[0]) { /* the tape's error, not yet told */
        const char *msg;
        ad_tape_error(k.t, &msg);
        ad_nn_errf("%s: epoch %zu: %s", fn, k.epoch, msg[0] ? msg : "out of memory");
    }
done:
    ad_tape_free(k.t);
    ad_free(k.sx);
    ad_free(k.J);
    ad_free(k.e);
    ad_free(k.seed);
    ad_free(k.A);
    ad_free(k.delta);
    ad_free(k.w);
    ad_free(solve);
    return st;
}
