/* SPDX-License-Identifier: MIT
 * The training loop's numeric guard (see nn_util.h): one scan of the fresh
 * gradients per batch, and an optimizer step that never leaves a NaN or Inf
 * behind. Bounds on |w|, |m| and |v| prove most steps safe without reading
 * the weights; a step they cannot vouch for is snapshotted and undone if it
 * overflows. Memory comes from ad_alloc/ad_free. */
#include "nn_util.h"

#include <math.h>
#include <string.h>

/* Far below FLT_MAX: rounding in the update cannot carry a bounded value
 * past the largest float. */
#define SAFE_LIMIT 1e30

/* What a step writes: the optimizer's parameters (i < np), then its state
 * ([np]: counters, then m_i, then v_i). */
static ad_param *item(const ad_opt *o, size_t i, size_t np)
{
    return i < np ? ad_nn_opt_params(o, NULL)[i] : ad_opt_state(o, NULL)[i - np];
}

static size_t items(const ad_opt *o, size_t *np)
{
    size_t ns;
    ad_nn_opt_params(o, np);
    ad_opt_state(o, &ns);
    return *np + ns;
}

static size_t bytes_of(const ad_param *p)
{
    return ad_param_numel(p) * (ad_param_dtype(p) == AD_F32 ? sizeof(float) : sizeof(double));
}

/* Copies what a step writes into buf, or back from it. */
static void copy_items(const ad_opt *o, unsigned char *buf, bool restore)
{
    size_t np, n = items(o, &np);
    for (size_t i = 0; i < n; i++) {
        ad_param *p = item(o, i, np);
        size_t len = bytes_of(p);
        if (restore)
            memcpy(ad_param_value(p), buf, len);
        else
            memcpy(buf, ad_param_value(p), len);
        buf += len;
    }
}

static double abs_sum_param(ad_param *p)
{
    return ad_nn_abs_sum(ad_param_value(p), ad_param_dtype(p), ad_param_numel(p));
}

bool ad_nn_guard_init(ad_nn_guard *gd, const ad_opt *o)
{
    memset(gd, 0, sizeof *gd);
    size_t np, n = items(o, &np), len = 1;
    for (size_t i = 0; i < n; i++) /* they all exist: the sum cannot wrap */
        len += bytes_of(item(o, i, np));
    gd->saved = ad_alloc(len);
    return gd->saved != NULL;
}

void ad_nn_guard_free(ad_nn_guard *gd)
{
    ad_free(gd->saved);
    gd->saved = NULL;
}

size_t ad_nn_guard_grads(ad_nn_guard *gd, const ad_opt *o, size_t *elem)
{
    size_t np;
    ad_param *const *ps = ad_nn_opt_params(o, &np);
    gd->g = 0;
    for (size_t i = 0; i < np; i++) {
        double g =
            ad_nn_abs_sum(ad_param_grad(ps[i]), ad_param_dtype(ps[i]), ad_param_numel(ps[i]));
        if (!isfinite(g) && (*elem = ad_nn_param_nonfinite(ps[i], true)) != SIZE_MAX) return i;
        gd->g = g > gd->g ? g : gd->g; /* Inf (a sum that overflowed): no bound */
    }
    return SIZE_MAX;
}

/* Whether the update rules of optim.c, fed gradients of at most gd->g and
 * weights and moments within the bounds, stay below SAFE_LIMIT in every
 * intermediate; if so the bounds move to cover the result. Clipping only
 * scales g down; Adam's step lr / (1 - b1^t) is at most lr / (1 - b1). */
static bool provably_safe(ad_nn_guard *gd, const ad_opt *o)
{
    if (!gd->known) return false;
    const ad_opt_config *c = ad_opt_get_config(o);
    double lr = ad_opt_lr(o), wd = ad_nn_opt_max_decay(o), gw = gd->g + wd * gd->w;
    double w = gd->w, m = gd->m, v = gd->v;
    switch (c->kind) {
    case AD_OPT_SGD:
        w += lr * gw;
        break;
    case AD_OPT_MOMENTUM:
    case AD_OPT_NESTEROV:
        m = c->momentum * m + gw;
        w += lr * (m + gw + c->momentum * m); /* momentum: lr m; Nesterov: lr (g + mu m) */
        break;
    default: {
        double g = c->kind == AD_OPT_ADAMW ? gd->g : gw, shrink = fabs(1 - lr * wd);
        m = m > g ? m : g;
        v = v > g * g ? v : g * g;
        w = w * (shrink > 1 ? shrink : 1) + lr / (1 - c->beta1) * (m / c->eps);
        if (!(lr / (1 - c->beta1) * m < SAFE_LIMIT)) return false;
        break;
    }
    }
    if (!(w < SAFE_LIMIT && m < SAFE_LIMIT && v < SAFE_LIMIT && lr * gw < SAFE_LIMIT))
        return false; /* NaN fails too */
    gd->w = w, gd->m = m, gd->v = v;
    return true;
}

bool ad_nn_guard_step(ad_nn_guard *gd, ad_opt *o, size_t *bad, size_t *elem, double *value)
{
    if (provably_safe(gd, o)) {
        ad_opt_step(o);
        return true;
    }
    size_t np, n = items(o, &np);
    copy_items(o, gd->saved, false);
    ad_opt_step(o);
    /* fresh bounds, and the first value that is not finite */
    double mx[3] = {0, 0, 0}; /* w, m, v */
    for (size_t i = 0; i < n; i++) {
        ad_param *p = item(o, i, np);
        double a = abs_sum_param(p);
        if (!isfinite(a) && (*elem = ad_nn_param_nonfinite(p, false)) != SIZE_MAX) {
            *bad = i;
            *value = ad_nn_param_at(p, *elem);
            copy_items(o, gd->saved, true);
            gd->known = false;
            return false;
        }
        size_t which = i < np ? 0 : i == np ? 3 : (i - np - 1) / (np ? np : 1) + 1;
        if (which < 3) mx[which] = a > mx[which] ? a : mx[which];
    }
    gd->w = mx[0], gd->m = mx[1], gd->v = mx[2];
    gd->known = isfinite(mx[0] + mx[1] + mx[2]); /* finite values, a sum too large */
    return true;
}
