/* SPDX-License-Identifier: MIT
 * Convolutions, NCHW: conv2d, and conv1d as conv2d on images one row high.
 * Each image is unrolled (im2col) into a [C KH KW, OH OW] matrix so the
 * forward and both backward products are GEMMs; the batch is cut into one
 * band of images per thread, each with its own unroll buffer. */
#include "ops.h"

#include "kernels/gemm.h"
#include "kernels/matmul_small.h"
#include "kernels/pool.h"

#include <stdint.h>
#include <string.h>

/* The geometry a conv node is recorded with (its ctx), as the user gave it. */
typedef struct conv_geom {
    size_t stride[2], pad[2], dil[2], groups;
} conv_geom;

/* Everything the kernels need, in 2-D terms (conv1d: H = KH = 1). */
typedef struct conv_dims {
    size_t n, c, h, w;    /* input */
    size_t oc, kh, kw, g; /* weights, groups */
    size_t oh, ow;        /* output */
    size_t sh, sw, ph, pw, dh, dw;
    bool direct; /* 1x1, stride 1, no padding: the image is its own unroll */
} conv_dims;

typedef struct conv_job {
    conv_dims d;
    const void *x, *w, *bias, *gy;
    void *y, *gx, *gw, *gb;
    size_t chunk; /* images unrolled side by side (1 for direct convolutions) */
    /* per part, scratch_len elements: the unroll [C KH KW, chunk OH OW]
     * (cols_len elements), then room for a chunk's output or its gradient
     * [OC, chunk OH OW] */
    void *scratch;
    size_t scratch_len, cols_len;
    void *sums; /* parts 1.. : their gw and gb sums, sum_len elements each */
    size_t sum_len;
} conv_job;

/* Values above this are refused: far beyond any image, and small enough
 * that the index arithmetic below cannot overflow. */
#define CONV_MAX ((size_t)1 << 24)

/* The output columns [*o0, *o1) whose tap at offset `off` (kj dw) reads
 * inside the input: 0 <= o s + off - p < w. */
static void conv_range(size_t out, size_t s, size_t off, size_t p, size_t w, size_t *o0, size_t *o1)
{
    size_t lo = off >= p ? 0 : (p - off + s - 1) / s;
    size_t hi = w + p > off ? (w + p - off + s - 1) / s : 0;
    *o0 = lo < out ? lo : out;
    *o1 = hi < out ? hi : out;
    if (*o1 < *o0) *o1 = *o0;
}

/* Part i of parts of n images: [*n0, *n1). */
static void conv_band(size_t n, size_t i, size_t parts, size_t *n0, size_t *n1)
{
    *n0 = n * i / parts;
    *n1 = n * (i + 1) / parts;
}

static conv_dims conv_dims_of(const ad_tape *t, const ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0), *w = ad_node_input(t, y, 1);
    const conv_geom *q = y->ctx;
    conv_dims d;
    bool two = y->op == AD_OP_CONV2D;
    d.n = x->dims[0];
    d.c = x->dims[1];
    d.h = two ? x->dims[2] : 1;
    d.w = x->dims[two ? 3 : 2];
    d.oc = w->dims[0];
    d.kh = two ? w->dims[2] : 1;
    d.kw = w->dims[two ? 3 : 2];
    d.g = q->groups;
    d.sh = two ? q->stride[0] : 1;
    d.sw = q->stride[two ? 1 : 0];
    d.ph = two ? q->pad[0] : 0;
    d.pw = q->pad[two ? 1 : 0];
    d.dh = two ? q->dil[0] : 1;
    d.dw = q->dil[two ? 1 : 0];
    d.oh = two ? y->dims[2] : 1;
    d.ow = y->dims[two ? 3 : 2];
    d.direct = d.kh == 1 && d.kw == 1 && d.sh == 1 && d.sw == 1 && d.ph == 0 && d.pw == 0;
    return d;
}

/* One spatial axis: the output length, or false with the tape failed. */
static bool conv_axis(ad_tape *t, const char *fn, const char *axis, size_t in, size_t k, size_t s,
                      size_t p, size_t dl, size_t *out)
{
    size_t span = dl * (k - 1) + 1; /* the kernel's extent with its holes */
    if (k == 0 || span > in + 2 * p) {
        ad_tape_fail(t, AD_ERR_SHAPE,
                     "%s: kernel %s %zu (dilation %zu, extent %zu) is larger than the padded "
                     "input %s %zu (%zu + 2 x padding %zu)",
                     fn, axis, k, dl, span, axis, in + 2 * p, in, p);
        return false;
    }
    *out = (in + 2 * p - span) / s + 1;
    return true;
}

#define CONV_FAIL(code, ...)                                                                       \
    do {                                                                                           \
        ad_tape_fail(t, code, __VA_ARGS__);                                                        \
        return false;                                                                              \
    } while (0)

bool ad_shape_conv(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0), *w = ad_node_input(t, y, 1);
    const conv_geom *q = y->ctx;
    const bool two = y->op == AD_OP_CONV2D;
    const size_t nd = two ? 4 : 3, na = two ? 2 : 1;
    char sx[AD_SHAPE_STR], sw[AD_SHAPE_STR];
    ad_shape_str(x->ndim, x->dims, sx);
    ad_shape_str(w->ndim, w->dims, sw);
    if (x->ndim != nd)
        CONV_FAIL(AD_ERR_SHAPE, "%s: x must be %s, got %s", fn, two ? "[N,C,H,W]" : "[N,C,L]", sx);
    if (w->ndim != nd)
        CONV_FAIL(AD_ERR_SHAPE, "%s: w must be %s, got %s", fn,
                  two ? "[OC,C/groups,KH,KW]" : "[OC,C/groups,K]", sw);
    for (size_t a = 0; a < na; a++) {
        if (q->stride[a] == 0 || q->stride[a] > CONV_MAX)
            CONV_FAIL(AD_ERR_INVALID, "%s: stride %zu is not in 1 .. %zu", fn, q->stride[a],
                      CONV_MAX);
        if (q->dil[a] == 0 || q->dil[a] > CONV_MAX)
            CONV_FAIL(AD_ERR_INVALID, "%s: dilation %zu is not in 1 .. %zu", fn, q->dil[a],
                      CONV_MAX);
        if (q->pad[a] > CONV_MAX)
            CONV_FAIL(AD_ERR_INVALID, "%s: padding %zu is over %zu", fn, q->pad[a], CONV_MAX);
    }
    const size_t c = x->dims[1], oc = w->dims[0], g = q->groups;
    if (g == 0 || c % g != 0 || oc % g != 0)
        CONV_FAIL(AD_ERR_INVALID,
                  "%s: groups %zu must be positive and divide the %zu input channels of x %s and "
                  "the %zu output channels of w %s",
                  fn, g, c, sx, oc, sw);
    if (w->dims[1] * g != c)
        CONV_FAIL(AD_ERR_SHAPE,
                  "%s: x %s has %zu channels, w %s expects %zu (%zu per group x %zu groups)", fn,
                  sx, c, sw, w->dims[1] * g, w->dims[1], g);
    for (size_t a = 0; a < nd; a++)
        if (x->dims[a] > CONV_MAX || w->dims[a] > CONV_MAX)
            CONV_FAIL(AD_ERR_SHAPE, "%s: x %s or w %s has a dimension over %zu", fn, sx, sw,
                      CONV_MAX);
    if (y->n_in == 3) {
        const ad_node *b = ad_node_input(t, y, 2);
        if (b->ndim != 1 || b->dims[0] != oc) {
            char sb[AD_SHAPE_STR];
            CONV_FAIL(AD_ERR_SHAPE, "%s: bias %s does not match w %s: expected [%zu]", fn,
                      ad_shape_str(b->ndim, b->dims, sb), sw, oc);
        }
    }
    y->ndim = (uint8_t)nd;
    y->dims[0] = x->dims[0];
    y->dims[1] = oc;
    if (two)
        return conv_axis(t, fn, "height", x->dims[2], w->dims[2], q->stride[0], q->pad[0],
                         q->dil[0], &y->dims[2]) &&
               conv_axis(t, fn, "width", x->dims[3], w->dims[3], q->stride[1], q->pad[1], q->dil[1],
                         &y->dims[3]);
    return conv_axis(t, fn, "length", x->dims[2], w->dims[2], q->stride[0], q->pad[0], q->dil[0],
                     &y->dims[2]);
}

#define T     float
#define SUF   f32
#define GEMM  ad_gemm_f32
#define SMALL ad_small_gemm_f32
#include "conv_tmpl.h"
#undef T
#undef SUF
#undef GEMM
#undef SMALL

#define T     double
#define SUF   f64
#define GEMM  ad_gemm_f64
#define SMALL ad_small_gemm_f64
#include "conv_tmpl.h"
#undef T
#undef SUF
#undef GEMM
#undef SMALL

/* Multiply-adds a thread must get before a second one is worth waking
 * (the GEMM's own threshold is 4 M; an image band also unrolls). */
#define CONV_THREAD_WORK (2.0 * 1024.0 * 1024.0)

/* How many bands to cut the batch into: one per thread, when each gets
 * enough work. One band keeps the GEMM free to thread a single image. */
static size_t conv_parts(const conv_dims *d)
{
    double work =
        (double)d->n * (double)(d->oc * d->oh * d->ow) * (double)(d->c / d->g * d->kh * d->kw);
    size_t nt = (size_t)ad_get_num_threads(), by_work = (size_t)(work / CONV_THREAD_WORK);
    if (nt > by_work) nt = by_work;
    if (nt > d->n) nt = d->n;
    return nt ? nt : 1;
}

/* Columns of the unrolled matrix worth reaching: from about this many the
 * GEMM runs near its peak (64 x 288 by 196 columns, one 14x14 image, ran
 * about 20% slower than by 784). */
#define CONV_COLUMNS 768

/* The chunk and the buffers, one per part (none for direct convolutions);
 * false when the tape ran out of memory. */
static bool conv_scratch(ad_tape *t, conv_job *J, size_t parts, size_t elem, const char *fn)
{
    const conv_dims *d = &J->d;
    const size_t ohw = d->oh * d->ow, per_part = (d->n + parts - 1) / parts;
    J->chunk = 1;
    if (!d->direct && ohw > 0) J->chunk = CONV_COLUMNS / ohw > 1 ? CONV_COLUMNS / ohw : 1;
    if (J->chunk > per_part) J->chunk = per_part ? per_part : 1;
    J->scratch = NULL;
    J->cols_len = d->direct ? 0 : d->c * d->kh * d->kw * ohw * J->chunk;
    /* 64-byte multiples, so no two buffers share a cache line */
    J->cols_len = (J->cols_len * elem + 63) / 64 * 64 / elem;
    J->scratch_len = J->cols_len + (J->chunk > 1 ? d->oc * ohw * J->chunk : 0);
    J->scratch_len = (J->scratch_len * elem + 63) / 64 * 64 / elem;
    if (J->scratch_len == 0) return true;
    J->scratch = ad_tape_alloc(t, parts * J->scratch_len * elem, fn);
    return J->scratch != NULL;
}

static void conv_run(size_t parts, ad_pool_fn fn, conv_job *J)
{
    if (parts == 1)
        fn(J, 0, 1); /* on this thread, so its GEMMs may use the pool */
    else
        ad_pool_run((int)parts, parts, fn, J);
}

static void conv_forward(ad_tape *t, ad_node *y)
{
    const char *fn = y->op == AD_OP_CONV2D ? "ad_conv2d" : "ad_conv1d";
    conv_job J = {0};
    J.d = conv_dims_of(t, y);
    J.x = ad_node_input(t, y, 0)->value;
    J.w = ad_node_input(t, y, 1)->value;
    J.bias = y->n_in == 3 ? ad_node_input(t, y, 2)->value : NULL;
    J.y = y->value;
    if (y->numel == 0) return;
    size_t parts = conv_parts(&J.d), elem = ad_dtype_size((ad_dtype)y->dtype);
    if (!conv_scratch(t, &J, parts, elem, fn)) return;
    conv_run(parts, y->dtype == AD_F32 ? fwd_part_f32 : fwd_part_f64, &J);
}

static void conv_backward(ad_tape *t, ad_node *y)
{
    conv_job J = {0};
    J.d = conv_dims_of(t, y);
    J.x = ad_node_input(t, y, 0)->value;
    J.w = ad_node_input(t, y, 1)->value;
    J.gy = y->grad;
    J.gx = ad_input_grad(t, y, 0);
    J.gw = ad_input_grad(t, y, 1);
    J.gb = y->n_in == 3 ? ad_input_grad(t, y, 2) : NULL;
    if (y->numel == 0 || (!J.gx && !J.gw && !J.gb)) return;
    size_t parts = conv_parts(&J.d), elem = ad_dtype_size((ad_dtype)y->dtype);
    if (!J.gx && !J.gw) J.d.direct = true; /* the bias alone needs no unroll */
    if (!conv_scratch(t, &J, parts, elem, "ad_backward")) return;
    J.sum_len = ad_node_input(t, y, 1)->numel + J.d.oc;
    J.sum_len = (J.sum_len * elem + 63) / 64 * 64 / elem;
    if (parts > 1 && (J.gw || J.gb)) {
        J.sums = ad_tape_alloc(t, (parts - 1) * J.sum_len * elem, "ad_backward");
        if (!J.sums) return;
    }
    bool f32 = y->dtype == AD_F32;
    conv_run(parts, f32 ? bwd_part_f32 : bwd_part_f64, &J);
    if (f32)
        add_sums_f32(&J, parts);
    else
        add_sums_f64(&J, parts);
}

void ad_conv1d_forward(ad_tape *t, ad_node *y)
{
    conv_forward(t, y);
}

void ad_conv1d_backward(ad_tape *t, ad_node *y)
{
    conv_backward(t, y);
}

void ad_conv2d_forward(ad_tape *t, ad_node *y)
{
    conv_forward(t, y);
}

void ad_conv2d_backward(ad_tape *t, ad_node *y)
{
    conv_backward(t, y);
}

/* The geometry goes into tape memory as the node's ctx, so the shape rule
 * can check it and the rules can read it. */
static ad_tensor conv_record(const char *fn, uint16_t op, ad_tensor x, ad_tensor w, ad_tensor bias,
                             const ad_conv_opts *opts)
{
    ad_tape *t = x.tape_ ? x.tape_ : w.tape_;
    if (t && t->err != AD_OK) return ad_invalid_tensor(t);
    conv_geom *q = t ? ad_tape_alloc(t, sizeof *q, fn) : NULL;
    if (t && !q) return ad_invalid_tensor(t);
    ad_conv_opts def = AD_CONV_OPTS_DEFAULT;
    const ad_conv_opts *o = opts ? opts : &def;
    if (q) {
        memcpy(q->stride, o->stride, sizeof q->stride);
        memcpy(q->pad, o->padding, sizeof q->pad);
        memcpy(q->dil, o->dilation, sizeof q->dil);
        q->groups = o->groups;
    }
    ad_tensor ins[3] = {x, w, bias};
    ad_op_attrs at = {{0, 0}, {0, 0, 0, 0}, q};
    return ad_op_record(fn, op, ins, ad_handle_ok(bias) ? 3 : 2, &at);
}

ad_tensor ad_conv2d(ad_tensor x, ad_tensor w, ad_tensor bias, const ad_conv_opts *opts)
{
    return conv_record(__func__, AD_OP_CONV2D, x, w, bias, opts);
}

ad_tensor ad_conv1d(ad_tensor x, ad_tensor w, ad_tensor bias, const ad_conv_opts *opts)
{
    return conv_record(__func__, AD_OP_CONV1D, x, w, bias, opts);
}
