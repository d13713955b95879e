/* SPDX-License-Identifier: MIT
 * cast between float32 and float64 (ops/cast.c): gradients through both
 * directions against central differences, values (rounding, overflow),
 * a float32 network taking a float64 penalty back, anomaly mode reading a
 * gradient of the input's dtype, and errors. */
#include "common.h"
#include "op_helpers.h"

#include <float.h>
#include <math.h>

static const size_t cshapes[][5] = {
    {1, 1}, {1, 7}, {2, 3, 5}, {3, 2, 3, 4}, {4, 2, 1, 3, 2}, {2, 0, 3},
};

/* x (float64) -> cast to float64 (a copy) -> weighted sum */
static ad_tensor copy_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    (void)ctx;
    return weighted_sum(ad_cast(ad_param_use(t, p[0]), AD_F64), 3);
}

/* x (float64) -> float32 -> x^2 + sin x in float32 -> float64 -> weighted sum */
static ad_tensor round_trip_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    (void)ctx;
    ad_tensor x32 = ad_cast(ad_param_use(t, p[0]), AD_F32);
    ad_tensor h = ad_tadd(ad_tsquare(x32), ad_tsin(x32));
    return weighted_sum(ad_cast(h, AD_F64), 3);
}

/* The round trip computes in float32, so its central differences use a
 * step of 1e-2 (a float rounding of 6e-8 over a step of 2e-2 is 3e-6) and
 * tolerances to match; the truncation error of the step is h^2 f''' / 6. */
GRADCHECK_TEST(cast, gradient_matches_central_differences_through_both_directions, AD_OP_CAST)
{
    ad_gradcheck_opts loose = {1e-2, 1e-3, 1e-3};
    for (size_t s = 0; s < sizeof cshapes / sizeof cshapes[0]; s++) {
        ad_param *p[1] = {test_param(cshapes[s][0], cshapes[s] + 1, -1, 1, 20 + s)};
        ASSERT_GRADCHECK(copy_graph, p, 1, NULL, NULL);
        ASSERT_GRADCHECK(round_trip_graph, p, 1, NULL, &loose);
        ad_param_free(p[0]);
    }
}

Test(cast, values_round_to_nearest_and_widen_exactly)
{
    ad_tape *t = ad_tape_new();
    const double v[4] = {1.0 / 3.0, -1e300, 1e-50, 2.5};
    ad_tensor x = ad_tensor_new(t, AD_F64, 1, (size_t[]){4}, v);
    ad_tensor y = ad_cast(x, AD_F32);
    cr_assert_eq(ad_tensor_dtype(y), AD_F32);
    const float *f = ad_tensor_data(y);
    cr_assert_eq(f[0], (float)(1.0 / 3.0));
    cr_assert(isinf(f[1]) && f[1] < 0, "overflow gives -Inf");
    cr_assert_eq(f[2], 0.0f);
    cr_assert_eq(f[3], 2.5f);
    ad_tensor z = ad_cast(y, AD_F64);
    cr_assert_eq(ad_tensor_dtype(z), AD_F64);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(((const double *)ad_tensor_data(z))[i], (double)f[i]);
    size_t d[4];
    cr_assert_eq(ad_tensor_shape(ad_cast(ad_reshape(x, 2, (size_t[]){2, 2}), AD_F32), d), 2);
    cr_assert(d[0] == 2 && d[1] == 2);
    ad_tape_free(t);
}

/* The use: a float32 network, a float64 scalar penalty */
Test(cast, a_float32_network_takes_a_float64_penalty_back)
{
    ad_tape *t = ad_tape_new();
    ad_tensor w = ad_tensor_variable(t, AD_F32, 2, (size_t[]){2, 2}, (float[]){1, -2, 0.5f, 3});
    ad_tensor x = ad_tensor_new(t, AD_F32, 2, (size_t[]){1, 2}, (float[]){1, 1});
    ad_tensor h = ad_matmul(x, w); /* [1,2] = {1.5, 1} */
    ad_tensor pen = ad_sum(ad_tsquare(ad_cast(w, AD_F64)));
    ad_tensor loss = ad_tadd(ad_cast(ad_sum(h), AD_F64), ad_tscale(pen, 0.5));
    cr_assert_eq(ad_tensor_dtype(loss), AD_F64);
    cr_assert_float_eq(ad_tensor_get(loss, 0), 2.5 + 0.5 * (1 + 4 + 0.25 + 9), 1e-12);
    cr_assert_eq(ad_backward(loss), AD_OK, "%s", test_tape_msg(t));
    const float *g = ad_tensor_grad(w);
    /* d/dw of sum(x w) is 1 everywhere; of the penalty, w */
    const float want[4] = {2, -1, 1.5f, 4};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(g[i], want[i], "element %d: %g", i, (double)g[i]);
    ad_tape_free(t);
}

Test(cast, float32_forward_matches_float64)
{
    for (size_t s = 0; s < sizeof cshapes / sizeof cshapes[0]; s++) {
        size_t n = 1;
        for (size_t d = 0; d < cshapes[s][0]; d++)
            n *= cshapes[s][1 + d];
        double *v = random_values(n, 7 + s);
        ad_tape *t = ad_tape_new();
        ad_tensor x64 = tensor_from(t, AD_F64, cshapes[s][0], cshapes[s] + 1, v, false);
        ad_tensor x32 = tensor_from(t, AD_F32, cshapes[s][0], cshapes[s] + 1, v, false);
        ad_tensor a = ad_cast(x64, AD_F32), b = ad_cast(x32, AD_F64);
        ad_tensor c = ad_cast(x32, AD_F32), e = ad_cast(x64, AD_F64);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(ad_tensor_get(a, i), v[i]);
            cr_assert_eq(ad_tensor_get(b, i), v[i]);
            cr_assert_eq(ad_tensor_get(c, i), v[i]);
            cr_assert_eq(ad_tensor_get(e, i), v[i]);
        }
        ad_tape_free(t);
        free(v);
    }
}

/* A float64 gradient past float's range becomes Inf in the float32 input's
 * gradient: anomaly mode must read that buffer as float32 (it read the
 * cast's dtype before, and saw finite doubles in the bytes of two Infs). */
Test(cast, anomaly_mode_checks_an_input_gradient_in_the_input_dtype)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_tensor x = ad_tensor_variable(t, AD_F32, 1, (size_t[]){4}, (float[]){1, 2, 3, 4});
    ad_tensor y = ad_sum(ad_tscale(ad_cast(x, AD_F64), 1e300));
    cr_assert_eq(ad_backward(y), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_backward: anomaly in the backward sweep: op cast");
    ad_tape_free(t);
}

Test(cast, rejects_an_unknown_dtype_and_bad_handles)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    cr_assert(!ad_tensor_ok(ad_cast(x, (ad_dtype)7)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_cast: unknown dtype 7");
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(ad_cast(x, AD_F32)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_cast: tensor handle #0 was recorded before");
    ad_tape_free(t);
    ad_tensor none = {0};
    cr_assert(!ad_tensor_ok(ad_cast(none, AD_F32)));
    cr_assert(strstr(ad_last_error(), "ad_cast") != NULL, "%s", ad_last_error());
}
