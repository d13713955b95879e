/* SPDX-License-Identifier: MIT
 * The gradient-ready hook (ad_tape_set_grad_ready): each parameter is
 * announced once per sweep, later layers first, at the moment its gradient
 * is final (also when it enters the tape twice), and not at all without
 * a hook. */
#include "common.h"

#include <string.h>

enum { MAXSEEN = 16 };

typedef struct seen {
    size_t n;
    ad_param *p[MAXSEEN];
    double g0[MAXSEEN]; /* the first gradient element when announced */
} seen;

static void note(ad_param *p, void *user)
{
    seen *s = user;
    if (s->n < MAXSEEN) {
        s->p[s->n] = p;
        s->g0[s->n] = ((const double *)ad_param_grad(p))[0];
    }
    s->n++;
}

static ad_param *param(size_t rows, size_t cols, uint64_t seed)
{
    size_t dims[2] = {rows, cols};
    ad_param *p = ad_param_new(AD_F64, cols ? 2 : 1, dims);
    cr_assert_not_null(p);
    ad_param_uniform(p, -1.0, 1.0, seed);
    return p;
}

/* sum(tanh(x W1^T + b1) W2^T + b2) for x [2,3], W1 [4,3], W2 [2,4] */
static ad_tensor two_layers(ad_tape *t, ad_param **ps)
{
    static const double xv[6] = {0.5, -1.0, 2.0, 0.25, 1.5, -0.75};
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){2, 3}, xv);
    /* one use per statement: C leaves the order of arguments open */
    ad_tensor w1 = ad_param_use(t, ps[0]), b1 = ad_param_use(t, ps[1]);
    ad_tensor h = ad_ttanh(ad_linear(x, w1, b1));
    ad_tensor w2 = ad_param_use(t, ps[2]), b2 = ad_param_use(t, ps[3]);
    return ad_sum(ad_linear(h, w2, b2));
}

Test(grad_ready, announces_each_parameter_once_later_layers_first_with_its_final_gradient)
{
    ad_param *ps[4] = {param(4, 3, 1), param(4, 0, 2), param(2, 4, 3), param(2, 0, 4)};
    ad_tape *t = ad_tape_new();
    seen s = {0};
    ad_tape_set_grad_ready(t, note, &s);
    cr_assert_eq(ad_backward(two_layers(t, ps)), AD_OK);
    cr_assert_eq(s.n, 4, "announced %zu times", s.n);
    /* the head's bias and weight, then the first layer's */
    ad_param *order[4] = {ps[3], ps[2], ps[1], ps[0]};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(s.p[i], order[i], "announcement %zu", i);
        double g = ((const double *)ad_param_grad(s.p[i]))[0];
        cr_assert_eq(s.g0[i], g, "announcement %zu saw %g, the sweep ended with %g", i, s.g0[i], g);
        cr_assert_neq(g, 0.0);
    }
    /* the hook stays through a reset and fires again in the next sweep */
    ad_tape_reset(t);
    s.n = 0;
    cr_assert_eq(ad_backward(two_layers(t, ps)), AD_OK);
    cr_assert_eq(s.n, 4);
    /* removed: no call */
    ad_tape_set_grad_ready(t, NULL, &s);
    ad_tape_reset(t);
    s.n = 0;
    cr_assert_eq(ad_backward(two_layers(t, ps)), AD_OK);
    cr_assert_eq(s.n, 0);
    ad_tape_free(t);
    for (size_t i = 0; i < 4; i++)
        ad_param_free(ps[i]);
}

/* A shared weight enters the tape twice: announced once, after both uses
 * have added into it, so a reducer never ships half a gradient. */
Test(grad_ready, a_parameter_used_twice_is_announced_once_after_its_first_use)
{
    ad_param *w = param(3, 3, 5);
    ad_tape *t = ad_tape_new();
    seen s = {0};
    ad_tape_set_grad_ready(t, note, &s);
    static const double xv[3] = {1.0, -2.0, 0.5};
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){1, 3}, xv);
    ad_tensor h = ad_ttanh(ad_linear(x, ad_param_use(t, w), AD_TENSOR_NONE));
    ad_tensor y = ad_sum(ad_linear(h, ad_param_use(t, w), AD_TENSOR_NONE));
    cr_assert_eq(ad_backward(y), AD_OK);
    cr_assert_eq(s.n, 1, "announced %zu times", s.n);
    cr_assert_eq(s.p[0], w);
    cr_assert_eq(s.g0[0], ((const double *)ad_param_grad(w))[0]);
    ad_tape_free(t);
    ad_param_free(w);
}

Test(grad_ready, an_output_of_no_parameter_announces_none_and_a_null_tape_is_reported)
{
    ad_tape *t = ad_tape_new();
    seen s = {0};
    ad_tape_set_grad_ready(t, note, &s);
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, NULL);
    cr_assert_eq(ad_backward(ad_sum(x)), AD_OK);
    cr_assert_eq(s.n, 0);
    ad_tape_free(t);
    ad_tape_set_grad_ready(NULL, note, &s);
    cr_assert(strstr(ad_last_error(), "ad_tape_set_grad_ready: the tape is NULL"), "%s",
              ad_last_error());
}

/* y = w x, checkpointed; z = v y */
static ad_status ckpt_cell(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx)
{
    ad_param **ps = ctx;
    ad_tensor y = ad_matmul(ad_param_use(t, ps[0]), in->tensors[0]);
    out->tensors[0] = ad_matmul(ad_param_use(t, ps[1]), ad_ttanh(y));
    return AD_OK;
}

/* w enters before the checkpoint and inside it; v only inside. The sweep
 * re-records the checkpoint's function above the marks, so w is announced
 * once, after the re-run has added into it, and v is left for the end. */
Test(grad_ready, a_checkpoint_rerun_never_announces_early_or_twice)
{
    ad_param *ps[2] = {param(3, 3, 7), param(3, 3, 8)};
    ad_tape *t = ad_tape_new();
    seen s = {0};
    ad_tape_set_grad_ready(t, note, &s);
    static const double xv[3] = {0.5, -1.0, 0.25};
    ad_tensor x = ad_tensor_new(t, AD_F64, 2, (size_t[]){3, 1}, xv);
    ad_tensor x1 = ad_ttanh(ad_matmul(ad_param_use(t, ps[0]), x));
    ad_tensor out[1];
    ad_checkpoint_io in = {&x1, 1, NULL, 0}, o = {out, 1, NULL, 0};
    cr_assert_eq(ad_checkpoint(t, "cell", ckpt_cell, &in, &o, ps), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward(ad_sum(out[0])), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(s.n, 1, "announced %zu times", s.n);
    cr_assert_eq(s.p[0], ps[0]);
    double g = ((const double *)ad_param_grad(ps[0]))[0];
    cr_assert_eq(s.g0[0], g, "announced with %g, the sweep ended with %g", s.g0[0], g);
    cr_assert_neq(((const double *)ad_param_grad(ps[1]))[0], 0.0);
    ad_tape_free(t);
    ad_param_free(ps[0]);
    ad_param_free(ps[1]);
}
