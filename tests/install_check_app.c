/* SPDX-License-Identifier: MIT
 * The program tests/install_check.sh builds outside the tree against an
 * installed adtape, with nothing but pkg-config's flags. */
#include <adtape.h>

#include <stdio.h>
#include <string.h>

/* f(x, y) = x y + sin x: df/dx = y + cos x, df/dy = x. The program itself
 * uses no libm, so the link proves pkg-config brings what adtape needs. */
static ad_scalar f(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t;
    (void)n;
    (void)ctx;
    return ad_add(ad_mul(x[0], x[1]), ad_sin(x[0]));
}

static int near(double a, double b)
{
    return a - b < 1e-12 && b - a < 1e-12;
}

int main(void)
{
    if (strcmp(ad_version(), ADTAPE_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s but library %s\n", ADTAPE_VERSION_STRING, ad_version());
        return 1;
    }
    const double x[2] = {0.5, 2.0};
    double g[2];
    double v = ad_gradient(f, 2, x, g, NULL);
    const double sin_half = 0.479425538604203, cos_half = 0.8775825618903728;
    if (!near(v, 1.0 + sin_half) || !near(g[0], 2.0 + cos_half) || !near(g[1], 0.5)) {
        fprintf(stderr, "wrong gradient: f %g, grad (%g, %g)\n", v, g[0], g[1]);
        return 1;
    }
    printf("adtape %s: f = %.6f, grad = (%.6f, %.6f)\n", ad_version(), v, g[0], g[1]);
    return 0;
}
