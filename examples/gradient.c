/* SPDX-License-Identifier: MIT
 * A user C function, its gradient, a Jacobian and a gradient check.
 * Build: make examples; run: build/examples/gradient */
#include "adtape.h"

#include <math.h>
#include <stdio.h>

/* f(x) = sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, written against ad_scalar */
static ad_scalar rosenbrock(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)ctx;
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i + 1 < n; i++) {
        ad_scalar a = ad_sub(x[i + 1], ad_mul(x[i], x[i]));
        ad_scalar b = ad_rsub(1.0, x[i]);
        s = ad_add(s, ad_add(ad_scale(ad_mul(a, a), 100.0), ad_mul(b, b)));
    }
    return s;
}

/* polar to Cartesian: (r, theta) -> (r cos theta, r sin theta) */
static void polar(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y, size_t m, void *ctx)
{
    (void)t, (void)n, (void)m, (void)ctx;
    y[0] = ad_mul(x[0], ad_cos(x[1]));
    y[1] = ad_mul(x[0], ad_sin(x[1]));
}

/* a hand-derived "elementary function" with a deliberate mistake:
 * d/dx sin(x) claimed to be sin(x) instead of cos(x) */
static ad_scalar buggy(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)n, (void)ctx;
    double v = ad_value(x[0]);
    return ad_custom2(x[0], ad_constant(t, 0), sin(v), sin(v), 0.0);
}

int main(void)
{
    double x[4] = {-1.2, 1.0, 0.8, 1.5}, g[4];
    double f = ad_gradient(rosenbrock, 4, x, g, NULL);
    printf("rosenbrock(x) = %.6f\ngradient      = [%.4f, %.4f, %.4f, %.4f]\n", f, g[0], g[1], g[2],
           g[3]);

    double p[2] = {2.0, 0.5}, J[4];
    if (ad_jacobian(polar, 2, 2, p, J, NULL, NULL) != AD_OK) return 1;
    printf("jacobian of polar at (2, 0.5) = [[%.4f, %.4f], [%.4f, %.4f]]\n", J[0], J[1], J[2],
           J[3]);

    ad_gradcheck_opts opts = AD_GRADCHECK_OPTS_DEFAULT;
    ad_gradcheck_report r;
    ad_status s = ad_gradcheck(rosenbrock, 4, x, NULL, &opts, &r);
    printf("gradcheck rosenbrock: %s (worst element %zu: analytic %.9g, numeric %.9g, "
           "rel err %.2g)\n",
           s == AD_OK ? "passed" : "FAILED", r.index, r.analytic, r.numeric, r.rel_err);
    if (s != AD_OK) return 1;

    double y = 0.7;
    s = ad_gradcheck(buggy, 1, &y, NULL, &opts, &r);
    printf("gradcheck buggy:      %s (worst element %zu: analytic %.9g, numeric %.9g, "
           "abs err %.2g)\n",
           s == AD_OK ? "passed" : "caught the wrong derivative", r.index, r.analytic, r.numeric,
           r.abs_err);
    return s == AD_ERR_GRADCHECK ? 0 : 1;
}
