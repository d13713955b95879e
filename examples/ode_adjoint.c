/* SPDX-License-Identifier: MIT
 * The gradient of an ODE solution with respect to its parameters, through
 * 10^5 steps of RK4, with and without checkpointing. A damped pendulum,
 *     theta'' = -(g / L) sin(theta) - c theta',
 * from theta(0) = theta0, theta'(0) = 0, integrated to t = 10 s; the loss is
 * the final angle. Recorded plainly, the tape holds every step; with
 * ad_checkpoint_loop it holds about sqrt(10^5) states and one segment of
 * steps at a time. Both give the same gradient. */
#include "adtape.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

enum { STEPS = 100000 };
static const double H = 1e-4, G = 9.81;

typedef struct pendulum {
    ad_scalar c, len; /* damping and length: variables, reached through ctx */
} pendulum;

/* (theta, omega)' = (omega, -(g/L) sin theta - c omega) */
static void rhs(const pendulum *p, ad_scalar th, ad_scalar om, ad_scalar *dth, ad_scalar *dom)
{
    *dth = om;
    *dom = ad_neg(ad_add(ad_mul(ad_rdiv(G, p->len), ad_sin(th)), ad_mul(p->c, om)));
}

/* One classic RK4 step of size H. */
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

typedef struct run {
    double loss, grad[3], seconds;
    size_t peak;
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The loss theta(10 s) and its gradient w.r.t. (c, L, theta0). */
static int solve(bool checkpointed, run *r)
{
    double t0 = now();
    ad_tape *t = ad_tape_new();
    if (!t) return 1;
    pendulum p = {ad_variable(t, 0.3), ad_variable(t, 1.5)};
    ad_scalar th0 = ad_variable(t, 1.0), state[2] = {th0, ad_constant(t, 0.0)}, fin[2];
    ad_checkpoint_io s = {NULL, 0, state, 2}, f = {NULL, 0, fin, 2};
    if (checkpointed) {
        ad_checkpoint_loop(t, "rk4", rk4, STEPS, 0, &s, &f, &p);
    } else {
        for (size_t i = 0; i < STEPS; i++) {
            rk4(t, i, &s, &f, &p);
            state[0] = fin[0];
            state[1] = fin[1];
        }
    }
    ad_status st = ad_backward_scalar(fin[0]);
    if (st != AD_OK) {
        const char *m;
        ad_tape_error(t, &m);
        fprintf(stderr, "ode_adjoint: %s\n", m);
        ad_tape_free(t);
        return 1;
    }
    r->loss = ad_value(fin[0]);
    r->grad[0] = ad_grad(p.c);
    r->grad[1] = ad_grad(p.len);
    r->grad[2] = ad_grad(th0);
    r->peak = ad_tape_peak_bytes(t);
    ad_tape_free(t);
    r->seconds = now() - t0;
    return 0;
}

int main(void)
{
    run plain, ck;
    if (solve(false, &plain) || solve(true, &ck)) return 1;
    static const char *names[3] = {"damping c", "length L", "theta0"};
    printf("damped pendulum, RK4, %d steps of %g s: theta(10 s) = %.15g\n", STEPS, H, plain.loss);
    printf("%-12s %24s %24s\n", "d theta/d", "plain tape", "ad_checkpoint_loop");
    double worst = fabs(ck.loss - plain.loss) / fabs(plain.loss);
    for (int i = 0; i < 3; i++) {
        printf("%-12s %24.15e %24.15e\n", names[i], plain.grad[i], ck.grad[i]);
        double rel = fabs(ck.grad[i] - plain.grad[i]) / fmax(fabs(plain.grad[i]), 1e-300);
        if (rel > worst) worst = rel;
    }
    printf("largest relative difference: %.3g\n", worst);
    printf("peak tape memory: plain %.1f MB, checkpointed %.1f kB (1/%.0f)\n",
           (double)plain.peak / 1e6, (double)ck.peak / 1e3, (double)plain.peak / (double)ck.peak);
    printf("time: plain %.3f s, checkpointed %.3f s (%.2fx)\n", plain.seconds, ck.seconds,
           ck.seconds / plain.seconds);
    if (!(worst <= 1e-12)) {
        fprintf(stderr, "ode_adjoint: the gradients differ by %.3g\n", worst);
        return 1;
    }
    return 0;
}
