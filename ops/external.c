/* SPDX-License-Identifier: MIT
 * External scalar functions: y = f(x) for a user function on plain doubles,
 * recorded as scalars stacked into a float64 tensor, one custom op that
 * calls f, and its outputs read back as scalars. Without the user's VJP the
 * op's backward takes central differences of f. */
#include "custom.h"

#include "core/last_error.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The custom op's ctx: the user's def, and the Jacobian central differences
 * computed at the first sweep that needed it (m x n, row-major). */
typedef struct ext {
    ad_external_def def;
    ad_tape *t;
    double *xbar; /* n, for the user's VJP */
    double *jac;
} ext;

static bool ext_forward(const ad_custom_args *a)
{
    const ext *e = a->ctx;
    return e->def.f(a->in[0].data, e->def.n, a->out[0].data, e->def.m, e->def.ctx);
}

static bool ext_vjp(const ad_custom_args *a)
{
    const ext *e = a->ctx;
    double *gx = a->grad_in[0].data;
    if (!gx) return true;
    size_t n = e->def.n, m = e->def.m;
    /* the user's xbar arrives zeroed; the sweep's gradient is added after */
    double *xbar = e->xbar;
    memset(xbar, 0, n * sizeof *xbar);
    if (!e->def.vjp(a->in[0].data, n, a->out[0].data, m, a->grad_out[0].data, xbar, e->def.ctx))
        return false;
    for (size_t i = 0; i < n; i++)
        gx[i] += xbar[i];
    return true;
}

/* J[:, i] = (f(x + h e_i) - f(x - h e_i)) / (2 h), h = cbrt(eps) max(1, |x_i|):
 * the step that balances the O(h^2) truncation error against the O(eps/h)
 * rounding error. Each column is one f call pair on a copy of x. */
static bool jacobian(ext *e, const double *x0)
{
    size_t n = e->def.n, m = e->def.m;
    double *J = ad_tape_alloc(e->t, n * m * sizeof *J, "ad_backward");
    double *x = ad_tape_alloc(e->t, n * sizeof *x, "ad_backward");
    double *yp = ad_tape_alloc(e->t, 2 * m * sizeof *yp, "ad_backward");
    if (!J || !x || !yp) return false;
    double *ym = yp + m;
    memcpy(x, x0, n * sizeof *x);
    double step = cbrt(DBL_EPSILON);
    for (size_t i = 0; i < n; i++) {
        double h = step * (fabs(x0[i]) > 1.0 ? fabs(x0[i]) : 1.0);
        volatile double up = x0[i] + h, down = x0[i] - h; /* the steps actually taken */
        x[i] = up;
        if (!e->def.f(x, n, yp, m, e->def.ctx)) return false;
        x[i] = down;
        if (!e->def.f(x, n, ym, m, e->def.ctx)) return false;
        x[i] = x0[i];
        for (size_t j = 0; j < m; j++)
            J[j * n + i] = (yp[j] - ym[j]) / (up - down);
    }
    e->jac = J;
    return true;
}

static bool ext_fd(const ad_custom_args *a)
{
    ext *e = a->ctx;
    double *gx = a->grad_in[0].data;
    if (!gx) return true;
    if (!e->jac && !jacobian(e, a->in[0].data)) return false;
    size_t n = e->def.n, m = e->def.m;
    const double *gy = a->grad_out[0].data;
    for (size_t j = 0; j < m; j++) {
        if (gy[j] == 0.0) continue; /* an unused output passes nothing, not 0 * inf */
        for (size_t i = 0; i < n; i++)
            gx[i] += gy[j] * e->jac[j * n + i];
    }
    return true;
}

/* The reason a call cannot run, or NULL. */
static const char *bad_call(const ad_external_def *def, size_t n, size_t m)
{
    if (!def->name || !def->name[0]) return "def->name is NULL or empty";
    if (!def->f) return "def->f is NULL";
    if (def->n == 0 || def->m == 0) return "def->n and def->m must be at least 1";
    if (n != def->n || m != def->m) return "n and m must equal def->n and def->m";
    return NULL;
}

ad_status ad_external(const ad_external_def *def, const ad_scalar *x, size_t n, ad_scalar *y,
                      size_t m)
{
    const char *fn = __func__;
    ad_tape *t = NULL;
    for (size_t i = 0; x && i < n && !t; i++)
        t = x[i].tape_;
    for (size_t j = 0; y && j < m; j++)
        y[j] = ad_invalid_scalar(t);
    if (!def || !y || !t)
        return ad_no_tape("%s: %s", fn,
                          !def ? "def is NULL"
                          : !y ? "y is NULL"
                          : !x ? "x is NULL, so no tape to record on"
                          : n  ? "none of the inputs has a tape (zero-initialised handles?)"
                               : "n is 0, so no tape to record on");
    if (t->err != AD_OK) return t->err;
    const char *why = bad_call(def, n, m);
    if (why)
        return ad_tape_fail(t, AD_ERR_INVALID, "%s: %s: %s (n %zu, m %zu, def->n %zu, def->m %zu)",
                            fn, def->name && def->name[0] ? def->name : "(unnamed)", why, n, m,
                            def->n, def->m);
    ext *e = ad_tape_alloc(t, sizeof *e, fn);
    double *xbar = def->vjp ? ad_tape_alloc(t, n * sizeof *xbar, fn) : NULL;
    if (!e || (def->vjp && !xbar)) return t->err;
    *e = (ext){*def, t, xbar, NULL};
    ad_tensor xs = ad_stack_scalars(x, n, 1, (size_t[]){n});
    ad_custom_shape out = {AD_F64, 1, {m, 0, 0, 0}};
    ad_custom_def cd = {def->name, 1, 1, NULL, &out, NULL, ext_forward, def->vjp ? ext_vjp : ext_fd,
                        NULL,      e};
    ad_tensor ys = ad_tensor_ok(xs) ? ad_custom_record(fn, "external function", &cd, &xs, NULL)
                                    : ad_invalid_tensor(t);
    for (size_t j = 0; j < m && ad_tensor_ok(ys); j++)
        y[j] = ad_tensor_to_scalar(ys, j);
    if (t->err != AD_OK)
        for (size_t j = 0; j < m; j++)
            y[j] = ad_invalid_scalar(t);
    return t->err;
}
