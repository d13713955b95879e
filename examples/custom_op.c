/* SPDX-License-Identifier: MIT
 * A custom tensor op: the tridiagonal solve x = A^-1 b (the Thomas
 * algorithm), with the adjoint solve A^T lambda = dL/dx as its
 * vector-Jacobian product, used to fit the diagonal of a 1-D diffusion
 * operator by least squares. The gradient is checked against central
 * differences before the fit. Build: make examples; run:
 * build/examples/custom_op */
#include "adtape.h"

#include <math.h>
#include <stdio.h>

enum { N = 12 };

/* ---- the op: inputs lower [n], diag [n], upper [n], b [n] (lower[0] and
 * upper[n-1] unused, as in LAPACK's gtsv), output x [n] */

/* Solves the tridiagonal system (lo, d, up) x = b in place of x, with scratch
 * c [n]; false on a zero pivot (no pivoting: for diagonally dominant A). */
static bool thomas(size_t n, const double *lo, const double *d, const double *up, const double *b,
                   double *x, double *c)
{
    double piv = d[0];
    if (piv == 0.0) return ad_custom_fail(AD_ERR_NUMERIC, "pivot 0 is zero");
    c[0] = n > 1 ? up[0] / piv : 0.0;
    x[0] = b[0] / piv;
    for (size_t i = 1; i < n; i++) {
        piv = d[i] - lo[i] * c[i - 1];
        if (piv == 0.0) return ad_custom_fail(AD_ERR_NUMERIC, "pivot %zu is zero", i);
        c[i] = i + 1 < n ? up[i] / piv : 0.0;
        x[i] = (b[i] - lo[i] * x[i - 1]) / piv;
    }
    for (size_t i = n - 1; i-- > 0;)
        x[i] -= c[i] * x[i + 1];
    return true;
}

static bool tridiag_shape(const ad_custom_args *a, ad_custom_shape *out)
{
    size_t n = a->in[3].numel;
    for (size_t k = 0; k < 3; k++)
        if (a->in[k].numel != n)
            return ad_custom_fail(AD_ERR_SHAPE, "input %zu has %zu elements, b has %zu", k,
                                  a->in[k].numel, n);
    *out = (ad_custom_shape){AD_F64, 1, {n}};
    return true;
}

static bool tridiag_forward(const ad_custom_args *a)
{
    double c[N];
    size_t n = a->in[3].numel;
    if (n > N) return ad_custom_fail(AD_ERR_SHAPE, "at most %d unknowns here", N);
    if (n == 0) return true;
    return thomas(n, a->in[0].data, a->in[1].data, a->in[2].data, a->in[3].data, a->out[0].data, c);
}

/* x = A^-1 b: with lambda = A^-T (dL/dx), dL/db = lambda and dL/dA = -lambda
 * x^T, of which the op keeps the three diagonals. A^T has A's upper diagonal
 * below and its lower diagonal above. */
static bool tridiag_backward(const ad_custom_args *a)
{
    size_t n = a->in[3].numel;
    const double *lo = a->in[0].data, *d = a->in[1].data, *up = a->in[2].data;
    const double *x = a->out[0].data;
    double tlo[N], tup[N], lam[N], c[N];
    for (size_t i = 0; i < n; i++) {
        tlo[i] = i > 0 ? up[i - 1] : 0.0;
        tup[i] = i + 1 < n ? lo[i + 1] : 0.0;
    }
    if (n && !thomas(n, tlo, d, tup, a->grad_out[0].data, lam, c)) return false;
    double *glo = a->grad_in[0].data, *gd = a->grad_in[1].data, *gup = a->grad_in[2].data,
           *gb = a->grad_in[3].data;
    for (size_t i = 0; i < n; i++) {
        if (glo && i > 0) glo[i] -= lam[i] * x[i - 1];
        if (gd) gd[i] -= lam[i] * x[i];
        if (gup && i + 1 < n) gup[i] -= lam[i] * x[i + 1];
        if (gb) gb[i] += lam[i];
    }
    return true;
}

static const ad_custom_shape vec_f64[4] = {{AD_F64, 1, {AD_CUSTOM_ANY}},
                                           {AD_F64, 1, {AD_CUSTOM_ANY}},
                                           {AD_F64, 1, {AD_CUSTOM_ANY}},
                                           {AD_F64, 1, {AD_CUSTOM_ANY}}};
static const ad_custom_def tridiag = {.name = "tridiag_solve",
                                      .n_in = 4,
                                      .n_out = 1,
                                      .in = vec_f64,
                                      .shape = tridiag_shape,
                                      .forward = tridiag_forward,
                                      .backward = tridiag_backward};

/* ---- the problem: -u'' + k(s) u = f on a grid of N points, with
 * k = 2 + softplus(p) per point (p the parameters, so the operator stays
 * diagonally dominant); fit p so that u matches a target profile. */

typedef struct problem {
    double f[N], target[N];
} problem;

static ad_tensor loss_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n;
    const problem *pr = ctx;
    size_t dims[1] = {N};
    ad_tensor p = ad_param_use(t, ps[0]);
    ad_tensor off = ad_tensor_fill(t, AD_F64, 1, dims, -1.0);
    ad_tensor diag = ad_taddc(ad_softplus(p), 4.0); /* 2 (from -u'') + 2 + softplus(p) */
    ad_tensor in[4] = {off, diag, off, ad_tensor_new(t, AD_F64, 1, dims, pr->f)};
    ad_tensor u = ad_custom_op(&tridiag, in, NULL);
    return ad_mse_loss(u, ad_tensor_new(t, AD_F64, 1, dims, pr->target));
}

int main(void)
{
    problem pr;
    double k_true[N];
    for (size_t i = 0; i < N; i++) {
        double s = (double)i / (N - 1);
        pr.f[i] = 1.0 + sin(3.0 * s);
        k_true[i] = 2.0 + 1.5 * s * s; /* the diagonal the data came from */
    }
    /* the target: the solution with the true diagonal, by the same solver */
    double lo[N], up[N], d[N], c[N];
    for (size_t i = 0; i < N; i++) {
        lo[i] = up[i] = -1.0;
        d[i] = 2.0 + k_true[i];
    }
    if (!thomas(N, lo, d, up, pr.f, pr.target, c)) return 1;

    size_t dims[1] = {N};
    ad_param *p = ad_param_new(AD_F64, 1, dims);
    if (!p) return 1;
    ad_param_uniform(p, -0.5, 0.5, 1);

    ad_gradcheck_opts opts = AD_GRADCHECK_OPTS_DEFAULT;
    ad_gradcheck_report r;
    ad_status s = ad_gradcheck_graph(loss_graph, &p, 1, &pr, &opts, &r);
    printf("gradcheck of the tridiagonal solve's adjoint: %s, %zu elements, worst [%zu] "
           "analytic %.9g numeric %.9g (rel err %.2g)\n",
           s == AD_OK ? "passed" : "FAILED", r.checked, r.index, r.analytic, r.numeric, r.rel_err);
    if (s != AD_OK) {
        printf("%s\n", ad_last_error());
        ad_param_free(p);
        return 1;
    }

    /* gradient descent on p */
    ad_tape *t = ad_tape_new();
    if (!t) return 1;
    double lr = 150.0, loss = 0.0, first = 0.0;
    for (int step = 0; step <= 3000; step++) {
        ad_tape_reset(t);
        ad_param_zero_grad(p);
        ad_tensor l = loss_graph(t, &p, 1, &pr);
        if (ad_backward(l) != AD_OK) {
            const char *m;
            ad_tape_error(t, &m);
            printf("step %d: %s\n", step, m);
            break;
        }
        loss = ad_tensor_get(l, 0);
        if (step == 0) first = loss;
        if (step % 1000 == 0) printf("step %3d  loss %.3e\n", step, loss);
        double *pv = ad_param_value(p);
        const double *g = ad_param_grad(p);
        for (size_t i = 0; i < N; i++)
            pv[i] -= lr * g[i];
    }
    const double *pv = ad_param_value(p);
    double worst = 0.0;
    for (size_t i = 0; i < N; i++) {
        double k = 2.0 + log1p(exp(pv[i]));
        worst = fmax(worst, fabs(k - k_true[i]));
    }
    printf("loss %.3e -> %.3e; fitted diagonal within %.2g of the true one\n", first, loss, worst);
    ad_tape_free(t);
    ad_param_free(p);
    return loss < first ? 0 : 1;
}
