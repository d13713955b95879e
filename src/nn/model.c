/* SPDX-License-Identifier: MIT
 * The MLP: a spec checked into layers of ad_params, seeded Glorot/He
 * initialisation, the forward recording and the loss of each head. Like all of
 * src/nn it uses only the public API; it allocates with ad_alloc/ad_free. */
#include "adtape/nn.h"
#include "nn_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* layer norm's eps, PyTorch's default */
#define AD_NN_LN_EPS 1e-5

typedef struct layer {
    ad_param *w, *b, *p;   /* w [out,in], b [out], p [from,out] (the projection of the skip
                            * source's width `from` onto out) or NULL */
    ad_param *ln_g, *ln_s; /* layer norm's gain and shift [out], or NULL */
    size_t in, out, skip;
    ad_nn_act act;
    double dropout;
} layer;

struct ad_nn {
    ad_nn_spec spec;
    ad_nn_layer_spec *hidden; /* the spec's copy */
    layer *layers;            /* n_hidden + 1: the head is last */
    ad_param **params;
    size_t n_params;
    ad_tensor *h;  /* forward scratch: h[0] input, h[i] hidden layer i */
    bool training; /* dropout drops (ad_nn_set_training) */
    ad_rng drop;   /* the dropout masks' generator */
};

static const char *const act_names[AD_ACT_COUNT] = {
    "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "swish", "mish", "gelu"};
static const char *const head_names[AD_HEAD_COUNT] = {"identity", "logistic", "softmax"};
static const char *const loss_names[] = {"default", "mse", "half_sse", "bce_with_logits",
                                         "softmax_cross_entropy"};

const char *ad_nn_act_name(ad_nn_act a)
{
    return (unsigned)a < AD_ACT_COUNT ? act_names[a] : "?";
}

bool ad_nn_act_parse(const char *name, ad_nn_act *a)
{
    for (unsigned i = 0; name && i < AD_ACT_COUNT; i++)
        if (strcmp(name, act_names[i]) == 0) {
            *a = (ad_nn_act)i;
            return true;
        }
    return false;
}

const char *ad_nn_head_name(ad_nn_head h)
{
    return (unsigned)h < AD_HEAD_COUNT ? head_names[h] : "?";
}

/* The loss a head trains with, or -1 when the requested one does not suit it. */
static int resolve_loss(ad_nn_head h, ad_nn_loss_kind l)
{
    switch (h) {
    case AD_HEAD_IDENTITY:
        if (l == AD_LOSS_DEFAULT) return AD_LOSS_MSE;
        return l == AD_LOSS_MSE || l == AD_LOSS_HALF_SSE ? (int)l : -1;
    case AD_HEAD_LOGISTIC:
        return l == AD_LOSS_DEFAULT || l == AD_LOSS_BCE_LOGITS ? AD_LOSS_BCE_LOGITS : -1;
    case AD_HEAD_SOFTMAX:
        return l == AD_LOSS_DEFAULT || l == AD_LOSS_SOFTMAX_CE ? AD_LOSS_SOFTMAX_CE : -1;
    default:
        return -1;
    }
}

/* Whether a [rows, cols] parameter is past what ad_param_new can hold (it
 * refuses 2^60 elements and more), with the layer and shape into err: "out
 * of memory" would hide a size that overflowed. k 0: no layer number. */
static bool too_large(size_t rows, size_t cols, const char *fn, const char *where, size_t k,
                      const char *what)
{
    if (rows <= SIZE_MAX / 16 / cols) return false;
    char num[24] = "";
    if (k) snprintf(num, sizeof num, " %zu", k);
    ad_nn_errf("%s: %s%s: a [%zu,%zu] %s is too large to hold", fn, where, num, rows, cols, what);
    return true;
}

static bool check_spec(const ad_nn_spec *s)
{
    const char *fn = "ad_nn_new";
    if (s->inputs == 0) return ad_nn_errf("%s: inputs is 0", fn), false;
    if (s->outputs == 0) return ad_nn_errf("%s: outputs is 0", fn), false;
    if (s->n_hidden > 0 && !s->hidden)
        return ad_nn_errf("%s: n_hidden is %zu but hidden is NULL", fn, s->n_hidden), false;
    if (s->dtype != AD_F32 && s->dtype != AD_F64)
        return ad_nn_errf("%s: unknown dtype %d", fn, (int)s->dtype), false;
    if ((unsigned)s->init >= AD_INIT_COUNT)
        return ad_nn_errf("%s: unknown init %d", fn, (int)s->init), false;
    if ((unsigned)s->head >= AD_HEAD_COUNT)
        return ad_nn_errf("%s: unknown head %d", fn, (int)s->head), false;
    if ((unsigned)s->loss > AD_LOSS_SOFTMAX_CE)
        return ad_nn_errf("%s: unknown loss %d", fn, (int)s->loss), false;
    if (resolve_loss(s->head, s->loss) < 0)
        return ad_nn_errf("%s: loss %s does not suit the %s head", fn, loss_names[s->loss],
                          head_names[s->head]),
               false;
    if (s->head == AD_HEAD_SOFTMAX && s->outputs < 2)
        return ad_nn_errf("%s: a softmax head needs at least 2 outputs", fn), false;
    if (!isfinite(s->leaky_slope))
        return ad_nn_errf("%s: leaky_slope is %g; it must be finite", fn, s->leaky_slope), false;
    for (size_t i = 0; i < s->n_hidden; i++) {
        const ad_nn_layer_spec *l = &s->hidden[i];
        size_t k = i + 1; /* layers are numbered from 1; 0 is the input */
        if (l->width == 0) return ad_nn_errf("%s: hidden layer %zu: width is 0", fn, k), false;
        if ((unsigned)l->act >= AD_ACT_COUNT)
            return ad_nn_errf("%s: hidden layer %zu: unknown activation %d", fn, k, (int)l->act),
                   false;
        if (!(l->dropout >= 0 && l->dropout < 1)) /* NaN fails too */
            return ad_nn_errf("%s: hidden layer %zu: dropout is %g; the rate must be in [0, 1)", fn,
                              k, ad_nn_shown(l->dropout)),
                   false;
        if (l->skip > k)
            return ad_nn_errf(
                       "%s: hidden layer %zu: skip %zu reaches before the input (at most %zu)", fn,
                       k, l->skip, k),
                   false;
        if (too_large(l->width, k == 1 ? s->inputs : s->hidden[k - 2].width, fn, "hidden layer", k,
                      "weight matrix"))
            return false;
        if (l->skip == 0) continue;
        size_t from = k == l->skip ? s->inputs : s->hidden[k - l->skip - 1].width;
        if (from != l->width && !l->project)
            return ad_nn_errf("%s: hidden layer %zu: residual from width %zu to width %zu needs a "
                              "projection (set project)",
                              fn, k, from, l->width),
                   false;
        if (l->project && too_large(from, l->width, fn, "hidden layer", k, "projection"))
            return false;
    }
    return !too_large(s->outputs, s->n_hidden ? s->hidden[s->n_hidden - 1].width : s->inputs, fn,
                      "output layer", 0, "weight matrix");
}

static ad_param *new_matrix(ad_dtype dt, size_t rows, size_t cols)
{
    return cols ? ad_param_new(dt, 2, (size_t[]){rows, cols})
                : ad_param_new(dt, 1, (size_t[]){rows});
}

static bool uses_he(ad_nn_act a)
{
    return a == AD_ACT_RELU || a == AD_ACT_LEAKY_RELU;
}

/* A distinct, reproducible seed per parameter: splitmix64 of (seed, k). */
static uint64_t param_seed(uint64_t seed, size_t k)
{
    ad_rng r;
    ad_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(k + 1)));
    return ad_rng_next(&r);
}

static void init_weight(ad_param *w, ad_nn_init init, ad_nn_act act, size_t fan_in, size_t fan_out,
                        uint64_t seed)
{
    if (init == AD_INIT_DEFAULT) init = uses_he(act) ? AD_INIT_HE_UNIFORM : AD_INIT_XAVIER_UNIFORM;
    double fi = (double)fan_in, fo = (double)fan_out;
    switch (init) {
    case AD_INIT_XAVIER_NORMAL:
        ad_param_normal(w, 0.0, sqrt(2.0 / (fi + fo)), seed);
        break;
    case AD_INIT_HE_UNIFORM: {
        double a = sqrt(6.0 / fi);
        ad_param_uniform(w, -a, a, seed);
        break;
    }
    case AD_INIT_HE_NORMAL:
        ad_param_normal(w, 0.0, sqrt(2.0 / fi), seed);
        break;
    default: {
        double a = sqrt(6.0 / (fi + fo));
        ad_param_uniform(w, -a, a, seed);
        break;
    }
    }
}

void ad_nn_init_params(ad_nn *m, uint64_t seed)
{
    if (!m) return;
    m->spec.seed = seed;
    size_t k = 0;
    for (size_t i = 0; i <= m->spec.n_hidden; i++) {
        layer *l = &m->layers[i];
        init_weight(l->w, m->spec.init, l->act, l->in, l->out, param_seed(seed, k++));
        memset(ad_param_value(l->b), 0, ad_param_numel(l->b) * (m->spec.dtype == AD_F32 ? 4 : 8));
        k++;
        if (l->p) {
            size_t from = ad_param_numel(l->p) / l->out;
            init_weight(l->p, m->spec.init, AD_ACT_IDENTITY, from, l->out, param_seed(seed, k++));
        }
        if (l->ln_g) { /* the identity to start with: gain 1, shift 0 */
            for (size_t j = 0; j < l->out; j++)
                if (m->spec.dtype == AD_F32)
                    ((float *)ad_param_value(l->ln_g))[j] = 1.0f;
                else
                    ((double *)ad_param_value(l->ln_g))[j] = 1.0;
            memset(ad_param_value(l->ln_s), 0, l->out * (m->spec.dtype == AD_F32 ? 4 : 8));
            ad_param_zero_grad(l->ln_g);
            ad_param_zero_grad(l->ln_s);
        }
        ad_param_zero_grad(l->w);
        ad_param_zero_grad(l->b);
        if (l->p) ad_param_zero_grad(l->p);
    }
    ad_rng_seed(&m->drop, seed);
}

ad_nn *ad_nn_new(const ad_nn_spec *spec)
{
    ad_set_last_error(NULL);
    if (!spec) return ad_nn_errf("ad_nn_new: spec is NULL"), NULL;
    if (!check_spec(spec)) return NULL;
    size_t nl = spec->n_hidden + 1;
    ad_nn *m = ad_nn_calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->spec = *spec;
    m->spec.loss = (ad_nn_loss_kind)resolve_loss(spec->head, spec->loss);
    if (m->spec.leaky_slope == 0.0) m->spec.leaky_slope = 0.01;
    m->hidden = ad_nn_calloc(nl, sizeof *m->hidden);
    m->layers = ad_nn_calloc(nl, sizeof *m->layers);
    m->params = ad_nn_calloc(5 * nl, sizeof *m->params);
    m->h = ad_nn_calloc(nl, sizeof *m->h);
    if (!m->hidden || !m->layers || !m->params || !m->h) goto nomem;
    if (spec->n_hidden) memcpy(m->hidden, spec->hidden, spec->n_hidden * sizeof *m->hidden);
    m->spec.hidden = m->hidden;
    size_t prev = spec->inputs;
    for (size_t i = 0; i < nl; i++) {
        layer *l = &m->layers[i];
        bool head = i == spec->n_hidden;
        l->in = prev;
        l->out = head ? spec->outputs : spec->hidden[i].width;
        l->act = head ? AD_ACT_IDENTITY : spec->hidden[i].act;
        l->skip = head ? 0 : spec->hidden[i].skip;
        if (!(l->w = new_matrix(spec->dtype, l->out, l->in))) goto nomem;
        m->params[m->n_params++] = l->w;
        if (!(l->b = new_matrix(spec->dtype, l->out, 0))) goto nomem;
        m->params[m->n_params++] = l->b;
        if (l->skip && spec->hidden[i].project) {
            size_t from = i + 1 == l->skip ? spec->inputs : spec->hidden[i - l->skip].width;
            if (!(l->p = new_matrix(spec->dtype, from, l->out))) goto nomem;
            m->params[m->n_params++] = l->p;
        }
        if (!head && spec->hidden[i].layer_norm) {
            if (!(l->ln_g = new_matrix(spec->dtype, l->out, 0))) goto nomem;
            m->params[m->n_params++] = l->ln_g;
            if (!(l->ln_s = new_matrix(spec->dtype, l->out, 0))) goto nomem;
            m->params[m->n_params++] = l->ln_s;
        }
        l->dropout = head ? 0.0 : spec->hidden[i].dropout;
        prev = l->out;
    }
    ad_nn_init_params(m, spec->seed);
    return m;
nomem:
    ad_nn_errf("ad_nn_new: out of memory");
    ad_nn_free(m);
    return NULL;
}

void ad_nn_free(ad_nn *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_params; i++)
        ad_param_free(m->params[i]);
    ad_free(m->hidden);
    ad_free(m->layers);
    ad_free(m->params);
    ad_free(m->h);
    ad_free(m);
}

const ad_nn_spec *ad_nn_get_spec(const ad_nn *m)
{
    return m ? &m->spec : NULL;
}

ad_param *const *ad_nn_params(const ad_nn *m, size_t *n)
{
    if (n) *n = m ? m->n_params : 0;
    return m ? m->params : NULL;
}

bool ad_nn_set_training(ad_nn *m, bool on)
{
    if (!m) return false;
    bool was = m->training;
    m->training = on;
    return was;
}

bool ad_nn_training(const ad_nn *m)
{
    return m && m->training;
}

void ad_nn_seed_dropout(ad_nn *m, uint64_t seed)
{
    if (m) ad_rng_seed(&m->drop, seed);
}

/* How many parameters layer l has in ad_nn_params: w, b, [p], [gain, shift]. */
static size_t layer_param_count(const layer *l)
{
    return 2 + (l->p ? 1u : 0u) + (l->ln_g ? 2u : 0u);
}

ad_param *const *ad_nn_layer_params(const ad_nn *m, size_t k, size_t *n)
{
    if (n) *n = 0;
    if (!m || k < 1 || k > m->spec.n_hidden + 1) return NULL;
    size_t at = 0;
    for (size_t i = 0; i + 1 < k; i++)
        at += layer_param_count(&m->layers[i]);
    if (n) *n = layer_param_count(&m->layers[k - 1]);
    return m->params + at;
}

ad_status ad_nn_set_decay(const ad_nn *m, ad_opt *o, double weights, double others)
{
    const char *fn = "ad_nn_set_decay";
    ad_set_last_error(NULL);
    if (!m || !o) return ad_nn_errf("%s: model or optimizer is NULL", fn), AD_ERR_INVALID;
    const double wd[2] = {weights, others};
    for (int k = 0; k < 2; k++)
        if (!(wd[k] >= 0) || !isfinite(wd[k]))
            return ad_nn_errf("%s: %s is %g; it must be finite and >= 0", fn,
                              k ? "others" : "weights", ad_nn_shown(wd[k])),
                   AD_ERR_INVALID;
    /* the matrices first, then the vectors, each group in one call */
    size_t nw = 0, nv = 0;
    ad_param **mat = ad_nn_calloc(m->n_params, sizeof *mat);
    ad_param **vec = ad_nn_calloc(m->n_params, sizeof *vec);
    ad_status st = AD_OK;
    if (!mat || !vec) {
        ad_nn_errf("%s: out of memory", fn);
        st = AD_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i <= m->spec.n_hidden; i++) {
        const layer *l = &m->layers[i];
        mat[nw++] = l->w;
        if (l->p) mat[nw++] = l->p;
        vec[nv++] = l->b;
        if (l->ln_g) vec[nv++] = l->ln_g, vec[nv++] = l->ln_s;
    }
    /* the first call checks every matrix is o's; the vectors are checked
     * before anything changes by asking for their current decay */
    for (size_t i = 0; i < nv; i++)
        if (isnan(ad_opt_decay(o, vec[i]))) {
            char name[AD_NN_PARAM_NAME_LEN];
            size_t k = 0;
            while (k < m->n_params && m->params[k] != vec[i])
                k++;
            ad_nn_errf("%s: the optimizer does not update the model's parameter %zu (%s)", fn, k,
                       ad_nn_param_name(m, k, name));
            st = AD_ERR_INVALID;
            goto out;
        }
    if ((st = ad_opt_set_decay(o, mat, nw, weights)) != AD_OK) {
        ad_nn_errf("%s: the optimizer does not update all of the model's weights", fn);
        goto out;
    }
    st = ad_opt_set_decay(o, vec, nv, others);
out:
    ad_free(mat);
    ad_free(vec);
    return st;
}

size_t ad_nn_param_count(const ad_nn *m)
{
    size_t s = 0;
    for (size_t i = 0; m && i < m->n_params; i++)
        s += ad_param_numel(m->params[i]);
    return s;
}

static ad_tensor activate(ad_tensor z, ad_nn_act a, double slope)
{
    switch (a) {
    case AD_ACT_SIGMOID:
        return ad_tsigmoid(z);
    case AD_ACT_TANH:
        return ad_ttanh(z);
    case AD_ACT_RELU:
        return ad_relu(z);
    case AD_ACT_LEAKY_RELU:
        return ad_leaky_relu(z, slope);
    case AD_ACT_SOFTPLUS:
        return ad_softplus(z);
    case AD_ACT_SWISH:
        return ad_swish(z);
    case AD_ACT_MISH:
        return ad_mish(z);
    case AD_ACT_GELU:
        return ad_gelu(z);
    default:
        return z;
    }
}

static const char *dtype_name(ad_dtype dt)
{
    return dt == AD_F64 ? "float64" : "float32";
}

/* Whether the handle can be read (an invalid or stale one has no shape:
 * the engine's op then says why). */
static bool readable(ad_tensor x)
{
    return ad_tensor_shape(x, NULL) > 0;
}

/* Whether x is [B, width] or one sample [width]. */
static bool width_ok(ad_tensor x, size_t width)
{
    size_t dims[AD_MAX_DIMS], nd = ad_tensor_shape(x, dims);
    return (nd == 1 || nd == 2) && dims[nd - 1] == width;
}

/* h_i = act(h_{i-1} W_i^T + b_i) + (h_{i-skip} [P_i]); logits = h_L W^T + b.
 * The input is checked once here (O(1)), so a wrong width is reported
 * against the model, not as a matmul of two shapes the caller never wrote. */
ad_tensor ad_nn_forward(ad_nn *m, ad_tensor x)
{
    ad_tape *t = ad_tensor_tape(x);
    const char *fn = "ad_nn_forward";
    if (!m) return ad_nn_fail(t, AD_ERR_INVALID, "%s: model is NULL", fn);
    if (readable(x)) {
        if (ad_tensor_dtype(x) != m->spec.dtype)
            return ad_nn_fail(t, AD_ERR_DTYPE, "%s: input is %s; the model is %s", fn,
                              dtype_name(ad_tensor_dtype(x)), dtype_name(m->spec.dtype));
        char sh[AD_NN_SHAPE_LEN];
        if (!width_ok(x, m->spec.inputs))
            return ad_nn_fail(t, AD_ERR_SHAPE, "%s: input has shape %s; the model takes [B,%zu]",
                              fn, ad_nn_shape_str(x, sh), m->spec.inputs);
    }
    bool healthy = ad_tape_error(t, NULL) == AD_OK;
    ad_tensor h = x;
    size_t nh = m->spec.n_hidden;
    m->h[0] = x;
    for (size_t i = 0; i <= nh; i++) {
        const layer *l = &m->layers[i];
        ad_tensor w = ad_param_use(t, l->w), b = ad_param_use(t, l->b);
        if (l->ln_g) /* normalised between the product and the activation */
            h = activate(ad_layer_norm(ad_linear(h, w, b), 1, ad_param_use(t, l->ln_g),
                                       ad_param_use(t, l->ln_s), AD_NN_LN_EPS),
                         l->act, m->spec.leaky_slope);
        else if (l->act == AD_ACT_RELU) /* one node for both */
            h = ad_linear_relu(h, w, b);
        else
            h = activate(ad_linear(h, w, b), l->act, m->spec.leaky_slope);
        if (l->dropout > 0) h = ad_dropout(h, l->dropout, m->training, &m->drop);
        if (l->skip) {
            ad_tensor s = m->h[i + 1 - l->skip];
            if (l->p) s = ad_matmul(s, ad_param_use(t, l->p));
            h = ad_tadd(h, s);
        }
        if (i < nh) m->h[i + 1] = h;
    }
    if (healthy) ad_tape_error_context(t, fn); /* an op failed it: name ad_nn_forward */
    return h;
}

/* Fails logits' tape unless they are [B, outputs] or [outputs]. */
static bool logits_fit(const ad_nn *m, ad_tensor logits, const char *fn)
{
    if (width_ok(logits, m->spec.outputs)) return true;
    char sh[AD_NN_SHAPE_LEN];
    ad_nn_fail(ad_tensor_tape(logits), AD_ERR_SHAPE,
               "%s: logits have shape %s; the model gives [B,%zu]", fn, ad_nn_shape_str(logits, sh),
               m->spec.outputs);
    return false;
}

ad_tensor ad_nn_predict(const ad_nn *m, ad_tensor logits)
{
    ad_tape *t = ad_tensor_tape(logits);
    if (!m) return ad_nn_fail(t, AD_ERR_INVALID, "ad_nn_predict: model is NULL");
    if (readable(logits) && !logits_fit(m, logits, "ad_nn_predict")) return ad_tensor_invalid(t);
    switch (m->spec.head) {
    case AD_HEAD_LOGISTIC:
        return ad_tsigmoid(logits);
    case AD_HEAD_SOFTMAX:
        return ad_softmax(logits, -1);
    default:
        return logits;
    }
}

/* The target of the identity and logistic heads: a tensor of the logits'
 * shape and dtype; if not, fails the tape naming ad_nn_loss. */
static bool target_fits(const ad_nn *m, ad_tensor logits, ad_tensor target)
{
    const char *fn = "ad_nn_loss";
    ad_tape *t = ad_tensor_tape(logits);
    char a[AD_NN_SHAPE_LEN], b[AD_NN_SHAPE_LEN];
    size_t dt[AD_MAX_DIMS], dl[AD_MAX_DIMS];
    if (!ad_tensor_ok(target))
        return ad_nn_fail(t, AD_ERR_INVALID,
                          "%s: the %s head needs a target tensor [B,%zu]; target is not a valid "
                          "handle",
                          fn, ad_nn_head_name(m->spec.head), m->spec.outputs),
               false;
    if (!readable(target)) return true; /* stale: the loss op says so */
    size_t nt = ad_tensor_shape(target, dt), nl = ad_tensor_shape(logits, dl);
    if (nt != nl || memcmp(dt, dl, nt * sizeof *dt) != 0)
        return ad_nn_fail(t, AD_ERR_SHAPE, "%s: target has shape %s; the logits have %s", fn,
                          ad_nn_shape_str(target, a), ad_nn_shape_str(logits, b)),
               false;
    if (ad_tensor_dtype(target) != ad_tensor_dtype(logits))
        return ad_nn_fail(t, AD_ERR_DTYPE, "%s: target is %s; the logits are %s", fn,
                          dtype_name(ad_tensor_dtype(target)), dtype_name(ad_tensor_dtype(logits))),
               false;
    return true;
}

ad_tensor ad_nn_loss(const ad_nn *m, ad_tensor logits, ad_tensor target, const int32_t *labels)
{
    ad_tape *t = ad_tensor_tape(logits);
    if (!m) return ad_nn_fail(t, AD_ERR_INVALID, "ad_nn_loss: model is NULL");
    size_t dims[AD_MAX_DIMS], nd = ad_tensor_shape(logits, dims), b = nd == 2 ? dims[0] : 1;
    if (nd > 0) { /* an unreadable one: the loss op reports why */
        /* both fail the tape */
        if (!logits_fit(m, logits, "ad_nn_loss") ||
            (m->spec.loss != AD_LOSS_SOFTMAX_CE && !target_fits(m, logits, target)))
            return ad_tensor_invalid(t);
        if (m->spec.loss == AD_LOSS_SOFTMAX_CE && !labels && b > 0) /* [0,C] reads none */
            return ad_nn_fail(t, AD_ERR_INVALID,
                              "ad_nn_loss: the softmax head needs labels (B class indices)");
    }
    /* labels out of range and foreign or stale targets are found by the loss
     * op (a label check is O(B), too dear to repeat per step) */
    bool healthy = ad_tape_error(t, NULL) == AD_OK;
    ad_tensor l;
    switch (m->spec.loss) {
    case AD_LOSS_HALF_SSE:
        l = ad_half_sse_loss(logits, target);
        break;
    case AD_LOSS_BCE_LOGITS:
        l = ad_bce_with_logits(logits, target);
        break;
    case AD_LOSS_SOFTMAX_CE:
        l = ad_softmax_cross_entropy(logits, labels, b);
        break;
    default:
        l = ad_mse_loss(logits, target);
        break;
    }
    if (healthy) ad_tape_error_context(t, "ad_nn_loss");
    return l;
}
