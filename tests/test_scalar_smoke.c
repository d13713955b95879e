#include "common.h"
#include <math.h>

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

Test(smoke, rosenbrock_gradient_matches_analytic)
{
    double x[5] = {-1.2, 1.0, 0.5, -0.3, 2.0}, g[5];
    double f = ad_gradient(rosenbrock, 5, x, g, NULL);
    double fe = 0, ge[5] = {0};
    for (int i = 0; i < 4; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
        fe += 100 * a * a + b * b;
        ge[i] += -400 * a * x[i] - 2 * b;
        ge[i + 1] += 200 * a;
    }
    cr_assert_float_eq(f, fe, 1e-12);
    for (int i = 0; i < 5; i++) cr_assert_float_eq(g[i], ge[i], 1e-9, "i=%d %g %g", i, g[i], ge[i]);
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(rosenbrock, 5, x, NULL, NULL, &r), AD_OK);
}
