/* SPDX-License-Identifier: MIT
 * Drivers for user C functions: the gradient of f: R^n -> R in one recording
 * and one sweep, and the Jacobian of f: R^n -> R^m in one recording and m
 * sweeps (reverse mode pays per output, so it suits m << n). */
#include "tape.h"

#include "alloc.h"
#include "last_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The function must leave the driver's tape as it found it: after an
 * ad_tape_reset inside f the variables are gone and every handle is stale,
 * so a sweep would report zeros (or fail naming ad_backward_scalar). */
static ad_status tape_kept(ad_tape *t, uint32_t gen, const char *fn)
{
    if (t->hot.gen == gen) return AD_OK;
    return ad_tape_fail(t, AD_ERR_STALE,
                        "%s: the function reset the driver's tape (ad_tape_reset), which "
                        "forgets the variables it was given",
                        fn);
}

/* An output that is not a scalar of t (the invalid handle of a failed op
 * excepted: t holds that error already) fails t, so the driver reports it
 * instead of sweeping another tape or nothing. */
static ad_status output_check(ad_tape *t, ad_scalar y, const char *fn, const char *what)
{
    ad_status st = ad_tape_error(t, NULL);
    if (st != AD_OK) return st;
    if (!y.tape_)
        return ad_tape_fail(t, AD_ERR_INVALID,
                            "%s: %s is not a scalar handle (no tape: zero-initialised?)", fn, what);
    if (y.tape_ != t)
        return ad_tape_fail(t, AD_ERR_FOREIGN,
                            "%s: %s was recorded on another tape than the one the driver "
                            "passed to the function",
                            fn, what);
    if (!ad_scalar_ok(y))
        return ad_tape_fail(t, AD_ERR_INVALID,
                            "%s: %s is the invalid handle of a failed op (its error was cleared)",
                            fn, what);
    return AD_OK;
}

double ad_gradient_status(ad_scalar_fn f, size_t n, const double *x, double *grad, void *ctx,
                          ad_status *status)
{
    ad_status st = AD_OK;
    double value = (double)NAN;
    ad_tape *t = NULL;
    ad_scalar *xs = NULL;
    if (!f || (n && (!x || !grad))) {
        st = AD_ERR_INVALID;
        ad_last_error_set("ad_gradient: %s is NULL", !f ? "the function" : !x ? "x" : "grad");
        goto done;
    }
    t = ad_tape_new();
    xs = ad_alloc(ad_mul_size(n ? n : 1, sizeof *xs));
    if (!t || !xs) {
        st = ad_last_error_from(NULL, AD_ERR_NOMEM, "ad_gradient");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        xs[i] = ad_variable(t, x[i]);
    uint32_t gen = t->hot.gen;
    ad_scalar y = f(t, xs, n, ctx);
    st = tape_kept(t, gen, "ad_gradient");
    if (st == AD_OK) st = output_check(t, y, "ad_gradient", "the function's result");
    ad_grads_aside params = {0};
    if (st == AD_OK) st = ad_grads_put_aside(t, NULL, 0, &params);
    if (st == AD_OK) st = ad_backward_scalar(y);
    ad_grads_restore(&params);
    st = ad_last_error_from(t, st, "ad_gradient");
    if (st == AD_OK) {
        value = ad_value(y);
        for (size_t i = 0; i < n; i++)
            grad[i] = ad_grad(xs[i]);
    }
done:
    ad_free(xs);
    ad_tape_free(t);
    if (status) *status = st;
    return value;
}

double ad_gradient(ad_scalar_fn f, size_t n, const double *x, double *grad, void *ctx)
{
    return ad_gradient_status(f, n, x, grad, ctx, NULL);
}

ad_status ad_jacobian(ad_vector_fn f, size_t m, size_t n, const double *x, double *J, double *y,
                      void *ctx)
{
    if (!f || (n && !x) || (m && n && !J)) {
        ad_last_error_set("ad_jacobian: %s is NULL", !f ? "the function" : !x ? "x" : "J");
        return AD_ERR_INVALID;
    }
    ad_status st = AD_OK;
    ad_tape *t = ad_tape_new();
    ad_scalar *xs = ad_alloc(ad_mul_size(n ? n : 1, sizeof *xs));
    ad_scalar *ys = ad_alloc(ad_mul_size(m ? m : 1, sizeof *ys));
    if (!t || !xs || !ys) {
        st = ad_last_error_from(NULL, AD_ERR_NOMEM, "ad_jacobian");
        goto done;
    }
    for (size_t j = 0; j < n; j++)
        xs[j] = ad_variable(t, x[j]);
    /* zeroed handles: an output f leaves unset is an error naming it, not
     * a row of zeros */
    memset(ys, 0, ad_mul_size(m ? m : 1, sizeof *ys));
    uint32_t gen = t->hot.gen;
    f(t, xs, n, ys, m, ctx);
    st = tape_kept(t, gen, "ad_jacobian");
    if (st == AD_OK) st = ad_tape_error(t, NULL);
    for (size_t i = 0; i < m && st == AD_OK; i++) {
        if (!ys[i].tape_) {
            st = ad_tape_fail(t, AD_ERR_INVALID,
                              "ad_jacobian: output %zu was never set by the function (or set to a "
                              "zero-initialised handle)",
                              i);
            break;
        }
        char what[48];
        snprintf(what, sizeof what, "output %zu", i);
        st = output_check(t, ys[i], "ad_jacobian", what);
    }
    ad_grads_aside params = {0};
    if (st == AD_OK) st = ad_grads_put_aside(t, NULL, 0, &params);
    for (size_t i = 0; i < m && st == AD_OK; i++) {
        if (y) y[i] = ad_value(ys[i]);
        st = ad_backward_scalar(ys[i]);
        for (size_t j = 0; j < n && st == AD_OK; j++)
            J[i * n + j] = ad_grad(xs[j]);
    }
    ad_grads_restore(&params);
    ad_last_error_from(t, st, "ad_jacobian");
done:
    ad_free(xs);
    ad_free(ys);
    ad_tape_free(t);
    return st;
}
