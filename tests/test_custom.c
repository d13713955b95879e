/* SPDX-License-Identifier: MIT
 * Custom tensor ops (ad_custom_op): gradchecks over shapes and dtypes, one
 * op with several outputs, mixed input dtypes, evaluation and anomaly mode,
 * graph export, and every way a callback or a def can go wrong. */
#include "common.h"
#include "ops/custom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- sinmul: y = sin(a) b elementwise, a and b of one shape and dtype
 * (the shape callback checks), written once per dtype */

static bool same_shape_out(const ad_custom_args *a, ad_custom_shape *out)
{
    const ad_custom_tensor *x = &a->in[0], *y = &a->in[1];
    if (x->dtype != y->dtype || x->ndim != y->ndim ||
        memcmp(x->dims, y->dims, x->ndim * sizeof x->dims[0]) != 0)
        return ad_custom_fail(AD_ERR_SHAPE, "inputs differ in shape or dtype (%zu vs %zu dims)",
                              x->ndim, y->ndim);
    out[0].dtype = (int)x->dtype;
    out[0].ndim = x->ndim;
    memcpy(out[0].dims, x->dims, sizeof x->dims);
    return true;
}

static bool sinmul_forward(const ad_custom_args *a)
{
    size_t n = a->out[0].numel;
    if (a->out[0].dtype == AD_F64) {
        const double *x = a->in[0].data, *y = a->in[1].data;
        double *o = a->out[0].data;
        for (size_t i = 0; i < n; i++)
            o[i] = sin(x[i]) * y[i];
    } else {
        const float *x = a->in[0].data, *y = a->in[1].data;
        float *o = a->out[0].data;
        for (size_t i = 0; i < n; i++)
            o[i] = sinf(x[i]) * y[i];
    }
    return true;
}

/* d/da = cos(a) b, d/db = sin(a) */
static bool sinmul_backward(const ad_custom_args *a)
{
    size_t n = a->out[0].numel;
    if (a->out[0].dtype == AD_F64) {
        const double *x = a->in[0].data, *y = a->in[1].data, *g = a->grad_out[0].data;
        double *gx = a->grad_in[0].data, *gy = a->grad_in[1].data;
        for (size_t i = 0; i < n; i++) {
            if (gx) gx[i] += g[i] * cos(x[i]) * y[i];
            if (gy) gy[i] += g[i] * sin(x[i]);
        }
    } else {
        const float *x = a->in[0].data, *y = a->in[1].data, *g = a->grad_out[0].data;
        float *gx = a->grad_in[0].data, *gy = a->grad_in[1].data;
        for (size_t i = 0; i < n; i++) {
            if (gx) gx[i] += g[i] * cosf(x[i]) * y[i];
            if (gy) gy[i] += g[i] * sinf(x[i]);
        }
    }
    return true;
}

static bool no_jvp(const ad_custom_args *a)
{
    (void)a;
    return true;
}

static const ad_custom_def sinmul = {.name = "sinmul",
                                     .n_in = 2,
                                     .n_out = 1,
                                     .shape = same_shape_out,
                                     .forward = sinmul_forward,
                                     .backward = sinmul_backward,
                                     .jvp = no_jvp};

static ad_tensor sinmul_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_tensor in[2] = {ad_param_use(t, ps[0]), ad_param_use(t, ps[1])};
    return test_weighted_sum(ad_custom_op(&sinmul, in, NULL));
}

GRADCHECK_TEST(custom, elementwise_op_passes_gradcheck_over_shapes_size_one_odd_and_empty,
               AD_OP_CUSTOM)
{
    static const struct {
        size_t nd, d[4];
    } shapes[] = {{1, {1}},          {1, {7}}, {2, {3, 5}}, {3, {2, 1, 3}},
                  {4, {2, 3, 1, 2}}, {1, {0}}, {2, {4, 0}}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        ad_param *p[2] = {test_param(shapes[k].nd, shapes[k].d, -2, 2, 40 + k),
                          test_param(shapes[k].nd, shapes[k].d, -1, 1, 60 + k)};
        ASSERT_GRADCHECK(sinmul_graph, p, 2, NULL, NULL);
        ad_param_free(p[0]);
        ad_param_free(p[1]);
    }
}

/* the same op composed with built-ins on both sides, one input a constant */
static ad_tensor sinmul_in_a_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_tensor x = ad_param_use(t, ps[0]);
    ad_tensor c = ad_tensor_fill(t, AD_F64, 2, (size_t[]){3, 4}, 0.7);
    ad_tensor in[2] = {ad_ttanh(x), c};
    ad_tensor y = ad_custom_op(&sinmul, in, NULL);
    ad_tensor in2[2] = {y, ad_texp(x)};
    return ad_sum(ad_tmul(ad_custom_op(&sinmul, in2, NULL), x));
}

Test(custom, op_between_builtins_with_a_constant_input_passes_gradcheck)
{
    ad_param *p = test_param(2, (size_t[]){3, 4}, -1, 1, 7);
    ASSERT_GRADCHECK(sinmul_in_a_graph, &p, 1, NULL, NULL);
    ad_param_free(p);
}

/* float32: the same values and gradients as float64, to float precision */
Test(custom, float32_forward_and_backward_match_float64)
{
    enum { N = 11 };
    double a[N], b[N];
    for (size_t i = 0; i < N; i++) {
        a[i] = (double)(float)(0.3 * (double)i - 1.4);
        b[i] = (double)(float)(0.9 - 0.17 * (double)i);
    }
    double y64[N], ga64[N], gb64[N];
    for (int pass = 0; pass < 2; pass++) {
        ad_dtype dt = pass ? AD_F32 : AD_F64;
        ad_tape *t = ad_tape_new();
        float af[N], bf[N];
        for (size_t i = 0; i < N; i++) {
            af[i] = (float)a[i];
            bf[i] = (float)b[i];
        }
        const void *da = pass ? (const void *)af : (const void *)a;
        const void *db = pass ? (const void *)bf : (const void *)b;
        ad_tensor in[2] = {ad_tensor_variable(t, dt, 1, (size_t[]){N}, da),
                           ad_tensor_variable(t, dt, 1, (size_t[]){N}, db)};
        ad_tensor y = ad_custom_op(&sinmul, in, NULL);
        cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
        cr_assert_eq(ad_tensor_dtype(y), dt);
        cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
        for (size_t i = 0; i < N; i++) {
            double v = ad_tensor_get(y, i);
            double ga = pass ? (double)((const float *)ad_tensor_grad(in[0]))[i]
                             : ((const double *)ad_tensor_grad(in[0]))[i];
            double gb = pass ? (double)((const float *)ad_tensor_grad(in[1]))[i]
                             : ((const double *)ad_tensor_grad(in[1]))[i];
            if (!pass) {
                y64[i] = v;
                ga64[i] = ga;
                gb64[i] = gb;
                cr_assert_float_eq(ga, cos(a[i]) * b[i], 1e-15);
            } else {
                cr_assert_float_eq(v, y64[i], 1e-6);
                cr_assert_float_eq(ga, ga64[i], 1e-6);
                cr_assert_float_eq(gb, gb64[i], 1e-6);
            }
        }
        ad_tape_free(t);
    }
}

/* ---- moments: x [n] -> x^2 [n], sum(exp(x)) [1], 3x [n] (float32): three
 * outputs of two shapes and two dtypes, one node and two views */

static bool moments_shape(const ad_custom_args *a, ad_custom_shape *out)
{
    size_t n = a->in[0].numel;
    out[0] = (ad_custom_shape){AD_F64, 1, {n}};
    out[1] = (ad_custom_shape){AD_F64, 1, {1}};
    out[2] = (ad_custom_shape){AD_F32, 1, {n}};
    return true;
}

static int moments_forward_calls, moments_backward_calls;

static bool moments_forward(const ad_custom_args *a)
{
    moments_forward_calls++;
    const double *x = a->in[0].data;
    double *sq = a->out[0].data, *se = a->out[1].data;
    float *tr = a->out[2].data;
    se[0] = 0.0;
    for (size_t i = 0; i < a->in[0].numel; i++) {
        sq[i] = x[i] * x[i];
        se[0] += exp(x[i]);
        tr[i] = (float)(3.0 * x[i]);
    }
    return true;
}

static bool moments_backward(const ad_custom_args *a)
{
    moments_backward_calls++;
    const double *x = a->in[0].data, *g0 = a->grad_out[0].data, *g1 = a->grad_out[1].data;
    const float *g2 = a->grad_out[2].data;
    double *gx = a->grad_in[0].data;
    for (size_t i = 0; gx && i < a->in[0].numel; i++)
        gx[i] += 2.0 * x[i] * g0[i] + exp(x[i]) * g1[0] + 3.0 * (double)g2[i];
    return true;
}

static const ad_custom_shape any_vector_f64[1] = {{AD_F64, 1, {AD_CUSTOM_ANY}}};
static const ad_custom_def moments = {.name = "moments",
                                      .n_in = 1,
                                      .n_out = 3,
                                      .in = any_vector_f64,
                                      .shape = moments_shape,
                                      .forward = moments_forward,
                                      .backward = moments_backward};

/* ctx: which outputs the loss uses, a bit each (outputs 0 and 1) */
static ad_tensor moments_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    int use = *(const int *)ctx;
    ad_tensor x = ad_param_use(t, ps[0]), out[3];
    ad_custom_op(&moments, &x, out);
    ad_tensor a = test_weighted_sum(out[0]), b = ad_tscale(out[1], 0.5);
    if (use == 1) return a;
    if (use == 2) return b;
    return ad_tadd(a, b);
}

GRADCHECK_TEST(custom, several_outputs_pass_gradcheck_whichever_outputs_the_loss_uses,
               AD_OP_CUSTOM_OUTPUT)
{
    static const size_t sizes[] = {1, 2, 5, 9};
    for (int use = 1; use <= 3; use++)
        for (size_t k = 0; k < 4; k++) {
            ad_param *p = test_param(1, &sizes[k], -1, 1, 80 + k);
            ASSERT_GRADCHECK(moments_graph, &p, 1, &use, NULL);
            ad_param_free(p);
        }
}

Test(custom, several_outputs_run_each_callback_once_and_the_float32_output_gets_its_gradient)
{
    ad_tape *t = ad_tape_new();
    double xv[3] = {0.5, -1.0, 2.0};
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, xv), out[3];
    moments_forward_calls = moments_backward_calls = 0;
    ad_tensor first = ad_custom_op(&moments, &x, out);
    cr_assert(ad_tensor_ok(first), "%s", test_tape_msg(t));
    cr_assert_eq(first.index_, out[0].index_);
    cr_assert_eq(ad_tensor_dtype(out[2]), AD_F32);
    cr_assert_eq(ad_tensor_numel(out[1]), 1u);
    cr_assert_eq(moments_forward_calls, 1);
    /* the loss reads only the float32 output: 3 per element */
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < 3; i++)
        s = ad_add(s, ad_tensor_to_scalar(out[2], i));
    cr_assert_eq(ad_backward_scalar(s), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(moments_backward_calls, 1);
    const double *g = ad_tensor_grad(x);
    for (size_t i = 0; i < 3; i++)
        cr_assert_float_eq(g[i], 3.0, 1e-12);
    /* a sweep from output 1 alone */
    cr_assert_eq(ad_backward(out[1]), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(moments_backward_calls, 2);
    g = ad_tensor_grad(x);
    for (size_t i = 0; i < 3; i++)
        cr_assert_float_eq(g[i], exp(xv[i]), 1e-12);
    ad_tape_free(t);
}

/* ---- mixed input dtypes: y = a (float32 input, widened) * b (float64),
 * gradients to both in their own dtype; more inputs than a node holds
 * inline (4), through a variadic sum */

static bool mixsum_forward(const ad_custom_args *a)
{
    double *o = a->out[0].data;
    for (size_t i = 0; i < a->out[0].numel; i++) {
        o[i] = 0.0;
        for (size_t k = 0; k < a->n_in; k++) {
            double v = a->in[k].dtype == AD_F32 ? (double)((const float *)a->in[k].data)[i]
                                                : ((const double *)a->in[k].data)[i];
            o[i] += (double)(k + 1) * v;
        }
    }
    return true;
}

static bool mixsum_backward(const ad_custom_args *a)
{
    const double *g = a->grad_out[0].data;
    for (size_t k = 0; k < a->n_in; k++) {
        void *gk = a->grad_in[k].data;
        for (size_t i = 0; gk && i < a->out[0].numel; i++) {
            if (a->in[k].dtype == AD_F32)
                ((float *)gk)[i] += (float)((double)(k + 1) * g[i]);
            else
                ((double *)gk)[i] += (double)(k + 1) * g[i];
        }
    }
    return true;
}

static const ad_custom_shape vec3_any_dtype[5] = {{AD_CUSTOM_ANY_DTYPE, 1, {3}},
                                                  {AD_CUSTOM_ANY_DTYPE, 1, {3}},
                                                  {AD_CUSTOM_ANY_DTYPE, 1, {3}},
                                                  {AD_CUSTOM_ANY_DTYPE, 1, {3}},
                                                  {AD_CUSTOM_ANY_DTYPE, 1, {3}}};
static const ad_custom_shape vec3_out = {AD_F64, 1, {3}};

static ad_custom_def mixsum_def(size_t n_in)
{
    return (ad_custom_def){.name = "mixsum",
                           .n_in = n_in,
                           .n_out = 1,
                           .in = vec3_any_dtype,
                           .out = &vec3_out,
                           .forward = mixsum_forward,
                           .backward = mixsum_backward};
}

static ad_tensor mixsum_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)ctx;
    ad_tensor in[5];
    for (size_t k = 0; k < n; k++)
        in[k] = ad_param_use(t, ps[k]);
    in[n] = ad_tensor_fill(t, AD_F32, 1, (size_t[]){3}, 0.25); /* a float32 constant */
    ad_custom_def d = mixsum_def(n + 1);
    return test_weighted_sum(ad_ttanh(ad_custom_op(&d, in, NULL)));
}

Test(custom, mixed_dtypes_and_more_inputs_than_a_node_holds_inline_pass_gradcheck)
{
    ad_param *p[4];
    for (size_t k = 0; k < 4; k++)
        p[k] = test_param(1, (size_t[]){3}, -0.5, 0.5, 90 + k);
    ASSERT_GRADCHECK(mixsum_graph, p, 4, NULL, NULL);
    for (size_t k = 0; k < 4; k++)
        ad_param_free(p[k]);
}

Test(custom, a_float32_input_of_a_float64_op_gets_a_float32_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_tensor in[2] = {ad_tensor_variable(t, AD_F32, 1, (size_t[]){3}, (float[]){1, 2, 3}),
                       ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){4, 5, 6})};
    ad_custom_def d = mixsum_def(2);
    ad_tensor y = ad_custom_op(&d, in, NULL);
    cr_assert_float_eq(ad_tensor_get(y, 2), 3.0 + 2.0 * 6.0, 1e-12);
    cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
    const float *g0 = ad_tensor_grad(in[0]);
    const double *g1 = ad_tensor_grad(in[1]);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(g0[i], 1.0f);
        cr_assert_eq(g1[i], 2.0);
    }
    /* anomaly mode checks each input gradient in its own dtype */
    ad_tape_set_anomaly(t, true);
    cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
    ad_tape_free(t);
}

/* ---- modes and export */

Test(custom, evaluation_mode_computes_values_and_refuses_a_sweep_from_them)
{
    ad_tape *t = ad_tape_new();
    ad_tensor in[2] = {ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){0.5, 1.0}),
                       ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){2.0, 3.0})};
    ad_tape_set_recording(t, false);
    ad_tensor out[3];
    ad_tensor y = ad_custom_op(&sinmul, in, NULL);
    ad_custom_op(&moments, &in[0], out);
    cr_assert(ad_tensor_ok(y) && ad_tensor_ok(out[2]), "%s", test_tape_msg(t));
    cr_assert_float_eq(ad_tensor_get(y, 1), sin(1.0) * 3.0, 1e-15);
    cr_assert_float_eq(ad_tensor_get(out[1], 0), exp(0.5) + exp(1.0), 1e-12);
    cr_assert_null(ad_tensor_grad(y));
    cr_assert_eq(ad_backward(ad_sum(y)), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "recording off");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_backward(ad_sum(out[2])), AD_ERR_INVALID);
    ad_tape_free(t);
}

Test(custom, anomaly_mode_gives_the_same_gradient)
{
    double g[2][6];
    for (int anomaly = 0; anomaly < 2; anomaly++) {
        ad_tape *t = ad_tape_new();
        ad_tape_set_anomaly(t, anomaly);
        ad_tensor x = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){2, 3}, -1, 1, 5);
        ad_tensor v = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 3}, ad_tensor_data(x));
        ad_tensor in[2] = {v, ad_texp(v)};
        cr_assert_eq(ad_backward(ad_sum(ad_custom_op(&sinmul, in, NULL))), AD_OK, "%s",
                     test_tape_msg(t));
        memcpy(g[anomaly], ad_tensor_grad(v), sizeof g[0]);
        ad_tape_free(t);
    }
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(g[0][i], g[1][i]);
}

static bool sqrt_forward(const ad_custom_args *a)
{
    const double *x = a->in[0].data;
    double *o = a->out[0].data;
    for (size_t i = 0; i < a->in[0].numel; i++)
        o[i] = sqrt(x[i]);
    return true;
}

Test(custom, anomaly_mode_names_the_op_whose_forward_made_a_nan)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    const ad_custom_shape o = {AD_F64, 1, {3}};
    ad_custom_def d = {.name = "root", .n_in = 1, .n_out = 1, .out = &o, .forward = sqrt_forward};
    ad_tensor x = ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, (double[]){1, -1, 4});
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_custom_op: anomaly in the forward sweep: op root");
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "element 1");
    /* without anomaly mode a NaN is data */
    ad_tape_reset(t);
    ad_tape_set_anomaly(t, false);
    x = ad_tensor_new(t, AD_F64, 1, (size_t[]){3}, (double[]){1, -1, 4});
    ad_tensor y = ad_custom_op(&d, &x, NULL);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert(isnan(ad_tensor_get(y, 1)));
    ad_tape_free(t);
}

/* a backward that produces an infinite input gradient */
static bool inf_backward(const ad_custom_args *a)
{
    double *gx = a->grad_in[0].data;
    if (gx) gx[0] = (double)INFINITY;
    return true;
}

static bool copy_forward(const ad_custom_args *a)
{
    memcpy(a->out[0].data, a->in[0].data, a->in[0].numel * sizeof(double));
    return true;
}

Test(custom, anomaly_mode_names_the_op_whose_backward_made_an_infinity)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    const ad_custom_shape o = {AD_F64, 1, {2}};
    ad_custom_def d = {.name = "blowup",
                       .n_in = 1,
                       .n_out = 1,
                       .out = &o,
                       .forward = copy_forward,
                       .backward = inf_backward};
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 2});
    cr_assert_eq(ad_backward(ad_sum(ad_custom_op(&d, &x, NULL))), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "op blowup");
    ad_tape_free(t);
}

static bool collect(const char *data, size_t len, void *user)
{
    char *buf = user;
    size_t have = strlen(buf);
    if (have + len >= 8192) return false;
    memcpy(buf + have, data, len);
    buf[have + len] = '\0';
    return true;
}

Test(custom, graph_export_names_the_op_and_its_outputs_by_the_users_name)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){4}, NULL), out[3];
    ad_custom_def d = moments;
    d.name = "my \"moments\""; /* export escapes the user's text */
    ad_custom_op(&d, &x, out);
    ad_tensor loss = ad_tadd(ad_sum(out[0]), out[1]);
    cr_assert_eq(ad_backward(loss), AD_OK, "%s", test_tape_msg(t));
    static char dot[8192];
    dot[0] = '\0';
    cr_assert_eq(ad_tape_export_dot_fn(t, collect, dot), AD_OK, "%s", ad_last_error());
    cr_assert(strstr(dot, "label=\"my \\\"moments\\\"\\n[4] float64"), "%s", dot);
    cr_assert(strstr(dot, "label=\"my \\\"moments\\\"[1]\\n[1] float64"), "%s", dot);
    cr_assert(strstr(dot, "label=\"my \\\"moments\\\"[2]\\n[4] float32"), "%s", dot);
    cr_assert(strstr(dot, "tdetach") == NULL);
    ad_tape_free(t);
}

/* ---- the forward-mode rule is kept on the node */

Test(custom, the_jvp_rule_is_kept_on_the_node_for_forward_mode)
{
    ad_tape *t = ad_tape_new();
    ad_tensor in[2] = {ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, NULL),
                       ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, NULL)};
    ad_tensor y = ad_custom_op(&sinmul, in, NULL);
    const ad_custom_node *c = t->nodes[y.index_].ctx;
    cr_assert_eq(c->jvp, no_jvp);
    cr_assert_eq(c->backward, sinmul_backward);
    cr_assert_str_eq(c->name, "sinmul");
    ad_tape_free(t);
}
