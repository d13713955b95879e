/* SPDX-License-Identifier: MIT
 * Gradient checking against central differences, in double precision.
 * Element i passes when both values are finite and |a - n| <= atol + rtol *
 * max(|a|, |n|); the report names the element with the largest error
 * relative to its tolerance. A NaN or infinite value never passes: it means
 * the check could not compare anything (f undefined near x, or an infinite
 * slope that no difference quotient can confirm). */
#include "tape.h"

#include "alloc.h"
#include "last_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static ad_gradcheck_opts resolve(const ad_gradcheck_opts *o)
{
    ad_gradcheck_opts r = AD_GRADCHECK_OPTS_DEFAULT;
    if (o) {
        if (o->step > 0) r.step = o->step;
        if (o->atol > 0) r.atol = o->atol;
        if (o->rtol > 0) r.rtol = o->rtol;
    }
    return r;
}

/* The step for element x: relative to its magnitude, and rounded so that
 * (x + h) - x == h exactly, which removes one source of error. */
static double step_for(double x, double rel)
{
    double h = rel * fmax(1.0, fabs(x));
    volatile double xp = x + h;
    return xp - x;
}

/* Folds one comparison into the report; the worst is the largest error
 * measured in units of its own tolerance. */
static void compare(ad_gradcheck_report *r, double *worst, const ad_gradcheck_opts *o, size_t input,
                    size_t index, double a, double num)
{
    double err = fabs(a - num);
    double scale = fmax(fabs(a), fabs(num));
    double tol = o->atol + o->rtol * scale;
    double ratio = isfinite(a) && isfinite(num) ? err / tol : (double)INFINITY;
    r->checked++;
    if (!(ratio <= 1.0)) {
        r->passed = false;
        if (r->failed < AD_GRADCHECK_FIRST) {
            r->first_input[r->failed] = input;
            r->first_index[r->failed] = index;
        }
        r->failed++;
    }
    if (ratio > *worst || r->checked == 1) {
        *worst = ratio;
        r->input = input;
        r->index = index;
        r->analytic = a;
        r->numeric = num;
        r->abs_err = err;
        r->rel_err = scale > 0 ? err / scale : 0.0;
    }
}

/* The outcome of a check for ad_last_error: the tape's message when an
 * evaluation failed, the worst element when the check failed. */
static ad_status outcome(const ad_tape *t, ad_status st, const ad_gradcheck_report *r,
                         const char *fn)
{
    if (st != AD_ERR_GRADCHECK) return ad_last_error_from(t, st, fn);
    /* the first failing elements as "input:index", as far as they fit */
    char first[8 * 48] = "";
    size_t off = 0, shown = r->failed < AD_GRADCHECK_FIRST ? r->failed : AD_GRADCHECK_FIRST;
    for (size_t k = 0; k < shown && off < sizeof first; k++)
        off += (size_t)snprintf(first + off, sizeof first - off, "%s%zu:%zu", k ? ", " : "",
                                r->first_input[k], r->first_index[k]);
    ad_last_error_set("%s: %zu of %zu elements failed (input:index %s%s); worst: element %zu of "
                      "input %zu: analytic %.17g vs numeric %.17g (abs err %.3g, rel err %.3g)",
                      fn, r->failed, r->checked, first, r->failed > shown ? ", ..." : "", r->index,
                      r->input, r->analytic, r->numeric, r->abs_err, r->rel_err);
    return st;
}

/* f evaluated at x in evaluation mode: no records, just the value. Does
 * nothing after a failed evaluation (*st not AD_OK): its reset would erase
 * the tape's message. */
static double eval_scalar(ad_tape *t, ad_scalar_fn f, size_t n, const double *x, ad_scalar *xs,
                          void *ctx, ad_status *st)
{
    if (*st != AD_OK) return (double)NAN;
    ad_tape_reset(t);
    ad_tape_set_recording(t, false);
    for (size_t i = 0; i < n; i++)
        xs[i] = ad_variable(t, x[i]);
    ad_scalar y = f(t, xs, n, ctx);
    *st = ad_tape_error(t, NULL);
    ad_tape_set_recording(t, true);
    return ad_value(y);
}

ad_status ad_gradcheck(ad_scalar_fn f, size_t n, const double *x, void *ctx,
                       const ad_gradcheck_opts *opts, ad_gradcheck_report *report)
{
    ad_gradcheck_report r = {0};
    r.passed = true; /* until an element fails; false in the report unless all ran and passed */
    if (report) *report = (ad_gradcheck_report){0};
    if (!f || (n && !x)) {
        ad_last_error_set("ad_gradcheck: %s is NULL", !f ? "the function" : "x");
        return AD_ERR_INVALID;
    }
    ad_gradcheck_opts o = resolve(opts);
    ad_status st = AD_OK;
    double *g = ad_alloc(ad_mul_size(n ? n : 1, sizeof *g));
    double *xp = ad_alloc(ad_mul_size(n ? n : 1, sizeof *xp));
    ad_scalar *xs = ad_alloc(ad_mul_size(n ? n : 1, sizeof *xs));
    ad_tape *t = ad_tape_new();
    if (!g || !xp || !xs || !t) {
        st = AD_ERR_NOMEM;
        goto done;
    }
    ad_gradient_status(f, n, x, g, ctx, &st); /* sets ad_last_error on failure */
    if (st != AD_OK) goto out;
    if (n) memcpy(xp, x, n * sizeof *xp);
    double worst = 0.0;
    for (size_t i = 0; i < n && st == AD_OK; i++) {
        double h = step_for(x[i], o.step);
        xp[i] = x[i] + h;
        double fp = eval_scalar(t, f, n, xp, xs, ctx, &st);
        xp[i] = x[i] - h;
        double fm = eval_scalar(t, f, n, xp, xs, ctx, &st);
        xp[i] = x[i];
        if (st != AD_OK) break;
        compare(&r, &worst, &o, 0, i, g[i], (fp - fm) / (2.0 * h));
    }
    if (st == AD_OK && !r.passed) st = AD_ERR_GRADCHECK;
done:
    outcome(t, st, &r, "ad_gradcheck");
out:
    r.passed = st == AD_OK; /* a check that stopped early passed nothing */
    if (report) *report = r;
    ad_free(g);
    ad_free(xp);
    ad_free(xs);
    ad_tape_free(t);
    return st;
}

/* The graph's output must be one element of t; checked before the first
 * sweep so the message names the check, not ad_backward. */
static ad_status graph_output_check(ad_tape *t, ad_tensor y)
{
    ad_status st = ad_tape_error(t, NULL);
    if (st != AD_OK) return st;
    if (!y.tape_)
        return ad_tape_fail(t, AD_ERR_INVALID,
                            "ad_gradcheck_graph: the function's result is not a tensor handle (no "
                            "tape: zero-initialised?)");
    if (y.tape_ != t)
        return ad_tape_fail(t, AD_ERR_FOREIGN,
                            "ad_gradcheck_graph: the function's result was recorded on another "
                            "tape than the one the check passed to it");
    if (!ad_tensor_ok(y))
        return ad_tape_fail(t, AD_ERR_INVALID,
                            "ad_gradcheck_graph: the function's result is the invalid handle of a "
                            "failed op");
    size_t dims[AD_MAX_DIMS], ndim = ad_tensor_shape(y, dims);
    if (ad_tensor_numel(y) != 1) {
        char sh[AD_SHAPE_STR];
        return ad_tape_fail(t, AD_ERR_SHAPE,
                            "ad_gradcheck_graph: the function's result has shape %s; it must have "
                            "one element",
                            ad_shape_str(ndim, dims, sh));
    }
    return AD_OK;
}

/* The graph's output value with recording off; like eval_scalar, nothing
 * after a failed evaluation. */
static double eval_graph(ad_tape *t, ad_graph_fn f, ad_param *const *ps, size_t np, void *ctx,
                         ad_status *st)
{
    if (*st != AD_OK) return (double)NAN;
    ad_tape_reset(t);
    ad_tape_set_recording(t, false);
    ad_tensor y = f(t, ps, np, ctx);
    *st = graph_output_check(t, y);
    double v = *st == AD_OK ? ad_tensor_get(y, 0) : (double)NAN;
    ad_tape_set_recording(t, true);
    return v;
}

ad_status ad_gradcheck_graph(ad_graph_fn f, ad_param *const *params, size_t n_params, void *ctx,
                             const ad_gradcheck_opts *opts, ad_gradcheck_report *report)
{
    ad_gradcheck_report r = {0};
    r.passed = true; /* until an element fails; false in the report unless all ran and passed */
    if (report) *report = (ad_gradcheck_report){0};
    if (!f || (n_params && !params)) {
        ad_last_error_set("ad_gradcheck_graph: %s is NULL", !f ? "the function" : "params");
        return AD_ERR_INVALID;
    }
    size_t total = 0;
    for (size_t k = 0; k < n_params; k++) {
        if (!params[k]) {
            ad_last_error_set("ad_gradcheck_graph: params[%zu] is NULL", k);
            return AD_ERR_INVALID;
        }
        if (params[k]->dtype != AD_F64) {
            ad_last_error_set("ad_gradcheck_graph: params[%zu] is %s; gradient checks need "
                              "float64",
                              k, ad_dtype_name((ad_dtype)params[k]->dtype));
            return AD_ERR_DTYPE;
        }
        total += params[k]->numel;
    }
    ad_gradcheck_opts o = resolve(opts);
    ad_status st = AD_OK;
    double *saved = ad_alloc(ad_mul_size(total ? total : 1, sizeof *saved));
    double *analytic = ad_alloc(ad_mul_size(total ? total : 1, sizeof *analytic));
    bool *repeat = ad_alloc(n_params ? n_params : 1);
    ad_tape *t = ad_tape_new();
    if (!saved || !analytic || !repeat || !t) {
        st = AD_ERR_NOMEM;
        goto done;
    }
    /* A parameter listed twice is checked once: its gradient is put aside
     * and restored once, or the second save would keep the zeros. */
    for (size_t k = 0; k < n_params; k++) {
        repeat[k] = false;
        for (size_t j = 0; j < k && !repeat[k]; j++)
            repeat[k] = params[j] == params[k];
    }
    /* analytic gradients, with the parameters' own gradients put aside */
    for (size_t k = 0, off = 0; k < n_params; off += params[k]->numel, k++) {
        if (repeat[k]) continue;
        memcpy(saved + off, params[k]->grad, params[k]->numel * sizeof(double));
        ad_param_zero_grad(params[k]);
    }
    ad_tensor y = f(t, params, n_params, ctx);
    st = graph_output_check(t, y);
    /* parameters the graph uses but the check was not given keep theirs too */
    ad_grads_aside others = {0};
    if (st == AD_OK) st = ad_grads_put_aside(t, params, n_params, &others);
    if (st == AD_OK) st = ad_backward(y);
    ad_grads_restore(&others);
    for (size_t k = 0, off = 0; k < n_params; off += params[k]->numel, k++) {
        if (repeat[k]) continue;
        memcpy(analytic + off, params[k]->grad, params[k]->numel * sizeof(double));
        memcpy(params[k]->grad, saved + off, params[k]->numel * sizeof(double));
    }
    if (st != AD_OK) goto done;
    double worst = 0.0;
    for (size_t k = 0, off = 0; k < n_params && st == AD_OK; off += params[k]->numel, k++) {
        if (repeat[k]) continue;
        double *v = params[k]->value;
        for (size_t i = 0; i < params[k]->numel && st == AD_OK; i++) {
            double x0 = v[i], h = step_for(x0, o.step);
            v[i] = x0 + h;
            double fp = eval_graph(t, f, params, n_params, ctx, &st);
            v[i] = x0 - h;
            double fm = eval_graph(t, f, params, n_params, ctx, &st);
            v[i] = x0;
            if (st != AD_OK) break;
            compare(&r, &worst, &o, k, i, analytic[off + i], (fp - fm) / (2.0 * h));
        }
    }
    if (st == AD_OK && !r.passed) st = AD_ERR_GRADCHECK;
done:
    outcome(t, st, &r, "ad_gradcheck_graph");
    r.passed = st == AD_OK;
    if (report) *report = r;
    ad_free(saved);
    ad_free(analytic);
    ad_free(repeat);
    ad_tape_free(t);
    return st;
}
