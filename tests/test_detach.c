/* SPDX-License-Identifier: MIT
 * Stop-gradient for scalars (ad_detach) and tensors (ad_tdetach): the
 * value passes, the gradient through it is zero, and the gradient
 * elsewhere is unchanged. The gradchecks compare against central
 * differences of the function in which the detached branch is held
 * constant, which is what a detach means. */
#include "common.h"

#include <math.h>
#include <string.h>

/* ---- tensors
 * f(p, q) = sum_i w_i (p_i detach(tanh q)_i + p_i^2 + q_i). Checked with
 * respect to p only: central differences move p while q, and so the
 * detached branch, stay put, and the analytic gradient must agree. The
 * gradient with respect to q must be the direct one alone (w_i): nothing
 * through the detach. */

static ad_tensor detached_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    ad_param *q = ctx;
    ad_tensor p = ad_param_use(t, ps[0]), qq = ad_param_use(t, q);
    ad_tensor d = ad_tdetach(ad_ttanh(qq));
    return test_weighted_sum(ad_tadd(ad_tadd(ad_tmul(p, d), ad_tsquare(p)), qq));
}

GRADCHECK_TEST(detach, tdetach_holds_its_branch_constant_in_gradcheck_over_shapes, AD_OP_DETACH)
{
    static const struct {
        size_t nd, d[3];
    } shapes[] = {{1, {1}}, {1, {7}}, {2, {3, 5}}, {3, {2, 1, 3}}, {1, {0}}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        ad_param *p = test_param(shapes[k].nd, shapes[k].d, -1, 1, 10 + k);
        ad_param *q = test_param(shapes[k].nd, shapes[k].d, -1, 1, 30 + k);
        ASSERT_GRADCHECK(detached_graph, &p, 1, q, NULL);
        ad_param_free(p);
        ad_param_free(q);
    }
}

Test(detach, the_gradient_through_tdetach_is_zero_and_elsewhere_unchanged)
{
    ad_param *p = test_param(1, (size_t[]){5}, -1, 1, 3),
             *q = test_param(1, (size_t[]){5}, -1, 1, 4);
    ad_tape *t = ad_tape_new();
    ad_param *ps[1] = {p};
    cr_assert_eq(ad_backward(detached_graph(t, ps, 1, q)), AD_OK, "%s", test_tape_msg(t));
    const double *pv = ad_param_value(p), *qv = ad_param_value(q);
    const double *gp = ad_param_grad(p), *gq = ad_param_grad(q);
    for (size_t i = 0; i < 5; i++) {
        /* d/dq: only the direct term w_i, none of w_i p_i tanh'(q_i) */
        cr_assert_float_eq(gq[i], test_weight(i), 1e-15, "q[%zu]", i);
        cr_assert_float_eq(gp[i], test_weight(i) * (tanh(qv[i]) + 2.0 * pv[i]), 1e-14);
    }
    ad_tape_free(t);
    ad_param_free(p);
    ad_param_free(q);
}

Test(detach, tdetach_copies_the_value_in_both_dtypes_and_a_sweep_from_it_is_all_zeros)
{
    for (int dt = 0; dt < 2; dt++) {
        ad_tape *t = ad_tape_new();
        ad_tensor x = ad_tensor_uniform(t, (ad_dtype)dt, 2, (size_t[]){2, 3}, -1, 1, 9);
        ad_tensor v = ad_tensor_variable(t, (ad_dtype)dt, 2, (size_t[]){2, 3}, ad_tensor_data(x));
        ad_tensor d = ad_tdetach(ad_texp(v));
        cr_assert(ad_tensor_ok(d), "%s", test_tape_msg(t));
        cr_assert_eq(ad_tensor_dtype(d), (ad_dtype)dt);
        for (size_t i = 0; i < 6; i++)
            cr_assert_eq(ad_tensor_get(d, i), ad_tensor_get(ad_texp(v), i));
        /* the output depends on no variable any more: zeros, no error */
        cr_assert_eq(ad_backward(ad_sum(d)), AD_OK, "%s", test_tape_msg(t));
        for (size_t i = 0; i < 6; i++)
            cr_assert_eq(dt ? ((const double *)ad_tensor_grad(v))[i]
                            : (double)((const float *)ad_tensor_grad(v))[i],
                         0.0);
        ad_tape_free(t);
    }
}

Test(detach, tdetach_works_in_evaluation_mode_and_its_result_is_a_constant)
{
    ad_tape *t = ad_tape_new();
    ad_tensor v = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){1, 2, 3});
    ad_tape_set_recording(t, false);
    ad_tensor e = ad_texp(v);
    ad_tensor d = ad_tdetach(e);
    cr_assert(ad_tensor_ok(d), "%s", test_tape_msg(t));
    cr_assert_float_eq(ad_tensor_get(d, 2), exp(3.0), 1e-12);
    /* a sweep from the unrecorded value is refused; from the detached one
     * it is no error: a detached value depends on nothing */
    cr_assert_eq(ad_backward(ad_sum(e)), AD_ERR_INVALID);
    ad_tape_clear_error(t);
    ad_tape_set_recording(t, true);
    cr_assert_eq(ad_backward(ad_sum(d)), AD_OK, "%s", test_tape_msg(t));
    ad_tape_free(t);
}

Test(detach, tdetach_shows_in_graph_export_and_refuses_bad_handles)
{
    ad_tape *t = ad_tape_new();
    ad_tensor bad = ad_tensor_invalid(t);
    cr_assert_not(ad_tensor_ok(ad_tdetach(bad)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tdetach: ");
    cr_assert_eq(ad_op_table[AD_OP_DETACH]->arity, 1);
    cr_assert_str_eq(ad_op_table[AD_OP_DETACH]->name, "tdetach");
    ad_tape_free(t);
}

/* ---- scalars
 * f(x) = x0 detach(x0 x1) + sin(x1): the gradient is (x0 x1, cos x1), the
 * central differences of x0 c + sin(x1) with c = x0 x1 fixed at the point. */

static ad_scalar scalar_detached(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t;
    (void)n;
    (void)ctx;
    return ad_add(ad_mul(x[0], ad_detach(ad_mul(x[0], x[1]))), ad_sin(x[1]));
}

static ad_scalar scalar_frozen(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)n;
    double c = *(const double *)ctx;
    return ad_add(ad_mul(x[0], ad_constant(t, c)), ad_sin(x[1]));
}

Test(detach, scalar_detach_gradient_matches_central_differences_with_the_branch_held)
{
    double x[2] = {0.7, -1.3}, g[2], c = x[0] * x[1];
    double f = ad_gradient(scalar_detached, 2, x, g, NULL);
    cr_assert_float_eq(f, x[0] * c + sin(x[1]), 1e-15);
    /* the frozen function passes gradcheck, and has the same gradient */
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(scalar_frozen, 2, x, &c, NULL, &r), AD_OK, "%s", ad_last_error());
    double gf[2];
    ad_gradient(scalar_frozen, 2, x, gf, &c);
    cr_assert_float_eq(g[0], gf[0], 1e-15);
    cr_assert_float_eq(g[1], gf[1], 1e-15);
    /* and the full function does not: the detach really cut x0 x1's path */
    cr_assert_eq(ad_gradcheck(scalar_detached, 2, x, NULL, NULL, &r), AD_ERR_GRADCHECK);
}

Test(detach, a_detached_scalar_is_a_constant_in_evaluation_mode_too)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 2.0);
    ad_scalar d = ad_detach(ad_exp(x));
    cr_assert_eq(ad_value(d), exp(2.0));
    cr_assert_eq(ad_backward_scalar(ad_mul(d, x)), AD_OK, "%s", test_tape_msg(t));
    cr_assert_eq(ad_grad(x), exp(2.0));
    ad_tape_set_recording(t, false);
    ad_scalar e = ad_exp(x);
    cr_assert_eq(ad_backward_scalar(e), AD_ERR_INVALID);
    ad_tape_clear_error(t);
    d = ad_detach(e);
    cr_assert(ad_scalar_ok(d));
    cr_assert_eq(ad_value(d), exp(2.0));
    cr_assert_eq(ad_backward_scalar(d), AD_OK, "%s", test_tape_msg(t));
    ad_tape_free(t);
}

Test(detach, scalar_detach_refuses_stale_invalid_and_tapeless_handles)
{
    ad_tape *t = ad_tape_new();
    ad_scalar old = ad_variable(t, 1.0);
    ad_tape_reset(t);
    cr_assert_not(ad_scalar_ok(ad_detach(old)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_detach: input 0 was recorded before the last");
    ad_tape_reset(t);
    cr_assert_not(ad_scalar_ok(ad_detach(ad_invalid_scalar(t))));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_detach: input 0 is an invalid scalar");
    ad_scalar zero;
    memset(&zero, 0, sizeof zero);
    cr_assert_not(ad_scalar_ok(ad_detach(zero)));
    cr_assert(strstr(ad_last_error(), "ad_detach: input 0 is not a scalar handle"), "%s",
              ad_last_error());
    ad_tape_free(t);
}
