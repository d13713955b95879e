/* SPDX-License-Identifier: MIT
 * First-order optimizers over a set of ad_params: SGD, momentum, Nesterov,
 * Adam, AdamW, with L2 weight decay, global-norm clipping and epoch-based
 * learning-rate schedules. The update rules follow PyTorch's, so a run can be
 * checked against it step by step. State lives in ad_params so that it can be
 * saved; other heap memory comes from ad_alloc/ad_free. */
#include "adtape/nn.h"
#include "nn_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ad_opt {
    ad_opt_config cfg;
    ad_param **params; /* borrowed */
    size_t n;
    ad_param **state; /* counters, then m_i for every param, then v_i (Adam family) */
    size_t n_state;
    double *decay; /* per parameter: cfg.weight_decay unless ad_opt_set_decay set a group's */
};

static bool adam_family(ad_opt_kind k)
{
    return k == AD_OPT_ADAM || k == AD_OPT_ADAMW;
}

/* counters: [0] steps taken, [1] epoch; float64 holds both exactly to 2^53 */
static double *counters(const ad_opt *o)
{
    return ad_param_value(o->state[0]);
}

typedef struct param_at {
    uintptr_t p;
    size_t i;
} param_at;

static int by_address(const void *a, const void *b)
{
    const param_at *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

/* 1 with the first two positions of a parameter listed twice, 0 when all
 * differ, -1 out of memory. Sorted by address: O(n log n), once per
 * optimizer. */
static int find_repeat(ad_param *const *params, size_t n, size_t *a, size_t *b)
{
    if (n < 2) return 0;
    param_at *v = ad_alloc(n * sizeof *v); /* n <= SIZE_MAX / 8: params holds n pointers */
    if (!v) return -1;
    for (size_t i = 0; i < n; i++)
        v[i] = (param_at){(uintptr_t)params[i], i};
    qsort(v, n, sizeof *v, by_address);
    int found = 0;
    for (size_t i = 1; i < n && !found; i++)
        if (v[i].p == v[i - 1].p) {
            found = 1;
            *a = v[i - 1].i;
            *b = v[i].i;
        }
    ad_free(v);
    return found;
}

ad_opt *ad_opt_new(const ad_opt_config *cfg, ad_param *const *params, size_t n)
{
    const char *fn = "ad_opt_new";
    ad_set_last_error(NULL);
    if (!cfg || (!params && n)) return ad_nn_errf("%s: config or params NULL", fn), NULL;
    if ((unsigned)cfg->kind >= AD_OPT_COUNT)
        return ad_nn_errf("%s: unknown optimizer %d", fn, (int)cfg->kind), NULL;
    if ((unsigned)cfg->schedule > AD_LR_COSINE)
        return ad_nn_errf("%s: unknown schedule %d", fn, (int)cfg->schedule), NULL;
    /* each field in its range; NaN fails every comparison, so it is caught */
    const struct {
        const char *name;
        double v;
        bool below_one; /* [0, 1) instead of [0, inf) */
        bool inf_ok;    /* clip_norm = inf: no clipping */
    } checks[] = {{"lr", cfg->lr, false, false},
                  {"weight_decay", cfg->weight_decay, false, false},
                  {"clip_norm", cfg->clip_norm, false, true},
                  {"eps", cfg->eps, false, false},
                  {"gamma", cfg->gamma, false, false},
                  {"lr_min", cfg->lr_min, false, false},
                  {"momentum", cfg->momentum, true, false},
                  {"beta1", cfg->beta1, true, false},
                  {"beta2", cfg->beta2, true, false}};
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        double v = checks[i].v;
        bool ok = v >= 0 && (checks[i].below_one ? v < 1 : checks[i].inf_ok || isfinite(v));
        if (!ok)
            return ad_nn_errf("%s: %s is %g; it must be %s", fn, checks[i].name, v,
                              checks[i].below_one ? "in [0, 1)"
                              : checks[i].inf_ok  ? ">= 0"
                                                  : "finite and >= 0"),
                   NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!params[i]) return ad_nn_errf("%s: params[%zu] is NULL", fn, i), NULL;
    size_t dup_a, dup_b;
    switch (find_repeat(params, n, &dup_a, &dup_b)) {
    case 1:
        return ad_nn_errf("%s: params[%zu] and params[%zu] are the same parameter (it would be "
                          "updated twice per step)",
                          fn, dup_a, dup_b),
               NULL;
    case -1:
        return ad_nn_errf("%s: out of memory", fn), NULL;
    default:
        break;
    }
    ad_opt *o = ad_nn_calloc(1, sizeof *o);
    if (!o) goto nomem;
    o->cfg = *cfg;
    ad_opt_config *c = &o->cfg;
    if (c->lr == 0) c->lr = adam_family(c->kind) ? 1e-3 : 1e-2;
    if (c->momentum == 0) c->momentum = 0.9;
    if (c->beta1 == 0) c->beta1 = 0.9;
    if (c->beta2 == 0) c->beta2 = 0.999;
    if (c->eps == 0) c->eps = 1e-8;
    if (c->step_epochs == 0) c->step_epochs = 10;
    if (c->gamma == 0) c->gamma = 0.1;
    if (c->total_epochs == 0) c->total_epochs = 100;
    o->n = n;
    o->params = ad_nn_calloc(n ? n : 1, sizeof *o->params);
    o->decay = ad_nn_calloc(n ? n : 1, sizeof *o->decay);
    size_t per = c->kind == AD_OPT_SGD ? 0 : adam_family(c->kind) ? 2 : 1;
    o->state = ad_nn_calloc(1 + per * n, sizeof *o->state);
    if (!o->params || !o->state || !o->decay) goto nomem;
    for (size_t i = 0; i < n; i++)
        o->decay[i] = c->weight_decay;
    if (n) memcpy(o->params, params, n * sizeof *params);
    if (!(o->state[o->n_state++] = ad_param_new(AD_F64, 1, (size_t[]){2}))) goto nomem;
    for (size_t k = 0; k < per; k++)
        for (size_t i = 0; i < n; i++) {
            size_t dims[AD_MAX_DIMS];
            size_t nd = ad_param_shape(params[i], dims);
            if (!(o->state[o->n_state++] = ad_param_new(ad_param_dtype(params[i]), nd, dims)))
                goto nomem;
        }
    return o;
nomem:
    ad_nn_errf("%s: out of memory", fn);
    ad_opt_free(o);
    return NULL;
}

void ad_opt_free(ad_opt *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->n_state; i++)
        ad_param_free(o->state[i]);
    ad_free(o->state);
    ad_free(o->params);
    ad_free(o->decay);
    ad_free(o);
}

const ad_opt_config *ad_opt_get_config(const ad_opt *o)
{
    return o ? &o->cfg : NULL;
}

ad_param *const *ad_opt_state(const ad_opt *o, size_t *n)
{
    if (n) *n = o ? o->n_state : 0;
    return o ? o->state : NULL;
}

ad_param *const *ad_nn_opt_params(const ad_opt *o, size_t *n)
{
    if (n) *n = o ? o->n : 0;
    return o ? o->params : NULL;
}

bool ad_nn_opt_has(const ad_opt *o, const ad_param *p)
{
    for (size_t i = 0; o && i < o->n; i++)
        if (o->params[i] == p) return true;
    return false;
}

/* p's position in o's list, or SIZE_MAX. O(n) per parameter: groups are
 * set once, not per step. */
static size_t index_of(const ad_opt *o, const ad_param *p)
{
    for (size_t i = 0; p && i < o->n; i++)
        if (o->params[i] == p) return i;
    return SIZE_MAX;
}

ad_status ad_opt_set_decay(ad_opt *o, ad_param *const *ps, size_t n, double wd)
{
    const char *fn = "ad_opt_set_decay";
    ad_set_last_error(NULL);
    if (!o || (!ps && n))
        return ad_nn_errf("%s: %s is NULL", fn, !o ? "the optimizer" : "ps"), AD_ERR_INVALID;
    if (!(wd >= 0) || !isfinite(wd))
        return ad_nn_errf("%s: wd is %g; it must be finite and >= 0", fn, ad_nn_shown(wd)),
               AD_ERR_INVALID;
    for (size_t k = 0; k < n; k++) /* all checked before any is set */
        if (index_of(o, ps[k]) == SIZE_MAX)
            return ad_nn_errf("%s: ps[%zu] is not one of the optimizer's parameters", fn, k),
                   AD_ERR_INVALID;
    for (size_t k = 0; k < n; k++)
        o->decay[index_of(o, ps[k])] = wd;
    return AD_OK;
}

double ad_opt_decay(const ad_opt *o, const ad_param *p)
{
    size_t i = o ? index_of(o, p) : SIZE_MAX;
    return i == SIZE_MAX ? (double)NAN : o->decay[i];
}

double ad_nn_opt_max_decay(const ad_opt *o)
{
    double m = 0;
    for (size_t i = 0; o && i < o->n; i++)
        m = o->decay[i] > m ? o->decay[i] : m;
    return m;
}

uint64_t ad_opt_steps(const ad_opt *o)
{
    return o ? (uint64_t)counters(o)[0] : 0;
}

uint64_t ad_opt_epoch(const ad_opt *o)
{
    return o ? (uint64_t)counters(o)[1] : 0;
}

void ad_opt_set_epoch(ad_opt *o, uint64_t epoch)
{
    if (o) counters(o)[1] = (double)epoch;
}

double ad_opt_schedule_lr(const ad_opt_config *c, size_t epoch)
{
    if (!c) return (double)NAN;
    switch (c->schedule) {
    case AD_LR_STEP: {
        size_t period = c->step_epochs ? c->step_epochs : 10;
        double gamma = c->gamma != 0 ? c->gamma : 0.1;
        return c->lr * pow(gamma, (double)(epoch / period));
    }
    case AD_LR_COSINE: {
        double T = (double)(c->total_epochs ? c->total_epochs : 100);
        double e = (double)epoch < T ? (double)epoch : T;
        return c->lr_min + (c->lr - c->lr_min) * 0.5 * (1.0 + cos(3.141592653589793 * e / T));
    }
    default:
        return c->lr;
    }
}

double ad_opt_lr(const ad_opt *o)
{
    if (!o) return (double)NAN;
    return ad_opt_schedule_lr(&o->cfg, (size_t)ad_opt_epoch(o));
}

double ad_opt_grad_norm(const ad_opt *o)
{
    if (!o) return (double)NAN;
    double s = 0.0;
    for (size_t i = 0; i < o->n; i++) {
        size_t n = ad_param_numel(o->params[i]);
        const void *g = ad_param_grad(o->params[i]);
        if (ad_param_dtype(o->params[i]) == AD_F32)
            for (size_t j = 0; j < n; j++)
                s += (double)((const float *)g)[j] * (double)((const float *)g)[j];
        else
            for (size_t j = 0; j < n; j++)
                s += ((const double *)g)[j] * ((const double *)g)[j];
    }
    return sqrt(s);
}

void ad_opt_zero_grad(ad_opt *o)
{
    for (size_t i = 0; o && i < o->n; i++)
        ad_param_zero_grad(o->params[i]);
}

/* The per-element rules, instantiated for float and double. g is the clipped
 * gradient plus L2 decay (except AdamW, whose decay shrinks w directly). */
typedef struct rule {
    ad_opt_kind kind;
    double lr, scale, wd, mu, b1, b2, eps, bc1, bc2;
} rule;

#define T    float
#define SQRT sqrtf
#include "optim_update_tmpl.h"
#define T    double
#define SQRT sqrt
#include "optim_update_tmpl.h"

void ad_opt_step(ad_opt *o)
{
    if (!o) return;
    const ad_opt_config *c = &o->cfg;
    double *cnt = counters(o);
    cnt[0] += 1.0;
    /* only the Adam family reads the bias corrections: two pow calls saved
     * per step elsewhere, which shows on a tiny model */
    bool adam = adam_family(c->kind);
    rule r = {c->kind,
              ad_opt_lr(o),
              1.0,
              c->weight_decay,
              c->momentum,
              c->beta1,
              c->beta2,
              c->eps,
              adam ? 1.0 - pow(c->beta1, cnt[0]) : 1.0,
              adam ? 1.0 - pow(c->beta2, cnt[0]) : 1.0};
    if (c->clip_norm > 0) {
        double norm = ad_opt_grad_norm(o);
        if (norm > c->clip_norm) r.scale = c->clip_norm / norm;
    }
    for (size_t i = 0; i < o->n; i++) {
        ad_param *p = o->params[i];
        void *m = c->kind == AD_OPT_SGD ? NULL : ad_param_value(o->state[1 + i]);
        void *v = adam ? ad_param_value(o->state[1 + o->n + i]) : NULL;
        r.wd = o->decay[i];
        if (ad_param_dtype(p) == AD_F32)
            update_float(&r, ad_param_value(p), ad_param_grad(p), m, v, ad_param_numel(p));
        else
            update_double(&r, ad_param_value(p), ad_param_grad(p), m, v, ad_param_numel(p));
    }
}
