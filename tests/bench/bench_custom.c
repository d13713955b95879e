/* SPDX-License-Identifier: MIT
 * custom group: the overhead of a custom op (issue 19). y = a * b on 10^6
 * elements as a custom op (the user's plain loops for the forward and the
 * VJP) against the built-in ad_tmul, each recorded and swept (forward +
 * backward through ad_sum), float64 and float32, alternating the two so
 * the host's drift hits both; medians in ms and their ratio
 * (`custom.f64.mul.vs_tmul x`, target <= 1.2). The gradients must agree.
 * The user's loops are written as a user who cares would write them
 * (restrict pointers, one loop per input gradient: a fused loop storing
 * into two parameters' gradients, whose heap blocks sit a multiple of 4 KiB
 * apart, stalls on 4K aliasing, 1.8x here in float32), so the ratio
 * measures the custom op's machinery, not the loops. */
#include "adtape.h"
#include "bench.h"

#include <stdio.h>
#include <string.h>

/* REPS blocks of BLOCK runs of each op, alternating: a block's minimum
 * drops the runs the shared host preempted (a 2-core VM shared by many
 * builds stalls a 2 ms run for 10 ms at random), the median over blocks
 * is the figure. */
enum { N = 1000000, REPS = 9, BLOCK = 5 };

static bool mul_forward(const ad_custom_args *a)
{
    size_t n = a->out[0].numel;
    if (a->out[0].dtype == AD_F64) {
        const double *restrict x = a->in[0].data, *restrict y = a->in[1].data;
        double *restrict o = a->out[0].data;
        for (size_t i = 0; i < n; i++)
            o[i] = x[i] * y[i];
    } else {
        const float *restrict x = a->in[0].data, *restrict y = a->in[1].data;
        float *restrict o = a->out[0].data;
        for (size_t i = 0; i < n; i++)
            o[i] = x[i] * y[i];
    }
    return true;
}

static bool mul_backward(const ad_custom_args *a)
{
    size_t n = a->out[0].numel;
    if (a->out[0].dtype == AD_F64) {
        const double *restrict x = a->in[0].data, *restrict y = a->in[1].data;
        const double *restrict g = a->grad_out[0].data;
        double *restrict gx = a->grad_in[0].data, *restrict gy = a->grad_in[1].data;
        if (gx)
            for (size_t i = 0; i < n; i++)
                gx[i] += g[i] * y[i];
        if (gy)
            for (size_t i = 0; i < n; i++)
                gy[i] += g[i] * x[i];
    } else {
        const float *restrict x = a->in[0].data, *restrict y = a->in[1].data;
        const float *restrict g = a->grad_out[0].data;
        float *restrict gx = a->grad_in[0].data, *restrict gy = a->grad_in[1].data;
        if (gx)
            for (size_t i = 0; i < n; i++)
                gx[i] += g[i] * y[i];
        if (gy)
            for (size_t i = 0; i < n; i++)
                gy[i] += g[i] * x[i];
    }
    return true;
}

static const ad_custom_shape any2[2] = {{AD_CUSTOM_ANY_DTYPE, 1, {N}},
                                        {AD_CUSTOM_ANY_DTYPE, 1, {N}}};

static bool mul_shape(const ad_custom_args *a, ad_custom_shape *out)
{
    *out = (ad_custom_shape){(int)a->in[0].dtype, 1, {N}};
    return true;
}

static const ad_custom_def cmul = {.name = "mul",
                                   .n_in = 2,
                                   .n_out = 1,
                                   .in = any2,
                                   .shape = mul_shape,
                                   .forward = mul_forward,
                                   .backward = mul_backward};

/* One recording and sweep; the seconds it took, or -1 on an error. */
static double one(ad_tape *t, ad_param *a, ad_param *b, bool custom)
{
    double t0 = bench_now();
    ad_tape_reset(t);
    ad_tensor in[2] = {ad_param_use(t, a), ad_param_use(t, b)};
    ad_tensor y = custom ? ad_custom_op(&cmul, in, NULL) : ad_tmul(in[0], in[1]);
    if (ad_backward(ad_sum(y)) != AD_OK) return -1.0;
    return bench_now() - t0;
}

static int run(ad_dtype dt, const char *tag)
{
    int bad = 0;
    size_t dims[1] = {N};
    ad_param *a = ad_param_new(dt, 1, dims), *b = ad_param_new(dt, 1, dims);
    ad_tape *t = ad_tape_new();
    if (!a || !b || !t) {
        bench_fail("custom: out of memory");
        return 1;
    }
    ad_param_uniform(a, -1, 1, 1);
    ad_param_uniform(b, -1, 1, 2);
    /* self-check: the same gradients, bit for bit (the same products) */
    size_t bytes = N * (dt == AD_F32 ? sizeof(float) : sizeof(double));
    static unsigned char ga[N * sizeof(double)];
    ad_param_zero_grad(a);
    one(t, a, b, false);
    memcpy(ga, ad_param_grad(a), bytes);
    ad_param_zero_grad(a);
    if (one(t, a, b, true) < 0 || memcmp(ga, ad_param_grad(a), bytes) != 0) {
        bench_fail("custom.%s: the custom op's gradient differs from ad_tmul's", tag);
        bad = 1;
    }
    double tc[REPS], tb[REPS];
    for (int r = 0; r < REPS; r++) {
        tb[r] = tc[r] = 1e30;
        for (int k = 0; k < BLOCK; k++) {
            double x = one(t, a, b, false), y = one(t, a, b, true);
            tb[r] = x < tb[r] ? x : tb[r];
            tc[r] = y < tc[r] ? y : tc[r];
        }
    }
    double mb = bench_median(tb, REPS) * 1e3, mc = bench_median(tc, REPS) * 1e3;
    char name[64];
    snprintf(name, sizeof name, "custom.%s.mul.n1m.ms", tag);
    bench_emit(name, mc, "ms");
    snprintf(name, sizeof name, "custom.%s.tmul.n1m.ms", tag);
    bench_emit(name, mb, "ms");
    snprintf(name, sizeof name, "custom.%s.mul.vs_tmul", tag);
    bench_emit(name, mc / mb, "x");
    ad_tape_free(t);
    ad_param_free(a);
    ad_param_free(b);
    return bad;
}

int bench_custom(void)
{
    bench_note("custom: y = a * b, 10^6 elements, record + backward through sum, median of %d "
               "blocks (each the fastest of %d)",
               REPS, BLOCK);
    return run(AD_F64, "f64") | run(AD_F32, "f32");
}
