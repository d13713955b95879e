/* SPDX-License-Identifier: MIT
 * Custom ops that go wrong: bad defs, inputs that miss their declarations,
 * callbacks that fail (with and without a reason), a forward that leaves
 * outputs unset, a missing or failing backward; each a clear error naming
 * the op, never a wrong gradient returned as success. And the same op
 * recorded with the k-th allocation failing, for every k. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool twice_forward(const ad_custom_args *a)
{
    const double *x = a->in[0].data;
    double *o = a->out[0].data;
    for (size_t i = 0; i < a->out[0].numel; i++)
        o[i] = 2.0 * x[i];
    return true;
}

static bool twice_backward(const ad_custom_args *a)
{
    const double *g = a->grad_out[0].data;
    double *gx = a->grad_in[0].data;
    for (size_t i = 0; gx && i < a->out[0].numel; i++)
        gx[i] += 2.0 * g[i];
    return true;
}

static const ad_custom_shape vec4_in = {AD_F64, 1, {4}};
static const ad_custom_shape vec4_out = {AD_F64, 1, {4}};

static ad_custom_def twice(void)
{
    return (ad_custom_def){.name = "twice",
                           .n_in = 1,
                           .n_out = 1,
                           .in = &vec4_in,
                           .out = &vec4_out,
                           .forward = twice_forward,
                           .backward = twice_backward};
}

static ad_tensor vec4(ad_tape *t, ad_dtype dt)
{
    return ad_tensor_variable(t, dt, 1, (size_t[]){4}, NULL);
}

/* ---- the def */

Test(custom_errors, a_def_without_name_forward_outputs_or_shapes_is_refused_naming_the_field)
{
    static const struct {
        const char *field, *needle;
    } cases[] = {{"name", "(unnamed): def->name is NULL or empty"},
                 {"forward", "twice: def->forward is NULL"},
                 {"n_out", "twice: def->n_out is 0"},
                 {"out", "twice: def->out and def->shape are both NULL"}};
    for (size_t k = 0; k < 4; k++) {
        ad_tape *t = ad_tape_new();
        ad_custom_def d = twice();
        if (k == 0) d.name = "";
        if (k == 1) d.forward = NULL;
        if (k == 2) d.n_out = 0;
        if (k == 3) d.out = NULL;
        ad_tensor x = vec4(t, AD_F64);
        cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)), "%s", cases[k].field);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, cases[k].needle);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_custom_op: ");
        ad_tape_free(t);
    }
}

Test(custom_errors, no_def_or_no_inputs_leave_the_reason_in_last_error)
{
    ad_custom_def d = twice();
    ad_tensor none = AD_TENSOR_NONE;
    cr_assert_not(ad_tensor_ok(ad_custom_op(NULL, &none, NULL)));
    cr_assert(strstr(ad_last_error(), "ad_custom_op: def is NULL"), "%s", ad_last_error());
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, NULL, NULL)));
    cr_assert(strstr(ad_last_error(), "ad_custom_op: twice: in is NULL"), "%s", ad_last_error());
    d.n_in = 0;
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &none, NULL)));
    cr_assert(strstr(ad_last_error(), "def->n_in is 0"), "%s", ad_last_error());
    d.n_in = 1;
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &none, NULL)));
    cr_assert(strstr(ad_last_error(), "none of the 1 inputs has a tape"), "%s", ad_last_error());
}

Test(custom_errors, an_output_declared_with_a_bad_dtype_or_rank_is_refused)
{
    ad_tape *t = ad_tape_new();
    ad_custom_def d = twice();
    ad_custom_shape o = {7, 1, {4}};
    d.out = &o;
    ad_tensor x = vec4(t, AD_F64);
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_custom_op: twice: output 0 has dtype 7");
    ad_tape_reset(t);
    o = (ad_custom_shape){AD_F64, 5, {1, 1, 1, 1}};
    x = vec4(t, AD_F64);
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "output 0 has 5 dimensions");
    ad_tape_reset(t);
    o = (ad_custom_shape){AD_F64, 3, {SIZE_MAX / 4, 8, 2}};
    x = vec4(t, AD_F64);
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "is too large");
    ad_tape_free(t);
}

/* ---- inputs */

Test(custom_errors, inputs_that_miss_their_declaration_are_refused_with_both_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_custom_def d = twice();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){4, 3}, NULL);
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_custom_op: twice: input 0 is [4,3] float64, declared [4] float64");
    ad_tape_reset(t);
    x = vec4(t, AD_F32);
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "input 0 is [4] float32, declared [4] float64");
    /* wildcards print as * */
    ad_tape_reset(t);
    ad_custom_shape in = {AD_F64, 2, {AD_CUSTOM_ANY, 3}};
    d.in = &in;
    x = vec4(t, AD_F64);
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "input 0 is [4] float64, declared [*,3] float64");
    ad_tape_free(t);
}

Test(custom_errors, foreign_stale_and_invalid_inputs_are_refused_naming_the_op)
{
    ad_tape *t = ad_tape_new(), *u = ad_tape_new();
    ad_custom_def d = twice();
    ad_tensor x = vec4(u, AD_F64);
    ad_tensor in[2] = {vec4(t, AD_F64), x};
    d.n_in = 2;
    d.in = NULL;
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, in, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN,
                      "ad_custom_op: twice: input 1 belongs to a different tape");
    ad_tape_reset(t);
    ad_tensor old = vec4(t, AD_F64);
    ad_tape_reset(t);
    d.n_in = 1;
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &old, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_custom_op: twice: tensor handle #0 was recorded before");
    ad_tape_reset(t);
    ad_tensor bad = ad_tensor_invalid(t);
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &bad, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_custom_op: twice: invalid tensor handle");
    ad_tape_free(t);
    ad_tape_free(u);
}

Test(custom_errors, a_failed_tape_records_nothing_and_every_output_handle_is_invalid)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = vec4(t, AD_F64);
    ad_tape_set_error(t, AD_ERR_SHAPE, "earlier: boom");
    ad_custom_def d = twice();
    ad_tensor out[1] = {x};
    size_t nn = ad_tape_stats_get(t).tensor_nodes;
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, out)));
    cr_assert_not(ad_tensor_ok(out[0]));
    cr_assert_eq(ad_tape_stats_get(t).tensor_nodes, nn);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "earlier: boom");
    ad_tape_free(t);
}

/* ---- callbacks */

static int mode; /* which way the callbacks below fail */

static bool failing_forward(const ad_custom_args *a)
{
    const double *x = a->in[0].data;
    double *o = a->out[0].data;
    switch (mode) {
    case 0:
        return ad_custom_fail(AD_ERR_NUMERIC, "pivot %d is zero", 3);
    case 1:
        return false; /* no reason given */
    case 2:           /* element 2 left unset */
        o[0] = x[0], o[1] = x[1], o[3] = x[3];
        return true;
    case 3: /* a reason, but true returned: still a failure */
        ad_custom_fail(AD_OK, "odd");
        for (size_t i = 0; i < 4; i++)
            o[i] = x[i];
        return true;
    default:
        for (size_t i = 0; i < 4; i++)
            o[i] = x[i];
        return true;
    }
}

Test(custom_errors, a_failing_forward_fails_the_tape_with_its_reason_and_the_ops_name)
{
    static const struct {
        ad_status code;
        const char *needle;
    } cases[] = {
        {AD_ERR_NUMERIC, "ad_custom_op: twice: forward: pivot 3 is zero"},
        {AD_ERR_INVALID, "ad_custom_op: twice: forward: the callback returned false (call "
                         "ad_custom_fail to say why)"},
        {AD_ERR_INVALID, "ad_custom_op: twice: forward left output 0 (shape [4]) unset at "
                         "element 2"},
        {AD_ERR_INVALID, "ad_custom_op: twice: forward: odd"},
    };
    for (mode = 0; mode < 4; mode++) {
        ad_tape *t = ad_tape_new();
        ad_custom_def d = twice();
        d.forward = failing_forward;
        ad_tensor x = vec4(t, AD_F64);
        cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)), "mode %d", mode);
        ASSERT_TAPE_ERROR(t, cases[mode].code, cases[mode].needle);
        /* and a sweep reports it rather than returning gradients */
        cr_assert_eq(ad_backward(ad_sum(ad_custom_op(&d, &x, NULL))), cases[mode].code);
        ad_tape_free(t);
    }
}

/* a forward that writes every output but one element of a later one, as float32 */
static bool partial_views_forward(const ad_custom_args *a)
{
    for (size_t j = 0; j < a->n_out; j++) {
        float *o = a->out[j].data;
        for (size_t i = 0; i < a->out[j].numel; i++)
            if (j != 2 || i != 4) o[i] = 1.0f;
    }
    return true;
}

Test(custom_errors, an_unset_element_of_a_later_output_is_found_and_named)
{
    ad_tape *t = ad_tape_new();
    const ad_custom_shape outs[3] = {{AD_F32, 1, {2}}, {AD_F32, 2, {2, 2}}, {AD_F32, 1, {5}}};
    ad_custom_def d = {
        .name = "three", .n_in = 1, .n_out = 3, .out = outs, .forward = partial_views_forward};
    ad_tensor x = vec4(t, AD_F32), out[3];
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, out)));
    for (size_t j = 0; j < 3; j++)
        cr_assert_not(ad_tensor_ok(out[j]));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "three: forward left output 2 (shape [5]) unset at element 4");
    ad_tape_free(t);
}

static bool failing_shape(const ad_custom_args *a, ad_custom_shape *out)
{
    (void)out;
    return ad_custom_fail(AD_ERR_SHAPE, "want a matrix, got %zu dimensions", a->in[0].ndim);
}

Test(custom_errors, a_shape_callback_can_refuse_the_inputs)
{
    ad_tape *t = ad_tape_new();
    ad_custom_def d = twice();
    d.out = NULL;
    d.shape = failing_shape;
    ad_tensor x = vec4(t, AD_F64);
    cr_assert_not(ad_tensor_ok(ad_custom_op(&d, &x, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_custom_op: twice: shape: want a matrix, got 1 dimensions");
    ad_tape_free(t);
}

static bool failing_backward(const ad_custom_args *a)
{
    (void)a;
    if (mode == 0) return ad_custom_fail(AD_ERR_NUMERIC, "adjoint solve diverged");
    return false;
}

Test(custom_errors, a_failing_backward_ends_the_sweep_with_an_error_naming_the_op_and_node)
{
    for (mode = 0; mode < 2; mode++) {
        ad_tape *t = ad_tape_new();
        ad_custom_def d = twice();
        d.backward = failing_backward;
        ad_tensor x = vec4(t, AD_F64);
        ad_tensor y = ad_custom_op(&d, &x, NULL);
        cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
        ad_status s = ad_backward(ad_sum(ad_texp(y)));
        if (mode == 0) {
            cr_assert_eq(s, AD_ERR_NUMERIC);
            ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC,
                              "ad_backward: twice (custom op, node 1): backward: adjoint solve "
                              "diverged");
        } else {
            cr_assert_eq(s, AD_ERR_INVALID);
            ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "backward: the callback returned false");
        }
        ad_tape_free(t);
    }
}

Test(custom_errors, a_gradient_reaching_an_op_without_backward_is_an_error_not_zeros)
{
    ad_tape *t = ad_tape_new();
    ad_custom_def d = twice();
    d.backward = NULL;
    ad_tensor x = vec4(t, AD_F64);
    ad_tensor y = ad_custom_op(&d, &x, NULL);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward(ad_sum(y)), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_backward: twice (custom op, node 1) has no backward");
    /* on constants it needs none */
    ad_tape_reset(t);
    ad_tensor c = ad_tensor_ones(t, AD_F64, 1, (size_t[]){4});
    ad_tensor v = vec4(t, AD_F64);
    cr_assert_eq(ad_backward(ad_sum(ad_tmul(ad_custom_op(&d, &c, NULL), v))), AD_OK, "%s",
                 test_tape_msg(t));
    cr_assert_float_eq(((const double *)ad_tensor_grad(v))[3], 2.0, 0);
    ad_tape_free(t);
}

Test(custom_errors, ad_custom_fail_outside_a_callback_only_sets_last_error)
{
    cr_assert_not(ad_custom_fail(AD_ERR_NUMERIC, "stray"));
    cr_assert(strstr(ad_last_error(), "ad_custom_fail: called outside the callback"), "%s",
              ad_last_error());
}

/* A callback that runs a custom op of its own on another tape, which fails:
 * ad_custom_fail reaches the innermost op, and the outer one goes on. */
static bool inner_fail_forward(const ad_custom_args *a)
{
    (void)a;
    return ad_custom_fail(AD_ERR_NUMERIC, "inner trouble");
}

static bool nesting_forward(const ad_custom_args *a)
{
    ad_tape *u = ad_tape_new();
    ad_custom_def inner = twice();
    inner.name = "inner";
    inner.forward = inner_fail_forward;
    ad_tensor x = vec4(u, AD_F64);
    bool inner_failed = !ad_tensor_ok(ad_custom_op(&inner, &x, NULL));
    const char *m;
    ad_tape_error(u, &m);
    bool named = strstr(m, "ad_custom_op: inner: forward: inner trouble") != NULL;
    ad_tape_free(u);
    if (!inner_failed || !named) return ad_custom_fail(AD_ERR_INVALID, "nesting went wrong");
    return twice_forward(a);
}

Test(custom_errors, a_failure_inside_a_nested_op_fails_only_the_inner_tape)
{
    ad_tape *t = ad_tape_new();
    ad_custom_def d = twice();
    d.forward = nesting_forward;
    ad_tensor x = vec4(t, AD_F64);
    ad_tensor y = ad_custom_op(&d, &x, NULL);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    ad_tape_free(t);
}

/* ---- allocation failure at every k while recording and sweeping custom ops */

static bool sum3_forward(const ad_custom_args *a)
{
    for (size_t j = 0; j < a->n_out; j++) {
        double *o = a->out[j].data;
        for (size_t i = 0; i < 4; i++) {
            o[i] = 0.0;
            for (size_t k = 0; k < a->n_in; k++)
                o[i] += (double)(j + 1) * ((const double *)a->in[k].data)[i];
        }
    }
    return true;
}

static bool sum3_backward(const ad_custom_args *a)
{
    for (size_t k = 0; k < a->n_in; k++) {
        double *gk = a->grad_in[k].data;
        for (size_t j = 0; gk && j < a->n_out; j++)
            for (size_t i = 0; i < 4; i++)
                gk[i] += (double)(j + 1) * ((const double *)a->grad_out[j].data)[i];
    }
    return true;
}

static bool sq_fn(const double *x, size_t n, double *y, size_t m, void *ctx)
{
    (void)ctx;
    for (size_t j = 0; j < m; j++)
        y[j] = x[j % n] * x[(j + 1) % n];
    return true;
}

/* custom ops with views and more inputs than a node holds inline, and an
 * external function differentiated by finite differences (whose Jacobian
 * is allocated during the sweep) */
static ad_status oom_program(void)
{
    ad_tape *t = ad_tape_new();
    if (!t) return AD_ERR_NOMEM;
    const ad_custom_shape outs[2] = {{AD_F64, 1, {4}}, {AD_F64, 1, {4}}};
    ad_custom_def d = {.name = "sum3",
                       .n_in = 5,
                       .n_out = 2,
                       .out = outs,
                       .forward = sum3_forward,
                       .backward = sum3_backward};
    ad_tensor in[5], out[2];
    for (size_t k = 0; k < 5; k++)
        in[k] = ad_tensor_variable(t, AD_F64, 1, (size_t[]){4}, NULL);
    ad_status s = AD_OK;
    for (int rep = 0; rep < 40 && s == AD_OK; rep++) { /* enough to outgrow a block */
        ad_custom_op(&d, in, out);
        s = ad_backward(ad_sum(ad_tmul(out[0], out[1])));
    }
    ad_external_def e = {"sq", 3, 4, sq_fn, NULL, NULL};
    ad_scalar x[3] = {ad_variable(t, 1.0), ad_variable(t, 2.0), ad_variable(t, 3.0)}, y[4];
    for (int rep = 0; rep < 30 && s == AD_OK; rep++) {
        ad_external(&e, x, 3, y, 4);
        s = ad_backward_scalar(ad_mul(y[0], y[3]));
    }
    ad_tape_free(t);
    return s;
}

Test(custom_errors, failing_the_kth_allocation_while_recording_ends_in_nomem_without_leaks)
{
    size_t live = ad_debug_live_allocs(), a0 = ad_debug_alloc_count();
    cr_assert_eq(oom_program(), AD_OK);
    size_t needed = ad_debug_alloc_count() - a0;
    cr_assert_gt(needed, 2u);
    size_t k = 0;
    for (;; k++) {
        ad_debug_fail_alloc_after((long)k);
        ad_status s = oom_program();
        ad_debug_fail_alloc_after(-1);
        cr_assert_eq(ad_debug_live_allocs(), live, "k = %zu: leaked", k);
        if (s == AD_OK) break;
        cr_assert_eq(s, AD_ERR_NOMEM, "k = %zu: %s", k, ad_status_name(s));
    }
    cr_assert_eq(k, needed);
}

/* The sweep stops at the rule that failed: no rule before it on the tape
 * runs, so no gradient is computed past the failure. */
static int counted_backward_calls;

static bool counted_backward(const ad_custom_args *a)
{
    counted_backward_calls++;
    return twice_backward(a);
}

Test(custom_errors, the_sweep_stops_at_a_failing_backward_and_runs_no_earlier_rule)
{
    mode = 0;
    ad_tape *t = ad_tape_new();
    ad_custom_def inner = twice(), outer = twice();
    inner.backward = counted_backward;
    outer.name = "outer";
    outer.backward = failing_backward;
    ad_tensor x = vec4(t, AD_F64);
    ad_tensor y = ad_custom_op(&inner, &x, NULL);
    ad_tensor z = ad_custom_op(&outer, &y, NULL);
    counted_backward_calls = 0;
    cr_assert_eq(ad_backward(ad_sum(z)), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "outer (custom op, node 2)");
    cr_assert_eq(counted_backward_calls, 0);
    /* once the error is cleared, a sweep from the inner op works */
    ad_tape_clear_error(t);
    cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(counted_backward_calls, 1);
    ad_tape_free(t);
}

/* float32 output, float64 input: the input gradient is a finite double
 * whose low word, read as a float, is a NaN. Anomaly mode must read it as
 * the double it is. */
static bool narrow_forward(const ad_custom_args *a)
{
    const double *x = a->in[0].data;
    float *o = a->out[0].data;
    for (size_t i = 0; i < 4; i++)
        o[i] = (float)x[i];
    return true;
}

static bool odd_bits_backward(const ad_custom_args *a)
{
    double *gx = a->grad_in[0].data;
    uint64_t bits = UINT64_C(0x3ff000007fc00000); /* 1.0000000004..., low word a float NaN */
    double v;
    memcpy(&v, &bits, sizeof v);
    for (size_t i = 0; gx && i < 4; i++)
        gx[i] += v;
    return true;
}

Test(custom_errors, anomaly_mode_checks_an_input_gradient_in_the_inputs_own_dtype)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    const ad_custom_shape o = {AD_F32, 1, {4}};
    ad_custom_def d = {.name = "narrow",
                       .n_in = 1,
                       .n_out = 1,
                       .out = &o,
                       .forward = narrow_forward,
                       .backward = odd_bits_backward};
    ad_tensor x = vec4(t, AD_F64);
    ad_tensor y = ad_custom_op(&d, &x, NULL);
    cr_assert_eq(ad_backward(ad_sum(y)), AD_OK, "%s", test_tape_msg(t));
    cr_assert(((const double *)ad_tensor_grad(x))[3] > 1.0);
    ad_tape_free(t);
}
