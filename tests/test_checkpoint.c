/* SPDX-License-Identifier: MIT
 * ad_checkpoint: gradients through a checkpoint equal those of the same
 * code recorded plainly (tensor and scalar code, parameters, nested
 * checkpoints, anomaly mode), central differences agree, evaluation mode
 * just runs the function, and every bad input or broken promise (a
 * function that records something else when re-run, fails, leaves an
 * output unset) ends in an error naming the checkpoint. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- a cell of tensor and scalar code: h = tanh((x . w) * a), and two
 * scalars, sum(h^2) * b and sin(a) (folded from an input) */

typedef struct cell_ctx {
    ad_param *w;
    int calls;
} cell_ctx;

static ad_status cell(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    cell_ctx *c = ctx;
    c->calls++;
    ad_tensor x = in->tensors[0];
    ad_tensor w = ad_param_use(t, c->w);
    ad_tensor a = ad_stack_scalars(&in->scalars[0], 1, 1, (size_t[]){1});
    ad_tensor h = ad_ttanh(ad_tmul(ad_matmul(x, w), a));
    out->tensors[0] = h;
    out->scalars[0] = ad_mul(ad_tensor_item(ad_sum(ad_tsquare(h))), in->scalars[1]);
    out->scalars[1] = ad_sin(in->scalars[0]);
    return AD_OK;
}

/* The loss on top: uses x outside the cell too. */
static ad_scalar loss_of(ad_tensor x, const ad_checkpoint_io *out)
{
    ad_scalar l = ad_tensor_item(ad_sum(ad_tsin(out->tensors[0])));
    l = ad_add(l, ad_scale(out->scalars[0], 0.3));
    l = ad_add(l, ad_mul(out->scalars[1], out->scalars[1]));
    return ad_add(l, ad_tensor_item(ad_mean(ad_tsquare(x))));
}

typedef struct grads {
    double x[12], w[20], a, b, loss;
} grads;

static void close_to(double got, double want, const char *what, size_t i)
{
    double tol = 1e-12 * fmax(1.0, fabs(want));
    cr_assert(fabs(got - want) <= tol, "%s[%zu]: %.17g vs %.17g", what, i, got, want);
}

static void same_grads(const grads *g, const grads *want)
{
    close_to(g->loss, want->loss, "loss", 0);
    for (size_t i = 0; i < 12; i++)
        close_to(g->x[i], want->x[i], "x", i);
    for (size_t i = 0; i < 20; i++)
        close_to(g->w[i], want->w[i], "w", i);
    close_to(g->a, want->a, "a", 0);
    close_to(g->b, want->b, "b", 0);
}

/* mode 0: plain; 1: checkpointed; 2: checkpointed, anomaly mode on */
static grads run_cell(int mode, cell_ctx *c)
{
    grads g;
    ad_tape *t = ad_tape_new();
    if (mode == 2) ad_tape_set_anomaly(t, true);
    ad_param_zero_grad(c->w);
    double xv[12];
    for (size_t i = 0; i < 12; i++)
        xv[i] = 0.1 * (double)i - 0.5;
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 4}, xv);
    ad_scalar a = ad_variable(t, 0.7), b = ad_variable(t, -1.3);
    ad_tensor ot[1];
    ad_scalar os[2];
    ad_checkpoint_io in = {&x, 1, (ad_scalar[]){a, b}, 2}, out = {ot, 1, os, 2};
    if (mode == 0)
        cr_assert_eq(cell(t, &in, &out, c), AD_OK);
    else
        cr_assert_eq(ad_checkpoint(t, "cell", cell, &in, &out, c), AD_OK, "%s", test_tape_msg(t));
    ad_scalar l = loss_of(x, &out);
    cr_assert_eq(ad_backward_scalar(l), AD_OK, "%s", test_tape_msg(t));
    g.loss = ad_value(l);
    memcpy(g.x, ad_tensor_grad(x), sizeof g.x);
    memcpy(g.w, ad_param_grad(c->w), sizeof g.w);
    g.a = ad_grad(a);
    g.b = ad_grad(b);
    ad_tape_free(t);
    return g;
}

static ad_param *cell_weight(void)
{
    return test_param(2, (size_t[]){4, 5}, -1, 1, 11);
}

Test(checkpoint, gradients_equal_the_plain_recording_for_tensor_scalar_and_parameter_inputs)
{
    cell_ctx c = {cell_weight(), 0};
    grads plain = run_cell(0, &c);
    c.calls = 0;
    grads ck = run_cell(1, &c);
    cr_assert_eq(c.calls, 2, "run once forward and once in the sweep, not %d times", c.calls);
    same_grads(&ck, &plain);
    cr_assert_neq(plain.a, 0.0);
    ad_param_free(c.w);
}

Test(checkpoint, gradients_equal_the_plain_recording_in_anomaly_mode)
{
    cell_ctx c = {cell_weight(), 0};
    grads plain = run_cell(0, &c);
    grads ck = run_cell(2, &c);
    same_grads(&ck, &plain);
    ad_param_free(c.w);
}

Test(checkpoint, a_second_sweep_runs_the_function_again_and_gives_the_same_gradient)
{
    cell_ctx c = {cell_weight(), 0};
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 4}, NULL);
    ad_scalar a = ad_variable(t, 0.2), b = ad_variable(t, 0.4);
    ad_tensor ot[1];
    ad_scalar os[2];
    ad_checkpoint_io in = {&x, 1, (ad_scalar[]){a, b}, 2}, out = {ot, 1, os, 2};
    cr_assert_eq(ad_checkpoint(t, NULL, cell, &in, &out, &c), AD_OK);
    ad_scalar l = loss_of(x, &out);
    cr_assert_eq(ad_backward_scalar(l), AD_OK);
    double ga = ad_grad(a);
    cr_assert_eq(ad_backward_scalar(l), AD_OK);
    cr_assert_eq(ad_grad(a), ga);
    cr_assert_eq(c.calls, 3);
    ad_tape_free(t);
    ad_param_free(c.w);
}

/* ---- scalar code only: a chain of 200 ops whose records the checkpoint
 * keeps off the tape */

static ad_status chain(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    (void)t;
    (void)ctx;
    ad_scalar x = in->scalars[0], y = in->scalars[1];
    for (int i = 0; i < 100; i++) {
        x = ad_add(ad_mul(x, y), ad_sin(y));
        y = ad_sub(y, ad_scale(ad_tanh(x), 0.01));
    }
    out->scalars[0] = x;
    out->scalars[1] = y;
    return AD_OK;
}

Test(checkpoint, scalar_code_gives_the_plain_gradient_and_keeps_its_records_off_the_tape)
{
    double g[2][2];
    size_t records[2];
    for (int mode = 0; mode < 2; mode++) {
        ad_tape *t = ad_tape_new();
        ad_scalar x = ad_variable(t, 0.3), y = ad_variable(t, 0.9), os[2];
        ad_checkpoint_io in = {NULL, 0, (ad_scalar[]){x, y}, 2}, out = {NULL, 0, os, 2};
        if (mode)
            cr_assert_eq(ad_checkpoint(t, "chain", chain, &in, &out, NULL), AD_OK);
        else
            chain(t, &in, &out, NULL);
        records[mode] = ad_tape_stats_get(t).scalar_nodes;
        cr_assert_eq(ad_backward_scalar(ad_mul(os[0], os[1])), AD_OK, "%s", test_tape_msg(t));
        g[mode][0] = ad_grad(x);
        g[mode][1] = ad_grad(y);
        ad_tape_free(t);
    }
    close_to(g[1][0], g[0][0], "dx", 0);
    close_to(g[1][1], g[0][1], "dy", 0);
    cr_assert_lt(records[1], 10, "%zu records kept", records[1]);
    cr_assert_gt(records[0], 300);
}

/* ---- nesting: an outer checkpoint whose function checkpoints two inner ones */

static ad_status outer(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    ad_scalar mid[2], fin[2];
    ad_checkpoint_io o1 = {NULL, 0, mid, 2}, o2 = {NULL, 0, fin, 2};
    ad_status s = ad_checkpoint(t, "inner1", chain, in, &o1, ctx);
    if (s == AD_OK) s = ad_checkpoint(t, "inner2", chain, &o1, &o2, ctx);
    out->scalars[0] = fin[0];
    out->scalars[1] = ad_mul(fin[1], in->scalars[0]);
    return s;
}

static ad_status outer_plain(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out,
                             void *ctx)
{
    ad_scalar mid[2], fin[2];
    ad_checkpoint_io o1 = {NULL, 0, mid, 2}, o2 = {NULL, 0, fin, 2};
    chain(t, in, &o1, ctx);
    chain(t, &o1, &o2, ctx);
    out->scalars[0] = fin[0];
    out->scalars[1] = ad_mul(fin[1], in->scalars[0]);
    return AD_OK;
}

Test(checkpoint, nested_checkpoints_give_the_plain_gradient)
{
    double g[2][2];
    for (int mode = 0; mode < 2; mode++) {
        ad_tape *t = ad_tape_new();
        ad_scalar x = ad_variable(t, 0.3), y = ad_variable(t, 0.9), os[2];
        ad_checkpoint_io in = {NULL, 0, (ad_scalar[]){x, y}, 2}, out = {NULL, 0, os, 2};
        if (mode)
            cr_assert_eq(ad_checkpoint(t, "outer", outer, &in, &out, NULL), AD_OK);
        else
            outer_plain(t, &in, &out, NULL);
        cr_assert_eq(ad_backward_scalar(ad_add(os[0], os[1])), AD_OK, "%s", test_tape_msg(t));
        g[mode][0] = ad_grad(x);
        g[mode][1] = ad_grad(y);
        ad_tape_free(t);
    }
    close_to(g[1][0], g[0][0], "dx", 0);
    close_to(g[1][1], g[0][1], "dy", 0);
}

/* ---- captured handles: a variable recorded before, reached through ctx */

static ad_status uses_captured(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out,
                               void *ctx)
{
    (void)t;
    const ad_scalar *k = ctx;
    out->scalars[0] = ad_mul(ad_exp(in->scalars[0]), *k);
    return AD_OK;
}

Test(checkpoint, a_variable_the_function_reaches_through_ctx_gets_its_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5), k = ad_variable(t, 3.0), y;
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(t, "captured", uses_captured, &in, &out, &k), AD_OK);
    cr_assert_eq(ad_backward_scalar(y), AD_OK, "%s", test_tape_msg(t));
    close_to(ad_grad(x), 3.0 * exp(0.5), "dx", 0);
    close_to(ad_grad(k), exp(0.5), "dk", 0);
    ad_tape_free(t);
}

Test(checkpoint, outputs_that_depend_on_nothing_recorded_are_constants_and_run_once)
{
    cell_ctx c = {cell_weight(), 0};
    ad_tape *t = ad_tape_new();
    ad_tape_set_recording(t, true);
    ad_scalar x = ad_constant(t, 0.5), y;
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(t, NULL, chain, &(ad_checkpoint_io){NULL, 0, (ad_scalar[]){x, x}, 2},
                               &(ad_checkpoint_io){NULL, 0, (ad_scalar[]){y, y}, 2}, NULL),
                 AD_OK);
    (void)in;
    (void)out;
    cr_assert_eq(ad_tape_stats_get(t).tensor_nodes, 0, "no hub for constant outputs");
    ad_tape_free(t);
    ad_param_free(c.w);
}

Test(checkpoint, evaluation_mode_just_runs_the_function)
{
    cell_ctx c = {cell_weight(), 0};
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 4}, NULL);
    ad_scalar a = ad_variable(t, 0.2), b = ad_variable(t, 0.4);
    ad_tape_set_recording(t, false);
    ad_tensor ot[1];
    ad_scalar os[2];
    ad_checkpoint_io in = {&x, 1, (ad_scalar[]){a, b}, 2}, out = {ot, 1, os, 2};
    cr_assert_eq(ad_checkpoint(t, "eval", cell, &in, &out, &c), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(c.calls, 1);
    cr_assert_float_eq(ad_value(os[1]), sin(0.2), 1e-15);
    cr_assert_eq(ad_backward(ad_sum(ot[0])), AD_ERR_INVALID,
                 "no gradient from an unrecorded output");
    ad_tape_free(t);
    ad_param_free(c.w);
}

/* ---- gradcheck through a checkpoint (float64 parameters) */

static ad_status tensor_cell(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out,
                             void *ctx)
{
    ad_param *const *p = ctx;
    ad_tensor h = ad_ttanh(ad_matmul(in->tensors[0], ad_param_use(t, p[1])));
    out->tensors[0] = ad_tmul(h, in->tensors[0]);
    out->tensors[1] = ad_texp(ad_tscale(h, 0.5));
    return AD_OK;
}

static ad_tensor checkpointed_graph(ad_tape *t, ad_param *const *p, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_tensor x = ad_param_use(t, p[0]), o[2];
    ad_checkpoint_io in = {&x, 1, NULL, 0}, out = {o, 2, NULL, 0};
    if (ad_checkpoint(t, "gc", tensor_cell, &in, &out, (void *)p) != AD_OK)
        return ad_tensor_invalid(t);
    return test_weighted_sum(ad_tadd(o[0], ad_tsin(o[1])));
}

GRADCHECK_TEST(checkpoint, gradcheck_through_a_checkpoint_with_two_tensor_outputs, AD_OP_CHECKPOINT)
{
    ad_param *p[2] = {test_param(2, (size_t[]){3, 3}, -1, 1, 1),
                      test_param(2, (size_t[]){3, 3}, -1, 1, 2)};
    ASSERT_GRADCHECK(checkpointed_graph, p, 2, NULL, NULL);
    ad_param_free(p[0]);
    ad_param_free(p[1]);
}

GRADCHECK_TEST(checkpoint, gradcheck_covers_the_checkpoint_outputs, AD_OP_CHECKPOINT_OUTPUT)
{
    ad_param *p[2] = {test_param(2, (size_t[]){2, 2}, -1, 1, 3),
                      test_param(2, (size_t[]){2, 2}, -1, 1, 4)};
    ASSERT_GRADCHECK(checkpointed_graph, p, 2, NULL, NULL);
    ad_param_free(p[0]);
    ad_param_free(p[1]);
}

/* ---- broken promises */

static int global_flag;

static ad_status moody(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    (void)t;
    int *mode = ctx;
    ad_scalar x = in->scalars[0];
    if (*mode == 0) /* another value on the second run */
        out->scalars[0] = ad_mul(ad_sin(x), ad_addc(x, global_flag++ ? 1e-9 : 0.0));
    else if (*mode == 1) /* another op sequence (one record more), same value */
        out->scalars[0] = global_flag++ ? ad_mul(ad_keep(ad_scale(x, 1.0)), x) : ad_mul(x, x);
    else { /* another shape */
        size_t n = global_flag++ ? 3 : 2;
        ad_tensor v = ad_tensor_fill(t, AD_F64, 1, &n, 1.0);
        out->scalars[0] = ad_mul(x, ad_tensor_item(ad_sum(v)));
        out->scalars[0] = ad_mul(out->scalars[0], ad_constant(t, 1.0 / (double)n * 2.0));
    }
    return AD_OK;
}

static void expect_moody(int mode, const char *needle)
{
    global_flag = 0;
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5), y;
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(t, "moody", moody, &in, &out, &mode), AD_OK);
    cr_assert_eq(ad_backward_scalar(ad_mul(y, ad_variable(t, 2.0))), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_checkpoint 'moody': the re-run in the backward sweep");
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, needle);
    ad_tape_free(t);
}

Test(checkpoint, a_function_that_gives_another_value_when_re_run_fails_the_sweep)
{
    expect_moody(0, "output scalar 0 = 0.23971276978152703, the forward pass 0.2397127693021015");
}

Test(checkpoint, a_function_that_records_other_ops_when_re_run_fails_the_sweep)
{
    expect_moody(1, "recorded 2 scalar records and 0 tensor nodes, the forward pass 0 and 0");
}

Test(checkpoint, a_function_that_makes_other_shapes_when_re_run_fails_the_sweep)
{
    expect_moody(2, "other ops or shapes");
}

static ad_status fails_on(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    int *calls = ctx;
    out->scalars[0] = ad_exp(in->scalars[0]);
    if (++*calls == calls[1]) {
        ad_tape_set_error(t, AD_ERR_INVALID, "solver: did not converge");
        return AD_ERR_INVALID;
    }
    if (-*calls == calls[1]) return AD_ERR_NUMERIC; /* fails without a message */
    return AD_OK;
}

Test(checkpoint, a_function_that_fails_in_the_forward_pass_fails_the_tape_naming_both)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5), y;
    int calls[2] = {0, 1};
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(t, "solve", fails_on, &in, &out, calls), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_checkpoint 'solve': in the forward pass: solver: did not converge");
    cr_assert_not(ad_scalar_ok(y));
    ad_tape_free(t);
}

Test(checkpoint, a_function_that_fails_when_re_run_fails_the_sweep_naming_both)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5), y;
    int calls[2] = {0, 2};
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(t, "solve", fails_on, &in, &out, calls), AD_OK);
    cr_assert_eq(ad_backward_scalar(y), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_checkpoint 'solve': re-run in the backward sweep: solver: did not "
                      "converge");
    ad_tape_free(t);
}

Test(checkpoint, a_function_that_returns_a_failure_without_a_message_is_named)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5), y;
    int calls[2] = {0, -1};
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(t, NULL, fails_on, &in, &out, calls), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC,
                      "ad_checkpoint at node 0: in the forward pass: the function returned "
                      "AD_ERR_NUMERIC without failing the tape");
    ad_tape_free(t);
}

static ad_status leaves_unset(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out,
                              void *ctx)
{
    (void)t;
    (void)ctx;
    out->scalars[0] = in->scalars[0];
    return AD_OK;
}

Test(checkpoint, an_output_left_unset_is_an_error_naming_it)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5), y[2];
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, y, 2};
    cr_assert_eq(ad_checkpoint(t, "half", leaves_unset, &in, &out, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_checkpoint 'half': output scalar 1 is invalid");
    ad_tape_free(t);
}

static ad_status resets(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    (void)ctx;
    (void)in;
    ad_tape_reset(t);
    out->scalars[0] = ad_variable(t, 1.0);
    return AD_OK;
}

Test(checkpoint, a_function_that_resets_the_tape_is_an_error)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5), y;
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(t, "r", resets, &in, &out, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_checkpoint 'r': in the forward pass: the function "
                      "reset the tape");
    ad_tape_free(t);
}

Test(checkpoint, null_arguments_and_bad_inputs_are_errors_naming_the_checkpoint)
{
    ad_scalar y;
    ad_checkpoint_io out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(NULL, "n", chain, NULL, &out, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_checkpoint: the tape is NULL"), "%s", ad_last_error());

    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_checkpoint(t, "n", NULL, NULL, &out, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_checkpoint 'n': the function is NULL");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_checkpoint(t, "n", chain, NULL, NULL, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_checkpoint 'n': out is NULL");
    ad_tape_clear_error(t);
    ad_checkpoint_io bad = {NULL, 2, NULL, 0};
    cr_assert_eq(ad_checkpoint(t, "n", chain, &bad, &out, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "input has 2 tensors and 0 scalars but its tensors array "
                      "is NULL");
    ad_tape_clear_error(t);

    ad_tape *other = ad_tape_new();
    ad_scalar xs[2] = {ad_variable(t, 1.0), ad_variable(other, 2.0)};
    ad_checkpoint_io in = {NULL, 0, xs, 2};
    cr_assert_eq(ad_checkpoint(t, "n", chain, &in, &out, NULL), AD_ERR_FOREIGN);
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN,
                      "ad_checkpoint 'n': input scalar 1 belongs to a different "
                      "tape");
    ad_tape_free(other);

    ad_tape_reset(t);
    ad_tensor stale = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, NULL);
    ad_tape_reset(t);
    ad_checkpoint_io in2 = {&stale, 1, NULL, 0};
    cr_assert_eq(ad_checkpoint(t, "n", chain, &in2, &out, NULL), AD_ERR_STALE);
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_checkpoint 'n': input tensor 0 was recorded before");
    cr_assert_not(ad_scalar_ok(y), "outputs are invalid after a failure");
    ad_tape_free(t);
}

/* sin(e^x) 1e10: finite values and partials, but at x = 700 the adjoint
 * of x is 1e10 cos(e^700) e^700, which overflows */
static ad_status overflows(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    (void)t;
    (void)ctx;
    out->scalars[0] = ad_scale(ad_sin(ad_exp(in->scalars[0])), 1e10);
    return AD_OK;
}

Test(checkpoint, anomaly_mode_checks_the_re_run_gradients)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_scalar x = ad_variable(t, 700.0), y;
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint(t, "of", overflows, &in, &out, NULL), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward_scalar(y), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "anomaly in the backward sweep");
    ad_tape_free(t);
}

Test(checkpoint, the_peak_counter_sees_the_forward_run_and_resets_with_the_tape)
{
    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_tape_peak_bytes(NULL), 0);
    ad_scalar x = ad_variable(t, 0.3), y = ad_variable(t, 0.9), os[2];
    ad_checkpoint_io in = {NULL, 0, (ad_scalar[]){x, y}, 2}, out = {NULL, 0, os, 2};
    cr_assert_eq(ad_checkpoint(t, "chain", chain, &in, &out, NULL), AD_OK);
    size_t kept = ad_tape_stats_get(t).bytes_used, peak = ad_tape_peak_bytes(t);
    /* the forward run's ~300 records were there, and are gone */
    cr_assert_gt(peak, kept + 200 * 24, "peak %zu, kept %zu", peak, kept);
    ad_tape_reset(t);
    cr_assert_eq(ad_tape_peak_bytes(t), ad_tape_stats_get(t).bytes_used);
    ad_tape_free(t);
}

Test(checkpoint, out_may_be_the_same_arrays_as_in)
{
    double g[2][2];
    for (int mode = 0; mode < 2; mode++) {
        ad_tape *t = ad_tape_new();
        ad_scalar x = ad_variable(t, 0.3), y = ad_variable(t, 0.9), io_s[2] = {x, y}, os[2];
        ad_checkpoint_io io = {NULL, 0, io_s, 2};
        if (mode) {
            cr_assert_eq(ad_checkpoint(t, "inplace", chain, &io, &io, NULL), AD_OK, "%s",
                         test_tape_msg(t));
            os[0] = io_s[0];
            os[1] = io_s[1];
        } else {
            ad_checkpoint_io out = {NULL, 0, os, 2};
            chain(t, &io, &out, NULL);
        }
        cr_assert_eq(ad_backward_scalar(ad_mul(os[0], os[1])), AD_OK, "%s", test_tape_msg(t));
        g[mode][0] = ad_grad(x);
        g[mode][1] = ad_grad(y);
        ad_tape_free(t);
    }
    close_to(g[1][0], g[0][0], "dx", 0);
    close_to(g[1][1], g[0][1], "dy", 0);
}

Test(checkpoint, graph_export_draws_a_checkpointed_tape)
{
    cell_ctx c = {cell_weight(), 0};
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 4}, NULL);
    ad_scalar a = ad_variable(t, 0.2), b = ad_variable(t, 0.4);
    ad_tensor ot[1];
    ad_scalar os[2];
    ad_checkpoint_io in = {&x, 1, (ad_scalar[]){a, b}, 2}, out = {ot, 1, os, 2};
    cr_assert_eq(ad_checkpoint(t, "cell", cell, &in, &out, &c), AD_OK);
    cr_assert_eq(ad_backward_scalar(loss_of(x, &out)), AD_OK);
    char path[] = "/tmp/adtape-ckpt-dot-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(ad_tape_export_dot(t, path), AD_OK, "%s", ad_last_error());
    FILE *fp = fopen(path, "r");
    char buf[8192] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    remove(path);
    cr_assert(strstr(buf, "checkpoint\\n"), "%s", buf);
    cr_assert(strstr(buf, "checkpoint_output"), "%s", buf);
    ad_tape_free(t);
    ad_param_free(c.w);
}

static ad_status identity(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    (void)t;
    (void)ctx;
    out->tensors[0] = in->tensors[0];
    out->tensors[1] = ad_tscale(in->tensors[0], 2.0);
    return AD_OK;
}

Test(checkpoint, an_input_passed_through_as_an_output_gets_its_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F32, 1, (size_t[]){3}, (float[]){1, 2, 3}), o[2];
    ad_checkpoint_io in = {&x, 1, NULL, 0}, out = {o, 2, NULL, 0};
    cr_assert_eq(ad_checkpoint(t, "id", identity, &in, &out, NULL), AD_OK);
    cr_assert_eq(ad_backward(ad_sum(ad_tmul(ad_tadd(o[0], o[1]), x))), AD_OK, "%s",
                 test_tape_msg(t));
    /* d/dx sum((x + 2x) x) = 6x */
    const float *g = ad_tensor_grad(x);
    for (int i = 0; i < 3; i++)
        cr_assert_float_eq(g[i], 6.0f * (float)(i + 1), 1e-5f, "[%d] %g", i, (double)g[i]);
    ad_tape_free(t);
}

static ad_status f32_cell(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    (void)t;
    (void)ctx;
    ad_tensor h = ad_tsigmoid(ad_matmul(in->tensors[0], in->tensors[1])); /* [3,3] */
    out->tensors[0] = ad_tmul(h, h);
    out->tensors[1] = ad_mean(ad_texp(h));
    return AD_OK;
}

Test(checkpoint, float32_tensor_code_gives_the_plain_gradient)
{
    float gx[2][12];
    for (int mode = 0; mode < 2; mode++) {
        ad_tape *t = ad_tape_new();
        float xv[12];
        for (int i = 0; i < 12; i++)
            xv[i] = 0.1f * (float)i - 0.4f;
        ad_tensor x = ad_tensor_variable(t, AD_F32, 2, (size_t[]){3, 4}, xv), o[2];
        ad_tensor w = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){4, 3}, -1, 1, 5);
        ad_checkpoint_io in = {(ad_tensor[]){x, w}, 2, NULL, 0}, out = {o, 2, NULL, 0};
        if (mode) {
            cr_assert_eq(ad_checkpoint(t, "f32", f32_cell, &in, &out, NULL), AD_OK, "%s",
                         test_tape_msg(t));
        } else {
            f32_cell(t, &in, &out, NULL);
        }
        cr_assert_eq(ad_backward(ad_sum(ad_tadd(ad_sum(o[0]), o[1]))), AD_OK, "%s",
                     test_tape_msg(t));
        memcpy(gx[mode], ad_tensor_grad(x), sizeof gx[mode]);
        ad_tape_free(t);
    }
    for (int i = 0; i < 12; i++)
        cr_assert_float_eq(gx[1][i], gx[0][i], 1e-6f * fmaxf(1.0f, fabsf(gx[0][i])), "[%d]", i);
}
