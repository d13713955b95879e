/* SPDX-License-Identifier: MIT
 * libFuzzer target for the public API. The input bytes are a program: the
 * first byte picks a mode, the rest are instructions.
 *  - API mode: scalars and tensors of random shapes and dtypes on two tapes,
 *    every op (ill-shaped, wrong-dtype, stale and cross-tape calls included),
 *    resets, sweeps with and without seeds, evaluation and anomaly toggles.
 *    After every call: an error that appeared has a message starting "ad_";
 *    a tape already in error keeps its error and does no work; a failed op
 *    returns an invalid handle and a successful one a valid handle.
 *  - Gradcheck mode: a smooth float64 graph over parameters (no kinks by
 *    construction: no relu, abs, max or min), checked by ad_gradcheck_graph. */
#include "adtape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading the input */

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

static unsigned byte(src *s)
{
    if (!s->n) return 0;
    s->n--;
    return *s->p++;
}

static size_t pick(src *s, size_t n)
{
    return n ? byte(s) % n : 0;
}

static int small_int(src *s) /* -6..6: axes, mostly in range */
{
    return (int)pick(s, 13) - 6;
}

static double small_value(src *s)
{
    return (double)((int)byte(s) - 128) / 32.0;
}

static void finding(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_api finding: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* ======================================================== API mode */

enum { NT = 24, NS = 16, NP = 4, MAXEL = 1 << 14 };

typedef struct world {
    ad_tape *tape[2];
    ad_tensor ten[NT];
    ad_scalar sc[NS];
    ad_param *par[NP];
    size_t nt, ns; /* next slot to overwrite (rings) */
} world;

/* What each tape looked like before a call. */
typedef struct snap {
    ad_status err[2];
    char msg[2][512];
    ad_tape_stats st[2];
} snap;

static snap take(const world *w)
{
    snap s;
    for (int k = 0; k < 2; k++) {
        const char *m;
        s.err[k] = ad_tape_error(w->tape[k], &m);
        snprintf(s.msg[k], sizeof s.msg[k], "%s", m);
        s.st[k] = ad_tape_stats_get(w->tape[k]);
    }
    return s;
}

/* The invariants after a call: a new error says which function failed; an
 * old error is kept as it was (the first wins) and nothing was recorded. */
static void check(const world *w, const snap *before, const char *call)
{
    for (int k = 0; k < 2; k++) {
        const char *m;
        ad_status e = ad_tape_error(w->tape[k], &m);
        ad_tape_stats st = ad_tape_stats_get(w->tape[k]);
        if (before->err[k] == AD_OK) {
            if (e != AD_OK && (!m[0] || strncmp(m, "ad_", 3) != 0))
                finding("error message does not start with ad_", m);
            if (e == AD_OK && m[0]) finding("healthy tape with a message", m);
            continue;
        }
        if (e != before->err[k] || strcmp(m, before->msg[k]) != 0)
            finding("sticky error changed", call);
        if (st.scalar_nodes != before->st[k].scalar_nodes ||
            st.tensor_nodes != before->st[k].tensor_nodes ||
            st.bytes_used != before->st[k].bytes_used)
            finding("a failed tape did work", call);
    }
}

static int tape_index(const world *w, const ad_tape *t)
{
    return t == w->tape[0] ? 0 : t == w->tape[1] ? 1 : -1;
}

/* A result handle is valid exactly when its tape has no error. */
static void check_tensor(const world *w, ad_tensor y, const char *call)
{
    int k = tape_index(w, ad_tensor_tape(y));
    if (ad_tensor_ok(y)) {
        if (k < 0) finding("a valid tensor on an unknown tape", call);
        if (ad_tape_error(w->tape[k], NULL) != AD_OK)
            finding("valid tensor from a failed tape", call);
        /* touch every element: ASan sees a short buffer */
        size_t n = ad_tensor_numel(y);
        const void *d = ad_tensor_data(y);
        volatile double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += ad_tensor_dtype(y) == AD_F32 ? (double)((const float *)d)[i]
                                                : ((const double *)d)[i];
        (void)sum;
    } else if (k >= 0 && ad_tape_error(w->tape[k], NULL) == AD_OK) {
        finding("an op failed without an error on its tape", call);
    }
}

static void check_scalar(const world *w, ad_scalar y, const char *call)
{
    int k = tape_index(w, ad_scalar_tape(y));
    if (ad_scalar_ok(y)) {
        if (k < 0 || ad_tape_error(w->tape[k], NULL) != AD_OK)
            finding("valid scalar from a failed tape", call);
    } else if (k >= 0 && ad_tape_error(w->tape[k], NULL) == AD_OK) {
        finding("a scalar op failed without an error on its tape", call);
    }
}

#define CALL_T(w, expr)                                                                            \
    do {                                                                                           \
        snap s_ = take(w);                                                                         \
        ad_tensor y_ = (expr);                                                                     \
        check(w, &s_, #expr);                                                                      \
        check_tensor(w, y_, #expr);                                                                \
        (w)->ten[(w)->nt++ % NT] = y_;                                                             \
    } while (0)

#define CALL_S(w, expr)                                                                            \
    do {                                                                                           \
        snap s_ = take(w);                                                                         \
        ad_scalar y_ = (expr);                                                                     \
        check(w, &s_, #expr);                                                                      \
        check_scalar(w, y_, #expr);                                                                \
        (w)->sc[(w)->ns++ % NS] = y_;                                                              \
    } while (0)

#define CALL_V(w, expr)                                                                            \
    do {                                                                                           \
        snap s_ = take(w);                                                                         \
        (void)(expr);                                                                              \
        check(w, &s_, #expr);                                                                      \
    } while (0)

static size_t shape(src *s, size_t *dims)
{
    size_t nd = pick(s, 6); /* 0 and 5 are invalid */
    for (size_t i = 0; i < AD_MAX_DIMS; i++)
        dims[i] = pick(s, 8) < 6 ? 1 + pick(s, 3) : pick(s, 4); /* 0..3, mostly 1..3 */
    return nd;
}

static ad_tensor T(world *w, src *s)
{
    return w->ten[pick(s, NT)];
}

static ad_scalar S(world *w, src *s)
{
    return w->sc[pick(s, NS)];
}

static ad_tape *tape_of(world *w, src *s)
{
    return w->tape[pick(s, 2)];
}

static void op_new_tensor(world *w, src *s)
{
    size_t dims[AD_MAX_DIMS];
    ad_tape *t = tape_of(w, s);
    ad_dtype dt = (ad_dtype)pick(s, 2);
    size_t nd = shape(s, dims);
    unsigned kind = byte(s) % 6;
    double data[81 * 2];
    float *f = (float *)data;
    for (size_t i = 0; i < 81; i++) {
        double v = small_value(s);
        if (dt == AD_F32)
            f[i] = (float)v;
        else
            data[i] = v;
    }
    switch (kind) {
    case 0:
        CALL_T(w, ad_tensor_new(t, dt, nd, dims, data));
        break;
    case 1:
        CALL_T(w, ad_tensor_variable(t, dt, nd, dims, data));
        break;
    case 2:
        CALL_T(w, ad_tensor_ones(t, dt, nd, dims));
        break;
    case 3:
        CALL_T(w, ad_tensor_uniform(t, dt, nd, dims, -2, 2, byte(s)));
        break;
    case 4:
        CALL_T(w, ad_tensor_variable(t, (ad_dtype)(2 + pick(s, 3)), nd, dims, NULL));
        break;
    default:
        CALL_T(w, ad_tensor_variable(t, dt, nd, byte(s) & 1 ? dims : NULL, NULL));
        break;
    }
}

static void op_unary(world *w, src *s)
{
    ad_tensor x = T(w, s);
    int ax = small_int(s);
    bool kd = byte(s) & 1;
    double c = small_value(s);
    switch (pick(s, 26)) {
    case 0:
        CALL_T(w, ad_tneg(x));
        break;
    case 1:
        CALL_T(w, ad_texp(x));
        break;
    case 2:
        CALL_T(w, ad_tlog(x));
        break;
    case 3:
        CALL_T(w, ad_tsqrt(x));
        break;
    case 4:
        CALL_T(w, ad_tsquare(x));
        break;
    case 5:
        CALL_T(w, ad_tabs(x));
        break;
    case 6:
        CALL_T(w, ad_tscale(x, c));
        break;
    case 7:
        CALL_T(w, ad_taddc(x, c));
        break;
    case 8:
        CALL_T(w, ad_tsigmoid(x));
        break;
    case 9:
        CALL_T(w, ad_ttanh(x));
        break;
    case 10:
        CALL_T(w, ad_relu(x));
        break;
    case 11:
        CALL_T(w, ad_leaky_relu(x, c));
        break;
    case 12:
        CALL_T(w, ad_softplus(x));
        break;
    case 13:
        CALL_T(w, ad_swish(x));
        break;
    case 14:
        CALL_T(w, ad_mish(x));
        break;
    case 15:
        CALL_T(w, ad_gelu(x));
        break;
    case 16:
        CALL_T(w, ad_sum(x));
        break;
    case 17:
        CALL_T(w, ad_mean(x));
        break;
    case 18:
        CALL_T(w, ad_max(x));
        break;
    case 19:
        CALL_T(w, ad_sum_axis(x, ax, kd));
        break;
    case 20:
        CALL_T(w, ad_mean_axis(x, ax, kd));
        break;
    case 21:
        CALL_T(w, ad_max_axis(x, ax, kd));
        break;
    case 22:
        CALL_T(w, ad_softmax(x, ax));
        break;
    case 23:
        CALL_T(w, ad_log_softmax(x, ax));
        break;
    case 24:
        CALL_T(w, ad_transpose(x, ax, small_int(s)));
        break;
    default: {
        size_t dims[AD_MAX_DIMS];
        size_t nd = shape(s, dims);
        CALL_T(w, ad_reshape(x, nd, dims));
    }
    }
}

static void op_binary(world *w, src *s)
{
    ad_tensor a = T(w, s), b = T(w, s);
    switch (pick(s, 13)) {
    case 0:
        CALL_T(w, ad_tadd(a, b));
        break;
    case 1:
        CALL_T(w, ad_tsub(a, b));
        break;
    case 2:
        CALL_T(w, ad_tmul(a, b));
        break;
    case 3:
        CALL_T(w, ad_tdiv(a, b));
        break;
    case 4:
        CALL_T(w, ad_tpow(a, b));
        break;
    case 5:
        CALL_T(w, ad_tmaximum(a, b));
        break;
    case 6:
        CALL_T(w, ad_tminimum(a, b));
        break;
    case 7:
        CALL_T(w, ad_matmul(a, b));
        break;
    case 8:
        CALL_T(w, ad_linear(a, b, byte(s) & 1 ? T(w, s) : AD_TENSOR_NONE));
        break;
    case 9:
        CALL_T(w, ad_mse_loss(a, b));
        break;
    case 10:
        CALL_T(w, ad_half_sse_loss(a, b));
        break;
    case 11:
        CALL_T(w, ad_bce_with_logits(a, b));
        break;
    default: {
        int32_t labels[8];
        size_t n = pick(s, 9);
        for (size_t i = 0; i < 8; i++)
            labels[i] = (int32_t)pick(s, 6) - 1;
        CALL_T(w, ad_softmax_cross_entropy(a, byte(s) & 7 ? labels : NULL, n));
    }
    }
}

static void op_shape(world *w, src *s)
{
    ad_tensor x = T(w, s);
    switch (pick(s, 3)) {
    case 0: {
        size_t lo = pick(s, 5), hi = pick(s, 5);
        CALL_T(w, ad_slice(x, small_int(s), lo, hi));
        break;
    }
    case 1: {
        ad_tensor xs[5];
        size_t n = pick(s, 6);
        for (size_t i = 0; i < n; i++)
            xs[i] = T(w, s);
        CALL_T(w, ad_concat(n ? xs : NULL, n, small_int(s)));
        break;
    }
    default:
        CALL_T(w, ad_param_use(tape_of(w, s), w->par[pick(s, NP)]));
        break;
    }
}

static void op_bridge(world *w, src *s)
{
    switch (pick(s, 3)) {
    case 0: {
        ad_tensor x = T(w, s);
        CALL_S(w, ad_tensor_to_scalar(x, pick(s, 10)));
        break;
    }
    case 1:
        CALL_S(w, ad_tensor_item(T(w, s)));
        break;
    default: {
        ad_scalar xs[4];
        size_t n = pick(s, 5), dims[AD_MAX_DIMS];
        for (size_t i = 0; i < n; i++)
            xs[i] = S(w, s);
        size_t nd = shape(s, dims);
        if (byte(s) & 1) { /* usually a shape that fits */
            nd = 1;
            dims[0] = n;
        }
        CALL_T(w, ad_stack_scalars(n ? xs : NULL, n, nd, dims));
    }
    }
}

static void op_scalar(world *w, src *s)
{
    ad_scalar a = S(w, s), b = S(w, s);
    double c = small_value(s);
    switch (pick(s, 20)) {
    case 0:
        CALL_S(w, ad_variable(tape_of(w, s), c));
        break;
    case 1:
        CALL_S(w, ad_constant(tape_of(w, s), c));
        break;
    case 2:
        CALL_S(w, ad_add(a, b));
        break;
    case 3:
        CALL_S(w, ad_sub(a, b));
        break;
    case 4:
        CALL_S(w, ad_mul(a, b));
        break;
    case 5:
        CALL_S(w, ad_div(a, b));
        break;
    case 6:
        CALL_S(w, ad_pow(a, b));
        break;
    case 7:
        CALL_S(w, ad_atan2(a, b));
        break;
    case 8:
        CALL_S(w, ad_fmax(a, b));
        break;
    case 9:
        CALL_S(w, ad_hypot(a, b));
        break;
    case 10:
        CALL_S(w, ad_exp(a));
        break;
    case 11:
        CALL_S(w, ad_log(a));
        break;
    case 12:
        CALL_S(w, ad_sqrt(a));
        break;
    case 13:
        CALL_S(w, ad_tanh(a));
        break;
    case 14:
        CALL_S(w, ad_powi(a, (int)pick(s, 9) - 4));
        break;
    case 15:
        CALL_S(w, ad_scale(a, c));
        break;
    case 16:
        CALL_S(w, ad_sigmoid(a));
        break;
    case 17: /* a folded result given a record of its own */
        CALL_S(w, ad_keep(ad_fabs(a)));
        break;
    case 18:
        CALL_S(w, ad_custom2(a, b, c, 1.0, -1.0));
        break;
    default:
        CALL_S(w, ad_rdiv(c, a));
        break;
    }
}

static void op_sweep(world *w, src *s)
{
    ad_tensor y = T(w, s);
    switch (pick(s, 4)) {
    case 0:
        CALL_V(w, ad_backward(y));
        break;
    case 1: {
        size_t n = ad_tensor_numel(y);
        double *seed = malloc((n ? n : 1) * sizeof *seed);
        for (size_t i = 0; i < n; i++)
            seed[i] = small_value(s);
        CALL_V(w, ad_backward_seeded(y, byte(s) & 7 ? seed : NULL));
        free(seed);
        break;
    }
    case 2:
        CALL_V(w, ad_backward_scalar(S(w, s)));
        break;
    default:
        CALL_V(w, ad_backward_scalar_seeded(S(w, s), small_value(s)));
        break;
    }
    /* gradients of every live tensor: read them whole */
    for (size_t i = 0; i < NT; i++) {
        const void *g = ad_tensor_grad(w->ten[i]);
        size_t n = ad_tensor_numel(w->ten[i]);
        volatile double sum = 0;
        for (size_t k = 0; g && k < n; k++)
            sum += ad_tensor_dtype(w->ten[i]) == AD_F32 ? (double)((const float *)g)[k]
                                                        : ((const double *)g)[k];
        (void)sum;
    }
    for (size_t i = 0; i < NS; i++)
        (void)ad_grad(w->sc[i]);
}

static void op_tape(world *w, src *s)
{
    ad_tape *t = tape_of(w, s);
    switch (pick(s, 5)) {
    case 0:
        ad_tape_reset(t);
        break; /* old handles become stale */
    case 1:
        ad_tape_set_recording(t, byte(s) & 1);
        break;
    case 2:
        ad_tape_set_anomaly(t, byte(s) & 1);
        break;
    case 3:
        ad_tape_clear_error(t);
        break;
    default: {
        ad_tensor x = T(w, s);
        CALL_V(w, ad_tensor_get(x, pick(s, 100)));
        size_t dims[AD_MAX_DIMS];
        CALL_V(w, ad_tensor_shape(x, dims));
    }
    }
}

static void api_mode(src *s)
{
    world w = {0};
    w.tape[0] = ad_tape_new();
    w.tape[1] = ad_tape_new();
    if (!w.tape[0] || !w.tape[1]) finding("ad_tape_new failed", NULL);
    static const size_t pshape[NP][3] = {{2, 3, 0}, {3, 0, 0}, {2, 3, 0}, {1, 0, 0}};
    for (int i = 0; i < NP; i++) {
        size_t nd = pshape[i][1] ? 2 : 1;
        w.par[i] = ad_param_new(i < 2 ? AD_F32 : AD_F64, nd, pshape[i]);
        ad_param_uniform(w.par[i], -1, 1, (uint64_t)i);
    }
    /* start with healthy handles of both dtypes on both tapes */
    for (size_t i = 0; i < NT; i++)
        w.ten[i] = ad_tensor_fill(w.tape[i & 1], (ad_dtype)((i >> 1) & 1), 1 + (i % 3),
                                  (size_t[]){2, 3, 2, 1}, 0.5);
    for (size_t i = 0; i < NS; i++)
        w.sc[i] = ad_variable(w.tape[i & 1], 0.25 * (double)i);
    for (int steps = 0; s->n && steps < 400; steps++) {
        switch (pick(s, 16)) {
        case 0:
        case 1:
            op_new_tensor(&w, s);
            break;
        case 2:
        case 3:
        case 4:
            op_unary(&w, s);
            break;
        case 5:
        case 6:
        case 7:
            op_binary(&w, s);
            break;
        case 8:
            op_shape(&w, s);
            break;
        case 9:
            op_bridge(&w, s);
            break;
        case 10:
        case 11:
            op_scalar(&w, s);
            break;
        case 12:
        case 13:
            op_sweep(&w, s);
            break;
        default:
            op_tape(&w, s);
            break;
        }
        /* keep the tapes small: a huge concat chain is no more interesting */
        for (int k = 0; k < 2; k++)
            if (ad_tape_stats_get(w.tape[k]).bytes_used > (8u << 20)) ad_tape_reset(w.tape[k]);
    }
    for (int i = 0; i < NP; i++)
        ad_param_free(w.par[i]);
    ad_tape_free(w.tape[0]);
    ad_tape_free(w.tape[1]);
}

/* =================================================== gradcheck mode */

enum { GMAX_OPS = 12, GMAX_PARAMS = 3, GPOOL = 16 };

typedef struct gop {
    uint8_t code, a, b, c;
    int8_t ax, ax2;
    uint8_t lab[8];
    double k;
} gop;

typedef struct gprog {
    gop ops[GMAX_OPS];
    size_t n;
} gprog;

/* Squashes a value that may grow (products, sums) back into (-1, 1), so
 * central differences stay accurate however deep the graph. */
static ad_tensor squash(ad_tensor x)
{
    return ad_ttanh(x);
}

static ad_tensor gop_apply(const gop *o, ad_tensor *pool, size_t np)
{
    ad_tensor a = pool[o->a % np], b = pool[o->b % np], c = pool[o->c % np];
    ad_tape *t = ad_tensor_tape(a);
    switch (o->code % 30) {
    case 0:
        return squash(ad_tadd(a, b));
    case 1:
        return squash(ad_tsub(a, b));
    case 2:
        return squash(ad_tmul(a, b));
    case 3:
        return ad_tdiv(a, ad_taddc(ad_tsquare(b), 1.0));
    case 4:
        return ad_tpow(ad_taddc(ad_tsigmoid(a), 0.5), ad_ttanh(b));
    case 5:
        return squash(ad_matmul(a, b));
    case 6:
        return squash(ad_linear(a, b, o->k > 0 ? c : AD_TENSOR_NONE));
    case 7:
        return ad_mse_loss(a, b);
    case 8:
        return ad_half_sse_loss(a, b);
    case 9:
        return ad_bce_with_logits(a, ad_tsigmoid(b));
    case 10:
        return ad_tneg(a);
    case 11:
        return ad_texp(ad_ttanh(a));
    case 12:
        return ad_tlog(ad_taddc(ad_tsquare(a), 1.0));
    case 13:
        return ad_tsqrt(ad_taddc(ad_tsquare(a), 1.0));
    case 14:
        return squash(ad_tsquare(a));
    case 15:
        return squash(ad_tscale(a, o->k));
    case 16:
        return ad_taddc(a, o->k);
    case 17:
        return ad_tsigmoid(a);
    case 18:
        return ad_softplus(a);
    case 19:
        return ad_swish(a);
    case 20:
        return ad_mish(a);
    case 21:
        return ad_gelu(a);
    case 22:
        return squash(ad_sum_axis(a, o->ax, o->k > 0));
    case 23:
        return ad_mean_axis(a, o->ax, o->k > 0);
    case 24:
        return ad_softmax(a, o->ax);
    case 25:
        return ad_log_softmax(a, o->ax);
    case 26:
        return ad_transpose(a, o->ax, o->ax2);
    case 27:
        return ad_slice(a, o->ax, (size_t)o->b % 3, 1 + (size_t)o->c % 3);
    case 28:
        return ad_concat((ad_tensor[]){a, b, c}, 1 + o->lab[0] % 3, o->ax);
    default: {
        size_t d[AD_MAX_DIMS];
        size_t nd = ad_tensor_shape(a, d);
        if (nd == 2 && d[0] <= 8 && d[1] > 0) { /* labels in range, by construction */
            int32_t lab[8];
            for (size_t i = 0; i < d[0]; i++)
                lab[i] = (int32_t)(o->lab[i] % d[1]);
            return ad_softmax_cross_entropy(a, lab, d[0]);
        }
        /* otherwise a bridge: two elements through smooth scalar ops */
        size_t n = ad_tensor_numel(a);
        if (!n) return ad_tsigmoid(a);
        ad_scalar u = ad_tensor_to_scalar(a, o->lab[1] % n);
        ad_scalar v = ad_tensor_to_scalar(a, o->lab[2] % n);
        ad_scalar r[2] = {ad_mul(ad_sin(u), ad_tanh(v)), ad_add(ad_exp(ad_tanh(u)), v)};
        (void)t;
        return ad_stack_scalars(r, 2, 1, (size_t[]){2});
    }
    }
}

/* The graph: parameters, then each op whose shapes fit (an op that does not
 * fit fails the tape; the error is cleared and the op skipped, the same way
 * in every evaluation), then a weighted sum of everything in the pool. */
static ad_tensor graph(ad_tape *t, ad_param *const *p, size_t n, void *ctx)
{
    const gprog *g = ctx;
    ad_tensor pool[GPOOL];
    size_t np = 0;
    for (size_t i = 0; i < n; i++)
        pool[np++] = ad_param_use(t, p[i]);
    for (size_t i = 0; i < g->n; i++) {
        ad_tensor y = gop_apply(&g->ops[i], pool, np);
        if (ad_tape_error(t, NULL) != AD_OK) {
            ad_tape_clear_error(t);
            continue;
        }
        pool[np < GPOOL ? np++ : GPOOL - 1] = y;
    }
    ad_tensor out = ad_tscale(ad_sum(pool[0]), 0.5);
    for (size_t i = 1; i < np; i++)
        out = ad_tadd(out, ad_tscale(ad_sum(pool[i]), 1.0 / (double)(i + 1)));
    return out;
}

static void gradcheck_mode(src *s)
{
    ad_param *p[GMAX_PARAMS];
    size_t n = 1 + pick(s, GMAX_PARAMS);
    for (size_t i = 0; i < n; i++) {
        size_t dims[3] = {1 + pick(s, 3), 1 + pick(s, 3), 1 + pick(s, 3)};
        p[i] = ad_param_new(AD_F64, 1 + pick(s, 3), dims);
        if (!p[i]) finding("ad_param_new failed", NULL);
        ad_param_uniform(p[i], -1, 1, byte(s));
    }
    gprog g = {.n = 0};
    while (s->n && g.n < GMAX_OPS) {
        gop *o = &g.ops[g.n++];
        o->code = (uint8_t)byte(s);
        o->a = (uint8_t)byte(s);
        o->b = (uint8_t)byte(s);
        o->c = (uint8_t)byte(s);
        o->ax = (int8_t)small_int(s);
        o->ax2 = (int8_t)small_int(s);
        for (int i = 0; i < 8; i++)
            o->lab[i] = (uint8_t)byte(s);
        o->k = small_value(s);
    }
    /* a valid program by construction; its value must be finite */
    ad_tape *t = ad_tape_new();
    ad_tensor y = graph(t, p, n, &g);
    const char *m;
    if (ad_tape_error(t, &m) != AD_OK) finding("the checked graph failed", m);
    double f = ad_tensor_get(y, 0);
    ad_tape_free(t);
    if (isfinite(f)) {
        ad_gradcheck_opts o = {1e-6, 1e-5 * fmax(1.0, fabs(f)), 1e-4};
        ad_gradcheck_report r;
        ad_status st = ad_gradcheck_graph(graph, p, n, &g, &o, &r);
        if (st != AD_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s: param %zu [%zu] analytic %.10g numeric %.10g",
                     ad_status_name(st), r.input, r.index, r.analytic, r.numeric);
            finding("gradcheck", msg);
        }
    }
    for (size_t i = 0; i < n; i++)
        ad_param_free(p[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src s = {data, size};
    if (byte(&s) % 4 == 0)
        gradcheck_mode(&s);
    else
        api_mode(&s);
    return 0;
}
