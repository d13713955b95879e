/* SPDX-License-Identifier: MIT
 * Allocation failure inside checkpoints: a program with a checkpoint, a
 * nested one and a loop whose re-run segments need more memory than its
 * forward pass (new arena blocks, record segments, a larger node array)
 * runs with the k-th heap allocation failing, for every k, first over the
 * whole program and then only during the sweep (the re-recording). Each
 * run ends in AD_OK or AD_ERR_NOMEM with a message that names a function
 * and says memory, with no leak and no crash. */
#include "common.h"

#include <stdio.h>

enum { N = 16 }; /* the loop's tensor state is [N,N] float64: 2 KB a value */

static ad_status heavy_step(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                            ad_checkpoint_io *next, void *ctx)
{
    (void)step;
    ad_param *w = ctx;
    ad_tensor s = state->tensors[0];
    for (int i = 0; i < 3; i++)
        s = ad_ttanh(ad_matmul(s, ad_param_use(t, w)));
    next->tensors[0] = ad_tadd(s, ad_tscale(state->tensors[0], 0.5));
    ad_scalar x = state->scalars[0], y = ad_tensor_item(ad_mean(s));
    for (int i = 0; i < 100; i++) /* 200 records a step */
        x = ad_add(ad_mul(x, y), ad_sin(x));
    next->scalars[0] = ad_scale(x, 0.01);
    return AD_OK;
}

static ad_status cell(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    ad_status s = ad_checkpoint_loop(
        t, "inner", heavy_step, 3, 0, &(ad_checkpoint_io){in->tensors, 1, in->scalars, 1},
        &(ad_checkpoint_io){out->tensors, 1, out->scalars + 1, 1}, ctx);
    out->scalars[0] = ad_exp(out->scalars[1]);
    return s;
}

typedef struct outcome {
    ad_status forward, backward;
    char msg[600];
} outcome;

/* The program up to the sweep (forward) and the sweep (backward), with
 * failures injected from `fail_from` on: 0 the forward, 1 the sweep. */
static outcome program(ad_param *w, long k, int fail_from)
{
    outcome o = {AD_OK, AD_OK, ""};
    if (fail_from == 0) ad_debug_fail_alloc_after(k);
    ad_tape *t = ad_tape_new();
    if (!t) {
        ad_debug_fail_alloc_after(-1);
        o.forward = AD_ERR_NOMEM;
        snprintf(o.msg, sizeof o.msg, "%s", ad_last_error());
        return o;
    }
    ad_tensor x = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){N, N}, -1, 1, 3);
    x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){N, N}, ad_tensor_data(x));
    ad_scalar a = ad_variable(t, 0.3);
    ad_tensor ft, ct;
    ad_scalar fs, cs[2];
    ad_checkpoint_io in = {&x, 1, &a, 1}, out = {&ft, 1, &fs, 1};
    ad_checkpoint_loop(t, "outer", heavy_step, 64, 8, &in, &out, w);
    ad_checkpoint_io cin = {&ft, 1, &fs, 1}, cout = {&ct, 1, cs, 2};
    ad_checkpoint(t, "cell", cell, &cin, &cout, w);
    ad_scalar l = ad_add(cs[0], ad_tensor_item(ad_sum(ct)));
    o.forward = ad_tape_error(t, NULL);
    if (o.forward == AD_OK) {
        if (fail_from == 1) ad_debug_fail_alloc_after(k);
        o.backward = ad_backward_scalar(l);
    }
    ad_debug_fail_alloc_after(-1);
    const char *m;
    ad_tape_error(t, &m);
    snprintf(o.msg, sizeof o.msg, "%s", m);
    if (o.backward == AD_OK && o.forward == AD_OK && ad_grad(a) == 0.0)
        snprintf(o.msg, sizeof o.msg, "no gradient");
    ad_tape_free(t);
    return o;
}

static bool nomem_message(const char *m)
{
    return strncmp(m, "ad_", 3) == 0 && strstr(m, "memory");
}

static void sweep_k(int fail_from)
{
    ad_param *w = test_param(2, (size_t[]){N, N}, -0.3, 0.3, 4);
    size_t live = ad_debug_live_allocs();
    outcome clean = program(w, -1, fail_from);
    cr_assert_eq(clean.forward, AD_OK, "%s", clean.msg);
    cr_assert_eq(clean.backward, AD_OK, "%s", clean.msg);
    cr_assert_str_neq(clean.msg, "no gradient");
    size_t failures = 0;
    for (long k = 0;; k++) {
        outcome o = program(w, k, fail_from);
        cr_assert_eq(ad_debug_live_allocs(), live, "k = %ld: %zu blocks leaked", k,
                     ad_debug_live_allocs() - live);
        ad_status s = o.forward != AD_OK ? o.forward : o.backward;
        if (s == AD_OK) {
            cr_assert_str_neq(o.msg, "no gradient", "k = %ld", k);
            break;
        }
        failures++;
        cr_assert_eq(s, AD_ERR_NOMEM, "k = %ld: %s (%s)", k, ad_status_name(s), o.msg);
        cr_assert(nomem_message(o.msg), "k = %ld: \"%s\"", k, o.msg);
        if (fail_from == 1) cr_assert_eq(o.forward, AD_OK);
    }
    /* the sweep itself must need memory, or this tested nothing */
    cr_assert_gt(failures, 5, "only %zu budgets failed", failures);
    ad_param_free(w);
}

Test(checkpoint_oom, failing_every_kth_allocation_of_the_whole_program_ends_in_nomem)
{
    sweep_k(0);
}

Test(checkpoint_oom, failing_every_kth_allocation_of_the_re_recording_ends_in_nomem)
{
    sweep_k(1);
}
