/* SPDX-License-Identifier: MIT
 * conv1d and conv2d (ops/conv.c): gradients against central differences
 * over batch 1, odd sizes and stride/padding/dilation/group combinations;
 * the forward against a direct convolution written here; float32 against
 * float64; the threaded batch split against one thread; error paths. */
#include "op_helpers.h"

#include <stdio.h>

typedef struct conv_case {
    int nd; /* 1: conv1d, 2: conv2d */
    size_t x[4], w[4];
    ad_conv_opts o;
    bool bias;
} conv_case;

#define OPTS(s0, s1, p0, p1, d0, d1, g)                                                            \
    {                                                                                              \
        {s0, s1}, {p0, p1}, {d0, d1}, g                                                            \
    }

static const conv_case cases2d[] = {
    {2, {1, 1, 5, 5}, {1, 1, 3, 3}, OPTS(1, 1, 0, 0, 1, 1, 1), true},  /* batch 1, one channel */
    {2, {2, 3, 5, 4}, {4, 3, 3, 2}, OPTS(1, 1, 1, 1, 1, 1, 1), true},  /* odd, padded */
    {2, {2, 4, 7, 6}, {6, 2, 3, 3}, OPTS(2, 1, 1, 2, 1, 1, 2), true},  /* groups, stride */
    {2, {1, 2, 7, 7}, {3, 2, 3, 2}, OPTS(1, 2, 2, 0, 2, 3, 1), false}, /* dilation, no bias */
    {2, {3, 6, 4, 5}, {6, 1, 2, 2}, OPTS(2, 2, 1, 1, 1, 1, 6), true},  /* depthwise */
    {2, {2, 4, 3, 3}, {5, 4, 1, 1}, OPTS(1, 1, 0, 0, 1, 1, 1), true},  /* 1x1: no unroll */
    {2, {1, 2, 3, 3}, {2, 2, 2, 2}, OPTS(3, 3, 3, 2, 1, 1, 1), true},  /* padding > kernel */
};

/* Forward only: 12x12 outputs unroll 5 images side by side (conv.c's
 * CONV_COLUMNS), so 7 images end in a partial chunk of 2. */
static const conv_case chunked2d = {
    2, {7, 2, 12, 12}, {3, 2, 3, 3}, OPTS(1, 1, 1, 1, 1, 1, 1), true};

static const conv_case cases1d[] = {
    {1, {1, 1, 6}, {1, 1, 3}, OPTS(1, 0, 0, 0, 1, 0, 1), true},
    {1, {2, 3, 9}, {4, 3, 2}, OPTS(2, 0, 1, 0, 1, 0, 1), true},
    {1, {2, 4, 11}, {6, 2, 3}, OPTS(1, 0, 2, 0, 2, 0, 2), false},
    {1, {3, 2, 5}, {3, 2, 1}, OPTS(1, 0, 0, 0, 1, 0, 1), true},
};

static size_t numel(size_t nd, const size_t *d)
{
    size_t n = 1;
    for (size_t i = 0; i < nd; i++)
        n *= d[i];
    return n;
}

static size_t dim_of(ad_tensor x, int k)
{
    size_t d[AD_MAX_DIMS] = {0};
    ad_tensor_shape(x, d);
    return d[k];
}

static ad_tensor conv_op(const conv_case *c, ad_tensor x, ad_tensor w, ad_tensor b)
{
    return c->nd == 2 ? ad_conv2d(x, w, b, &c->o) : ad_conv1d(x, w, b, &c->o);
}

static ad_tensor conv_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const conv_case *c = ctx;
    ad_tensor b = c->bias ? ad_param_use(t, p[2]) : AD_TENSOR_NONE;
    return weighted_sum(conv_op(c, ad_param_use(t, p[0]), ad_param_use(t, p[1]), b), 13);
}

static void check_case(const conv_case *c, uint64_t seed)
{
    size_t nd = (size_t)c->nd + 2;
    ad_param *p[3] = {test_param(nd, c->x, -1, 1, seed), test_param(nd, c->w, -1, 1, seed + 1),
                      test_param(1, c->w, -1, 1, seed + 2)};
    ASSERT_GRADCHECK(conv_graph, p, c->bias ? 3 : 2, (void *)c, NULL);
    for (int k = 0; k < 3; k++)
        ad_param_free(p[k]);
}

GRADCHECK_TEST(conv,
               conv2d_gradients_match_central_differences_over_strides_padding_dilation_groups,
               AD_OP_CONV2D)
{
    for (size_t k = 0; k < sizeof cases2d / sizeof cases2d[0]; k++)
        check_case(&cases2d[k], 10 + 3 * k);
}

GRADCHECK_TEST(conv,
               conv1d_gradients_match_central_differences_over_strides_padding_dilation_groups,
               AD_OP_CONV1D)
{
    for (size_t k = 0; k < sizeof cases1d / sizeof cases1d[0]; k++)
        check_case(&cases1d[k], 50 + 3 * k);
}

/* The convolution by its definition, in 2-D terms (conv1d: H = KH = 1 and
 * the [0] geometry on the width): y [N,OC,OH,OW]. */
static void naive_conv(const conv_case *c, const double *x, const double *w, const double *b,
                       double *y, size_t *oh_out, size_t *ow_out)
{
    bool two = c->nd == 2;
    size_t N = c->x[0], C = c->x[1], H = two ? c->x[2] : 1, W = c->x[two ? 3 : 2];
    size_t OC = c->w[0], KH = two ? c->w[2] : 1, KW = c->w[two ? 3 : 2], G = c->o.groups;
    long sh = two ? (long)c->o.stride[0] : 1, sw = (long)c->o.stride[two ? 1 : 0];
    long ph = two ? (long)c->o.padding[0] : 0, pw = (long)c->o.padding[two ? 1 : 0];
    long dh = two ? (long)c->o.dilation[0] : 1, dw = (long)c->o.dilation[two ? 1 : 0];
    size_t OH = (size_t)(((long)H + 2 * ph - dh * ((long)KH - 1) - 1) / sh + 1);
    size_t OW = (size_t)(((long)W + 2 * pw - dw * ((long)KW - 1) - 1) / sw + 1);
    size_t cg = C / G, ocg = OC / G;
    for (size_t n = 0; n < N; n++)
        for (size_t o = 0; o < OC; o++)
            for (size_t i = 0; i < OH; i++)
                for (size_t j = 0; j < OW; j++) {
                    double s = b ? b[o] : 0.0;
                    size_t g = o / ocg;
                    for (size_t ci = 0; ci < cg; ci++)
                        for (size_t ki = 0; ki < KH; ki++)
                            for (size_t kj = 0; kj < KW; kj++) {
                                long ih = (long)i * sh - ph + (long)ki * dh;
                                long iw = (long)j * sw - pw + (long)kj * dw;
                                if (ih < 0 || iw < 0 || ih >= (long)H || iw >= (long)W) continue;
                                size_t cin = g * cg + ci;
                                s += x[((n * C + cin) * H + (size_t)ih) * W + (size_t)iw] *
                                     w[((o * cg + ci) * KH + ki) * KW + kj];
                            }
                    y[((n * OC + o) * OH + i) * OW + j] = s;
                }
    *oh_out = OH;
    *ow_out = OW;
}

/* Forward in dtype dt against the direct convolution in double. */
static void check_forward(const conv_case *c, ad_dtype dt, double tol, uint64_t seed)
{
    size_t nd = (size_t)c->nd + 2, nx = numel(nd, c->x), nw = numel(nd, c->w);
    double *x = random_values(nx, seed), *w = random_values(nw, seed + 1);
    double *b = random_values(c->w[0], seed + 2);
    size_t ny_max = 4096;
    double *want = malloc(ny_max * sizeof *want);
    size_t oh, ow;
    naive_conv(c, x, w, c->bias ? b : NULL, want, &oh, &ow);
    ad_tape *t = ad_tape_new();
    ad_tensor bt = c->bias ? tensor_from(t, dt, 1, c->w, b, false) : AD_TENSOR_NONE;
    ad_tensor y = conv_op(c, tensor_from(t, dt, nd, c->x, x, false),
                          tensor_from(t, dt, nd, c->w, w, false), bt);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    size_t ny = ad_tensor_numel(y);
    cr_assert_eq(ny, c->x[0] * c->w[0] * oh * ow);
    cr_assert_eq(dim_of(y, 1), c->w[0]);
    cr_assert(ny <= ny_max);
    double got[4096];
    for (size_t i = 0; i < ny; i++)
        got[i] = ad_tensor_get(y, i);
    ASSERT_CLOSE_ARRAY(got, want, ny, tol, tol);
    ad_tape_free(t);
    free(x);
    free(w);
    free(b);
    free(want);
}

Test(conv, forward_matches_a_direct_convolution_in_float64_and_float32)
{
    for (size_t k = 0; k < sizeof cases2d / sizeof cases2d[0]; k++) {
        check_forward(&cases2d[k], AD_F64, 1e-12, 100 + k);
        check_forward(&cases2d[k], AD_F32, 1e-5, 100 + k);
    }
    check_forward(&chunked2d, AD_F64, 1e-12, 150);
    check_forward(&chunked2d, AD_F32, 1e-5, 150);
    for (size_t k = 0; k < sizeof cases1d / sizeof cases1d[0]; k++) {
        check_forward(&cases1d[k], AD_F64, 1e-12, 200 + k);
        check_forward(&cases1d[k], AD_F32, 1e-5, 200 + k);
    }
}

Test(conv, null_opts_mean_stride_1_no_padding_dilation_1_one_group)
{
    conv_case c = {2, {1, 2, 4, 5}, {3, 2, 2, 3}, OPTS(1, 1, 0, 0, 1, 1, 1), true};
    double *x = random_values(40, 3), *w = random_values(36, 4), *b = random_values(3, 5);
    double want[3 * 3 * 3];
    size_t oh, ow;
    naive_conv(&c, x, w, b, want, &oh, &ow);
    ad_tape *t = ad_tape_new();
    ad_tensor y = ad_conv2d(tensor_from(t, AD_F64, 4, c.x, x, false),
                            tensor_from(t, AD_F64, 4, c.w, w, false),
                            tensor_from(t, AD_F64, 1, c.w, b, false), NULL);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert_eq(ad_tensor_numel(y), 27);
    ASSERT_CLOSE_ARRAY((const double *)ad_tensor_data(y), want, 27, 1e-12, 1e-12);
    ad_tape_free(t);
    free(x);
    free(w);
    free(b);
}

/* All three gradients of a float32 step against the float64 ones. */
Test(conv, float32_gradients_follow_float64)
{
    const conv_case *c = &cases2d[2];
    size_t nx = numel(4, c->x), nw = numel(4, c->w), ny = 2 * 6 * 4 * 8; /* OH 4, OW 8 */
    double *x = random_values(nx, 7), *w = random_values(nw, 8), *b = random_values(6, 9);
    double *g = random_values(ny, 10);
    double gx[2][336], gw[2][108], gb[2][6];
    for (int k = 0; k < 2; k++) {
        ad_dtype dt = k ? AD_F32 : AD_F64;
        ad_tape *t = ad_tape_new();
        ad_tensor xt = tensor_from(t, dt, 4, c->x, x, true),
                  wt = tensor_from(t, dt, 4, c->w, w, true);
        ad_tensor bt = tensor_from(t, dt, 1, c->w, b, true);
        ad_tensor y = ad_conv2d(xt, wt, bt, &c->o);
        cr_assert_eq(ad_tensor_numel(y), ny);
        ad_tensor gt = tensor_from(t, dt, 4, (size_t[]){2, 6, 4, 8}, g, false);
        cr_assert_eq(ad_backward(ad_sum(ad_tmul(y, gt))), AD_OK, "%s", test_tape_msg(t));
        grad_as_double(xt, gx[k]);
        grad_as_double(wt, gw[k]);
        grad_as_double(bt, gb[k]);
        ad_tape_free(t);
    }
    ASSERT_CLOSE_ARRAY(gx[1], gx[0], nx, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gw[1], gw[0], nw, 1e-5, 1e-5);
    ASSERT_CLOSE_ARRAY(gb[1], gb[0], 6, 1e-5, 1e-5);
    free(x);
    free(w);
    free(b);
    free(g);
}

/* Value and gradients of sum(G .* conv(x, w, b)) with nt threads. */
static void conv_grads(int nt, const conv_case *c, const double *x, const double *w,
                       const double *b, const double *g, double *y, double *gx, double *gw,
                       double *gb)
{
    ad_set_num_threads(nt);
    ad_tape *t = ad_tape_new();
    ad_tensor xt = tensor_from(t, AD_F64, 4, c->x, x, true);
    ad_tensor wt = tensor_from(t, AD_F64, 4, c->w, w, true);
    ad_tensor bt = tensor_from(t, AD_F64, 1, c->w, b, true);
    ad_tensor yt = ad_conv2d(xt, wt, bt, &c->o);
    cr_assert(ad_tensor_ok(yt), "%s", test_tape_msg(t));
    size_t dims[4];
    for (int d = 0; d < 4; d++)
        dims[d] = dim_of(yt, d);
    ad_tensor gt = tensor_from(t, AD_F64, 4, dims, g, false);
    cr_assert_eq(ad_backward(ad_sum(ad_tmul(yt, gt))), AD_OK, "%s", test_tape_msg(t));
    memcpy(y, ad_tensor_data(yt), ad_tensor_numel(yt) * sizeof *y);
    grad_as_double(xt, gx);
    grad_as_double(wt, gw);
    grad_as_double(bt, gb);
    ad_tape_free(t);
    ad_set_num_threads(0);
}

/* Big enough that the batch is split over two threads (one thread takes 7
 * images in chunks of 5 and 2, two take 3 and 4; and, in the second
 * case, that each image's product would thread the GEMM from inside a
 * part, which must run on the part's thread instead of waiting for the
 * busy pool). The timeout catches that deadlock; it is generous because
 * make memcheck runs the test under valgrind, where 60 s were too few. */
Test(conv, two_threads_split_the_batch_and_agree_with_one, .timeout = 600)
{
    static const conv_case cs[] = {
        {2, {7, 16, 12, 12}, {32, 16, 3, 3}, OPTS(1, 1, 1, 1, 1, 1, 1), true},
        {2, {2, 64, 32, 32}, {256, 64, 3, 3}, OPTS(1, 1, 1, 1, 1, 1, 1), true},
    };
    for (size_t k = 0; k < 2; k++) {
        const conv_case *c = &cs[k];
        size_t nx = numel(4, c->x), nw = numel(4, c->w), oc = c->w[0];
        size_t ny = c->x[0] * oc * c->x[2] * c->x[3];
        double *x = random_values(nx, 1), *w = random_values(nw, 2), *b = random_values(oc, 3);
        double *g = random_values(ny, 4);
        double *r[2][4];
        for (int i = 0; i < 2; i++) {
            r[i][0] = malloc(ny * sizeof(double));
            r[i][1] = malloc(nx * sizeof(double));
            r[i][2] = malloc(nw * sizeof(double));
            r[i][3] = malloc(oc * sizeof(double));
            conv_grads(i + 1, c, x, w, b, g, r[i][0], r[i][1], r[i][2], r[i][3]);
        }
        ASSERT_CLOSE_ARRAY(r[1][0], r[0][0], ny, 1e-12, 1e-12);
        ASSERT_CLOSE_ARRAY(r[1][1], r[0][1], nx, 1e-12, 1e-12);
        ASSERT_CLOSE_ARRAY(r[1][2], r[0][2], nw, 1e-10, 1e-12);
        ASSERT_CLOSE_ARRAY(r[1][3], r[0][3], oc, 1e-10, 1e-12);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                free(r[i][j]);
        free(x);
        free(w);
        free(b);
        free(g);
    }
}

Test(conv, an_empty_batch_gives_an_empty_output_and_a_zero_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 4, (size_t[]){0, 2, 4, 4}, NULL);
    ad_tensor w = ad_tensor_uniform(t, AD_F64, 4, (size_t[]){3, 2, 3, 3}, -1, 1, 1);
    ad_tensor wv = ad_tensor_variable(t, AD_F64, 4, (size_t[]){3, 2, 3, 3}, ad_tensor_data(w));
    ad_tensor y = ad_conv2d(x, wv, AD_TENSOR_NONE, NULL);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert_eq(ad_tensor_numel(y), 0);
    cr_assert_eq(dim_of(y, 2), 2);
    cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
    const double *gw = ad_tensor_grad(wv);
    for (size_t i = 0; i < 54; i++)
        cr_assert_eq(gw[i], 0.0);
    ad_tape_free(t);
}

/* ---- errors: the code and the values in the message */

static void expect_conv2d_error(size_t xnd, const size_t *xd, size_t wnd, const size_t *wd,
                                const size_t *bd, ad_conv_opts o, ad_status code,
                                const char *needle)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, xnd, xd), w = ad_tensor_zeros(t, AD_F32, wnd, wd);
    ad_tensor b = bd ? ad_tensor_zeros(t, AD_F32, 1, bd) : AD_TENSOR_NONE;
    ad_tensor y = ad_conv2d(x, w, b, &o);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, code, needle);
    ASSERT_TAPE_ERROR(t, code, "ad_conv2d");
    ad_tape_free(t);
}

Test(conv, bad_geometry_fails_naming_the_op_and_the_values)
{
    const size_t x[4] = {2, 4, 8, 8}, w[4] = {6, 4, 3, 3}, wg[4] = {6, 2, 3, 3};
    expect_conv2d_error(4, x, 4, w, NULL, (ad_conv_opts)OPTS(0, 1, 0, 0, 1, 1, 1), AD_ERR_INVALID,
                        "stride 0");
    expect_conv2d_error(4, x, 4, w, NULL, (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 0, 1), AD_ERR_INVALID,
                        "dilation 0");
    expect_conv2d_error(4, x, 4, w, NULL, (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 1, 0), AD_ERR_INVALID,
                        "groups 0");
    expect_conv2d_error(4, x, 4, wg, NULL, (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 1, 3), AD_ERR_INVALID,
                        "groups 3 must be positive and divide the 4 input channels");
    expect_conv2d_error(4, x, 4, (size_t[]){5, 2, 3, 3}, NULL,
                        (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 1, 2), AD_ERR_INVALID,
                        "the 5 output channels");
    expect_conv2d_error(4, x, 4, wg, NULL, (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 1, 1), AD_ERR_SHAPE,
                        "x [2,4,8,8] has 4 channels, w [6,2,3,3] expects 2");
    expect_conv2d_error(4, x, 4, (size_t[]){6, 4, 9, 3}, NULL,
                        (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 1, 1), AD_ERR_SHAPE,
                        "kernel height 9 (dilation 1, extent 9) is larger than the padded input "
                        "height 8");
    expect_conv2d_error(4, x, 4, w, NULL, (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 4, 1), AD_ERR_SHAPE,
                        "kernel width 3 (dilation 4, extent 9)");
    expect_conv2d_error(3, x, 4, w, NULL, (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 1, 1), AD_ERR_SHAPE,
                        "x must be [N,C,H,W], got [2,4,8]");
    expect_conv2d_error(4, x, 3, w, NULL, (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 1, 1), AD_ERR_SHAPE,
                        "w must be [OC,C/groups,KH,KW], got [6,4,3]");
    expect_conv2d_error(4, x, 4, w, (size_t[]){5}, (ad_conv_opts)OPTS(1, 1, 0, 0, 1, 1, 1),
                        AD_ERR_SHAPE, "bias [5] does not match w [6,4,3,3]: expected [6]");
    expect_conv2d_error(4, x, 4, w, NULL, (ad_conv_opts)OPTS(1, 1, (size_t)1 << 40, 0, 1, 1, 1),
                        AD_ERR_INVALID, "padding 1099511627776 is over");
}

Test(conv, conv1d_errors_name_conv1d_and_its_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 3, (size_t[]){2, 3, 4});
    ad_tensor w = ad_tensor_zeros(t, AD_F64, 3, (size_t[]){2, 3, 5});
    ad_tensor y = ad_conv1d(x, w, AD_TENSOR_NONE, NULL);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_conv1d: kernel length 5 (dilation 1, extent 5) is larger than the "
                      "padded input length 4");
    ad_tape_free(t);
    t = ad_tape_new();
    x = ad_tensor_zeros(t, AD_F64, 4, (size_t[]){2, 3, 4, 4});
    w = ad_tensor_zeros(t, AD_F64, 3, (size_t[]){2, 3, 1});
    cr_assert(!ad_tensor_ok(ad_conv1d(x, w, AD_TENSOR_NONE, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_conv1d: x must be [N,C,L], got [2,3,4,4]");
    ad_tape_free(t);
}

Test(conv, a_dtype_mismatch_and_a_failed_tape_are_reported)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 4, (size_t[]){1, 1, 3, 3});
    ad_tensor w = ad_tensor_zeros(t, AD_F64, 4, (size_t[]){1, 1, 2, 2});
    cr_assert(!ad_tensor_ok(ad_conv2d(x, w, AD_TENSOR_NONE, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_conv2d: dtypes differ");
    /* sticky: a later valid call does nothing */
    ad_tensor w32 = ad_tensor_zeros(t, AD_F32, 4, (size_t[]){1, 1, 2, 2});
    cr_assert(!ad_tensor_ok(ad_conv2d(x, w32, AD_TENSOR_NONE, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_conv2d: dtypes differ");
    ad_tape_free(t);
    cr_assert(!ad_tensor_ok(ad_conv2d(AD_TENSOR_NONE, AD_TENSOR_NONE, AD_TENSOR_NONE, NULL)));
    cr_assert(strstr(ad_last_error(), "ad_conv2d") != NULL, "%s", ad_last_error());
}

/* Each input's gradient is the same whether or not the others need one (the
 * backward skips the products nobody needs: dx alone, dw alone, the bias
 * alone without any unroll). */
Test(conv, each_gradient_is_the_same_whichever_others_are_needed)
{
    const conv_case *c = &cases2d[1];
    size_t nx = numel(4, c->x), nw = numel(4, c->w), oc = c->w[0];
    double *x = random_values(nx, 31), *w = random_values(nw, 32), *b = random_values(oc, 33);
    double all[3][256], one[3][256];
    for (int need = -1; need < 3; need++) { /* -1: all three */
        ad_tape *t = ad_tape_new();
        ad_tensor in[3] = {tensor_from(t, AD_F64, 4, c->x, x, need < 0 || need == 0),
                           tensor_from(t, AD_F64, 4, c->w, w, need < 0 || need == 1),
                           tensor_from(t, AD_F64, 1, c->w, b, need < 0 || need == 2)};
        ad_tensor y = ad_conv2d(in[0], in[1], in[2], &c->o);
        cr_assert_eq(ad_backward(weighted_sum(y, 3)), AD_OK, "%s", test_tape_msg(t));
        for (int k = 0; k < 3; k++)
            if (need < 0)
                grad_as_double(in[k], all[k]);
            else if (k == need)
                grad_as_double(in[k], one[k]);
            else
                cr_assert_null(ad_tensor_grad(in[k]));
        ad_tape_free(t);
    }
    ASSERT_CLOSE_ARRAY(one[0], all[0], nx, 1e-14, 1e-14);
    ASSERT_CLOSE_ARRAY(one[1], all[1], nw, 1e-14, 1e-14);
    ASSERT_CLOSE_ARRAY(one[2], all[2], oc, 1e-14, 1e-14);
    free(x);
    free(w);
    free(b);
}
