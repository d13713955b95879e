/* SPDX-License-Identifier: MIT
 * checkpoint group: the gradient of a damped pendulum integrated with RK4
 * for T = 10^5 steps (examples/ode_adjoint.c) w.r.t. its damping, length
 * and initial angle, recorded plainly and through ad_checkpoint_loop
 * (default segments, ceil(sqrt T)). Peak tape bytes (ad_tape_peak_bytes)
 * and the median time of recording plus sweep on a reused tape, each
 * pair measured in the same run; the ratios are checkpointed / plain
 * (targets: memory <= 1/50, time <= 3). The gradients must agree to 1e-12
 * relative, else the group fails. The tensor case does the same for
 * s <- s + h tanh(s W) with s [1,8] and a parameter W [8,8], T = 10^5
 * (checkpoint.tensor_*), its gradient w.r.t. W and s0. */
#include "adtape.h"
#include "bench.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

enum { T = 100000, REPS = 5 };
static const double H = 1e-4, G = 9.81;

typedef struct pendulum {
    ad_scalar c, len;
} pendulum;

static void rhs(const pendulum *p, ad_scalar th, ad_scalar om, ad_scalar *dth, ad_scalar *dom)
{
    *dth = om;
    *dom = ad_neg(ad_add(ad_mul(ad_rdiv(G, p->len), ad_sin(th)), ad_mul(p->c, om)));
}

static ad_status rk4(ad_tape *t, size_t step, const ad_checkpoint_io *s, ad_checkpoint_io *next,
                     void *ctx)
{
    (void)t;
    (void)step;
    const pendulum *p = ctx;
    ad_scalar th = s->scalars[0], om = s->scalars[1], a1, b1, a2, b2, a3, b3, a4, b4;
    rhs(p, th, om, &a1, &b1);
    rhs(p, ad_add(th, ad_scale(a1, H / 2)), ad_add(om, ad_scale(b1, H / 2)), &a2, &b2);
    rhs(p, ad_add(th, ad_scale(a2, H / 2)), ad_add(om, ad_scale(b2, H / 2)), &a3, &b3);
    rhs(p, ad_add(th, ad_scale(a3, H)), ad_add(om, ad_scale(b3, H)), &a4, &b4);
    ad_scalar da = ad_add(ad_add(a1, a4), ad_scale(ad_add(a2, a3), 2.0));
    ad_scalar db = ad_add(ad_add(b1, b4), ad_scale(ad_add(b2, b3), 2.0));
    next->scalars[0] = ad_add(th, ad_scale(da, H / 6));
    next->scalars[1] = ad_add(om, ad_scale(db, H / 6));
    return AD_OK;
}

/* One recording and sweep on t (reset first); the gradient into g[3]. */
static bool solve(ad_tape *t, bool checkpointed, double *g, size_t *peak)
{
    ad_tape_reset(t);
    pendulum p = {ad_variable(t, 0.3), ad_variable(t, 1.5)};
    ad_scalar th0 = ad_variable(t, 1.0), state[2] = {th0, ad_constant(t, 0.0)}, fin[2];
    ad_checkpoint_io s = {NULL, 0, state, 2}, f = {NULL, 0, fin, 2};
    if (checkpointed) {
        ad_checkpoint_loop(t, "rk4", rk4, T, 0, &s, &f, &p);
    } else {
        for (size_t i = 0; i < T; i++) {
            rk4(t, i, &s, &f, &p);
            state[0] = fin[0];
            state[1] = fin[1];
        }
    }
    if (ad_backward_scalar(fin[0]) != AD_OK) {
        const char *m;
        ad_tape_error(t, &m);
        bench_fail("checkpoint: %s", m);
        return false;
    }
    g[0] = ad_grad(p.c);
    g[1] = ad_grad(p.len);
    g[2] = ad_grad(th0);
    *peak = ad_tape_peak_bytes(t);
    return true;
}

/* ---- the tensor case */

enum { D = 8 };

static ad_status euler(ad_tape *t, size_t step, const ad_checkpoint_io *s, ad_checkpoint_io *next,
                       void *ctx)
{
    (void)step;
    ad_tensor w = ad_param_use(t, ctx);
    ad_tensor x = s->tensors[0];
    next->tensors[0] = ad_tadd(x, ad_tscale(ad_ttanh(ad_matmul(x, w)), 0.01));
    return AD_OK;
}

static bool solve_tensor(ad_tape *t, ad_param *w, bool checkpointed, double *g, size_t *peak)
{
    ad_tape_reset(t);
    ad_param_zero_grad(w);
    double v[D];
    for (int i = 0; i < D; i++)
        v[i] = 0.1 * (i + 1);
    ad_tensor s0 = ad_tensor_variable(t, AD_F64, 2, (size_t[]){1, D}, v), cur = s0, fin;
    ad_checkpoint_io s = {&cur, 1, NULL, 0}, f = {&fin, 1, NULL, 0};
    if (checkpointed) {
        ad_checkpoint_loop(t, "euler", euler, T, 0, &s, &f, w);
    } else {
        for (size_t i = 0; i < T; i++) {
            euler(t, i, &s, &f, w);
            cur = fin;
        }
    }
    if (ad_backward(ad_sum(fin)) != AD_OK) {
        const char *m;
        ad_tape_error(t, &m);
        bench_fail("checkpoint: %s", m);
        return false;
    }
    memcpy(g, ad_param_grad(w), D * D * sizeof *g);
    memcpy(g + D * D, ad_tensor_grad(s0), D * sizeof *g);
    *peak = ad_tape_peak_bytes(t);
    return true;
}

static int tensor_case(void)
{
    ad_tape *tp = ad_tape_new(), *tc = ad_tape_new();
    ad_param *w = ad_param_new(AD_F64, 2, (size_t[]){D, D});
    double gp[D * D + D], gc[D * D + D], ms[2][REPS];
    size_t peak[2] = {0, 0};
    if (w) ad_param_uniform(w, -0.5, 0.5, 3);
    if (!tp || !tc || !w || !solve_tensor(tp, w, false, gp, &peak[0]) ||
        !solve_tensor(tc, w, true, gc, &peak[1])) {
        ad_tape_free(tp);
        ad_tape_free(tc);
        ad_param_free(w);
        bench_fail("checkpoint: the tensor case could not run");
        return 1;
    }
    for (int r = 0; r < REPS; r++)
        for (int k = 0; k < 2; k++) {
            double t0 = bench_now();
            solve_tensor(k ? tc : tp, w, k == 1, k ? gc : gp, &peak[k]);
            ms[k][r] = 1e3 * (bench_now() - t0);
        }
    double worst = 0.0;
    for (int i = 0; i < D * D + D; i++)
        worst = fmax(worst, fabs(gc[i] - gp[i]) / fmax(fabs(gp[i]), 1e-300));
    double plain = bench_median(ms[0], REPS), ck = bench_median(ms[1], REPS);
    bench_emit("checkpoint.tensor_plain_peak_bytes", (double)peak[0], "bytes");
    bench_emit("checkpoint.tensor_ckpt_peak_bytes", (double)peak[1], "bytes");
    bench_emit("checkpoint.tensor_memory_ratio", (double)peak[1] / (double)peak[0], "x");
    bench_emit("checkpoint.tensor_plain_ms", plain, "ms");
    bench_emit("checkpoint.tensor_ckpt_ms", ck, "ms");
    bench_emit("checkpoint.tensor_time_ratio", ck / plain, "x");
    bench_emit("checkpoint.tensor_grad_max_rel_diff", worst, "rel");
    ad_tape_free(tp);
    ad_tape_free(tc);
    ad_param_free(w);
    if (!(worst <= 1e-12)) {
        bench_fail("checkpoint: tensor gradients differ by %.3g relative", worst);
        return 1;
    }
    return 0;
}

int bench_checkpoint(void)
{
    /* one tape each, warmed by a first run: the timed runs allocate nothing */
    ad_tape *tp = ad_tape_new(), *tc = ad_tape_new();
    double gp[3], gc[3], ms[2][REPS];
    size_t peak[2] = {0, 0};
    if (!tp || !tc || !solve(tp, false, gp, &peak[0]) || !solve(tc, true, gc, &peak[1])) {
        ad_tape_free(tp);
        ad_tape_free(tc);
        bench_fail("checkpoint: could not run");
        return 1;
    }
    for (int r = 0; r < REPS; r++) /* interleaved, so both see the same machine */
        for (int k = 0; k < 2; k++) {
            double t0 = bench_now();
            solve(k ? tc : tp, k == 1, k ? gc : gp, &peak[k]);
            ms[k][r] = 1e3 * (bench_now() - t0);
        }
    double worst = 0.0;
    for (int i = 0; i < 3; i++)
        worst = fmax(worst, fabs(gc[i] - gp[i]) / fabs(gp[i]));
    double plain = bench_median(ms[0], REPS), ck = bench_median(ms[1], REPS);
    bench_emit("checkpoint.ode_steps", T, "steps");
    bench_emit("checkpoint.ode_plain_peak_bytes", (double)peak[0], "bytes");
    bench_emit("checkpoint.ode_ckpt_peak_bytes", (double)peak[1], "bytes");
    bench_emit("checkpoint.ode_memory_ratio", (double)peak[1] / (double)peak[0], "x");
    bench_emit("checkpoint.ode_plain_ms", plain, "ms");
    bench_emit("checkpoint.ode_ckpt_ms", ck, "ms");
    bench_emit("checkpoint.ode_time_ratio", ck / plain, "x");
    bench_emit("checkpoint.ode_grad_max_rel_diff", worst, "rel");
    ad_tape_free(tp);
    ad_tape_free(tc);
    if (!(worst <= 1e-12)) {
        bench_fail("checkpoint: gradients differ by %.3g relative", worst);
        return 1;
    }
    return tensor_case();
}
