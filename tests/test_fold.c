/* SPDX-License-Identifier: MIT
 * Folded scalar handles: an op whose result depends on one record (a unary
 * op, an op with a constant, x * x) records nothing and carries its
 * derivative in the handle; ops on two records record once. What folding
 * changes for the user (ad_grad of a folded result, ad_keep) and what it
 * must not change (gradients, the zero-adjoint rule, errors, anomaly mode,
 * the bridges). */
#include "common.h"
#include "core/tape.h"

#include <math.h>

static size_t records(const ad_tape *t)
{
    return ad_tape_stats_get(t).scalar_nodes;
}

Test(fold, unary_ops_and_ops_with_a_constant_record_nothing)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.7);
    ad_scalar c = ad_constant(t, 4.0);
    /* y = exp(sin(2x)) * 4 + 3 - x / 4 */
    ad_scalar y = ad_sub(ad_addc(ad_mul(ad_exp(ad_sin(ad_scale(x, 2.0))), c), 3.0), ad_div(x, c));
    cr_assert_eq(records(t), 1, "only the variable is a record: %zu", records(t));
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    double want = exp(sin(1.4)) * cos(1.4) * 2.0 * 4.0 - 0.25;
    cr_assert(fabs(ad_grad(x) - want) <= 1e-15 * fabs(want), "%.17g vs %.17g", ad_grad(x), want);
    ad_tape_free(t);
}

Test(fold, binary_ops_on_one_record_fold_and_on_two_records_record_once)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 1.5), y = ad_variable(t, -0.5);
    ad_scalar same = ad_add(ad_mul(x, x), ad_div(ad_sin(x), ad_cos(x))); /* x^2 + tan x */
    cr_assert_eq(records(t), 2);
    ad_scalar both = ad_mul(same, ad_exp(y)); /* one record: two records in */
    cr_assert_eq(records(t), 3);
    cr_assert_eq(ad_backward_scalar(both), AD_OK);
    double dx = (2 * 1.5 + 1 / (cos(1.5) * cos(1.5))) * exp(-0.5);
    double dy = (1.5 * 1.5 + tan(1.5)) * exp(-0.5);
    cr_assert(fabs(ad_grad(x) - dx) <= 1e-14 * fabs(dx), "%.17g vs %.17g", ad_grad(x), dx);
    cr_assert(fabs(ad_grad(y) - dy) <= 1e-14 * fabs(dy), "%.17g vs %.17g", ad_grad(y), dy);
    ad_tape_free(t);
}

Test(fold, a_folded_result_has_no_adjoint_of_its_own_until_it_is_kept)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.3);
    ad_scalar s = ad_sin(x);
    ad_scalar k = ad_keep(ad_sin(x));
    cr_assert_eq(records(t), 2, "ad_keep records the sine once");
    cr_assert_eq(ad_value(k), sin(0.3));
    ad_scalar z = ad_add(ad_mul(k, k), s); /* sin^2 x + sin x: a record (k's and x's) */
    ad_scalar out = ad_scale(z, 2.0);      /* folded onto z's record */
    cr_assert_eq(records(t), 3);
    cr_assert_eq(ad_backward_scalar(out), AD_OK);
    cr_assert(isnan(ad_grad(s)), "a folded result reports NaN: %g", ad_grad(s));
    cr_assert(isnan(ad_grad(out)), "a folded output too: %g", ad_grad(out));
    cr_assert_eq(ad_grad(z), 2.0);
    cr_assert_float_eq(ad_grad(k), 4 * sin(0.3), 1e-15, "%g", ad_grad(k));
    cr_assert_float_eq(ad_grad(x), (4 * sin(0.3) + 2) * cos(0.3), 1e-15);
    /* keeping the output gives the seed back */
    ad_scalar kept = ad_keep(out);
    cr_assert_eq(ad_backward_scalar(kept), AD_OK);
    cr_assert_eq(ad_grad(kept), 1.0);
    cr_assert_float_eq(ad_grad(x), (4 * sin(0.3) + 2) * cos(0.3), 1e-15);
    ad_tape_free(t);
}

Test(fold, keep_returns_records_constants_and_invalid_handles_as_they_are)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 2.0), c = ad_constant(t, 5.0);
    ad_scalar r = ad_mul(x, ad_variable(t, 3.0));
    size_t n = records(t);
    ad_scalar kx = ad_keep(x), kc = ad_keep(c), kr = ad_keep(r);
    cr_assert_eq(records(t), n, "nothing to record");
    cr_assert(kx.index_ == x.index_ && kx.gen_ == x.gen_ && kr.index_ == r.index_);
    cr_assert(kc.index_ == 0 && ad_value(kc) == 5.0);
    ad_scalar zero = {0};
    cr_assert(!ad_scalar_ok(ad_keep(zero)));
    cr_assert(!ad_scalar_ok(ad_keep(ad_invalid_scalar(t))));
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

Test(fold, a_folded_handle_from_before_a_reset_is_stale_wherever_it_goes)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 2.0);
    ad_scalar y = ad_sin(x);
    ad_tape_reset(t);
    ad_scalar fresh = ad_variable(t, 1.0);
    cr_assert(!ad_scalar_ok(ad_cos(y)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_cos: input 0 was recorded before the last");
    ad_tape_reset(t);
    fresh = ad_variable(t, 1.0);
    cr_assert(!ad_scalar_ok(ad_add(fresh, y)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_add: input 1");
    ad_tape_reset(t);
    cr_assert(!ad_scalar_ok(ad_keep(y)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_keep: input 0");
    ad_tape_reset(t);
    cr_assert_eq(ad_backward_scalar(y), AD_ERR_STALE);
    cr_assert_eq(ad_grad(y), 0.0, "stale, not NaN");
    ad_tape_free(t);
}

Test(fold, a_zero_partial_passes_nothing_on_even_past_an_infinite_one)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.0);
    ad_scalar r = ad_sqrt(x); /* partial +inf */
    ad_scalar cases[] = {ad_scale(r, 0.0), ad_mul(r, ad_constant(t, 0.0)), ad_mul(r, ad_sub(x, x)),
                         ad_keep(ad_scale(ad_keep(r), 0.0))};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(ad_backward_scalar(cases[i]), AD_OK);
        cr_assert_eq(ad_grad(x), 0.0, "case %zu: %g, as the unfolded sweep gives", i, ad_grad(x));
    }
    /* on the path, the infinite partial shows */
    cr_assert_eq(ad_backward_scalar(ad_scale(r, 2.0)), AD_OK);
    cr_assert(isinf(ad_grad(x)) && ad_grad(x) > 0);
    ad_tape_free(t);
}

Test(fold, a_folded_output_seeds_the_record_it_depends_on)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 1.0), y = ad_variable(t, 2.0);
    ad_scalar p = ad_mul(x, y);             /* a record */
    ad_scalar out = ad_neg(ad_scale(p, 3)); /* folded onto it: -3 x y */
    cr_assert_eq(ad_backward_scalar_seeded(out, 2.0), AD_OK);
    cr_assert_eq(ad_grad(x), -12.0);
    cr_assert_eq(ad_grad(y), -6.0);
    cr_assert_eq(ad_backward_scalar_seeded(out, 0.0), AD_OK);
    cr_assert_eq(ad_grad(x), 0.0);
    ad_tape_free(t);
}

Test(fold, anomaly_mode_records_every_op_and_checks_its_partial)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_scalar x = ad_variable(t, 0.5);
    ad_scalar y = ad_exp(ad_sin(x));
    cr_assert_eq(records(t), 3, "in anomaly mode every op is a record");
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    cr_assert_float_eq(ad_grad(x), exp(sin(0.5)) * cos(0.5), 1e-15);
    ad_scalar z = ad_variable(t, 0.0);
    cr_assert(!ad_scalar_ok(ad_sqrt(ad_scale(z, 2.0))));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_sqrt: anomaly in the forward sweep");
    ad_tape_free(t);
}

/* Values computed with recording off from folded and recorded handles are
 * values without a gradient: no record, and a sweep from them is refused. */
Test(fold, evaluation_mode_gives_unrecorded_values_from_folded_and_recorded_handles)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.5);
    ad_scalar f = ad_sin(x);
    ad_tape_set_recording(t, false);
    ad_scalar outs[3] = {ad_cos(f), ad_add(f, x), ad_keep(f)};
    cr_assert_eq(ad_value(outs[0]), cos(sin(0.5)));
    cr_assert_eq(records(t), 1);
    ad_tape_set_recording(t, true);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ad_backward_scalar(outs[i]), AD_ERR_INVALID, "output %d", i);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "computed with recording off");
        ad_tape_clear_error(t);
    }
    ad_tape_free(t);
}

Test(fold, stacked_folded_scalars_pass_their_gradient_through_their_derivative)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 0.4);
    ad_scalar xs[3] = {ad_sin(x), ad_scale(x, 3.0), ad_constant(t, 7.0)};
    ad_tensor s = ad_stack_scalars(xs, 3, 1, (size_t[]){3});
    cr_assert(ad_tensor_ok(s), "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward(ad_sum(s)), AD_OK, "%s", test_tape_msg(t));
    cr_assert_float_eq(ad_grad(x), cos(0.4) + 3.0, 1e-15, "%g", ad_grad(x));
    ad_tape_free(t);
}

Test(fold, generations_wrap_below_the_folded_bit)
{
    ad_tape *t = ad_tape_new();
    t->hot.gen = AD_GEN_MASK_ - 1;
    ad_tape_reset(t);
    cr_assert_eq(t->hot.gen, AD_GEN_MASK_);
    ad_scalar x = ad_variable(t, 1.0);
    ad_scalar y = ad_sin(x);
    cr_assert_eq(y.gen_, AD_GEN_MASK_ | AD_FOLDED_);
    cr_assert_eq(ad_backward_scalar(ad_mul(y, x)), AD_OK);
    cr_assert_float_eq(ad_grad(x), cos(1.0) + sin(1.0), 1e-15);
    ad_tape_reset(t);
    cr_assert_eq(t->hot.gen, 1, "wrapped to 1, and never to a value with the folded bit");
    ad_scalar x2 = ad_variable(t, 2.0);
    cr_assert(!ad_scalar_ok(ad_add(x2, y)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_add: input 1");
    ad_tape_free(t);
}

Test(fold, a_full_segment_changes_nothing_for_ops_that_fold)
{
    ad_tape *t = ad_tape_new();
    ad_scalar x = ad_variable(t, 1.5);
    while (t->hot.ns < t->hot.scap) /* fill the first segment */
        (void)ad_variable(t, 0.0);
    size_t n = records(t);
    ad_scalar y = ad_add(ad_mul(x, x), ad_scale(x, 2.0));
    cr_assert_eq(records(t), n, "a fold made a record at the segment's end");
    ad_scalar z = ad_mul(y, ad_variable(t, 3.0)); /* records start the next segment */
    cr_assert_eq(records(t), n + 2);
    cr_assert_eq(ad_backward_scalar(z), AD_OK);
    cr_assert_eq(ad_grad(x), (2 * 1.5 + 2.0) * 3.0);
    ad_tape_free(t);
}

/* A random program over a pool of handles, run twice: as written (ops
 * fold) and with every result kept (a record per op, the tape without
 * folding). Values must agree exactly and gradients to rounding. */
static double random_program(bool keep, unsigned seed, double *grads, size_t nvars)
{
    enum { POOL = 24, STEPS = 400 };
    ad_tape *t = ad_tape_new();
    ad_scalar pool[POOL], vars[8];
    cr_assert(nvars <= 8);
    for (size_t i = 0; i < POOL; i++) {
        if (i < nvars)
            vars[i] = pool[i] = ad_variable(t, 0.3 + 0.1 * (double)i);
        else
            pool[i] = ad_constant(t, 0.5 + 0.05 * (double)i);
    }
    unsigned s = seed;
    for (int k = 0; k < STEPS; k++) {
        s = s * 1103515245u + 12345u;
        unsigned op = (s >> 16) % 10, i = (s >> 8) % POOL, j = (s >> 20) % POOL,
                 d = (s >> 4) % POOL;
        ad_scalar a = pool[i], b = pool[j], r;
        switch (op) {
        case 0:
            r = ad_add(a, b);
            break;
        case 1:
            r = ad_sub(a, b);
            break;
        case 2:
            r = ad_mul(a, b);
            break;
        case 3:
            r = ad_div(a, ad_addc(ad_square(b), 1.0));
            break;
        case 4:
            r = ad_sin(a);
            break;
        case 5:
            r = ad_tanh(a);
            break;
        case 6:
            r = ad_scale(a, 0.75);
            break;
        case 7:
            r = ad_sqrt(ad_addc(ad_square(a), 0.5));
            break;
        case 8:
            r = ad_mul(a, a);
            break;
        default:
            r = ad_exp(ad_scale(ad_tanh(a), 0.5));
            break;
        }
        if (keep) r = ad_keep(r);
        pool[d] = r;
    }
    ad_scalar y = ad_constant(t, 0.0);
    for (size_t i = 0; i < POOL; i++)
        y = ad_add(y, ad_scale(pool[i], 1.0 + 0.01 * (double)i));
    cr_assert_eq(ad_backward_scalar(y), AD_OK, "%s", test_tape_msg(t));
    for (size_t i = 0; i < nvars; i++)
        grads[i] = ad_grad(vars[i]);
    double v = ad_value(y);
    ad_tape_free(t);
    return v;
}

Test(fold, random_programs_give_the_gradients_of_the_unfolded_tape)
{
    for (unsigned seed = 1; seed <= 200; seed++) {
        double gf[8], gk[8];
        double vf = random_program(false, seed, gf, 8), vk = random_program(true, seed, gk, 8);
        cr_assert_eq(vf, vk, "seed %u: value %.17g vs %.17g", seed, vf, vk);
        for (size_t i = 0; i < 8; i++)
            cr_assert(fabs(gf[i] - gk[i]) <= 1e-12 * fmax(1.0, fabs(gk[i])),
                      "seed %u, x[%zu]: folded %.17g, kept %.17g", seed, i, gf[i], gk[i]);
    }
}
