/* SPDX-License-Identifier: MIT
 * Matrix products: matmul (plain, or batched with batch dimensions that
 * broadcast) and linear (x . w^T + bias).
 * Every product, forward and backward, goes through gemm() below: tiny ones
 * to the small path (matmul_small.c), the rest to ad_gemm_f32/f64; the
 * backward rules read transposes in place through the trans flags. */
#include "ops.h"

#include "kernels/gemm.h"
#include "kernels/matmul_small.h"

#include <string.h>

static const void *cat(const void *p, ad_dtype dt, size_t i)
{
    return (const char *)p + i * ad_dtype_size(dt);
}

static void *mat(void *p, ad_dtype dt, size_t i)
{
    return (char *)p + i * ad_dtype_size(dt);
}

/* C [m,n] = op(A) op(B) (+ C when accumulating) in dtype dt. Empty products
 * stop here, so the kernels never see a zero dimension or a zero stride:
 * k = 0 makes C zero (or leaves it as it is when accumulating). Inlined into
 * each caller: passing 13 arguments through one more call cost about as much
 * as a tiny product's arithmetic. */
static AD_ALWAYS_INLINE void gemm(ad_dtype dt, bool ta, bool tb, size_t m, size_t n, size_t k,
                                  const void *a, size_t lda, const void *b, size_t ldb,
                                  bool accumulate, void *c, size_t ldc)
{
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (size_t i = 0; i < m; i++)
                memset(mat(c, dt, i * ldc), 0, n * ad_dtype_size(dt));
        return;
    }
    if (ad_small_gemm_fits(m, n, k, ad_dtype_size(dt))) {
        if (dt == AD_F32)
            ad_small_gemm_f32(ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        else
            ad_small_gemm_f64(ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        return;
    }
    if (dt == AD_F32)
        ad_gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
    else
        ad_gemm_f64(ta, tb, m, n, k, 1.0, a, lda, b, ldb, accumulate ? 1.0 : 0.0, c, ldc);
}

/* ---- matmul: a [..., M,K] . b [..., K,N] -> [..., M,N]. The dimensions
 * before the last two are batch dimensions (up to two), which broadcast
 * like NumPy's: [M,K] . [B,K,N], [B,1,M,K] . [C,K,N] -> [B,C,M,N]. */

typedef struct mm_dims {
    size_t batch, m, k, n;
    /* the output's batch dimensions (padded to two, outermost first) and
     * each operand's stride in matrices along them, 0 where it is stretched */
    size_t bd[2], sa[2], sb[2];
    /* batches pair one to one (equal batch shapes) */
    bool same;
    /* b is one matrix shared by every batch of a, whose batches are
     * contiguous: the product is one [batch M, K] . [K, N] */
    bool b_shared;
} mm_dims;

/* An operand's batch dimension d (0 or 1 of the padded pair); 1 if absent. */
static size_t batch_dim(const ad_node *x, size_t d)
{
    size_t nb = (size_t)x->ndim - 2, off = 2 - nb;
    return d < off ? 1 : x->dims[d - off];
}

static mm_dims matmul_dims(const ad_node *a, const ad_node *b)
{
    size_t ra = a->ndim, rb = b->ndim;
    mm_dims d = {
        1, a->dims[ra - 2], a->dims[ra - 1], b->dims[rb - 1], {1, 1}, {0, 0}, {0, 0}, true, false};
    size_t ra_run = 1, rb_run = 1;
    for (size_t k = 2; k-- > 0;) {
        size_t da = batch_dim(a, k), db = batch_dim(b, k);
        d.bd[k] = da == 1 ? db : da; /* 1 stretches (to 0 too) */
        d.sa[k] = da == 1 ? 0 : ra_run;
        d.sb[k] = db == 1 ? 0 : rb_run;
        ra_run *= da;
        rb_run *= db;
        d.same &= da == db;
    }
    d.batch = d.bd[0] * d.bd[1];
    d.b_shared = rb_run == 1 && ra_run == d.batch;
    return d;
}

/* Fails the tape with a message naming both shapes and returns false. Only
 * the error path formats shapes: recording a valid product prints nothing. */
#define PAIR_FAIL(fmt, fn, a, b)                                                                   \
    do {                                                                                           \
        char sa_[AD_SHAPE_STR], sb_[AD_SHAPE_STR];                                                 \
        ad_tape_fail(t, AD_ERR_SHAPE, fmt, fn, ad_shape_str((a)->ndim, (a)->dims, sa_),            \
                     ad_shape_str((b)->ndim, (b)->dims, sb_));                                     \
        return false;                                                                              \
    } while (0)

bool ad_shape_matmul(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *a = ad_node_input(t, y, 0), *b = ad_node_input(t, y, 1);
    size_t ra = a->ndim, rb = b->ndim;
    if (ra < 2 || rb < 2)
        PAIR_FAIL("%s: expects [M,K] x [K,N], each with up to two batch dimensions in front "
                  "that broadcast, got %s x %s",
                  fn, a, b);
    for (size_t k = 0; k < 2; k++) {
        size_t da = batch_dim(a, k), db = batch_dim(b, k);
        if (da != db && da != 1 && db != 1) PAIR_FAIL("%s: batch sizes differ: %s x %s", fn, a, b);
    }
    if (a->dims[ra - 1] != b->dims[rb - 2])
        PAIR_FAIL("%s: inner dimensions differ: %s x %s", fn, a, b);
    mm_dims d = matmul_dims(a, b);
    size_t r = ra > rb ? ra : rb, nb = r - 2;
    for (size_t k = 0; k < nb; k++)
        y->dims[k] = d.bd[2 - nb + k];
    y->dims[r - 2] = d.m;
    y->dims[r - 1] = d.n;
    y->ndim = (uint8_t)r;
    return true;
}

/* The offsets (in matrices) of output batch p's operands. */
static void batch_offsets(const mm_dims *d, size_t p, size_t *pa, size_t *pb)
{
    size_t i0 = p / d->bd[1], i1 = p % d->bd[1];
    *pa = i0 * d->sa[0] + i1 * d->sa[1];
    *pb = i0 * d->sb[0] + i1 * d->sb[1];
}

void ad_matmul_forward(ad_tape *t, ad_node *y)
{
    const ad_node *a = ad_node_input(t, y, 0), *b = ad_node_input(t, y, 1);
    ad_dtype dt = (ad_dtype)y->dtype;
    mm_dims d = matmul_dims(a, b);
    if (d.b_shared) { /* [batch M, K] . [K, N]: one product */
        gemm(dt, false, false, d.batch * d.m, d.n, d.k, a->value, d.k, b->value, d.n, false,
             y->value, d.n);
        return;
    }
    for (size_t p = 0; p < d.batch; p++) {
        size_t pa = p, pb = p;
        if (!d.same) batch_offsets(&d, p, &pa, &pb);
        gemm(dt, false, false, d.m, d.n, d.k, cat(a->value, dt, pa * d.m * d.k), d.k,
             cat(b->value, dt, pb * d.k * d.n), d.n, false, mat(y->value, dt, p * d.m * d.n), d.n);
    }
}

/* C = A B per batch: dA += dC B^T [M,K], dB += A^T dC [K,N]; an operand
 * stretched over several batches collects the sum of their products. */
void ad_matmul_backward(ad_tape *t, ad_node *y)
{
    const ad_node *a = ad_node_input(t, y, 0), *b = ad_node_input(t, y, 1);
    void *ga = ad_input_grad(t, y, 0), *gb = ad_input_grad(t, y, 1);
    ad_dtype dt = (ad_dtype)y->dtype;
    mm_dims d = matmul_dims(a, b);
    if (d.b_shared) {
        const size_t rows = d.batch * d.m;
        if (ga) gemm(dt, false, true, rows, d.k, d.n, y->grad, d.n, b->value, d.n, true, ga, d.k);
        if (gb) gemm(dt, true, false, d.k, d.n, rows, a->value, d.k, y->grad, d.n, true, gb, d.n);
        return;
    }
    for (size_t p = 0; p < d.batch; p++) {
        size_t pa = p, pb = p;
        if (!d.same) batch_offsets(&d, p, &pa, &pb);
        const void *gc = cat(y->grad, dt, p * d.m * d.n);
        if (ga)
            gemm(dt, false, true, d.m, d.k, d.n, gc, d.n, cat(b->value, dt, pb * d.k * d.n), d.n,
                 true, mat(ga, dt, pa * d.m * d.k), d.k);
        if (gb)
            gemm(dt, true, false, d.k, d.n, d.m, cat(a->value, dt, pa * d.m * d.k), d.k, gc, d.n,
                 true, mat(gb, dt, pb * d.k * d.n), d.n);
    }
}

ad_tensor ad_matmul(ad_tensor a, ad_tensor b)
{
    ad_tensor ins[2] = {a, b};
    return ad_op_record(__func__, AD_OP_MATMUL, ins, 2, NULL);
}

/* ---- linear: x [B,In] . w [Out,In]^T + bias [Out] -> [B,Out]; x [In] -> [Out].
 * The bias is optional: the node then has two inputs. */

bool ad_shape_linear(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0), *w = ad_node_input(t, y, 1);
    if (x->ndim != 1 && x->ndim != 2)
        PAIR_FAIL("%s: x must be [B,In] or [In], got %s (w %s)", fn, x, w);
    if (w->ndim != 2) PAIR_FAIL("%s: w must be [Out,In], got %s (x %s)", fn, w, x);
    if (x->dims[x->ndim - 1] != w->dims[1])
        PAIR_FAIL("%s: inner dimensions differ: x %s . w %s^T", fn, x, w);
    if (y->n_in == 3) {
        const ad_node *b = ad_node_input(t, y, 2);
        if (b->ndim != 1 || b->dims[0] != w->dims[0]) {
            char sb[AD_SHAPE_STR], sw[AD_SHAPE_STR];
            ad_tape_fail(t, AD_ERR_SHAPE, "%s: bias %s does not match w %s: expected [%zu]", fn,
                         ad_shape_str(b->ndim, b->dims, sb), ad_shape_str(w->ndim, w->dims, sw),
                         w->dims[0]);
            return false;
        }
    }
    y->ndim = x->ndim;
    y->dims[0] = x->dims[0];
    y->dims[x->ndim - 1] = w->dims[0];
    return true;
}

#define BIAS_ROWS(T, y, bias, rows, out)                                                           \
    do {                                                                                           \
        T *yv_ = (y);                                                                              \
        const T *bv_ = (bias);                                                                     \
        for (size_t i_ = 0; i_ < (rows); i_++)                                                     \
            for (size_t j_ = 0; j_ < (out); j_++)                                                  \
                yv_[i_ * (out) + j_] = bv_[j_];                                                    \
    } while (0)

/* The bias fills the rows first and the product accumulates on top, so an
 * empty In leaves exactly the bias. */
void ad_linear_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0), *w = ad_node_input(t, y, 1);
    ad_dtype dt = (ad_dtype)y->dtype;
    size_t rows = x->ndim == 2 ? x->dims[0] : 1, in = w->dims[1], out = w->dims[0];
    bool has_bias = y->n_in == 3;
    if (has_bias) {
        const void *bv = ad_node_input(t, y, 2)->value;
        if (dt == AD_F32)
            BIAS_ROWS(float, y->value, bv, rows, out);
        else
            BIAS_ROWS(double, y->value, bv, rows, out);
    }
    gemm(dt, false, true, rows, out, in, x->value, in, w->value, in, has_bias, y->value, out);
}

/* The float32 bias gradient sums BIAS_BLOCK rows at a time in float (the
 * speed of a float loop) and adds the block sums in double: the error is
 * that of a 32-term float sum, at most 31 units of 2^-24 of the sum of
 * |terms| and in practice near one, however many rows there are. A float
 * running sum over all rows drifts instead: 10^6 rows of 0.1 came out 1%
 * high. BIAS_CHUNK columns per pass keep both buffers on the stack and in
 * L1. */
#define BIAS_BLOCK 32
#define BIAS_CHUNK 256

/* gb [out] += column sums of gy [rows,out]. One block goes straight into
 * gb, as a plain loop: for a small batch the blocked loops' set-up would
 * cost more than the sums (the tiny MLP step has batch 4). */
static AD_ALWAYS_INLINE void bias_grad_f32(float *gb, const float *gy, size_t rows, size_t out)
{
    if (rows <= BIAS_BLOCK) {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < out; j++)
                gb[j] += gy[i * out + j];
        return;
    }
    float part[BIAS_CHUNK];
    double acc[BIAS_CHUNK];
    for (size_t j0 = 0; j0 < out; j0 += BIAS_CHUNK) {
        const size_t m = out - j0 < BIAS_CHUNK ? out - j0 : BIAS_CHUNK;
        for (size_t j = 0; j < m; j++)
            acc[j] = (double)gb[j0 + j];
        for (size_t i0 = 0; i0 < rows; i0 += BIAS_BLOCK) {
            const size_t i1 = rows - i0 < BIAS_BLOCK ? rows : i0 + BIAS_BLOCK;
            const float *r = gy + i0 * out + j0;
            for (size_t j = 0; j < m; j++)
                part[j] = r[j];
            for (size_t i = i0 + 1; i < i1; i++) {
                r += out;
                for (size_t j = 0; j < m; j++)
                    part[j] += r[j];
            }
            for (size_t j = 0; j < m; j++)
                acc[j] += (double)part[j];
        }
        for (size_t j = 0; j < m; j++)
            gb[j0 + j] = (float)acc[j];
    }
}

static void bias_grad_f64(double *gb, const double *gy, size_t rows, size_t out)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < out; j++)
            gb[j] += gy[i * out + j];
}

/* y = x w^T + 1 b^T: dx += dy w [B,In], dw += dy^T x [Out,In], db += column sums of dy.
 * gy is dL/dy: y->grad, or the masked copy linear_relu makes of it. */
static void linear_backward_from(ad_tape *t, ad_node *y, const void *gy)
{
    const ad_node *x = ad_node_input(t, y, 0), *w = ad_node_input(t, y, 1);
    void *gx = ad_input_grad(t, y, 0), *gw = ad_input_grad(t, y, 1);
    ad_dtype dt = (ad_dtype)y->dtype;
    size_t rows = x->ndim == 2 ? x->dims[0] : 1, in = w->dims[1], out = w->dims[0];
    if (gx) gemm(dt, false, false, rows, in, out, gy, out, w->value, in, true, gx, in);
    if (gw) gemm(dt, true, false, out, in, rows, gy, out, x->value, in, true, gw, in);
    void *gb = y->n_in == 3 ? ad_input_grad(t, y, 2) : NULL;
    if (!gb) return;
    if (dt == AD_F32)
        bias_grad_f32(gb, gy, rows, out);
    else
        bias_grad_f64(gb, gy, rows, out);
}

void ad_linear_backward(ad_tape *t, ad_node *y)
{
    linear_backward_from(t, y, y->grad);
}

/* three inputs, or two without a bias */
/* An invalid bias handle (ad_tensor none = {0}) means no bias: two inputs. */
ad_tensor ad_linear(ad_tensor x, ad_tensor w, ad_tensor bias)
{
    ad_tensor ins[3] = {x, w, bias};
    return ad_op_record(__func__, AD_OP_LINEAR, ins, ad_handle_ok(bias) ? 3 : 2, NULL);
}

/* ---- linear_relu: relu(x . w^T + bias), shapes as linear. One node where
 * ad_relu(ad_linear(...)) makes two: the same values and gradients, with one
 * node's recording and sweeping and one zeroed gradient buffer less. */

/* "z <= 0 gives 0", so NaN (false in every compare) stays NaN, as in ad_relu */
#define RELU_INPLACE(T, v, n)                                                                      \
    do {                                                                                           \
        T *v_ = (v);                                                                               \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
            v_[i_] = v_[i_] <= (T)0 ? (T)0 : v_[i_];                                               \
    } while (0)

void ad_linear_relu_forward(ad_tape *t, ad_node *y)
{
    ad_linear_forward(t, y);
    if (y->dtype == AD_F32)
        RELU_INPLACE(float, y->value, y->numel);
    else
        RELU_INPLACE(double, y->value, y->numel);
}

/* y = relu(z): dz = dy where z > 0 (exactly where y > 0), 0 where z <= 0
 * and NaN where z is NaN, as ad_relu has it; then the linear rule with dz
 * for dy. y is +0, positive or NaN, so y itself is the value off the mask. */
#define RELU_MASK(T, dz, y, gy, n)                                                                 \
    do {                                                                                           \
        T *dz_ = (dz);                                                                             \
        const T *y_ = (y), *gy_ = (gy);                                                            \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                      \
            const T g_ = gy_[i_]; /* loaded unconditionally, so the loop vectorises */             \
            dz_[i_] = y_[i_] > (T)0 ? g_ : y_[i_];                                                 \
        }                                                                                          \
    } while (0)

void ad_linear_relu_backward(ad_tape *t, ad_node *y)
{
    void *dz = ad_tape_alloc(t, y->numel * ad_dtype_size((ad_dtype)y->dtype), "ad_backward");
    if (!dz) return; /* the tape has failed; the sweep reports it */
    if (y->dtype == AD_F32)
        RELU_MASK(float, dz, y->value, y->grad, y->numel);
    else
        RELU_MASK(double, dz, y->value, y->grad, y->numel);
    linear_backward_from(t, y, dz);
}

ad_tensor ad_linear_relu(ad_tensor x, ad_tensor w, ad_tensor bias)
{
    ad_tensor ins[3] = {x, w, bias};
    return ad_op_record(__func__, AD_OP_LINEAR_RELU, ins, ad_handle_ok(bias) ? 3 : 2, NULL);
}
