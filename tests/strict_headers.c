/* SPDX-License-Identifier: MIT
 * The public headers under the strictest warnings a user may turn on: this
 * file includes every one of them and calls every inline scalar op, so each
 * inline body is compiled in the user's program, under the user's flags.
 * `make check-strict-headers` builds it with gcc, clang (-Weverything), g++
 * and clang++, at -O0 and -O2, with and without NDEBUG, warnings as errors,
 * then runs one build: the values and gradients below must come out right. */
#include "adtape.h"
#include "adtape/data.h"
#include "adtape/nn.h"

#include <stdio.h>

/* Each call is checked against a hand-computed value at x = 0.5, y = 2. */
static int failures;

static void expect(const char *what, double got, double want)
{
    double err = got - want;
    if (err < 0) err = -err;
    if (!(err <= 1e-12 * (want < 0 ? -want : want) + 1e-12)) {
        printf("strict_headers: FAILED: %s = %.17g, want %.17g\n", what, got, want);
        failures++;
    }
}

int main(void)
{
    /* declarations first: clang -Weverything flags one after a statement */
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5), y = ad_variable(t, 2.0), f;
    if (!t) return 1;

    /* Every AD_INLINE_API op of adtape.h, in its order there. The values
     * are those of <math.h> at 0.5 and 2, written out so that this file
     * needs no libm of its own. */
    expect("ad_add", ad_value(ad_add(x, y)), 2.5);
    expect("ad_sub", ad_value(ad_sub(x, y)), -1.5);
    expect("ad_mul", ad_value(ad_mul(x, y)), 1.0);
    expect("ad_div", ad_value(ad_div(x, y)), 0.25);
    expect("ad_neg", ad_value(ad_neg(x)), -0.5);
    expect("ad_addc", ad_value(ad_addc(x, 1.0)), 1.5);
    expect("ad_subc", ad_value(ad_subc(x, 1.0)), -0.5);
    expect("ad_rsub", ad_value(ad_rsub(1.0, x)), 0.5);
    expect("ad_scale", ad_value(ad_scale(x, 3.0)), 1.5);
    expect("ad_divc", ad_value(ad_divc(x, 4.0)), 0.125);
    expect("ad_rdiv", ad_value(ad_rdiv(1.0, x)), 2.0);
    expect("ad_square", ad_value(ad_square(x)), 0.25);
    expect("ad_sqrt", ad_value(ad_sqrt(y)), 1.4142135623730951);
    expect("ad_cbrt", ad_value(ad_cbrt(y)), 1.2599210498948732);
    expect("ad_exp", ad_value(ad_exp(x)), 1.6487212707001282);
    expect("ad_expm1", ad_value(ad_expm1(x)), 0.6487212707001282);
    expect("ad_log", ad_value(ad_log(y)), 0.6931471805599453);
    expect("ad_log1p", ad_value(ad_log1p(x)), 0.4054651081081644);
    expect("ad_sin", ad_value(ad_sin(x)), 0.479425538604203);
    expect("ad_cos", ad_value(ad_cos(x)), 0.8775825618903728);
    expect("ad_tan", ad_value(ad_tan(x)), 0.5463024898437905);
    expect("ad_asin", ad_value(ad_asin(x)), 0.5235987755982989);
    expect("ad_acos", ad_value(ad_acos(x)), 1.0471975511965979);
    expect("ad_atan", ad_value(ad_atan(x)), 0.4636476090008061);
    expect("ad_atan2", ad_value(ad_atan2(x, y)), 0.24497866312686414);
    expect("ad_sinh", ad_value(ad_sinh(x)), 0.5210953054937474);
    expect("ad_cosh", ad_value(ad_cosh(x)), 1.1276259652063807);
    expect("ad_tanh", ad_value(ad_tanh(x)), 0.46211715726000974);
    expect("ad_erf", ad_value(ad_erf(x)), 0.5204998778130465);
    expect("ad_fabs", ad_value(ad_fabs(ad_neg(x))), 0.5);

    /* A recorded product (two records: the record write of the fast path),
     * kept, and swept: d(x y)/dx = y, d(x y)/dy = x. */
    f = ad_keep(ad_mul(ad_sin(x), y));
    if (ad_backward_scalar(f) != AD_OK) failures++;
    expect("ad_grad(x)", ad_grad(x), 2.0 * 0.8775825618903728);
    expect("ad_grad(y)", ad_grad(y), 0.479425538604203);
    expect("ad_grad(f)", ad_grad(f), 1.0);

    /* The public macros expand in the user's code, under the user's flags. */
    {
        ad_gradcheck_opts opts = AD_GRADCHECK_OPTS_DEFAULT;
        ad_tensor none = AD_TENSOR_NONE;
        size_t dims[AD_MAX_DIMS] = {0};
        if (ad_tensor_ok(none) || ad_tensor_shape(none, dims) != 0 || !(opts.step > 0.0))
            failures++;
    }

    ad_tape_free(t);
    if (failures == 0) printf("strict_headers: every inline op compiled cleanly and works\n");
    return failures == 0 ? 0 : 1;
}
