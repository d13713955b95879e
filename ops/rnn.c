/* SPDX-License-Identifier: MIT
 * Recurrent layers as single nodes: the Elman (tanh) RNN and the GRU
 * (PyTorch's convention), a whole sequence [T,B,In] -> [T,B,H] or one step
 * [B,In] -> [B,H] per node. What is not sequential runs as one large GEMM
 * over all T B rows (the input projection, the weight and input gradients);
 * each step does one [B,H] x [H,G H] product fused with its gate math, cut
 * into bands of hidden units across the thread pool. */
#include "ops.h"

#include "core/last_error.h"
#include "kernels/gemm.h"
#include "kernels/matmul_small.h"
#include "kernels/pool.h"
#include "kernels/vmath.h"

#include <string.h>

/* One sequence's operands, as the step kernels (rnn_tmpl.h) see them. */
typedef struct rnn_seq {
    size_t steps, B, H;
    const void *h0, *w_hh, *b_hh; /* b_hh NULL without biases */
    const void *w_hh_t;           /* forward: w_hh^T [H,G H] (GRU: columns by band) */
    void *gh;                     /* forward, GRU: h w_hh^T of one step [B,3H] */
    size_t parts;                 /* forward: the bands w_hh_t is laid out for */
    void *y;                      /* [T,B,H] */
    void *g, *hn;                 /* GRU: gates [T,B,3H] and hn [T,B,H] */
    /* backward */
    const void *gy;
    void *carry;     /* [B,H]: the gradient reaching h_t from step t+1 */
    void *dgi, *dgh; /* [T,B,G H]; one buffer for Elman */
} rnn_seq;

/* C [m,n] = op(A) op(B) (+ C when acc), as matmul.c's helper: empty products
 * stop here and tiny ones take the small path. */
static inline void gemm_f32(bool ta, bool tb, size_t m, size_t n, size_t k, const float *a,
                            size_t lda, const float *b, size_t ldb, bool acc, float *c, size_t ldc)
{
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!acc)
            for (size_t i = 0; i < m; i++)
                memset(c + i * ldc, 0, n * sizeof *c);
        return;
    }
    if (ad_small_gemm_fits(m, n, k, sizeof *c))
        ad_small_gemm_f32(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
    else
        ad_gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, acc ? 1.0f : 0.0f, c, ldc);
}

static inline void gemm_f64(bool ta, bool tb, size_t m, size_t n, size_t k, const double *a,
                            size_t lda, const double *b, size_t ldb, bool acc, double *c,
                            size_t ldc)
{
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!acc)
            for (size_t i = 0; i < m; i++)
                memset(c + i * ldc, 0, n * sizeof *c);
        return;
    }
    if (ad_small_gemm_fits(m, n, k, sizeof *c))
        ad_small_gemm_f64(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
    else
        ad_gemm_f64(ta, tb, m, n, k, 1.0, a, lda, b, ldb, acc ? 1.0 : 0.0, c, ldc);
}

/* Bands start at multiples of 16 units, so each part's rows stay aligned
 * for the vector kernels. */
static void band_of(size_t H, size_t i, size_t n, size_t *j0, size_t *j1)
{
    size_t units = (H + 15) / 16;
    *j0 = units * i / n * 16;
    *j1 = units * (i + 1) / n * 16;
    if (*j0 > H) *j0 = H;
    if (*j1 > H) *j1 = H;
}

#define T     float
#define SUF   f32
#define GEMM  gemm_f32
#define VSIG  ad_vsigmoid_f32
#define VTANH ad_vtanh_f32
#include "rnn_tmpl.h"
#undef T
#undef SUF
#undef GEMM
#undef VSIG
#undef VTANH

#define T     double
#define SUF   f64
#define GEMM  gemm_f64
#define VSIG  ad_vsigmoid_f64
#define VTANH ad_vtanh_f64
#include "rnn_tmpl.h"
#undef T
#undef SUF
#undef GEMM
#undef VSIG
#undef VTANH

/* ---- shapes: x [T,B,In] or [B,In], h0 [B,H], w_ih [G H,In], w_hh [G H,H],
 * and both biases [G H] or neither; G = 1 (Elman) or 3 (GRU). */

/* Input k: these nodes have 4 or 6 inputs, always in in_ext (which also
 * spares gcc's -Warray-bounds a look at in_inline with a constant k > 2). */
static ad_node *rnn_in(const ad_tape *t, const ad_node *y, size_t k)
{
    return &t->nodes[y->in_ext[k]];
}

static void *rnn_grad(const ad_tape *t, const ad_node *y, size_t k)
{
    const ad_node *x = rnn_in(t, y, k);
    return x->needs_grad ? x->grad : NULL;
}

static size_t gates_of(const ad_node *y)
{
    return y->op == AD_OP_GRU ? 3 : 1;
}

bool ad_shape_rnn(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = rnn_in(t, y, 0), *h = rnn_in(t, y, 1);
    const ad_node *wi = rnn_in(t, y, 2), *wh = rnn_in(t, y, 3);
    char sa[AD_SHAPE_STR], sb[AD_SHAPE_STR], sc[AD_SHAPE_STR];
    if (x->ndim != 2 && x->ndim != 3) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: x must be [T,B,In] or [B,In], got %s", fn,
                     ad_shape_str(x->ndim, x->dims, sa));
        return false;
    }
    size_t nd = x->ndim, B = x->dims[nd - 2], In = x->dims[nd - 1];
    if (h->ndim != 2 || h->dims[0] != B) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: h0 must be [B,H] with B = %zu (from x %s), got %s", fn,
                     B, ad_shape_str(x->ndim, x->dims, sa), ad_shape_str(h->ndim, h->dims, sb));
        return false;
    }
    size_t G = gates_of(y), H = h->dims[1];
    const char *gh = G == 3 ? "3H" : "H";
    if (wi->ndim != 2 || wi->dims[0] != G * H || wi->dims[1] != In) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: w_ih must be [%s,In] = [%zu,%zu] (h0 %s, x %s), got %s",
                     fn, gh, G * H, In, ad_shape_str(h->ndim, h->dims, sb),
                     ad_shape_str(x->ndim, x->dims, sa), ad_shape_str(wi->ndim, wi->dims, sc));
        return false;
    }
    if (wh->ndim != 2 || wh->dims[0] != G * H || wh->dims[1] != H) {
        ad_tape_fail(t, AD_ERR_SHAPE, "%s: w_hh must be [%s,H] = [%zu,%zu] (h0 %s), got %s", fn, gh,
                     G * H, H, ad_shape_str(h->ndim, h->dims, sa),
                     ad_shape_str(wh->ndim, wh->dims, sb));
        return false;
    }
    for (size_t k = 4; k < y->n_in; k++) {
        const ad_node *b = ad_node_input(t, y, k);
        if (b->ndim != 1 || b->dims[0] != G * H) {
            ad_tape_fail(t, AD_ERR_SHAPE, "%s: %s must be [%s] = [%zu] (h0 %s), got %s", fn,
                         k == 4 ? "b_ih" : "b_hh", gh, G * H, ad_shape_str(h->ndim, h->dims, sa),
                         ad_shape_str(b->ndim, b->dims, sb));
            return false;
        }
    }
    y->ndim = (uint8_t)nd;
    memcpy(y->dims, x->dims, nd * sizeof *y->dims);
    y->dims[nd - 1] = H;
    return true;
}

/* ---- the steps across the pool: each part takes a band of hidden units */

typedef struct rnn_job {
    const rnn_seq *s;
    size_t t;
    void (*step)(const rnn_seq *s, size_t t, size_t j0, size_t j1);
} rnn_job;

static void step_part(void *ctx, size_t i, size_t n)
{
    const rnn_job *J = ctx;
    size_t j0, j1;
    band_of(J->s->H, i, n, &j0, &j1);
    if (j0 < j1) J->step(J->s, J->t, j0, j1);
}

/* A step's product must have this many multiply-adds per thread before a
 * second one helps: below, waking a worker costs more than it saves. */
#define STEP_THREAD_WORK ((size_t)1 << 19)

static size_t step_parts(const rnn_seq *s, size_t G)
{
    size_t nt = (size_t)ad_get_num_threads(), work = s->B * G * s->H * s->H;
    size_t most = (s->H + 15) / 16;
    if (nt > most) nt = most;
    while (nt > 1 && work / nt < STEP_THREAD_WORK)
        nt--;
    return nt ? nt : 1;
}

/* Steps t = 0 .. T-1 forward, or T-1 .. 0 backward, each a pool job. */
static void run_steps(const rnn_seq *s, size_t G, bool backward,
                      void (*step)(const rnn_seq *, size_t, size_t, size_t))
{
    size_t parts = backward ? step_parts(s, G) : s->parts;
    rnn_job J = {s, 0, step};
    for (size_t k = 0; k < s->steps; k++) {
        J.t = backward ? s->steps - 1 - k : k;
        ad_pool_run((int)parts, parts, step_part, &J);
    }
}

/* ---- forward */

typedef struct rnn_saved {
    void *g, *hn; /* GRU only */
} rnn_saved;

static size_t steps_of(const ad_node *x)
{
    return x->ndim == 3 ? x->dims[0] : 1;
}

/* Every row of out [rows,cols] set to bias [cols] (zeros when bias is NULL). */
static void fill_rows(ad_dtype dt, void *out, const void *bias, size_t rows, size_t cols)
{
    size_t es = ad_dtype_size(dt), row = cols * es;
    if (!bias) {
        memset(out, 0, rows * row);
        return;
    }
    for (size_t i = 0; i < rows; i++)
        memcpy((char *)out + i * row, bias, row);
}

/* The biases the input projection starts from: b_ih, plus b_hh where it
 * adds straight to the same pre-activation (all of Elman's, GRU's r and z). */
static void *pre_bias(ad_tape *t, const ad_node *y, size_t G, size_t H, const char *fn)
{
    if (y->n_in < 6) return NULL;
    const ad_node *bi = rnn_in(t, y, 4), *bh = rnn_in(t, y, 5);
    size_t n = G * H, both = G == 3 ? 2 * H : H;
    void *b = ad_tape_alloc(t, n * ad_dtype_size((ad_dtype)y->dtype), fn);
    if (!b) return NULL;
    if (y->dtype == AD_F32) {
        const float *p = bi->value, *q = bh->value;
        float *o = b;
        for (size_t j = 0; j < n; j++)
            o[j] = j < both ? p[j] + q[j] : p[j];
    } else {
        const double *p = bi->value, *q = bh->value;
        double *o = b;
        for (size_t j = 0; j < n; j++)
            o[j] = j < both ? p[j] + q[j] : p[j];
    }
    return b;
}

static void rnn_forward(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = rnn_in(t, y, 0), *h0 = rnn_in(t, y, 1);
    const ad_node *wi = rnn_in(t, y, 2), *wh = rnn_in(t, y, 3);
    ad_dtype dt = (ad_dtype)y->dtype;
    size_t G = gates_of(y), T = steps_of(x), B = h0->dims[0], H = h0->dims[1];
    size_t In = wi->dims[1], rows = T * B, es = ad_dtype_size(dt);
    rnn_seq s = {.steps = T, .B = B, .H = H, .h0 = h0->value, .w_hh = wh->value, .y = y->value};
    if (y->n_in == 6) s.b_hh = rnn_in(t, y, 5)->value;
    void *bias = NULL;
    if (y->n_in == 6 && !(bias = pre_bias(t, y, G, H, fn))) return;
    /* the input projection of all steps at once, into the gates (GRU) or
     * straight into y (Elman: the steps add h W_hh^T and take tanh in place) */
    void *pre = y->value;
    if (G == 3) {
        rnn_saved *sv = ad_tape_alloc(t, sizeof *sv, fn);
        if (!sv) return;
        sv->g = ad_tape_alloc(t, rows * 3 * H * es, fn);
        sv->hn = sv->g ? ad_tape_alloc(t, rows * H * es, fn) : NULL;
        if (!sv->hn) return;
        y->ctx = sv;
        pre = s.g = sv->g;
        s.hn = sv->hn;
    }
    fill_rows(dt, pre, bias, rows, G * H);
    void *wt = ad_tape_alloc(t, G * H * H * es, fn);
    if (!wt) return;
    s.w_hh_t = wt;
    s.parts = step_parts(&s, G);
    if (G == 3 && !(s.gh = ad_tape_alloc(t, B * 3 * H * es, fn))) return;
    if (G == 1 && dt == AD_F32) transpose_f32(wt, wh->value, H, H);
    if (G == 1 && dt == AD_F64) transpose_f64(wt, wh->value, H, H);
    if (G == 3 && dt == AD_F32) gru_weights_f32(wt, wh->value, H, s.parts);
    if (G == 3 && dt == AD_F64) gru_weights_f64(wt, wh->value, H, s.parts);
    if (dt == AD_F32) {
        gemm_f32(false, true, rows, G * H, In, x->value, In, wi->value, In, true, pre, G * H);
        run_steps(&s, G, false, G == 3 ? gru_fwd_f32 : elman_fwd_f32);
    } else {
        gemm_f64(false, true, rows, G * H, In, x->value, In, wi->value, In, true, pre, G * H);
        run_steps(&s, G, false, G == 3 ? gru_fwd_f64 : elman_fwd_f64);
    }
}

void ad_rnn_tanh_forward(ad_tape *t, ad_node *y)
{
    rnn_forward(t, y, "ad_rnn_tanh");
}

void ad_gru_forward(ad_tape *t, ad_node *y)
{
    rnn_forward(t, y, "ad_gru");
}

/* ---- backward: the steps back to front give dgi and dgh of every step
 * (and the gradient carried into h0); then the weight, bias and input
 * gradients are a few large products over all T B rows:
 *   dW_ih += dgi^T x, dx += dgi W_ih, dW_hh += dgh_t^T h_{t-1} summed over t,
 *   db_ih += column sums of dgi, db_hh += column sums of dgh. */

static void rnn_backward(ad_tape *t, ad_node *y)
{
    const char *fn = "ad_backward";
    const ad_node *x = rnn_in(t, y, 0), *h0 = rnn_in(t, y, 1);
    const ad_node *wi = rnn_in(t, y, 2), *wh = rnn_in(t, y, 3);
    ad_dtype dt = (ad_dtype)y->dtype;
    size_t G = gates_of(y), T = steps_of(x), B = h0->dims[0], H = h0->dims[1];
    size_t In = wi->dims[1], rows = T * B, GH = G * H, es = ad_dtype_size(dt);
    const rnn_saved *sv = y->ctx;
    if (T == 0 || B == 0) return; /* an empty sequence passes nothing back */
    rnn_seq s = {.steps = T,
                 .B = B,
                 .H = H,
                 .h0 = h0->value,
                 .w_hh = wh->value,
                 .y = y->value,
                 .gy = y->grad};
    if (G == 3) {
        s.g = sv->g;
        s.hn = sv->hn;
    }
    s.carry = ad_tape_alloc(t, B * H * es, fn);
    s.dgi = s.carry ? ad_tape_alloc(t, rows * GH * es, fn) : NULL;
    s.dgh = s.dgi;
    if (G == 3 && s.dgi) s.dgh = ad_tape_alloc(t, rows * GH * es, fn);
    double *acc = s.dgh ? ad_tape_alloc(t, GH * sizeof *acc, fn) : NULL;
    void *part = acc ? ad_tape_alloc(t, GH * es, fn) : NULL;
    if (!part) return; /* the tape has failed; the sweep reports it */
    void *gx = rnn_grad(t, y, 0), *gh0 = rnn_grad(t, y, 1);
    void *gwi = rnn_grad(t, y, 2), *gwh = rnn_grad(t, y, 3);
    void *gbi = y->n_in == 6 ? rnn_grad(t, y, 4) : NULL;
    void *gbh = y->n_in == 6 ? rnn_grad(t, y, 5) : NULL;
    if (dt == AD_F32) {
        run_steps(&s, G, true, G == 3 ? gru_bwd_f32 : elman_bwd_f32);
        const float *dgi = s.dgi, *dgh = s.dgh;
        if (gh0) {
            /* GRU: the carry holds dh z of step 0; Elman: nothing yet */
            gemm_f32(false, false, B, H, GH, dgh, GH, wh->value, H, G == 3, s.carry, H);
            float *g = gh0;
            const float *c = s.carry;
            for (size_t i = 0; i < B * H; i++)
                g[i] += c[i];
        }
        if (gwi) gemm_f32(true, false, GH, In, rows, dgi, GH, x->value, In, true, gwi, In);
        if (gx) gemm_f32(false, false, rows, In, GH, dgi, GH, wi->value, In, true, gx, In);
        if (gwh) {
            gemm_f32(true, false, GH, H, B, dgh, GH, h0->value, H, true, gwh, H);
            if (T > 1)
                gemm_f32(true, false, GH, H, rows - B, dgh + B * GH, GH, y->value, H, true, gwh, H);
        }
        if (gbi) col_sum_f32(gbi, dgi, rows, GH, part, acc);
        if (gbh) col_sum_f32(gbh, dgh, rows, GH, part, acc);
    } else {
        run_steps(&s, G, true, G == 3 ? gru_bwd_f64 : elman_bwd_f64);
        const double *dgi = s.dgi, *dgh = s.dgh;
        if (gh0) {
            gemm_f64(false, false, B, H, GH, dgh, GH, wh->value, H, G == 3, s.carry, H);
            double *g = gh0;
            const double *c = s.carry;
            for (size_t i = 0; i < B * H; i++)
                g[i] += c[i];
        }
        if (gwi) gemm_f64(true, false, GH, In, rows, dgi, GH, x->value, In, true, gwi, In);
        if (gx) gemm_f64(false, false, rows, In, GH, dgi, GH, wi->value, In, true, gx, In);
        if (gwh) {
            gemm_f64(true, false, GH, H, B, dgh, GH, h0->value, H, true, gwh, H);
            if (T > 1)
                gemm_f64(true, false, GH, H, rows - B, dgh + B * GH, GH, y->value, H, true, gwh, H);
        }
        if (gbi) col_sum_f64(gbi, dgi, rows, GH, part, acc);
        if (gbh) col_sum_f64(gbh, dgh, rows, GH, part, acc);
    }
}

void ad_rnn_tanh_backward(ad_tape *t, ad_node *y)
{
    rnn_backward(t, y);
}

void ad_gru_backward(ad_tape *t, ad_node *y)
{
    rnn_backward(t, y);
}

/* ---- entry points: both biases or neither */

static ad_tensor rnn_record(const char *fn, uint16_t op, ad_tensor x, ad_tensor h0, ad_tensor w_ih,
                            ad_tensor w_hh, ad_tensor b_ih, ad_tensor b_hh)
{
    ad_tensor ins[6] = {x, h0, w_ih, w_hh, b_ih, b_hh};
    bool bi = b_ih.tape_ != NULL, bh = b_hh.tape_ != NULL;
    if (bi != bh) {
        ad_tape *t = x.tape_ ? x.tape_ : h0.tape_;
        if (!t) {
            ad_no_tape("%s: x and h0 have no tape (zero-initialised handles?)", fn);
            return ad_invalid_tensor(NULL);
        }
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: b_ih is %s but b_hh is %s: give both biases or neither", fn,
                     bi ? "given" : "AD_TENSOR_NONE", bh ? "given" : "AD_TENSOR_NONE");
        return ad_invalid_tensor(t);
    }
    return ad_op_record(fn, op, ins, bi ? 6 : 4, NULL);
}

ad_tensor ad_rnn_tanh(ad_tensor x, ad_tensor h0, ad_tensor w_ih, ad_tensor w_hh, ad_tensor b_ih,
                      ad_tensor b_hh)
{
    return rnn_record(__func__, AD_OP_RNN_TANH, x, h0, w_ih, w_hh, b_ih, b_hh);
}

ad_tensor ad_gru(ad_tensor x, ad_tensor h0, ad_tensor w_ih, ad_tensor w_hh, ad_tensor b_ih,
                 ad_tensor b_hh)
{
    return rnn_record(__func__, AD_OP_GRU, x, h0, w_ih, w_hh, b_ih, b_hh);
}
