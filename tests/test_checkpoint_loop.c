/* SPDX-License-Identifier: MIT
 * ad_checkpoint_loop: for T = 1, 2, 3, odd and large, with the default and
 * chosen segment lengths, the gradient equals the plain recording's (scalar
 * and tensor states, captured variables, parameters), central differences
 * agree, memory stays near sqrt(T) states, and bad input or a step that
 * changes between runs ends in an error naming the loop and the step. */
#include "common.h"

#include <math.h>

/* ---- a scalar state (x, v) and a tensor state s [2,3], one step:
 * x' = x + h v, v' = v - h (k sin x + c v), s' = tanh(s . w) + x' */

typedef struct osc {
    ad_scalar k, c; /* captured variables */
    ad_param *w;    /* [3,3] */
    double h;
    int calls;
} osc;

static ad_status osc_step(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                          ad_checkpoint_io *next, void *ctx)
{
    osc *o = ctx;
    o->calls++;
    ad_scalar x = state->scalars[0], v = state->scalars[1];
    double h = o->h * (1.0 + 0.01 * (double)(step % 3)); /* step-dependent */
    ad_scalar x2 = ad_add(x, ad_scale(v, h));
    ad_scalar f = ad_add(ad_mul(o->k, ad_sin(x)), ad_mul(o->c, v));
    next->scalars[0] = x2;
    next->scalars[1] = ad_sub(v, ad_scale(f, h));
    if (state->n_tensors) {
        ad_tensor xs = ad_stack_scalars(&x2, 1, 1, (size_t[]){1});
        ad_tensor s = ad_matmul(state->tensors[0], ad_param_use(t, o->w));
        next->tensors[0] = ad_tadd(ad_ttanh(s), xs);
    }
    return AD_OK;
}

typedef struct result {
    double loss, gx, gv, gk, gc, gs[6], gw[9];
    size_t peak;
} result;

static bool anomaly_mode; /* run_osc records in anomaly mode */

/* segment: 0 plain; else passed to ad_checkpoint_loop (SIZE_MAX: 0, the default) */
static result run_osc(size_t T, size_t segment, bool tensors, osc *o)
{
    result r = {0};
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, anomaly_mode);
    ad_param_zero_grad(o->w);
    o->k = ad_variable(t, 1.3);
    o->c = ad_variable(t, 0.2);
    ad_scalar x = ad_variable(t, 0.4), v = ad_variable(t, -0.1);
    double s0[6] = {0.1, -0.2, 0.3, 0.05, 0.0, -0.4};
    ad_tensor s = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 3}, s0);
    ad_tensor ts[2] = {s, s};
    ad_scalar ss[2] = {x, v}, fs[2];
    ad_tensor ft[1];
    ad_checkpoint_io cur = {ts, tensors ? 1 : 0, ss, 2}, fin = {ft, tensors ? 1 : 0, fs, 2};
    if (!segment) {
        ad_checkpoint_io next = {ts + 1, cur.n_tensors, fs, 2};
        for (size_t i = 0; i < T; i++) {
            cr_assert_eq(osc_step(t, i, &cur, &next, o), AD_OK);
            ts[0] = ts[1];
            ss[0] = fs[0];
            ss[1] = fs[1];
        }
        ft[0] = ts[0];
    } else {
        size_t seg = segment == SIZE_MAX ? 0 : segment;
        cr_assert_eq(ad_checkpoint_loop(t, "osc", osc_step, T, seg, &cur, &fin, o), AD_OK, "%s",
                     test_tape_msg(t));
    }
    ad_scalar l = ad_add(ad_square(fs[0]), ad_mul(fs[1], ad_constant(t, 0.7)));
    if (tensors) l = ad_add(l, ad_tensor_item(ad_sum(ad_tsin(ft[0]))));
    cr_assert_eq(ad_backward_scalar(l), AD_OK, "%s", test_tape_msg(t));
    r.loss = ad_value(l);
    r.gx = ad_grad(x);
    r.gv = ad_grad(v);
    r.gk = ad_grad(o->k);
    r.gc = ad_grad(o->c);
    if (tensors) {
        memcpy(r.gs, ad_tensor_grad(s), sizeof r.gs);
        memcpy(r.gw, ad_param_grad(o->w), sizeof r.gw);
    }
    r.peak = ad_tape_peak_bytes(t);
    ad_tape_free(t);
    return r;
}

static void close_to(double got, double want, const char *what, size_t i)
{
    double tol = 1e-12 * fmax(1.0, fabs(want));
    cr_assert(fabs(got - want) <= tol, "%s[%zu]: %.17g vs %.17g", what, i, got, want);
}

static void same(const result *a, const result *b)
{
    close_to(a->loss, b->loss, "loss", 0);
    close_to(a->gx, b->gx, "gx", 0);
    close_to(a->gv, b->gv, "gv", 0);
    close_to(a->gk, b->gk, "gk", 0);
    close_to(a->gc, b->gc, "gc", 0);
    for (size_t i = 0; i < 6; i++)
        close_to(a->gs[i], b->gs[i], "gs", i);
    for (size_t i = 0; i < 9; i++)
        close_to(a->gw[i], b->gw[i], "gw", i);
}

static void check_T(size_t T, size_t segment, bool tensors)
{
    osc o = {.w = test_param(2, (size_t[]){3, 3}, -0.5, 0.5, 5), .h = 0.05};
    result plain = run_osc(T, 0, tensors, &o);
    o.calls = 0;
    result ck = run_osc(T, segment, tensors, &o);
    same(&ck, &plain);
    cr_assert_eq((size_t)o.calls, 2 * T, "T = %zu: %d step calls, not 2T", T, o.calls);
    cr_assert_neq(plain.gk, 0.0);
    ad_param_free(o.w);
}

Test(checkpoint_loop, one_step_gives_the_plain_gradient)
{
    check_T(1, SIZE_MAX, true);
}

Test(checkpoint_loop, two_and_three_steps_give_the_plain_gradient)
{
    check_T(2, SIZE_MAX, true);
    check_T(3, SIZE_MAX, true);
    check_T(3, 2, false);
}

Test(checkpoint_loop, odd_step_counts_and_segment_lengths_give_the_plain_gradient)
{
    check_T(17, SIZE_MAX, true);
    check_T(17, 1, true);
    check_T(17, 5, false);
    check_T(17, 17, false);
    check_T(17, 100, true);
}

Test(checkpoint_loop, ten_thousand_scalar_steps_give_the_plain_gradient_in_far_less_memory)
{
    osc o = {.w = test_param(2, (size_t[]){3, 3}, -0.5, 0.5, 5), .h = 0.001};
    result plain = run_osc(10000, 0, false, &o);
    result ck = run_osc(10000, SIZE_MAX, false, &o);
    same(&ck, &plain);
    cr_assert_lt(ck.peak * 20, plain.peak, "peak %zu bytes checkpointed, %zu plain", ck.peak,
                 plain.peak);
    ad_param_free(o.w);
}

Test(checkpoint_loop, a_tensor_state_over_a_thousand_steps_gives_the_plain_gradient)
{
    osc o = {.w = test_param(2, (size_t[]){3, 3}, -0.5, 0.5, 5), .h = 0.01};
    result plain = run_osc(1000, 0, true, &o);
    result ck = run_osc(1000, SIZE_MAX, true, &o);
    same(&ck, &plain);
    cr_assert_lt(ck.peak * 5, plain.peak, "peak %zu bytes checkpointed, %zu plain", ck.peak,
                 plain.peak);
    ad_param_free(o.w);
}

Test(checkpoint_loop, anomaly_mode_gives_the_plain_gradient)
{
    anomaly_mode = true;
    check_T(23, SIZE_MAX, true);
    anomaly_mode = false;
}

/* ---- a loop inside a checkpoint, and a checkpoint inside a step */

static ad_status inner_ckpt_step(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                                 ad_checkpoint_io *next, void *ctx)
{
    (void)step;
    ad_scalar tmp[2];
    ad_checkpoint_io o = {NULL, 0, tmp, 2};
    ad_status s = ad_checkpoint_loop(t, "inner", osc_step, 4, 0, state, &o, ctx);
    next->scalars[0] = tmp[0];
    next->scalars[1] = tmp[1];
    return s;
}

Test(checkpoint_loop, loops_nest_and_give_the_plain_gradient)
{
    osc o = {.w = test_param(2, (size_t[]){3, 3}, -0.5, 0.5, 5), .h = 0.05};
    double g[2][4];
    for (int mode = 0; mode < 2; mode++) {
        ad_tape *t = ad_tape_new();
        o.k = ad_variable(t, 1.3);
        o.c = ad_variable(t, 0.2);
        ad_scalar s[2] = {ad_variable(t, 0.4), ad_variable(t, -0.1)}, f[2];
        ad_checkpoint_io in = {NULL, 0, s, 2}, out = {NULL, 0, f, 2};
        if (mode) {
            cr_assert_eq(ad_checkpoint_loop(t, "outer", inner_ckpt_step, 7, 3, &in, &out, &o),
                         AD_OK, "%s", test_tape_msg(t));
        } else {
            ad_scalar a[2] = {s[0], s[1]};
            ad_checkpoint_io c = {NULL, 0, a, 2}, n = {NULL, 0, f, 2};
            for (size_t i = 0; i < 28; i++) {
                osc_step(t, i % 4, &c, &n, &o);
                a[0] = f[0];
                a[1] = f[1];
            }
        }
        cr_assert_eq(ad_backward_scalar(ad_mul(f[0], f[1])), AD_OK, "%s", test_tape_msg(t));
        g[mode][0] = ad_grad(s[0]);
        g[mode][1] = ad_grad(s[1]);
        g[mode][2] = ad_grad(o.k);
        g[mode][3] = ad_grad(o.c);
        ad_tape_free(t);
    }
    for (size_t i = 0; i < 4; i++)
        close_to(g[1][i], g[0][i], "g", i);
    ad_param_free(o.w);
}

/* ---- gradcheck through a loop: a [4] float64 state, a [4,4] parameter */

static ad_status mix_step(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                          ad_checkpoint_io *next, void *ctx)
{
    (void)step;
    ad_param *const *p = ctx;
    ad_tensor w = ad_param_use(t, p[1]);
    ad_tensor s = ad_reshape(state->tensors[0], 2, (size_t[]){1, 4});
    ad_tensor y = ad_reshape(ad_ttanh(ad_matmul(s, w)), 1, (size_t[]){4});
    next->tensors[0] = ad_tadd(state->tensors[0], ad_tscale(y, 0.3));
    return AD_OK;
}

static ad_tensor loop_graph(ad_tape *t, ad_param *const *p, size_t n, void *ctx)
{
    (void)n;
    (void)ctx;
    ad_tensor s = ad_param_use(t, p[0]), f;
    ad_checkpoint_io in = {&s, 1, NULL, 0}, out = {&f, 1, NULL, 0};
    if (ad_checkpoint_loop(t, "mix", mix_step, 7, 0, &in, &out, (void *)p) != AD_OK)
        return ad_tensor_invalid(t);
    return test_weighted_sum(f);
}

GRADCHECK_TEST(checkpoint_loop, gradcheck_through_a_loop_of_seven_steps, AD_OP_CHECKPOINT_LOOP)
{
    ad_param *p[2] = {test_param(1, (size_t[]){4}, -1, 1, 8),
                      test_param(2, (size_t[]){4, 4}, -1, 1, 9)};
    ASSERT_GRADCHECK(loop_graph, p, 2, NULL, NULL);
    ad_param_free(p[0]);
    ad_param_free(p[1]);
}

/* ---- errors */

static int drift;

static ad_status drifting(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                          ad_checkpoint_io *next, void *ctx)
{
    (void)t;
    (void)ctx;
    double d = step == 4 && drift++ == 1 ? 1e-12 : 0.0; /* the re-run of step 4 differs */
    next->scalars[0] = ad_addc(ad_mul(state->scalars[0], state->scalars[0]), d);
    return AD_OK;
}

Test(checkpoint_loop, a_step_that_gives_another_value_when_re_run_fails_the_sweep)
{
    drift = 0;
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.9), y;
    ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint_loop(t, "sq", drifting, 9, 3, &in, &out, NULL), AD_OK);
    cr_assert_eq(ad_backward_scalar(y), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                      "ad_checkpoint_loop 'sq': the re-run in the backward sweep gave the state "
                      "after step 5: scalar 0");
    ad_tape_free(t);
}

static ad_status fails_at_5(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                            ad_checkpoint_io *next, void *ctx)
{
    int *calls = ctx;
    next->scalars[0] = ad_sin(state->scalars[0]);
    if (step == 5 && ++*calls == calls[1]) {
        ad_tape_set_error(t, AD_ERR_INVALID, "integrator: step too large");
        return AD_ERR_INVALID;
    }
    return AD_OK;
}

Test(checkpoint_loop, a_failing_step_fails_the_tape_naming_the_loop_and_the_step)
{
    for (int when = 1; when <= 2; when++) {
        ad_tape *t = ad_tape_new();
        ad_scalar x = ad_variable(t, 0.9), y;
        int calls[2] = {0, when};
        ad_checkpoint_io in = {NULL, 0, &x, 1}, out = {NULL, 0, &y, 1};
        ad_status s = ad_checkpoint_loop(t, "ode", fails_at_5, 8, 0, &in, &out, calls);
        if (when == 1) {
            cr_assert_eq(s, AD_ERR_INVALID);
            ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                              "ad_checkpoint_loop 'ode': step 5 in the forward "
                              "pass: integrator: step too large");
            cr_assert_not(ad_scalar_ok(y));
        } else {
            cr_assert_eq(s, AD_OK);
            cr_assert_eq(ad_backward_scalar(y), AD_ERR_INVALID);
            ASSERT_TAPE_ERROR(t, AD_ERR_INVALID,
                              "ad_checkpoint_loop 'ode': step 5 re-run in the "
                              "backward sweep: integrator: step too large");
        }
        ad_tape_free(t);
    }
}

static ad_status grows(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                       ad_checkpoint_io *next, void *ctx)
{
    (void)ctx;
    if (step == 2)
        next->tensors[0] = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    else
        next->tensors[0] = ad_tscale(state->tensors[0], 0.5);
    return AD_OK;
}

Test(checkpoint_loop, a_step_that_changes_the_state_shape_is_a_shape_error_naming_the_step)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, NULL), y;
    ad_checkpoint_io in = {&x, 1, NULL, 0}, out = {&y, 1, NULL, 0};
    cr_assert_eq(ad_checkpoint_loop(t, NULL, grows, 5, 0, &in, &out, NULL), AD_ERR_SHAPE);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE,
                      "ad_checkpoint_loop at node 1: step 2 in the forward pass: "
                      "next state tensor 0 is float64 [3], expected float64 [2]");
    ad_tape_free(t);
}

Test(checkpoint_loop, zero_steps_null_arguments_and_mismatched_counts_are_errors)
{
    ad_scalar y;
    ad_checkpoint_io out = {NULL, 0, &y, 1};
    cr_assert_eq(ad_checkpoint_loop(NULL, "l", drifting, 3, 0, &out, &out, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_checkpoint_loop: the tape is NULL"));
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5);
    ad_checkpoint_io in = {NULL, 0, &x, 1};
    cr_assert_eq(ad_checkpoint_loop(t, "l", drifting, 0, 0, &in, &out, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_checkpoint_loop 'l': T is 0");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_checkpoint_loop(t, "l", NULL, 3, 0, &in, &out, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_checkpoint_loop 'l': the step function is NULL");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_checkpoint_loop(t, "l", drifting, 3, 0, NULL, &out, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_checkpoint_loop 'l': state is NULL");
    ad_tape_clear_error(t);
    ad_scalar two[2];
    ad_checkpoint_io out2 = {NULL, 0, two, 2};
    cr_assert_eq(ad_checkpoint_loop(t, "l", drifting, 3, 0, &in, &out2, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "state has 0 tensors and 1 scalars, final_state 0 and 2");
    ad_tape_free(t);
}

Test(checkpoint_loop, evaluation_mode_runs_the_steps_once)
{
    osc o = {.w = test_param(2, (size_t[]){3, 3}, -0.5, 0.5, 5), .h = 0.05};
    ad_tape *t = ad_tape_new();
    o.k = ad_variable(t, 1.3);
    o.c = ad_variable(t, 0.2);
    ad_scalar s[2] = {ad_variable(t, 0.4), ad_variable(t, -0.1)}, f[2];
    ad_tape_set_recording(t, false);
    ad_checkpoint_io in = {NULL, 0, s, 2}, out = {NULL, 0, f, 2};
    cr_assert_eq(ad_checkpoint_loop(t, "e", osc_step, 10, 0, &in, &out, &o), AD_OK);
    cr_assert_eq(o.calls, 10);
    cr_assert(isfinite(ad_value(f[0])));
    ad_tape_free(t);
    ad_param_free(o.w);
}

Test(checkpoint_loop, final_state_may_be_the_same_arrays_as_state)
{
    osc o = {.w = test_param(2, (size_t[]){3, 3}, -0.5, 0.5, 5), .h = 0.05};
    result plain = run_osc(9, 0, false, &o);
    ad_tape *t = ad_tape_new();
    ad_param_zero_grad(o.w);
    o.k = ad_variable(t, 1.3);
    o.c = ad_variable(t, 0.2);
    ad_scalar x = ad_variable(t, 0.4), v = ad_variable(t, -0.1), s[2] = {x, v};
    ad_checkpoint_io io = {NULL, 0, s, 2};
    cr_assert_eq(ad_checkpoint_loop(t, "inplace", osc_step, 9, 0, &io, &io, &o), AD_OK);
    ad_scalar l = ad_add(ad_square(s[0]), ad_mul(s[1], ad_constant(t, 0.7)));
    cr_assert_eq(ad_backward_scalar(l), AD_OK, "%s", test_tape_msg(t));
    close_to(ad_grad(x), plain.gx, "gx", 0);
    close_to(ad_grad(o.k), plain.gk, "gk", 0);
    ad_tape_free(t);
    ad_param_free(o.w);
}

/* x <- x k (k passed through unchanged), s <- s (a tensor passed through) */
static ad_status passes_through(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                                ad_checkpoint_io *next, void *ctx)
{
    (void)t;
    (void)step;
    (void)ctx;
    next->scalars[0] = ad_mul(state->scalars[0], state->scalars[1]);
    next->scalars[1] = state->scalars[1];
    next->tensors[0] = state->tensors[0];
    return AD_OK;
}

Test(checkpoint_loop, state_passed_through_unchanged_keeps_its_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 1.5), k = ad_variable(t, 0.9), s[2] = {x, k};
    ad_tensor v = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 2});
    ad_checkpoint_io io = {&v, 1, s, 2};
    ad_tensor v0 = v;
    cr_assert_eq(ad_checkpoint_loop(t, "pass", passes_through, 10, 3, &io, &io, NULL), AD_OK);
    /* loss = x k^10 + k + sum(3 v) */
    ad_scalar l = ad_add(ad_add(s[0], s[1]), ad_tensor_item(ad_sum(ad_tscale(v, 3.0))));
    cr_assert_eq(ad_backward_scalar(l), AD_OK, "%s", test_tape_msg(t));
    close_to(ad_grad(x), pow(0.9, 10), "dx", 0);
    close_to(ad_grad(k), 10 * 1.5 * pow(0.9, 9) + 1.0, "dk", 0);
    const double *gv = ad_tensor_grad(v0);
    close_to(gv[0], 3.0, "dv", 0);
    close_to(gv[1], 3.0, "dv", 1);
    ad_tape_free(t);
}
